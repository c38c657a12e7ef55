"""Reminder times do not depend on the host's time zone: a container in UTC must not fire 8 hours late."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
EXAMBOT = Path(sys.executable).parent / "exambot"
ORIGIN = "2026-12-04T18:00:00+08:00"  # the evening before the sample day (2026-12-05)


def _env(db: Path, zone: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMBOT_")}
    env.update(TZ=zone, EXAMBOT_DATABASE_URL=f"sqlite:///{db}", EXAMBOT_CLOCK_ORIGIN=ORIGIN)
    return env


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([str(EXAMBOT), *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_exambot_timeline_on_a_utc_host_prints_shanghai_times(tmp_path: Path) -> None:
    """`exambot import` and `exambot timeline` run with TZ=UTC list the 08:30 session's steps at Shanghai times."""
    db = tmp_path / "utc.db"
    env = _env(db, "UTC")
    _run(["import", "staff", str(SAMPLES / "staff.csv")], env)
    _run(["import", "schedule", str(SAMPLES / "schedule.xlsx")], env)
    out = _run(["timeline", "--all", "2026-12-05"], env)
    assert "2026-12-05 08:30-10:00 ==" in out  # 第1场 电工 理论, 8:30—10:00 in the file
    lines = out.splitlines()
    first = lines.index(next(line for line in lines if "08:30-10:00 ==" in line and "电工" in line))
    block = lines[first + 1 : next(i for i in range(first + 1, len(lines)) if lines[i].startswith("=="))]
    steps = [line for line in block if "[" in line and "·条件" not in line]  # the reminders, not the follow-ups
    at = {line.split("[", 1)[1].split("]", 1)[0]: line.split()[0] for line in steps}
    assert at["监考人员守则 2.(2)"] == "07:50"  # 考前会 at -40, not 23:50 (UTC)
    assert at["监考人员守则 2.(3)；试卷管理制度 5."] == "08:00"
    assert at["监考人员守则 3.(1)"] == "08:30"
    assert at["监考人员守则 4.(1)、4.(2)"] == "10:00"
    with sqlite3.connect(db) as conn:
        due = conn.execute("SELECT min(due_at) FROM outbox WHERE step = 'meeting'").fetchone()[0]
    assert str(due).startswith("2026-12-04 23:50")  # stored in UTC: 07:50 Shanghai


@pytest.fixture
def host_zone() -> Iterator[None]:
    """Restore the process's zone after a test changed TZ."""
    before = os.environ.get("TZ")
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def _plan_under(zone: str, db: Path, monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str, str]]:
    os.environ["TZ"] = zone
    time.tzset()
    monkeypatch.setenv("EXAMBOT_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("EXAMBOT_CLOCK_ORIGIN", ORIGIN)
    monkeypatch.delenv("EXAMBOT_TZ", raising=False)
    assert main(["import", "staff", str(SAMPLES / "staff.csv")]) == 0
    assert main(["import", "schedule", str(SAMPLES / "schedule.xlsx")]) == 0
    with sqlite3.connect(db) as conn:
        return {(k, str(d), t) for k, d, t in conn.execute("SELECT key, due_at, text FROM outbox")}


def test_planning_in_process_is_the_same_whatever_the_host_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_zone: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same import planned with the host in UTC, Shanghai and Los Angeles gives identical rows, times and texts."""
    utc = _plan_under("UTC", tmp_path / "a.db", monkeypatch)
    assert time.localtime(0).tm_hour == 0  # the host zone really is UTC here
    shanghai = _plan_under("Asia/Shanghai", tmp_path / "b.db", monkeypatch)
    la = _plan_under("America/Los_Angeles", tmp_path / "c.db", monkeypatch)
    capsys.readouterr()
    assert utc and utc == shanghai == la
    meeting = min(d for k, d, _t in utc if ":meeting:" in k)
    assert datetime.fromisoformat(meeting).replace(tzinfo=UTC) == datetime(2026, 12, 4, 23, 50, tzinfo=UTC)
    assert any("【12月05日 07:50·考前会】" in t for _k, _d, t in utc)

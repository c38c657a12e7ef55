"""`exambot import schedule` plans the outbox through the importer's on_sessions_changed hook."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _count(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())


def test_import_plans_reminders_and_reimport_adds_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Importing the sample schedule creates its reminder rows; importing it again changes nothing."""
    db = tmp_path / "imp.db"
    monkeypatch.setenv("EXAMBOT_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("EXAMBOT_CLOCK_ORIGIN", "2026-12-04T18:00:00+08:00")  # the evening before the sample day
    assert main(["import", "staff", str(SAMPLES / "staff.csv")]) == 0
    assert main(["import", "schedule", str(SAMPLES / "schedule.xlsx")]) == 0
    first = _count(db)
    assert first.get("pending", 0) > 20 and set(first) == {"pending"}
    assert main(["import", "schedule", str(SAMPLES / "schedule.xlsx")]) == 0
    assert _count(db) == first
    capsys.readouterr()
    assert main(["timeline", "--all", _first_day(db)]) == 0
    out = capsys.readouterr().out
    assert "监考人员守则 2.(3)" in out and "待发送" in out


def _first_day(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("SELECT min(day) FROM exam_session").fetchone()[0])

"""A re-import through the real importer that moves one 场次 moves its reminders, and duplicates none."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from bot.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _rows(db: Path) -> dict[str, tuple[str, str, str]]:
    """key → (status, due_at, session code) of every outbox row."""
    with sqlite3.connect(db) as conn:
        q = "SELECT o.key, o.status, o.due_at, s.code FROM outbox o LEFT JOIN exam_session s ON s.id = o.session_id"
        return {k: (st, str(due), code or "") for k, st, due, code in conn.execute(q)}


def _due(text: str) -> datetime:
    return datetime.fromisoformat(text[:19]).replace(tzinfo=UTC)  # stored in UTC


def test_reimport_with_a_later_start_moves_that_sessions_reminders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """第1场 moved from 8:30 to 9:00 in the xlsx and re-imported: its rows move 30 min, others stay, none added."""
    db = tmp_path / "move.db"
    monkeypatch.setenv("EXAMBOT_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("EXAMBOT_CLOCK_ORIGIN", "2026-12-04T18:00:00+08:00")
    monkeypatch.delenv("EXAMBOT_TZ", raising=False)
    xlsx = tmp_path / "schedule.xlsx"
    shutil.copy(SAMPLES / "schedule.xlsx", xlsx)
    assert main(["import", "staff", str(SAMPLES / "staff.csv")]) == 0
    assert main(["import", "schedule", str(xlsx)]) == 0
    before = _rows(db)
    assert before and {st for st, _d, _c in before.values()} == {"pending"}

    wb = openpyxl.load_workbook(xlsx)
    ws = wb.worksheets[0]
    edited = 0
    code = None
    for row in ws.iter_rows(min_row=3):
        code = row[0].value or code  # 场次 is written on the first row of its block only
        if code == "第1场":
            row[2].value = "9:00—10:30"
            edited += 1
    assert edited == 2  # both rooms of 第1场
    wb.save(xlsx)
    assert main(["import", "schedule", str(xlsx)]) == 0
    capsys.readouterr()
    after = _rows(db)

    assert set(after) == set(before)  # the same rows: nothing duplicated, nothing re-created under a new id
    assert {st for st, _d, _c in after.values()} == {"pending"}
    moved = {k for k in after if after[k][1] != before[k][1]}
    first = {k for k, (_st, _d, c) in before.items() if c.endswith("第1场")}
    assert first and moved == first
    for k in first:
        assert _due(after[k][1]) - _due(before[k][1]) == timedelta(minutes=30), k
    meeting = sorted(_due(after[k][1]) for k in first if ":meeting:" in k)
    assert meeting[0] == datetime(2026, 12, 5, 0, 20, tzinfo=UTC)  # 08:20 Shanghai

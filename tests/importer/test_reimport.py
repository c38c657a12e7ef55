"""A session moved in a schedule without a 场次 column is the same session: updated in place, not duplicated."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
from sqlmodel import select

from bot.store.engine import Database
from bot.store.tables import AuditLog, Candidate, ExamSession, Room
from tests.importer.conftest import ImportFn

OTHER = Path(__file__).resolve().parents[1] / "data" / "other_center"


def moved(tmp_path: Path, start: str = "10:00", end: str = "11:30", *, drop_practical: bool = False) -> Path:
    """The other center's schedule with its theory session (rows 3-4) moved; optionally without the practical one."""
    wb = openpyxl.load_workbook(OTHER / "schedule.xlsx")
    ws = wb.worksheets[0]
    for r in (3, 4):
        ws.cell(r, 3).value, ws.cell(r, 4).value = start, end
    if drop_practical:
        ws.delete_rows(5)
    path = tmp_path / "schedule.xlsx"
    wb.save(path)
    return path


async def _sessions(db: Database) -> list[ExamSession]:
    async with db.session() as s:
        return list((await s.exec(select(ExamSession).order_by(ExamSession.id))).all())  # type: ignore[arg-type]


async def test_moved_session_is_updated_in_place(db: Database, imp: ImportFn, staffed: None, tmp_path: Path) -> None:
    """Theory moved 09:00→10:00: the dry run says so and writes nothing; the run keeps the id and code; hook gets it."""
    await imp("schedule", OTHER / "schedule.xlsx")
    before = await _sessions(db)
    assert len(before) == 2
    theory = before[0]

    dry = await imp("schedule", moved(tmp_path), dry_run=True)
    assert (dry.count("场次").created, dry.count("场次").updated) == (0, 1)
    line = next(c for c in dry.changes if c.startswith("更新 场次"))
    assert line.startswith(f"更新 场次 {theory.code}（")
    assert line.endswith("时间由 09:00-10:30 改为 10:00-11:30")
    assert [(x.id, x.starts_at) for x in await _sessions(db)] == [(x.id, x.starts_at) for x in before]

    calls: list[list[int]] = []

    async def hook(_s: Any, ids: list[int]) -> None:
        calls.append(ids)

    real = await imp("schedule", moved(tmp_path), on_sessions_changed=hook)
    assert real.changes == dry.changes  # the dry run listed exactly what the run did
    after = await _sessions(db)
    assert [(x.id, x.code) for x in after] == [(x.id, x.code) for x in before]
    assert after[0].starts_at == datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    assert after[0].ends_at == datetime(2026, 12, 6, 3, 30, tzinfo=UTC)
    assert calls == [[theory.id]]
    async with db.session() as s:
        audit = (
            await s.exec(select(AuditLog).where(AuditLog.entity == "exam_session", AuditLog.action == "update"))
        ).one()
    assert audit.entity_id == str(theory.id)
    assert set(audit.detail["after"]) == {"starts_at", "ends_at"}


async def test_roster_after_a_move_imports(db: Database, imp: ImportFn, staffed: None, tmp_path: Path) -> None:
    """After the move the other center's roster finds one session per room (it failed once per candidate before)."""
    await imp("schedule", OTHER / "schedule.xlsx")
    await imp("schedule", moved(tmp_path))
    result = await imp("roster", OTHER / "roster.xlsx")
    assert result.count("考生").created == 4
    async with db.session() as s:
        assert len((await s.exec(select(Candidate))).all()) == 4


async def test_moving_twice_and_back(db: Database, imp: ImportFn, staffed: None, tmp_path: Path) -> None:
    """Moved 10:00, then 14:00, then back to 09:00: still two sessions, the first one's id throughout."""
    await imp("schedule", OTHER / "schedule.xlsx")
    first = (await _sessions(db))[0]
    for start, end in (("10:00", "11:30"), ("11:00", "12:30"), ("9:00", "10:30")):
        await imp("schedule", moved(tmp_path, start, end))
        now = await _sessions(db)
        assert len(now) == 2 and now[0].id == first.id and now[0].code == first.code
    assert now[0].starts_at == first.starts_at


async def test_moved_and_rooms_changed_is_another_session(
    db: Database, imp: ImportFn, staffed: None, tmp_path: Path
) -> None:
    """Time and rooms both changed: not the same session; a new one, and the old one listed as missing."""
    await imp("schedule", OTHER / "schedule.xlsx")
    # moved clear of 09:00: the old session stays (no --prune), and the rule checks refuse people in two rooms at once
    path = moved(tmp_path, "16:00", "17:30")
    wb = openpyxl.load_workbook(path)
    wb.worksheets[0].cell(4, 8).value = "05"
    wb.save(path)
    result = await imp("schedule", path)
    assert result.count("场次").created == 1
    assert any(m.startswith("场次 20261206-0900-电工-理论") for m in result.missing)
    assert "加 --prune 重新导入" in result.render()
    async with db.session() as s:
        assert len((await s.exec(select(Room))).all()) == 5  # nothing cancelled without --prune

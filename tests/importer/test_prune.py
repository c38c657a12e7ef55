"""Sessions and rooms the schedule no longer lists: listed in the summary; cancelled (kept, audited) with --prune."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.store.engine import Database
from bot.store.tables import AuditLog, Candidate, ExamSession, Report, Room
from tests.importer.conftest import SAMPLES, ImportFn, sample_rows

Xlsx = Callable[..., Path]
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def without_6th_and_room_2(xlsx: Xlsx) -> Path:
    """The sample schedule without 第6场 (last three rows) and without 第1场's 第2考场 (row 4)."""
    rows = sample_rows("schedule.xlsx")
    rows = [r for i, r in enumerate(rows) if i != 3][:-3]
    return xlsx("schedule.xlsx", rows, sheet="12月5日")


async def _state(db: Database) -> dict[str, datetime | None]:
    async with db.session() as s:
        sessions = (await s.exec(select(ExamSession))).all()
        rooms = (await s.exec(select(Room, ExamSession).join(ExamSession))).all()
    out: dict[str, datetime | None] = {x.code: x.cancelled_at for x in sessions}
    out.update({f"{x.code}/{r.room_no}": r.cancelled_at for r, x in rooms})
    return out


async def test_missing_listed_without_prune(db: Database, imp: ImportFn, xlsx: Xlsx, scheduled: None) -> None:
    """Without --prune: nothing changes, the summary lists 第6场 and 第1场/第2考场 and says how to prune."""
    result = await imp("schedule", without_6th_and_room_2(xlsx))
    assert not result.changed
    assert result.missing == [
        "场次 第6场：计算机程序设计员 三级/高级工 上机 12月5日 10:30-12:30",
        "考场 第1场/第2考场（实训楼304）",
    ]
    text = result.render()
    assert "数据库中有、本文件中没有，未作改动（加 --prune 重新导入即取消这些场次和考场，其记录保留）：" in text
    assert "在数据库中但不在本文件中" not in text
    assert all(v is None for v in (await _state(db)).values())


async def test_prune_cancels_keeps_and_audits(db: Database, imp: ImportFn, xlsx: Xlsx, scheduled: None) -> None:
    """--prune: the dry run lists the cancellations and writes nothing; the run sets cancelled_at, deletes nothing."""
    await imp("roster", SAMPLES / "roster.xlsx")
    async with db.session() as s:
        room2 = (await s.exec(select(Room).where(Room.room_no == "第2考场"))).one()
        s.add(
            Report(
                kind="absent", room_id=room2.id, session_id=room2.session_id, payload={"tickets": []}, created_at=NOW
            )
        )
        await s.commit()
    path = without_6th_and_room_2(xlsx)

    dry = await imp("schedule", path, prune=True, dry_run=True, now=NOW)
    assert dry.changes == [
        "取消 场次 第6场：计算机程序设计员 三级/高级工 上机 12月5日 10:30-12:30",
        "取消 考场 第1场/第2考场（实训楼304）",
    ]
    assert dry.count("场次").cancelled == 1 and dry.count("考场").cancelled == 1
    assert "场次：新增 0，更新 0，不变 5，取消 1" in dry.render()
    assert all(v is None for v in (await _state(db)).values())

    calls: list[list[int]] = []

    async def hook(_s: Any, ids: list[int]) -> None:
        calls.append(ids)

    real = await imp("schedule", path, prune=True, now=NOW, on_sessions_changed=hook)
    assert real.changes == dry.changes
    state = await _state(db)
    cancelled = {k for k, v in state.items() if v is not None}
    assert cancelled == {"第6场", "第1场/第2考场"}
    assert state["第6场"] == NOW
    async with db.session() as s:
        sixth = (await s.exec(select(ExamSession).where(ExamSession.code == "第6场"))).one()
        audits = (await s.exec(select(AuditLog).where(AuditLog.action == "cancel"))).all()
        kept = len((await s.exec(select(Candidate).where(Candidate.room_id == room2.id))).all())
        reports = len((await s.exec(select(Report).where(Report.room_id == room2.id))).all())
    assert calls == [sorted([room2.session_id, sixth.id])]  # the planner cancels their reminders
    assert {(a.entity, a.entity_id) for a in audits} == {("exam_session", str(sixth.id)), ("room", str(room2.id))}
    assert all(a.detail["before"] == {"cancelled_at": None} for a in audits)
    assert kept == 30 and reports == 1  # candidates and reports of a cancelled room stay

    again = await imp("schedule", path, prune=True, now=NOW)
    assert not again.changed and not again.missing  # already cancelled: nothing more to do


async def test_listed_again_stays_cancelled_with_a_warning(
    db: Database, imp: ImportFn, xlsx: Xlsx, scheduled: None
) -> None:
    """A cancelled session that a later file lists again is not silently revived: a warning says so."""
    await imp("schedule", without_6th_and_room_2(xlsx), prune=True, now=NOW)
    result = await imp("schedule", SAMPLES / "schedule.xlsx", now=NOW)
    assert any("“第6场”已取消，本文件中仍有该场次：未恢复" in w for w in result.warnings)
    assert any("第1场/第2考场 已取消" in w for w in result.warnings)
    state = await _state(db)
    assert state["第6场"] == NOW and state["第1场/第2考场"] == NOW


async def test_roster_skips_cancelled_rooms(db: Database, imp: ImportFn, xlsx: Xlsx, scheduled: None) -> None:
    """A roster naming a cancelled room is told the room was cancelled, once for the room."""
    await imp("schedule", without_6th_and_room_2(xlsx), prune=True, now=NOW)
    rows = sample_rows("roster.xlsx")
    roster = xlsx("roster.xlsx", [r for r in rows if r[3] in (None, "考场", "第1考场", "第2考场")], sheet="考生名册")
    try:
        await imp("roster", roster)
    except Exception as exc:
        text = str(exc)
    else:
        raise AssertionError("the roster imported into a cancelled room")
    assert text.count("第2考场") == 1 and "已取消" in text and "不存在" not in text

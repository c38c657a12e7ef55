"""An edited file updates in place: same rows, changed fields, removed duties deleted, all audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.store.engine import Database
from bot.store.tables import Assignment, AuditLog, Candidate, Duty, ExamSession, Room, Staff
from tests.importer.conftest import SAMPLES, ImportFn, sample_rows

Xlsx = Callable[..., Path]


async def test_edited_schedule_updates_in_place(db: Database, imp: ImportFn, xlsx: Xlsx, scheduled: None) -> None:
    """New time, new location, a changed deputy and a dropped evaluator: updates and deletes, same ids."""
    async with db.session() as s:
        old = (await s.exec(select(ExamSession).where(ExamSession.code == "第1场"))).one()
    rows = sample_rows("schedule.xlsx")
    rows[2][2] = rows[3][2] = "9：00—10：30"  # 第1场 later
    rows[2][7] = "实训楼305"  # 第1考场 moves
    rows[2][10] = "付兰"  # 第1考场 deputy 孟雪涛 → 付兰
    rows[4][11] = "张燕、朱志"  # 第3考场 without 曾宏
    calls: list[list[int]] = []

    async def hook(_s: Any, ids: list[int]) -> None:
        calls.append(ids)

    result = await imp("schedule", xlsx("schedule.xlsx", rows, sheet="12月5日"), on_sessions_changed=hook)
    assert result.count("场次").updated == 1 and result.count("场次").created == 0
    assert result.count("考场").updated == 1
    assert (result.count("人员安排").created, result.count("人员安排").deleted) == (1, 2)
    text = result.render()
    assert "更新 场次 第1场：时间由 08:30-10:00 改为 09:00-10:30" in text
    assert "删除 人员安排 第2场/第3考场 曾宏（考评员）" in text
    async with db.session() as s:
        new = (await s.exec(select(ExamSession).where(ExamSession.code == "第1场"))).one()
        room = (await s.exec(select(Room).where(Room.room_no == "第1考场"))).one()
        names = (
            await s.exec(select(Staff.name, Assignment.duty).join(Staff).where(Assignment.room_id == room.id))
        ).all()
        audits = (await s.exec(select(AuditLog).where(AuditLog.action == "update"))).all()
        second = (await s.exec(select(ExamSession).where(ExamSession.code == "第2场"))).one()
    assert new.id == old.id
    assert new.starts_at == datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    assert room.location == "实训楼305"
    assert dict(names) == {"唐玉英": Duty.CHIEF, "付兰": Duty.DEPUTY}
    session_audit = next(a for a in audits if a.entity == "exam_session")
    assert session_audit.detail["before"]["starts_at"].startswith("2026-12-05T00:30")
    assert calls == [sorted({new.id, second.id})]  # type: ignore[list-item]


async def test_room_spelling_matches_existing_room(db: Database, imp: ImportFn, xlsx: Xlsx, scheduled: None) -> None:
    """Writing 01 instead of 第1考场 is the same room: its text is updated, nothing else."""
    rows = sample_rows("schedule.xlsx")
    rows[2][6] = "01"
    result = await imp("schedule", xlsx("schedule.xlsx", rows, sheet="12月5日"))
    assert result.count("考场").updated == 1 and result.count("考场").created == 0
    assert result.count("人员安排").unchanged == 30


async def test_edited_staff_updates_in_place(db: Database, imp: ImportFn, tmp_path: Path, staffed: None) -> None:
    """A new phone number and an extra role update the person found by WeCom id."""
    text = (SAMPLES / "staff.csv").read_bytes().decode("gbk")
    text = text.replace("付兰,监考员,13792033845", '付兰,"监考员,考评员",13700000000')
    path = tmp_path / "staff.csv"
    path.write_text(text, encoding="utf-8-sig")
    result = await imp("staff", path)
    assert (result.count("人员").updated, result.count("人员").unchanged, result.count("人员").created) == (1, 39, 0)
    assert "更新 人员 付兰：角色 监考员 → 监考员、考评员，手机号 13792033845 → 13700000000" in result.render()
    async with db.session() as s:
        fu = (await s.exec(select(Staff).where(Staff.name == "付兰"))).one()
    assert (fu.roles, fu.phone) == ("invigilator,evaluator", "13700000000")


async def test_edited_roster_updates_and_removes(db: Database, imp: ImportFn, xlsx: Xlsx, scheduled: None) -> None:
    """A changed seat is updated; a candidate left out of a listed room is deleted."""
    await imp("roster", SAMPLES / "roster.xlsx")
    rows = sample_rows("roster.xlsx")
    rows[1][4] = "31"
    del rows[2]
    result = await imp("roster", xlsx("roster.xlsx", rows, sheet="考生名册"))
    c = result.count("考生")
    assert (c.updated, c.deleted, c.unchanged, c.created) == (1, 1, 328, 0)
    assert "第1场/第1考场：名册 29 人，考场安排中应考人数为 30" in result.warnings
    async with db.session() as s:
        seat = (await s.exec(select(Candidate.seat).where(Candidate.ticket_no == "202612010101"))).one()
        gone = (await s.exec(select(Candidate).where(Candidate.ticket_no == "202612010102"))).all()
    assert seat == "31" and gone == []


async def test_same_session_code_on_another_day_is_another_session(
    db: Database, imp: ImportFn, xlsx: Xlsx, scheduled: None
) -> None:
    """Offices number sessions per day: next week's "第1场" file adds sessions and leaves this day's alone."""
    async with db.session() as s:
        before = {(x.day, x.code): (x.id, x.starts_at) for x in (await s.exec(select(ExamSession))).all()}
    rows = sample_rows("schedule.xlsx")
    for row in rows[2:15]:
        if row[1] is not None:
            row[1] = "2026年12月12日"  # the same 场次 codes one week later
    # the same evaluators a week later: the rotation rule warns (考评人员管理办法 第七条（四）), the office accepts
    result = await imp("schedule", xlsx("schedule.xlsx", rows, sheet="12月12日"), accept_warnings=True)
    assert any("少于三分之一" in w for w in result.warnings)
    assert result.count("场次").created == 6 and result.count("场次").updated == 0
    async with db.session() as s:
        after = {(x.day, x.code): (x.id, x.starts_at) for x in (await s.exec(select(ExamSession))).all()}
    assert len(after) == 12
    for key, value in before.items():
        assert after[key] == value  # 12月5日 untouched
    assert sorted({day.day for day, _code in after}) == [5, 12]


async def test_two_days_in_one_file(db: Database, imp: ImportFn, xlsx: Xlsx, staffed: None) -> None:
    """One file with two exam days reusing 第1场 gives one session per day."""
    from tests.importer.conftest import SCHEDULE_HEADER

    rows = [
        SCHEDULE_HEADER,
        [
            "第1场",
            "2026年12月5日",
            "8:30-10:00",
            "电工",
            "四级",
            "理论",
            "第1考场",
            "实训楼302",
            30,
            "唐玉英",
            "孟雪涛",
            None,
        ],
        [
            "第1场",
            "2026年12月6日",
            "9:00-10:30",
            "电工",
            "四级",
            "理论",
            "第1考场",
            "实训楼302",
            30,
            "史敏杰",
            "向军明",
            None,
        ],
    ]
    result = await imp("schedule", xlsx("two-days.xlsx", rows))
    assert result.count("场次").created == 2
    async with db.session() as s:
        sessions = (await s.exec(select(ExamSession).order_by(ExamSession.day))).all()
    assert [(x.code, x.day.day, x.starts_at.hour) for x in sessions] == [("第1场", 5, 0), ("第1场", 6, 1)]

"""The three sample files from an exam office import as they are."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.engine import Database
from bot.store.tables import Assignment, AuditLog, Candidate, Duty, ExamSession, Role, Room, SessionKind, Staff
from tests.importer.conftest import SAMPLES, ImportFn

Counts = Callable[[], Awaitable[dict[str, int]]]


async def test_samples_import_with_expected_counts(imp: ImportFn, counts: Counts) -> None:
    """staff.csv, schedule.xlsx and roster.xlsx give 40 staff, 6 sessions, 13 rooms, 30 duties, 330 candidates."""
    staff = await imp("staff", SAMPLES / "staff.csv")
    schedule = await imp("schedule", SAMPLES / "schedule.xlsx")
    roster = await imp("roster", SAMPLES / "roster.xlsx")
    assert staff.count("人员").created == 40
    assert (schedule.count("场次").created, schedule.count("考场").created) == (6, 13)
    assert schedule.count("人员安排").created == 30
    assert roster.count("考生").created == 330
    c = await counts()
    assert (c["staff"], c["session"], c["room"], c["assignment"], c["candidate"]) == (40, 6, 13, 30, 330)
    assert c["audit"] == 40 + 6 + 13 + 30 + 330 + 3  # one row per change plus one "import" row per file
    assert "已按合并单元格向下填充 14 处" in schedule.render()
    assert not roster.warnings  # every room has as many candidates as 应考人数


async def test_sample_staff_fields(db: Database, imp: ImportFn) -> None:
    """GBK staff.csv: roles mapped, ids and phone kept as text, certificate dates parsed."""
    await imp("staff", SAMPLES / "staff.csv")
    async with db.session() as s:
        zhang = (await s.exec(select(Staff).where(Staff.name == "尹海"))).one()
        supervisor = (await s.exec(select(Staff).where(Staff.name == "朱超志"))).one()
        office = (await s.exec(select(Staff).where(Staff.name == "梁国飞"))).one()
    assert zhang.role_set == {Role.EVALUATOR}
    assert zhang.cert_issued is not None and zhang.cert_issued.isoformat() == "2025-03-28"
    assert (zhang.wecom_userid, zhang.dingtalk_userid, zhang.phone) == ("wx_756651", "1919571890521872", "13772800940")
    assert supervisor.roles == Role.SUPERVISOR.value
    assert office.roles == Role.OFFICE.value


async def _room(s: AsyncSession, room_no: str) -> Room:
    return (await s.exec(select(Room).where(Room.room_no == room_no))).one()


async def _duties(s: AsyncSession, room: Room) -> dict[str, Duty]:
    rows = await s.exec(select(Staff.name, Assignment.duty).join(Staff).where(Assignment.room_id == room.id))
    return dict(rows.all())


async def test_sample_schedule_details(db: Database, scheduled: None) -> None:
    """Times become aware UTC datetimes; rooms keep the office's text; the practical chief stays chief."""
    async with db.session() as s:
        first = (await s.exec(select(ExamSession).where(ExamSession.code == "第1场"))).one()
        sixth = (await s.exec(select(ExamSession).where(ExamSession.code == "第6场"))).one()
        r1 = await _room(s, "第1考场")
        r3 = await _room(s, "第3考场")
        d1 = await _duties(s, r1)
        d3 = await _duties(s, r3)
    assert first.starts_at == datetime(2026, 12, 5, 0, 30, tzinfo=UTC)
    assert first.ends_at == datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    assert (first.occupation, first.level, first.kind) == ("电工", "四级/中级工", SessionKind.THEORY)
    assert sixth.kind == SessionKind.COMPUTER
    assert (r1.location, r1.expected) == ("实训楼302", 30)
    assert d1 == {"唐玉英": Duty.CHIEF, "孟雪涛": Duty.DEPUTY}
    assert d3 == {"张燕": Duty.CHIEF, "朱志": Duty.EVALUATOR, "曾宏": Duty.EVALUATOR}


async def test_sample_roster_keeps_text(db: Database, imp: ImportFn, scheduled: None) -> None:
    """Seats keep their leading zero and an ID ending in X is accepted."""
    await imp("roster", SAMPLES / "roster.xlsx")
    async with db.session() as s:
        c = (await s.exec(select(Candidate).where(Candidate.ticket_no == "202612010101"))).one()
        x = (await s.exec(select(Candidate).where(Candidate.ticket_no == "202612061327"))).one()
        room = (await s.exec(select(Room).where(Room.id == c.room_id))).one()
    assert (c.name, c.seat, c.id_number) == ("廖梅", "01", "150603200407268283")
    assert x.id_number == "15060319920725273X"
    assert room.room_no == "第1考场"


async def test_reimport_changes_nothing(imp: ImportFn, counts: Counts, scheduled: None) -> None:
    """Importing the same three files again reports 无变化 and writes no audit row."""
    await imp("roster", SAMPLES / "roster.xlsx")
    before = await counts()
    results = [
        await imp("staff", SAMPLES / "staff.csv"),
        await imp("schedule", SAMPLES / "schedule.xlsx"),
        await imp("roster", SAMPLES / "roster.xlsx"),
    ]
    assert all(not r.changed for r in results)
    assert all("无变化" in r.render() for r in results)
    assert results[1].count("人员安排").unchanged == 30
    assert await counts() == before


async def test_dry_run_writes_nothing(imp: ImportFn, counts: Counts, staffed: None) -> None:
    """--dry-run reports what would be created but leaves the database as it was."""
    before = await counts()
    result = await imp("schedule", SAMPLES / "schedule.xlsx", dry_run=True)
    assert result.dry_run and result.changed
    assert result.count("场次").created == 6
    text = result.render()
    assert "试运行" in text and "新增 场次 第1场" in text
    assert await counts() == before


async def test_sessions_changed_hook(db: Database, imp: ImportFn, staffed: None) -> None:
    """on_sessions_changed runs in the transaction with the new session ids, and not when nothing changed."""
    calls: list[list[int]] = []

    async def hook(s: AsyncSession, ids: list[int]) -> None:
        calls.append(ids)
        assert len((await s.exec(select(ExamSession))).all()) == 6  # sees the uncommitted rows

    await imp("schedule", SAMPLES / "schedule.xlsx", on_sessions_changed=hook)
    await imp("schedule", SAMPLES / "schedule.xlsx", on_sessions_changed=hook)
    await imp("schedule", SAMPLES / "schedule.xlsx", on_sessions_changed=hook, dry_run=True)
    assert len(calls) == 1 and len(calls[0]) == 6


async def test_audit_rows_name_the_file(db: Database, scheduled: None) -> None:
    """Each change is audited with the importing file as actor and the new values."""
    async with db.session() as s:
        rows = (await s.exec(select(AuditLog).where(AuditLog.entity == "exam_session"))).all()
    assert len(rows) == 6
    assert {r.actor for r in rows} == {"import:schedule.xlsx"}
    assert all(r.action == "create" and r.detail["after"]["code"] for r in rows)

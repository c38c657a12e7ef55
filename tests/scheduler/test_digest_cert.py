"""Certificate-expiry reminders (60 days before the 3-year validity ends) and the daily digest's contents."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sched_helpers import SHANGHAI, Day
from sqlmodel import select

from bot.delivery.rows import T
from bot.store.tables import Report, Role, Room, Staff
from scheduler.digest import cert_expiry, plan_certificates, render_digest


def test_certificate_validity_is_three_years() -> None:
    """A certificate issued on 2024-03-07 ends on 2027-03-07; one issued on 29 February ends on 28 February."""
    assert cert_expiry(date(2024, 3, 7)) == date(2027, 3, 7)
    assert cert_expiry(date(2024, 2, 29)) == date(2027, 2, 28)


async def test_certificate_reminder_goes_to_the_person_and_the_office(day: Day) -> None:
    """Within 60 days of the end: one row for the evaluator, one per office member; a renewal cancels them."""
    today = day.clock.now().astimezone(SHANGHAI).date()
    async with day.db.session() as s:
        soon = Staff(
            name="考评甲",
            roles=Role.EVALUATOR.value,
            cert_issued=today.replace(year=today.year - 3) + timedelta(days=50),
        )
        later = Staff(name="考评乙", roles=Role.EVALUATOR.value, cert_issued=today.replace(year=today.year - 2))
        s.add(soon)
        s.add(later)
    async with day.db.session() as s:
        assert await plan_certificates(await s.connection(), day.clock.now(), SHANGHAI) == 3
    async with day.db.session() as s:  # planning again adds nothing
        await plan_certificates(await s.connection(), day.clock.now(), SHANGHAI)
    rows = await day.rows(T.c.key.like("cert:%"))
    assert len(rows) == 3 and {r["status"] for r in rows} == {"pending"}
    assert all("考评人员管理办法 第三条" in r["text"] for r in rows if r["key"].endswith(":self"))
    await day.outbox.drain()
    texts = [t for _at, _a, t in day.ledger.deliveries if "考评人员证卡" in t]
    assert len(texts) == 3 and all("考评甲" in t for t in texts)
    # Renewed before the reminder went out: the stale row is cancelled.
    async with day.db.session() as s:
        fresh = Staff(
            name="考评丙",
            roles=Role.EVALUATOR.value,
            cert_issued=today.replace(year=today.year - 3) + timedelta(days=10),
        )
        s.add(fresh)
    day.clock.advance(timedelta(days=-1))  # planned a day ahead of its 09:00 reminder time
    async with day.db.session() as s:
        await plan_certificates(await s.connection(), day.clock.now(), SHANGHAI)
        person = (await s.exec(select(Staff).where(Staff.name == "考评丙"))).one()
        person.cert_issued = today
        s.add(person)
    async with day.db.session() as s:
        await plan_certificates(await s.connection(), day.clock.now(), SHANGHAI)
    stale = await day.rows(T.c.key.like(f"cert:{person.id}:%"))
    assert stale and {r["status"] for r in stale} == {"cancelled"}


async def test_digest_lists_reports_and_open_items(day: Day) -> None:
    """The digest counts absentees, collected papers and violations per room, and lists what is still open."""
    async with day.db.session() as s:
        rooms = {r.room_no: r for r in (await s.exec(select(Room))).all()}
        r1: Any = rooms["第1考场"]
        now = day.clock.now()
        s.add(
            Report(
                kind="absent", room_id=r1.id, session_id=r1.session_id, payload={"tickets": ["1", "2"]}, created_at=now
            )
        )
        s.add(
            Report(
                kind="papers", room_id=r1.id, session_id=r1.session_id, payload={"action": "collect"}, created_at=now
            )
        )
        s.add(Report(kind="violation", room_id=r1.id, session_id=r1.session_id, payload={}, created_at=now))
    async with day.db.sessions() as s:
        text = await render_digest(await s.connection(), day.clock.now().astimezone(SHANGHAI).date(), SHANGHAI)
    line1 = next(x for x in text.splitlines() if "第1考场" in x)
    assert "缺考 2" in line1 and "试卷回收已报" in line1 and "违纪 1" in line1 and "待办" not in line1
    line2 = next(x for x in text.splitlines() if "第2考场" in x)
    assert "缺考逾期未报" in line2 and "待办" in line2


async def test_digest_already_sent_is_sent_again_after_a_session_added_later_that_day(day: Day) -> None:
    """After the digest went out, a session added later the same day makes it due again after that session ends."""
    from sqlalchemy import func

    from bot.store.tables import ExamSession, SessionKind
    from scheduler.planner import plan_sessions

    async with day.db.sessions() as s:
        conn = await s.connection()
        last_end = (await conn.execute(select(func.max(ExamSession.__table__.c.ends_at)))).scalar_one()
    await day.run_until(last_end + timedelta(minutes=31), step=timedelta(minutes=5))
    first = await day.rows(T.c.key.like("digest:%"))
    assert first and {r["status"] for r in first} == {"sent"}
    sent_digests = [t for _at, _a, t in day.ledger.deliveries if "考务日报" in t]
    assert len(sent_digests) == len(first)
    today = last_end.astimezone(SHANGHAI).date()
    async with day.db.session() as s:
        late = ExamSession(
            code="加考",
            occupation="电工",
            level="四级",
            kind=SessionKind.THEORY,
            day=today,
            starts_at=last_end + timedelta(hours=1),
            ends_at=last_end + timedelta(hours=2),
        )
        s.add(late)
        await s.flush()
        assert late.id is not None
        s.add(Room(session_id=late.id, room_no="第9考场", expected=20))
        await s.flush()
        await plan_sessions(s, [late.id], day.clock.now(), tz=SHANGHAI)
    again = await day.rows(T.c.key.like("digest:%"))
    assert {r["status"] for r in again} == {"pending"}
    assert {r["due_at"] for r in again} == {last_end + timedelta(hours=2, minutes=30)}
    await day.run_until(last_end + timedelta(hours=2, minutes=31), step=timedelta(minutes=5))
    digests = [t for _at, _a, t in day.ledger.deliveries if "考务日报" in t]
    assert len(digests) == 2 * len(first) and all("第9考场" in t for t in digests[len(first) :])

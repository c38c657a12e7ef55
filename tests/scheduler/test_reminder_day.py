"""A whole exam day through the outbox: once each, in order, right targets; restarts; misfires; re-planning."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sched_helpers import SHANGHAI, Day, shift_sessions
from sqlalchemy import delete
from sqlmodel import select

from bot.delivery.config import OutboxConfig
from bot.delivery.rows import T
from bot.delivery.sender import Outbox
from bot.store.engine import Database
from bot.store.tables import Assignment, Candidate, OutboxKind, ReminderAck, Report, Room, Staff
from scheduler.conditions import ESCALATIONS, TimelineChecks, escalation_text
from scheduler.planner import plan_sessions

END_OF_DAY = timedelta(hours=5)


async def _staff_ids(day: Day) -> dict[str, int]:
    async with day.db.sessions() as s:
        return {p.name: p.id for p in (await s.exec(select(Staff))).all() if p.id is not None}


async def _room_ids(day: Day) -> dict[str, int]:
    async with day.db.sessions() as s:
        return {r.room_no: r.id for r in (await s.exec(select(Room))).all() if r.id is not None}


async def _assert_each_row_once(day: Day) -> None:
    """Every sent row was delivered exactly once to its address; nothing is left pending or sending."""
    rows = await day.rows()
    assert rows, "no rows planned"
    assert {r["status"] for r in rows} <= {"sent", "cancelled", "expired"}, {r["status"] for r in rows}
    pieces = day.ledger.pieces()
    staff = await _staff_ids(day)
    del staff
    sent = [r for r in rows if r["status"] == "sent"]
    for r in sent:
        t = r["target"]
        addr = f"person:console:{t['staff_id']}" if t["type"] == "staff" else f"group:{t['chat_id']}"
        if r["key"].startswith("digest:"):  # written when sent
            assert sum(n for (a, text), n in pieces.items() if a == addr and "考务日报" in text) == 1
            continue
        # Escalations are numbered when sent (for /已处理 N).
        text = escalation_text(r["id"], r["text"]) if r["kind"] in ESCALATIONS else r["text"]
        assert pieces[(addr, text)] == 1, (addr, text, pieces[(addr, text)])
    assert sum(pieces.values()) == len(sent)


async def test_whole_day_fires_every_reminder_once_in_order_to_the_right_targets(full_day: Day) -> None:
    """Every planned reminder goes out exactly once, at its minute, in time order per chat, to its room or person."""
    day = full_day
    planned = await day.rows(T.c.kind == OutboxKind.REMINDER.value)
    assert len(planned) >= 30
    await day.run_until(day.clock.now() + END_OF_DAY)
    await _assert_each_row_once(day)
    reminders = await day.rows(T.c.kind == OutboxKind.REMINDER.value)
    assert all(r["status"] == "sent" for r in reminders)
    assert all((r["sent_at"] - r["due_at"]) < timedelta(minutes=1) for r in reminders)  # fired at its minute
    # In order per chat, and each group reminder in its room's group only.
    by_addr: dict[str, list] = {}
    for at, addr, text in day.ledger.deliveries:
        by_addr.setdefault(addr, []).append(at)
        assert "补发" not in text
    for times in by_addr.values():
        assert times == sorted(times)
    rooms = await _room_ids(day)
    for r in reminders:
        if r["target"]["type"] == "group":
            assert r["target"]["chat_id"] == f"console:{_room_no(rooms, r['room_id'])}"
    # The -40 meeting reminder reaches each staff member of room 1 privately (王芳, 李强, 孙丽).
    staff = await _staff_ids(day)
    meeting = [r for r in reminders if r["step"] == "meeting" and r["room_id"] == rooms["第1考场"]]
    assert {r["target"]["staff_id"] for r in meeting} == {staff["王芳"], staff["李强"], staff["孙丽"]}
    # Nobody acknowledged or reported: the chiefs were nudged and the office (钱进, 马文) told.
    nudges = await day.rows(T.c.kind == OutboxKind.ACK_NUDGE.value, T.c.status == "sent")
    office = await day.rows(T.c.kind == OutboxKind.ACK_OFFICE.value, T.c.status == "sent")
    assert {r["target"]["staff_id"] for r in nudges} >= {staff["王芳"], staff["赵敏"], staff["周杰"], staff["刘洋"]}
    assert {r["target"]["staff_id"] for r in office} == {staff["钱进"], staff["马文"]}
    # After the last session (computer, ends 11:45) + 30 minutes each office member gets the day's digest.
    digests = [(at, t) for at, a, t in day.ledger.deliveries if "考务日报" in t]
    assert len(digests) == 2
    assert all(at.astimezone(SHANGHAI).strftime("%H:%M") == "12:15" for at, _t in digests)
    assert "第1考场：应考 30，缺考逾期未报；试卷回收未报" in digests[0][1] and "待办事项共" in digests[0][1]


def _room_no(rooms: dict[str, int], room_id: int) -> str:
    return next(k for k, v in rooms.items() if v == room_id)


async def test_acknowledgement_and_reports_stop_the_follow_ups(full_day: Day) -> None:
    """A room that answered 收到 and sent /缺考 gets no nudge; the office hears only of the others."""
    day = full_day
    rooms = await _room_ids(day)
    staff = await _staff_ids(day)
    start = day.clock.now() + timedelta(minutes=68)  # 09:08, session 1
    await day.run_until(start - timedelta(minutes=30) + timedelta(minutes=1))  # papers_pickup sent at 08:38
    async with day.db.session() as s:
        s.add(
            ReminderAck(
                session_id=1, room_id=rooms["第1考场"], step="papers_pickup", staff_id=staff["王芳"], at=day.clock.now()
            )
        )
    await day.run_until(start + timedelta(minutes=31))
    async with day.db.session() as s:
        s.add(
            Report(
                kind="absent",
                room_id=rooms["第1考场"],
                session_id=1,
                payload={"tickets": [], "none": True},
                created_at=day.clock.now(),
            )
        )
    await day.run_until(start + timedelta(minutes=60))
    ack = await day.rows(T.c.step == "papers_pickup", T.c.kind.in_(["ack_nudge", "ack_office"]))
    by_room = {(r["room_id"], r["status"]) for r in ack}
    assert (rooms["第1考场"], "cancelled") in by_room and (rooms["第1考场"], "sent") not in by_room
    assert (rooms["第2考场"], "sent") in by_room
    follow = await day.rows(T.c.step == "late_entry", T.c.kind.in_(["follow_nudge", "follow_office"]))
    assert {r["status"] for r in follow if r["room_id"] == rooms["第1考场"]} == {"cancelled"}
    assert {r["status"] for r in follow if r["room_id"] == rooms["第2考场"]} == {"sent"}


async def test_process_killed_between_passes_and_restarted_loses_none_and_doubles_none(full_day: Day) -> None:
    """A sender that stops mid-day and a new one started 2 minutes later deliver every row exactly once."""
    day = full_day
    first = day.sender()
    await day.run_until(day.clock.now() + timedelta(minutes=75), sender=first)  # first dies here
    day.clock.advance(timedelta(minutes=2))  # down for 2 minutes
    second = day.sender()
    await day.run_until(day.clock.now() + END_OF_DAY, sender=second)
    await _assert_each_row_once(day)
    assert first.totals.sent > 0 and second.totals.sent > 0


async def test_rows_claimed_by_a_crashed_sender_are_sent_once_after_the_lease(full_day: Day) -> None:
    """Rows leased by a sender that crashed before sending go out once, by another sender, after the lease ends."""
    day = full_day
    day.clock.advance(timedelta(minutes=28))  # 08:28: the -40 meeting reminders of session 1 are due
    crashed = day.sender()
    grabbed = await crashed.claim(day.clock.now())
    assert grabbed
    other = day.sender()
    assert (await other.drain()).sent == 0  # the lease fences them off
    day.clock.advance(timedelta(minutes=2, seconds=1))
    stats = await other.drain()
    assert stats.sent >= len(grabbed)
    for r in await day.rows(T.c.id.in_([g["id"] for g in grabbed])):
        assert r["status"] == "sent" and r["attempts"] == 2 and r["lease_owner"] is None
    await day.run_until(day.clock.now() + END_OF_DAY, sender=other)
    await _assert_each_row_once(day)


async def test_misfire_within_grace_is_sent_marked_and_older_ones_expire_with_one_office_notice(full_day: Day) -> None:
    """After 3 minutes of downtime at the start, the start reminder is re-sent as 补发; the 5-minute one expires."""
    day = full_day
    start = day.clock.now() + timedelta(minutes=68)  # 09:08
    await day.run_until(start - timedelta(minutes=6))  # all steps before -5 sent
    day.ledger.deliveries.clear()
    day.clock.set(start + timedelta(minutes=3))  # down from 09:02 to 09:11
    await day.sender(batch_size=2).drain()  # small batches: the expired ones still make one notice each
    rows = await day.rows(T.c.kind == OutboxKind.REMINDER.value)
    s1 = {r["step"]: r["status"] for r in rows if r["session_id"] == 1}
    assert s1["open_papers"] == "expired"  # 启封 is never sent after the start
    assert s1["start"] == "sent"
    starts = [t for _a, addr, t in day.ledger.deliveries if "开考、五对照" in t]
    assert starts and all(t.startswith("【补发，原定 09:08】") for t in starts)
    notices = [(a, t) for _at, a, t in day.ledger.deliveries if "错过了发送时间" in t]
    staff = await _staff_ids(day)
    assert sorted(a for a, _t in notices) == sorted(f"person:console:{staff[n]}" for n in ("钱进", "马文"))
    assert all("启封试卷" in t for _a, t in notices)
    # Outside the grace: 6 more minutes of downtime at session 2's start (09:20) → its start step expires too.
    day.clock.set(start + timedelta(minutes=12 + 6))
    await day.outbox.drain()
    rows = await day.rows(T.c.kind == OutboxKind.REMINDER.value, T.c.session_id == 2, T.c.step == "checkin")
    assert {r["status"] for r in rows} == {"expired"}


async def test_reimport_moving_a_session_moves_its_reminders_without_duplicates(full_day: Day) -> None:
    """Re-planning is idempotent; moving session 1 by 30 minutes moves its pending rows; other sessions untouched."""
    day = full_day
    before = {r["key"]: r for r in await day.rows()}
    async with day.db.session() as s:
        again = await plan_sessions(s, [1, 2, 3], day.clock.now(), tz=SHANGHAI)
    assert again.changed == 0 and len(await day.rows()) == len(before)
    await shift_sessions(day.db, day.clock.now(), timedelta(minutes=30), codes=("演示第1场",))
    after = {r["key"]: r for r in await day.rows()}
    assert after.keys() == before.keys()
    for key, r in after.items():
        delta = timedelta(minutes=30) if r["session_id"] == 1 else timedelta(0)
        assert r["due_at"] - before[key]["due_at"] == delta, key
    await day.run_until(day.clock.now() + END_OF_DAY)
    await _assert_each_row_once(day)
    sent_open = await day.rows(T.c.step == "open_papers", T.c.session_id == 1, T.c.kind == "reminder")
    assert sent_open and all(r["sent_at"].astimezone(SHANGHAI).strftime("%H:%M") == "09:33" for r in sent_open)


async def test_moving_a_session_after_a_step_was_sent_sends_it_again_at_the_new_time(full_day: Day) -> None:
    """A step already sent for the old time is re-armed when the session moves (people need the new time)."""
    day = full_day
    await day.run_until(day.clock.now() + timedelta(minutes=29))  # 08:29: session 1's meeting reminder went out
    await shift_sessions(day.db, day.clock.now(), timedelta(hours=1), codes=("演示第1场",))
    meeting = await day.rows(T.c.step == "meeting", T.c.session_id == 1, T.c.kind == "reminder")
    assert meeting and {r["status"] for r in meeting} == {"pending"}
    assert all(r["due_at"].astimezone(SHANGHAI).strftime("%H:%M") == "09:28" for r in meeting)


async def test_removed_room_cancels_its_pending_rows(full_day: Day) -> None:
    """A room dropped by a re-import has its pending rows cancelled and nothing more is sent there."""
    day = full_day
    rooms = await _room_ids(day)
    rid = rooms["第2考场"]
    async with day.db.session() as s:
        await s.exec(delete(Candidate).where(Candidate.room_id == rid))  # type: ignore[arg-type]
        await s.exec(delete(Assignment).where(Assignment.room_id == rid))  # type: ignore[arg-type]
        await s.exec(delete(Room).where(Room.id == rid))  # type: ignore[arg-type]
        result = await plan_sessions(s, [1], day.clock.now(), tz=SHANGHAI)
    assert result.cancelled > 0
    assert {r["status"] for r in await day.rows(T.c.room_id == rid)} == {"cancelled"}
    await day.run_until(day.clock.now() + END_OF_DAY)
    assert not [a for _t, a, _x in day.ledger.deliveries if a == "group:console:第2考场"]


async def test_two_instances_on_one_database_send_each_row_once(make_day: Any, db_url: str) -> None:
    """Two senders racing on every minute of the day (SQLite and PostgreSQL) deliver each row exactly once."""
    day = await make_day(db_url)
    await shift_sessions(day.db, day.clock.now(), timedelta(hours=1))
    other_db = Database(db_url)
    try:
        a = day.sender(batch_size=7)
        b = Outbox(
            other_db,
            day.clock,
            day.ledger.deliver,
            channels=("console",),
            config=OutboxConfig(batch_size=7),
            checks=TimelineChecks(SHANGHAI),  # as the app gives every instance
        )
        end = day.clock.now() + END_OF_DAY
        while day.clock.now() < end:
            await asyncio.gather(a.drain(), b.drain())
            day.clock.advance(timedelta(minutes=1))
        await _assert_each_row_once(day)
        # Which instance wins each row is up to the database; only "once each" is promised.
    finally:
        await other_db.dispose()


async def test_office_escalations_missed_during_an_outage_expire_instead_of_arriving_hours_late(full_day: Day) -> None:
    """Down from 08:40 to 11:00: the 08:44 escalations of unacknowledged 领取试卷 are expired, never delivered late."""
    day = full_day
    await day.run_until(day.clock.now() + timedelta(minutes=40))  # 08:40: 领取试卷 (08:38) went out, nobody acked
    day.ledger.deliveries.clear()
    day.clock.advance(timedelta(hours=2, minutes=20))
    await day.outbox.drain()
    office = await day.rows(T.c.kind == OutboxKind.ACK_OFFICE.value, T.c.step == "papers_pickup", T.c.session_id == 1)
    assert office and {r["status"] for r in office} == {"expired"}
    assert not [t for _at, _a, t in day.ledger.deliveries if "催办后仍未确认" in t]

"""Follow-ups see only reports still in force; @-mentions survive the outbox."""

from __future__ import annotations

from datetime import timedelta

from sched_helpers import Day
from sqlmodel import select

from bot.delivery.notifier import OutboxNotifier
from bot.delivery.rows import T
from bot.model import GroupTarget, OutgoingMessage, PersonTarget
from bot.store.tables import Report, Room


async def test_revoked_absent_report_does_not_stop_the_follow_up(full_day: Day) -> None:
    """A /缺考 that was later revoked does not count: the room is still nudged to report."""
    day = full_day
    async with day.db.session() as s:
        room = (await s.exec(select(Room).where(Room.room_no == "第1考场"))).one()
    start = day.clock.now() + timedelta(minutes=68)  # 09:08, session 1
    await day.run_until(start + timedelta(minutes=31))
    async with day.db.session() as s:
        first = Report(
            kind="absent",
            room_id=room.id,
            session_id=room.session_id,
            payload={"none": True},
            created_at=day.clock.now(),
        )
        s.add(first)
        await s.flush()
        s.add(
            Report(
                kind="absent",
                room_id=room.id,
                session_id=room.session_id,
                payload={},
                revoked=True,
                supersedes_id=first.id,
                created_at=day.clock.now(),
            )
        )
    await day.run_until(start + timedelta(minutes=60))
    follow = await day.rows(T.c.step == "late_entry", T.c.kind == "follow_nudge", T.c.room_id == room.id)
    assert follow and {r["status"] for r in follow} == {"sent"}


async def test_mentions_survive_the_outbox(day: Day) -> None:
    """A notice with @-mentions reaches the platform with them (merged notices keep every mention)."""
    got: list[OutgoingMessage] = []

    async def deliver(message: OutgoingMessage) -> str | None:
        got.append(message)
        return "1"

    day.outbox.deliver = deliver  # type: ignore[method-assign]
    notifier = OutboxNotifier(day.outbox)
    await notifier.notify(
        [
            OutgoingMessage(GroupTarget("console", "console:第1考场"), "请主监考确认", mentions=("wangfang",)),
            OutgoingMessage(PersonTarget("console", "1"), "私聊提醒"),
        ]
    )
    await day.outbox.drain()
    by_text = {m.text: m for m in got}
    assert by_text["请主监考确认"].mentions == ("wangfang",)
    assert by_text["私聊提醒"].mentions == ()

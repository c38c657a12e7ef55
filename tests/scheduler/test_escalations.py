"""Escalations: to the office on duty, grouped per short window, numbered; /已处理 N closes an item for everyone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.clock import ManualClock
from bot.delivery.rows import T
from bot.store.tables import ConsoleMessage, OutboxKind, Staff
from scheduler.planner import plan_sessions
from scheduler.reminders import window_end


def test_window_end_groups_escalations_on_five_minute_marks() -> None:
    """09:06 and 09:09 both wait for 09:10; a time on the mark stays."""
    at = datetime(2026, 12, 5, 1, 6, tzinfo=UTC)
    assert window_end(at) == datetime(2026, 12, 5, 1, 10, tzinfo=UTC)
    assert window_end(at + timedelta(minutes=3, seconds=59)) == datetime(2026, 12, 5, 1, 10, tzinfo=UTC)
    assert window_end(datetime(2026, 12, 5, 1, 10, tzinfo=UTC)) == datetime(2026, 12, 5, 1, 10, tzinfo=UTC)
    assert window_end(datetime(2026, 12, 5, 1, 10, 0, 1, tzinfo=UTC)) == datetime(2026, 12, 5, 1, 15, tzinfo=UTC)


async def _inbox(chat: Any, name: str) -> list[str]:
    async with chat.services.db.session() as s:
        staff = (await s.exec(select(Staff).where(Staff.name == name))).one()
        rows = (
            await s.exec(
                select(ConsoleMessage).where(ConsoleMessage.chat == f"dm:{staff.id}", ConsoleMessage.direction == "out")
            )
        ).all()
    return [m.text for m in rows]


async def test_unacknowledged_steps_reach_each_office_member_as_one_numbered_message(
    demo_chat: Any, clock: ManualClock
) -> None:
    """Nobody answers 启封 (08:03) in either theory room: at 08:10 each office member gets one message with both."""
    outbox = demo_chat.services.notifier.outbox
    clock.advance(timedelta(minutes=3, seconds=5))
    await outbox.drain()
    clock.advance(timedelta(minutes=6))  # 08:09: the old per-room escalation time — nothing yet
    await outbox.drain()
    assert not [t for t in await _inbox(demo_chat, "钱进") if "催办后仍未确认" in t]
    clock.advance(timedelta(minutes=1))  # 08:10: the window ends
    await outbox.drain()
    grouped = [t for t in await _inbox(demo_chat, "钱进") if "催办后仍未确认" in t]
    assert len(grouped) == 1
    assert "第1考场" in grouped[0] and "第2考场" in grouped[0]
    numbers = re.findall(r"〔待处理 #(\d+)〕", grouped[0])
    assert len(numbers) == 2 and all(f"/已处理 {n}" in grouped[0] for n in numbers)
    assert len([t for t in await _inbox(demo_chat, "马文") if "催办后仍未确认" in t]) == 1

    # 钱进 closes the 第1考场 item: 马文 is told, /提醒状态 shows it, a second /已处理 says who did it.
    first = next(n for n in numbers if re.search(rf"#{n}〕第1考场", grouped[0]))
    reply = await demo_chat.say("钱进", f"/已处理 {first}") or ""
    assert reply.startswith(f"已处理 #{first}：第1考场") and "已告知其他值班人员（1 人）" in reply
    await outbox.drain()
    assert any(t.startswith("【已处理】第1考场") and "钱进" in t for t in await _inbox(demo_chat, "马文"))
    status = await demo_chat.say("马文", "/提醒状态") or ""
    line = next(x for x in status.splitlines() if x.strip().startswith("第1考场"))
    assert "已处理：钱进 08:10" in line
    again = await demo_chat.say("马文", f"/已处理 {first}") or ""
    assert again.startswith(f"#{first} 已由钱进于 08:10 处理")
    assert "没有编号为 1 的催办" in (await demo_chat.say("钱进", "/已处理 1") or "")  # a group reminder, not one
    assert "权限" in (await demo_chat.say("王芳", f"/已处理 {first}") or "")


async def test_escalations_go_only_to_the_office_on_duty(demo_chat: Any, clock: ManualClock) -> None:
    """EXAMBOT_ESCALATE_TO=钱进: re-planned, the escalations target him alone; a name of nobody falls back to all."""
    db = demo_chat.services.db
    async with db.session() as s:
        office = {st.name: st.id for st in (await s.exec(select(Staff).where(col(Staff.name).in_(["钱进", "马文"]))))}
        await plan_sessions(s, [1, 2, 3], clock.now(), escalate_to=("钱进",))
    async with db.session() as s:
        conn = await s.connection()
        rows = (
            await conn.execute(
                select(T.c.target, T.c.status).where(
                    T.c.kind.in_([OutboxKind.ACK_OFFICE.value, OutboxKind.FOLLOW_OFFICE.value])
                )
            )
        ).all()
    live = {t["staff_id"] for t, st in rows if st == "pending"}
    assert live == {office["钱进"]}
    assert {t["staff_id"] for t, st in rows if st == "cancelled"} == {office["马文"]}
    async with db.session() as s:
        await plan_sessions(s, [1, 2, 3], clock.now(), escalate_to=("不在名单的人",))
        conn = await s.connection()
        rows = (await conn.execute(select(T.c.target, T.c.status).where(T.c.kind == OutboxKind.ACK_OFFICE.value))).all()
    assert {t["staff_id"] for t, st in rows if st == "pending"} == set(office.values())

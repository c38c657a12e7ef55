"""收到 confirms the step just announced; older ones are listed (收到 全部 or their number); late ones are marked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.clock import ManualClock
from bot.store.tables import ReminderAck, Room


async def _status_line(chat: Any, room: str) -> str:
    status = await chat.say("钱进", "/提醒状态") or ""
    return next(x for x in status.splitlines() if x.strip().startswith(room))


async def test_late_shou_dao_confirms_only_the_latest_step(demo_chat: Any, clock: ManualClock) -> None:
    """启封 (08:03) goes unanswered; at 08:40 王芳's 收到了 confirms 禁止迟到入场 (08:38), not 启封."""
    outbox = demo_chat.services.notifier.outbox
    clock.advance(timedelta(minutes=3, seconds=5))  # 08:03 启封
    await outbox.drain()
    clock.advance(timedelta(minutes=35))  # 08:38 禁止迟到入场 (+30)
    await outbox.drain()
    clock.advance(timedelta(minutes=2))
    reply = await demo_chat.say("王芳", "收到了", chat="console:第1考场") or ""
    assert "已记录确认（08:40）：第1考场「禁止迟到入场」。" in reply
    assert "还有 1 项较早的提醒未确认" in reply and "1. 第1考场「启封试卷」（08:03 发出）" in reply
    assert "收到 全部" in reply
    line = await _status_line(demo_chat, "第1考场")
    assert "✓禁止迟到入场（王芳 08:40）" in line and "✗启封试卷" in line
    # The older step by its number: recorded, and marked late (the office was told at 08:09).
    reply = await demo_chat.say("王芳", "收到 1", chat="console:第1考场") or ""
    assert "第1考场「启封试卷」（迟确认：提醒 08:03 发出）" in reply and "还有" not in reply
    line = await _status_line(demo_chat, "第1考场")
    assert "迟确认启封试卷（王芳 08:40）" in line and "✓禁止迟到入场" in line
    assert await demo_chat.say("王芳", "好的") == "目前没有需要您确认的提醒。"


async def test_shou_dao_quan_bu_and_a_wrong_number(demo_chat: Any, clock: ManualClock) -> None:
    """收到 全部 confirms every outstanding step at once; a number not on the list lists them again."""
    outbox = demo_chat.services.notifier.outbox
    clock.advance(timedelta(minutes=3, seconds=5))
    await outbox.drain()
    clock.advance(timedelta(minutes=35))
    await outbox.drain()
    reply = await demo_chat.say("王芳", "/收到 5") or ""
    assert reply.startswith("没有第 5 项。") and "1. 第1考场「启封试卷」" in reply
    assert "2. 第1考场「禁止迟到入场」" in reply
    reply = await demo_chat.say("王芳", "收到全部！") or ""
    assert "第1考场「启封试卷」（迟确认" in reply and "第1考场「禁止迟到入场」" in reply
    line = await _status_line(demo_chat, "第1考场")
    assert "迟确认启封试卷" in line and "✓禁止迟到入场" in line and "✗启封" not in line


async def test_ok_counts_as_shou_dao(demo_chat: Any, clock: ManualClock) -> None:
    """ok / OK / 好的 / 已收到 are 收到 too."""
    outbox = demo_chat.services.notifier.outbox
    clock.advance(timedelta(minutes=3, seconds=5))
    await outbox.drain()
    reply = await demo_chat.say("王芳", "OK", chat="console:第1考场") or ""
    assert "已记录确认" in reply and "「启封试卷」" in reply and "迟确认" not in reply


async def test_a_tapped_card_acknowledges_exactly_its_step_once(demo_chat: Any, clock: ManualClock) -> None:
    """What the adapters dispatch for a tap (/收到 卡片 room:step): the chief's tap counts once, a deputy's never."""
    from handlers.reminders import card_command

    outbox = demo_chat.services.notifier.outbox
    clock.advance(timedelta(minutes=3, seconds=5))  # 08:03 启封
    await outbox.drain()
    async with demo_chat.services.db.session() as s:
        room_id = (await s.exec(select(Room.id).where(Room.room_no == "第1考场"))).first()
    tap = card_command(room_id, "open_papers")
    reply = await demo_chat.say("李强", tap) or ""
    assert reply.startswith("只有主监考（王芳）可以确认第1考场「启封试卷」")
    assert "✗启封试卷" in await _status_line(demo_chat, "第1考场")
    reply = await demo_chat.say("王芳", tap) or ""
    assert reply == "已记录确认（08:03）：第1考场「启封试卷」。"
    again = await demo_chat.say("王芳", tap) or ""
    assert again == "第1考场「启封试卷」已由王芳于 08:03 确认。"
    assert "✓启封试卷（王芳 08:03）" in await _status_line(demo_chat, "第1考场")
    async with demo_chat.services.db.session() as s:
        acks = (await s.exec(select(ReminderAck).where(ReminderAck.room_id == room_id))).all()
    assert len(acks) == 1

"""A short exam morning on the console with all three kinds of card, each tapped as the console page taps it.

08:03 王芳 taps 收到 on the 启封试卷 reminder card; 08:40 she reports 领取 30 and 李强 taps 确认 on the handover
card (a 收到 he types first names the count still to check); she reports a 替考 and 李强 taps 确认 on the
violation card (/历史 then shows his confirmation). Each tap is what the page's button sends (read
back from the page) and means what typing it means; a repeat counts once. SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from importlib import resources

import pytest
from sqlmodel import col, select

from bot.adapters._cards import ACK, ISSUE, tap_text
from bot.clock import ManualClock
from bot.settings import Settings
from bot.store.tables import AuditLog, ConsoleMessage, ReminderAck, Report, Staff
from tests.conftest import Chat, demo_app

_CARD = re.compile(r"\ncard:(\d{1,12}):([a-z_]{1,64})$")


@pytest.fixture
async def chat(make_settings: Callable[..., Settings], db_url: str, clock: ManualClock) -> AsyncIterator[Chat]:
    """The demo day on the console only, at 08:00."""
    async with demo_app(make_settings(database_url=db_url), clock) as c:
        yield c


async def _deliver(chat: Chat) -> None:
    await chat.services.notifier.settle()
    await chat.services.notifier.outbox.drain()


async def _cards(chat: Chat, name: str, step: str) -> list[tuple[int, str]]:
    """(subject id, step) of the cards in ``name``'s private console chat about ``step``."""
    async with chat.services.db.session() as s:
        sid = (await s.exec(select(Staff.id).where(Staff.name == name))).one()
        rows = (await s.exec(select(ConsoleMessage.text).where(ConsoleMessage.chat == f"dm:{sid}"))).all()
    found = [_CARD.search(t) for t in rows]
    return [(int(m.group(1)), m.group(2)) for m in found if m and m.group(2) == step]


def _page_taps(subject: int, step: str) -> list[str]:
    """The commands the console page's two buttons send for a card (from the page's script, not restated)."""
    page = resources.files("bot").joinpath("static/console.html").read_text(encoding="utf-8")
    if step in ("vconfirm", "handover"):
        words = re.search(rf'{step}: \[\["确认", "", true\], \["(\S+)", " (\S+)", false\]\]', page)
        assert words, f"the console page has no {step} card buttons"
        assert re.search(r"\[l, `/确认 \$\{room\}\$\{w\}`, p\]", page)
        return [f"/确认 {subject}", f"/确认 {subject} {words.group(2)}"]
    assert re.search(r"\[l, `/收到 \$\{w\} \$\{room\}:\$\{step\}`, p\]", page)
    return [f"/收到 卡片 {subject}:{step}", f"/收到 问题 {subject}:{step}"]


async def test_a_morning_with_reminder_handover_and_violation_cards(chat: Chat, clock: ManualClock) -> None:
    """Every kind of card arrives privately to the right person, a tap does what typing does, once."""
    clock.advance(timedelta(minutes=3, seconds=5))
    await _deliver(chat)
    ((room, step),) = await _cards(chat, "王芳", "open_papers")
    ack, issue = _page_taps(room, step)
    assert [ack, issue] == [tap_text(ACK, room, step), tap_text(ISSUE, room, step)]  # as every platform's tap
    assert await chat.say("王芳", ack) == "已记录确认（08:03）：第1考场「启封试卷」。"
    assert (await chat.say("王芳", ack) or "").startswith("第1考场「启封试卷」已由王芳于 08:03 确认")

    clock.advance(timedelta(minutes=37))
    assert "已记录第1考场试卷" in (await chat.say("王芳", "/试卷 1 领取 30") or "")
    await _deliver(chat)
    ((handout, kind),) = await _cards(chat, "李强", "handover")
    ok, disagree = _page_taps(handout, kind)
    assert [ok, disagree] == [tap_text(ACK, handout, kind), tap_text(ISSUE, handout, kind)]
    # 李强 types 收到 instead of tapping: no reminder waits for him; the count to check is named.
    assert f"编号 {handout}：第1考场试卷领取 30 份待您核对" in (await chat.say("李强", "收到") or "")
    assert await chat.say("李强", ok) == f"已确认第1考场试卷领取 30 份（编号 {handout}），两名监考核对一致。"
    assert (await chat.say("李强", disagree) or "").startswith(f"编号 {handout} 的领取份数（30 份）已由李强于 08:40")

    assert "请本考场另一名监考员发送 /确认" in (await chat.say("王芳", "/违纪 1 2026000003 替考") or "")
    await _deliver(chat)
    ((violation, kind),) = await _cards(chat, "李强", "vconfirm")
    ok, _dispute = _page_taps(violation, kind)
    assert ok == tap_text(ACK, violation, kind)
    assert (await chat.say("王芳", ok) or "").startswith(
        f"编号 {violation} 是您自己报告的，需要本考场另一名监考员（李强）"
    )
    assert f"编号 {violation}：第1考场严重违纪记录待您确认" in (await chat.say("李强", "收到了") or "")
    assert (await chat.say("李强", ok) or "").startswith(f"已确认编号 {violation}")
    assert "已由李强确认过" in (await chat.say("李强", ok) or "")
    assert "待您" not in (await chat.say("李强", "收到") or "")  # nothing is left open for him
    assert (await chat.say("孙丽", f"/历史 {violation}") or "").splitlines()[2].endswith("李强 确认")

    async with chat.services.db.session() as s:
        acks = (await s.exec(select(ReminderAck).where(ReminderAck.step == "open_papers"))).all()
        confirms = (await s.exec(select(Report).where(col(Report.kind) == "confirm"))).all()
        handovers = (await s.exec(select(AuditLog).where(AuditLog.entity == "papers_handover"))).all()
    assert len([a for a in acks if a.room_id == room]) == 1 and len(confirms) == 1 and len(handovers) == 1
    status = await chat.say("钱进", "/提醒状态") or ""
    assert "✓启封试卷（王芳 08:03）" in next(x for x in status.splitlines() if x.strip().startswith("第1考场"))

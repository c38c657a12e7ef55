"""Unknown is not a mismatch: a collection without its 答题卡 count, or without a 领取, asks instead of alarming."""

from __future__ import annotations

from datetime import timedelta

from tests.handlers.conftest import Day


async def test_collection_without_answer_cards_asks_and_then_checks(day: Day) -> None:
    """/试卷 1 回收 30 with 28 present: no alarm about 30 answer cards; 答题卡多少份？ → 28 → 核对无误."""
    await day.say("王芳", "/缺考 2026000003 2026000004")
    await day.say("王芳", "/试卷 领取 30")
    reply = await day.say("王芳", "/试卷 1 回收 30")
    assert "答题卡 未报" in reply and "暂未发现不符（答题卡份数未报）" in reply and "答题卡（已作答）多少份？" in reply
    assert "核对不符" not in reply and await _told(day) == []
    reply = await day.say("王芳", "28")
    assert "答题卡 28，空白 2" in reply and "核对无误" in reply
    assert "第1考场：领取 30（待第二人核对），回收 30，已核对" in await day.say("钱进", "/试卷状态")
    assert await _told(day) == []


async def test_a_real_difference_still_alarms_once_the_counts_are_in(day: Day) -> None:
    """回收 29 against 领取 30 is a real difference even without the 答题卡 count; so is 答题卡 29 vs 实考 30."""
    await day.say("王芳", "/缺考 无")
    await day.say("王芳", "/试卷 领取 30")
    reply = await day.say("王芳", "/试卷 回收 29")
    assert "领取 30 ≠ 回收 29" in reply and "已通知考务办公室和督导" in reply
    await day.say("王芳", "取消")
    reply = await day.say("李强", "/试卷 回收 30")
    assert "核对不符" not in reply
    reply = await day.say("李强", "29")
    assert "答题卡 29 ≠ 实考 30" in reply


async def test_both_missing_asks_one_at_a_time_and_applies_each_answer(day: Day) -> None:
    """回收 30 with neither 答题卡 nor 领取: 答题卡 is asked and applied, then 领取 is asked."""
    await day.say("王芳", "/缺考 2026000003 2026000004")
    reply = await day.say("王芳", "/试卷 回收 30")
    assert "答题卡份数、领取份数未报" in reply and "答题卡（已作答）多少份？" in reply
    reply = await day.say("王芳", "28")
    assert "答题卡 28，空白 2" in reply and "本考场领取了多少份试卷？" in reply
    (collect,) = [r for r in await day.reports("papers") if r.payload.get("answered") == 28]
    assert collect.payload["reconciled"]
    reply = await day.say("王芳", "30")
    assert "领取试卷 30 份" in reply and "现在核对无误" in reply


async def test_collection_without_handout_asks_for_it_then_checks(day: Day) -> None:
    """No 领取 reported: the room is asked; the answer is recorded as the handout and the collection checked."""
    await day.say("王芳", "/缺考 无")
    reply = await day.say("王芳", "/试卷 回收 30 答题卡 30")
    assert "本考场领取了多少份试卷？" in reply and await _told(day) == []
    reply = await day.say("王芳", "30份")
    assert "领取试卷 30 份" in reply and "现在核对无误" in reply
    status = await day.say("钱进", "/试卷状态")
    assert "第1考场：领取 30（待第二人核对），回收 30，已核对" in status


async def test_missing_handout_reaches_the_office_only_after_the_deadline(day: Day) -> None:
    """Nobody answers: 20 minutes later (at the window's end) the office on duty is told, once, numbered."""
    await day.say("王芳", "/缺考 无")
    await day.say("王芳", "/试卷 回收 30 答题卡 30")
    outbox = day.services.notifier.outbox
    await outbox.drain()
    assert await _told(day) == []
    assert "…试卷领取报告（" in await day.say("钱进", "/提醒状态")  # not yet due: with its time
    day.clock.advance(timedelta(minutes=25))
    await outbox.drain()
    told = [t for t in await day.inbox("钱进") if "仍未报领取份数" in t]
    assert len(told) == 1 and "〔待处理 #" in told[0]
    assert "✗试卷领取报告" in await day.say("钱进", "/提醒状态")  # past it: missing, not “not yet”


async def test_a_handout_in_time_cancels_the_deadline(day: Day) -> None:
    """The 领取 reported before the deadline: the office hears nothing."""
    await day.say("王芳", "/缺考 无")
    await day.say("王芳", "/试卷 回收 30 答题卡 30")
    await day.say("王芳", "取消")
    await day.say("李强", "/试卷 领取 30")
    day.clock.advance(timedelta(minutes=25))
    await day.services.notifier.outbox.drain()
    assert await _told(day) == []


async def _told(day: Day) -> list[str]:
    return [t for t in await day.inbox("钱进") if "领取份数" in t or "试卷核对" in t]


async def test_a_difference_alerted_once_is_not_alerted_again_when_the_handout_comes_in(day: Day) -> None:
    """答题卡 27 against 实考 28 alerts; the 领取 answered next leaves that same difference: no second alarm."""
    await day.say("王芳", "/缺考 2026000003 2026000004")
    await day.say("王芳", "/试卷 回收 30")
    assert "答题卡 27 ≠ 实考 28" in await day.say("王芳", "27")
    reply = await day.say("王芳", "30")
    assert "仍核对不符：答题卡 27 ≠ 实考 28（已通知过考务办公室）" in reply
    assert len([t for t in await day.inbox("钱进") if t.startswith("【试卷核对不符】")]) == 1

"""/试卷 /papers: handout and collection phrasings, reconciliation, alerts, the office's /备注."""

from __future__ import annotations

import pytest

from tests.handlers.conftest import Day

# (text, action, count, answered, blank, spoiled)
PHRASINGS: list[tuple[str, str, int, int | None, int, int]] = [
    ("/试卷 1 领取 30", "handout", 30, None, 0, 0),
    ("／试卷　１　领取　３０", "handout", 30, None, 0, 0),
    ("、试卷 领取 30份", "handout", 30, None, 0, 0),
    ("/试卷1 领取30", "handout", 30, None, 0, 0),
    ("/试卷 第1考场 领 三十", "handout", 30, None, 0, 0),
    ("/试卷 领取 30 1号", "handout", 30, None, 0, 0),
    ("/试卷 30 领取", "handout", 30, None, 0, 0),
    ("/试卷 1 30 领取", "handout", 30, None, 0, 0),
    ("/papers 1 handout 30", "handout", 30, None, 0, 0),
    ("/试卷 发放 30 一考场", "handout", 30, None, 0, 0),
    ("/试卷 1 回收 30 答题卡 30", "collect", 30, 30, 0, 0),
    ("/试卷 回收 30 空白 2", "collect", 30, 28, 2, 0),
    ("/试卷 回收30 答题卡28 空白1 损坏1", "collect", 30, 28, 1, 1),
    ("/试卷 01 收回 30份，空白2张", "collect", 30, 28, 2, 0),
    ("/papers 1 collect 30 空白 2", "collect", 30, 28, 2, 0),
    ("/试卷 回收 三十 空白 两", "collect", 30, 28, 2, 0),
    ("/试卷 空白 2 回收 30 第1考场", "collect", 30, 28, 2, 0),
    ("/试卷  回收  30  损坏 1  空白 1 ", "collect", 30, 28, 1, 1),
    ("/试卷领了30份", "handout", 30, None, 0, 0),  # as a phone types it (and as the slash hint repeats it)
    ("/试卷 领到试卷30份", "handout", 30, None, 0, 0),
    ("/试卷 收回了30份 空白2", "collect", 30, 28, 2, 0),
    ("/试卷 收齐了30份 空白2", "collect", 30, 28, 2, 0),
]


@pytest.mark.parametrize(("text", "action", "count", "answered", "blank", "spoiled"), PHRASINGS)
async def test_papers_phrasings(
    day: Day, text: str, action: str, count: int, answered: int | None, blank: int, spoiled: int
) -> None:
    """Each phrasing records the counts of 第1考场 and repeats them with the 编号."""
    reply = await day.say("王芳", text)
    rows = await day.reports("papers")
    assert len(rows) == 1, reply
    p = rows[0].payload
    assert (p["action"], p["count"]) == (action, count)
    if action == "collect":
        assert (p["answered"], p["blank"], p["spoiled"]) == (answered, blank, spoiled)
    assert f"已记录第1考场试卷（编号 {rows[0].id}）" in reply
    assert str(count) in reply


MALFORMED: list[tuple[str, str]] = [
    ("/试卷 1 30", "请写“领取”或“回收”。"),
    ("/试卷 1 领取", "请写试卷份数。"),
    ("/试卷 1 2 领取 30", "数字太多了"),
    ("/试卷 1 领取 30 空白 2", "答题卡、空白、损坏份数请在回收时填写。"),
    ("/试卷 1 领取 30 很多", "没有看懂“很多”"),
    ("/试卷 9 领取 30", "今天没有第9考场"),
]


@pytest.mark.parametrize(("text", "error"), MALFORMED)
async def test_papers_refusals(day: Day, text: str, error: str) -> None:
    """A malformed /试卷 records nothing and shows the right form."""
    reply = await day.say("王芳", text)
    assert error in reply
    assert "用法：/试卷 考场 领取|回收 份数" in reply
    assert await day.reports("papers") == []


async def test_reconciled_collection(day: Day) -> None:
    """30 out, 28 answered + 2 blank back, 2 absent: reconciled, no alert."""
    await day.say("王芳", "/缺考 2026000003 2026000004")
    await day.say("王芳", "/试卷 领取 30")
    reply = await day.say("王芳", "/试卷 回收 30 答题卡 28 空白 2")
    assert "核对无误" in reply
    assert await day.inbox("钱进") == []


async def test_mismatch_alerts_and_stays_open_until_note(day: Day) -> None:
    """A collection that does not add up alerts the office at once and stays open until /备注."""
    await day.say("王芳", "/缺考 无")
    await day.say("王芳", "/试卷 领取 30")
    reply = await day.say("王芳", "/试卷 回收 29 答题卡 29")
    assert "核对不符" in reply and "领取 30 ≠ 答题卡 29" in reply
    inbox = await day.inbox("钱进")
    assert len(inbox) == 1 and "【试卷核对不符】第1考场" in inbox[0]
    assert "核对不符" in await day.say("钱进", "/试卷状态")
    collect = (await day.reports("papers"))[-1]
    assert "请写核实情况的说明" in await day.say("钱进", f"/备注 {collect.id}")
    listing = await day.say("钱进", "/备注")  # alone: what is open, with the 编号 to close it
    assert listing.startswith(f"今天待关闭的试卷核对不符：\n· 编号 {collect.id} 演示第1场 第1考场"), listing
    assert "领取 30 ≠ 答题卡 29" in listing and listing.endswith("核实后请发：/备注 编号 说明"), listing
    note = await day.say("钱进", f"/备注 {collect.id} 缺1份在讲台找到，核对无误")
    assert "核对已关闭" in note
    assert "办公室已备注关闭" in await day.say("钱进", "/试卷状态")
    assert (await day.say("钱进", "/备注")).startswith("今天没有待关闭的试卷核对不符。")


async def test_correction_closes_mismatch(day: Day) -> None:
    """/更正 with the right counts makes the room reconciled."""
    await day.say("王芳", "/缺考 无")
    await day.say("王芳", "/试卷 领取 30")
    await day.say("王芳", "/试卷 回收 29")
    bad = (await day.reports("papers"))[-1]
    reply = await day.say("王芳", f"/更正 {bad.id} 回收 30 答题卡 30")
    assert "核对无误" in reply
    status = await day.say("钱进", "/试卷状态")
    assert "第1考场：领取 30（待第二人核对），回收 30，已核对" in status


async def test_collect_without_handout_asks_for_it(day: Day) -> None:
    """A collection without a reported handout is not a mismatch: the room is asked for the 领取 count."""
    reply = await day.say("王芳", "/试卷 回收 30 答题卡 30")
    assert "领取份数未报，补报后再完整核对" in reply and "本考场领取了多少份试卷？" in reply
    assert await day.inbox("钱进") == []


async def test_absentees_reported_after_collection_reconcile_it(day: Day) -> None:
    """回收 30 答题卡 28, then /缺考 of two: the collection now checks out everywhere it is shown."""
    await day.say("王芳", "/试卷 领取 30")
    bad = await day.say("王芳", "/试卷 回收 30 答题卡 28 空白 2")
    assert "答题卡 28 ≠ 实考 30" in bad
    collect = (await day.reports("papers"))[-1]
    reply = await day.say("李强", "/缺考 2026000003 2026000004")
    assert f"试卷回收编号 {collect.id} 现在核对无误" in reply
    papers = await day.say("钱进", "/试卷状态")
    assert "第1考场：领取 30（待第二人核对），回收 30，已核对" in papers and "≠" not in papers
    rooms = await day.say("钱进", "/考场状态")
    line = next(ln for ln in rooms.splitlines() if "第1考场" in ln)
    assert "已核对" in line and "≠" not in line
    assert len(await day.inbox("钱进")) == 1  # only the first mismatch alerted


async def test_later_change_that_breaks_reconciliation_alerts(day: Day) -> None:
    """A reconciled collection broken by a later 缺考 correction or a new handout alerts the office again."""
    await day.say("王芳", "/缺考 2026000003 2026000004")
    await day.say("王芳", "/试卷 领取 30")
    assert "核对无误" in await day.say("王芳", "/试卷 回收 30 答题卡 28 空白 2")
    assert await day.inbox("钱进") == []
    collect = (await day.reports("papers"))[-1]
    absent = (await day.reports("absent"))[-1]
    reply = await day.say("王芳", f"/更正 {absent.id} 2026000003")
    assert f"试卷回收编号 {collect.id} 现在核对不符：答题卡 28 ≠ 实考 29" in reply
    assert "已通知考务办公室和督导（3 人）" in reply
    inbox = await day.inbox("钱进")
    assert len(inbox) == 1 and "【试卷核对不符】第1考场" in inbox[0] and f"/备注 {collect.id}" in inbox[0]
    assert "核对不符：答题卡 28 ≠ 实考 29" in await day.say("钱进", "/试卷状态")
    # A new handout count (31) breaks it differently; fixing the absentees back is not enough.
    reply = await day.say("王芳", "/试卷 领取 31")
    assert "领取 31 ≠ 答题卡 28" in reply and len(await day.inbox("钱进")) == 2
    fixed = (await day.reports("absent"))[-1]
    await day.say("王芳", f"/更正 {fixed.id} 2026000003 2026000004")
    assert "领取 31 ≠" in await day.say("钱进", "/试卷状态")
    handout = [r for r in await day.reports("papers") if r.payload["action"] == "handout"][-1]
    reply = await day.say("王芳", f"/更正 {handout.id} 领取 30")
    assert f"试卷回收编号 {collect.id} 现在核对无误" in reply
    assert "已核对" in await day.say("钱进", "/试卷状态")


async def test_revoking_absentees_reopens_the_mismatch(day: Day) -> None:
    """/撤销 of the 缺考 report the collection relied on is a change too."""
    await day.say("王芳", "/缺考 2026000003 2026000004")
    await day.say("王芳", "/试卷 领取 30")
    await day.say("王芳", "/试卷 回收 30 答题卡 28 空白 2")
    absent = (await day.reports("absent"))[-1]
    reply = await day.say("王芳", f"/撤销 {absent.id} 报错了")
    assert "现在核对不符：答题卡 28 ≠ 实考 30（未报缺考，按应考计）" in reply


async def test_mismatch_reply_names_the_number_and_who_was_told(day: Day) -> None:
    """The mismatch reply gives the real 编号 for /更正 and says the office and supervisors were told."""
    await day.say("王芳", "/缺考 无")
    await day.say("王芳", "/试卷 领取 30")
    reply = await day.say("王芳", "/试卷 回收 29")
    collect = (await day.reports("papers"))[-1]
    assert f"/更正 {collect.id} 改正" in reply and "已通知考务办公室和督导（3 人）" in reply
    assert "/更正 编号" not in reply

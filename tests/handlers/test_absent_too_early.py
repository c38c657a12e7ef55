"""/缺考 with names before absence is final (开考 30 minutes for theory and computer sessions, 5 for practical ones,
from the timeline's /缺考 step) warns and records only after 确定."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from tests.conftest import demo_app
from tests.handlers.conftest import ROOM1, Day

# The demo day seeded at 08:00: theory 第1考场 08:08, practical 第3考场 08:20, computer 第4考场 08:45.


@pytest.fixture
async def early(db_url: str, make_settings: Any, clock: ManualClock) -> AsyncIterator[Day]:
    """The demo day at the moment it was seeded (08:00, before every session), on SQLite and PostgreSQL."""
    async with demo_app(make_settings(database_url=db_url), clock) as chat:
        yield Day(chat, clock)


async def test_theory_before_the_start_warns_then_records_on_confirmation(early: Day) -> None:
    """Names 8 minutes before a theory session starts: a warning and a question; 确定 records them."""
    ask = await early.say("王芳", "/缺考 2026000003")
    assert ask.startswith("开考 30 分钟后才能确定缺考（监考人员守则 3.(3)，08:38 起），")
    assert "现在是开考前 8 分钟（08:08 开考）" in ask
    assert ask.endswith("确定现在就记录第1考场缺考 2026000003 吗？回复“确定”或“取消”")
    assert await early.reports("absent") == []
    reply = await early.say("王芳", "确定")
    (row,) = await early.reports("absent")
    assert f"已记录第1考场缺考（编号 {row.id}）" in reply and "缺考 1：2026000003" in reply


async def test_cancel_records_nothing(early: Day) -> None:
    """取消 after the warning records nothing."""
    await early.say("王芳", "/缺考 2026000003")
    assert "没有记录任何内容" in await early.say("王芳", "取消")
    assert await early.reports("absent") == []


async def test_theory_after_the_start_still_too_early(early: Day) -> None:
    """14 minutes after the start, still before 开考 30 分钟: the warning says how long after the start it is."""
    early.clock.advance(timedelta(minutes=22))
    ask = await early.say("王芳", "/缺考 2026000003", chat=ROOM1)
    assert "开考 30 分钟后才能确定缺考" in ask and "现在是开考后 14 分钟（08:08 开考）" in ask
    assert "缺考 2026**0003（3号座） 吗" in ask and "2026000003" not in ask  # masked in the group, with the seat
    assert await early.reports("absent") == []


async def test_computer_session_45_minutes_early(early: Day) -> None:
    """A computer session 45 minutes before its start: the same 30-minute rule."""
    ask = await early.say("刘洋", "/缺考 2026000074")
    assert "开考 30 分钟后才能确定缺考" in ask and "现在是开考前 45 分钟（08:45 开考）" in ask
    assert await early.reports("absent") == []


async def test_practical_final_after_five_minutes(early: Day) -> None:
    """A practical session: 2 minutes after the start asks (实际操作考核考场规则 2.), 6 minutes after records."""
    early.clock.advance(timedelta(minutes=22))
    ask = await early.say("周杰", "/缺考 2026000059")
    assert ask.startswith("开考 5 分钟后才能确定缺考（实际操作考核考场规则 2.，08:25 起），现在是开考后 2 分钟")
    assert await early.reports("absent") == []
    early.clock.advance(timedelta(minutes=4))
    reply = await early.say("周杰", "/缺考 2026000059")
    assert "已记录第3考场缺考" in reply
    assert len(await early.reports("absent")) == 1


async def test_theory_after_thirty_minutes_records_at_once(early: Day) -> None:
    """From 开考 30 分钟 on, names are recorded without a question."""
    early.clock.advance(timedelta(minutes=38))
    assert "已记录第1考场缺考" in await early.say("王芳", "/缺考 2026000003")


async def test_none_and_removal_are_not_questioned(early: Day) -> None:
    """无 before the start is recorded at once (nobody is missing); so is taking a name off the list."""
    assert "已记录第4考场缺考" in await early.say("刘洋", "/缺考 无")
    await early.say("王芳", "/缺考 2026000003 2026000004")
    await early.say("王芳", "确定")
    reply = await early.say("王芳", "/缺考 删 2026000004 到了")
    assert "删除 2026000004（原因：到了）" in reply
    assert len(await early.reports("absent")) == 3


async def test_guided_dialog_asks_too(early: Day) -> None:
    """/缺考 without arguments, then the tickets: the same warning, then 确定 records."""
    assert "准考证号" in await early.say("刘洋", "/缺考")
    assert "开考 30 分钟后才能确定缺考" in await early.say("刘洋", "2026000074")
    assert "已记录第4考场缺考" in await early.say("刘洋", "确定")
    assert len(await early.reports("absent")) == 1


async def test_other_answer_asks_again(early: Day) -> None:
    """An answer that is neither 确定 nor 取消 repeats the question and records nothing."""
    await early.say("王芳", "/缺考 2026000003")
    again = await early.say("王芳", "嗯？")
    assert "没有看懂" in again and "确定" in again
    assert await early.reports("absent") == []


async def test_redelivered_confirmation_records_once(early: Day) -> None:
    """The confirming message delivered twice records one report."""
    ask = await early.send("王芳", "/缺考 2026000003", "platform-early-1")
    again = await early.send("王芳", "/缺考 2026000003", "platform-early-1")  # the question again, nothing stored
    assert ask == again and ask is not None and "确定现在就记录" in ask
    assert await early.reports("absent") == []
    await early.send("王芳", "确定", "platform-early-2")
    await early.send("王芳", "确定", "platform-early-2")
    assert len(await early.reports("absent")) == 1


async def test_offset_comes_from_the_timeline(make_settings: Any, clock: ManualClock, tmp_path: Path) -> None:
    """An office timeline moving the theory /缺考 step to 开考 20 分钟 moves the warning with it."""
    override = tmp_path / "timeline.toml"
    override.write_text('[theory]\n[[theory.steps]]\nid = "late_entry"\noffset_minutes = 20\n', encoding="utf-8")
    async with demo_app(make_settings(timeline_file=override), clock) as chat:
        day = Day(chat, clock)
        clock.advance(timedelta(minutes=22))
        ask = await day.say("王芳", "/缺考 2026000003")
        assert "开考 20 分钟后才能确定缺考" in ask and "08:28 起" in ask
        clock.advance(timedelta(minutes=7))
        assert "已记录第1考场缺考" in await day.say("王芳", "/缺考 2026000003")


async def test_seats_read_in_the_group_are_kept_for_the_confirmation(early: Day) -> None:
    """“/缺考 1号 3号” in 第1考场's group before the start asks about seats 1 and 3, and 确定 records those two (the
    confirmation reads the seats, not room 1 and seat 3)."""
    ask = await early.say("王芳", "/缺考 1号 3号", chat=ROOM1)
    assert "缺考 2026**0001（1号座）、2026**0003（3号座） 吗" in ask, ask
    reply = await early.say("王芳", "确定", chat=ROOM1)
    (row,) = await early.reports("absent")
    assert row.payload["tickets"] == ["2026000001", "2026000003"], reply


async def test_rule_question_while_the_confirmation_waits(early: Day) -> None:
    """A rule question at the too-early confirmation is answered aside; the confirmation still waits and 确定
    records."""
    await early.say("王芳", "/缺考 2026000003")
    reply = await early.say("王芳", "考生迟到了还能进吗？")
    assert "没有看懂" not in reply and "监考人员守则" in reply, reply
    assert reply.endswith("（/缺考 还在等您回复：确定记录吗？回复“确定”或“取消”。）")
    assert await early.reports("absent") == []
    assert "已记录第1考场缺考" in await early.say("王芳", "确定")

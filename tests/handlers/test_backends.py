"""The report commands, dialogs and queries on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.clock import ManualClock
from bot.settings import Settings
from tests.conftest import demo_app


async def test_commands_on_both_backends(
    db_url: str, make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """Reports, a correction, a revocation, a dialog and the queries behave the same on both databases."""
    settings = make_settings(database_url=db_url)
    async with demo_app(settings, clock) as chat:
        clock.advance(timedelta(minutes=40))

        async def say(who: str, text: str, room: str | None = None) -> str:
            reply = await chat.say(who, text, chat=room)
            assert reply is not None
            return reply

        assert "缺考 1" in await say("王芳", "/缺考 2026000003")
        assert "编号 2" in await say("王芳", "/违纪 2026000004 抄袭 终止考试")
        assert "两人记录" in await say("李强", "/确认 2")
        assert "新编号" in await say("王芳", "/更正 1 无")
        assert "只有考务办公室可以撤销" in await say("王芳", "/撤销 2 误报")
        assert "已撤销" in await say("钱进", "/撤销 2 误报")
        await say("王芳", "/突发")
        assert "已记录第1考场突发事件" in await say("王芳", "停电")
        assert "没有违纪记录" in await say("孙丽", "/violations today")
        assert "第1考场：应考 30，实考 30，缺考 0" in await say("钱进", "/缺考统计")
        assert "突发 1" in await say("钱进", "/考场状态")

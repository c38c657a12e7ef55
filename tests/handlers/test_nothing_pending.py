"""取消 with no dialog open and 收到 with nothing to acknowledge get plain answers, not a rule of the regulations."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize("text", ["取消", "/取消", "算了", "取消。"])
async def test_cancel_with_nothing_open(demo_chat: Any, text: str) -> None:
    """Privately, any word for cancelling with no dialog open is answered that nothing is in progress."""
    assert await demo_chat.say("王芳", text) == "当前没有进行中的操作。"


async def test_cancel_in_a_group(demo_chat: Any) -> None:
    """In a group 取消 gets the same answer; 算了 said between people there gets none from the bot."""
    assert await demo_chat.say("王芳", "取消", chat="console:第1考场") == "当前没有进行中的操作。"
    assert await demo_chat.say("王芳", "算了", chat="console:第1考场") is None


async def test_cancel_still_ends_an_open_dialog(demo_chat: Any) -> None:
    """With a dialog open, 取消 ends it as before."""
    assert "准考证号" in (await demo_chat.say("王芳", "/违纪") or "")
    assert await demo_chat.say("王芳", "取消") == "已取消 /违纪，没有记录任何内容。"
    assert await demo_chat.say("王芳", "取消") == "当前没有进行中的操作。"


@pytest.mark.parametrize("text", ["收到", "收到了", "已收到"])
async def test_ack_with_nothing_pending(demo_chat: Any, text: str) -> None:
    """Privately, 收到 with no reminder waiting says so instead of “我不确定”; in a group the bot stays quiet."""
    assert await demo_chat.say("王芳", text) == "目前没有需要您确认的提醒。"
    assert await demo_chat.say("王芳", text, chat="console:第1考场") is None

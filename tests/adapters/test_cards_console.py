"""The demo console shows a critical step's card to the chief with a 收到 button that works.

The page (bot/static/console.html) finds the card by its last line ``card:<room>:<step>`` and its buttons send the
same command a platform's tap dispatches, as the person at the page; the answer's ``card_state`` is what the
button then shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import Settings
from handlers.reminders import card_command
from tests.conftest import console_headers

ClientFactory = Callable[..., Any]


@pytest.fixture
async def client(aiohttp_client: ClientFactory, settings: Settings, clock: ManualClock) -> TestClient:
    """The app with only the console on, seeded with the demo day at 08:00."""
    app = create_app(settings, clock=clock, console=True, components=[])
    c: TestClient = await aiohttp_client(app)
    await seed_demo(app[SERVICES].db, clock.now(), settings.tz)
    return c


def _page_command(page: str, word: str, room: str, step: str) -> str:
    """The command the page's button builds (read from the page's own script, not restated here)."""
    template = re.search(r"\[l, `(/收到 )\$\{w\} \$\{room\}:\$\{step\}`, p\]", page)
    assert template, "the console page builds no card command"
    return f"{template.group(1)}{word} {room}:{step}"


async def test_card_in_console_with_a_working_shou_dao_button(client: TestClient, clock: ManualClock) -> None:
    """At 08:03 王芳's private chat holds the 启封试卷 card; its 收到 button acknowledges the step once."""
    clock.advance(timedelta(minutes=3, seconds=5))
    await client.server.app[SERVICES].notifier.outbox.drain()
    r = await client.get("/console/api/messages", params={"chats": "dm:1", "after": "0"})
    cards = [m for m in (await r.json())["messages"] if re.search(r"\ncard:\d+:open_papers$", m["text"])]
    assert len(cards) == 1 and "启封试卷" in cards[0]["text"] and "回复“收到”" in cards[0]["text"]
    room, step = cards[0]["text"].rsplit("\ncard:", 1)[1].split(":")
    page = await (await client.get("/console")).text()
    assert "CARD_LINE" in page and '["收到", "卡片", true]' in page
    command = _page_command(page, "卡片", room, step)
    assert command == card_command(int(room), step)  # what a platform's tap dispatches
    headers = await console_headers(client)
    r = await client.post("/console/api/send", json={"as": "1", "text": command}, headers=headers)
    body = await r.json()
    assert body["reply"] == "已记录确认（08:03）：第1考场「启封试卷」。"
    assert body["card_state"] == "王芳 已收到 08:03"
    # Pressed again by the deputy (a shared screen): nothing recorded twice, it says who confirmed and when.
    r = await client.post("/console/api/send", json={"as": "2", "text": command}, headers=headers)
    body = await r.json()
    assert body["reply"].startswith("第1考场「启封试卷」已由王芳于 08:03 确认") and body["card_state"]
    r = await client.post("/console/api/send", json={"as": "11", "text": "/提醒状态"}, headers=headers)
    line = next(x for x in (await r.json())["reply"].splitlines() if x.strip().startswith("第1考场"))
    assert "✓启封试卷（王芳 08:03）" in line

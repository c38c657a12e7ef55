"""The console works whichever instance a browser reaches: its chats live in the database, not in memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import Settings
from tests.conftest import console_headers


async def test_message_sent_on_one_instance_shows_on_another(
    pg_url: str, aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """Two apps on one PostgreSQL: a line sent through A (and its reply) is read by polling B."""
    settings = make_settings(database_url=pg_url)
    a_app = create_app(settings, clock=clock, console=True, components=[])
    b_app = create_app(settings, clock=clock, console=True, components=[])
    a: TestClient = await aiohttp_client(a_app)
    b: TestClient = await aiohttp_client(b_app)
    await seed_demo(a_app[SERVICES].db, clock.now(), settings.tz)
    r = await a.post(
        "/console/api/send",
        json={"as": "1", "chat": "console:第1考场", "text": "/我"},
        headers=await console_headers(a),
    )
    assert r.status == 200
    msgs = (await (await b.get("/console/api/messages", params={"chats": "console:第1考场"})).json())["messages"]
    assert [m["direction"] for m in msgs] == ["in", "out"]
    assert msgs[0]["sender"] == "王芳" and "第1考场" in msgs[1]["text"]
    staff = (await (await b.get("/console/api/staff")).json())["staff"]
    assert any(p["name"] == "王芳" for p in staff)

"""The console channel over HTTP: page, API, health, metrics, and the loopback rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import ConfigError, Settings

ClientFactory = Callable[..., Any]


@pytest.fixture
async def client(aiohttp_client: ClientFactory, settings: Settings, clock: ManualClock) -> TestClient:
    """The app with the console on, seeded with the demo day."""
    app = create_app(settings, clock=clock, console=True, components=[])
    c: TestClient = await aiohttp_client(app)
    await seed_demo(app[SERVICES].db, clock.now(), settings.tz)
    return c


async def test_healthz_and_metrics(client: TestClient) -> None:
    """/healthz checks the database; /metrics exports counters in Prometheus format."""
    r = await client.get("/healthz")
    assert r.status == 200
    assert (await r.json())["status"] == "ok"
    await client.post("/console/api/send", json={"as": "1", "text": "/帮助"})
    r = await client.get("/metrics")
    text = await r.text()
    assert 'exambot_messages_in_total{channel="console",command="帮助"} 1.0' in text
    assert "exambot_handle_seconds_bucket" in text


async def test_healthz_reports_database_down(aiohttp_client: ClientFactory, make_settings: Any) -> None:
    """When the database cannot be reached /healthz answers 503."""
    settings = make_settings(database_url="postgresql://nobody@127.0.0.1:1/none")
    app = create_app(settings, console=False, components=[], migrate=False)
    c: TestClient = await aiohttp_client(app)
    r = await c.get("/healthz")
    assert r.status == 503


async def test_page_is_served(client: TestClient) -> None:
    """/console serves the chat page."""
    r = await client.get("/console")
    assert r.status == 200
    assert "考务助手" in await r.text()


async def test_send_and_poll_round_trip(client: TestClient) -> None:
    """A message sent as a demo invigilator gets its reply, and both appear in the chat's history."""
    r = await client.post("/console/api/send", json={"as": "1", "text": "/帮助"})
    assert r.status == 200
    reply = (await r.json())["reply"]
    assert "您可以使用以下命令" in reply
    r = await client.get("/console/api/messages", params={"chats": "dm:1", "after": "0"})
    msgs = (await r.json())["messages"]
    assert [(m["direction"], m["text"]) for m in msgs] == [("in", "/帮助"), ("out", reply)]
    assert msgs[0]["sender"] == "王芳"
    r = await client.get("/console/api/messages", params={"chats": "dm:1", "after": str(msgs[-1]["id"])})
    assert (await r.json())["messages"] == []


async def test_staff_list_shows_roles_and_groups(client: TestClient) -> None:
    """The picker lists every demo person with roles; an invigilator sees their room's group."""
    staff = (await (await client.get("/console/api/staff")).json())["staff"]
    by_name = {p["name"]: p for p in staff}
    assert by_name["王芳"]["roles"] == ["监考员"]
    assert [c["id"] for c in by_name["王芳"]["chats"]] == ["dm:1", "console:第1考场"]
    office_chats = {c["id"] for c in by_name["钱进"]["chats"]}
    assert {"console:第1考场", "console:第3考场", "console:第4考场"} <= office_chats


async def test_group_message_is_a_group_chat(client: TestClient) -> None:
    """A message sent in a room's group is dispatched as a group message and answered there."""
    r = await client.post("/console/api/send", json={"as": "1", "chat": "console:第1考场", "text": "/我"})
    assert "第1考场" in (await r.json())["reply"]
    msgs = (await (await client.get("/console/api/messages", params={"chats": "console:第1考场"})).json())["messages"]
    assert len(msgs) == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[1, 2]", 400),
        (b'{"as": "1"}', 400),
        (b'{"as": "1", "text": "' + b"x" * 3000 + b'"}', 413),
        (b'{"as": "1", "text": "' + b"x" * 70000 + b'"}', 413),
    ],
)
async def test_bad_requests_are_refused(client: TestClient, body: bytes, status: int) -> None:
    """Malformed or oversized bodies get a 4xx, never a 500."""
    r = await client.post("/console/api/send", data=body, headers={"Content-Type": "application/json"})
    assert r.status == status


async def test_bad_poll_parameter(client: TestClient) -> None:
    """A non-numeric cursor is a 400."""
    r = await client.get("/console/api/messages", params={"chats": "dm:1", "after": "x"})
    assert r.status == 400


def test_console_refuses_non_loopback(make_settings: Any) -> None:
    """The console lets anyone act as anyone, so it is refused on a public address."""
    with pytest.raises(ConfigError, match="EXAMBOT_CONSOLE"):
        create_app(make_settings(host="0.0.0.0", console=True))


async def test_console_off_by_default(aiohttp_client: ClientFactory, settings: Settings) -> None:
    """`serve` without EXAMBOT_CONSOLE has no console routes."""
    c: TestClient = await aiohttp_client(create_app(settings, components=[]))
    assert (await c.get("/console")).status == 404

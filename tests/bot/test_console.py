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
from tests.conftest import console_headers

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
    await client.post("/console/api/send", json={"as": "1", "text": "/帮助"}, headers=await console_headers(client))
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
    r = await client.post("/console/api/send", json={"as": "1", "text": "/帮助"}, headers=await console_headers(client))
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
    body = {"as": "1", "chat": "console:第1考场", "text": "/我"}
    r = await client.post("/console/api/send", json=body, headers=await console_headers(client))
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
    headers = {"Content-Type": "application/json", **await console_headers(client)}
    r = await client.post("/console/api/send", data=body, headers=headers)
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


async def _console_rows(client: TestClient) -> int:
    msgs = (await (await client.get("/console/api/messages", params={"chats": "dm:1"})).json())["messages"]
    return len(msgs)


@pytest.mark.parametrize(
    "extra",
    [
        {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},  # another local port is another site
    ],
)
async def test_cross_site_post_refused(client: TestClient, extra: dict[str, str]) -> None:
    """A POST another page made (by Origin or Sec-Fetch-Site) is refused in Chinese and nothing is said."""
    headers = {**await console_headers(client), **extra}
    r = await client.post("/console/api/send", json={"as": "1", "text": "/帮助"}, headers=headers)
    assert r.status == 403
    assert "其他网站" in await r.text()
    assert await _console_rows(client) == 0


async def test_same_origin_browser_post_accepted(client: TestClient) -> None:
    """The console page's own fetch (same Origin, Sec-Fetch-Site same-origin, its token) is answered."""
    origin = f"http://{client.host}:{client.port}"
    headers = {**await console_headers(client), "Origin": origin, "Sec-Fetch-Site": "same-origin"}
    r = await client.post("/console/api/send", json={"as": "1", "text": "/帮助"}, headers=headers)
    assert r.status == 200
    assert "您可以使用以下命令" in (await r.json())["reply"]


@pytest.mark.parametrize("token", [None, "", "x" * 43])
async def test_post_without_the_page_token_refused(client: TestClient, token: str | None) -> None:
    """A POST without the token of the page (missing, empty, or not the cookie's) is refused with 403."""
    await console_headers(client)  # the cookie is set; the header is what a forged request lacks
    headers = {} if token is None else {"X-Console-Token": token}
    r = await client.post("/console/api/send", json={"as": "1", "text": "/帮助"}, headers=headers)
    assert r.status == 403
    assert "令牌" in await r.text()
    assert await _console_rows(client) == 0


@pytest.mark.parametrize("path", ["/console", "/console/api/staff", "/console/api/messages?chats=dm:1"])
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "localhost.evil"])
async def test_rebound_host_refused(client: TestClient, path: str, host: str) -> None:
    """A Host header that is not a loopback name (DNS rebinding) is refused with 403 on every console route."""
    r = await client.get(path, headers={"Host": host})
    assert r.status == 403
    assert "localhost" in await r.text()


async def test_rebound_host_post_refused(client: TestClient) -> None:
    """A POST with the page's token but a non-loopback Host is refused and nothing is said."""
    headers = {**await console_headers(client), "Host": "evil.example"}
    r = await client.post("/console/api/send", json={"as": "1", "text": "/帮助"}, headers=headers)
    assert r.status == 403
    assert await _console_rows(client) == 0


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8080", "127.0.0.1:65535", "[::1]", "[::1]:8123"])
async def test_loopback_hosts_accepted(client: TestClient, host: str) -> None:
    """localhost, 127.0.0.1 and [::1], with any port, reach the console."""
    r = await client.get("/console", headers={"Host": host})
    assert r.status == 200


@pytest.mark.parametrize("sender", ["9" * 30, "2147483648", "x" * 100])
async def test_huge_sender_id_is_400(
    aiohttp_client: ClientFactory, make_settings: Any, clock: ManualClock, db_url: str, sender: str
) -> None:
    """A huge numeric (or over-long) sender id is a 400 in Chinese on SQLite and PostgreSQL, not a 500."""
    settings = make_settings(database_url=db_url)
    app = create_app(settings, clock=clock, console=True, components=[])
    c: TestClient = await aiohttp_client(app)
    await seed_demo(app[SERVICES].db, clock.now(), settings.tz)
    r = await c.post("/console/api/send", json={"as": sender, "text": "/帮助"}, headers=await console_headers(c))
    assert r.status == 400
    assert "发言人编号无效" in await r.text()

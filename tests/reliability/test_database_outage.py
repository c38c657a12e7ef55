"""Database unavailable: requests answer 503 (so platforms retry), nothing half-written, recovery by itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot.app import SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import Settings
from bot.store.tables import ConsoleMessage
from tests.reliability.tcp_proxy import TcpProxy


@pytest.fixture
async def proxy(pg_url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    """A cuttable proxy in front of a fresh PostgreSQL database, and the URL through it."""
    u = make_url(pg_url)
    p = TcpProxy(u.host or "127.0.0.1", u.port or 5432)
    await p.start()
    yield p, u.set(port=p.port).render_as_string(hide_password=False)
    await p.close()


async def test_outage_gives_503_then_recovers(
    proxy: tuple[TcpProxy, str],
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    clock: ManualClock,
) -> None:
    """While the database is cut, health and messages answer 503 and store nothing; afterwards all works again."""
    p, url = proxy
    settings = make_settings(database_url=url)
    app = create_app(settings, clock=clock, console=True, components=[])
    client: TestClient = await aiohttp_client(app)
    db = app[SERVICES].db
    await seed_demo(db, clock.now(), settings.tz)

    r = await client.post("/console/api/send", json={"as": "1", "text": "/我"})
    assert r.status == 200

    await p.cut()
    assert (await client.get("/healthz")).status == 503
    for _ in range(3):
        r = await client.post("/console/api/send", json={"as": "1", "text": "/帮助"})
        assert r.status == 503
        assert r.headers["Retry-After"] == "5"
        assert "暂时不可用" in (await r.json())["error"]

    await p.restore()
    assert (await client.get("/healthz")).status == 200
    r = await client.post("/console/api/send", json={"as": "1", "text": "/帮助"})
    assert r.status == 200
    assert "您可以使用以下命令" in (await r.json())["reply"]
    async with db.session() as s:
        rows = (await s.exec(select(ConsoleMessage).order_by(col(ConsoleMessage.id)))).all()
    # Before the cut: "/我" and its reply; during it: nothing; after: "/帮助" and its reply.
    assert [(m.direction, m.text[:3]) for m in rows] == [
        ("in", "/我"),
        ("out", "王芳（"),
        ("in", "/帮助"),
        ("out", "王芳，"),
    ]

"""Database unavailable: requests answer 503 (so platforms retry), nothing half-written, recovery by itself."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot.app import SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import Settings
from bot.store.tables import ConsoleMessage, Report
from tests.conftest import console_headers
from tests.reliability.tcp_proxy import TcpProxy

OUTAGE_SECONDS = float(os.environ.get("EXAMBOT_OUTAGE_SECONDS", "30"))
TOKEN, AES_KEY, CORP, DD_SECRET = "outage-token", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wwoutage1", "dd-s"
NOWHERE = "http://127.0.0.1:9"  # the platforms' APIs are not needed here


def _platform_settings(make_settings: Callable[..., Settings], url: str, *, dingtalk: bool = False) -> Settings:
    """WeCom (and DingTalk) switched on, on the database at ``url``."""
    extra = (
        dict(
            dingtalk_app_key="ddkey",
            dingtalk_app_secret=DD_SECRET,
            dingtalk_robot_code="ddrobot",
            dingtalk_api_base=NOWHERE,
            dingtalk_oapi_base=NOWHERE,
        )
        if dingtalk
        else {}
    )
    return make_settings(
        database_url=url,
        wecom_corp_id=CORP,
        wecom_agent_id="1000002",
        wecom_secret="s",
        wecom_token=TOKEN,
        wecom_aes_key=AES_KEY,
        wecom_api_base=NOWHERE,
        **extra,
    )


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
    """For 30 s of database outage health, the console and both platforms' callbacks answer 503 and store
    nothing; then all recovers by itself, and the platforms' redeliveries are stored once each."""
    import json

    from tests.fakes.dingtalk import callback_headers, robot_message
    from tests.fakes.wecom import WeComPlatform

    p, url = proxy
    settings = _platform_settings(make_settings, url, dingtalk=True)
    app = create_app(settings, clock=clock, console=True, components=[])
    client: TestClient = await aiohttp_client(app)
    db = app[SERVICES].db
    await seed_demo(db, clock.now(), settings.tz)
    wecom = WeComPlatform(TOKEN, AES_KEY, CORP, 1000002, now=lambda: clock.now().timestamp())
    now_ms = int(clock.now().timestamp() * 1000)

    async def wecom_report(n: int) -> int:
        query, body = wecom.post(wecom.message_xml("wangfang", f"/突发 1 停电 WO-{n}", msg_id=f"77{n:04d}"))
        async with client.post(f"/wecom/callback?{query}", data=body) as r:
            await r.read()
            return r.status

    async def dingtalk_report(n: int) -> int:
        body = robot_message(f"/突发 1 漏水 DO-{n}", staff_id="dd_liqiang", msg_id=f"ddmsg{n}", now_ms=now_ms)
        headers = callback_headers(DD_SECRET, int(clock.now().timestamp() * 1000))
        data = json.dumps(body, ensure_ascii=False).encode()
        async with client.post("/dingtalk/callback", data=data, headers=headers) as r:
            await r.read()
            return r.status

    page = await console_headers(client)  # the console page is opened before the outage
    r = await client.post("/console/api/send", json={"as": "1", "text": "/我"}, headers=page)
    assert r.status == 200

    await p.cut()
    # 30 s of outage (real time: the pool's broken connections must age out, not just be retried once)
    deadline = asyncio.get_running_loop().time() + OUTAGE_SECONDS
    probes = 0
    while asyncio.get_running_loop().time() < deadline:
        assert (await client.get("/healthz")).status == 503
        r = await client.post("/console/api/send", json={"as": "1", "text": "/帮助"}, headers=page)
        assert r.status == 503
        assert r.headers["Retry-After"] == "5"
        assert "暂时不可用" in (await r.json())["error"]
        assert await wecom_report(probes) == 503  # WeCom delivers it again later
        assert await dingtalk_report(probes) == 503  # so does DingTalk
        probes += 1
        await asyncio.sleep(3)
    assert probes >= 3

    await p.restore()
    assert (await client.get("/healthz")).status == 200
    r = await client.post("/console/api/send", json={"as": "1", "text": "/帮助"}, headers=page)
    assert r.status == 200
    assert "您可以使用以下命令" in (await r.json())["reply"]
    clock.advance(timedelta(seconds=5))  # the platforms redeliver what got a 503
    for n in range(probes):
        assert await wecom_report(n) == 200
        assert await dingtalk_report(n) == 200
        assert await wecom_report(n) == 200  # a further redelivery is a duplicate
    async with db.session() as s:
        rows = (await s.exec(select(ConsoleMessage).order_by(col(ConsoleMessage.id)))).all()
        reports = (await s.exec(select(Report).where(col(Report.kind) == "incident"))).all()
    # Before the cut: "/我" and its reply; during it: nothing; after: "/帮助" and its reply.
    assert [(m.direction, m.text[:3]) for m in rows] == [
        ("in", "/我"),
        ("out", "王芳（"),
        ("in", "/帮助"),
        ("out", "王芳，"),
    ]
    texts = sorted(str(r.payload["text"]) for r in reports)
    assert len(texts) == 2 * probes and len(set(texts)) == 2 * probes
    assert {t.split()[-1] for t in texts} == {f"WO-{n}" for n in range(probes)} | {f"DO-{n}" for n in range(probes)}


async def test_wecom_callback_during_outage_is_retried_not_lost(
    proxy: tuple[TcpProxy, str],
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    clock: ManualClock,
) -> None:
    """A WeCom report arriving while the database is cut gets 503; WeCom's redelivery after recovery stores it once."""
    from tests.fakes.wecom import WeComPlatform

    p, url = proxy
    settings = _platform_settings(make_settings, url)
    app = create_app(settings, clock=clock, components=[])
    client: TestClient = await aiohttp_client(app)
    db = app[SERVICES].db
    await seed_demo(db, clock.now(), settings.tz)
    platform = WeComPlatform(TOKEN, AES_KEY, CORP, 1000002, now=lambda: clock.now().timestamp())
    xml = platform.message_xml("wangfang", "/突发 1 停电，已启用应急照明", msg_id="880001")

    async def deliver() -> int:
        query, body = platform.post(xml)
        async with client.post(f"/wecom/callback?{query}", data=body) as r:
            await r.read()
            return r.status

    await p.cut()
    assert await deliver() == 503
    assert await deliver() == 503
    await p.restore()
    clock.advance(timedelta(seconds=5))  # WeCom redelivers after 5 s
    assert await deliver() == 200
    assert await deliver() == 200  # a further redelivery is a duplicate
    async with db.session() as s:
        rows = (await s.exec(select(Report).where(col(Report.kind) == "incident"))).all()
    assert len(rows) == 1 and "停电" in rows[0].payload["text"]

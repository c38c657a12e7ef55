"""Fixtures for the platform adapters: fake platform servers and apps wired to them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import ADAPTERS, SERVICES, create_app
from bot.clock import ManualClock
from bot.dispatch import CommandTable, Context
from bot.model import Reply, TextFormat
from bot.settings import Settings
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.wecom import FakeWeCom, WeComPlatform

WECOM_TOKEN = "123456"
WECOM_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
WECOM_AGENT_ID = 1000002


@dataclass
class Probe:
    """What the test handlers saw, and a gate that holds the slow command until the test opens it."""

    seen: list[Any] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)


def probe_table(probe: Probe) -> CommandTable:
    """Handlers for adapter tests: an echo fallback, a slow command, a markdown command, a mention command."""
    table = CommandTable()

    @table.command("慢", summary="等测试放行后回答", hidden=True)
    async def slow(ctx: Context, args: str) -> Reply:
        probe.seen.append(ctx.message)
        await probe.gate.wait()
        return Reply("久等了")

    @table.command("格式", summary="Markdown 回答", hidden=True)
    async def formatted(ctx: Context, args: str) -> Reply:
        probe.seen.append(ctx.message)
        return Reply("**加粗**", format=TextFormat.MARKDOWN)

    @table.fallback()
    async def echo(ctx: Context) -> Reply:
        probe.seen.append(ctx.message)
        return Reply(f"收到：{ctx.message.text}")

    return table


@pytest.fixture
def probe() -> Probe:
    """A fresh probe for the test handlers."""
    return Probe()


@pytest.fixture
async def fake_wecom() -> AsyncIterator[FakeWeCom]:
    """The fake WeCom API, listening."""
    async with FakeWeCom() as fake:
        yield fake


@pytest.fixture
async def fake_dingtalk(clock: ManualClock) -> AsyncIterator[FakeDingTalk]:
    """The fake DingTalk APIs, listening, on the test clock."""
    async with FakeDingTalk(now_ms=lambda: int(clock.now().timestamp() * 1000)) as fake:
        yield fake


@pytest.fixture
def wecom_settings(make_settings: Callable[..., Settings], fake_wecom: FakeWeCom) -> Settings:
    """Settings with a complete WeCom app pointing at the fake."""
    return make_settings(
        wecom_corp_id=fake_wecom.corp_id,
        wecom_agent_id=str(WECOM_AGENT_ID),
        wecom_secret=fake_wecom.secret,
        wecom_token=WECOM_TOKEN,
        wecom_aes_key=WECOM_AES_KEY,
        wecom_api_base=fake_wecom.url,
    )


@pytest.fixture
def dingtalk_settings(make_settings: Callable[..., Settings], fake_dingtalk: FakeDingTalk) -> Settings:
    """Settings with a complete DingTalk app pointing at the fake."""
    return make_settings(
        dingtalk_app_key=fake_dingtalk.app_key,
        dingtalk_app_secret=fake_dingtalk.app_secret,
        dingtalk_robot_code=fake_dingtalk.robot_code,
        dingtalk_api_base=fake_dingtalk.url,
        dingtalk_oapi_base=fake_dingtalk.url,
    )


@pytest.fixture
def wecom_platform(fake_wecom: FakeWeCom, clock: ManualClock) -> WeComPlatform:
    """WeCom's side of the callback, on the test clock."""
    return WeComPlatform(
        WECOM_TOKEN, WECOM_AES_KEY, fake_wecom.corp_id, WECOM_AGENT_ID, now=lambda: clock.now().timestamp()
    )


@pytest.fixture
async def app_client(clock: ManualClock, probe: Probe) -> AsyncIterator[Callable[..., Any]]:
    """Start ``create_app(settings)`` (help commands + probe handlers) under a test client."""
    from handlers import basic

    clients: list[TestClient[Any, Any]] = []

    async def make(settings: Settings, *, reply_wait: float | None = None) -> TestClient[Any, Any]:
        app = create_app(settings, clock=clock, tables=[basic.table, probe_table(probe)], components=[])
        if reply_wait is not None:
            for adapter in app[ADAPTERS].values():
                flow = getattr(adapter, "flow", None)
                if flow is not None:
                    flow.wait = reply_wait
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for c in clients:
        await c.close()


def adapter_of(client: TestClient[Any, Any], name: str) -> Any:
    """The running app's adapter for channel ``name``."""
    app: web.Application = client.server.app  # type: ignore[assignment]
    return app[ADAPTERS][name]


def services_of(client: TestClient[Any, Any]) -> Any:
    """The running app's services."""
    app: web.Application = client.server.app  # type: ignore[assignment]
    return app[SERVICES]


async def eventually(check: Callable[[], bool], *, attempts: int = 200) -> None:
    """Yield to the event loop until ``check()`` holds (bounded by attempts, not by wall time)."""
    for _ in range(attempts):
        if check():
            return
        await asyncio.sleep(0.01)
    assert check(), "condition never became true"

"""The aiohttp application: wiring of settings, storage, adapters, dispatcher and background parts."""

from __future__ import annotations

import gc
import ipaddress
import secrets
import socket
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import SecretStr

from bot.adapters.base import AdapterNotifier, text_limits
from bot.adapters.registry import build_adapters
from bot.board import Board
from bot.clock import Clock
from bot.delivery.config import OutboxConfig
from bot.delivery.notifier import OutboxNotifier
from bot.delivery.sender import Outbox
from bot.dispatch import CommandTable, Dispatcher
from bot.errors import ServiceUnavailable
from bot.files import FileDelivery, FileLinks, FileRoute
from bot.keys import ADAPTERS, DISPATCHER, SERVICES, SETTINGS
from bot.lifecycle import Component
from bot.lifecycle import components as default_components
from bot.metrics import Metrics
from bot.privacy import GroupMask
from bot.services import Services
from bot.settings import ConfigError, Settings
from bot.store.engine import Database, is_unavailable
from bot.store.migrate import upgrade
from handlers import command_tables
from scheduler.conditions import TimelineChecks
from scheduler.timeline import TimelineError, load_timeline

log = structlog.get_logger("exambot.app")

MAX_BODY = 64 * 1024  # callbacks are small; anything bigger is refused with 413

__all__ = ["ADAPTERS", "DISPATCHER", "SERVICES", "SETTINGS", "create_app", "freeze_after_startup", "is_loopback"]


def is_loopback(host: str) -> bool:
    """True when ``host`` only listens on this machine."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def freeze_after_startup(app: web.Application) -> None:
    """Once the app has started, move everything alive into the collector's permanent generation.

    What startup builds (models, compiled statements, the knowledge base, the command tables) lives
    as long as the process, yet every full collection would walk it again: under load those walks
    were the slowest requests. Measured with the callback benchmark at concurrency 200 (2026-12-03):
    throughput +15 to +30 %, p99 -15 to -50 %. Only for a process that runs one app until it exits
    (``exambot serve`` / ``demo``); tests build many apps in one process and do not freeze.
    """

    async def freeze(_app: web.Application) -> None:
        gc.collect()
        gc.freeze()

    app.on_startup.append(freeze)  # after cleanup_ctx's startup, which aiohttp registered first


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    tables: Iterable[CommandTable] | None = None,
    components: Sequence[Component] | None = None,
    console: bool | None = None,
    migrate: bool = True,
) -> web.Application:
    """Build the app; nothing touches the network or the database until it starts."""
    console = settings.console if console is None else console
    if console and not is_loopback(settings.host):
        raise ConfigError(
            f"EXAMBOT_CONSOLE=1 只能在回环地址上使用（当前 EXAMBOT_HOST={settings.host}）："
            "控制台允许以任何人的身份发言，不能暴露在网络上。"
        )
    try:
        timeline = load_timeline(settings.timeline_file)
    except TimelineError as exc:
        raise ConfigError(f"提醒时间线文件有错误：{exc}") from exc
    if console and not settings.board_token.get_secret_value():
        # The local console signs board links (/看板) with a secret of this process only: links die with it.
        settings = settings.model_copy(update={"board_token": SecretStr(secrets.token_urlsafe(32))})
    clock = clock or settings.make_clock()
    db = Database(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
    metrics = Metrics()
    adapters = build_adapters(settings, db, clock, console=console)

    # Handlers' ctx.notify(...) goes through the outbox; AdapterNotifier is what finally delivers. The sender
    # learns each platform's message size from its adapter and what a row waits for from the scheduler.
    delivery = AdapterNotifier(adapters, metrics)
    links = FileLinks.from_settings(settings, clock)  # a file message gets its bytes and a signed link last
    config = OutboxConfig(text_bytes=text_limits(adapters))
    deliver = FileDelivery(delivery.deliver, db, links).deliver
    outbox = Outbox(db, clock, deliver, channels=tuple(adapters), tz=settings.tz, config=config,
                    checks=TimelineChecks(settings.tz, timeline))  # fmt: skip
    notifier = OutboxNotifier(outbox)
    group_mask = GroupMask(db, clock, settings.tz)
    outbox.redact_groups = group_mask.mask  # reminders and alerts to groups pass the same masking step
    services = Services(settings=settings, db=db, clock=clock, metrics=metrics, notifier=notifier, timeline=timeline,
                        group_mask=group_mask)  # fmt: skip
    dispatcher = Dispatcher(services, command_tables() if tables is None else tables)
    for adapter in adapters.values():
        adapter.bind(dispatcher)

    app = web.Application(client_max_size=MAX_BODY, middlewares=[_error_middleware])
    app[SETTINGS] = settings
    app[SERVICES] = services
    app[DISPATCHER] = dispatcher
    app[ADAPTERS] = adapters
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/", _index)
    for adapter in adapters.values():
        adapter.add_routes(app)
    FileRoute(db, links).add_routes(app)
    board_secret = settings.board_token.get_secret_value()
    if console or board_secret:
        Board(db, settings, clock, secret=board_secret, timeline=services.timeline, console=console).add_routes(app)

    async def core(app: web.Application) -> AsyncIterator[None]:
        if migrate:
            await upgrade(db)
        for adapter in adapters.values():
            await adapter.start()
        log.info("started", channels=sorted(adapters), database=db.async_url.split(":", 1)[0])
        yield
        await notifier.close()
        for adapter in adapters.values():
            await adapter.close()
        await db.dispose()
        log.info("stopped")

    app.cleanup_ctx.append(core)
    for component in default_components() if components is None else components:
        app.cleanup_ctx.append(component)
    return app


@web.middleware
async def _error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """503 (with Retry-After) while the database is down; a logged, detail-free 500 for anything unexpected."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        if isinstance(exc, ServiceUnavailable) or is_unavailable(exc):
            return web.json_response({"error": "服务暂时不可用，请稍后重试"}, status=503, headers={"Retry-After": "5"})
        log.exception("request_failed", path=request.path)
        request.app[SERVICES].metrics.errors.labels("http", "internal").inc()
        return web.json_response({"error": "内部错误"}, status=500)


async def _healthz(request: web.Request) -> web.Response:
    ok = await request.app[SERVICES].db.ping()
    return web.json_response({"status": "ok" if ok else "database unavailable"}, status=200 if ok else 503)


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[SERVICES].metrics.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def _index(request: web.Request) -> web.Response:
    links: list[Any] = ["/healthz", "/metrics"]
    if "console" in request.app[ADAPTERS]:
        raise web.HTTPFound("/console")
    return web.Response(text="exambot 考务助手\n" + "\n".join(links) + "\n")

"""freeze_after_startup (bot/app.py): what startup built is frozen out of the collector's walks, after startup."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import freeze_after_startup


async def test_freezes_after_the_components_started() -> None:
    built: list[object] = []

    async def component(_app: web.Application) -> AsyncIterator[None]:
        built.append({"startup": [object()]})  # a container made during startup, as the knowledge base is
        yield

    app = web.Application()
    app.cleanup_ctx.append(component)
    freeze_after_startup(app)
    assert gc.get_freeze_count() == 0
    server = TestServer(app)
    try:
        await server.start_server()
        assert built, "the component ran"
        assert gc.get_freeze_count() > 0
        assert gc.is_tracked(built[0])
        assert all(o is not built[0] for o in gc.get_objects())  # frozen: in no generation the collector walks
    finally:
        await server.close()
        gc.unfreeze()  # the rest of the test session collects as usual

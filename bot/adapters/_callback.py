"""Shared callback plumbing: answer in the HTTP response when the handler is quick, else later.

Both platforms drop a callback whose answer takes too long (WeCom: 5 s, then it retries; DingTalk:
about 3 s). The dispatcher runs in a task of its own; if it finishes within ``wait`` seconds its
reply goes into the response, otherwise the response is empty and ``late`` delivers the reply
when it is ready (through the outbox or the session webhook).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

import structlog

from bot.errors import ServiceUnavailable
from bot.model import Reply

log = structlog.get_logger("exambot.adapters")

LATE: Final = object()  # marker: the reply was not ready in time


class ReplyWaiter:
    """Runs dispatches, waits a bounded time for each, and keeps the late ones alive until close."""

    def __init__(self, channel: str, wait: float) -> None:
        self.channel = channel
        self.wait = wait
        self._tasks: set[asyncio.Task[None] | asyncio.Task[Reply | None]] = set()

    def _keep(self, task: asyncio.Task[None] | asyncio.Task[Reply | None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(
        self,
        handle: Awaitable[Reply | None],
        late: Callable[[Reply], Awaitable[None]],
    ) -> Reply | object | None:
        """The reply when ready within ``wait`` (None: no reply), else :data:`LATE` after arranging ``late``."""
        task: asyncio.Task[Reply | None] = asyncio.ensure_future(handle)
        self._keep(task)
        try:
            done, _ = await asyncio.wait({task}, timeout=self.wait)
        except asyncio.CancelledError:
            self._keep(asyncio.ensure_future(self._deliver_late(task, late)))
            raise
        if task in done:
            try:
                return task.result()
            except ServiceUnavailable:
                raise  # answered 503 by the app, so the platform delivers the message again
            except Exception as exc:  # the dispatcher renders handler errors; this is a bug
                log.error("dispatch_failed", channel=self.channel, error=type(exc).__name__)
                return None
        self._keep(asyncio.ensure_future(self._deliver_late(task, late)))
        return LATE

    async def _deliver_late(self, task: asyncio.Task[Reply | None], late: Callable[[Reply], Awaitable[None]]) -> None:
        try:
            reply = await task
            if reply is not None:
                await late(reply)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("late_reply_failed", channel=self.channel, error=type(exc).__name__)

    def late_soon(self, reply: Reply, late: Callable[[Reply], Awaitable[None]]) -> None:
        """Deliver ``reply`` through ``late`` in the background (the response cannot carry it)."""

        async def ready() -> Reply | None:
            return reply

        self._keep(asyncio.ensure_future(self._deliver_late(asyncio.ensure_future(ready()), late)))

    def spawn(self, work: Awaitable[None]) -> None:
        """Run ``work`` in the background, kept alive (and awaited or cancelled by :meth:`drain`)."""
        self._keep(asyncio.ensure_future(work))

    async def drain(self, grace: float = 5.0) -> None:
        """Let pending work finish for up to ``grace`` seconds, then cancel the rest."""
        if not self._tasks:
            return
        pending = set(self._tasks)
        _, still = await asyncio.wait(pending, timeout=grace)
        for task in still:
            task.cancel()
        if still:
            await asyncio.gather(*still, return_exceptions=True)

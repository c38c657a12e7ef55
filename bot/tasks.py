"""Background tasks, kept and ended in one way: every part that runs work in the background owns a :class:`Tasks`.

The event loop keeps only weak references to tasks, so a task nobody holds may vanish mid-run; and a part
that stops must know what it still has running. ``spawn`` keeps the task until it is done (logging an
exception nobody awaited); ``drain`` lets what runs finish for a grace period and cancels the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import structlog

log = structlog.get_logger("exambot.tasks")

T = TypeVar("T")


class Tasks:
    """The background tasks of one part of the service."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Run ``coro`` as a task kept until it is done."""
        task = asyncio.get_running_loop().create_task(coro, name=name or f"{self.owner}-task")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("background_task_failed", owner=self.owner, task=task.get_name(), error=repr(exc))

    def __len__(self) -> int:
        return len(self._tasks)

    async def wait(self) -> None:
        """Wait until every task spawned so far (and those they spawn meanwhile) is done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def drain(self, grace: float = 5.0) -> None:
        """Let running tasks finish for up to ``grace`` seconds, then cancel the rest and wait for them."""
        if not self._tasks:
            return
        _, still = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in still:
            task.cancel()
        if still:
            await asyncio.gather(*still, return_exceptions=True)

"""Run an in-process fake platform on a thread of its own, so blocking test code cannot stall it."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class OnThread(Generic[T]):
    """Start ``fake`` (an object with async start()/close()) on a private event loop thread."""

    def __init__(self, fake: T) -> None:
        self.fake = fake
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> T:
        self._thread.start()
        self.call(self.fake.start())  # type: ignore[attr-defined]
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self.call(self.fake.close())  # type: ignore[attr-defined]
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def call(self, coro: Any) -> Any:
        """Run a coroutine on the fake's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

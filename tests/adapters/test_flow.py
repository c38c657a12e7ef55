"""InboundFlow on its own: what each callback outcome is, and what its background work reports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.adapters._flow import InboundFlow, Outcome
from bot.adapters.base import Adapter
from bot.clock import ManualClock
from bot.errors import ServiceUnavailable
from bot.model import IncomingMessage, OutgoingMessage, Reply
from bot.store.engine import Database
from bot.store.migrate import upgrade

T0 = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


class FakeDispatcher:
    """Answers each text with a reply, after the gate opens; "503" raises ServiceUnavailable."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.seen: list[tuple[str, bool]] = []

    async def dispatch(self, msg: IncomingMessage, *, defer_notices: bool = False) -> Reply | None:
        self.seen.append((msg.message_id, defer_notices))
        await self.gate.wait()
        if msg.text == "503":
            raise ServiceUnavailable("database down")
        return Reply(f"收到：{msg.text}")


class FakeAdapter(Adapter):
    name = "wecom"

    async def send(self, message: OutgoingMessage) -> str | None:
        return None


@pytest.fixture
async def flow(tmp_path: Path) -> AsyncIterator[tuple[InboundFlow, FakeDispatcher]]:
    db = Database(f"sqlite:///{tmp_path / 'flow.db'}")
    await upgrade(db)
    adapter = FakeAdapter()
    dispatcher = FakeDispatcher()
    adapter.bind(dispatcher)  # type: ignore[arg-type]
    f = InboundFlow(adapter, db, ManualClock(T0), wait=0.5)
    try:
        yield f, dispatcher
    finally:
        await f.close()
        await db.dispose()


def _msg(key: str, text: str) -> IncomingMessage:
    return IncomingMessage(channel="wecom", sender_id="u1", text=text, message_id=key, received_at=T0)


async def test_reply_in_time_then_repeat(flow: tuple[InboundFlow, FakeDispatcher]) -> None:
    """The first delivery is dispatched (notices deferred) and answered; a repeat is a duplicate."""
    f, dispatcher = flow
    late: list[Reply] = []

    async def deliver(msg: IncomingMessage, reply: Reply) -> None:
        late.append(reply)

    assert await f.receive("k1", _msg("k1", "你好"), {"k": 1}, deliver) == Reply("收到：你好")
    assert dispatcher.seen == [("k1", True)]
    with capture_logs() as logs:
        assert await f.receive("k1", _msg("k1", "你好"), {"k": 1}, deliver) is Outcome.DUPLICATE
    assert [e["event"] for e in logs] == ["duplicate_callback"]
    assert late == [] and dispatcher.seen == [("k1", True)]


async def test_unsupported_is_claimed_and_not_dispatched(flow: tuple[InboundFlow, FakeDispatcher]) -> None:
    """No message to handle: answered with a hint, never dispatched, and a repeat stays a duplicate."""
    f, dispatcher = flow

    async def deliver(msg: IncomingMessage, reply: Reply) -> None:
        raise AssertionError("nothing to deliver")

    assert await f.receive("k2", None, {"k": 2}, deliver) is Outcome.UNSUPPORTED
    assert await f.receive("k2", None, {"k": 2}, deliver) is Outcome.DUPLICATE
    assert dispatcher.seen == []


async def test_slow_reply_goes_late(flow: tuple[InboundFlow, FakeDispatcher]) -> None:
    """A reply not ready within the wait is LATE, then delivered through ``late``."""
    f, dispatcher = flow
    f.wait = 0.01
    dispatcher.gate.clear()
    delivered: list[tuple[str, Reply]] = []

    async def deliver(msg: IncomingMessage, reply: Reply) -> None:
        delivered.append((msg.message_id, reply))

    assert await f.receive("k3", _msg("k3", "慢"), {"k": 3}, deliver) is Outcome.LATE
    dispatcher.gate.set()
    await f.tasks.wait()
    assert delivered == [("k3", Reply("收到：慢"))]


async def test_unavailable_dispatch_raises_and_is_not_reported_twice(flow: tuple[InboundFlow, FakeDispatcher]) -> None:
    """ServiceUnavailable within the wait reaches the app (503); no background-task failure is logged for it."""
    f, _ = flow

    async def deliver(msg: IncomingMessage, reply: Reply) -> None:
        raise AssertionError("nothing to deliver")

    with capture_logs() as logs:
        with pytest.raises(ServiceUnavailable):
            await f.receive("k4", _msg("k4", "503"), {"k": 4}, deliver)
        await f.tasks.wait()
    assert [e["event"] for e in logs] == []


async def test_claim_that_cannot_be_written_is_unavailable(flow: tuple[InboundFlow, FakeDispatcher]) -> None:
    """The ledger failing: UNAVAILABLE (the adapter answers 503), logged as dedupe_unavailable."""
    f, dispatcher = flow

    async def broken(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("database down")

    f.ledger.first = broken  # type: ignore[method-assign]

    async def deliver(msg: IncomingMessage, reply: Reply) -> None:
        raise AssertionError("nothing to deliver")

    with capture_logs() as logs:
        assert await f.receive("k5", _msg("k5", "你好"), {"k": 5}, deliver) is Outcome.UNAVAILABLE
    assert [(e["event"], e["error"]) for e in logs] == [("dedupe_unavailable", "ConnectionError")]
    assert dispatcher.seen == []

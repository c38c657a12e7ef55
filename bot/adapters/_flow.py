"""The inbound flow every callback adapter shares: claim, dispatch, mark, wait, late reply, replay.

Both platforms drop a callback whose answer takes too long (WeCom: 5 s, then it retries; DingTalk:
about 3 s) and both re-send a message they got no answer to. So each message is first claimed in
the :class:`~bot.adapters.inbound.InboundLedger` (a repeat is skipped; a claim that cannot be
written is answered 503 so the platform sends the message again). The dispatcher then runs in a
task of its own; if it finishes within ``wait`` seconds its reply goes into the response,
otherwise the response is empty and the adapter's ``late`` callable delivers the reply when it is
ready (through the outbox or the session webhook). A claim whose handling never finished is
handed back by the recovery loop and goes through :meth:`InboundFlow.replay`.

The adapters keep what is platform-specific: checking and decoding the request, building the
:class:`~bot.model.IncomingMessage` and the stored payload, shaping the response, and how a late
reply travels. Handlers only ever see the neutral message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

from bot.adapters._text import drop_nul
from bot.adapters.inbound import InboundLedger
from bot.clock import Clock
from bot.errors import ServiceUnavailable
from bot.model import IncomingMessage, Reply
from bot.store.engine import Database
from bot.tasks import Tasks

if TYPE_CHECKING:
    from bot.adapters.base import Adapter

log = structlog.get_logger("exambot.adapters")

# Delivers a reply that missed the HTTP response (outbox, session webhook...).
Late = Callable[[IncomingMessage, Reply], Awaitable[None]]


class Outcome(Enum):
    """What became of a callback when it is not a reply ready for the response."""

    UNAVAILABLE = "unavailable"  # the claim could not be written: answer 503, the platform re-sends
    DUPLICATE = "duplicate"  # a repeat of a claimed message: answer empty
    UNSUPPORTED = "unsupported"  # first delivery of a message we cannot handle: answer with a hint
    LATE = "late"  # the reply was not ready in time: answer empty, ``late`` delivers it


def service_unavailable() -> web.Response:
    """The answer to a callback whose claim could not be written (the platform delivers it again)."""
    return web.Response(status=503, text="")


@dataclass(frozen=True)
class _Settled:
    """How a dispatch ended; kept as a value so the task never fails on its own (see :func:`_settle`)."""

    reply: Reply | None = None
    error: Exception | None = None

    def unwrap(self) -> Reply | None:
        if self.error is not None:
            raise self.error
        return self.reply


async def _settle(work: Awaitable[Reply | None]) -> _Settled:
    # Whoever awaits the dispatch reports its failure (503, dispatch_failed, late_reply_failed);
    # a task failing by itself would be reported once more by Tasks as a failed background task.
    try:
        return _Settled(await work)
    except Exception as exc:
        return _Settled(error=exc)


async def _ready(reply: Reply) -> _Settled:
    return _Settled(reply)


class InboundFlow:
    """One channel's inbound messages from claim to reply, and the background work they leave."""

    def __init__(self, adapter: Adapter, db: Database, clock: Clock, *, wait: float) -> None:
        self.adapter = adapter
        self.channel = adapter.name
        self.clock = clock
        self.wait = wait  # seconds a reply may take and still go into the HTTP response
        self.ledger = InboundLedger(db, self.channel)
        self.tasks = Tasks(f"{self.channel}-inbound")
        self.log = structlog.get_logger(f"exambot.{self.channel}")  # the adapter's own logger

    async def close(self, grace: float = 5.0) -> None:
        """Let late replies finish for up to ``grace`` seconds, then write the last handled-marks."""
        await self.tasks.drain(grace)
        await self.ledger.close()

    # -- claim -------------------------------------------------------------------------------

    async def claim(self, key: str, payload: dict[str, Any] | None) -> bool:
        """Claim ``key``; True for the first delivery. Raises when the claim cannot be written.

        ``payload`` (JSON) is what the adapter needs to handle the message again after a crash;
        None means the message is answered right away (a hint) and has nothing to replay, so its
        claim is marked handled at once.
        """
        now = self.clock.now()
        first = await self.ledger.first(key, now, payload)
        if not first:
            self.log.info("duplicate_callback", channel=self.channel)
        elif payload is None:
            self.ledger.handled(key, now)
        return first

    async def receive(
        self, key: str, msg: IncomingMessage | None, payload: dict[str, Any], late: Late
    ) -> Reply | Outcome | None:
        """Claim and handle one callback: the reply for the response, None (no reply) or an :class:`Outcome`.

        ``msg`` None is a message we cannot handle (not text): claimed without a payload and
        answered :attr:`Outcome.UNSUPPORTED`.
        """
        try:  # PostgreSQL text holds no NUL: the stored payload drops it (the message already has)
            first = await self.claim(key, drop_nul(payload) if msg is not None else None)
        except Exception as exc:
            self.log.error("dedupe_unavailable", channel=self.channel, error=type(exc).__name__)
            return Outcome.UNAVAILABLE
        if not first:
            return Outcome.DUPLICATE
        if msg is None:
            return Outcome.UNSUPPORTED
        return await self.answer(msg, late)

    # -- dispatch ----------------------------------------------------------------------------

    async def handle(self, msg: IncomingMessage) -> Reply | None:
        """Dispatch ``msg`` and mark its claim handled."""
        # alerts are persisted now, sent after the answer
        reply = await self.adapter.dispatcher.dispatch(msg, defer_notices=True)
        self.ledger.handled(msg.message_id, self.clock.now())
        return reply

    async def answer(self, msg: IncomingMessage, late: Late, *, wait: float | None = None) -> Reply | Outcome | None:
        """The reply when ready within ``wait`` (default: the flow's) (None: no reply), else :attr:`Outcome.LATE`
        after arranging ``late``."""
        task = self.tasks.spawn(_settle(self.handle(msg)), name=f"{self.channel}-dispatch")
        try:
            done, _ = await asyncio.wait({task}, timeout=self.wait if wait is None else wait)
        except asyncio.CancelledError:
            self._spawn_late(msg, task, late)
            raise
        if task not in done:
            self._spawn_late(msg, task, late)
            return Outcome.LATE
        try:
            return task.result().unwrap()
        except ServiceUnavailable:
            raise  # answered 503 by the app, so the platform delivers the message again
        except Exception as exc:  # the dispatcher renders handler errors; this is a bug
            log.error("dispatch_failed", channel=self.channel, error=type(exc).__name__)
            return None

    async def handle_and_deliver(self, msg: IncomingMessage, late: Late) -> None:
        """Handle ``msg`` with no response to answer in: its reply goes through ``late``."""
        reply = await self.handle(msg)
        if reply is not None:
            await late(msg, reply)

    async def replay(self, key: str, msg: IncomingMessage | None, late: Late) -> None:
        """Handle a claimed message again whose first handling never finished (None: nothing to handle)."""
        if msg is None:
            self.ledger.handled(key, self.clock.now())
            return
        await self.handle_and_deliver(msg, late)

    # -- late replies ------------------------------------------------------------------------

    def late_soon(self, msg: IncomingMessage, reply: Reply, late: Late) -> None:
        """Deliver ``reply`` through ``late`` in the background (the response cannot carry it)."""
        self.tasks.spawn(self._deliver_late(msg, _ready(reply), late), name=f"{self.channel}-late-reply")

    def _spawn_late(self, msg: IncomingMessage, task: Awaitable[_Settled], late: Late) -> None:
        self.tasks.spawn(self._deliver_late(msg, task, late), name=f"{self.channel}-late-reply")

    async def _deliver_late(self, msg: IncomingMessage, settled: Awaitable[_Settled], late: Late) -> None:
        try:
            reply = (await settled).unwrap()
            if reply is not None:
                await late(msg, reply)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("late_reply_failed", channel=self.channel, error=type(exc).__name__)

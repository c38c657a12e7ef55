"""Replaying platform messages whose handling never finished.

A platform that got its 200 does not deliver a message again. When the handler was slower than
the reply wait (the response went out empty, the reply was to follow) and the process died, or
the database went away mid-handler, the claim in ``inbound_message`` stays unhandled. This loop
finds such claims (:func:`~bot.adapters.inbound.take_stale`) and hands each to its adapter's
``replay``: the dispatcher runs again (the report handlers are idempotent by message id, so
a report that was written before the crash is not written twice) and the reply goes out through
the outbox. Any instance may do it; the take is atomic, so each claim is replayed once per round.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import structlog
from aiohttp import web

from bot.adapters.base import Adapter
from bot.adapters.inbound import take_stale
from bot.clock import Clock
from bot.store.engine import Database
from bot.tasks import Tasks

log = structlog.get_logger("exambot.recovery")

EVERY = 10.0  # seconds between sweeps


@dataclass
class RecoveryStats:
    """What one sweep did."""

    replayed: int = 0
    failed: int = 0
    abandoned: int = 0


class InboundRecovery:
    """Finds unhandled claims and replays them through their adapters."""

    def __init__(self, db: Database, clock: Clock, adapters: Mapping[str, Adapter]) -> None:
        self.db = db
        self.clock = clock
        self.adapters = adapters

    async def run_once(self) -> RecoveryStats:
        """One sweep: take the stale claims and replay each (failures stay for the next sweep)."""
        stats = RecoveryStats()
        claims, stats.abandoned = await take_stale(self.db, self.clock.now())
        if stats.abandoned:
            log.error("inbound_abandoned", count=stats.abandoned)
        for claim in claims:
            adapter = self.adapters.get(claim.channel)
            if adapter is None:
                log.warning("inbound_replay_skipped", channel=claim.channel, reason="channel off")
                continue
            try:
                await adapter.replay(claim.payload)
            except Exception as exc:  # left unhandled: taken again after STALE_AFTER
                stats.failed += 1
                log.warning("inbound_replay_failed", channel=claim.channel, error=type(exc).__name__)
            else:
                stats.replayed += 1
                log.info("inbound_replayed", channel=claim.channel)
        return stats

    async def run_forever(self, every: float = EVERY) -> None:
        """Sweep every ``every`` seconds until cancelled; a failing sweep (database down) is retried."""
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("inbound_recovery_failed", error=type(exc).__name__)
            await asyncio.sleep(every)


async def recovery_component(app: web.Application) -> AsyncIterator[None]:
    """Run the recovery loop while the app runs (only channels that keep replayable claims)."""
    from bot.app import ADAPTERS, SERVICES

    adapters = {name: a for name, a in app[ADAPTERS].items() if name != "console"}
    if not adapters:
        yield
        return
    services = app[SERVICES]
    tasks = Tasks("inbound-recovery")
    task = tasks.spawn(InboundRecovery(services.db, services.clock, adapters).run_forever(), name="inbound-recovery")
    try:
        yield
    finally:
        task.cancel()  # the loop only ends when cancelled; a sweep cut short is taken again later
        await tasks.wait()

"""Fixtures for the reminder tests: a recording platform, a demo day on a database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from sched_helpers import SHANGHAI, Day, Ledger, shift_sessions

from bot.clock import ManualClock
from bot.delivery.sender import Outbox
from bot.demo import seed_demo
from bot.store.engine import Database
from bot.store.migrate import upgrade
from scheduler.conditions import TimelineChecks


@pytest.fixture
def ledger(clock: ManualClock) -> Ledger:
    """A recording fake platform on the test clock."""
    return Ledger(clock)


@pytest.fixture
async def make_day(clock: ManualClock, ledger: Ledger) -> AsyncIterator[Callable[..., Any]]:
    """Build a demo day (planned at the clock's time) on ``url``."""
    dbs: list[Database] = []

    async def make(url: str, seed: bool = True) -> Day:
        db = Database(url)
        dbs.append(db)
        await upgrade(db)
        if seed:
            await seed_demo(db, clock.now(), SHANGHAI)
        return Day(
            db, clock, ledger, Outbox(db, clock, ledger.deliver, channels=("console",), checks=TimelineChecks(SHANGHAI))
        )

    yield make
    for db in dbs:
        await db.dispose()


@pytest.fixture
async def day(make_day: Callable[..., Any], tmp_path: Any) -> Day:
    """A demo day on SQLite starting at the test clock (first session at 08:08 Shanghai)."""
    return await make_day(f"sqlite:///{tmp_path / 'day.db'}")


@pytest.fixture
async def full_day(day: Day) -> Day:
    """The demo day moved one hour later, so every step of every session lies ahead (first start 09:08)."""
    await shift_sessions(day.db, day.clock.now(), timedelta(hours=1))
    return day

"""What the sender is given: its tunables, and the checks that decide whether a row is still wanted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection


class Checks(Protocol):
    """What the sender asks about a row's ``condition`` just before sending it."""

    async def holds(self, conn: AsyncConnection, condition: dict[str, Any]) -> bool:
        """True when what the row asks for has happened, so it is cancelled instead of sent."""
        ...

    async def render(self, conn: AsyncConnection, row: dict[str, Any]) -> str | None:
        """The row's text written now from the database (a digest), or None to send the stored text."""
        ...


class NoChecks:
    """No conditions ever hold; texts are sent as stored."""

    async def holds(self, conn: AsyncConnection, condition: dict[str, Any]) -> bool:
        """Never."""
        return False

    async def render(self, conn: AsyncConnection, row: dict[str, Any]) -> str | None:
        """The stored text."""
        return None


@dataclass
class OutboxConfig:
    """Tunables of the sender."""

    batch_size: int = 200
    lease: timedelta = timedelta(minutes=2)
    # Retries go by time, not by count: until the row's expires_at, or retry_for after its first failure.
    retry_for: timedelta = timedelta(minutes=30)
    max_attempts: int | None = None  # an optional hard cap on tries as well
    backoff_base: timedelta = timedelta(seconds=5)
    backoff_cap: timedelta = timedelta(seconds=60)
    rate_limit: int = 20  # platform messages per target per window (group robots: 20 a minute)
    rate_window: timedelta = timedelta(minutes=1)
    concurrency: int = 8
    late_mark: timedelta = timedelta(seconds=60)  # later than this → marked 补发 with the original time
    # Bytes per platform message by channel: create_app fills it from each adapter's capabilities.
    text_bytes: dict[str, int] = field(default_factory=dict)
    default_text_bytes: int = 2048

"""What a sender pass did, and what it delivered."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Delivered:
    """Rows the platform accepted as one message, to be marked sent."""

    rows: list[dict]
    sent_at: datetime
    pid: str | None

    def lateness(self) -> list[float]:
        """Seconds each row went out after its due time."""
        return [max(0.0, (self.sent_at - r["due_at"]).total_seconds()) for r in self.rows]


COUNTS = ("claimed", "sent", "expired", "cancelled", "deferred", "retried", "failed")


@dataclass
class RunStats:
    """What one pass did (for tests, logs and the benchmark)."""

    claimed: int = 0
    sent: int = 0
    expired: int = 0
    cancelled: int = 0
    deferred: int = 0
    retried: int = 0
    failed: int = 0
    lateness: list[float] = field(default_factory=list)  # seconds between due time and sending, per sent row
    expired_rows: list[dict] = field(default_factory=list)  # reminders that expired (reported to the office)
    failed_rows: list[dict] = field(default_factory=list)  # rows that failed for good (reported to the office)

    def add(self, other: RunStats, *, rows: bool = False) -> None:
        """Add ``other``'s counts and lateness (and with ``rows`` its expired and failed rows)."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.lateness += other.lateness
        if rows:
            self.expired_rows += other.expired_rows
            self.failed_rows += other.failed_rows

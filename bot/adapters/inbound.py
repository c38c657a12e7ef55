"""Callbacks already handled, by channel and platform message id, so retried deliveries run once.

WeCom re-sends a callback it got no answer to within 5 s (three times), DingTalk re-sends too;
the unique row makes the first delivery win on every instance sharing the database.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Column, UniqueConstraint, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel, col

from bot.store.engine import Database
from bot.store.types import UTCDateTime

MAX_ID = 128


class InboundMessage(SQLModel, table=True):
    """One platform callback that was accepted for handling."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("channel", "message_id", name="uq_inbound_message_channel_message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    message_id: str = Field(max_length=MAX_ID)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


def _key(message_id: str) -> str:
    if len(message_id) <= MAX_ID:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()


async def claim(db: Database, channel: str, message_id: str, now: datetime) -> bool:
    """Record the delivery; True the first time (handle it), False for a repeat (skip it)."""
    values = {"channel": channel, "message_id": _key(message_id), "received_at": now}
    table = InboundMessage.__table__  # type: ignore[attr-defined]
    stmt = (sqlite_insert if db.is_sqlite else pg_insert)(table).values(**values).on_conflict_do_nothing()
    async with db.session() as s:
        result = await s.exec(stmt)  # type: ignore[call-overload]
        return bool(result.rowcount)


async def prune(db: Database, before: datetime) -> int:
    """Forget deliveries received before ``before``; returns how many rows went."""
    async with db.session() as s:
        result = await s.exec(  # type: ignore[call-overload]
            delete(InboundMessage).where(col(InboundMessage.received_at) < before)
        )
        return int(result.rowcount or 0)


class InboundLedger:
    """Dedupe for one channel: :meth:`first` claims a message id and forgets old ones now and then."""

    def __init__(
        self,
        db: Database,
        channel: str,
        *,
        retention: timedelta = timedelta(days=2),
        prune_every: timedelta = timedelta(hours=1),
    ) -> None:
        self.db = db
        self.channel = channel
        self.retention = retention
        self.prune_every = prune_every
        self._last_prune: datetime | None = None

    async def first(self, message_id: str, now: datetime) -> bool:
        """True when this is the first delivery of ``message_id`` on this channel."""
        if self._last_prune is None or now - self._last_prune >= self.prune_every:
            self._last_prune = now
            await prune(self.db, now - self.retention)
        return await claim(self.db, self.channel, message_id, now)

"""Callbacks already handled, by channel and platform message id, so retried deliveries run once.

WeCom re-sends a callback it got no answer to within 5 s (three times), DingTalk re-sends too;
the unique row makes the first delivery win on every instance sharing the database.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Column, UniqueConstraint, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel, col

from bot.store.engine import Database
from bot.store.types import UTCDateTime

MAX_ID = 128
MAX_BATCH = 200


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
    return (await claim_many(db, [(channel, message_id, now)]))[0]


async def claim_many(db: Database, items: Sequence[tuple[str, str, datetime]]) -> list[bool]:
    """Claim several (channel, message id, received at) in one statement; True for each first delivery.

    Within ``items`` the first occurrence of a repeated id wins. One multi-row
    ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` works the same on SQLite (3.35+) and PostgreSQL.
    """
    if not items:
        return []
    keyed = [(channel, _key(mid), at) for channel, mid, at in items]
    rows = list({(c, k): {"channel": c, "message_id": k, "received_at": at} for c, k, at in reversed(keyed)}.values())
    table = InboundMessage.__table__  # type: ignore[attr-defined]
    insert = sqlite_insert if db.is_sqlite else pg_insert
    stmt = insert(table).values(rows).on_conflict_do_nothing().returning(table.c.channel, table.c.message_id)
    async with db.engine.begin() as conn:  # one statement: a bare connection, no ORM session needed
        inserted = {(r[0], r[1]) for r in (await conn.execute(stmt)).all()}
    out: list[bool] = []
    for c, k, _ in keyed:
        out.append((c, k) in inserted)
        inserted.discard((c, k))  # a second occurrence in the same batch is a repeat
    return out


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
        self._pending: list[tuple[str, datetime, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def first(self, message_id: str, now: datetime) -> bool:
        """True when this is the first delivery of ``message_id`` on this channel.

        Claims arriving while an insert is running are batched into the next single statement,
        so under load the dedupe costs one transaction per batch instead of one per callback.
        """
        if self._last_prune is None or now - self._last_prune >= self.prune_every:
            self._last_prune = now
            await prune(self.db, now - self.retention)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((message_id, now, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                results = await claim_many(self.db, [(self.channel, mid, at) for mid, at, _ in batch])
            except Exception as exc:
                for _, _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, _, fut), first in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(first)

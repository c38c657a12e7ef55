"""Callbacks already handled, by channel and platform message id, so retried deliveries run once.

A claim that was never marked handled (the process died, or the database went away, between the
claim and the end of the handler) is given out again to a redelivery after ``RECLAIM_AFTER``:
WeCom redelivers after 5 s, and the handlers that store reports are idempotent by message id, so
a redelivery is handled rather than lost.

A platform that got its 200 does not redeliver, though: when the handler was slower than the
reply wait (an empty 200 now, the reply later) and the process died before it finished, nothing
would ever come back. So each claim also keeps the decoded message (``payload``, what the adapter
needs to handle it again), and :func:`take_stale` hands claims left unhandled for ``STALE_AFTER``
to the recovery loop (:mod:`bot.adapters.recovery`), which replays them through their adapter.

WeCom re-sends a callback it got no answer to within 5 s (three times), DingTalk re-sends too;
the unique row makes the first delivery win on every instance sharing the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from bot.adapters._text import bounded_id
from bot.store.engine import Database
from bot.store.tables import INBOUND_ID_MAX, InboundMessage
from bot.tasks import Tasks

log = structlog.get_logger("exambot.inbound")

MAX_ID = INBOUND_ID_MAX
MAX_BATCH = 200
RECLAIM_AFTER = timedelta(seconds=4)
MARK_DELAY = 0.05  # seconds the handled-marks wait to be written together (a lost mark only means a replay)
STALE_AFTER = timedelta(seconds=60)  # a claim unhandled this long is replayed by the recovery loop
GIVE_UP_AFTER = timedelta(hours=6)  # older claims are not replayed (logged instead)


def _key(message_id: str) -> str:
    return bounded_id(message_id)  # the same key as IncomingMessage.message_id (bot.adapters._text)


Claim = tuple[str, str, datetime] | tuple[str, str, datetime, dict[str, Any] | None]


async def claim(
    db: Database, channel: str, message_id: str, now: datetime, payload: dict[str, Any] | None = None
) -> bool:
    """Record the delivery; True the first time (handle it), False for a repeat (skip it)."""
    return (await claim_many(db, [(channel, message_id, now, payload)]))[0]


async def claim_many(db: Database, items: Sequence[Claim]) -> list[bool]:
    """Claim several (channel, message id, received at[, payload]) in one statement; True for each first delivery.

    Within ``items`` the first occurrence of a repeated id wins. One multi-row
    ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` works the same on SQLite (3.35+) and PostgreSQL.
    """
    if not items:
        return []
    keyed = [(item[0], _key(item[1]), item[2], item[3] if len(item) > 3 else None) for item in items]
    rows = list(
        {
            (c, k): {"channel": c, "message_id": k, "received_at": at, "payload": p} for c, k, at, p in reversed(keyed)
        }.values()
    )
    table = InboundMessage.__table__  # type: ignore[attr-defined]
    insert = sqlite_insert if db.is_sqlite else pg_insert
    # One statement for the list of rows (executemany with RETURNING, sent as one multi-row INSERT by
    # SQLAlchemy's "insertmanyvalues"); unlike .values(rows) its compiled form is cached.
    stmt = insert(table).on_conflict_do_nothing().returning(table.c.channel, table.c.message_id)
    async with db.begin() as conn:  # a bare connection, no ORM session needed
        inserted = {(r[0], r[1]) for r in (await conn.execute(stmt, rows)).all()}
        repeats = [r for r in rows if (r["channel"], r["message_id"]) not in inserted]
        for channel in sorted({r["channel"] for r in repeats}):
            ids = [r["message_id"] for r in repeats if r["channel"] == channel]
            now = max(r["received_at"] for r in repeats if r["channel"] == channel)
            # An unhandled claim older than RECLAIM_AFTER: its first delivery died; take it over.
            again = (
                update(table)
                .where(
                    table.c.channel == channel,
                    table.c.message_id.in_(ids),
                    table.c.handled_at.is_(None),
                    table.c.received_at < now - RECLAIM_AFTER,
                )
                .values(received_at=now)
                .returning(table.c.channel, table.c.message_id)
            )
            inserted |= {(r[0], r[1]) for r in (await conn.execute(again)).all()}
    out: list[bool] = []
    for c, k, _, _ in keyed:
        out.append((c, k) in inserted)
        inserted.discard((c, k))  # a second occurrence in the same batch is a repeat
    return out


async def mark_handled(db: Database, items: Sequence[tuple[str, str]], now: datetime) -> None:
    """Record that these (channel, message id) deliveries were handled to the end."""
    if not items:
        return
    table = InboundMessage.__table__  # type: ignore[attr-defined]
    async with db.begin() as conn:
        for channel in sorted({c for c, _ in items}):
            ids = [_key(m) for c, m in items if c == channel]
            await conn.execute(
                update(table)
                .where(table.c.channel == channel, table.c.message_id.in_(ids), table.c.handled_at.is_(None))
                .values(handled_at=now)
            )


@dataclass(frozen=True)
class StaleClaim:
    """A claim whose handling never finished, taken over for replay."""

    channel: str
    message_id: str
    payload: dict[str, Any]


async def take_stale(db: Database, now: datetime, *, limit: int = 50) -> tuple[list[StaleClaim], int]:
    """Take over claims left unhandled for ``STALE_AFTER`` (and not older than ``GIVE_UP_AFTER``).

    Taking one moves its ``received_at`` to ``now`` in the same statement that selects it, so of
    several instances sweeping at once only one gets each claim, and a redelivery arriving during
    the replay is a repeat. Returns the claims and how many unhandled claims were too old to replay
    (those are marked handled, so they are reported once).
    """
    table = InboundMessage.__table__  # type: ignore[attr-defined]
    stale = and_(
        table.c.handled_at.is_(None),
        table.c.payload.is_not(None),
        table.c.received_at < now - STALE_AFTER,
    )
    async with db.begin() as conn:
        too_old = await conn.execute(
            update(table).where(stale, table.c.received_at < now - GIVE_UP_AFTER).values(handled_at=now)
        )
        ids = select(table.c.id).where(stale).order_by(table.c.received_at).limit(limit)
        if not db.is_sqlite:
            ids = ids.with_for_update(skip_locked=True)
        taken = await conn.execute(
            update(table)
            .where(table.c.id.in_(ids.scalar_subquery()), stale)
            .values(received_at=now)
            .returning(table.c.channel, table.c.message_id, table.c.payload)
        )
        claims, unreadable = [], []
        for channel, message_id, payload in taken.all():
            if isinstance(payload, dict):
                claims.append(StaleClaim(channel, message_id, payload))
            else:
                unreadable.append((channel, message_id))
        for channel, message_id in unreadable:  # nothing to replay it from: reported below, not taken again
            await conn.execute(
                update(table).where(table.c.channel == channel, table.c.message_id == message_id).values(handled_at=now)
            )
    return claims, int(too_old.rowcount or 0) + len(unreadable)  # type: ignore[attr-defined]


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
        self._tasks = Tasks(f"{channel}-ledger")
        # At most one flusher and one marker run at a time; these are the running ones.
        self._pending: list[tuple[str, datetime, dict[str, Any] | None, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._handled: list[tuple[str, str]] = []
        self._unwritten: set[str] = set()  # handled here, mark not yet written
        self._handled_at: datetime | None = None
        self._marker: asyncio.Task[None] | None = None

    async def first(self, message_id: str, now: datetime, payload: dict[str, Any] | None = None) -> bool:
        """True when this is the first delivery of ``message_id`` on this channel.

        ``payload`` (JSON) is kept with the claim, so the recovery loop can handle the message
        again if this handling never finishes.

        Claims arriving while an insert is running are batched into the next single statement,
        so under load the dedupe costs one transaction per batch instead of one per callback.
        """
        message_id = _key(message_id)  # the adapter's key and IncomingMessage.message_id name one claim
        if message_id in self._unwritten:
            return False  # handled here a moment ago; its mark is on its way to the database
        if self._last_prune is None or now - self._last_prune >= self.prune_every:
            self._last_prune = now
            await prune(self.db, now - self.retention)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((message_id, now, payload, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = self._tasks.spawn(self._flush(), name=f"{self.channel}-claims")
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                results = await claim_many(self.db, [(self.channel, mid, at, p) for mid, at, p, _ in batch])
            except Exception as exc:
                for _, _, _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, _, _, fut), first in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(first)

    def handled(self, message_id: str, now: datetime) -> None:
        """Note that ``message_id`` was handled to the end (written in batches, off the request path).

        A mark lost in a crash only means that a redelivery is handled again, which the handlers
        that store reports tolerate (they are idempotent by message id).
        """
        message_id = _key(message_id)
        self._handled.append((self.channel, message_id))
        self._unwritten.add(message_id)
        self._handled_at = now
        if self._marker is None or self._marker.done():
            self._marker = self._tasks.spawn(self._mark(), name=f"{self.channel}-marks")

    async def _mark(self) -> None:
        await asyncio.sleep(MARK_DELAY)  # gather the marks of the messages finishing meanwhile into one write
        while self._handled:
            batch, self._handled = self._handled[:MAX_BATCH], self._handled[MAX_BATCH:]
            assert self._handled_at is not None
            try:
                await mark_handled(self.db, batch, self._handled_at)
            except Exception as exc:
                log.warning("mark_handled_failed", channel=self.channel, error=type(exc).__name__)
            finally:
                self._unwritten.difference_update(mid for _, mid in batch)

    async def close(self) -> None:
        """Wait for the last marks to be written."""
        if self._marker is not None:
            await asyncio.gather(self._marker, return_exceptions=True)

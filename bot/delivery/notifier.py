"""The notifier handlers use (``ctx.notify``): every message is an outbox row first, then it is sent."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.rows import insert_rows, new_row
from bot.delivery.sender import Outbox
from bot.delivery.targets import target_to_json
from bot.model import OutgoingMessage
from bot.store.tables import OutboxKind
from bot.tasks import Tasks

log = structlog.get_logger("exambot.outbox")


class OutboxNotifier:
    """The app's :class:`~bot.services.Notifier`: writes each message to the outbox, then sends it.

    ``notify`` commits the rows first (so a crash cannot lose them) and then sends them through
    the same claim/rate-limit/finish path the reminder sender uses; what cannot go out now is
    retried by the scheduler's sweep. With ``defer`` (inside a platform callback) the send is not
    awaited: one background pass at a time sends what has been notified meanwhile, so the platform
    gets its answer sooner and a burst of alerts costs one claim and one finish per pass.
    """

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._queued: set[str] = set()
        self._tasks = Tasks("outbox-notify")
        self._sender: asyncio.Task[None] | None = None

    async def enqueue(self, session: AsyncSession, messages: Sequence[OutgoingMessage], now: datetime) -> None:
        """Add rows for ``messages`` inside the caller's transaction (sent after it commits)."""
        rows = [
            new_row(
                key=m.key or f"n:{uuid.uuid4().hex}",
                kind=OutboxKind.NOTICE,
                target=target_to_json(m.target, m.mentions),
                text=m.text,
                due_at=now,
                now=now,
                format=m.format,
            )
            for m in messages
        ]
        conn = await session.connection()
        await insert_rows(conn, rows, skip_existing=True)  # a key already in the outbox is never sent twice

    async def notify(self, messages: Sequence[OutgoingMessage], *, defer: bool = False) -> None:
        """Persist, then send (now, or with ``defer`` in the background)."""
        if not messages:
            return
        now = self.outbox.clock.now()
        keys = [m.key or f"n:{uuid.uuid4().hex}" for m in messages]
        messages = [
            OutgoingMessage(m.target, m.text, m.format, m.mentions, k, m.extra)
            for m, k in zip(messages, keys, strict=True)
        ]
        async with self.outbox.db.session() as s:
            await self.enqueue(s, messages, now)
        await self.send_keys(keys, defer=defer)

    async def send_keys(self, keys: Sequence[str], *, defer: bool = False) -> None:
        """Send the rows with these keys that are still pending (written by a transaction that has committed).

        A key whose row is already sent, or was never committed (the transaction rolled back), sends nothing.
        The rows are claimed by key (a unique index): nothing is read back first.
        """
        if not keys:
            return
        if defer:
            self._queued.update(keys)
            if self._sender is None or self._sender.done():
                self._sender = self._tasks.spawn(self._send_queued(), name="outbox-notify")
            return
        await self._send(list(keys))

    async def _send(self, keys: list[str]) -> None:
        now = self.outbox.clock.now()
        try:
            await self.outbox.run_once(keys=keys)
        except Exception:  # the rows are safe in the outbox; the sweep sends them
            log.exception("notify_send_failed", rows=len(keys))
        if self.outbox.on_reschedule is not None:
            self.outbox.on_reschedule(now)

    async def _send_queued(self) -> None:
        while self._queued:
            keys, self._queued = sorted(self._queued), set()
            await self._send(keys)

    async def settle(self) -> None:
        """Wait until the background sends started so far are done (tests, shutdown)."""
        await self._tasks.wait()

    async def close(self, grace: float = 5.0) -> None:
        """Finish the background send briefly; what is left stays in the outbox for the next start's sweep."""
        await self._tasks.drain(grace)

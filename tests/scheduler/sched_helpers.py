"""Helpers for the reminder tests: a recording platform (ledger), a demo day on a database, moving sessions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import ManualClock
from bot.delivery.config import OutboxConfig
from bot.delivery.merge import MERGE_SEPARATOR
from bot.delivery.rows import T
from bot.delivery.sender import Outbox
from bot.errors import PlatformError
from bot.model import GroupTarget, OutgoingMessage, PersonTarget
from bot.store.engine import Database
from scheduler.conditions import TimelineChecks

SHANGHAI = ZoneInfo("Asia/Shanghai")


def strip_late(text: str) -> str:
    """A delivered piece without its 补发 mark."""
    if text.startswith("【补发，原定"):
        return text.split("】", 1)[1]
    return text


def address(target: GroupTarget | PersonTarget) -> str:
    """The delivered-to address as a string."""
    if isinstance(target, PersonTarget):
        return f"person:{target.channel}:{target.user_id}"
    return f"group:{target.chat_id or target.webhook}"


@dataclass
class Ledger:
    """A fake platform: records every accepted message; can be told to fail."""

    clock: ManualClock
    deliveries: list[tuple[datetime, str, str]] = field(default_factory=list)  # (at, address, text)
    failing: Callable[[OutgoingMessage], bool] | None = None
    errors: int = 0

    async def deliver(self, message: OutgoingMessage) -> str | None:
        """Accept or refuse one message."""
        if self.failing is not None and self.failing(message):
            self.errors += 1
            raise PlatformError("fake platform down")
        self.deliveries.append((self.clock.now(), address(message.target), message.text))
        return str(len(self.deliveries))

    def pieces(self) -> Counter[tuple[str, str]]:
        """(address, text) of every single row delivered, merged messages split, 补发 marks removed."""
        out: Counter[tuple[str, str]] = Counter()
        for _at, addr, text in self.deliveries:
            for piece in text.split(MERGE_SEPARATOR):
                out[(addr, strip_late(piece))] += 1
        return out


@dataclass
class Day:
    """A demo day on a fresh database with a sender."""

    db: Database
    clock: ManualClock
    ledger: Ledger
    outbox: Outbox

    def sender(self, **config: Any) -> Outbox:
        """Another sender (another process) on the same database."""
        checks = TimelineChecks(SHANGHAI)
        return Outbox(self.db, self.clock, self.ledger.deliver, channels=("console",), config=OutboxConfig(**config),
                      checks=checks)  # fmt: skip

    async def rows(self, *where: Any) -> list[dict[str, Any]]:
        """Outbox rows as dicts."""
        async with self.db.sessions() as s:
            conn = await s.connection()
            return [dict(m) for m in (await conn.execute(select(T).where(*where).order_by(T.c.id))).mappings()]

    async def run_until(self, until: datetime, step: timedelta = timedelta(minutes=1), sender: Outbox | None = None):
        """Advance the clock in steps, draining the outbox at each."""
        sender = sender or self.outbox
        while self.clock.now() < until:
            await sender.drain()
            self.clock.advance(step)
        await sender.drain()


async def shift_sessions(db: Database, now: datetime, delta: timedelta, codes: tuple[str, ...] | None = None) -> Any:
    """Move sessions (all, or those with ``codes``) by ``delta`` and re-plan them, as a re-import would."""
    from bot.store.tables import ExamSession
    from scheduler.planner import plan_sessions

    et = ExamSession.__table__
    async with db.session() as s:
        conn = await s.connection()
        q = select(et.c.id, et.c.code, et.c.starts_at, et.c.ends_at)
        ids = []
        for sid, code, start, end in (await conn.execute(q)).all():
            if codes is not None and code not in codes:
                continue
            ids.append(sid)
            await conn.execute(et.update().where(et.c.id == sid).values(starts_at=start + delta, ends_at=end + delta))
        return await plan_sessions(s, ids, now, tz=SHANGHAI)

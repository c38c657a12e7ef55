"""Outbox rows: statuses, the column values of a new row, bulk inserts, and when pending rows fall due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery.targets import target_key
from bot.model import TextFormat
from bot.store.engine import Database
from bot.store.tables import OutboxKind, OutboxMessage, OutboxStatus

T = OutboxMessage.__table__  # type: ignore[attr-defined]

PENDING = OutboxStatus.PENDING.value
SENDING = OutboxStatus.SENDING.value
SENT = OutboxStatus.SENT.value
EXPIRED = OutboxStatus.EXPIRED.value
CANCELLED = OutboxStatus.CANCELLED.value
# Why a row was settled as expired: past its last useful moment, never sent (the sender, and a re-plan).
EXPIRED_NOTE = "超过宽限时间，未发送"
FAILED = OutboxStatus.FAILED.value


def new_row(
    *,
    key: str,
    kind: OutboxKind | str,
    target: dict[str, Any],
    text: str,
    due_at: datetime,
    now: datetime,
    expires_at: datetime | None = None,
    session_id: int | None = None,
    room_id: int | None = None,
    step: str | None = None,
    condition: dict[str, Any] | None = None,
    format: TextFormat = TextFormat.TEXT,
) -> dict[str, Any]:
    """Column values of a new pending row (for bulk inserts)."""
    return {
        "key": key,
        "kind": str(kind),
        "session_id": session_id,
        "room_id": room_id,
        "step": step,
        "target_key": target_key(target),
        "target": target,
        "text": text,
        "format": format.value,
        "condition": condition,
        "due_at": due_at,
        "expires_at": expires_at,
        "next_try_at": due_at,
        "status": PENDING,
        "attempts": 0,
        "created_at": now,
    }


# Built once (every alert writes rows): a plain insert, and one that skips keys already there (SQLite, PostgreSQL).
_INSERT = insert(T)
_SKIP_EXISTING = (
    sqlite_insert(T).on_conflict_do_nothing(index_elements=["key"]),
    pg_insert(T).on_conflict_do_nothing(index_elements=["key"]),
)


async def insert_rows(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], chunk: int = 500, *, skip_existing: bool = False
) -> None:
    """Insert new rows in chunks (executemany); ``skip_existing`` ignores rows whose key is already there."""
    stmt: Any = _SKIP_EXISTING[conn.dialect.name == "postgresql"] if skip_existing else _INSERT
    for i in range(0, len(rows), chunk):
        await conn.execute(stmt, list(rows[i : i + chunk]))


async def due_times(db: Database, until: datetime, limit: int = 5000) -> list[datetime]:
    """Distinct times at which pending rows fall due before ``until`` (the timers to set)."""
    async with db.read() as s:
        conn = await s.connection()
        q = (
            select(T.c.next_try_at)
            .where(T.c.status == PENDING, T.c.next_try_at <= until)
            .group_by(T.c.next_try_at)
            .order_by(T.c.next_try_at)
            .limit(limit)
        )
        return [t for (t,) in (await conn.execute(q)).all()]

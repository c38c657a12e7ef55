"""Every interactive card sent, and the updates still to make so that all copies of a subject show its outcome.

A card's subject is its ``(room_id, step)`` (a reminder step of a room; for a violation or a paper handover the
report id and ``vconfirm``/``handover``). The adapters record each copy they deliver (:func:`record_copy`); the
handlers, in the transaction that records the acknowledgement (a tap or a typed 收到/确认), set what every copy
should show (:func:`show_on_all`). The acknowledgement never depends on a platform: it commits first, and the
copies still to update are read back by each adapter (:func:`pending`) and updated, retried while the platform
is down, until each is done or given up (:func:`mark_shown`, :func:`mark_failed`). Because it is all in the
database, a restart or a second instance still updates every copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.engine import Database
from bot.store.tables import CardCopy

C = CardCopy.__table__  # type: ignore[attr-defined]
MAX_ATTEMPTS = 20  # retryable failures of one copy's update before it is given up (and logged)


@dataclass(frozen=True)
class CopyUpdate:
    """One copy that does not show its subject's state yet."""

    id: int
    channel: str
    card_id: str
    room_id: int
    step: str
    recipient: str
    response_code: str | None
    state: str
    attempts: int


async def record_copy(
    db: Database,
    *,
    channel: str,
    card_id: str,
    room_id: int,
    step: str,
    recipient: str,
    now: datetime,
    response_code: str | None = None,
) -> None:
    """Remember a delivered card. A card sent again under the same id (DingTalk reuses it) keeps one row.

    A copy sent after its subject was settled gets the state at once, so it is updated like the others.
    """
    async with db.session() as s:
        conn = await s.connection()
        settled = (
            await conn.execute(
                select(C.c.state).where(C.c.room_id == room_id, C.c.step == step, C.c.state.is_not(None)).limit(1)
            )
        ).scalar()
        found = (await conn.execute(select(C.c.id).where(C.c.channel == channel, C.c.card_id == card_id))).scalar()
        values = {"recipient": recipient[:255], "updated_at": now}
        if response_code:
            values["response_code"] = response_code[:512]
        if found is not None:
            await conn.execute(update(C).where(C.c.id == found).values(**values))
            return
        await conn.execute(
            C.insert().values(
                channel=channel,
                card_id=card_id[:128],
                room_id=room_id,
                step=step[:64],
                state=settled,
                attempts=0,
                created_at=now,
                **values,
            )
        )


async def note_code(db: Database, channel: str, card_id: str, code: str, now: datetime, *, user: str) -> bool:
    """Keep the newest single-use update code of a copy (a WeCom tap brings one); False for an unknown card.

    Only a tap by the copy's own recipient counts (a code serves the user who tapped). A copy given up for want
    of a code is tried again with the new one.
    """
    if not code:
        return False
    async with db.session() as s:
        conn = await s.connection()
        res = await conn.execute(
            update(C)
            .where(C.c.channel == channel, C.c.card_id == card_id, C.c.recipient == user)
            .values(response_code=code[:512], attempts=0, updated_at=now)
        )
        return bool(res.rowcount)


async def show_on_all(conn: AsyncConnection, room_id: int, step: str, state: str, now: datetime) -> int:
    """In the caller's transaction: every copy of the subject is to show ``state``; returns how many copies."""
    res = await conn.execute(
        update(C)
        .where(C.c.room_id == room_id, C.c.step == step, or_(C.c.state.is_(None), C.c.state != state))
        .values(state=state[:255], attempts=0, last_error=None, updated_at=now)
    )
    return int(res.rowcount or 0)


async def pending(db: Database, channel: str, *, limit: int = 50) -> list[CopyUpdate]:
    """Copies on ``channel`` whose update is still to make, oldest first."""
    q = (
        select(C)
        .where(
            C.c.channel == channel,
            C.c.state.is_not(None),
            or_(C.c.shown.is_(None), C.c.shown != C.c.state),
            and_(C.c.attempts < MAX_ATTEMPTS),
        )
        .order_by(C.c.updated_at, C.c.id)
        .limit(limit)
    )
    async with db.read() as s:
        rows = (await (await s.connection()).execute(q)).mappings().all()
    return [
        CopyUpdate(
            r["id"],
            r["channel"],
            r["card_id"],
            r["room_id"],
            r["step"],
            r["recipient"],
            r["response_code"],
            r["state"],
            r["attempts"],
        )
        for r in rows
    ]


async def mark_shown(db: Database, copy: CopyUpdate, now: datetime, *, code_used: bool) -> None:
    """The copy shows ``copy.state`` now; a used single-use code is forgotten."""
    values: dict[str, object] = {"shown": copy.state, "last_error": None, "updated_at": now}
    if code_used:
        values["response_code"] = None
    async with db.session() as s:
        await (await s.connection()).execute(update(C).where(C.c.id == copy.id).values(**values))


async def mark_failed(db: Database, copy: CopyUpdate, error: str, now: datetime, *, give_up: bool) -> None:
    """An update that failed: tried again later, or (``give_up``) left as it is with the reason kept."""
    values: dict[str, object] = {"attempts": MAX_ATTEMPTS if give_up else copy.attempts + 1}
    values |= {"last_error": error[:255], "updated_at": now}
    # another instance may have made the update meanwhile (a WeCom code then fails here): that stands
    unsettled = or_(C.c.shown.is_(None), C.c.shown != C.c.state)
    async with db.session() as s:
        await (await s.connection()).execute(update(C).where(C.c.id == copy.id, unsettled).values(**values))


async def copies(db: Database, room_id: int, step: str) -> list[dict[str, object]]:
    """Every copy of a subject (for tests and the operator)."""
    async with db.read() as s:
        q = select(C).where(C.c.room_id == room_id, C.c.step == step).order_by(C.c.id)
        return [dict(r) for r in (await (await s.connection()).execute(q)).mappings().all()]

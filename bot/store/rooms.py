"""Reading rooms and sessions: the rooms of a day, the rooms running now, a room's candidates, a room's name.

Shared by the chat commands and the office board; nothing here knows who is asking (the sender's own
rooms and the permission rules live with the commands, in handlers/_rooms.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, bindparam, func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.tables import Candidate, ExamSession, Room

# A session counts as "now" from an hour before it starts (papers are fetched 30 minutes before)
# until an hour after it ends (papers are counted and bound afterwards).
WINDOW = timedelta(minutes=60)


def room_label(room: Room) -> str:
    """第3考场 for a stored room."""
    return room.room_no if "考场" in room.room_no else f"第{room.room_no}考场"


def now_order(now: datetime) -> Callable[[tuple[Room, ExamSession]], tuple[int, float]]:
    """A sort key for (room, session): running sessions first, then the nearest start."""

    def rank(item: tuple[Room, ExamSession]) -> tuple[int, float]:
        sess = item[1]
        running = sess.starts_at <= now <= sess.ends_at
        return (0 if running else 1, abs((sess.starts_at - now).total_seconds()))

    return rank


def live() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Conditions on ExamSession joined with Room: neither was cancelled."""
    return col(ExamSession.cancelled_at).is_(None), col(Room.cancelled_at).is_(None)


def in_window(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Conditions on ExamSession joined with Room: the session counts as "now" (see WINDOW) and is not cancelled."""
    return col(ExamSession.starts_at) <= now + WINDOW, col(ExamSession.ends_at) >= now - WINDOW, *live()


def day_last_end() -> ScalarSelect[datetime]:
    """The end of the last session not cancelled on the same day as the outer query's ExamSession."""
    other = aliased(ExamSession)
    return (
        select(func.max(col(other.ends_at)))
        .where(col(other.day) == col(ExamSession.day), col(other.cancelled_at).is_(None))
        .scalar_subquery()
    )


def _report_window(soon: Any, first_day: Any, since: Any) -> tuple[ColumnElement[bool], ...]:
    return (
        col(ExamSession.starts_at) <= soon,
        # A coarse bound the day index can use: a day whose last session ended before now - grace is over.
        col(ExamSession.day) >= first_day,
        day_last_end() >= since,
        *live(),
    )


def in_report_window(now: datetime, grace: timedelta) -> tuple[ColumnElement[bool], ...]:
    """Conditions on ExamSession joined with Room: reports are taken for the session now.

    From WINDOW before its start until ``grace`` (the setting report_grace_minutes, two hours by default)
    after the end of its day's last session, when the office collects the day's records; not cancelled.
    """
    p = report_window_params(now, grace)
    return _report_window(p["soon"], p["first_day"], p["since"])


def report_window_params(now: datetime, grace: timedelta) -> dict[str, Any]:
    """The values of :data:`REPORT_WINDOW`'s parameters at ``now``."""
    return {"soon": now + WINDOW, "first_day": (now - grace - timedelta(days=2)).date(), "since": now - grace}


# :func:`in_report_window` with bound parameters (values from :func:`report_window_params`), for statements
# built once.
REPORT_WINDOW = _report_window(bindparam("soon"), bindparam("first_day"), bindparam("since"))


async def rooms_now(
    s: AsyncSession, now: datetime, *, grace: timedelta | None = None
) -> list[tuple[Room, ExamSession]]:
    """Rooms whose session is running now (with the window), running ones first, then by start.

    With ``grace``: the rooms reports are taken for now (see :func:`in_report_window`).
    """
    where = in_window(now) if grace is None else in_report_window(now, grace)
    rows = (
        await s.exec(
            select(Room, ExamSession)
            .join(ExamSession, col(ExamSession.id) == col(Room.session_id))
            .where(*where)
            .order_by(col(ExamSession.starts_at), col(Room.id))
        )
    ).all()
    return sorted(rows, key=now_order(now))


async def report_deadline(s: AsyncSession, sess: ExamSession, grace: timedelta) -> datetime:
    """Until when reports are taken for ``sess``: ``grace`` after its day's last session (itself at least)."""
    last = (
        await s.exec(
            select(func.max(col(ExamSession.ends_at))).where(
                col(ExamSession.day) == sess.day, col(ExamSession.cancelled_at).is_(None)
            )
        )
    ).one()
    ends = sess.ends_at if last is None else max(last, sess.ends_at)
    return ends + grace


async def sessions_of_day(
    s: AsyncSession, day: date, *, with_cancelled: bool = False
) -> list[tuple[Room, ExamSession]]:
    """Every room of every session on ``day`` (cancelled ones only when asked), by start time and room."""
    rows = (
        await s.exec(
            select(Room, ExamSession)
            .join(ExamSession, col(ExamSession.id) == col(Room.session_id))
            .where(col(ExamSession.day) == day, *(() if with_cancelled else live()))
            .order_by(col(ExamSession.starts_at), col(Room.id))
        )
    ).all()
    return list(rows)


def seat_key(text: str) -> str:
    """A seat number as compared: NFKC, no 号/座/座号 decoration, no leading zeros (“03号” and “3” match)."""
    t = unicodedata.normalize("NFKC", text).strip().removeprefix("座号").removeprefix("座位").removesuffix("座")
    t = t.removesuffix("号").strip()
    return t.lstrip("0") or t


async def seat_tickets(s: AsyncSession, room_id: int) -> dict[str, str]:
    """The room's 准考证号 by seat (see :func:`seat_key`); empty when the roster had no 座号."""
    rows = (
        await s.exec(
            select(Candidate.seat, Candidate.ticket_no).where(
                col(Candidate.room_id) == room_id, col(Candidate.seat).is_not(None)
            )
        )
    ).all()
    return {seat_key(seat): ticket for seat, ticket in rows if seat and seat_key(seat)}


async def candidate_tickets(s: AsyncSession, room_id: int) -> set[str]:
    """The room's candidate 准考证号 (empty when the office gave no list)."""
    rows = (await s.exec(select(Candidate.ticket_no).where(col(Candidate.room_id) == room_id))).all()
    return set(rows)

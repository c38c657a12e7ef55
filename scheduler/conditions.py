"""What the sender checks before it sends a follow-up: a nudge goes out only while what it asks for is missing.

A row's ``condition`` is JSON written by the planner: ``{"type": "ack", "room_id", "step"}`` (the chief's
收到 of a critical step; ``"acked"`` for the step's card, due with the reminder itself),
``{"type": "report", "room_id", "report": "absent" | "papers_collect"}`` (the report a step asks for) or
``{"type": "digest", "day"}`` (the office's day digest, written when sent).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery.rows import SENT, T
from bot.store.reports import has_report_in_force
from bot.store.tables import OutboxKind, ReminderAck
from scheduler.digest import render_digest
from scheduler.timeline import Timeline

# The office's escalations: numbered when sent, so one office member's /已处理 N closes the item for everyone.
ESCALATIONS = (OutboxKind.ACK_OFFICE.value, OutboxKind.FOLLOW_OFFICE.value)


def escalation_text(number: int, text: str) -> str:
    """An escalation as the office reads it: its number first, how to close it last."""
    return f"〔待处理 #{number}〕{text}（处理后回复 /已处理 {number}）"


async def condition_holds(conn: AsyncConnection, cond: dict[str, Any]) -> bool:
    """True when the thing a nudge asks for has happened (so the nudge is not needed)."""
    kind = cond.get("type")
    room_id = cond.get("room_id")
    if kind in ("ack", "acked"):
        a = ReminderAck.__table__  # type: ignore[attr-defined]
        q = select(a.c.id).where(a.c.room_id == room_id, a.c.step == cond.get("step")).limit(1)
        if (await conn.execute(q)).first() is not None:
            return True
        if kind == "acked":  # a step's card, sent beside its reminder: needless only once acknowledged
            return False
        # Nothing to acknowledge when the reminder itself never went out (expired while the service was down).
        q = select(T.c.id).where(
            T.c.room_id == room_id,
            T.c.step == cond.get("step"),
            T.c.kind == OutboxKind.REMINDER.value,
            T.c.status == SENT,
        )
        return (await conn.execute(q.limit(1))).first() is None
    if kind == "report":
        return await has_report_in_force(conn, int(room_id or 0), str(cond.get("report") or ""))
    return False


class TimelineChecks:
    """The sender's :class:`~bot.delivery.config.Checks` for the exam timeline's rows."""

    def __init__(self, tz: ZoneInfo, timeline: Timeline | None = None) -> None:
        self.tz = tz
        self.timeline = timeline

    async def holds(self, conn: AsyncConnection, condition: dict[str, Any]) -> bool:
        """Whether the acknowledgement or report a follow-up asks for is there."""
        return await condition_holds(conn, condition)

    async def render(self, conn: AsyncConnection, row: dict[str, Any]) -> str | None:
        """The day digest written from the reports of the day; an escalation numbered for /已处理; others as stored."""
        cond = row.get("condition") or {}
        if row.get("kind") in ESCALATIONS and row.get("id") is not None:
            return escalation_text(int(row["id"]), str(row["text"]))
        if cond.get("type") != "digest":
            return None
        day = date.fromisoformat(cond["day"])
        return await render_digest(conn, day, self.tz, now=row.get("due_at"), timeline=self.timeline)


async def outstanding_acks(conn: AsyncConnection, room_ids: list[int], now: datetime) -> list[dict[str, Any]]:
    """Critical steps of these rooms whose reminder went out and that nobody acknowledged yet, oldest first.

    Each as {"room_id", "step", "session_id", "due"}: what 收到 confirms, /提醒状态 and the board count.
    """
    if not room_ids:
        return []
    needs = {
        (r, s)
        for r, s in (
            await conn.execute(
                select(T.c.room_id, T.c.step).where(T.c.room_id.in_(room_ids), T.c.kind == OutboxKind.ACK_OFFICE.value)
            )
        ).all()
    }
    if not needs:
        return []
    sent = (
        await conn.execute(
            select(T.c.room_id, T.c.step, T.c.session_id, T.c.due_at).where(
                T.c.room_id.in_(room_ids),
                T.c.kind == OutboxKind.REMINDER.value,
                T.c.status == SENT,
                T.c.due_at <= now,
            )
        )
    ).all()
    a = ReminderAck.__table__  # type: ignore[attr-defined]
    acked = {(r, s) for r, s in (await conn.execute(select(a.c.room_id, a.c.step).where(a.c.room_id.in_(room_ids))))}
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for room_id, step, session_id, due in sent:
        if (room_id, step) in needs and (room_id, step) not in acked:
            out[(room_id, step)] = {"room_id": room_id, "step": step, "session_id": session_id, "due": due}
    return sorted(out.values(), key=lambda x: x["due"])

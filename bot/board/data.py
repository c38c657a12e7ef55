"""What the board shows, read from the database: room tiles with a due-aware state, the feed, a room's history.

Counts and states only: never a candidate's 准考证号 or name, and no free text typed in chat (an incident's
or a note's words may name a candidate). Every read goes to the database, so whichever instance a browser
reaches shows the same board.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.delivery.rows import SENT, T
from bot.settings import Settings
from bot.store.engine import Database
from bot.store.papers import absent_payload, handover_checks, handover_words, papers_payload, papers_state
from bot.store.reports import reports_in_force
from bot.store.rooms import room_label, sessions_of_day
from bot.store.tables import KIND_LABELS, AuditLog, ExamSession, ReminderAck, Report, Room
from scheduler.conditions import outstanding_acks
from scheduler.due import DueState, Expected, missing_state, missing_words, papers_missing_words
from scheduler.timeline import Timeline

# A tile's state, most urgent first: the first that holds colours the tile (the others show as badges).
STATES: dict[str, str] = {
    "overdue": "报告逾期",
    "unacked": "提醒未确认",
    "mismatch": "试卷核对不符",
    "incident": "突发情况",
    "violation": "违纪",
    "reconciled": "试卷已核对",
    "absent_reported": "缺考已报",
    "in_progress": "考试中",
    "ended": "已结束",
    "not_started": "未开始",
}


@dataclass(frozen=True)
class Day:
    """Which day the board shows, and the moment it is read at."""

    day: date
    now: datetime


async def _unacked(conn: AsyncConnection, room_ids: list[int], now: datetime) -> dict[int, int]:
    """Per room: critical steps whose reminder went out and that nobody acknowledged (as /提醒状态 counts)."""
    return dict(Counter(t["room_id"] for t in await outstanding_acks(conn, room_ids, now)))


def tile_flags(room: dict[str, Any], sess: ExamSession, now: datetime) -> list[str]:
    """Every state that holds for a room, most urgent first (keys of STATES)."""
    flags = []
    if room["absent_state"] == DueState.OVERDUE.value or "逾期" in (room["papers_state"] or ""):
        flags.append("overdue")
    if room["unacked"]:
        flags.append("unacked")
    if room["papers_problem"]:
        flags.append("mismatch")
    if room["incidents"]:
        flags.append("incident")
    if room["violations"]:
        flags.append("violation")
    if room["papers_state"] in ("已核对", "不符，办公室已备注关闭"):
        flags.append("reconciled")
    if room["absent"] is not None:
        flags.append("absent_reported")
    if now < sess.starts_at:
        flags.append("not_started")
    elif now < sess.ends_at:
        flags.append("in_progress")
    else:
        flags.append("ended")
    return flags


async def room_states(
    db: Database, day: date, settings: Settings, *, now: datetime, timeline: Timeline | None = None
) -> list[dict[str, Any]]:
    """Per room of ``day``: session, counts and due-aware states at ``now`` (no candidate data)."""
    async with db.read() as s:
        rooms: list[tuple[Room, ExamSession]] = await sessions_of_day(s, day)
        ids = [r.id for r, _ in rooms if r.id is not None]
        papers = await papers_state(s, ids)
        counts: dict[tuple[int, str], int] = {}
        for r in await reports_in_force(s, ["violation", "incident"], ids):
            counts[(r.room_id or 0, r.kind)] = counts.get((r.room_id or 0, r.kind), 0) + 1
        unacked = await _unacked(await s.connection(), ids, now)
        checks = await handover_checks(s, papers.handout.values())
    tz = settings.tz
    out: list[dict[str, Any]] = []
    for room, sess in rooms:
        rid = room.id or 0
        absent = absent_payload(papers.absent.get(rid))
        handout_row = papers.handout.get(rid)
        handout, collect = papers_payload(handout_row), papers_payload(papers.collect.get(rid))
        rank, words = papers.status(room)
        if collect is None:
            words = papers_missing_words(sess, handout is not None, now, tz, timeline)
        absent_state = None if absent else missing_state(sess, Expected.ABSENT, now, timeline)
        item: dict[str, Any] = {
            "room_id": rid,
            "session": sess.code,
            "occupation": sess.occupation,
            "level": sess.level,
            "kind": KIND_LABELS.get(sess.kind, str(sess.kind)),
            "starts": _hhmm(sess.starts_at, tz),
            "ends": _hhmm(sess.ends_at, tz),
            "room": room_label(room),
            "location": room.location,
            "expected": room.expected,
            "present": absent.present if absent else None,
            "absent": absent.count if absent else None,
            # not_due / due / overdue while no 缺考 report is in (None once it is, or never asked for)
            "absent_state": absent_state.value if absent_state else None,
            "absent_words": None if absent else missing_words(sess, Expected.ABSENT, now, tz, timeline),
            "papers_out": handout.count if handout else None,
            # the other invigilator's check of the 领取 count: “李强 核对✓ 08:41”, “李强：数量不符”, “待第二人核对”
            "papers_check": handover_words(checks.get(handout_row.id), tz) if handout_row and handout_row.id else None,
            "papers_in": collect.count if collect else None,
            "papers_state": words,
            "papers_problem": rank == 0,
            "violations": counts.get((rid, "violation"), 0),
            "incidents": counts.get((rid, "incident"), 0),
            "unacked": unacked.get(rid, 0),
        }
        flags = tile_flags(item, sess, now)
        item["state"] = flags[0]
        item["flags"] = [STATES[f] for f in flags]
        out.append(item)
    return out


async def data_version(db: Database) -> tuple[int, ...]:
    """Changes whenever anything the board shows may have changed: reports, acknowledgements, sent reminders.

    A handful of index-backed aggregates, cheap enough to ask every second per open board.
    """
    r, a, lg = Report.__table__, ReminderAck.__table__, AuditLog.__table__  # type: ignore[attr-defined]
    q = sa_select(
        sa_select(func.coalesce(func.max(r.c.id), 0)).scalar_subquery(),
        sa_select(func.coalesce(func.max(a.c.id), 0)).scalar_subquery(),
        sa_select(func.coalesce(func.max(lg.c.id), 0)).scalar_subquery(),
        sa_select(func.count()).select_from(T).where(T.c.status == SENT).scalar_subquery(),
    )
    async with db.read() as s:
        row = (await (await s.connection()).execute(q)).one()
    return tuple(int(v or 0) for v in row)


def today(clock: Clock, settings: Settings, raw: str = "") -> Day:
    """The day asked for (``YYYY-MM-DD``) or today; ValueError on a malformed date."""
    now = clock.now()
    return Day(date.fromisoformat(raw) if raw else now.astimezone(settings.tz).date(), now)


def _hhmm(at: datetime, tz: Any) -> str:
    return at.astimezone(tz).strftime("%H:%M")


async def violation_types(db: Database, room_ids: list[int]) -> dict[str, int]:
    """Violations in force by type (the type as recorded, 未写类型 when empty)."""
    async with db.read() as s:
        rows = await reports_in_force(s, ["violation"], room_ids)
    out: dict[str, int] = defaultdict(int)
    for r in rows:
        out[str((r.payload or {}).get("type") or "未写类型")] += 1
    return dict(out)

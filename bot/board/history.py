"""The board's feed of the latest reports and a room's records with their history, in words without candidates.

Every row of a room is listed, corrections and revocations included, each marked with what became of it.
Tickets, names and free text typed in chat (an incident's words, a note, a reason) stay out: they may name
a candidate, and the board is counts and states.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select as sa_select

from bot.settings import Settings
from bot.store.engine import Database
from bot.store.reports import (
    ABSENT_NONE,
    ABSENT_REMOVE,
    AbsentPayload,
    FindingPayload,
    IncidentPayload,
    PapersPayload,
    RefPayload,
    ViolationPayload,
    payload_of,
)
from bot.store.rooms import room_label
from bot.store.tables import ExamSession, ReminderAck, Report, Room, Staff

KIND_WORDS = {
    "absent": "缺考",
    "papers": "试卷",
    "violation": "违纪",
    "incident": "突发",
    "finding": "督导意见",
    "confirm": "确认",
    "determination": "认定",
    "note": "备注",
}
_R, _S, _ROOM, _E = (t.__table__ for t in (Report, Staff, Room, ExamSession))  # type: ignore[attr-defined]


def summary(report: Report) -> str:
    """What a report says, in counts and types only."""
    p = payload_of(report)
    if report.revoked:
        return f"撤销第 {report.supersedes_id} 号报告"
    lead = f"更正第 {report.supersedes_id} 号：" if report.supersedes_id else ""
    if isinstance(p, AbsentPayload):
        if p.op == ABSENT_NONE or (p.none and not p.count):
            words = "无人缺考"
        elif p.op == ABSENT_REMOVE:
            words = f"缺考名单减去 {len(p.removed)} 人，现缺考 {p.count} 人"
        else:
            words = f"缺考 {p.count} 人"
        present = p.present if p.present is not None else p.expected - p.count
        return f"{lead}{words}（应考 {p.expected}，实考 {present}）"
    if isinstance(p, PapersPayload):
        if p.is_handout:
            return f"{lead}领取试卷 {p.count} 份"
        parts = [f"回收试卷 {p.count} 份"]
        if p.answered is not None:
            parts.append(f"答题卡 {p.answered}")
        parts += [f"空白 {p.blank}", f"损坏 {p.spoiled}"]
        check = "，核对相符" if p.reconciled else ("，核对不符" if p.problems else "")
        again = "（复点）" if p.recount_of else ""
        return f"{lead}{'，'.join(parts)}{again}{check}"
    if isinstance(p, ViolationPayload):
        action = p.action or "处理未填"
        return f"{lead}违纪：{p.type or '未写类型'}，{action}" + ("（须二次确认）" if p.serious else "")
    if isinstance(p, FindingPayload):
        return f"{lead}督导意见已记录"
    if isinstance(p, IncidentPayload):
        return f"{lead}突发情况已报告"
    if isinstance(p, RefPayload):
        ref = f"第 {p.report or p.ref} 号"
        if report.kind == "confirm":
            return f"二次确认{ref}违纪"
        if report.kind == "determination":
            return f"认定{ref}：{p.action or '已认定'}"
        return f"备注{ref}" + ("（关闭核对不符）" if p.closes else "")
    return KIND_WORDS.get(report.kind, report.kind)


def _row(report: Report, who: str | None, room: str, tz: Any, fate: str = "") -> dict[str, Any]:
    return {
        "id": report.id,
        "at": report.created_at.astimezone(tz).strftime("%H:%M"),
        "room_id": report.room_id,
        "room": room,
        "kind": KIND_WORDS.get(report.kind, report.kind),
        "text": summary(report),
        "by": who or "",
        "fate": fate,
    }


async def feed(db: Database, day: date, settings: Settings, *, limit: int = 30) -> list[dict[str, Any]]:
    """The latest reports of the day's rooms, newest first."""
    q = (
        sa_select(_R, _S.c.name.label("who"), _ROOM.c.room_no.label("room_no"))
        .join(_E, _E.c.id == _R.c.session_id)
        .join(_ROOM, _ROOM.c.id == _R.c.room_id)
        .outerjoin(_S, _S.c.id == _R.c.staff_id)
        .where(_E.c.day == day)
        .order_by(_R.c.created_at.desc(), _R.c.id.desc())
        .limit(limit)
    )
    async with db.read() as s:
        rows = (await (await s.connection()).execute(q)).mappings().all()
    out = []
    for m in rows:
        data = {k: m[k] for k in Report.model_fields if k in m}
        out.append(_row(Report(**data), m["who"], room_label(Room(room_no=m["room_no"], session_id=0)), settings.tz))
    return out


async def room_history(db: Database, room_id: int, settings: Settings) -> dict[str, Any] | None:
    """A room's session, every report row oldest first with what became of it, and its acknowledgements."""
    tz = settings.tz
    a = ReminderAck.__table__  # type: ignore[attr-defined]
    async with db.read() as s:
        conn = await s.connection()
        head = (
            (
                await conn.execute(
                    sa_select(
                        _ROOM.c.room_no, _ROOM.c.location, _ROOM.c.expected, _E.c.code, _E.c.occupation, _E.c.level
                    )
                    .join(_E, _E.c.id == _ROOM.c.session_id)
                    .where(_ROOM.c.id == room_id)
                )
            )
            .mappings()
            .first()
        )
        if head is None:
            return None
        rows = (
            (
                await conn.execute(
                    sa_select(_R, _S.c.name.label("who"))
                    .outerjoin(_S, _S.c.id == _R.c.staff_id)
                    .where(_R.c.room_id == room_id)
                    .order_by(_R.c.created_at, _R.c.id)
                )
            )
            .mappings()
            .all()
        )
        acks = (
            await conn.execute(
                sa_select(a.c.step, a.c.at, _S.c.name)
                .outerjoin(_S, _S.c.id == a.c.staff_id)
                .where(a.c.room_id == room_id)
                .order_by(a.c.at)
            )
        ).all()
    label = room_label(Room(room_no=head["room_no"], session_id=0))
    reports = [Report(**{k: m[k] for k in Report.model_fields if k in m}) for m in rows]
    later = {r.supersedes_id: r for r in reports if r.supersedes_id is not None}
    records = []
    for r, m in zip(reports, rows, strict=True):
        nxt = later.get(r.id)
        fate = "" if nxt is None else ("已撤销" if nxt.revoked else f"已被第 {nxt.id} 号更正")
        records.append(_row(r, m["who"], label, tz, fate))
    return {
        "room": label,
        "location": head["location"],
        "session": head["code"],
        "occupation": f"{head['occupation']} {head['level']}".strip(),
        "expected": head["expected"],
        "records": records,
        "acks": [{"step": step, "at": at.astimezone(tz).strftime("%H:%M"), "by": who or ""} for step, at, who in acks],
    }

"""A day's 考场情况记录表 read from the database into plain dataclasses (nothing here writes a file).

Everything comes from the reports in force (:func:`bot.store.reports.reports_in_force`): the latest 缺考 list of a
room, its papers handout and collection checked as :class:`bot.store.papers.PapersState` checks them, violations
with their second confirmation (/确认) and the office's ruling (/认定), incidents; a row entered late carries its
补录 mark (``payload["backfill"]``). Candidate data is not masked: this is the office's record.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.papers import (
    PapersState,
    absent_payload,
    handover_checks,
    handover_words,
    papers_payload,
    present_of,
    split_papers,
)
from bot.store.reports import (
    AbsentPayload,
    IncidentPayload,
    PapersPayload,
    RefPayload,
    ViolationPayload,
    reports_in_force,
    violation_disputes,
)
from bot.store.rooms import room_label, sessions_of_day
from bot.store.tables import (
    KIND_LABELS,
    Assignment,
    Candidate,
    Duty,
    ExamSession,
    Report,
    Room,
    Staff,
    duty_label,
)

KINDS = ["absent", "violation", "papers", "incident", "finding", "confirm", "determination", "note"]
DUTY_ORDER = {Duty.CHIEF: 0, Duty.DEPUTY: 1, Duty.EVALUATOR: 2, Duty.SUPERVISOR: 3}
DEDUCT = "扣分"  # as handlers/violation_words.py: a deduction shows its points

# The columns of a violation that the violations sheet and the CSV share, in order.
VIOLATION_COLUMNS = ("违纪类型", "现场处理", "说明", "报告人", "第二人确认", "办公室认定", "补录")


@dataclass(frozen=True)
class Absentee:
    """One absent candidate of a room."""

    ticket: str
    name: str
    seat: str


@dataclass(frozen=True)
class ViolationRecord:
    """One violation in force, with its confirmation and ruling in words."""

    number: int  # the 编号 staff use: the first row of the chain
    time: str  # HH:MM, local
    ticket: str
    name: str
    seat: str
    type: str
    action: str  # on-the-spot action (未填写 when none)
    note: str
    reporter: str
    serious: bool
    confirmation: str  # 李强 08:45 / 待确认 / 不需要
    ruling: str  # 宣布成绩无效（说明）钱进 10:05 / 未认定
    backfill: str  # 补录（钱进 12-05 16:20） or ""


@dataclass(frozen=True)
class IncidentRecord:
    """One incident (or a supervisor's finding, /督导意见) in force."""

    number: int
    time: str
    text: str
    reporter: str
    backfill: str


# The 答题卡 cell of a practical room (实操考单, no answer cards).
NO_SHEETS = "—"


@dataclass(frozen=True)
class PapersRecord:
    """A room's papers: handout, collection and how it reconciles now."""

    handed_out: int | None
    collected: int | None
    answered: int | str | None  # NO_SHEETS in a practical room
    blank: int | None
    spoiled: int | None
    status: str  # 已核对 / 核对不符：… / 未回收 / 未报领取 / 待补报…
    reconciled: bool
    recount: str  # “复点（前次 回收 30 答题卡 28 空白 1 损坏 0）” or ""
    backfill: str
    handover: str = ""  # the other invigilator's check of the 领取 count: “李强 核对✓ 08:41”, “待第二人核对”…


@dataclass(frozen=True)
class StaffOnDuty:
    """Who worked in the room, as the form names the duty."""

    duty: str
    name: str


@dataclass
class RoomRecord:
    """One 考场情况记录表: a room of a session."""

    session_code: str
    occupation: str
    level: str
    kind: str  # 理论 / 实操 / 上机
    day: date
    starts: datetime  # local
    ends: datetime
    room: str  # 第1考场
    location: str
    expected: int
    present: int
    absent_count: int
    absent_state: str  # 已报 / 无缺考 / 未报
    absent_backfill: str
    absentees: list[Absentee] = field(default_factory=list)
    unnamed_absent: int = 0  # absentees reported by head count only
    violations: list[ViolationRecord] = field(default_factory=list)
    incidents: list[IncidentRecord] = field(default_factory=list)
    findings: list[IncidentRecord] = field(default_factory=list)  # 督导意见
    papers: PapersRecord | None = None
    staff: list[StaffOnDuty] = field(default_factory=list)
    cancelled: bool = False


@dataclass
class DayRecords:
    """The records of a day (or of one session of it)."""

    day: date
    rooms: list[RoomRecord]


def backfill_text(payload: dict[str, Any], tz: ZoneInfo) -> str:
    """“补录（张主任 12-05 16:20）” for a row entered late, else "" (as handlers/_reports.py shows it)."""
    mark = payload.get("backfill")
    if not isinstance(mark, dict):
        return ""
    try:
        at = datetime.fromisoformat(str(mark.get("at")))
    except ValueError:
        return f"补录（{mark.get('by', '')}）"
    return f"补录（{mark.get('by', '')} {at.astimezone(tz):%m-%d %H:%M}）"


def _root(report: Report) -> int:
    root = report.payload.get("root")
    return int(root) if root else int(report.id or 0)


def _action_text(payload: dict[str, Any], action: str | None) -> str:
    points = payload.get("points")
    if action == DEDUCT and points:
        return f"扣{int(points)}分"
    return action or "未填写"


async def _staff_names(s: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = (await s.exec(select(Staff.id, Staff.name).where(col(Staff.id).in_(ids)))).all()
    return {sid: name for sid, name in rows if sid is not None}


async def _candidates(s: AsyncSession, room_ids: list[int]) -> dict[int, dict[str, tuple[str, str]]]:
    """(name, seat) by ticket, per room."""
    out: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)
    rows = (
        await s.exec(
            select(Candidate.room_id, Candidate.ticket_no, Candidate.name, Candidate.seat).where(
                col(Candidate.room_id).in_(room_ids)
            )
        )
    ).all()
    for rid, ticket, name, seat in rows:
        out[rid][ticket] = (name, seat or "")
    return out


async def _duties(s: AsyncSession, room_ids: list[int]) -> dict[int, list[tuple[Duty, int, str]]]:
    out: dict[int, list[tuple[Duty, int, str]]] = defaultdict(list)
    rows = (
        await s.exec(
            select(Assignment.room_id, Assignment.duty, Staff.id, Staff.name)
            .join(Staff, col(Staff.id) == col(Assignment.staff_id))
            .where(col(Assignment.room_id).in_(room_ids))
        )
    ).all()
    for rid, duty, sid, name in rows:
        out[rid].append((Duty(duty), int(sid or 0), name))
    for items in out.values():
        items.sort(key=lambda d: (DUTY_ORDER[d[0]], d[1]))
    return out


async def read_day(
    s: AsyncSession, day: date, tz: ZoneInfo, *, session_code: str | None = None, with_cancelled: bool = False
) -> DayRecords:
    """The 考场情况记录表 of every room of ``day`` (of one session when ``session_code``), by start and room."""
    pairs = await sessions_of_day(s, day, with_cancelled=with_cancelled)
    if session_code is not None:
        pairs = [(r, sess) for r, sess in pairs if sess.code == session_code]
    room_ids = [r.id for r, _sess in pairs if r.id is not None]
    rows = await reports_in_force(s, KINDS, room_ids)
    by_room: dict[int, list[Report]] = defaultdict(list)
    for r in rows:
        if r.room_id is not None:
            by_room[r.room_id].append(r)
    candidates = await _candidates(s, room_ids) if room_ids else {}
    duties = await _duties(s, room_ids) if room_ids else {}
    names = await _staff_names(s, {r.staff_id for r in rows if r.staff_id is not None})
    handout, collect = split_papers(rows)
    absent = {r.room_id: r for r in rows if r.kind == "absent" and r.room_id is not None}
    notes = [RefPayload.from_payload(r.payload) for r in rows if r.kind == "note"]
    papers = PapersState(handout, collect, absent, {n.ref for n in notes if n.closes})
    checks = await handover_checks(s, handout.values())
    disputes = await violation_disputes(s, [_root(r) for r in rows if r.kind == "violation"])
    out = [
        _room_record(
            room,
            sess,
            tz,
            by_room.get(room.id or 0, []),
            candidates.get(room.id or 0, {}),
            duties.get(room.id or 0, []),
            names,
            papers,
            checks,
            disputes,
        )
        for room, sess in pairs
    ]
    return DayRecords(day, out)


def _room_record(
    room: Room,
    sess: ExamSession,
    tz: ZoneInfo,
    rows: list[Report],
    cands: dict[str, tuple[str, str]],
    duties: list[tuple[Duty, int, str]],
    names: dict[int, str],
    papers: PapersState,
    checks: dict[int, tuple[str, str, object]],
    disputes: dict[int, tuple[str, datetime]],
) -> RoomRecord:
    absent_rows = [r for r in rows if r.kind == "absent"]
    last_absent = absent_rows[-1] if absent_rows else None
    ap = absent_payload(last_absent)
    rec = RoomRecord(
        session_code=sess.code,
        occupation=sess.occupation,
        level=sess.level,
        kind=KIND_LABELS[sess.kind],
        day=sess.day,
        starts=sess.starts_at.astimezone(tz),
        ends=sess.ends_at.astimezone(tz),
        room=room_label(room),
        location=room.location,
        expected=room.expected,
        present=present_of(ap, room.expected),
        absent_count=ap.count if ap else 0,
        absent_state=_absent_state(ap),
        absent_backfill=backfill_text(last_absent.payload, tz) if last_absent else "",
        staff=[StaffOnDuty(duty_label(d, sess.kind), name) for d, _sid, name in duties],
        cancelled=sess.cancelled_at is not None or room.cancelled_at is not None,
    )
    if ap is not None:
        rec.absentees = [Absentee(t, *cands.get(t, ("", ""))) for t in ap.tickets]
        rec.unnamed_absent = max(0, ap.count - len(ap.tickets))
    rec.violations = _violations(rows, cands, names, tz, disputes)
    rec.incidents = _texts(rows, "incident", names, tz)
    rec.findings = _texts(rows, "finding", names, tz)
    rec.papers = _papers(room, papers, tz, checks)
    return rec


def _texts(rows: list[Report], kind: str, names: dict[int, str], tz: ZoneInfo) -> list[IncidentRecord]:
    """The room's rows of ``kind`` whose payload is typed text (incidents, findings), oldest first."""
    return [
        IncidentRecord(
            _root(r),
            f"{r.created_at.astimezone(tz):%H:%M}",
            IncidentPayload.from_payload(r.payload).text,
            names.get(r.staff_id or 0, ""),
            backfill_text(r.payload, tz),
        )
        for r in rows
        if r.kind == kind
    ]


def _absent_state(ap: AbsentPayload | None) -> str:
    if ap is None:
        return "未报"
    return "已报：无缺考" if ap.none or ap.count == 0 else "已报"


def _violations(
    rows: list[Report],
    cands: dict[str, tuple[str, str]],
    names: dict[int, str],
    tz: ZoneInfo,
    disputes: dict[int, tuple[str, datetime]],
) -> list[ViolationRecord]:
    confirms: dict[int, list[Report]] = defaultdict(list)
    rulings: dict[int, Report] = {}
    for r in rows:
        if r.kind == "confirm":
            confirms[RefPayload.from_payload(r.payload).ref].append(r)
        elif r.kind == "determination":
            rulings[RefPayload.from_payload(r.payload).ref] = r
    out = []
    for r in rows:
        if r.kind != "violation":
            continue
        p = ViolationPayload.from_payload(r.payload)
        root = _root(r)
        name, seat = cands.get(p.ticket, ("", ""))
        seat = str(r.payload.get("seat") or seat)
        confirmed = confirms.get(root, [])
        if confirmed:
            confirmation = "；".join(
                f"{names.get(c.staff_id or 0, '')} {c.created_at.astimezone(tz):%H:%M}" for c in confirmed
            )
        elif root in disputes and p.serious:
            by, at = disputes[root]
            confirmation = f"{by} 有异议 {at.astimezone(tz):%H:%M}（未确认）"
        else:
            confirmation = "待确认" if p.serious else "不需要"
        ruling = "未认定"
        if root in rulings:
            rr = rulings[root]
            rp = RefPayload.from_payload(rr.payload)
            ruling = rp.action + (f"（{rp.note}）" if rp.note else "")
            ruling += f" {names.get(rr.staff_id or 0, '')} {rr.created_at.astimezone(tz):%m-%d %H:%M}"
        out.append(
            ViolationRecord(
                number=root,
                time=f"{r.created_at.astimezone(tz):%H:%M}",
                ticket=p.ticket,
                name=name,
                seat=seat,
                type=p.type,
                action=_action_text(r.payload, p.action),
                note=p.note,
                reporter=names.get(r.staff_id or 0, ""),
                serious=p.serious,
                confirmation=confirmation,
                ruling=ruling.strip(),
                backfill=backfill_text(r.payload, tz),
            )
        )
    return out


def _papers(room: Room, state: PapersState, tz: ZoneInfo, checks: dict[int, tuple[str, str, object]]) -> PapersRecord:
    rid = room.id or 0
    h, c = state.handout.get(rid), state.collect.get(rid)
    handover = handover_words(checks.get(h.id), tz) if h is not None and h.id is not None else ""
    hp: PapersPayload | None = papers_payload(h)
    cp: PapersPayload | None = papers_payload(c)
    rank, words = state.status(room)
    recount = ""
    if cp is not None and cp.previous is not None:
        a, b, bl, sp = cp.previous
        sheets = "" if b is None and not cp.sheets else f" 答题卡 {'-' if b is None else b}"
        recount = f"复点（前次 回收 {a}{sheets} 空白 {bl} 损坏 {sp}）"
    marks = [backfill_text(x.payload, tz) for x in (h, c) if x is not None]
    return PapersRecord(
        handed_out=hp.count if hp else None,
        collected=cp.count if cp else None,
        answered=(cp.answered if cp.sheets else NO_SHEETS) if cp else None,
        blank=cp.blank if cp else None,
        spoiled=cp.spoiled if cp else None,
        status=words,
        reconciled=rank == 2 and words == "已核对",
        recount=recount,
        backfill="；".join(m for m in marks if m),
        handover=handover,
    )

"""The report read model: which reports are in force, who the office is, and what a report's payload says.

Reports are append-only (see :class:`~bot.store.tables.Report`): a correction or revocation is a new row
superseding an old one, so "the reports that count" is a query, written once here and used by the chat
commands, the office board, the daily digest and the follow-up conditions of the outbox alike.

``Report.payload`` is a JSON dict whose keys depend on the report kind; the frozen dataclasses below
say which keys the chat commands write, and their ``from_payload`` is the one place that reads them
(tolerating a missing key the way the readers always did). Writing stays with the commands.

Everything here works on an :class:`~sqlmodel.ext.asyncio.session.AsyncSession` (the chat commands,
which get :class:`Report` rows of their session) or on a plain :class:`AsyncConnection` (the scheduler
and the outbox, SQLAlchemy core), and never imports the handlers, the scheduler or the web server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.tables import AuditLog, Report, Role, Staff

# Either way of talking to the database; the read model answers on both.
Reader = AsyncSession | AsyncConnection

_R = Report.__table__  # type: ignore[attr-defined]
_S = Staff.__table__  # type: ignore[attr-defined]

# What a follow-up condition (``{"type": "report", "report": ...}``) may ask for; the same values as
# scheduler.timeline.FollowUp, which the store may not import.
ABSENT_REPORT = "absent"  # a /缺考 report
PAPERS_HANDOUT = "papers_handout"  # a /试卷 领取 report (asked for when a collection came without one)
PAPERS_COLLECT = "papers_collect"  # a /试卷 回收 report


def _data(payload: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The payload as a mapping (a row written by hand may hold null)."""
    return payload if isinstance(payload, Mapping) else {}


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


# ---------------------------------------------------------------------------------------------------------------------
# Typed payloads, one per report kind


@dataclass(frozen=True)
class AbsentPayload:
    """A /缺考 report: the absentees' tickets (or “无”), and 应考 / 实考 / 缺考 as they were when recorded."""

    tickets: tuple[str, ...] = ()
    none: bool = False  # “无”: nobody absent
    count: int = 0
    expected: int = 0
    present: int | None = None  # None only on a row without it: readers then take 应考
    # What this report did to the room's list (the fields above are the whole resulting list): ABSENT_ADD,
    # ABSENT_REMOVE or ABSENT_NONE; "" on a row written before reports added up, or by /更正 (a new list).
    op: str = ""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    already: tuple[str, ...] = ()  # named again while already on the list (nothing done for them)
    added_count: int = 0  # absentees added by head count only (a room without a candidate list)
    reason: str = ""  # why names were removed, as typed

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any] | None) -> AbsentPayload:
        """Read what /缺考 wrote."""
        p = _data(payload)
        return cls(
            tickets=tuple(str(t) for t in p.get("tickets") or ()),
            none=bool(p.get("none", False)),
            count=int(p.get("count", 0)),
            expected=int(p.get("expected", 0)),
            present=_int_or_none(p.get("present")),
            op=str(p.get("op") or ""),
            added=tuple(str(t) for t in p.get("added") or ()),
            removed=tuple(str(t) for t in p.get("removed") or ()),
            already=tuple(str(t) for t in p.get("already") or ()),
            added_count=int(p.get("added_count") or 0),
            reason=str(p.get("reason") or ""),
        )


ABSENT_ADD = "add"  # names (or a head count) added to the room's list
ABSENT_REMOVE = "remove"  # names taken off it (/缺考 删)
ABSENT_NONE = "none"  # /缺考 无: nobody absent (after confirmation when names were recorded)


HANDOUT = "handout"
COLLECT = "collect"


@dataclass(frozen=True)
class PapersPayload:
    """A /试卷 report: a handout (count only) or a collection (counts, and how it checked when recorded)."""

    action: str = ""  # HANDOUT or COLLECT
    count: int = 0
    answered: int | None = 0  # 答题卡; None when the collection did not say (not read as the whole count)
    blank: int = 0
    spoiled: int = 0
    handed_out: int | None = None  # the handout at the time of the collection (None: none reported)
    present: int | None = None  # 实考 at the time of the collection
    reconciled: bool = False
    problems: tuple[str, ...] = ()
    # A second collection of the room is a recount (复点): it stands, and keeps the earlier count for the record.
    recount_of: int | None = None  # the 编号 of the collection it recounts
    previous: tuple[int, int | None, int, int] | None = None  # that one's 回收, 答题卡 (None: not given), 空白, 损坏
    # A practical exam hands out 实操考单, not answer cards (试题管理岗位职责 5 names them apart): nothing to ask.
    sheets: bool = True

    @property
    def is_handout(self) -> bool:
        """Papers handed out."""
        return self.action == HANDOUT

    @property
    def is_collect(self) -> bool:
        """Papers collected."""
        return self.action == COLLECT

    @property
    def total(self) -> int | None:
        """答题卡 + 空白 + 损坏 (None while the answer cards are not counted)."""
        return None if self.answered is None else self.answered + self.blank + self.spoiled

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any] | None) -> PapersPayload:
        """Read what /试卷 wrote."""
        p = _data(payload)
        return cls(
            action=str(p.get("action") or ""),
            count=int(p.get("count") or 0),
            answered=_int_or_none(p.get("answered")) if "answered" in p else 0,
            blank=int(p.get("blank") or 0),
            spoiled=int(p.get("spoiled") or 0),
            handed_out=_int_or_none(p.get("handed_out")),
            present=_int_or_none(p.get("present")),
            reconciled=bool(p.get("reconciled", False)),
            problems=tuple(str(x) for x in p.get("problems") or ()),
            recount_of=_int_or_none(p.get("recount_of")),
            previous=_previous(p.get("previous")),
            sheets=bool(p.get("sheets", True)),
        )


def _previous(value: Any) -> tuple[int, int | None, int, int] | None:
    """The earlier counts a recount keeps ([回收, 答题卡, 空白, 损坏]; 答题卡 None when not given), or None."""
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    a, b, c, d = value
    return (int(a or 0), None if b is None else int(b), int(c or 0), int(d or 0))


@dataclass(frozen=True)
class ViolationPayload:
    """A /违纪 report: one candidate, the type, the action taken on the spot, a note."""

    ticket: str = ""
    type: str = ""
    action: str | None = None  # None: not filled in
    note: str = ""
    serious: bool = False  # 终止考试, 宣布成绩无效 or 替考: needs a second invigilator's /确认

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any] | None) -> ViolationPayload:
        """Read what /违纪 wrote."""
        p = _data(payload)
        action = p.get("action")
        return cls(
            ticket=str(p.get("ticket") or ""),
            type=str(p.get("type") or ""),
            action=str(action) if action else None,
            note=str(p.get("note") or ""),
            serious=bool(p.get("serious", False)),
        )


@dataclass(frozen=True)
class IncidentPayload:
    """A /突发 report: what happened, as typed."""

    text: str = ""

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any] | None) -> IncidentPayload:
        """Read what /突发 wrote."""
        return cls(text=str(_data(payload).get("text") or ""))


@dataclass(frozen=True)
class FindingPayload(IncidentPayload):
    """A /督导意见 report: the supervisor's finding and what should be done, as typed."""


@dataclass(frozen=True)
class RefPayload:
    """A row about another report (/确认, /认定, /备注): the chain it belongs to and the row it named.

    ``ref`` is the first row's id of the referred chain (so it survives corrections), ``report`` the 编号
    that was typed. A determination adds ``action`` and ``note``; an office note ``text`` and ``closes``.
    """

    ref: int = 0
    report: int | None = None
    action: str = ""
    note: str = ""
    text: str = ""
    closes: bool = False

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any] | None) -> RefPayload:
        """Read what /确认, /认定 or /备注 wrote."""
        p = _data(payload)
        return cls(
            ref=int(p.get("ref") or 0),
            report=_int_or_none(p.get("report")),
            action=str(p.get("action") or ""),
            note=str(p.get("note") or ""),
            text=str(p.get("text") or ""),
            closes=bool(p.get("closes", False)),
        )


Payload = AbsentPayload | PapersPayload | ViolationPayload | IncidentPayload | RefPayload

# Report kind → its payload type (read-only: the kinds are fixed by the table's users, not registered).
PAYLOAD_TYPES: Mapping[str, type[Payload]] = MappingProxyType(
    {
        "absent": AbsentPayload,
        "papers": PapersPayload,
        "violation": ViolationPayload,
        "incident": IncidentPayload,
        "finding": FindingPayload,
        "confirm": RefPayload,
        "determination": RefPayload,
        "note": RefPayload,
    }
)


def payload_of(report: Report) -> Payload | None:
    """The typed payload of ``report`` (None for a kind without one)."""
    kind = PAYLOAD_TYPES.get(report.kind)
    return kind.from_payload(report.payload) if kind is not None else None


# ---------------------------------------------------------------------------------------------------------------------
# Reports in force


def _in_force_only() -> tuple[ColumnElement[bool], ...]:
    """Rows that count: no later row supersedes them, and not revocations."""
    superseded = sa_select(_R.c.supersedes_id).where(_R.c.supersedes_id.is_not(None))
    return (_R.c.revoked.is_(False), _R.c.id.not_in(superseded))


def _in_force(kinds: list[str], room_ids: list[int]) -> tuple[ColumnElement[bool], ...]:
    """Rows of ``kinds`` in ``room_ids`` that count."""
    return (_R.c.kind.in_(kinds), _R.c.room_id.in_(room_ids), *_in_force_only())


async def reports_in_force(db: Reader, kinds: Iterable[str], room_ids: Iterable[int]) -> list[Report]:
    """Reports of ``kinds`` in the rooms that still count (not superseded, not revocations), oldest first.

    On a session the rows belong to it; on a connection they are detached copies (read them only).
    """
    ids = list(room_ids)
    if not ids:
        return []
    where = _in_force(list(kinds), ids)
    order = (_R.c.created_at, _R.c.id)
    if isinstance(db, AsyncSession):
        return list((await db.exec(select(Report).where(*where).order_by(*order))).all())
    rows = (await db.execute(sa_select(_R).where(*where).order_by(*order))).mappings()
    return [Report(**dict(m)) for m in rows]


# How many of the latest records of a room a new one is compared with (a record typed again comes right after it;
# a room that has had thousands of incidents is not read whole for every new one).
ALIKE_AMONG = 20
# Built once with bound parameters: building the expression cost more than running it.
_ALIKE = (
    sa_select(_R.c.id, _R.c.payload)
    .where(
        _R.c.kind == bindparam("kind"),
        _R.c.room_id == bindparam("room"),
        _R.c.created_at >= bindparam("since"),
        _R.c.id != bindparam("rid"),
        *_in_force_only(),
    )
    .order_by(_R.c.id.desc())
    .limit(ALIKE_AMONG)
)


async def in_force_alike(s: AsyncSession, row: Report, since: datetime, fields: tuple[str, ...]) -> list[int]:
    """Ids of the other reports in force of ``row``'s kind and room, created at ``since`` or later, whose payload
    has ``row``'s values in ``fields``: among the ALIKE_AMONG latest, newest first."""
    if row.room_id is None:
        return []
    key = {f: row.payload.get(f) for f in fields}
    params = {"kind": row.kind, "room": row.room_id, "since": since, "rid": row.id or 0}  # 0: a row not yet stored
    rows = (await (await s.connection()).execute(_ALIKE, params)).all()
    return [rid for rid, payload in rows if all(payload.get(f) == v for f, v in key.items())]


async def has_report_in_force(conn: Reader, room_id: int, wanted: str) -> bool:
    """Whether the room has what a follow-up asks for: a 缺考 report (``wanted`` == ABSENT_REPORT), otherwise
    a papers handout (PAPERS_HANDOUT), otherwise a papers collection (PAPERS_COLLECT), in force."""
    if wanted == ABSENT_REPORT:
        return bool(await reports_in_force(conn, ["absent"], [room_id]))
    rows = await reports_in_force(conn, ["papers"], [room_id])
    if wanted == PAPERS_HANDOUT:
        return any(PapersPayload.from_payload(r.payload).is_handout for r in rows)
    return any(PapersPayload.from_payload(r.payload).is_collect for r in rows)


def follow_up_of(cond: Mapping[str, Any] | None) -> str | None:
    """What a report follow-up condition asks for (ABSENT_REPORT or PAPERS_COLLECT); None for other conditions."""
    c = _data(cond)
    wanted = c.get("report")
    return str(wanted) if c.get("type") == "report" and wanted else None


# ---------------------------------------------------------------------------------------------------------------------
# Staff by role


async def staff_with_roles(db: Reader, *roles: Role) -> list[Staff]:
    """Active staff holding any of ``roles``, by id (detached rows: read them only)."""
    # Narrowed in SQL (roles is a comma-separated list), checked exactly below: the staff list of a
    # province-wide day is thousands of invigilators, and only a handful hold these roles.
    q = (
        sa_select(_S)
        .where(_S.c.active.is_(True), or_(*(_S.c.roles.contains(r.value) for r in roles)))
        .order_by(_S.c.id)
    )
    conn = await db.connection() if isinstance(db, AsyncSession) else db
    wanted = {r.value for r in roles}
    rows = (await conn.execute(q)).mappings()
    return [Staff(**dict(m)) for m in rows if wanted.intersection((m["roles"] or "").split(","))]


async def office_staff(db: Reader) -> list[Staff]:
    """Active staff with the office role."""
    return await staff_with_roles(db, Role.OFFICE)


VIOLATION_DISPUTE = "violation_dispute"  # audit entity: the second person's 有异议 to a serious violation


async def first_audits(s: AsyncSession, entity: str, ids: Iterable[int]) -> dict[int, Any]:
    """The first audit row about each of these ids (``entity_id`` is the id as text) of ``entity``: id -> row."""
    wanted = [str(i) for i in dict.fromkeys(ids)]
    if not wanted:
        return {}
    lg = AuditLog.__table__  # type: ignore[attr-defined]
    q = lg.select().where(lg.c.entity == entity, lg.c.entity_id.in_(wanted)).order_by(lg.c.id)
    out: dict[int, Any] = {}
    for row in (await (await s.connection()).execute(q)).all():
        out.setdefault(int(row.entity_id), row)
    return out


async def violation_disputes(s: AsyncSession, roots: Iterable[int]) -> dict[int, tuple[str, datetime]]:
    """The first 有异议 to each of these violation chains (by their first row's 编号): root -> (who, when)."""
    found = await first_audits(s, VIOLATION_DISPUTE, roots)
    return {root: (str((row.detail or {}).get("by", "?")), row.at) for root, row in found.items()}

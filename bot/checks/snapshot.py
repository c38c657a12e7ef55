"""What the checks look at, loaded once: the rooms of the sessions checked, their people and candidates, the
declared relations, the senior evaluators and the evaluation panels of each occupation up to the last day checked.

How things are known (documented for the office in docs/checks.md):

- a session is an evaluation (its chief is the 考评组长, its chief and 考评员 form the panel) when it is 实操 or a 答辩;
- a session is a 答辩 (综合评审面试答辩) when its 场次, 职业 or 等级 contains “答辩”, e.g. 场次 “第5场答辩”;
- a person is a senior evaluator of an occupation when the staff list's 高级考评员 column names it (table
  ``senior_evaluator``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.tables import (
    Assignment,
    Candidate,
    ConflictRelation,
    Duty,
    ExamSession,
    Room,
    SeniorEvaluator,
    SessionKind,
    Staff,
)

DEFENSE_WORDS = ("答辩",)


def is_defense(session: ExamSession) -> bool:
    """True for a 综合评审面试答辩 session: “答辩” in its 场次, 职业 or 等级."""
    text = f"{session.code} {session.occupation} {session.level}"
    return any(w in text for w in DEFENSE_WORDS)


def is_evaluation(session: ExamSession) -> bool:
    """True when the session is run by evaluators (实操 or 答辩), not by invigilators."""
    return session.kind is SessionKind.PRACTICAL or is_defense(session)


def evaluates(session: ExamSession, duty: Duty) -> bool:
    """True when ``duty`` in ``session`` is evaluation work (考评组长 or 考评员)."""
    return duty is Duty.EVALUATOR or (duty is Duty.CHIEF and is_evaluation(session))


def day_words(d: date) -> str:
    """12月5日."""
    return f"{d.month}月{d.day}日"


@dataclass(slots=True)
class RoomView:
    """One room of a checked session with its people and candidates."""

    session: ExamSession
    room: Room
    people: list[tuple[Staff, Duty]] = field(default_factory=list)
    candidates: list[tuple[str, str]] = field(default_factory=list)  # (准考证号, 姓名)

    @property
    def label(self) -> str:
        """12月5日 第1场 第3考场."""
        return f"{day_words(self.session.day)} {self.session.code} {self.room.room_no}"

    def evaluators(self) -> list[tuple[Staff, Duty]]:
        """The people doing evaluation work in the room."""
        return [(p, d) for p, d in self.people if evaluates(self.session, d)]


@dataclass(slots=True)
class Snapshot:
    """Everything the checks need."""

    rooms: list[RoomView]
    relations: dict[int, list[ConflictRelation]] = field(default_factory=dict)  # staff id → declared relations
    seniors: set[tuple[int, str]] = field(default_factory=set)  # (staff id, occupation)
    # occupation → day → staff ids on its evaluation panels that day (every stored day up to the last checked)
    panels: dict[str, dict[date, set[int]]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)  # staff id → name, for people met only in history

    @property
    def days(self) -> list[date]:
        """The days checked."""
        return sorted({r.session.day for r in self.rooms})


async def session_ids_on(s: AsyncSession, days: Iterable[date]) -> list[int]:
    """The sessions (not cancelled) of these days."""
    wanted = sorted(set(days))
    if not wanted:
        return []
    rows = await s.exec(
        select(ExamSession.id).where(col(ExamSession.day).in_(wanted), col(ExamSession.cancelled_at).is_(None))
    )
    return [i for i in rows.all() if i is not None]


async def session_ids_from(s: AsyncSession, first: date) -> list[int]:
    """The sessions (not cancelled) of ``first`` and later days."""
    rows = await s.exec(
        select(ExamSession.id).where(col(ExamSession.day) >= first, col(ExamSession.cancelled_at).is_(None))
    )
    return [i for i in rows.all() if i is not None]


async def load_snapshot(s: AsyncSession, session_ids: list[int]) -> Snapshot:
    """The rooms (not cancelled) of these sessions, their people and candidates, and what the rules compare with."""
    if not session_ids:
        return Snapshot(rooms=[])
    rows = await s.exec(
        select(ExamSession, Room)
        .join(Room, col(Room.session_id) == col(ExamSession.id))
        .where(col(ExamSession.id).in_(session_ids), col(Room.cancelled_at).is_(None))
        .order_by(col(ExamSession.starts_at), col(ExamSession.id), col(Room.id))
    )
    views = {room.id: RoomView(session, room) for session, room in rows.all() if room.id is not None}
    snap = Snapshot(rooms=list(views.values()))
    if not views:
        return snap
    people = await s.exec(
        select(Assignment, Staff)
        .join(Staff, col(Staff.id) == col(Assignment.staff_id))
        .where(col(Assignment.room_id).in_(list(views)))
        .order_by(col(Assignment.id))
    )
    for a, person in people.all():
        views[a.room_id].people.append((person, a.duty))
    tickets = await s.exec(select(Candidate).where(col(Candidate.room_id).in_(list(views))).order_by(col(Candidate.id)))
    for c in tickets.all():
        views[c.room_id].candidates.append((c.ticket_no, c.name))
    staff_ids = sorted({p.id for v in views.values() for p, _ in v.people if p.id is not None})
    if staff_ids:
        for rel in (await s.exec(select(ConflictRelation).where(col(ConflictRelation.staff_id).in_(staff_ids)))).all():
            snap.relations.setdefault(rel.staff_id, []).append(rel)
        seniors = await s.exec(select(SeniorEvaluator).where(col(SeniorEvaluator.staff_id).in_(staff_ids)))
        snap.seniors = {(x.staff_id, x.occupation) for x in seniors.all()}
    await _load_panels(s, snap)
    return snap


async def _load_panels(s: AsyncSession, snap: Snapshot) -> None:
    """Every stored evaluation panel of the checked occupations up to the last day checked."""
    occupations = sorted({v.session.occupation for v in snap.rooms if is_evaluation(v.session)})
    if not occupations:
        return
    last = max(snap.days)
    rows = await s.exec(
        select(ExamSession, Assignment, Staff)
        .join(Room, col(Room.session_id) == col(ExamSession.id))
        .join(Assignment, col(Assignment.room_id) == col(Room.id))
        .join(Staff, col(Staff.id) == col(Assignment.staff_id))
        .where(
            col(ExamSession.occupation).in_(occupations),
            col(ExamSession.day) <= last,
            col(ExamSession.cancelled_at).is_(None),
            col(Room.cancelled_at).is_(None),
        )
    )
    panels: dict[str, dict[date, set[int]]] = defaultdict(lambda: defaultdict(set))
    for session, a, person in rows.all():
        if evaluates(session, a.duty) and person.id is not None:
            panels[session.occupation][session.day].add(person.id)
            snap.names[person.id] = person.name
    snap.panels = {occ: dict(days) for occ, days in panels.items()}

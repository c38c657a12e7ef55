"""Bring the database in line with a schedule plan: sessions, rooms and assignments, keyed by 场次 + 考场."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import col as column
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.importer.apply import Recorder, day_text, diff
from bot.importer.parse import name_key, room_key
from bot.importer.problems import Problem
from bot.importer.schedule import PersonRef, SchedulePlan, SessionSpec
from bot.store.tables import DUTY_LABELS, KIND_LABELS, Assignment, Duty, ExamSession, Role, Room, Staff

DUTY_RANK: dict[Duty, int] = {Duty.CHIEF: 0, Duty.DEPUTY: 1, Duty.EVALUATOR: 2, Duty.SUPERVISOR: 3}
SESSION_FIELDS = ["code", "occupation", "level", "kind", "day", "starts_at", "ends_at"]
ROOM_FIELDS = ["session_id", "room_no", "location", "expected", "group_chat", "robot_webhook", "robot_secret"]
ASSIGNMENT_FIELDS = ["room_id", "staff_id", "duty"]


@dataclass(slots=True)
class Resolved:
    """Staff ids on duty per (session code, room key), highest duty kept."""

    duties: dict[tuple[date, str, str], dict[int, Duty]] = field(default_factory=dict)  # (day, code, room key)
    staff: dict[int, Staff] = field(default_factory=dict)


async def resolve_people(s: AsyncSession, plan: SchedulePlan, file: str) -> tuple[Resolved, list[Problem], list[str]]:
    """Match every name to exactly one staff member; problems for unknown or ambiguous names, plus warnings."""
    everyone = list((await s.exec(select(Staff))).all())
    by_name: dict[str, list[Staff]] = defaultdict(list)
    for person in everyone:
        by_name[name_key(person.name)].append(person)
    out = Resolved(staff={p.id: p for p in everyone if p.id is not None})
    problems: list[Problem] = []
    warnings: list[str] = []

    def find(ref: PersonRef) -> Staff | None:
        matches = by_name.get(name_key(ref.name), [])
        if len(matches) > 1:
            active = [m for m in matches if m.active]
            matches = active if len(active) == 1 else matches
        if len(matches) == 1:
            return matches[0]
        reason = (
            f"“{ref.name}”不在人员名单中，请先导入人员名单或检查姓名是否写错"
            if not matches
            else f"人员名单中有 {len(matches)} 位“{ref.name}”，无法确定是哪一位；请在人员名单中区分姓名后再导入"
        )
        problems.append(Problem(file, reason, sheet=ref.sheet, row=ref.row, column=ref.column))
        return None

    for spec in plan.sessions.values():
        for room in spec.rooms.values():
            duties: dict[int, Duty] = {}
            for ref in room.people:
                person = find(ref)
                if person is None or person.id is None:
                    continue
                old = duties.get(person.id)
                if old is None or DUTY_RANK[ref.duty] < DUTY_RANK[old]:
                    duties[person.id] = ref.duty
                if not person.active:
                    warnings.append(
                        f"{spec.code}/{room.room_no}：{person.name} 已停用，但本文件仍安排其为{DUTY_LABELS[ref.duty]}"
                    )
                if ref.duty == Duty.EVALUATOR and not person.has_role(Role.EVALUATOR):
                    warnings.append(
                        f"{spec.code}/{room.room_no}：{person.name} 被安排为考评员，但人员名单中没有考评员角色"
                    )
            out.duties[(spec.day, spec.code, room.key)] = duties
    warnings += _overlaps(plan, out)
    return out, problems, warnings


def _overlaps(plan: SchedulePlan, resolved: Resolved) -> list[str]:
    """People on duty in two rooms at overlapping times."""
    slots: dict[int, list[tuple[SessionSpec, str]]] = defaultdict(list)
    for spec in plan.sessions.values():
        for room in spec.rooms.values():
            for staff_id in resolved.duties.get((spec.day, spec.code, room.key), {}):
                slots[staff_id].append((spec, room.room_no))
    out: list[str] = []
    for staff_id, items in slots.items():
        for i, (a, room_a) in enumerate(items):
            for b, room_b in items[i + 1 :]:
                if a.day == b.day and a.start < b.end and b.start < a.end:
                    name = resolved.staff[staff_id].name
                    out.append(f"{name} 同时被安排在 {a.code}/{room_a} 和 {b.code}/{room_b}（时间重叠）")
    return out


def _session_line(spec: SessionSpec) -> str:
    level = f" {spec.level}" if spec.level else ""
    return (
        f"{spec.code}：{spec.occupation}{level} {KIND_LABELS[spec.kind]} "
        f"{spec.day.isoformat()} {spec.start:%H:%M}-{spec.end:%H:%M}"
    )


def _clock(starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> str:
    return f"{starts_at.astimezone(tz):%H:%M}-{ends_at.astimezone(tz):%H:%M}"


def _stored_line(x: ExamSession, tz: ZoneInfo) -> str:
    level = f" {x.level}" if x.level else ""
    when = f"{day_text(x.day)} {_clock(x.starts_at, x.ends_at, tz)}"
    return f"{x.code}：{x.occupation}{level} {KIND_LABELS[x.kind]} {when}"


async def _live_room_keys(s: AsyncSession, session_ids: list[int]) -> dict[int, set[str]]:
    """The room keys of the rooms not cancelled, per session."""
    out: dict[int, set[str]] = defaultdict(set)
    if session_ids:
        rooms = await s.exec(select(Room).where(column(Room.session_id).in_(session_ids)))
        for room in rooms.all():
            if room.cancelled_at is None:
                out[room.session_id].add(room_key(room.room_no))
    return out


async def match_sessions(
    s: AsyncSession, plan: SchedulePlan, on_days: list[ExamSession]
) -> tuple[dict[tuple[date, str], ExamSession], set[tuple[date, str]]]:
    """The stored session of each session of the file, and which of them were found by content, not by code.

    A session is found by its (day, 场次) first. One not found that way is the same session moved when exactly one
    stored session of its day, not claimed by another, not cancelled, has its occupation, level, kind and rooms:
    a code derived from the start time (a file without 场次) changes when the session is moved.
    """
    existing = {(x.day, x.code): x for x in on_days}
    matched = {key: existing[key] for key in plan.sessions if key in existing}
    claimed = {x.id for x in matched.values()}
    rooms = await _live_room_keys(s, [x.id for x in on_days if x.id is not None])
    moved: set[tuple[date, str]] = set()
    for key, spec in plan.sessions.items():
        if key in matched:
            continue
        options = [
            x
            for x in on_days
            if x.id not in claimed
            and x.cancelled_at is None
            and (x.day, x.occupation, x.level, x.kind) == (spec.day, spec.occupation, spec.level, spec.kind)
            and rooms.get(x.id or 0, set()) == set(spec.rooms)
        ]
        if len(options) == 1:
            matched[key] = options[0]
            claimed.add(options[0].id)
            moved.add(key)
    return matched, moved


async def write_schedule(
    s: AsyncSession, plan: SchedulePlan, resolved: Resolved, rec: Recorder, tz: ZoneInfo, *, prune: bool = False
) -> list[int]:
    """Create or update sessions, rooms and assignments; returns the ids of sessions whose times or rooms changed.

    Sessions and rooms of the file's days that the file does not list are listed in ``rec.result.missing``;
    with ``prune`` they are cancelled (``cancelled_at`` set, the rows and their reports kept) and their ids
    returned too, so their reminders are cancelled.
    """
    changed: set[int] = set()
    days = sorted({day for day, _code in plan.sessions})
    on_days = list((await s.exec(select(ExamSession).where(column(ExamSession.day).in_(days)))).all())
    matched, moved = await match_sessions(s, plan, on_days)
    claimed = {x.id for x in matched.values()}
    for x in sorted(on_days, key=lambda x: (x.day, x.starts_at, x.code)):
        if x.id in claimed or x.cancelled_at is not None:
            continue
        line = _stored_line(x, tz)
        if prune:
            await rec.mark("场次", x, {"cancelled_at": rec.now}, "cancel", line)
            assert x.id is not None
            changed.add(x.id)
        else:
            rec.result.missing.append(f"场次 {line}")
    for key, spec in plan.sessions.items():
        wanted = {
            "occupation": spec.occupation,
            "level": spec.level,
            "kind": spec.kind,
            "day": spec.day,
            "starts_at": datetime.combine(spec.day, spec.start, tzinfo=tz).astimezone(UTC),
            "ends_at": datetime.combine(spec.day, spec.end, tzinfo=tz).astimezone(UTC),
        }
        session = matched.get(key)
        if session is None:
            session = await rec.create(
                "场次", ExamSession(code=spec.code, **wanted), _session_line(spec), SESSION_FIELDS
            )
            assert session.id is not None
            changed.add(session.id)
        else:
            line = session.code
            if key in moved:
                line += f"（{spec.occupation} {KIND_LABELS[spec.kind]}，按职业、等级、考试类型和考场认定为同一场次）"
            what = None
            if set(diff(session, wanted)) <= {"starts_at", "ends_at"}:
                old, new = _clock(session.starts_at, session.ends_at, tz), f"{spec.start:%H:%M}-{spec.end:%H:%M}"
                what = f"时间由 {old} 改为 {new}"
            if await rec.update("场次", session, wanted, line, what=what):
                assert session.id is not None
                changed.add(session.id)
            if session.cancelled_at is not None:
                rec.result.warnings.append(f"场次“{session.code}”已取消，本文件中仍有该场次：未恢复，也不会发送提醒")
        assert session.id is not None
        if await _write_rooms(s, spec, session.code, session.id, resolved, rec, prune=prune):
            changed.add(session.id)
    return sorted(changed)


async def _write_rooms(
    s: AsyncSession, spec: SessionSpec, code: str, session_id: int, resolved: Resolved, rec: Recorder, *, prune: bool
) -> bool:
    rooms = list((await s.exec(select(Room).where(Room.session_id == session_id))).all())
    by_key: dict[str, Room] = {}
    for room in sorted(rooms, key=lambda r: r.id or 0):
        by_key.setdefault(room_key(room.room_no), room)
    for room in rooms:  # an exact spelling wins over another spelling of the same number
        for key, spec_room in spec.rooms.items():
            if room.room_no == spec_room.room_no:
                by_key[key] = room
    changed = False
    for key, spec_room in spec.rooms.items():
        wanted: dict[str, object] = {"room_no": spec_room.room_no}
        for attr in ("location", "expected", "group_chat", "robot_webhook", "robot_secret"):
            value = getattr(spec_room, attr)
            if value is not None:
                wanted[attr] = value
        where = f"{code}/{spec_room.room_no}"
        room = by_key.get(key)
        if room is None:
            detail = f"（{spec_room.location}）" if spec_room.location else ""
            room = await rec.create("考场", Room(session_id=session_id, **wanted), where + detail, ROOM_FIELDS)  # type: ignore[arg-type]
            changed = True
        elif await rec.update("考场", room, wanted, where):
            changed = True
        if room.cancelled_at is not None:
            rec.result.warnings.append(f"考场 {where} 已取消，本文件中仍有该考场：未恢复，也不会发送提醒")
        assert room.id is not None
        duties = resolved.duties.get((spec.day, spec.code, key), {})
        if await _write_assignments(s, room.id, where, duties, resolved, rec):
            changed = True
    listed = {by_key.get(k).id for k in spec.rooms if by_key.get(k) is not None}  # type: ignore[union-attr]
    for room in rooms:
        if room.id in listed or room.cancelled_at is not None:
            continue
        line = f"{code}/{room.room_no}" + (f"（{room.location}）" if room.location else "")
        if prune:
            await rec.mark("考场", room, {"cancelled_at": rec.now}, "cancel", line)
            changed = True
        else:
            rec.result.missing.append(f"考场 {line}")
    return changed


async def _write_assignments(
    s: AsyncSession, room_id: int, where: str, duties: dict[int, Duty], resolved: Resolved, rec: Recorder
) -> bool:
    current = {a.staff_id: a for a in (await s.exec(select(Assignment).where(Assignment.room_id == room_id))).all()}
    changed = False

    def who(staff_id: int) -> str:
        person = resolved.staff.get(staff_id)
        return person.name if person else f"#{staff_id}"

    for staff_id, assignment in current.items():
        if staff_id not in duties:
            line = f"{where} {who(staff_id)}（{DUTY_LABELS[assignment.duty]}）"
            await rec.delete("人员安排", assignment, line, ASSIGNMENT_FIELDS)
            changed = True
    for staff_id, duty in sorted(duties.items(), key=lambda kv: (DUTY_RANK[kv[1]], kv[0])):
        assignment = current.get(staff_id)
        if assignment is None:
            new = Assignment(room_id=room_id, staff_id=staff_id, duty=duty)
            await rec.create("人员安排", new, f"{where} {who(staff_id)}（{DUTY_LABELS[duty]}）", ASSIGNMENT_FIELDS)
            changed = True
        elif await rec.update("人员安排", assignment, {"duty": duty}, f"{where} {who(staff_id)}"):
            changed = True
    return changed

"""Double booking: one person in two rooms at once (error), two rooms in one place at once (warning), and a roster
larger than the room's 应考 (warning)."""

from __future__ import annotations

from collections import defaultdict

from bot.checks.finding import LOCATION, ONE_PLACE, ROSTER, Finding, error, warning
from bot.checks.snapshot import RoomView, Snapshot
from bot.store.tables import Duty


def _overlap(a: RoomView, b: RoomView) -> bool:
    return a.session.starts_at < b.session.ends_at and b.session.starts_at < a.session.ends_at


def check_people_overlap(snap: Snapshot) -> list[Finding]:
    """A person on duty (督导 aside: they go from room to room) in two rooms whose times overlap."""
    where: dict[int, list[tuple[RoomView, str]]] = defaultdict(list)
    for view in snap.rooms:
        for person, duty in view.people:
            if duty is not Duty.SUPERVISOR and person.id is not None:
                where[person.id].append((view, person.name))
    out: list[Finding] = []
    for items in where.values():
        for i, (a, name) in enumerate(items):
            for b, _ in items[i + 1 :]:
                if _overlap(a, b):
                    out.append(error(f"{name} 同时被安排在 {a.label} 和 {b.label}（时间重叠）", ONE_PLACE))
    return out


def check_location_overlap(snap: Snapshot) -> list[Finding]:
    """Two rooms with the same 考场地点 at overlapping times."""
    by_place: dict[str, list[RoomView]] = defaultdict(list)
    for view in snap.rooms:
        place = "".join(view.room.location.split())
        if place:
            by_place[place].append(view)
    out: list[Finding] = []
    for place, views in by_place.items():
        for i, a in enumerate(views):
            for b in views[i + 1 :]:
                if _overlap(a, b):
                    out.append(warning(f"{a.label} 和 {b.label} 都在 {place}，时间重叠", LOCATION))
    return out


def check_roster_size(snap: Snapshot) -> list[Finding]:
    """A room whose roster lists more candidates than its 应考人数 (rooms without 应考 are not compared)."""
    return [
        warning(f"{v.label} 的考生名册有 {len(v.candidates)} 人，多于应考人数 {v.room.expected} 人", ROSTER)
        for v in snap.rooms
        if v.room.expected > 0 and len(v.candidates) > v.room.expected
    ]


def check_booking(snap: Snapshot) -> list[Finding]:
    """All three."""
    return [*check_people_overlap(snap), *check_location_overlap(snap), *check_roster_size(snap)]

"""Building snapshots in memory for the pure rule tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from bot.checks.snapshot import RoomView, Snapshot
from bot.store.tables import Duty, ExamSession, Room, SessionKind, Staff

DAY = date(2026, 12, 5)
T0 = datetime(2026, 12, 5, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai


def session(
    sid: int = 1,
    *,
    code: str = "第1场",
    kind: SessionKind = SessionKind.THEORY,
    day: date = DAY,
    start: datetime = T0,
    minutes: int = 90,
    occupation: str = "电工",
    level: str = "四级/中级工",
) -> ExamSession:
    """A session."""
    return ExamSession(
        id=sid,
        code=code,
        occupation=occupation,
        level=level,
        kind=kind,
        day=day,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
    )


def person(pid: int, name: str, cert: date | None = None) -> Staff:
    """A staff member."""
    return Staff(id=pid, name=name, roles="invigilator,evaluator", cert_issued=cert)


def room(
    sess: ExamSession,
    no: str,
    people: Sequence[tuple[Staff, Duty]],
    *,
    rid: int | None = None,
    location: str = "",
    expected: int = 30,
    candidates: Sequence[tuple[str, str]] = (),
) -> RoomView:
    """A room of ``sess`` with its people and candidates."""
    r = Room(id=rid, session_id=sess.id or 0, room_no=no, location=location, expected=expected)
    return RoomView(sess, r, list(people), list(candidates))


def snap(*rooms: RoomView, **kw: object) -> Snapshot:
    """A snapshot of these rooms."""
    return Snapshot(rooms=list(rooms), **kw)  # type: ignore[arg-type]


A, B, C, D = (person(i, n) for i, n in enumerate(("唐玉英", "孟雪涛", "史敏杰", "向军明"), start=1))

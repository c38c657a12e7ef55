"""Finding what the office names in a change of the day: a session (第1场, its code, with or without a day), a
person (name or #编号), a room (3, 第3考场) — for the chat's /场次 and /换人 and the CLI alike.

Anything not found, or found more than once, is a :class:`~scheduler.changes.ChangeRefused` saying so in Chinese.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.rooms import room_label
from bot.store.tables import ExamSession, Room, Staff
from scheduler.changes import ChangeRefused, session_duties, session_label
from scheduler.changes_text import day_label, nfkc, session_number, span_label


async def find_session(s: AsyncSession, ref: str, *, day: date | None, today: date, tz: ZoneInfo) -> ExamSession:
    """The session the office means by ``ref`` (its code, 第1场, 1), on ``day`` or else today, later, any day.

    Several sessions fitting is a refusal listing them (the office then writes the day).
    """
    typed = nfkc(ref)
    if not typed:
        raise ChangeRefused("请写明场次，例如 第1场。")
    number = session_number(typed)
    rows = list((await s.exec(select(ExamSession).order_by(col(ExamSession.starts_at), col(ExamSession.id)))).all())

    def matching(pool: Sequence[ExamSession]) -> list[ExamSession]:
        exact = [x for x in pool if nfkc(x.code).casefold() == typed.casefold()]
        if exact or number is None:
            return exact
        return [x for x in pool if session_number(x.code) == number]

    if day is not None:
        found = matching([x for x in rows if x.day == day])
        where = f"{day_label(day)}没有场次“{typed}”"
    else:
        found = matching([x for x in rows if x.day == today])
        found = found or matching([x for x in rows if x.day > today]) or matching(rows)
        where = f"没有找到场次“{typed}”"
    if not found:
        raise ChangeRefused(f"{where}，请核对场次和日期。")
    if len(found) > 1:
        options = _listed(found[:6], tz)
        raise ChangeRefused(f"“{typed}”有 {len(found)} 个场次：{options}。请写上日期（如 12月5日）说明是哪一个。")
    return found[0]


def _listed(sessions: Sequence[ExamSession], tz: ZoneInfo) -> str:
    """Sessions to choose from: label, time, and whether cancelled."""
    return "；".join(
        f"{session_label(x, tz)} {span_label(x.starts_at, x.ends_at, tz)}" + ("（已取消）" if x.cancelled_at else "")
        for x in sessions
    )


async def find_staff(s: AsyncSession, who: str) -> Staff:
    """An active staff member by name (or #编号); unknown and same-name people are refusals."""
    typed = nfkc(who).lstrip("#")
    if typed.isdigit():
        st = await s.get(Staff, int(typed)) if len(typed) <= 9 else None  # ids are 32-bit integers
        if st is None or not st.active:
            raise ChangeRefused(f"人员名单中没有编号 {typed}。")
        return st
    found = list((await s.exec(select(Staff).where(col(Staff.name) == typed, col(Staff.active).is_(True)))).all())
    if not found:
        raise ChangeRefused(f"人员名单中没有“{typed}”，请核对姓名（或先导入人员名单）。")
    if len(found) > 1:
        ids = "、".join(f"#{st.id}" for st in found)
        raise ChangeRefused(
            f"有 {len(found)} 位叫“{typed}”的人员（{ids}），请用编号写明是哪一位，如 {ids.split('、')[0]}。"
        )
    return found[0]


async def find_room(s: AsyncSession, sess: ExamSession, ref: str, tz: ZoneInfo) -> Room:
    """A live room of ``sess`` by its name or number (3, 03, 第3考场, 3号)."""
    typed = nfkc(ref)
    rooms = list(
        (
            await s.exec(
                select(Room)
                .where(col(Room.session_id) == sess.id, col(Room.cancelled_at).is_(None))
                .order_by(col(Room.id))
            )
        ).all()
    )
    wanted = _room_no(typed)
    for room in rooms:
        if nfkc(room.room_no) == typed or (wanted is not None and _room_no(room.room_no) == wanted):
            return room
    names = "、".join(room_label(r) for r in rooms) or "（没有考场）"
    raise ChangeRefused(f"{session_label(sess, tz)} 没有考场“{typed}”；该场次的考场：{names}。")


async def room_of(s: AsyncSession, sess: ExamSession, staff: Staff, tz: ZoneInfo) -> Room:
    """The room of ``sess`` where ``staff`` is on duty (when the office names the person and not the room)."""
    rooms = [r for r, _a, st in await session_duties(s, sess.id or 0) if st.id == staff.id]
    if not rooms:
        raise ChangeRefused(f"{staff.name} 不在 {session_label(sess, tz)} 的名单中，请核对姓名或写明考场。")
    return rooms[0]


async def room_named(s: AsyncSession, ref: str, staff: Staff, day: date, tz: ZoneInfo) -> tuple[ExamSession, Room]:
    """The live session of ``day`` and its room ``ref`` (第4考场) where ``staff`` is on duty: the office named the room
    and the person, not the session (/换人 第4考场 黄磊 陈刚)."""
    wanted = _room_no(ref)
    found: list[tuple[ExamSession, Room]] = []
    q = select(ExamSession).where(col(ExamSession.day) == day, col(ExamSession.cancelled_at).is_(None))
    for sess in (await s.exec(q.order_by(col(ExamSession.starts_at), col(ExamSession.id)))).all():
        duties = await session_duties(s, sess.id or 0)
        found += [(sess, r) for r, _a, st in duties if st.id == staff.id and _room_no(r.room_no) == wanted][:1]
    if not found:
        where = f"{day_label(day)}{staff.name} 不在{nfkc(ref)}的名单中"
        raise ChangeRefused(f"{where}，请核对姓名，或写明场次（如 第1场）。")
    if len(found) > 1:
        options = _listed([sess for sess, _ in found], tz)
        raise ChangeRefused(f"{staff.name} 在{nfkc(ref)}有 {len(found)} 个场次：{options}。请写明场次（如 第1场）。")
    return found[0]


def _room_no(text: str) -> int | None:
    t = nfkc(text).removeprefix("第").removesuffix("考场").removesuffix("考室").removesuffix("号").strip()
    return int(t) if t.isdigit() else None


__all__ = ["find_room", "find_session", "find_staff", "room_named", "room_of"]

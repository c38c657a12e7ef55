"""Which room and session the sender means: explicit (3, 03, 3号, 第3考场) or their only room right now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import Context
from bot.errors import UserFacingError
from bot.model import ChatKind
from bot.permissions import Permission, has_role
from bot.store.rooms import in_window, now_order, room_label, rooms_now
from bot.store.tables import Assignment, Duty, ExamSession, Role, Room, Staff
from handlers._parse import room_number

# Who may send room reports at all (the room itself is checked against the assignments).
REPORTER = has_role(Role.INVIGILATOR, Role.EVALUATOR, Role.OFFICE)
# Violations and incidents may also come from supervisors on their rounds.
WATCHER = has_role(Role.INVIGILATOR, Role.EVALUATOR, Role.SUPERVISOR, Role.OFFICE)
# Who may report for any room, not only the ones they are assigned to.
ANY_ROOM = has_role(Role.OFFICE)
# Who sees every room's reports (queries, history) with full candidate data in private chats.
SEES_ALL = has_role(Role.SUPERVISOR, Role.OFFICE)


@dataclass(frozen=True)
class RoomNow:
    """A room of a session, and the sender's duty there (None when not assigned)."""

    room: Room
    session: ExamSession
    duty: Duty | None

    @property
    def label(self) -> str:
        """How the room is named in replies (第3考场)."""
        return room_label(self.room)

    @property
    def room_id(self) -> int:
        """The room's id."""
        assert self.room.id is not None
        return self.room.id

    @property
    def session_id(self) -> int:
        """The session's id."""
        assert self.session.id is not None
        return self.session.id


def local_today(ctx: Context) -> date:
    """Today in the exam time zone."""
    return ctx.now.astimezone(ctx.services.settings.tz).date()


def is_private(ctx: Context) -> bool:
    """True in a private chat with the bot."""
    return ctx.message.chat_kind is ChatKind.PRIVATE


def full_data(ctx: Context) -> bool:
    """Candidate names and full numbers may be shown: a private chat with a supervisor or the office."""
    return is_private(ctx) and SEES_ALL(ctx)


async def duties_of(s: AsyncSession, staff: Staff | None, room_ids: list[int]) -> dict[int, Duty]:
    """The sender's duty per room id."""
    if staff is None or not room_ids:
        return {}
    rows = (
        await s.exec(
            select(Assignment).where(col(Assignment.staff_id) == staff.id, col(Assignment.room_id).in_(room_ids))
        )
    ).all()
    return {a.room_id: a.duty for a in rows}


async def my_rooms_now(ctx: Context, s: AsyncSession) -> list[RoomNow]:
    """The sender's rooms in the sessions running now (running ones first).

    Joined through the sender's own assignments, so the cost does not grow with the number of rooms
    in the exam day (a province-wide day has hundreds running at once).
    """
    if ctx.staff is None or ctx.staff.id is None:
        return []
    rows = (
        await s.exec(
            select(Room, ExamSession, Assignment)
            .join(ExamSession, col(ExamSession.id) == col(Room.session_id))
            .join(Assignment, col(Assignment.room_id) == col(Room.id))
            .where(col(Assignment.staff_id) == ctx.staff.id, *in_window(ctx.now))
            .order_by(col(ExamSession.starts_at), col(Room.id))
        )
    ).all()
    found: dict[int | None, RoomNow] = {}
    for room, sess, a in rows:
        found.setdefault(room.id, RoomNow(room, sess, a.duty))
    rank = now_order(ctx.now)
    return sorted(found.values(), key=lambda m: rank((m.room, m.session)))


async def resolve_room(
    ctx: Context, s: AsyncSession, number: int | None, usage: str, *, any_room: Permission
) -> RoomNow:
    """The room the sender means; refuses rooms they are not assigned to (unless ``any_room`` allows it)."""
    mine = await my_rooms_now(ctx, s)
    if number is None:
        running = [m for m in mine if m.session.starts_at <= ctx.now <= m.session.ends_at]
        if len(running) == 1:
            return running[0]
        if len(mine) == 1:
            return mine[0]
        if not mine:
            raise UserFacingError("您现在没有正在进行的场次，请写明考场号。", usage=usage)
        names = "、".join(m.label for m in mine)
        raise UserFacingError(f"您现在负责{names}，请写明是哪个考场。", usage=usage)
    for m in mine:
        if room_number(m.room.room_no) == number:
            return m
    # Not one of the sender's rooms: look through every room running now (the office may report
    # for any room; everyone else gets told which of the two mistakes it is).
    rows = await rooms_now(s, ctx.now)
    matching = [(r, sess) for r, sess in rows if room_number(r.room_no) == number]
    if not matching:
        raise UserFacingError(f"第{number}考场现在没有进行中的场次，请核对考场号。", usage=usage)
    if any_room(ctx):
        r, sess = matching[0]
        return RoomNow(r, sess, None)
    raise UserFacingError(f"您不是第{number}考场本场次的监考或考评人员，只能报告自己负责的考场。", usage=usage)


async def room_by_id(ctx: Context, s: AsyncSession, room_id: int | None) -> RoomNow | None:
    """A stored room with its session and the sender's duty there."""
    if room_id is None:
        return None
    room = await s.get(Room, room_id)
    if room is None:
        return None
    sess = await s.get(ExamSession, room.session_id)
    assert sess is not None
    duties = await duties_of(s, ctx.staff, [room_id])
    return RoomNow(room, sess, duties.get(room_id))

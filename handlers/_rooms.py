"""Which room and session the sender means: explicit (3, 03, 3号, 第3考场) or their only room right now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import Backfill, Context
from bot.errors import UserFacingError
from bot.model import ChatKind
from bot.permissions import Permission, has_role
from bot.store.rooms import (
    REPORT_WINDOW,
    WINDOW,
    now_order,
    report_deadline,
    report_window_params,
    room_label,
    rooms_now,
    sessions_of_day,
)
from bot.store.tables import Assignment, Duty, ExamSession, Role, Room, SessionKind, Staff
from handlers._parse import room_number

# Who may send room reports at all (the room itself is checked against the assignments).
REPORTER = has_role(Role.INVIGILATOR, Role.EVALUATOR, Role.OFFICE)
# Violations and incidents may also come from supervisors on their rounds.
WATCHER = has_role(Role.INVIGILATOR, Role.EVALUATOR, Role.SUPERVISOR, Role.OFFICE)
# Who may report for any room, not only the ones they are assigned to.
ANY_ROOM = has_role(Role.OFFICE)
# Who sees every room's reports (queries, history) with full candidate data in private chats.
SEES_ALL = has_role(Role.SUPERVISOR, Role.OFFICE)


# ``ctx.state`` key: the session a /补录 resolved (how its reply names it).
BACKFILL_SESSION = "backfill_session"


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


def report_grace(ctx: Context) -> timedelta:
    """How long after the day's last session ends reports are still taken (a setting)."""
    return ctx.services.settings.report_grace


# Built once: constructing this join and its window conditions cost more than running it (every report does).
_MY_ROOMS_NOW = (
    select(Room, ExamSession, Assignment)
    .join(ExamSession, col(ExamSession.id) == col(Room.session_id))
    .join(Assignment, col(Assignment.room_id) == col(Room.id))
    .where(col(Assignment.staff_id) == bindparam("staff_id"), *REPORT_WINDOW)
    .order_by(col(ExamSession.starts_at), col(Room.id))
)


async def my_rooms_now(ctx: Context, s: AsyncSession) -> list[RoomNow]:
    """The sender's rooms in the sessions reports are taken for now (running ones first, then the nearest).

    That is from an hour before a session starts until the grace time after the day's last session
    (see :func:`bot.store.rooms.in_report_window`). Joined through the sender's own assignments, so the
    cost does not grow with the number of rooms in the exam day (a province-wide day has hundreds).
    """
    if ctx.staff is None or ctx.staff.id is None:
        return []
    params = {"staff_id": ctx.staff.id, **report_window_params(ctx.now, report_grace(ctx))}
    rows = (await s.exec(_MY_ROOMS_NOW, params=params)).all()
    found: dict[int | None, RoomNow] = {}
    for room, sess, a in rows:
        found.setdefault(room.id, RoomNow(room, sess, a.duty))
    rank = now_order(ctx.now)
    return sorted(found.values(), key=lambda m: rank((m.room, m.session)))


async def resolve_room(
    ctx: Context, s: AsyncSession, number: int | None, usage: str, *, any_room: Permission
) -> RoomNow:
    """The room the sender means; refuses rooms they are not assigned to (unless ``any_room`` allows it).

    Inside ``/补录`` (``ctx.backfill``) the room is looked up in the named past day or session instead.
    A refusal names the real reason: no such room today, its session cancelled, not started, or over.
    """
    if ctx.backfill is not None:
        return await _backfill_room(ctx, s, ctx.backfill, number, usage)
    mine = await my_rooms_now(ctx, s)
    if number is None:
        running = [m for m in mine if m.session.starts_at <= ctx.now <= m.session.ends_at]
        if len(running) == 1:
            return running[0]
        if len(mine) == 1:
            return mine[0]
        if not mine:
            own = await _my_rooms_lately(ctx, s)
            if own:
                raise UserFacingError(await _why_closed(ctx, s, own, None), usage=usage)
            raise UserFacingError("您现在没有正在进行的场次，请写明考场号。", usage=usage)
        names = "、".join(m.label for m in mine)
        raise UserFacingError(f"您现在负责{names}，请写明是哪个考场。", usage=usage)
    for m in mine:
        if room_number(m.room.room_no) == number:
            return m
    # Not one of the sender's rooms: look through every room reports are taken for now (the office may
    # report for any room; everyone else gets told which of the two mistakes it is).
    rows = await rooms_now(s, ctx.now, grace=report_grace(ctx))
    matching = [(r, sess) for r, sess in rows if room_number(r.room_no) == number]
    if not matching:
        raise UserFacingError(await _why_not_now(ctx, s, number), usage=usage)
    if any_room(ctx):
        r, sess = matching[0]
        return RoomNow(r, sess, None)
    raise UserFacingError(f"您不是第{number}考场本场次的监考或考评人员，只能报告自己负责的考场。", usage=usage)


def span(ctx: Context, sess: ExamSession) -> str:
    """09:00–11:00 (with the date when the session is not today's)."""
    tz = ctx.services.settings.tz
    hours = f"{sess.starts_at.astimezone(tz):%H:%M}–{sess.ends_at.astimezone(tz):%H:%M}"
    return hours if sess.day == local_today(ctx) else f"{sess.day:%m月%d日} {hours}"


def _clock(ctx: Context, when: datetime, day: date) -> str:
    local = when.astimezone(ctx.services.settings.tz)
    return f"{local:%H:%M}" if local.date() == day else f"{local:%m月%d日 %H:%M}"


def _staff_word(sess: ExamSession) -> str:
    return "考评人员" if sess.kind is SessionKind.PRACTICAL else "监考人员"


def _cancelled(room: Room, sess: ExamSession) -> bool:
    return room.cancelled_at is not None or sess.cancelled_at is not None


def backfill_hint(ctx: Context, sess: ExamSession, number: int | None) -> str:
    """How the office or a supervisor enters this session's records late: the /补录 line to send."""
    code = sess.code if sess.code and " " not in sess.code else ""
    command = f"/{ctx.command.name}" if ctx.command is not None and ctx.command.name != "补录" else "/缺考"
    parts = [f"{sess.day.month}月{sess.day.day}日", code, str(number) if number is not None else "考场号"]
    return "/补录 " + " ".join(p for p in parts if p) + f" {command} …"


async def _why_closed(ctx: Context, s: AsyncSession, rows: list[tuple[Room, ExamSession]], number: int | None) -> str:
    """Why none of ``rows`` (rooms of today and yesterday, by start) takes reports now, for the likeliest one."""
    live = [(r, sess) for r, sess in rows if not _cancelled(r, sess)]
    if not live:
        r, sess = rows[-1]
        what = (
            f"{room_label(r)} {span(ctx, sess)} 的场次"
            if sess.cancelled_at
            else f"{room_label(r)}（{span(ctx, sess)}）"
        )
        return f"{what}已取消，不能报告。如有疑问请联系考务办公室。"
    later = [(r, sess) for r, sess in live if sess.starts_at - WINDOW > ctx.now]
    if later:
        r, sess = later[0]
        opens = _clock(ctx, sess.starts_at - WINDOW, sess.day)
        minutes = int(WINDOW.total_seconds() // 60)
        return f"{room_label(r)} {span(ctx, sess)} 的场次还没开始，开考前 {minutes} 分钟（{opens}）起可以报告。"
    r, sess = max(live, key=lambda x: x[1].ends_at)
    until = _clock(ctx, await report_deadline(s, sess, report_grace(ctx)), sess.day)
    text = f"{room_label(r)} {span(ctx, sess)} 的场次已结束，{_staff_word(sess)}可报告到 {until}；"
    if SEES_ALL(ctx):
        return text + f"之后由考务办公室或督导补录，请发：{backfill_hint(ctx, sess, number or room_number(r.room_no))}"
    return text + "之后请联系考务办公室补录。"


async def _recent_rooms(ctx: Context, s: AsyncSession) -> list[tuple[Room, ExamSession]]:
    """Every room of yesterday and today (a day's grace may run past midnight), cancelled ones too, by start."""
    today = local_today(ctx)
    rows = await sessions_of_day(s, today - timedelta(days=1), with_cancelled=True)
    return rows + await sessions_of_day(s, today, with_cancelled=True)


async def _why_not_now(ctx: Context, s: AsyncSession, number: int) -> str:
    """The refusal of a room number no session takes reports for now."""
    recent = await _recent_rooms(ctx, s)
    rows = [(r, sess) for r, sess in recent if room_number(r.room_no) == number]
    if rows:
        return await _why_closed(ctx, s, rows, number)
    today = local_today(ctx)
    labels = list(dict.fromkeys(room_label(r) for r, sess in recent if sess.day == today and not _cancelled(r, sess)))
    listed = f"今天的考场：{'、'.join(labels)}。" if 0 < len(labels) <= 12 else ""
    return f"今天没有第{number}考场，请核对考场号。{listed}"


async def _my_rooms_lately(ctx: Context, s: AsyncSession) -> list[tuple[Room, ExamSession]]:
    """The sender's rooms of yesterday and today, cancelled ones too, by start."""
    if ctx.staff is None:
        return []
    rows = await _recent_rooms(ctx, s)
    duties = await duties_of(s, ctx.staff, [r.id for r, _sess in rows if r.id is not None])
    return [(r, sess) for r, sess in rows if r.id in duties]


async def _backfill_room(ctx: Context, s: AsyncSession, bf: Backfill, number: int | None, usage: str) -> RoomNow:
    """The room a /补录 is about: in its day (and session, when named), by the number given to it or the command."""
    if bf.room is not None and number is not None and number != bf.room:
        raise UserFacingError(f"补录写的是第{bf.room}考场，命令里又写了第{number}考场，请只写一处。", usage=usage)
    wanted = bf.room if bf.room is not None else number
    rows = await sessions_of_day(s, bf.day, with_cancelled=True)
    day = f"{bf.day.month}月{bf.day.day}日"
    if bf.session_id is not None:
        rows = [(r, sess) for r, sess in rows if sess.id == bf.session_id]
        day += f" {rows[0][1].code} " if rows else ""
    if wanted is None:
        live = [(r, sess) for r, sess in rows if not _cancelled(r, sess)]
        if len(live) != 1:
            raise UserFacingError("补录请写明考场号，例：/补录 12月5日 第1场 3 /缺考 2026000003", usage=usage)
        matching = live
    else:
        matching = [(r, sess) for r, sess in rows if room_number(r.room_no) == wanted]
    if not matching:
        raise UserFacingError(f"{day}没有第{wanted}考场，请核对日期、场次和考场号。", usage=usage)
    live = [(r, sess) for r, sess in matching if not _cancelled(r, sess)]
    if not live:
        r, sess = matching[-1]
        raise UserFacingError(f"{room_label(r)} {span(ctx, sess)} 的场次已取消，不能补录。", usage=usage)
    if len(live) > 1:
        options = "、".join(f"{sess.code}（{span(ctx, sess)}）" for _r, sess in live)
        raise UserFacingError(
            f"{day}有 {len(live)} 个场次都有第{wanted}考场：{options}，请在 /补录 后写明场次。", usage=usage
        )
    room, sess = live[0]
    if sess.starts_at - WINDOW > ctx.now:
        raise UserFacingError(f"{room_label(room)} {span(ctx, sess)} 的场次还没开始，不能补录。", usage=usage)
    assert room.id is not None
    duties = await duties_of(s, ctx.staff, [room.id])
    ctx.state[BACKFILL_SESSION] = f"{sess.code}（{span(ctx, sess)}）"
    return RoomNow(room, sess, duties.get(room.id))


async def check_late_change(ctx: Context, s: AsyncSession, where: RoomNow | None, usage: str) -> None:
    """Refuse an invigilator's /更正 or /撤销 once the session's reports are closed (the office and supervisors
    may still change them: what they write then is marked 补录)."""
    if where is None or ctx.backfill is not None or SEES_ALL(ctx):
        return
    if not await _past_deadline(ctx, s, where.session):
        return
    raise UserFacingError(
        await _why_closed(ctx, s, [(where.room, where.session)], room_number(where.room.room_no)), usage=usage
    )


async def is_late(ctx: Context, s: AsyncSession, sess: ExamSession | None) -> bool:
    """True when what is written now for ``sess`` is a late entry (补录): inside /补录, or after its reports closed."""
    if ctx.backfill is not None:
        return True
    if sess is None:
        return False
    return await _past_deadline(ctx, s, sess)


async def _past_deadline(ctx: Context, s: AsyncSession, sess: ExamSession) -> bool:
    """Whether the reports of ``sess`` are closed now (see :func:`report_deadline`)."""
    grace = report_grace(ctx)
    if ctx.now <= sess.ends_at + grace:  # the deadline is never earlier: no need to read the day's last session
        return False
    return ctx.now > await report_deadline(s, sess, grace)


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

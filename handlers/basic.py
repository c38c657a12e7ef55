"""/帮助 and /我: what the bot can do for this person, and who the bot thinks they are."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.dispatch import CommandTable, Context
from bot.model import Reply
from bot.permissions import STAFF
from bot.store.tables import KIND_LABELS, ROLE_LABELS, Assignment, ExamSession, Room, duty_label

table = CommandTable()


HELP_USAGE = "/帮助 [命令名]，例：/帮助 缺考"
# How far ahead /我 looks for the next duty when there is none today.
NEXT_DAYS = 14
ME_USAGE = "/我（也可发 /我是谁、/我的考场、/whoami），例：/我的考场"


def _also(names: tuple[str, ...]) -> str:
    """Other Chinese names of a command, so /我的考场 and /我是谁 can be found in the list."""
    others = [f"/{n}" for n in names[1:] if not n.isascii()]
    return f"（也可发 {'、'.join(others)}）" if others else ""


@table.command("帮助", "help", "h", "?", summary="查看可用命令", usage=HELP_USAGE, unslashed=True)
async def help_(ctx: Context, args: str) -> Reply:
    """List the commands this sender may use, or explain one."""
    wanted = args.strip().lstrip("/／")
    commands = ctx.visible_commands()
    if wanted:
        for cmd in ctx.dispatcher.commands:
            if wanted.lower() not in (n.lower() for n in cmd.names):
                continue
            if cmd not in commands and not (cmd.hidden and cmd.permission(ctx)):
                if ctx.staff is None:
                    return Reply(f"/{cmd.name} 仅限考务人员使用；您还不在考务人员名单中，登记请联系考务办公室。")
                return Reply(f"您没有使用 /{cmd.name} 的权限（仅限{cmd.permission.label}）。")
            aliases = "、".join(f"/{n}" for n in cmd.names)
            return Reply(f"{aliases}\n{cmd.summary}\n用法：{cmd.usage}")
        return Reply(f"没有“/{wanted}”这个命令。发送 /帮助 查看全部命令。")
    who = f"{ctx.staff.name}，" if ctx.staff else ""
    lines = [f"{who}您可以使用以下命令（命令前加 / 或 ／）："]
    lines += [f"/{c.name}{_also(c.names)}　{c.summary}" for c in commands]
    lines.append("直接输入问题（如“开考多久后不能进场”）可查询考务规定。发送“/帮助 命令名”查看用法和例子。")
    if ctx.staff is None:
        lines.append("您还不在考务人员名单中，登记请联系考务办公室。")
    return Reply("\n".join(lines))


@table.command(
    "我",
    "我是谁",
    "whoami",
    "我的考场",
    summary="查看我的身份和今天（或下一次）的监考安排",
    usage=ME_USAGE,
    permission=STAFF,
)
async def whoami(ctx: Context, args: str) -> Reply:
    """Name, roles and today's duties of the sender; with none today, those of the next day with any (within
    NEXT_DAYS): the evening before an exam day."""
    staff = ctx.staff
    assert staff is not None and staff.id is not None
    tz = ctx.services.settings.tz
    today = ctx.now.astimezone(tz).date()
    mine = (
        select(ExamSession, Room, Assignment)
        .join(Room, col(Room.session_id) == col(ExamSession.id))
        .join(Assignment, col(Assignment.room_id) == col(Room.id))
        .where(col(Assignment.staff_id) == staff.id)
    )
    ahead: Sequence[tuple[ExamSession, Room, Assignment]] = []
    async with ctx.services.db.read() as s:
        rows = (await s.exec(mine.where(col(ExamSession.day) == today).order_by(col(ExamSession.starts_at)))).all()
        if not rows:
            soon = mine.where(col(ExamSession.day) > today, col(ExamSession.day) <= today + timedelta(days=NEXT_DAYS))
            ahead = (await s.exec(soon.order_by(col(ExamSession.starts_at)))).all()
    nxt = [r for r in ahead if r[0].day == ahead[0][0].day]  # the first of those days
    roles = "、".join(ROLE_LABELS[r] for r in sorted(staff.role_set)) or "（未设角色）"
    lines = [f"{staff.name}（{roles}）"]
    if rows:
        lines.append(f"今天（{today:%m月%d日}）的安排：")
        lines += [_duty_line(sess, room, a, tz) for sess, room, a in rows]
    else:
        lines.append(f"今天（{today:%m月%d日}）没有您的监考或考评安排。")
        if nxt:
            day = nxt[0][0].day
            when = f"明天（{day:%m月%d日}）" if day == today + timedelta(days=1) else f"{day:%m月%d日}"
            lines.append(f"下一次安排在{when}：")
            lines += [_duty_line(sess, room, a, tz) for sess, room, a in nxt]
    return Reply("\n".join(lines))


def _duty_line(sess: ExamSession, room: Room, a: Assignment, tz: ZoneInfo) -> str:
    start, end = sess.starts_at.astimezone(tz), sess.ends_at.astimezone(tz)
    off = "（已取消）" if sess.cancelled_at or room.cancelled_at else ""
    return (
        f"· {start:%H:%M}-{end:%H:%M} {sess.code} {sess.occupation}{KIND_LABELS[sess.kind]} "
        f"{room.room_no}（{room.location}）{duty_label(a.duty, sess.kind)}{off}"
    )

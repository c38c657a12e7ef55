"""The reports a number after /撤销, /更正 or /历史 most likely means: those in force in the sender's rooms today.

Asked for a number on a phone, people do not remember it (it was in a reply an hour ago): the question lists the
newest reports in force in the rooms the sender is on duty in today (the office and supervisors: every room).
"""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import col, select

from bot.dispatch import Context
from bot.model import Reply
from bot.store.reports import reports_in_force
from bot.store.tables import Assignment, ExamSession, Room
from handlers import _show
from handlers._reports import KIND_LABELS, describe
from handlers._rooms import SEES_ALL

KINDS = ("absent", "violation", "papers", "incident")
LIMIT = 6


async def recent_lines(ctx: Context, limit: int = LIMIT) -> list[str]:
    """“编号 12 08:40 第1考场缺考：…”, newest first, at most ``limit``."""
    if ctx.staff is None or ctx.staff.id is None:
        return []
    tz = ctx.services.settings.tz
    today = ctx.now.astimezone(tz).date()
    q = select(Room).join(ExamSession, col(ExamSession.id) == col(Room.session_id)).where(col(ExamSession.day) == today)
    if not SEES_ALL(ctx):
        q = q.join(Assignment, col(Assignment.room_id) == col(Room.id)).where(col(Assignment.staff_id) == ctx.staff.id)
    async with ctx.services.db.read() as s:
        rooms = {r.id: r for r in (await s.exec(q)).all() if r.id is not None}
        rows = sorted(await reports_in_force(s, KINDS, list(rooms)), key=lambda r: r.id or 0, reverse=True)[:limit]
        names_of = await _show.names_of(s, {r.room_id for r in rows if r.room_id})
    by_room: dict[int | None, dict[str, str]] = defaultdict(dict)  # each room's names, grouped once
    for (room_id, t), n in names_of.items():
        by_room[room_id][t] = n
    out = []
    for r in rows:
        room = rooms.get(r.room_id or 0)
        label = f"{room.room_no}{KIND_LABELS.get(r.kind, r.kind)}" if room else KIND_LABELS.get(r.kind, r.kind)
        when = f"{r.created_at.astimezone(tz):%H:%M}"
        out.append(f"· 编号 {r.id} {when} {label}：{describe(ctx, r, by_room[r.room_id])}")
    return out


async def with_recent(ctx: Context, question: Reply | str | None) -> Reply | str | None:
    """The dialog's question for a report number, after the list of what it most likely is."""
    lines = await recent_lines(ctx)
    if not lines or question is None:
        return question
    whose = "各考场" if SEES_ALL(ctx) else "您负责的考场"
    head = f"今天{whose}最近的报告：\n" + "\n".join(lines) + "\n"
    if isinstance(question, Reply):
        return Reply(head + question.text, question.format, question.mentions, question.card_state)
    return head + question

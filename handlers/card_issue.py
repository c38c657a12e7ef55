"""A tap on a reminder card's 有问题 button: the office is told at once, the person is answered privately."""

from __future__ import annotations

from sqlalchemy import select

from bot.dispatch import Context
from bot.model import Reply
from bot.store.tables import ExamSession, Room, SessionKind
from handlers._reports import alert, alerted
from scheduler.timeline import Timeline


def _title(timeline: Timeline, kind: SessionKind, step: str) -> str:
    return next((s.title for s in timeline.get(kind, ()) if s.id == step), step)


async def card_issue(ctx: Context, room_id: int, step: str) -> Reply:
    """Tell the office and the supervisors that the person who got the card of ``step`` has a problem with it.

    Keyed by room, step and person: the platform delivering the tap again, or a second tap, alerts once.
    """
    rt, et = Room.__table__, ExamSession.__table__  # type: ignore[attr-defined]
    async with ctx.services.db.read() as s:
        conn = await s.connection()
        room = (
            await conn.execute(
                select(rt.c.room_no, et.c.kind, et.c.code)
                .join(et, et.c.id == rt.c.session_id)
                .where(rt.c.id == room_id)
            )
        ).first()
    if room is None:
        return Reply("这张提醒卡片已失效。")
    title = f"{room.room_no}「{_title(ctx.services.timeline, SessionKind(str(room.kind)), step)}」"
    who = ctx.staff.name if ctx.staff is not None else ctx.message.sender_id
    staff_key = ctx.staff.id if ctx.staff is not None else ctx.message.sender_id
    text = f"{who}在{title}（{room.code}）提醒卡片上点了“有问题”，请尽快电话联系。"
    count = await alert(ctx, text, key=f"card_issue:{room_id}:{step}:{staff_key}")
    return Reply(f"{alerted(count)}：{title}有问题。请电话说明情况；处理好后仍需点“收到”或回复“收到”确认。")

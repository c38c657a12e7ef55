"""“第2考场谁监考”, “3考场今天是谁考评” (session 22): the staff on duty in a room today, from the assignments.

The knowledge base read it as a rule question (监考人员守则 1.: two invigilators per room). Staff names are no
candidate data: anyone on the staff list may ask, in a group too.
"""

from __future__ import annotations

import re

from sqlmodel import col, select

from bot.dispatch import CommandTable, Context, normalize
from bot.model import Reply
from bot.store.rooms import sessions_of_day
from bot.store.tables import Assignment, Staff, duty_label
from handlers._parse import CN_NUM, cn_number, room_number
from handlers._rooms import local_today, room_label, span

table = CommandTable()

_ROOM = rf"第?\s*(\d{{1,3}}|[{CN_NUM}]{{1,4}})\s*(?:号)?(?:考场|考室)"
_WHO = r"(?:是)?(?:谁|哪些人|哪几个人?|哪位|哪几位)(?:在)?(?:监考|考评|负责|值班)?"
_ASKS = re.compile(
    rf"^{_ROOM}(?:今天|现在|这场|本场)?(?:的)?(?:监考|考评员?)?{_WHO}[吗呢啊呀?？]*$"
    rf"|^(?:今天|现在)?谁(?:在)?(?:监考|考评|负责){_ROOM}[吗呢啊呀?？]*$"
)


def asked_room(text: str) -> int | None:
    """The room number a “who is on duty” question names, or None."""
    m = _ASKS.search(normalize(text).replace(" ", ""))
    if m is None:
        return None
    return cn_number(next(g for g in m.groups() if g))


@table.fallback(priority=94)
async def who_is_on_duty(ctx: Context) -> Reply | None:
    """The room's staff in each of today's sessions, by duty."""
    if ctx.staff is None:
        return None
    n = asked_room(ctx.message.text)
    if n is None:
        return None
    today = local_today(ctx)
    lines: list[str] = []
    async with ctx.services.db.read() as s:
        for room, sess in await sessions_of_day(s, today):
            if room_number(room.room_no) != n:
                continue
            q = select(Assignment, Staff).join(Staff, col(Assignment.staff_id) == col(Staff.id))
            rows = (await s.exec(q.where(Assignment.room_id == room.id).order_by(col(Assignment.id)))).all()
            people = "，".join(f"{duty_label(a.duty, sess.kind)} {p.name}" for a, p in rows) or "未安排人员"
            lines.append(f"· {span(ctx, sess)} {sess.code} {room_label(room)}：{people}")
    if not lines:
        return Reply(f"今天（{today:%m月%d日}）第{n}考场没有考试安排。")
    return Reply(f"今天（{today:%m月%d日}）第{n}考场的人员安排：\n" + "\n".join(lines) + "\n（按当前考试安排回答）")

"""/已处理 N: an office member closes an escalation for everyone on duty; the others are told who did.

Escalations (a critical step nobody acknowledged, a report overdue) reach each office member on duty as
numbered items of one grouped message (scheduler/conditions.py numbers them when they are sent). Closing
one cancels whatever of that item is still pending for anyone, writes the audit log and tells the others.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import col
from sqlmodel import select as sm_select

from bot.delivery.rows import CANCELLED, PENDING, SENDING, T
from bot.delivery.targets import target_key, target_to_json
from bot.directory import person_targets
from bot.dispatch import CommandTable, Context
from bot.errors import UserFacingError
from bot.model import OutgoingMessage, Reply
from bot.permissions import OFFICE
from bot.store.tables import AuditLog, Staff
from handlers._parse import report_id
from handlers._reports import actor
from scheduler.conditions import ESCALATIONS

USAGE = "/已处理 编号（催办消息里的 #编号），例：/已处理 123"
ENTITY = "escalation"

table = CommandTable()


@table.command("已处理", "handled", summary="关闭一条催办（其他值班人员会收到通知）", usage=USAGE, permission=OFFICE)
async def handled(ctx: Context, args: str) -> Reply:
    """Close escalation #N for every office member; say who closed it when it was closed already."""
    words = args.split()
    number = report_id(words[0]) if words else None
    if number is None:
        raise UserFacingError("请写催办消息里的编号（#后面的数字）。", usage=USAGE)
    assert ctx.staff is not None and ctx.staff.id is not None
    tz = ctx.services.settings.tz
    async with ctx.services.db.session() as s:
        conn = await s.connection()
        cols = (T.c.id, T.c.kind, T.c.room_id, T.c.step, T.c.text, T.c.target)
        row = (await conn.execute(select(*cols).where(T.c.id == number))).mappings().first()
        if row is None or row["kind"] not in ESCALATIONS:
            raise UserFacingError(f"没有编号为 {number} 的催办，请核对催办消息里的编号。", usage=USAGE)
        item = f"{row['room_id']}:{row['step']}:{row['kind']}"
        done = (
            await s.exec(
                sm_select(AuditLog)
                .where(col(AuditLog.entity) == ENTITY, col(AuditLog.entity_id) == item)
                .order_by(col(AuditLog.id))
            )
        ).first()
        what = str(row["text"]).rstrip("。")
        if done is not None:
            by = done.detail.get("by", "?")
            return Reply(f"#{number} 已由{by}于 {done.at.astimezone(tz):%H:%M} 处理：{what}。")
        siblings = (
            await conn.execute(
                select(T.c.id, T.c.status, T.c.target).where(
                    T.c.room_id == row["room_id"], T.c.step == row["step"], T.c.kind == row["kind"]
                )
            )
        ).all()
        name = ctx.staff.name
        await conn.execute(
            update(T)
            .where(T.c.id.in_([i for i, _st, _t in siblings]), T.c.status.in_([PENDING, SENDING]))
            .values(status=CANCELLED, last_error=f"已由{name}处理", lease_owner=None, lease_until=None)
        )
        s.add(
            AuditLog(
                at=ctx.now,
                actor=actor(ctx),
                action="handle",
                entity=ENTITY,
                entity_id=item,
                detail={"number": number, "by": name, "text": str(row["text"])},
            )
        )
        others = sorted({int(t["staff_id"]) for _i, _st, t in siblings if t.get("type") == "staff"} - {ctx.staff.id})
        people = (await s.exec(sm_select(Staff).where(col(Staff.id).in_(others), col(Staff.active)))).all()
        note = f"【已处理】{what}——已由{name}于 {ctx.now.astimezone(tz):%H:%M} 处理（#{number}）。"
        messages = [
            OutgoingMessage(t, note, key=f"handled:{item}:{target_key(target_to_json(t))}")
            for st in people
            for t in person_targets(st, channels=(ctx.message.channel,))
        ]
        if messages:
            await ctx.enqueue(s, messages)
    told = f"已告知其他值班人员（{len(messages)} 人）。" if messages else "没有其他需要告知的值班人员。"
    return Reply(f"已处理 #{number}：{what}。{told}")

"""Acknowledging critical reminders (收到, /收到) and the office's view of who has (/提醒状态)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery.rows import SENT, T
from bot.dispatch import CommandTable, Context, normalize
from bot.model import Reply
from bot.permissions import STAFF, SUPERVISOR_OR_OFFICE
from bot.store.reports import ABSENT_REPORT, follow_up_of
from bot.store.tables import Assignment, Duty, ExamSession, OutboxKind, ReminderAck, Room, Staff
from scheduler.conditions import condition_holds
from scheduler.timeline import Timeline

table = CommandTable()

NOTHING_TO_ACK = "目前没有需要您确认的提醒。"
_ACK_TEXT = re.compile(r"^(收到|收到了|已收到|好的收到)[!！。.~～]*$")
WINDOW = timedelta(hours=12)


def _titles(timeline: Timeline) -> dict[str, dict[str, str]]:
    return {kind.value: {s.id: s.title for s in steps} for kind, steps in timeline.items()}


async def _chief_rooms(conn: AsyncConnection, staff_id: int, now: datetime) -> list[dict[str, Any]]:
    rt, at, et = Room.__table__, Assignment.__table__, ExamSession.__table__  # type: ignore[attr-defined]
    q = (
        select(rt.c.id, rt.c.room_no, rt.c.group_chat, et.c.id.label("session_id"), et.c.kind, et.c.code)
        .join(at, at.c.room_id == rt.c.id)
        .join(et, et.c.id == rt.c.session_id)
        .where(
            at.c.staff_id == staff_id,
            at.c.duty == Duty.CHIEF.value,
            et.c.starts_at <= now + WINDOW,
            et.c.ends_at >= now - WINDOW,
        )
    )
    return [dict(m) for m in (await conn.execute(q)).mappings().all()]


async def _outstanding(conn: AsyncConnection, room_ids: list[int], now: datetime) -> list[dict[str, Any]]:
    """Critical steps of these rooms whose reminder went out and that nobody acknowledged yet."""
    if not room_ids:
        return []
    needs = {
        (r, s)
        for r, s in (
            await conn.execute(
                select(T.c.room_id, T.c.step).where(T.c.room_id.in_(room_ids), T.c.kind == OutboxKind.ACK_OFFICE.value)
            )
        ).all()
    }
    if not needs:
        return []
    sent = (
        await conn.execute(
            select(T.c.room_id, T.c.step, T.c.session_id, T.c.due_at).where(
                T.c.room_id.in_(room_ids),
                T.c.kind == OutboxKind.REMINDER.value,
                T.c.status == SENT,
                T.c.due_at <= now,
            )
        )
    ).all()
    a = ReminderAck.__table__  # type: ignore[attr-defined]
    acked = {(r, s) for r, s in (await conn.execute(select(a.c.room_id, a.c.step).where(a.c.room_id.in_(room_ids))))}
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for room_id, step, session_id, due in sent:
        if (room_id, step) in needs and (room_id, step) not in acked:
            out[(room_id, step)] = {"room_id": room_id, "step": step, "session_id": session_id, "due": due}
    return sorted(out.values(), key=lambda x: x["due"])


async def acknowledge(ctx: Context) -> Reply | None:
    """Record 收到 for every outstanding critical step of the sender's rooms; None when there is nothing."""
    staff = ctx.staff
    if staff is None or staff.id is None:
        return None
    now = ctx.now
    async with ctx.services.db.session() as s:
        conn = await s.connection()
        rooms = await _chief_rooms(conn, staff.id, now)
        if ctx.message.chat_id:
            here = [r for r in rooms if r["group_chat"] == ctx.message.chat_id]
            rooms = here or rooms
        todo = await _outstanding(conn, [r["id"] for r in rooms], now)
        if not todo:
            return None
        a = ReminderAck.__table__  # type: ignore[attr-defined]
        await conn.execute(
            a.insert(),
            [
                {
                    "session_id": t["session_id"],
                    "room_id": t["room_id"],
                    "step": t["step"],
                    "staff_id": staff.id,
                    "channel": ctx.message.channel,
                    "at": now,
                }
                for t in todo
            ],
        )
    titles = _titles(ctx.services.timeline)
    by_id = {r["id"]: r for r in rooms}
    parts = []
    for t in todo:
        room = by_id[t["room_id"]]
        parts.append(f"{room['room_no']}「{titles.get(str(room['kind']), {}).get(t['step'], t['step'])}」")
    tz = ctx.services.settings.tz
    return Reply(f"已记录确认（{now.astimezone(tz):%H:%M}）：{'、'.join(parts)}。")


@table.hook(priority=-5)
async def ack_hook(ctx: Context) -> Reply | None:
    """Plain “收到” from a room's chief acknowledges the critical reminders waiting for it."""
    if ctx.staff is None or not _ACK_TEXT.match(normalize(ctx.message.text)):
        return None
    done = await acknowledge(ctx)
    if done is not None:
        return done
    other = await _not_the_chief(ctx)
    if other is not None or ctx.message.chat_id:
        return other  # in a group, 收到 between people needs no answer from the bot
    return Reply(NOTHING_TO_ACK)


async def _not_the_chief(ctx: Context) -> Reply | None:
    """A deputy or evaluator answered 收到 where a critical step awaits the chief: say who must confirm."""
    assert ctx.staff is not None and ctx.staff.id is not None
    rt, at, et, st = Room.__table__, Assignment.__table__, ExamSession.__table__, Staff.__table__  # type: ignore[attr-defined]
    now = ctx.now
    async with ctx.services.db.read() as s:
        conn = await s.connection()
        q = (
            select(rt.c.id, rt.c.room_no, rt.c.group_chat)
            .join(at, at.c.room_id == rt.c.id)
            .join(et, et.c.id == rt.c.session_id)
            .where(at.c.staff_id == ctx.staff.id, et.c.starts_at <= now + WINDOW, et.c.ends_at >= now - WINDOW)
        )
        rooms = [dict(m) for m in (await conn.execute(q)).mappings().all()]
        if ctx.message.chat_id:
            rooms = [r for r in rooms if r["group_chat"] == ctx.message.chat_id]
        todo = await _outstanding(conn, [r["id"] for r in rooms], now)
        if not todo:
            return None
        room_ids = sorted({t["room_id"] for t in todo})
        chiefs = (
            await conn.execute(
                select(st.c.name)
                .join(at, at.c.staff_id == st.c.id)
                .where(at.c.room_id.in_(room_ids), at.c.duty == Duty.CHIEF.value)
            )
        ).all()
    names = "、".join(sorted({n for (n,) in chiefs})) or "主监考"
    return Reply(f"已看到。关键环节的确认需由主监考（{names}）回复“收到”。")


@table.command(
    "收到",
    "ack",
    summary="确认收到关键环节提醒（主监考）",
    usage="/收到（或直接回复“收到”），例：/收到",
    permission=STAFF,
)
async def ack_command(ctx: Context, args: str) -> Reply:
    """Acknowledge, or say why there is nothing to acknowledge."""
    reply = await acknowledge(ctx)
    if reply is not None:
        return reply
    assert ctx.staff is not None and ctx.staff.id is not None
    async with ctx.services.db.read() as s:
        rooms = await _chief_rooms(await s.connection(), ctx.staff.id, ctx.now)
    if not rooms:
        return Reply("您当前没有担任主监考的考场，确认需由本考场主监考发送。")
    return Reply(NOTHING_TO_ACK)


@table.command(
    "提醒状态",
    "reminders",
    summary="查看各考场对关键提醒的确认和报告情况",
    usage="/提醒状态 [场次代码]，例：/提醒状态 第1场",
    permission=SUPERVISOR_OR_OFFICE,
)
async def status(ctx: Context, args: str) -> Reply:
    """Per session and room: acknowledged or not, reports in or not."""
    tz = ctx.services.settings.tz
    now = ctx.now
    today = now.astimezone(tz).date()
    code = args.strip()
    et, rt = ExamSession.__table__, Room.__table__  # type: ignore[attr-defined]
    a = ReminderAck.__table__  # type: ignore[attr-defined]
    st = Staff.__table__  # type: ignore[attr-defined]
    titles = _titles(ctx.services.timeline)
    async with ctx.services.db.read() as s:
        conn = await s.connection()
        q = select(et).order_by(et.c.starts_at, et.c.id)
        q = q.where(et.c.code == code) if code else q.where(et.c.day == today)
        sessions = [dict(m) for m in (await conn.execute(q)).mappings().all()]
        if not sessions:
            if code:
                return Reply(f"没有找到场次“{code}”。", mentions=())
            return Reply(f"今天（{today:%m月%d日}）没有考试场次。")
        sids = [x["id"] for x in sessions]
        rooms = [dict(m) for m in (await conn.execute(select(rt).where(rt.c.session_id.in_(sids)))).mappings()]
        rows = (
            await conn.execute(
                select(T.c.session_id, T.c.room_id, T.c.step, T.c.kind, T.c.due_at, T.c.status, T.c.condition).where(
                    T.c.session_id.in_(sids),
                    T.c.kind.in_(
                        [OutboxKind.REMINDER.value, OutboxKind.ACK_OFFICE.value, OutboxKind.FOLLOW_OFFICE.value]
                    ),
                )
            )
        ).all()
        acks = {
            (r, stp): (name, at)
            for r, stp, name, at in (
                await conn.execute(
                    select(a.c.room_id, a.c.step, st.c.name, a.c.at)
                    .outerjoin(st, st.c.id == a.c.staff_id)
                    .where(a.c.session_id.in_(sids))
                )
            ).all()
        }
        ack_steps: set[tuple[int, str]] = set()
        follow: dict[tuple[int, str], dict[str, Any]] = {}
        sent_at: dict[tuple[int, str], datetime] = {}
        due_of: dict[tuple[int, str], datetime] = {}
        for _sid, room_id, step, kind, due, st_, cond in rows:
            if kind == OutboxKind.ACK_OFFICE.value:
                ack_steps.add((room_id, step))
            elif kind == OutboxKind.FOLLOW_OFFICE.value:
                follow[(room_id, step)] = {"cond": cond, "due": due}
            else:
                due_of[(room_id, step)] = min(due, due_of.get((room_id, step), due))
                if st_ == SENT:
                    sent_at[(room_id, step)] = due
        reported = {k: await condition_holds(conn, v["cond"]) for k, v in follow.items() if v["cond"]}
    rooms_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in sorted(rooms, key=lambda r: r["room_no"]):
        rooms_of[r["session_id"]].append(r)
    lines = ["关键提醒确认情况（✓ 已确认/已报告，✗ 未确认/未报告，… 尚未到时间）："]
    missing = 0
    for sess in sessions:
        start = sess["starts_at"].astimezone(tz)
        lines.append(f"【{sess['code']} {start:%m-%d %H:%M}】")
        names = titles.get(str(sess["kind"]), {})
        for room in rooms_of.get(sess["id"], []):
            bits = []
            for (room_id, step), due in sorted(due_of.items(), key=lambda kv: kv[1]):
                if room_id != room["id"] or (room_id, step) not in ack_steps:
                    continue
                title = names.get(step, step)
                if (room_id, step) in acks:
                    who, at = acks[(room_id, step)]
                    bits.append(f"✓{title}（{who or '?'} {at.astimezone(tz):%H:%M}）")
                elif (room_id, step) in sent_at:
                    bits.append(f"✗{title}")
                    missing += 1
                else:
                    bits.append(f"…{title}（{due.astimezone(tz):%H:%M}）")
            for (room_id, step), f in follow.items():
                if room_id != room["id"]:
                    continue
                label = "缺考报告" if follow_up_of(f["cond"]) == ABSENT_REPORT else "试卷回收报告"
                if reported.get((room_id, step)):
                    bits.append(f"✓{label}")
                elif (room_id, step) in sent_at:
                    bits.append(f"✗{label}")
                else:
                    bits.append(f"…{label}")
            lines.append(f"  {room['room_no']}：" + ("；".join(bits) if bits else "（无关键提醒）"))
    if missing:
        lines.append(f"共 {missing} 项未确认。")
    return Reply("\n".join(lines))

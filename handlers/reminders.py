"""Acknowledging critical reminders (收到, /收到) and the office's view of who has (/提醒状态)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.cn import cn_number
from bot.delivery.rows import SENT, T
from bot.dispatch import CommandTable, Context, normalize
from bot.model import Reply
from bot.permissions import STAFF, SUPERVISOR_OR_OFFICE
from bot.store.cards import show_on_all
from bot.store.reports import ABSENT_REPORT, PAPERS_HANDOUT, follow_up_of
from bot.store.tables import Assignment, AuditLog, Duty, ExamSession, OutboxKind, ReminderAck, Room, SessionKind, Staff
from handlers._waiting import waiting_for
from handlers.card_issue import card_issue
from scheduler.conditions import condition_holds, outstanding_acks
from scheduler.reminders import lead_title
from scheduler.timeline import ACK_OFFICE_AFTER, Timeline

table = CommandTable()

NOTHING_TO_ACK = "目前没有需要您确认的提醒。"
# 收到 as people type it, optionally followed by 全部 or the number of an older step from the list the bot gave.
_ACK_TEXT = re.compile(
    r"^(?:好的)?(?:收到了?|已收到|收到收到|好的|ok|okay|明白了?|知道了)"
    r"(?:\s*(?P<which>全部|所有|都收到|\d{1,2}|[一二两三四五六七八九十]))?[!！。.~～]*$",
    re.IGNORECASE,
)
ALL_WORDS = ("全部", "所有", "都收到")
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


async def _handled(conn: AsyncConnection, items: set[tuple[int, str, str]], tz: Any) -> dict[tuple[int, str, str], str]:
    """(room, step, escalation kind) → "已处理：钱进 09:20" for escalations the office closed with /已处理."""
    if not items:
        return {}
    lg = AuditLog.__table__  # type: ignore[attr-defined]
    ids = {f"{room}:{step}:{kind}": (room, step, kind) for room, step, kind in items}
    out: dict[tuple[int, str, str], str] = {}
    q = select(lg.c.entity_id, lg.c.detail, lg.c.at).where(lg.c.entity == "escalation", lg.c.entity_id.in_(list(ids)))
    for entity_id, detail, at in (await conn.execute(q.order_by(lg.c.id))).all():
        by = (detail or {}).get("by", "?")
        out.setdefault(ids[str(entity_id)], f"已处理：{by} {at.astimezone(tz):%H:%M}")
    return out


async def _chiefs_of(conn: AsyncConnection, room_ids: list[int]) -> list[Any]:
    """(id, name) of the 主监考 (考评组长) of these rooms."""
    st, at = Staff.__table__, Assignment.__table__  # type: ignore[attr-defined]
    q = select(st.c.id, st.c.name).join(at, at.c.staff_id == st.c.id)
    return list((await conn.execute(q.where(at.c.room_id.in_(room_ids), at.c.duty == Duty.CHIEF.value))).all())


def ack_state(name: str, at: datetime, tz: Any) -> str:
    """What every card of an acknowledged step shows: “王芳 已收到 08:04”."""
    return f"{name} 已收到 {at.astimezone(tz):%H:%M}"


def is_late(acked_at: datetime, due: datetime) -> bool:
    """An acknowledgement after the office was told the step had none (``ACK_OFFICE_AFTER``) is 迟确认."""
    return acked_at > due + ACK_OFFICE_AFTER


def which_of(text: str) -> str | None:
    """What a 收到 names: "all", a number as text, or None (the most recent step)."""
    m = _ACK_TEXT.match(normalize(text))
    which = m.group("which") if m else normalize(text).strip()
    if not which:
        return None
    if which in ALL_WORDS:
        return "all"
    n = cn_number(which)
    return str(n) if n else None


async def acknowledge(ctx: Context, which: str | None = None) -> Reply | None:
    """Record 收到 for the sender's most recent outstanding critical step (``which``: "all" or a list number).

    Older outstanding steps are listed with numbers and need 收到 全部 or 收到 N: a late 收到 answers the step
    that was just announced, not the ones people may never have read. None when nothing is outstanding.
    """
    staff = ctx.staff
    if staff is None or staff.id is None:
        return None
    now = ctx.now
    tz = ctx.services.settings.tz
    titles = _titles(ctx.services.timeline)
    async with ctx.services.db.session() as s:
        conn = await s.connection()
        rooms = await _chief_rooms(conn, staff.id, now)
        if ctx.message.chat_id:
            here = [r for r in rooms if r["group_chat"] == ctx.message.chat_id]
            rooms = here or rooms
        todo = await outstanding_acks(conn, [r["id"] for r in rooms], now)
        if not todo:
            return None
        by_id = {r["id"]: r for r in rooms}

        def name(t: dict[str, Any]) -> str:
            room = by_id[t["room_id"]]
            title = titles.get(str(room["kind"]), {}).get(t["step"], t["step"])
            return f"{room['room_no']}「{title}」"

        def listing(items: list[dict[str, Any]]) -> str:
            return "\n".join(f"{i}. {name(t)}（{t['due'].astimezone(tz):%H:%M} 发出）" for i, t in enumerate(items, 1))

        if which == "all":
            chosen = todo
        elif which is not None:
            n = int(which)
            if not 1 <= n <= len(todo):
                return Reply(
                    f"没有第 {n} 项。待确认的提醒：\n{listing(todo)}\n回复“收到 序号”确认其中一项，或“收到 全部”。"
                )
            chosen = [todo[n - 1]]
        else:
            chosen = [todo[-1]]
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
                for t in chosen
            ],
        )
        for t in chosen:  # every card of these steps is to show who acknowledged (bot/store/cards.py)
            await show_on_all(conn, t["room_id"], t["step"], ack_state(staff.name, now, tz), now)
    parts = []
    for t in chosen:
        late = f"（迟确认：提醒 {t['due'].astimezone(tz):%H:%M} 发出）" if is_late(now, t["due"]) else ""
        parts.append(name(t) + late)
    text = f"已记录确认（{now.astimezone(tz):%H:%M}）：{'、'.join(parts)}。"
    left = [t for t in todo if t not in chosen]
    if left:
        text += (
            f"\n还有 {len(left)} 项较早的提醒未确认：\n{listing(left)}\n"
            "已处理的请回复“收到 序号”逐项确认，或“收到 全部”一并确认。"
        )
    return Reply(text)


# A tap on a reminder card, as the adapters pass it on: /收到 卡片 <room id>:<step id>.
CARD_ARGS = re.compile(r"卡片\s+(\d{1,12}):([a-z_]{1,64})")
# A tap on the card's 有问题 button: /收到 问题 <room id>:<step id>.
CARD_ISSUE_ARGS = re.compile(r"问题\s+(\d{1,12}):([a-z_]{1,64})")


def card_command(room_id: int, step: str) -> str:
    """The text an adapter dispatches for a tap on the card of ``step`` in room ``room_id``."""
    return f"/收到 卡片 {room_id}:{step}"


def card_issue_command(room_id: int, step: str) -> str:
    """The text an adapter dispatches for a tap on the 有问题 button of the card of ``step`` in room ``room_id``."""
    return f"/收到 问题 {room_id}:{step}"


async def acknowledge_card(ctx: Context, room_id: int, step: str) -> Reply:
    """A tap on a reminder card: the same acknowledgement as a typed 收到, of exactly that step.

    Only the room's 主监考 (考评组长) may; a tap by anyone else changes nothing and says who may. A second tap, or
    the platform delivering the tap again, finds the step acknowledged and says by whom: it counts once.
    """
    tz = ctx.services.settings.tz
    titles = _titles(ctx.services.timeline)
    a = ReminderAck.__table__  # type: ignore[attr-defined]
    st, rt, et = Staff.__table__, Room.__table__, ExamSession.__table__  # type: ignore[attr-defined]
    async with ctx.services.db.session() as s:
        conn = await s.connection()
        room = (
            await conn.execute(
                select(rt.c.id, rt.c.room_no, et.c.kind).join(et, et.c.id == rt.c.session_id).where(rt.c.id == room_id)
            )
        ).first()
        if room is None:
            return Reply("这张提醒卡片已失效。")
        kind = SessionKind(str(room.kind))
        title = f"{room.room_no}「{titles.get(kind.value, {}).get(step, step)}」"
        done = (
            await conn.execute(
                select(a.c.at, st.c.name)
                .outerjoin(st, st.c.id == a.c.staff_id)
                .where(a.c.room_id == room_id, a.c.step == step)
                .order_by(a.c.id)
            )
        ).first()
        if done is not None:
            state = f"{done.name or '?'} 已收到 {done.at.astimezone(tz):%H:%M}"
            return Reply(f"{title}已由{done.name or '?'}于 {done.at.astimezone(tz):%H:%M} 确认。", card_state=state)
        chiefs = await _chiefs_of(conn, [room_id])
        if ctx.staff is None or ctx.staff.id not in {c.id for c in chiefs}:
            names = "、".join(c.name for c in chiefs) or lead_title(kind)
            return Reply(f"只有{lead_title(kind)}（{names}）可以确认{title}。")
        todo = [t for t in await outstanding_acks(conn, [room_id], ctx.now) if t["step"] == step]
        if not todo:
            return Reply(f"{title}目前不需要确认。")
        await conn.execute(
            a.insert().values(
                session_id=todo[0]["session_id"],
                room_id=room_id,
                step=step,
                staff_id=ctx.staff.id,
                channel=ctx.message.channel,
                at=ctx.now,
            )
        )
        await show_on_all(conn, room_id, step, ack_state(ctx.staff.name, ctx.now, tz), ctx.now)
    late = f"（迟确认：提醒 {todo[0]['due'].astimezone(tz):%H:%M} 发出）" if is_late(ctx.now, todo[0]["due"]) else ""
    when = f"{ctx.now.astimezone(tz):%H:%M}"
    return Reply(f"已记录确认（{when}）：{title}{late}。", card_state=ack_state(ctx.staff.name, ctx.now, tz))


@table.hook(priority=-5)
async def ack_hook(ctx: Context) -> Reply | None:
    """Plain “收到” from a room's chief acknowledges the most recent critical reminder waiting for it."""
    if ctx.staff is None or not _ACK_TEXT.match(normalize(ctx.message.text)):
        return None
    done = await acknowledge(ctx, which_of(ctx.message.text))
    if done is not None:
        return done
    other = await _not_the_chief(ctx)
    if ctx.message.chat_id:
        return other  # in a group, 收到 between people needs no answer from the bot
    return Reply((other.text if other else NOTHING_TO_ACK) + await _waiting_text(ctx))


async def _waiting_text(ctx: Context) -> str:
    """In a private chat: the counts to check and violations to confirm the sender's cards still ask for."""
    if ctx.message.chat_id:
        return ""
    async with ctx.services.db.read() as s:
        lines = await waiting_for(ctx, s)
    if not lines:
        return ""
    one = "\n（只有这一项：核对无误也可直接回复“确认”）" if len(lines) == 1 else ""
    return "\n待您核对或确认的：\n" + "\n".join(f"· {line}" for line in lines) + one


async def _not_the_chief(ctx: Context) -> Reply | None:
    """A deputy or evaluator answered 收到 where a critical step awaits the chief: say who must confirm."""
    assert ctx.staff is not None and ctx.staff.id is not None
    rt, at, et = Room.__table__, Assignment.__table__, ExamSession.__table__  # type: ignore[attr-defined]
    now = ctx.now
    async with ctx.services.db.read() as s:
        conn = await s.connection()
        q = (
            select(rt.c.id, rt.c.room_no, rt.c.group_chat, et.c.kind)
            .join(at, at.c.room_id == rt.c.id)
            .join(et, et.c.id == rt.c.session_id)
            .where(at.c.staff_id == ctx.staff.id, et.c.starts_at <= now + WINDOW, et.c.ends_at >= now - WINDOW)
        )
        rooms = [dict(m) for m in (await conn.execute(q)).mappings().all()]
        if ctx.message.chat_id:
            rooms = [r for r in rooms if r["group_chat"] == ctx.message.chat_id]
        todo = await outstanding_acks(conn, [r["id"] for r in rooms], now)
        if not todo:
            return None
        room_ids = sorted({t["room_id"] for t in todo})
        chiefs = await _chiefs_of(conn, room_ids)
    kinds = {SessionKind(str(r["kind"])) for r in rooms if r["id"] in room_ids}
    lead = "、".join(sorted({lead_title(k) for k in kinds})) or "主监考"
    names = "、".join(sorted({c.name for c in chiefs})) or lead
    return Reply(f"已看到。关键环节的确认需由{lead}（{names}）回复“收到”。")


@table.command(
    "收到",
    "ack",
    summary="确认收到关键环节提醒（主监考）",
    usage="/收到 [全部｜序号]（或直接回复“收到”），例：/收到 全部",
    permission=STAFF,
)
async def ack_command(ctx: Context, args: str) -> Reply:
    """Acknowledge, or say why there is nothing to acknowledge; ``卡片 <room id>:<step>`` is a tapped card."""
    card = CARD_ARGS.fullmatch(args.strip())
    if card is not None:
        return await acknowledge_card(ctx, int(card.group(1)), card.group(2))
    issue = CARD_ISSUE_ARGS.fullmatch(args.strip())
    if issue is not None:
        return await card_issue(ctx, int(issue.group(1)), issue.group(2))
    reply = await acknowledge(ctx, which_of(args) if args.strip() else None)
    if reply is not None:
        return reply
    assert ctx.staff is not None and ctx.staff.id is not None
    async with ctx.services.db.read() as s:
        rooms = await _chief_rooms(await s.connection(), ctx.staff.id, ctx.now)
    waiting = await _waiting_text(ctx)
    if not rooms and not waiting:
        return Reply("您当前没有担任主监考（实操考场为考评组长）的考场，确认需由本考场主监考或考评组长发送。")
    return Reply(NOTHING_TO_ACK + waiting)


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
        items = {(r, st_, OutboxKind.ACK_OFFICE.value) for r, st_ in ack_steps}
        items |= {(r, st_, OutboxKind.FOLLOW_OFFICE.value) for r, st_ in follow}
        handled = await _handled(conn, items, tz)
    rooms_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in sorted(rooms, key=lambda r: r["room_no"]):
        rooms_of[r["session_id"]].append(r)
    lines = ["关键提醒确认情况（✓ 已确认/已报告，迟确认 催办后才确认，✗ 未确认/未报告，… 尚未到时间）："]
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
                    mark = "迟确认" if is_late(at, due) else "✓"
                    bits.append(f"{mark}{title}（{who or '?'} {at.astimezone(tz):%H:%M}）")
                elif (room_id, step, OutboxKind.ACK_OFFICE.value) in handled:
                    bits.append(f"✗{title}（{handled[(room_id, step, OutboxKind.ACK_OFFICE.value)]}）")
                elif (room_id, step) in sent_at:
                    bits.append(f"✗{title}")
                    missing += 1
                else:
                    bits.append(f"…{title}（{due.astimezone(tz):%H:%M}）")
            for (room_id, step), f in follow.items():
                if room_id != room["id"]:
                    continue
                labels = {ABSENT_REPORT: "缺考报告", PAPERS_HANDOUT: "试卷领取报告"}
                label = labels.get(follow_up_of(f["cond"]) or "", "试卷回收报告")
                if reported.get((room_id, step)):
                    bits.append(f"✓{label}")
                elif (room_id, step, OutboxKind.FOLLOW_OFFICE.value) in handled:
                    bits.append(f"✗{label}（{handled[(room_id, step, OutboxKind.FOLLOW_OFFICE.value)]}）")
                elif (room_id, step) in sent_at or f["due"] <= ctx.now:
                    bits.append(f"✗{label}")  # past the follow-up's time (a 领取 missing after 回收 has no reminder)
                else:
                    bits.append(f"…{label}（{f['due'].astimezone(tz):%H:%M}）")
            lines.append(f"  {room['room_no']}：" + ("；".join(bits) if bits else "（无关键提醒）"))
    if missing:
        lines.append(f"共 {missing} 项未确认。")
    return Reply("\n".join(lines))

"""The office changes the day: cancel a session, move it, swap a person on a room's duty.

Each operation runs inside the caller's transaction (one transaction per change): it checks, changes the
rows, writes one audit row (who, what, before, after), re-plans the session's reminders
(:func:`~scheduler.planner.plan_sessions`: a cancelled session loses its pending reminders, a moved one
has them moved, a removed person's are cancelled and the new person gets the remaining ones) and writes the
announcements as outbox rows: privately to every staff member affected and to each room's group. The chat
command (handlers/dayplan.py) and the CLI (scheduler/changes_cli.py) share these; a refusal is a
:class:`ChangeRefused` whose message is a Chinese sentence for the person who asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.rows import T, insert_rows, new_row
from bot.delivery.targets import staff_target, target_key
from bot.store.rooms import live, room_label
from bot.store.tables import (
    KIND_LABELS,
    Assignment,
    AuditLog,
    ExamSession,
    OutboxKind,
    Room,
    Staff,
    duty_label,
)
from scheduler.changes_text import day_label, span_label
from scheduler.planner import PlanResult, WebhookChannel, group_target_of, plan_sessions
from scheduler.timeline import Timeline

SHANGHAI = ZoneInfo("Asia/Shanghai")


class ChangeRefused(Exception):
    """A change that cannot be made; the message says why, in Chinese, for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Planning:
    """How reminders are re-planned: the configured timeline and zone, and the platform of a robot webhook."""

    timeline: Timeline | None = None
    tz: ZoneInfo = SHANGHAI
    webhook_channel: WebhookChannel | None = None
    escalate_to: tuple[str, ...] = ()  # the office staff on duty (EXAMBOT_ESCALATE_TO)


@dataclass
class Change:
    """What a change did: for the reply, the CLI's output and the caller's timers."""

    action: str  # cancel | move | swap
    summary: str  # one line: what was done
    announcement: str  # the text the affected people and groups were sent
    people: list[str] = field(default_factory=list)  # names told privately
    groups: list[str] = field(default_factory=list)  # rooms whose group was told
    keys: list[str] = field(default_factory=list)  # outbox keys of the announcements
    plan: PlanResult = field(default_factory=PlanResult)
    audit_id: int = 0

    def told(self) -> str:
        """已通知：王芳、李强（私聊）；第1考场群。"""
        parts = []
        if self.people:
            parts.append(f"{'、'.join(self.people)}（私聊）")
        if self.groups:
            parts.append("、".join(f"{g}群" for g in self.groups))
        return "已通知：" + "；".join(parts) + "。" if parts else "没有可通知的人员或考场群。"

    def reminders(self) -> str:
        """提醒：取消 3 条，新建 5 条，改期 2 条（a swap updates texts that name the chief: 更新 2 条）。"""
        p = self.plan
        changed = "改期" if self.action == "move" else "更新"
        return f"提醒：取消 {p.cancelled} 条，新建 {p.created + p.revived} 条，{changed} {p.moved} 条。"


def session_label(sess: ExamSession, tz: ZoneInfo) -> str:
    """12月5日 第1场 计算机程序设计员 四级 理论."""
    words = [day_label(sess.starts_at.astimezone(tz).date()), sess.code, sess.occupation, sess.level]
    return " ".join(w for w in [*words, KIND_LABELS[sess.kind]] if w)


# ---------------------------------------------------------------------------------------------------------------------
# Checks shared by the operations


async def _lock(s: AsyncSession, sess: ExamSession) -> ExamSession:
    """The session read again in ``s`` under a row lock: two office members changing it at once take turns
    (PostgreSQL; SQLite's write transactions already do), and each checks what the other committed."""
    locked = await s.get(ExamSession, sess.id, with_for_update=True, populate_existing=True)
    if locked is None:
        raise ChangeRefused(f"场次“{sess.code}”已不存在（可能刚被重新导入删除）。")
    return locked


def _refuse_if_over(sess: ExamSession, now: datetime, tz: ZoneInfo, what: str) -> None:
    if sess.cancelled_at is not None:
        raise ChangeRefused(f"{session_label(sess, tz)} 已经取消，不能再{what}。")
    if sess.ends_at <= now:
        end = sess.ends_at.astimezone(tz)
        raise ChangeRefused(f"{session_label(sess, tz)} 已于 {end:%H:%M} 结束，不能再{what}。")


async def session_duties(s: AsyncSession, session_id: int) -> list[tuple[Room, Assignment, Staff]]:
    """Who is on duty in each live room of a session, in room order."""
    rows = await s.exec(
        select(Room, Assignment, Staff)
        .join(Assignment, col(Assignment.room_id) == col(Room.id))
        .join(Staff, col(Staff.id) == col(Assignment.staff_id))
        .where(col(Room.session_id) == session_id, col(Room.cancelled_at).is_(None))
        .order_by(col(Room.id), col(Assignment.id))
    )
    return list(rows.all())


async def _clashes(
    s: AsyncSession, staff_ids: list[int], start: datetime, end: datetime, *, skip_session: int | None, skip_room: int
) -> list[tuple[Staff, Room, ExamSession]]:
    """Live duties of ``staff_ids`` overlapping [start, end), other than in ``skip_session`` / ``skip_room``."""
    if not staff_ids:
        return []
    q = (
        select(Staff, Room, ExamSession)
        .join(Assignment, col(Assignment.staff_id) == col(Staff.id))
        .join(Room, col(Room.id) == col(Assignment.room_id))
        .join(ExamSession, col(ExamSession.id) == col(Room.session_id))
        .where(
            col(Staff.id).in_(staff_ids),
            *live(),
            col(ExamSession.starts_at) < end,
            col(ExamSession.ends_at) > start,
            col(Room.id) != skip_room,
        )
        .order_by(col(ExamSession.starts_at))
    )
    if skip_session is not None:
        q = q.where(col(ExamSession.id) != skip_session)
    return list((await s.exec(q)).all())


def _clash_text(clashes: list[tuple[Staff, Room, ExamSession]], tz: ZoneInfo) -> str:
    st, room, other = clashes[0]
    span = span_label(other.starts_at, other.ends_at, tz)
    return f"{st.name} 在 {session_label(other, tz)}（{span}）{room_label(room)} 已有安排，时间冲突。"


# ---------------------------------------------------------------------------------------------------------------------
# Writing the change: audit row, re-planning, announcements


async def _audit(
    s: AsyncSession, now: datetime, actor: str, action: str, entity: str, entity_id: int | None, detail: dict[str, Any]
) -> int:
    row = AuditLog(at=now, actor=actor, action=action, entity=entity, entity_id=str(entity_id), detail=detail)
    s.add(row)
    await s.flush()
    assert row.id is not None
    return row.id


async def _with_known_robots(s: AsyncSession, session_id: int, planning: Planning) -> Planning:
    """``planning`` whose robot webhooks keep the platform the session's stored reminders name: the chat has no
    adapters to ask, and a robot whose platform is lost cannot be sent to."""
    conn = await s.connection()
    known: dict[str, str] = {}
    for (target,) in (await conn.execute(sa_select(T.c.target).where(T.c.session_id == session_id))).all():
        if isinstance(target, dict) and target.get("webhook") and target.get("channel"):
            known[str(target["webhook"])] = str(target["channel"])
    fallback = planning.webhook_channel

    def channel_of(url: str) -> str:
        return known.get(url) or (fallback(url) if fallback is not None else "")

    return replace(planning, webhook_channel=channel_of)


async def _replan(s: AsyncSession, session_id: int, now: datetime, planning: Planning) -> PlanResult:
    """Re-plan one session's reminders inside the change's transaction."""
    return await plan_sessions(
        s,
        [session_id],
        now,
        timeline=planning.timeline,
        tz=planning.tz,
        webhook_channel=planning.webhook_channel,
        escalate_to=planning.escalate_to,
    )


async def _replan_and_announce(
    s: AsyncSession, change: Change, session_id: int, now: datetime, planning: Planning, duties: Sequence[Any]
) -> Change:
    """Re-plan the session's reminders and tell everyone on duty in it and each of its rooms' groups."""
    change.plan = await _replan(s, session_id, now, planning)
    rooms = list({r.id: r for r, _a, _st in duties}.values())
    await _announce(s, change, now, [st for _r, _a, st in duties], rooms, planning, session_id)
    return change


async def _announce(
    s: AsyncSession,
    change: Change,
    now: datetime,
    people: Sequence[Staff],
    rooms: Sequence[Room],
    planning: Planning,
    session_id: int,
) -> None:
    """Write the announcement for each person (privately) and each room's group, keyed by the audit row."""
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    targets: list[tuple[dict[str, Any], int | None]] = []
    for st in people:
        if st.id is not None and st.id not in seen and st.active:
            seen.add(st.id)
            change.people.append(st.name)
            targets.append((staff_target(st.id), None))
    for room in rooms:
        group = group_target_of(room.group_chat, room.robot_webhook, room.robot_secret, planning.webhook_channel)
        if group is not None:
            change.groups.append(room_label(room))
            targets.append((group, room.id))
    for target, room_id in targets:
        key = f"change:{change.audit_id}:{target_key(target)}"
        change.keys.append(key)
        rows.append(
            new_row(
                key=key,
                kind=OutboxKind.NOTICE,
                target=target,
                text=change.announcement,
                due_at=now,
                now=now,
                session_id=session_id,
                room_id=room_id,
            )
        )
    await insert_rows(await s.connection(), rows, skip_existing=True)


def _times(sess: ExamSession) -> dict[str, str]:
    return {"starts_at": sess.starts_at.isoformat(), "ends_at": sess.ends_at.isoformat(), "day": sess.day.isoformat()}


def _with_reason(text: str, reason: str | None) -> str:
    return f"{text}原因：{reason}。" if reason else text


# ---------------------------------------------------------------------------------------------------------------------
# The operations


async def cancel_session(
    s: AsyncSession, sess: ExamSession, *, reason: str, actor: str, now: datetime, planning: Planning
) -> Change:
    """Cancel ``sess``: its pending reminders stop; its staff and room groups are told."""
    tz = planning.tz
    sess = await _lock(s, sess)
    _refuse_if_over(sess, now, tz, "取消")
    planning = await _with_known_robots(s, sess.id or 0, planning)
    if not reason.strip():
        raise ChangeRefused("取消场次请写明原因。")
    assert sess.id is not None
    duties = await session_duties(s, sess.id)
    label = session_label(sess, tz)
    sess.cancelled_at = now
    s.add(sess)
    await s.flush()
    detail = {"code": sess.code, "before": {"cancelled": False}, "after": {"cancelled": True}, "reason": reason}
    audit_id = await _audit(s, now, actor, "cancel", "exam_session", sess.id, detail)
    span = span_label(sess.starts_at, sess.ends_at, tz)
    text = _with_reason(f"【场次调整】{label} 已取消（原定 {span}）。", reason) + "该场次的提醒不再发送。"
    change = Change("cancel", f"已取消 {label}（原定 {span}）。", text, audit_id=audit_id)
    return await _replan_and_announce(s, change, sess.id, now, planning, duties)


async def move_session(
    s: AsyncSession,
    sess: ExamSession,
    *,
    starts_at: datetime,
    ends_at: datetime,
    actor: str,
    now: datetime,
    planning: Planning,
    reason: str | None = None,
) -> Change:
    """Move ``sess`` to new times (same or another day); rooms and staff stay, reminders follow the new times."""
    tz = planning.tz
    sess = await _lock(s, sess)
    _refuse_if_over(sess, now, tz, "调整时间")
    planning = await _with_known_robots(s, sess.id or 0, planning)
    assert sess.id is not None
    if ends_at <= starts_at:
        raise ChangeRefused("结束时间要晚于开始时间。")
    if ends_at <= now:
        raise ChangeRefused(f"新的时间 {span_label(starts_at, ends_at, tz, with_day=True)} 已经过去。")
    if starts_at == sess.starts_at and ends_at == sess.ends_at:
        raise ChangeRefused(f"{session_label(sess, tz)} 的时间已经是 {span_label(starts_at, ends_at, tz)}，无需调整。")
    new_day = starts_at.astimezone(tz).date()
    if new_day != sess.day:
        taken = (
            await s.exec(select(ExamSession).where(col(ExamSession.day) == new_day, col(ExamSession.code) == sess.code))
        ).first()
        if taken is not None:
            raise ChangeRefused(f"{day_label(new_day)} 已有场次“{sess.code}”，不能移到这一天。")
    duties = await session_duties(s, sess.id)
    staff_ids = sorted({st.id for _r, _a, st in duties if st.id is not None})
    clashes = await _clashes(s, staff_ids, starts_at, ends_at, skip_session=sess.id, skip_room=-1)
    if clashes:
        raise ChangeRefused(_clash_text(clashes, tz) + "请先换人或另选时间。")
    label = session_label(sess, tz)
    other_day = new_day != sess.day
    old_span = span_label(sess.starts_at, sess.ends_at, tz, with_day=other_day)
    new_span = span_label(starts_at, ends_at, tz, with_day=other_day)
    before = _times(sess)
    sess.starts_at, sess.ends_at, sess.day = starts_at, ends_at, new_day
    s.add(sess)
    await s.flush()
    detail = {"code": sess.code, "before": before, "after": _times(sess), "reason": reason}
    audit_id = await _audit(s, now, actor, "move", "exam_session", sess.id, detail)
    text = _with_reason(f"【场次调整】{label} 改为 {new_span}（原 {old_span}）。", reason) + "提醒按新时间发送。"
    change = Change("move", f"已把 {label} 改为 {new_span}（原 {old_span}）。", text, audit_id=audit_id)
    return await _replan_and_announce(s, change, sess.id, now, planning, duties)


async def swap_staff(
    s: AsyncSession,
    sess: ExamSession,
    room: Room,
    old: Staff,
    new: Staff,
    *,
    actor: str,
    now: datetime,
    planning: Planning,
    reason: str | None = None,
) -> Change:
    """Put ``new`` on ``old``'s duty in ``room``: the new person gets the remaining reminders, the old one's stop."""
    tz = planning.tz
    sess = await _lock(s, sess)
    _refuse_if_over(sess, now, tz, "换人")
    planning = await _with_known_robots(s, sess.id or 0, planning)
    assert sess.id is not None and room.id is not None and new.id is not None
    duties = [(r, a, st) for r, a, st in await session_duties(s, sess.id) if r.id == room.id]
    where = f"{session_label(sess, tz)} {room_label(room)}"
    mine = next((a for _r, a, st in duties if st.id == old.id), None)
    if mine is None:
        names = "、".join(f"{st.name}（{duty_label(a.duty, sess.kind)}）" for _r, a, st in duties) or "没有人员"
        raise ChangeRefused(f"{old.name} 不在 {where} 的名单中；该考场现有：{names}。")
    if old.id == new.id:
        raise ChangeRefused("换上的人和换下的人是同一个人。")
    if any(st.id == new.id for _r, _a, st in duties):
        raise ChangeRefused(f"{new.name} 已在 {where} 的名单中。")
    clashes = await _clashes(s, [new.id], sess.starts_at, sess.ends_at, skip_session=None, skip_room=room.id)
    if clashes:
        raise ChangeRefused(_clash_text(clashes, tz) + "请换另一位。")
    duty = duty_label(mine.duty, sess.kind)
    mine.staff_id = new.id
    s.add(mine)
    await s.flush()
    detail = {
        "code": sess.code,
        "room": room.room_no,
        "duty": mine.duty.value,
        "before": {"staff_id": old.id, "name": old.name},
        "after": {"staff_id": new.id, "name": new.name},
        "reason": reason,
    }
    audit_id = await _audit(s, now, actor, "swap", "assignment", mine.id, detail)
    span = span_label(sess.starts_at, sess.ends_at, tz)
    head = f"【场次调整】{session_label(sess, tz)}（{span}）{room_label(room)} {duty}由 {old.name} 改为 {new.name}。"
    text = _with_reason(head, reason) + f"此后的提醒发给 {new.name}。"
    summary = f"已把 {where} 的{duty}由 {old.name} 换为 {new.name}。"
    change = Change("swap", summary, text, audit_id=audit_id)
    change.plan = await _replan(s, sess.id, now, planning)
    await _announce(s, change, now, [old, new], [room], planning, sess.id)
    return change


__all__ = [
    "Change",
    "ChangeRefused",
    "Planning",
    "cancel_session",
    "duty_label",
    "move_session",
    "session_duties",
    "session_label",
    "swap_staff",
]

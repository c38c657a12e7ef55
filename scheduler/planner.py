"""Planning: turning sessions in the database into outbox rows, inside the caller's transaction.

``plan_sessions`` is what the importer (the CLI hands it over as ``on_sessions_changed``) and the demo
seeding call. It is idempotent: rows are keyed by session, room, step, purpose and target, so
re-planning never duplicates; a moved session moves its pending rows (and re-arms steps already sent
for the old time); a removed room, person or session cancels its pending rows. It returns what it
planned (:class:`PlanResult`, with the new due times): a caller in a process that runs the reminder
service arms the timers from it; any other process leaves that to the service's next sweep.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.notices import notice_texts, office_rows
from bot.delivery.rows import CANCELLED, EXPIRED, EXPIRED_NOTE, PENDING, SENDING, T, insert_rows, new_row
from bot.store.reports import office_staff
from bot.store.tables import Assignment, Duty, ExamSession, Room, Staff
from scheduler.digest import plan_digests
from scheduler.reminders import PlannedMessage, RoomPlan, StaffRef, compute_reminders
from scheduler.timeline import DEFAULT_TIMELINE, Timeline


@dataclass
class PlanResult:
    """What a planning run changed."""

    created: int = 0
    moved: int = 0
    unchanged: int = 0
    cancelled: int = 0
    revived: int = 0
    due_times: set[datetime] = field(default_factory=set)

    @property
    def changed(self) -> int:
        """Rows created, moved, revived or cancelled."""
        return self.created + self.moved + self.cancelled + self.revived


WebhookChannel = Callable[[str], str]  # a robot webhook's platform; the adapters know (bot.adapters.registry)


def group_target_of(
    group_chat: str | None, webhook: str | None, secret: str | None, webhook_channel: WebhookChannel | None = None
) -> dict[str, Any] | None:
    """A room's group target from its ``group_chat`` ("channel:id") or robot webhook.

    The schedule file has one webhook column and no platform column: ``webhook_channel`` (handed in by the
    CLI from the adapters) names the robot's platform, and the stored target keeps it. Without it the
    channel stays empty and a send to that robot fails visibly (the office is told).
    """
    if group_chat:
        channel = group_chat.split(":", 1)[0]
        return {"type": "group", "channel": channel, "chat_id": group_chat, "webhook": None, "secret": None}
    if webhook:
        channel = webhook_channel(webhook) if webhook_channel is not None else ""
        return {"type": "group", "channel": channel, "chat_id": "", "webhook": webhook, "secret": secret}
    return None


async def load_room_plans(
    conn: AsyncConnection, session_ids: Sequence[int], *, webhook_channel: WebhookChannel | None = None
) -> dict[int, list[RoomPlan]]:
    """The rooms of each session with their staff by duty, in room order."""
    rt = Room.__table__  # type: ignore[attr-defined]
    at = Assignment.__table__  # type: ignore[attr-defined]
    st = Staff.__table__  # type: ignore[attr-defined]
    out: dict[int, list[RoomPlan]] = defaultdict(list)
    ids = list(session_ids)
    rooms: list[Any] = []
    people: dict[int, list[tuple[str, StaffRef]]] = defaultdict(list)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        q = select(rt).where(rt.c.session_id.in_(part), rt.c.cancelled_at.is_(None)).order_by(rt.c.id)
        rooms += (await conn.execute(q)).mappings().all()
    room_ids = [r["id"] for r in rooms]
    for i in range(0, len(room_ids), 500):
        part = room_ids[i : i + 500]
        q = (
            select(at.c.room_id, at.c.duty, st.c.id, st.c.name)
            .join(st, st.c.id == at.c.staff_id)
            .where(at.c.room_id.in_(part), st.c.active.is_(True))
            .order_by(at.c.id)
        )
        for room_id, duty, staff_id, name in (await conn.execute(q)).all():
            people[room_id].append((str(duty), StaffRef(staff_id, name)))
    for r in rooms:
        staff = people.get(r["id"], [])
        out[r["session_id"]].append(
            RoomPlan(
                id=r["id"],
                room_no=r["room_no"],
                location=r["location"] or "",
                expected=r["expected"] or 0,
                group=group_target_of(r["group_chat"], r["robot_webhook"], r["robot_secret"], webhook_channel),
                chiefs=tuple(s for d, s in staff if d == Duty.CHIEF.value),
                deputies=tuple(s for d, s in staff if d == Duty.DEPUTY.value),
                staff=tuple(s for _d, s in staff),
            )
        )
    return out


async def load_office(conn: AsyncConnection, on_duty: Sequence[str] = ()) -> list[StaffRef]:
    """Active staff with the office role; only those named in ``on_duty`` (name or user id) when it names any.

    A list that names nobody of the office falls back to the whole office: an escalation never goes nowhere.
    """
    office = [st for st in await office_staff(conn) if st.id is not None]
    wanted = set(on_duty)
    chosen = [st for st in office if wanted & {st.name, st.wecom_userid, st.dingtalk_userid, str(st.id)}]
    return [StaffRef(st.id, st.name) for st in (chosen or office) if st.id is not None]


def _session_from(m: Any) -> ExamSession:
    return ExamSession(**dict(m))


async def plan_sessions(
    session: AsyncSession,
    session_ids: list[int],
    now: datetime,
    *,
    timeline: Timeline | None = None,
    tz: ZoneInfo | None = None,
    webhook_channel: WebhookChannel | None = None,
    escalate_to: Sequence[str] = (),
) -> PlanResult:
    """Create, move or cancel the outbox rows of ``session_ids`` inside the caller's transaction.

    Escalations go to the office staff named in ``escalate_to`` (``EXAMBOT_ESCALATE_TO``), or all of the office.

    Session ids that no longer exist, or were cancelled, have all their pending rows cancelled (so do
    cancelled rooms); a pending row no longer wanted that is already past its last useful moment is settled as
    expired instead, as the sender would (it was never delivered). The result's ``due_times``
    are what a running reminder service should arm once the transaction has committed.
    """
    timeline = timeline if timeline is not None else DEFAULT_TIMELINE
    tz = tz or ZoneInfo("Asia/Shanghai")
    result = PlanResult()
    conn = await session.connection()
    ids = sorted(set(session_ids))
    if not ids:
        return result
    et = ExamSession.__table__  # type: ignore[attr-defined]
    sessions: list[ExamSession] = []
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        q = select(et).where(et.c.id.in_(part), et.c.cancelled_at.is_(None))
        sessions += [_session_from(m) for m in (await conn.execute(q)).mappings()]
    rooms = await load_room_plans(conn, [s.id for s in sessions if s.id is not None], webhook_channel=webhook_channel)
    office = await load_office(conn, escalate_to)
    wanted: dict[str, PlannedMessage] = {}
    for sess in sessions:
        for m in compute_reminders(sess, rooms.get(sess.id or 0, []), now, office=office, timeline=timeline, tz=tz):
            wanted[m.key] = m
    existing: dict[str, dict[str, Any]] = {}
    cols = [T.c.id, T.c.key, T.c.kind, T.c.status, T.c.due_at, T.c.expires_at, T.c.text, T.c.target, T.c.condition]
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        q = select(*cols).where(T.c.session_id.in_(part), T.c.key.like("r:%"))
        for m in (await conn.execute(q)).mappings():
            existing[m["key"]] = dict(m)

    new_rows: list[dict[str, Any]] = []
    cancel_ids: list[int] = []
    for key, m in wanted.items():
        row = existing.get(key)
        if row is None:
            new_rows.append(
                new_row(
                    key=key,
                    kind=m.kind,
                    target=m.target,
                    text=m.text,
                    due_at=m.due_at,
                    expires_at=m.expires_at,
                    now=now,
                    session_id=m.session_id,
                    room_id=m.room_id,
                    step=m.step,
                    condition=m.condition,
                    format=m.format,
                )
            )
            result.created += 1
            result.due_times.add(m.due_at)
            continue
        same = (
            row["due_at"] == m.due_at
            and row["expires_at"] == m.expires_at
            and row["text"] == m.text
            and row["target"] == m.target
            and row["condition"] == m.condition
        )
        status = row["status"]
        if same and status != CANCELLED:
            result.unchanged += 1
            continue
        if status in (PENDING, SENDING) or (status == CANCELLED) or (row["due_at"] != m.due_at):
            # Pending: move/refresh. Cancelled and wanted again: revive. Sent/expired/failed for another
            # time: the session moved, so the step is due again at its new time.
            values: dict[str, Any] = {
                "due_at": m.due_at,
                "expires_at": m.expires_at,
                "next_try_at": m.due_at,
                "text": m.text,
                "target": m.target,
                "condition": m.condition,
                "pieces_sent": 0,  # a new text: a split message starts again from its first piece
                "failing_since": None,
            }
            if status != PENDING:
                values.update(
                    status=PENDING,
                    attempts=0,
                    lease_owner=None,
                    lease_until=None,
                    sent_at=None,  # send_batch and reserved_at stay: that send still counts in the rate window
                    platform_message_id=None,
                    last_error=None,
                )
            await conn.execute(update(T).where(T.c.id == row["id"]).values(**values))
            if status == CANCELLED:
                result.revived += 1
            else:
                result.moved += 1
            result.due_times.add(m.due_at)
        else:
            # Sent (or expired/failed) for this very time; only the wording changed: keep history.
            result.unchanged += 1
    expired: list[dict[str, Any]] = []
    for key, row in existing.items():
        if key not in wanted and row["status"] in (PENDING, SENDING):
            # Past its last useful moment and never sent (the service was down): settled as the sender settles it,
            # expired and listed to the office, so that it was not delivered stays visible whatever changed since
            # (session 22: a swap during an outage marked such rows “日程已变更，提醒取消”).
            stale = row["status"] == PENDING and row["expires_at"] is not None and row["expires_at"] <= now
            if stale:
                expired.append(row)
            else:
                cancel_ids.append(row["id"])
    await _settle_expired(conn, expired, now, tz)
    for i in range(0, len(cancel_ids), 500):
        part = cancel_ids[i : i + 500]
        await conn.execute(
            update(T)
            .where(T.c.id.in_(part), T.c.status.in_([PENDING, SENDING]))
            .values(status=CANCELLED, last_error="日程已变更，提醒取消", lease_owner=None, lease_until=None)
        )
    result.cancelled = len(cancel_ids)
    await insert_rows(conn, new_rows)
    await plan_digests(conn, {s.day for s in sessions}, now)
    return result


async def _settle_expired(conn: AsyncConnection, rows: list[dict[str, Any]], now: datetime, tz: ZoneInfo) -> None:
    """Mark ``rows`` expired and tell the office which reminders were missed (bot.delivery.notices, as the sender)."""
    for i in range(0, len(rows), 500):
        ids = [r["id"] for r in rows[i : i + 500]]
        await conn.execute(
            update(T).where(T.c.id.in_(ids), T.c.status == PENDING).values(status=EXPIRED, last_error=EXPIRED_NOTE)
        )
    notes = notice_texts(rows, [], tz)
    if notes:
        await insert_rows(conn, office_rows(notes, await office_staff(conn), now))


__all__ = ["PlanResult", "WebhookChannel", "group_target_of", "load_office", "load_room_plans", "plan_sessions"]

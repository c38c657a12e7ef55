"""The pure function that turns a session and its rooms into the outbox rows its timeline wants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.delivery.targets import staff_target, target_key
from bot.model import TextFormat, card_text
from bot.store.tables import KIND_LABELS, ExamSession, OutboxKind, SessionKind
from scheduler.timeline import (
    ACK_NUDGE_AFTER,
    ACK_OFFICE_AFTER,
    DEFAULT_TIMELINE,
    ESCALATION_WINDOW,
    FOLLOW_NUDGE_AFTER,
    FOLLOW_OFFICE_AFTER,
    FOLLOW_UP_COMMANDS,
    NUDGE_VALID,
    OFFICE_ESCALATION_VALID,
    Anchor,
    Audience,
    Step,
    Timeline,
    render_template,
)


@dataclass(frozen=True)
class StaffRef:
    """A staff member as the planner needs them."""

    id: int
    name: str


@dataclass(frozen=True)
class RoomPlan:
    """A room of a session with what its audiences resolve to."""

    id: int
    room_no: str
    location: str = ""
    expected: int = 0
    group: dict[str, Any] | None = None  # a group target as stored in the outbox, or None
    chiefs: tuple[StaffRef, ...] = ()
    deputies: tuple[StaffRef, ...] = ()
    staff: tuple[StaffRef, ...] = ()  # everyone on duty, chiefs and deputies included


@dataclass(frozen=True)
class PlannedMessage:
    """One outbox row the plan wants."""

    key: str
    kind: OutboxKind
    session_id: int
    room_id: int
    step: str
    audience: Audience
    target: dict[str, Any]
    target_key: str
    due_at: datetime
    expires_at: datetime | None
    text: str
    clause: str
    condition: dict[str, Any] | None = None
    who: str = ""  # the recipient in words, for the timeline listing
    format: TextFormat = TextFormat.TEXT  # CARD: a card with buttons (the text is its fallback and reference)


@dataclass(frozen=True)
class _Recipient:
    target: dict[str, Any]
    who: str


def lead_title(kind: SessionKind) -> str:
    """Who answers for a room: the 主监考, or in a practical room the 考评组长 (考评人员管理办法 第七条(四))."""
    return "考评组长" if kind is SessionKind.PRACTICAL else "主监考"


def _recipients(
    audience: Audience, room: RoomPlan, office: Sequence[StaffRef], lead: str = "主监考"
) -> list[_Recipient]:
    def people(refs: Sequence[StaffRef], label: str) -> list[_Recipient]:
        return [_Recipient(staff_target(r.id), f"{label}{r.name}") for r in refs]

    if audience is Audience.GROUP:
        if room.group is not None:
            return [_Recipient(dict(room.group), f"{room.room_no}群")]
        return people(room.staff, "")
    if audience is Audience.CHIEF:
        return people(room.chiefs or room.staff, lead)
    if audience is Audience.DEPUTY:
        return people(room.deputies, "副监考")
    if audience is Audience.STAFF:
        return people(room.staff, "")
    return people(office, "考务办公室")


def window_end(at: datetime, window: timedelta = ESCALATION_WINDOW) -> datetime:
    """``at`` rounded up to the end of its escalation window (09:06 → 09:10 with 5-minute windows)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + -(-(at - epoch) // window) * window


def _anchor_time(session: ExamSession, anchor: Anchor) -> datetime:
    return session.starts_at if anchor is Anchor.START else session.ends_at


def _key(session_id: int, room_id: int, step: str, purpose: str, target_key: str) -> str:
    return f"r:{session_id}:{room_id}:{step}:{purpose}:{target_key}"


def compute_reminders(
    session: ExamSession,
    rooms: Sequence[RoomPlan],
    now: datetime,
    *,
    office: Sequence[StaffRef] = (),
    timeline: Timeline | None = None,
    tz: ZoneInfo | None = None,
) -> list[PlannedMessage]:
    """Every message the timeline wants for ``session`` in ``rooms``, sorted by due time.

    Pure: no I/O. Times are aware; texts show local times in ``tz`` (Asia/Shanghai by default),
    whatever the host's zone. Messages whose last useful moment is already before ``now`` are
    left out (planning a session that is under way does not send stale steps).
    """
    if session.id is None:
        raise ValueError("session must be saved (it needs an id)")
    if now.tzinfo is None or session.starts_at.tzinfo is None:
        raise ValueError("aware datetimes only")
    tz = tz or ZoneInfo("Asia/Shanghai")
    timeline = timeline or DEFAULT_TIMELINE
    steps = timeline.get(session.kind, ())
    out: list[PlannedMessage] = []
    start_local = session.starts_at.astimezone(tz)
    end_local = session.ends_at.astimezone(tz)
    lead = lead_title(session.kind)
    for room in rooms:
        chief_names = "、".join(c.name for c in room.chiefs) or lead
        values = {
            "code": session.code,
            "occupation": session.occupation,
            "level": session.level,
            "kind": KIND_LABELS[session.kind],
            "room": room.room_no,
            "location": room.location,
            "start": f"{start_local:%H:%M}",
            "end": f"{end_local:%H:%M}",
            "expected": str(room.expected),
            "chief": chief_names,
        }
        for step in steps:
            due = _anchor_time(session, step.anchor) + step.offset
            expires = due + step.grace
            if step.deadline is not None:
                expires = min(expires, _anchor_time(session, step.deadline))
            body = render_template(step.text, values)
            if step.ack:
                body += f"\n请{lead}（{chief_names}）回复“收到”确认。"
            text = f"【{start_local:%m月%d日} {due.astimezone(tz):%H:%M}·{step.title}】{body}\n（依据：{step.clause}）"

            def add(
                kind: OutboxKind,
                purpose: str,
                audience: Audience,
                when: datetime,
                until: datetime | None,
                message: str,
                condition: dict[str, Any] | None,
                *,
                format: TextFormat = TextFormat.TEXT,
                _step: Step = step,
                _room: RoomPlan = room,
            ) -> None:
                if until is not None and until < now:
                    return
                for r in _recipients(audience, _room, office, lead):
                    tk = target_key(r.target)
                    out.append(
                        PlannedMessage(
                            key=_key(session.id or 0, _room.id, _step.id, purpose, tk),
                            kind=kind,
                            session_id=session.id or 0,
                            room_id=_room.id,
                            step=_step.id,
                            audience=audience,
                            target=r.target,
                            target_key=tk,
                            due_at=when,
                            expires_at=until,
                            text=message,
                            clause=_step.clause,
                            condition=condition,
                            who=r.who,
                            format=format,
                        )
                    )

            for audience in step.audiences:
                add(OutboxKind.REMINDER, audience.value, audience, due, expires, text, None)
            if step.ack:
                # The chief also gets the step privately as a card: one tap on 收到 acknowledges it (the group keeps
                # its text). Cancelled unsent once the step is acknowledged; the card's text is the typed fallback.
                ack = {"type": "acked", "room_id": room.id, "step": step.id}
                card = card_text(text, room.id, step.id)
                add(OutboxKind.CARD, "card", Audience.CHIEF, due, expires, card, ack, format=TextFormat.CARD)
            late = f"{room.room_no}（{session.code}，{start_local:%H:%M} 开考）"
            if step.ack and expires >= now:  # no acknowledgement asked for a reminder that will never go out
                cond = {"type": "ack", "room_id": room.id, "step": step.id}
                when = due + ACK_NUDGE_AFTER
                add(
                    OutboxKind.ACK_NUDGE,
                    "ack_nudge",
                    Audience.CHIEF,
                    when,
                    when + NUDGE_VALID,
                    f"{late}「{step.title}」提醒已发出 3 分钟，尚未收到{lead}确认。请回复“收到”。",
                    cond,
                )
                when = window_end(due + ACK_OFFICE_AFTER)
                add(
                    OutboxKind.ACK_OFFICE,
                    "ack_office",
                    Audience.OFFICE,
                    when,
                    when + OFFICE_ESCALATION_VALID,
                    f"{late}「{step.title}」（{due.astimezone(tz):%H:%M}）催办后仍未确认，{lead}：{chief_names}。",
                    cond,
                )
            if step.follow_up is not None:
                cmd = FOLLOW_UP_COMMANDS[step.follow_up]
                cond = {"type": "report", "room_id": room.id, "session_id": session.id, "report": step.follow_up.value}
                when = due + FOLLOW_NUDGE_AFTER
                add(
                    OutboxKind.FOLLOW_NUDGE,
                    "follow_nudge",
                    Audience.GROUP,
                    when,
                    when + NUDGE_VALID,
                    f"{late}：「{step.title}」之后还没有收到 {cmd} 报告，请尽快发送 {cmd}。",
                    cond,
                )
                when = window_end(due + FOLLOW_OFFICE_AFTER)
                add(
                    OutboxKind.FOLLOW_OFFICE,
                    "follow_office",
                    Audience.OFFICE,
                    when,
                    when + OFFICE_ESCALATION_VALID,
                    f"{late}：「{step.title}」后 20 分钟仍未收到 {cmd} 报告，{lead}：{chief_names}。",
                    cond,
                )
    out.sort(key=lambda m: (m.due_at, m.room_id, m.key))
    return out


__all__ = ["PlannedMessage", "RoomPlan", "StaffRef", "compute_reminders", "lead_title"]

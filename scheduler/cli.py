"""``exambot timeline [DATE|场次]``: what will be sent, when and to whom, with the clause of each step."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.rows import T
from bot.settings import Settings
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.tables import ExamSession
from scheduler.planner import WebhookChannel, load_office, load_room_plans, plan_sessions
from scheduler.reminders import compute_reminders
from scheduler.timeline import AUDIENCE_LABELS, TimelineError, load_timeline

if TYPE_CHECKING:
    from bot.importer.api import SessionsChanged

STATUS_LABELS = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "expired": "已过期",
    "cancelled": "已取消",
    "failed": "失败",
}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``timeline`` to the main CLI."""
    p = subparsers.add_parser("timeline", help="列出将要发送的考务提醒：时间、对象、内容和依据条款")
    p.add_argument("which", nargs="?", default="", help="日期（2026-12-05）或场次代码；默认今天")
    p.add_argument("--all", action="store_true", help="包括已发送、已取消的提醒")
    p.set_defaults(func=run_timeline)


def planning_step(settings: Settings, *, webhook_channel: WebhookChannel | None = None) -> SessionsChanged:
    """The importer's ``on_sessions_changed`` for ``exambot import``: plan the reminders of the changed
    sessions inside the import's transaction, with the configured timeline, timezone and clock (``webhook_channel``
    names the platform of a room's robot webhook)."""

    async def plan(session: AsyncSession, session_ids: list[int]) -> None:
        # the timeline file is read only when sessions changed, as the import of staff or a roster needs none
        timeline = load_timeline(settings.timeline_file)
        now = settings.make_clock().now()
        await plan_sessions(
            session,
            session_ids,
            now,
            timeline=timeline,
            tz=settings.tz,
            webhook_channel=webhook_channel,
            escalate_to=settings.escalation_staff,
        )

    return plan


def run_timeline(args: argparse.Namespace, settings: Settings) -> int:
    """Print the timeline of a day or a session; 0 when found, 1 when nothing matches."""
    try:
        timeline = load_timeline(settings.timeline_file)
    except TimelineError as exc:
        print(str(exc))
        return 2
    text, code = asyncio.run(_timeline(args.which.strip(), settings, show_all=args.all, timeline=timeline))
    print(text)
    return code


async def _timeline(which: str, settings: Settings, *, show_all: bool, timeline: object) -> tuple[str, int]:
    tz = settings.tz
    db = Database(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
    try:
        await upgrade(db)
        async with db.read() as s:
            conn = await s.connection()
            et = ExamSession.__table__  # type: ignore[attr-defined]
            q = select(et).order_by(et.c.starts_at, et.c.id)
            day: date | None = None
            if not which:
                day = datetime.now(tz).date()
            else:
                try:
                    day = date.fromisoformat(which)
                except ValueError:
                    day = None
            q = q.where(et.c.day == day) if day is not None else q.where(et.c.code == which)
            sessions = [ExamSession(**dict(m)) for m in (await conn.execute(q)).mappings().all()]
            if not sessions:
                return (f"没有 {day:%Y-%m-%d} 的考试场次。" if day else f"没有找到场次“{which}”。"), 1
            ids = [x.id for x in sessions if x.id is not None]
            rooms = await load_room_plans(conn, ids)
            office = await load_office(conn, settings.escalation_staff)
            rows = (await conn.execute(select(T.c.key, T.c.status, T.c.sent_at).where(T.c.session_id.in_(ids)))).all()
    finally:
        await db.dispose()
    state = {k: (st, sent) for k, st, sent in rows}
    epoch = datetime(2000, 1, 1, tzinfo=tz)
    lines: list[str] = []
    for sess in sessions:
        start = sess.starts_at.astimezone(tz)
        end = sess.ends_at.astimezone(tz)
        lines.append(f"== {sess.code} {sess.occupation} {start:%Y-%m-%d %H:%M}-{end:%H:%M} ==")
        planned = compute_reminders(
            sess,
            rooms.get(sess.id or 0, []),
            epoch,
            office=office,
            timeline=timeline,
            tz=tz,  # type: ignore[arg-type]
        )
        if not planned:
            lines.append("  （没有提醒：该场次没有考场或该类型没有步骤）")
        for m in planned:
            st, _sent = state.get(m.key, (None, None))
            if not show_all and st in ("sent", "cancelled", "expired"):
                continue
            label = STATUS_LABELS.get(st or "", "未计划")
            if m.kind != "reminder":
                label += "·条件"
            first = m.text.split("\n", 1)[0]
            lines.append(
                f"  {m.due_at.astimezone(tz):%H:%M}  {label:<6} → {m.who or AUDIENCE_LABELS[m.audience]}"
                f"  [{m.clause}]  {first[:60]}"
            )
    return "\n".join(lines), 0

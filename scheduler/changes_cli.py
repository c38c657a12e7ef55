"""``exambot session cancel|move`` and ``exambot swap``: the office changes the day from the command line.

The same operations as the chat's /场次 and /换人 (scheduler/changes.py), audited as ``cli``. The announcements
are written to the outbox and sent by the running service (its next sweep); ``--dry-run`` runs the change in a
transaction that is rolled back, so it shows exactly what would happen and changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.settings import Settings
from bot.store.engine import Database
from bot.store.migrate import upgrade
from scheduler.changes import (
    Change,
    ChangeRefused,
    Planning,
    cancel_session,
    move_session,
    swap_staff,
)
from scheduler.changes_find import find_room, find_session, find_staff, room_of
from scheduler.changes_text import take_day, take_times
from scheduler.planner import WebhookChannel
from scheduler.timeline import TimelineError, load_timeline

ACTOR = "cli"
Operation = Callable[[AsyncSession, Planning], Awaitable[Change]]


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back, carrying what it did."""

    def __init__(self, change: Change) -> None:
        super().__init__("dry run")
        self.change = change


def register(subparsers: argparse._SubParsersAction, *, webhook_channel: WebhookChannel | None = None) -> None:  # type: ignore[type-arg]
    """Add ``session`` (cancel, move) and ``swap`` to the main CLI; ``webhook_channel`` names a robot's platform."""
    run = partial(run_change, webhook_channel=webhook_channel)
    p = subparsers.add_parser("session", help="取消场次或调整场次时间（通知相关人员和考场群）")
    actions = p.add_subparsers(title="操作", dest="session_action", required=True, metavar="ACTION")

    c = actions.add_parser("cancel", help="取消场次（该场次的提醒停止发送）")
    c.add_argument("session", help="场次代码，或 第1场 / 1")
    c.add_argument("--reason", required=True, help="取消原因（写入审计记录和通知）")
    _common(c)
    c.set_defaults(func=run, operation="cancel")

    m = actions.add_parser("move", help="调整场次时间（考场和人员不变，提醒按新时间发送）")
    m.add_argument("session", help="场次代码，或 第1场 / 1")
    m.add_argument("times", help="新时间：10:00-12:00，或只写开始时间 10:00（时长不变）")
    m.add_argument("--to-day", help="改到另一天（2026-12-06 或 12月6日）；默认同一天")
    m.add_argument("--reason", default="", help="调整原因（可选）")
    _common(m)
    m.set_defaults(func=run, operation="move")

    s = subparsers.add_parser("swap", help="更换某考场的监考或考评人员（新人员接替原职责和之后的提醒）")
    s.add_argument("session", help="场次代码，或 第1场 / 1")
    s.add_argument("old", help="换下的人员（姓名或 #编号）")
    s.add_argument("new", help="换上的人员（姓名或 #编号）")
    s.add_argument("--room", help="考场（如 3 或 第3考场）；默认原人员所在的考场")
    s.add_argument("--reason", default="", help="更换原因（可选）")
    _common(s)
    s.set_defaults(func=run, operation="swap")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--day", help="场次所在日期（2026-12-05 或 12月5日）；默认今天，其次以后的日期")
    p.add_argument("--dry-run", action="store_true", help="只显示将做的改动和通知，不写入数据库")


def run_change(args: argparse.Namespace, settings: Settings, *, webhook_channel: WebhookChannel | None = None) -> int:
    """Make (or with ``--dry-run`` show) one change; 0 when done, 1 when refused, 2 on bad input."""
    try:
        timeline = load_timeline(settings.timeline_file)
    except TimelineError as exc:
        print(str(exc))
        return 2
    planning = Planning(
        timeline=timeline, tz=settings.tz, webhook_channel=webhook_channel, escalate_to=settings.escalation_staff
    )
    now = settings.make_clock().now()
    today = now.astimezone(settings.tz).date()
    try:
        op = _operation(args, planning, now, today)
    except ValueError as exc:
        print(str(exc))
        return 2
    text, code = asyncio.run(_apply(settings, op, planning, dry_run=args.dry_run))
    print(text)
    return code


def _operation(args: argparse.Namespace, planning: Planning, now: datetime, today: date) -> Operation:
    """The change the arguments ask for (its lookups and checks run inside the transaction)."""
    tz = planning.tz
    day = _day(args.day, today)
    reason = (args.reason or "").strip()

    if args.operation == "cancel":

        async def cancel(s: AsyncSession, p: Planning) -> Change:
            sess = await find_session(s, args.session, day=day, today=today, tz=tz)
            return await cancel_session(s, sess, reason=reason, actor=ACTOR, now=now, planning=p)

        return cancel
    if args.operation == "move":
        to_day = _day(args.to_day, today)

        async def move(s: AsyncSession, p: Planning) -> Change:
            sess = await find_session(s, args.session, day=day, today=today, tz=tz)
            on = to_day or sess.starts_at.astimezone(tz).date()
            try:
                times = take_times(args.times, on, tz)
            except ValueError as exc:
                raise ChangeRefused(str(exc)) from exc
            if times is None:
                raise ChangeRefused(f"看不懂时间“{args.times}”，请写成 10:00-12:00。")
            end = times.end or times.start + (sess.ends_at - sess.starts_at)
            return await move_session(
                s, sess, starts_at=times.start, ends_at=end, actor=ACTOR, now=now, planning=p, reason=reason or None
            )

        return move

    async def swap(s: AsyncSession, p: Planning) -> Change:
        sess = await find_session(s, args.session, day=day, today=today, tz=tz)
        old = await find_staff(s, args.old)
        new = await find_staff(s, args.new)
        room = await find_room(s, sess, args.room, tz) if args.room else await room_of(s, sess, old, tz)
        return await swap_staff(s, sess, room, old, new, actor=ACTOR, now=now, planning=p, reason=reason or None)

    return swap


def _day(text: str | None, today: date) -> date | None:
    if not text:
        return None
    day, rest = take_day(text, today)
    if day is None or rest:
        raise ValueError(f"看不懂日期“{text}”，请写成 2026-12-05 或 12月5日。")
    return day


async def _apply(settings: Settings, op: Operation, planning: Planning, *, dry_run: bool) -> tuple[str, int]:
    db = Database(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
    try:
        await upgrade(db)
        try:
            async with db.session() as s:
                change = await op(s, planning)
                if dry_run:
                    raise _DryRun(change)
        except _DryRun as done:
            change = done.change
        except ChangeRefused as exc:
            return f"未执行：{exc.message}", 1
    finally:
        await db.dispose()
    lines = [change.summary, change.told(), change.reminders(), f"通知内容：{change.announcement}"]
    if dry_run:
        lines = ["试运行（没有写入数据库，也没有发送通知），将执行：", *lines]
    else:
        lines.append("通知已放入发送队列，由运行中的服务发送。")
    return "\n".join(lines), 0

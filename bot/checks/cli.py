"""``exambot check [DATE] [--accept-warnings]``: the rule checks of one exam day, printed for the office."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # SQLAlchemy and the checks load only when the command runs
    from bot.checks.finding import CheckReport
    from bot.settings import Settings

EXIT_FINDINGS = 1


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``check`` to the main CLI."""
    p = subparsers.add_parser(
        "check",
        help="按规章检查某天的安排（人员配备、证卡、回避、重复安排、轮换、答辩小组）",
        description="按考评人员管理办法和监考人员守则检查某天的安排；有错误或未接受的提醒时退出码非 0。",
    )
    p.add_argument("date", nargs="?", default=None, metavar="日期", help="如 2026-12-05、12月5日、明天（默认今天）")
    p.add_argument("--accept-warnings", action="store_true", help="接受提醒（记入审计日志），只有错误时退出码非 0")
    p.set_defaults(func=run_check)


def parse_day(text: str | None, today: date) -> date:
    """The day named on the command line (today when none)."""
    from scheduler.changes_text import take_day  # startup: the scheduler loads only when the command runs

    if not text:
        return today
    day, rest = take_day(text, today)
    if day is None or rest.strip():
        raise ValueError(f"无法识别的日期“{text}”，请写成 2026-12-05 或 12月5日")
    return day


async def _check(day: date, settings: Settings, *, accept: bool) -> CheckReport:
    # startup: SQLAlchemy and the checks load only when the command runs
    from bot.checks.audit import record_accepted
    from bot.checks.run import check_days
    from bot.store.engine import Database
    from bot.store.migrate import upgrade

    db = Database(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
    try:
        await upgrade(db)
        async with db.session() as s:
            report = await check_days(s, [day])
            if accept and not report.errors:
                now = settings.make_clock().now()
                record_accepted(s, report.warnings, actor="cli", at=now, what=f"check:{day.isoformat()}")
    finally:
        await db.dispose()
    return report


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    """Print the report; 0 when clean (or only warnings, accepted), 1 otherwise."""
    today = settings.make_clock().now().astimezone(settings.tz).date()
    try:
        day = parse_day(args.date, today)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    report = asyncio.run(_check(day, settings, accept=args.accept_warnings))
    print(report.render())
    if report.errors:
        return EXIT_FINDINGS
    if report.warnings and not args.accept_warnings:
        print("有提醒未处理：核实后可加 --accept-warnings 接受（记入审计日志）。", file=sys.stderr)
        return EXIT_FINDINGS
    if report.warnings:
        print(f"已接受 {len(report.warnings)} 个提醒，已记入审计日志。")
    return 0

"""``exambot import …`` and ``exambot template …`` subcommands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the importer, SQLAlchemy and openpyxl load only when a command runs
    from bot.importer.api import SessionsChanged
    from bot.settings import Settings

KINDS = ("schedule", "staff", "roster")
EXIT_PROBLEMS = 2


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``import`` and ``template`` to the main CLI."""
    p = subparsers.add_parser(
        "import",
        help="导入考场安排 / 人员名单 / 考生名册（.xlsx 或 .csv）",
        description="导入考务办公室现有的表格；有任何问题则全部不导入，并逐条列出问题。",
    )
    p.add_argument("kind", choices=KINDS, help="schedule=考场安排，staff=人员名单，roster=考生名册")
    p.add_argument("file", type=Path, metavar="文件", help="要导入的文件")
    p.add_argument("--dry-run", action="store_true", help="只显示将要进行的修改，不写入数据库")
    p.add_argument(
        "--prune",
        action="store_true",
        help="取消本文件日期内数据库中有、文件中没有的场次和考场（保留其记录，提醒随之取消）；人员名单则停用文件中没有的人员",
    )
    p.add_argument("--year", type=int, default=None, help="日期没有写年份时使用的年份，如 2026")
    p.add_argument(
        "--accept-warnings", action="store_true", help="规则检查只有提醒时仍然导入（接受的提醒记入审计日志）"
    )
    p.set_defaults(func=run_import)

    t = subparsers.add_parser("template", help="生成空白导入模板（.xlsx）")
    t.add_argument("kind", choices=KINDS, help="schedule=考场安排，staff=人员名单，roster=考生名册")
    t.add_argument("out", type=Path, metavar="输出文件", help="输出文件，如 考场安排模板.xlsx")
    t.set_defaults(func=run_template)


async def _import(args: argparse.Namespace, settings: Settings, on_sessions_changed: SessionsChanged | None) -> str:
    # startup: the importer, SQLAlchemy and openpyxl load only when an import runs
    from bot.importer.api import import_file
    from bot.importer.limits import ImportLimits
    from bot.store.engine import Database
    from bot.store.migrate import upgrade

    db = Database(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
    try:
        await upgrade(db)
        result = await import_file(
            db,
            args.kind,
            args.file,
            tz=settings.tz,
            actor=f"import:{Path(args.file).name}",
            dry_run=args.dry_run,
            year=args.year,
            on_sessions_changed=on_sessions_changed,
            prune=args.prune,
            now=settings.make_clock().now(),  # the service clock: the same "now" as the reminder planning
            accept_warnings=args.accept_warnings,
            limits=ImportLimits(
                max_rows=settings.import_max_rows,
                max_bytes=settings.import_max_bytes,
                max_merged_cells=settings.import_max_merged_cells,
            ),
        )
    finally:
        await db.dispose()
    return result.render(max_lines=None if args.dry_run else 50)


def run_import(
    args: argparse.Namespace, settings: Settings, *, on_sessions_changed: SessionsChanged | None = None
) -> int:
    """Import a file; 0 on success, 2 when the file has problems (listed on stderr).

    ``on_sessions_changed`` is handed to :func:`bot.importer.api.import_file`: the main CLI passes the
    reminder planning here, so an imported schedule has its reminders planned in the same transaction.
    """
    from bot.importer.problems import ImportFailed  # startup: see _import

    try:
        text = asyncio.run(_import(args, settings, on_sessions_changed))
    except ImportFailed as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_PROBLEMS
    print(text)
    return 0


def run_template(args: argparse.Namespace, settings: Settings) -> int:
    """Write a blank template."""
    from bot.importer.template import write_template  # startup: openpyxl loads only when a template is written

    out = write_template(args.kind, args.out)
    print(f"已生成模板：{out}（第二个工作表“说明”介绍各列的填写方法）")
    return 0

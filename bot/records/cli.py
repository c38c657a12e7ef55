"""``exambot export [DATE] [场次] --out FILE.xlsx|FILE.csv``: the day's 考场情况记录表 as a file for the office."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, datetime
from pathlib import Path

from sqlmodel import col, select

from bot.records.export import day_csv, day_workbook
from bot.settings import Settings
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.rooms import sessions_of_day
from bot.store.tables import ExamSession

EPILOG = """\
参数：
  DATE   日期，如 2026-12-05；省略时为今天
  场次   场次代码，如 第1场；只导出该场次。只写场次不写日期时，按该场次所在的日期（有多天同名场次时须写日期）

文件格式（按 --out 的扩展名）：
  .xlsx  工作簿：汇总（报认定中心：各场次各考场应考/实考/缺考、违纪、突发、试卷核对，合计）、违纪、缺考，
         以及每个场次每个考场一张“考场情况记录表”（A4 横向打印，表头每页重复，含签名栏）
  .csv   违纪与缺考记录合为一个 CSV（UTF-8 带 BOM，Excel 可直接打开）：每行一条，
         第一列“类别”为 违纪 或 缺考，其后为 日期、场次、考场、准考证号、姓名、座号、编号、时间、违纪类型、
         现场处理、说明、报告人、第二人确认、办公室认定、补录

考生信息不打码（考务办公室存档用），请妥善保管导出的文件；每次导出都记入审计日志。

退出码：0 已导出；1 没有找到场次；2 参数或文件错误。
例：exambot export 2026-12-05 --out 考场情况记录表.xlsx
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``export`` to the main CLI."""
    p = subparsers.add_parser(
        "export",
        help="导出某天的考场情况记录表（Excel 工作簿或 CSV）",
        description="导出某天（或某场次）的考场情况记录表。",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("which", nargs="*", metavar="DATE|场次", help="日期（2026-12-05）和/或场次代码；默认今天")
    p.add_argument("--out", required=True, help="输出文件，扩展名 .xlsx 或 .csv")
    p.add_argument("--force", action="store_true", help="输出文件已存在时覆盖")
    p.set_defaults(func=run_export)


def _split(which: list[str]) -> tuple[date | None, str | None, str | None]:
    """(day, session code, error) from the positional words."""
    day: date | None = None
    code: str | None = None
    for word in which:
        word = word.strip()
        if not word:
            continue
        try:
            parsed = date.fromisoformat(word)
        except ValueError:
            parsed = None
        if parsed is not None and day is None:
            day = parsed
        elif code is None:
            code = word
        else:
            return None, None, f"多余的参数：{word}（只接受一个日期和一个场次）"
    return day, code, None


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the export; 0 written, 1 nothing to export, 2 bad arguments or file."""
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        print(f"不支持的文件类型“{out.suffix or '（无扩展名）'}”：--out 请用 .xlsx 或 .csv 结尾", file=sys.stderr)
        return 2
    if out.exists() and not args.force:
        print(f"文件 {out} 已存在：换一个文件名，或加 --force 覆盖", file=sys.stderr)
        return 2
    if not out.parent.is_dir():
        print(f"目录 {out.parent} 不存在", file=sys.stderr)
        return 2
    day, code, error = _split(args.which)
    if error:
        print(error, file=sys.stderr)
        return 2
    message, data, code_ = asyncio.run(_export(settings, day, code, csv=suffix == ".csv"))
    if data is None:
        print(message, file=sys.stderr)
        return code_
    try:
        out.write_bytes(data)
    except OSError as exc:
        print(f"无法写入 {out}：{exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{message}：{out}")
    return 0


async def _export(
    settings: Settings, day: date | None, code: str | None, *, csv: bool
) -> tuple[str, bytes | None, int]:
    tz = settings.tz
    db = Database(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
    try:
        await upgrade(db)
        if day is None and code is not None:
            async with db.read() as s:
                found = await s.exec(select(ExamSession.day).where(col(ExamSession.code) == code))
                days = sorted(set(found.all()))
            if not days:
                return f"没有找到场次“{code}”。", None, 1
            if len(days) > 1:
                listed = "、".join(f"{d:%Y-%m-%d}" for d in days)
                return f"场次“{code}”在多天都有（{listed}），请同时写日期，如 exambot export {days[-1]} {code}", None, 2
            day = days[0]
        if day is None:
            day = datetime.now(tz).date()
        rooms = await _room_count(db, day, code)
        if rooms == 0:
            what = f"{day:%Y-%m-%d} 的场次“{code}”" if code else f"{day:%Y-%m-%d} 的考试场次"
            return f"没有 {what}。", None, 1
        make = day_csv if csv else day_workbook
        now = settings.make_clock().now()
        records_name, data = await make(db, day, tz, session_code=code, actor="cli", now=now)
        kind = "CSV（违纪、缺考）" if csv else "考场情况记录表"
        return f"已导出 {day:%Y-%m-%d}{' ' + code if code else ''} 的{kind}（{rooms} 个考场，{records_name}）", data, 0
    finally:
        await db.dispose()


async def _room_count(db: Database, day: date, code: str | None) -> int:
    async with db.read() as s:
        pairs = await sessions_of_day(s, day)
    return sum(1 for _r, sess in pairs if code is None or sess.code == code)

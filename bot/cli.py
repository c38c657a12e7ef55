"""The ``exambot`` command line: serve, demo, chat, config, db, import, template, ask."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web

from bot.settings import ConfigError, Settings, describe, load_settings

DEMO_DB = "exambot-demo.db"

Runner = Callable[[argparse.Namespace, Settings], int]


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import create_app
    from bot.logging import configure_logging

    settings = _with_listen(settings, args)
    configure_logging(settings.log_level, settings.log_json)
    app = create_app(settings)
    ready = f"exambot 正在监听 http://{settings.host}:{settings.port}/"
    web.run_app(app, host=settings.host, port=settings.port, print=_announce(ready), shutdown_timeout=10)
    return 0


def _announce(text: str) -> Callable[[str], None]:
    """aiohttp calls this once the server listens: only then is the URL worth printing."""

    def show(_aiohttp_banner: str) -> None:
        print(text, flush=True)

    return show


def _with_listen(settings: Settings, args: argparse.Namespace) -> Settings:
    update = {}
    if getattr(args, "host", None):
        update["host"] = args.host
    if getattr(args, "port", None):
        update["port"] = args.port
    return settings.model_copy(update=update) if update else settings


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import create_app
    from bot.clock import FastClock, SystemClock
    from bot.demo import seed_demo
    from bot.logging import configure_logging
    from bot.store.engine import Database
    from bot.store.migrate import upgrade

    if args.speed <= 0:
        print("--speed 应为正数", file=sys.stderr)
        return 2
    clock = FastClock(args.speed) if args.speed != 1 else SystemClock()
    if not args.no_serve:
        db_path = Path(args.db or DEMO_DB)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        settings = settings.model_copy(update={"database_url": f"sqlite:///{db_path}", "console": True})
    settings = _with_listen(settings, args)

    async def seed() -> list[tuple[object, list[str]]]:
        db = Database(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
        try:
            await upgrade(db)
            return list(await seed_demo(db, clock.now(), settings.tz))
        finally:
            await db.dispose()

    try:
        people = asyncio.run(seed())
    except RuntimeError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.no_serve:
        from bot.store.tables import ROLE_LABELS, Staff

        print(f"已写入演示数据：{settings.database_url}")
        for staff, duties in people:
            assert isinstance(staff, Staff)
            roles = "、".join(ROLE_LABELS[r] for r in sorted(staff.role_set))
            print(f"{staff.id:>3}  {staff.name}  {roles}  {'；'.join(duties) or '-'}")
        return 0
    configure_logging(settings.log_level, settings.log_json)
    app = create_app(settings, clock=clock, console=True)
    url = f"http://{settings.host}:{settings.port}/console"
    speed = f"（时间 {args.speed:g} 倍速）" if args.speed != 1 else ""
    ready = f"演示控制台已启动{speed}：{url}\n按 Ctrl+C 退出。"
    web.run_app(app, host=settings.host, port=settings.port, print=_announce(ready), shutdown_timeout=5)
    return 0


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.logging import configure_logging

    # stdout carries the replies; logs go to stderr and only when they matter.
    configure_logging("DEBUG" if settings.log_level == "DEBUG" else "WARNING", settings.log_json)
    return asyncio.run(_chat_async(args.who, settings, sys.stdin, sys.stdout))


async def _chat_async(who: str, settings: Settings, stdin: object, stdout: object) -> int:
    from bot.adapters.console import ConsoleAdapter
    from bot.app import ADAPTERS, create_app
    from bot.components import components
    from bot.directory import find_staff_by_name_or_id

    settings = settings.model_copy(update={"host": "127.0.0.1"})  # nothing listens; the console is in-process
    app = create_app(settings, console=True, components=components(background=False))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        adapter = app[ADAPTERS]["console"]
        assert isinstance(adapter, ConsoleAdapter)
        async with adapter.db.session() as s:
            staff = await find_staff_by_name_or_id(s, who)
        sender = str(staff.id) if staff is not None else f"unknown:{who}"
        first = True
        for line in stdin:  # type: ignore[attr-defined]
            text = line.rstrip("\n")
            if not text.strip():
                continue
            reply = await adapter.handle(sender, text, None)
            if not first:
                stdout.write("\n")  # type: ignore[attr-defined]
            first = False
            stdout.write((reply.text if reply else "（没有回复）") + "\n")  # type: ignore[attr-defined]
            stdout.flush()  # type: ignore[attr-defined]
    finally:
        await runner.cleanup()
    return 0


def _config(args: argparse.Namespace, settings: Settings) -> int:
    rows = describe(settings)
    width = max(len(r[0]) for r in rows)
    for name, value, desc in rows:
        print(f"{name:<{width}}  {value}    # {desc}")
    return 0


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.engine import Database
    from bot.store.migrate import current_revision, upgrade

    async def run() -> str | None:
        db = Database(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
        try:
            if args.db_command == "upgrade":
                await upgrade(db)
            return await current_revision(db)
        finally:
            await db.dispose()

    rev = asyncio.run(run())
    print(f"数据库版本：{rev or '（空）'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="exambot", description="考务助手 exambot")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="运行服务")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=_serve)

    p = sub.add_parser("demo", help="演示：全新 SQLite 数据库 + 演示考试日 + 网页控制台")
    p.add_argument("--speed", type=float, default=1.0, help="时间加速倍数（默认 1）")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--db", help=f"演示数据库文件（默认 {DEMO_DB}，每次启动重建）")
    p.add_argument("--no-serve", action="store_true", help="只向已配置的数据库写入演示数据并列出人员")
    p.set_defaults(func=_demo)

    p = sub.add_parser("chat", help="在终端里以某人的身份与机器人对话（逐行读取标准输入）")
    p.add_argument("--as", dest="who", required=True, help="姓名、企业微信/钉钉账号或人员编号")
    p.set_defaults(func=_chat)

    p = sub.add_parser("config", help="显示生效的配置（密钥已隐藏）")
    p.set_defaults(func=_config)

    p = sub.add_parser("db", help="数据库迁移")
    p.add_argument("db_command", choices=["upgrade", "current"])
    p.set_defaults(func=_db)

    for registrar in _registrars():
        registrar(sub)
    return parser


def _registrars() -> list[Callable[[argparse._SubParsersAction], None]]:  # type: ignore[type-arg]
    from bot.importer.cli import register as register_import
    from scheduler.cli import register as register_timeline

    return [register_import, _register_ask, register_timeline]


def _register_ask(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from knowledge.cli import _run_ask, register

    register(sub)

    def run(args: argparse.Namespace, settings: Settings) -> int:
        if not args.kb_dir:
            args.kb_dir = settings.kb_dirs
        return _run_ask(args)

    sub.choices["ask"].set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``exambot`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        func: Runner = args.func
        return func(args, settings)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

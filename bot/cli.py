"""The ``exambot`` command line: serve, demo, chat, config, db, import, template, ask, timeline, export.

Subcommand modules are imported only when their command runs (or when help lists them all), so a
quick ``exambot ask`` does not pay for aiohttp, SQLAlchemy and the importer.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import importlib
import os
import re
import socket
import sys
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bot.clock import FastClock, SystemClock
from bot.settings import ConfigError, Settings, describe, load_settings, mask_url

if TYPE_CHECKING:
    from aiohttp import web

DEMO_DB = "exambot-demo.db"

Runner = Callable[[argparse.Namespace, Settings], int]


class ChineseArgumentParser(argparse.ArgumentParser):
    """argparse with Chinese section titles, help and error messages (subcommand parsers inherit it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        add_help = kwargs.pop("add_help", True)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示此帮助并退出")

    def format_usage(self) -> str:
        formatter = self._get_formatter()
        formatter.add_usage(self.usage, self._actions, self._mutually_exclusive_groups, prefix="用法：")
        return formatter.format_help()

    def format_help(self) -> str:
        formatter = self._get_formatter()
        formatter.add_usage(self.usage, self._actions, self._mutually_exclusive_groups, prefix="用法：")
        formatter.add_text(self.description)
        for group in self._action_groups:
            formatter.start_section(group.title)
            formatter.add_text(group.description)
            formatter.add_arguments(group._group_actions)
            formatter.end_section()
        formatter.add_text(self.epilog)
        return formatter.format_help()

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}：错误：{translate_error(message)}\n")


_TYPE_NAMES = {"int": "整数", "float": "数字"}


def _choices(text: str) -> str:
    return "、".join(part.strip().strip("'") for part in text.split(","))


def translate_error(message: str) -> str:
    """argparse's English error message in Chinese (the common forms; anything else is kept as is)."""
    m = re.fullmatch(r"argument (\S+?): (.*)", message, flags=re.S)
    if m:
        name, rest = m.groups()
        c = re.fullmatch(r"invalid choice: (.*?) \(choose from (.*)\)", rest, flags=re.S)
        if c and name == "COMMAND":
            return f"没有 {c.group(1)} 这个命令，可用的命令：{_choices(c.group(2))}"
        return f"参数 {name}：{_translate_argument(rest)}"
    for pattern, chinese in (
        (r"the following arguments are required: (.*)", "缺少必需的参数：{0}"),
        (r"unrecognized arguments: (.*)", "无法识别的参数：{0}"),
        (r"ambiguous option: (\S+) could match (.*)", "选项 {0} 有歧义，可能是：{1}"),
        (r"one of the arguments (.*) is required", "以下参数必须提供一个：{0}"),
    ):
        m = re.fullmatch(pattern, message, flags=re.S)
        if m:
            return chinese.format(*m.groups())
    return message


def _translate_argument(rest: str) -> str:
    m = re.fullmatch(r"invalid (\S+) value: (.*)", rest, flags=re.S)
    if m:
        return f"应为{_TYPE_NAMES.get(m.group(1), '有效的值')}，收到 {m.group(2)}"
    m = re.fullmatch(r"invalid choice: (.*?) \(choose from (.*)\)", rest, flags=re.S)
    if m:
        return f"无效的取值 {m.group(1)}，可选：{_choices(m.group(2))}"
    m = re.fullmatch(r"not allowed with argument (.*)", rest, flags=re.S)
    if m:
        return f"不能与参数 {m.group(1)} 同时使用"
    m = re.fullmatch(r"ignored explicit argument (.*)", rest, flags=re.S)
    if m:
        return f"不接受取值 {m.group(1)}"
    simple = {
        "expected one argument": "需要一个取值",
        "expected at most one argument": "最多一个取值",
        "expected at least one argument": "至少需要一个取值",
    }
    return simple.get(rest, rest)


def _listen_error(exc: OSError, host: str, port: int) -> str | None:
    """A one-sentence explanation when the server cannot listen; None for other errors."""
    if exc.errno == errno.EADDRINUSE:
        return f"端口 {port} 已被占用，请用 --port 或 EXAMBOT_PORT 换一个端口"
    if exc.errno == errno.EACCES:
        return f"没有权限监听端口 {port}（1024 以下的端口需要管理员权限），请用 --port 或 EXAMBOT_PORT 换一个端口"
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return f"无法监听地址 {host}（本机没有这个地址），请用 --host 或 EXAMBOT_HOST 换一个地址"
    return None


def _run_app(app: web.Application, settings: Settings, ready: str, shutdown_timeout: float) -> int:
    # startup: aiohttp and the app load only for the commands that serve
    from aiohttp import web

    from bot.app import freeze_after_startup

    freeze_after_startup(app)
    try:
        web.run_app(
            app, host=settings.host, port=settings.port, print=_announce(ready), shutdown_timeout=shutdown_timeout
        )
    except OSError as exc:
        explained = _listen_error(exc, settings.host, settings.port)
        if explained is None:
            raise
        print(explained, file=sys.stderr)
        return 2
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    # startup: aiohttp, the app and structlog load only when serving
    from bot.app import create_app
    from bot.logging import configure_logging

    settings = _with_listen(settings, args)
    configure_logging(settings.log_level, settings.log_json)
    app = create_app(settings)
    ready = f"exambot 正在监听 http://{settings.host}:{settings.port}/"
    return _run_app(app, settings, ready, shutdown_timeout=10)


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
    # startup: the app, the database layer and the scheduler load only for the demo
    from bot.app import create_app, is_loopback
    from bot.demo import LIVE_LEAD, DemoRefused, seed_demo
    from bot.logging import configure_logging
    from bot.store.engine import Database
    from bot.store.migrate import upgrade
    from scheduler.timeline import load_timeline

    if args.speed <= 0:
        print("--speed 应为正数", file=sys.stderr)
        return 2
    clock = FastClock(args.speed) if args.speed != 1 else SystemClock()
    settings = _with_listen(settings, args)
    if not args.no_serve and not is_loopback(settings.host):
        given = f"--host {args.host}" if args.host else f"EXAMBOT_HOST={settings.host}"
        print(
            f"演示控制台允许以任何人的身份发言，只能监听本机回环地址，不能用 {given}；"
            "请去掉 --host 或改用 --host 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    if not args.no_serve:
        db_path = Path(args.db or DEMO_DB)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        settings = settings.model_copy(update={"database_url": f"sqlite:///{db_path}", "console": True})

    async def seed() -> list[tuple[object, list[str]]]:
        db = Database(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
        try:
            await upgrade(db)
            timeline = load_timeline(settings.timeline_file)
            # The test setting clock_origin seeds a given moment (a day that does not cross midnight, say).
            now = settings.make_clock().now() if settings.clock_origin else clock.now()
            return list(await seed_demo(db, now, settings.tz, lead=LIVE_LEAD, timeline=timeline))
        finally:
            await db.dispose()

    try:
        people = asyncio.run(seed())
    except DemoRefused as exc:
        print(f"{exc}：{_fresh_database_hint(settings.database_url)}", file=sys.stderr)
        return 2
    if args.no_serve:
        from bot.store.tables import ROLE_LABELS, Staff  # startup: SQLModel tables, as above

        print(f"已写入演示数据：{mask_url(settings.database_url)}")
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
    return _run_app(app, settings, ready, shutdown_timeout=5)


def _fresh_database_hint(url: str) -> str:
    """How to give ``demo --no-serve`` an empty database."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else url
        return (
            f"请删除数据库文件 {path}（连同 {path}-wal、{path}-shm），"
            "或设置 EXAMBOT_DATABASE_URL 指向一个新的数据库后重试"
        )
    return "请设置 EXAMBOT_DATABASE_URL 指向一个空的数据库后重试"


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.logging import configure_logging  # startup: structlog loads only for the commands that log

    # stdout carries the replies; logs go to stderr and only when they matter.
    configure_logging("DEBUG" if settings.log_level == "DEBUG" else "WARNING", settings.log_json)
    if args.demo or args.db:
        db_path = Path(args.db or DEMO_DB)
        if not db_path.exists():
            print(f"演示数据库 {db_path} 不存在：请先在本目录运行 make run（或 exambot demo）", file=sys.stderr)
            return 2
        # The demo server owns this file and keeps running beside the chat: no migration, no reseeding.
        settings = settings.model_copy(update={"database_url": f"sqlite:///{db_path}"})
    return asyncio.run(_chat_async(args.who, settings, sys.stdin, sys.stdout, group=args.group))


async def _chat_async(who: str, settings: Settings, stdin: object, stdout: object, *, group: str | None = None) -> int:
    # startup: aiohttp, the app and the database layer load only for a chat
    from aiohttp import web

    from bot.adapters.console import ConsoleAdapter
    from bot.app import ADAPTERS, create_app
    from bot.directory import find_staff_by_name_or_id, has_staff
    from bot.lifecycle import components

    settings = settings.model_copy(update={"host": "127.0.0.1"})  # nothing listens; the console is in-process
    app = create_app(settings, console=True, components=components(background=False))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        adapter = app[ADAPTERS]["console"]
        assert isinstance(adapter, ConsoleAdapter)
        async with adapter.db.session() as s:
            staff = await find_staff_by_name_or_id(s, who)
            nobody = staff is None and not await has_staff(s)
        if nobody:
            print(
                f"数据库 {mask_url(settings.database_url)} 中还没有人员：要与 make run 启动的演示对话，"
                "请加 --demo（另开一个终端，在同一目录运行）；要用自己的数据，请先 exambot import staff 人员名单",
                file=sys.stderr,
            )
        sender = str(staff.id) if staff is not None else f"unknown:{who}"
        chat = None if group is None else (group if group.startswith("console:") else f"console:{group}")
        first = True
        for line in stdin:  # type: ignore[attr-defined]
            text = line.rstrip("\n")
            if not text.strip():
                continue
            reply = await adapter.handle(sender, text, chat)
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
    value_width = max(_display_width(r[1]) for r in rows)
    for name, value, desc in rows:
        pad = " " * (value_width - _display_width(value))
        print(f"{name:<{width}}  {value}{pad}  # {desc}")
    return 0


def _display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _db(args: argparse.Namespace, settings: Settings) -> int:
    # startup: SQLAlchemy and alembic load only for the db command
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


BUILTIN_COMMANDS = ("serve", "demo", "chat", "config", "db")
# command → the registrars it needs
LAZY_COMMANDS: dict[str, tuple[str, ...]] = {
    "import": ("importer",),
    "template": ("importer",),
    "ask": ("ask",),
    "timeline": ("timeline",),
    "session": ("changes",),
    "swap": ("changes",),
    "board-link": ("board_link",),
    "export": ("records",),
    "check": ("check",),
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``argv`` only the subcommand it names is registered (all when unsure)."""
    parser = ChineseArgumentParser(prog="exambot", description="考务助手 exambot")
    sub = parser.add_subparsers(title="命令", dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="运行服务", description="运行服务：企业微信/钉钉回调、/healthz、/metrics。")
    p.add_argument("--host", help="监听地址（默认取 EXAMBOT_HOST，127.0.0.1）")
    p.add_argument("--port", type=int, help="监听端口（默认取 EXAMBOT_PORT，8080）")
    p.set_defaults(func=_serve)

    p = sub.add_parser("demo", help="演示：全新 SQLite 数据库 + 演示考试日 + 网页控制台")
    p.add_argument("--speed", type=float, default=1.0, help="时间加速倍数（默认 1）")
    p.add_argument("--host", help="监听地址，只能是本机回环地址（默认 127.0.0.1）")
    p.add_argument("--port", type=int, help="监听端口（默认 8080）")
    p.add_argument("--db", help=f"演示数据库文件（默认 {DEMO_DB}，每次启动重建）")
    p.add_argument("--no-serve", action="store_true", help="只向已配置的数据库写入演示数据并列出人员")
    p.set_defaults(func=_demo)

    p = sub.add_parser("chat", help="在终端里以某人的身份与机器人对话（逐行读取标准输入）")
    p.add_argument("--as", dest="who", required=True, help="姓名、企业微信/钉钉账号或人员编号")
    p.add_argument("--group", default=None, help="在考场群里发言（群名，如 第1考场），默认私聊")
    p.add_argument("--demo", action="store_true", help=f"与 make run 启动的演示对话（使用 {DEMO_DB}）")
    p.add_argument("--db", default=None, help="与使用此 SQLite 文件的演示对话（exambot demo --db 指定的文件）")
    p.set_defaults(func=_chat)

    p = sub.add_parser("config", help="显示生效的配置（密钥已隐藏）")
    p.set_defaults(func=_config)

    p = sub.add_parser("db", help="数据库迁移")
    p.add_argument("db_command", choices=["upgrade", "current"], help="upgrade=升级到最新版本，current=显示当前版本")
    p.set_defaults(func=_db)

    for registrar in _registrars(_wanted(argv)):
        registrar(sub)
    return parser


def _wanted(argv: Sequence[str] | None) -> tuple[str, ...]:
    """The registrars the command line needs: none for a built-in command, all for help or a typo."""
    every = ("importer", "ask", "timeline", "changes", "board_link", "records", "check")
    if argv is None:
        return every
    command = next((a for a in argv if not a.startswith("-")), None)
    if command in BUILTIN_COMMANDS:
        return ()
    needed = LAZY_COMMANDS.get(command or "")
    if needed is None:
        return every
    return tuple(r for r in every if r in needed)


def _registrars(names: Sequence[str]) -> list[Callable[[argparse._SubParsersAction], None]]:  # type: ignore[type-arg]
    table = {
        "importer": _register_import,
        "changes": _register_changes,
        **{name: _plain(module) for name, module in _PLAIN_REGISTRARS.items()},
    }
    return [table[name] for name in names]


def _register_import(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``import`` and ``template``; an import plans the reminders of the sessions it changes."""
    from bot.importer.cli import register, run_import  # startup: the importer loads only for its commands

    register(sub)

    def run(args: argparse.Namespace, settings: Settings) -> int:
        # startup: the scheduler and the adapters' registry load only when an import runs
        from bot.adapters.registry import webhook_channel
        from scheduler.cli import planning_step

        return run_import(args, settings, on_sessions_changed=planning_step(settings, webhook_channel=webhook_channel))

    sub.choices["import"].set_defaults(func=run)


def _register_changes(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``session cancel|move`` and ``swap``: the office changes the day (scheduler/changes_cli.py)."""
    from scheduler.changes_cli import register  # startup: the scheduler and SQLAlchemy load only for these

    def channel(url: str) -> str:
        from bot.adapters.registry import webhook_channel  # startup: the adapters load only when a robot is named

        return webhook_channel(url)

    register(sub, webhook_channel=channel)


# Commands whose module only needs ``register(sub)``: loaded when named (jieba, SQLAlchemy, openpyxl … start only then).
_PLAIN_REGISTRARS = {
    "ask": "knowledge.cli",
    "timeline": "scheduler.cli",
    "board_link": "bot.board_link_cli",
    "records": "bot.records.cli",
    "check": "bot.checks.cli",
}


def _plain(module: str) -> Callable[[argparse._SubParsersAction], None]:  # type: ignore[type-arg]
    def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
        importlib.import_module(module).register(sub)

    return register


def _quiet_stdout() -> None:
    """The reader of stdout went away (``| head``): send what is left to /dev/null instead of a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``exambot`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        func: Runner = args.func
        code = func(args, settings)
        sys.stdout.flush()  # a reader gone (``| head``) shows up here, not at interpreter exit
        return code
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except BrokenPipeError:
        _quiet_stdout()
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""``exambot board-link --as WHO --hours 12``: print a personal link to the office board."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.board_links import DEFAULT_HOURS, MAX_HOURS, base_url_of, board_link, expiry, may_open, sign
from bot.directory import find_staff_by_name_or_id
from bot.settings import Settings
from bot.store.engine import Database


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``board-link`` subcommand."""
    p = sub.add_parser(
        "board-link",
        help="生成考务看板的个人链接（考务办公室、督导、管理员）",
        description="生成考务看板的个人链接：链接带签名，到期失效；打开时仍核对此人在职且有相应角色。",
    )
    p.add_argument("--as", dest="who", required=True, help="姓名、企业微信/钉钉账号或人员编号")
    p.add_argument(
        "--hours", type=float, default=DEFAULT_HOURS, help=f"有效小时数（默认 {DEFAULT_HOURS}，最长 {MAX_HOURS}）"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the link, or say why none can be made (exit 2)."""
    secret = settings.board_token.get_secret_value()
    if not secret:
        print("未设置 EXAMBOT_BOARD_TOKEN（看板链接的签名密钥），无法生成看板链接。", file=sys.stderr)
        return 2
    if not 0 < args.hours <= MAX_HOURS:
        print(f"--hours 应在 0 到 {MAX_HOURS} 之间。", file=sys.stderr)
        return 2

    async def lookup() -> tuple[int | None, str, bool]:
        db = Database(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
        try:
            async with db.read() as s:
                staff = await find_staff_by_name_or_id(s, args.who)
                return (staff.id if staff else None, staff.name if staff else "", may_open(staff))
        finally:
            await db.dispose()

    staff_id, name, allowed = asyncio.run(lookup())
    if staff_id is None:
        print(f"人员名单里没有“{args.who}”。", file=sys.stderr)
        return 2
    if not allowed:
        print(f"{name} 已停用，或不是考务办公室、督导或管理员，不能打开看板。", file=sys.stderr)
        return 2
    until = expiry(settings.make_clock().now(), args.hours)
    print(board_link(base_url_of(settings.public_url, settings.host, settings.port), sign(secret, staff_id, until)))
    print(f"{name} 的看板链接，{until.astimezone(settings.tz):%Y-%m-%d %H:%M} 前有效。", file=sys.stderr)
    return 0

"""/看板: a personal, expiring link to the office board, sent in a private chat only."""

from __future__ import annotations

from bot.board_links import BOARD_ROLES, DEFAULT_HOURS, MAX_HOURS, base_url_of, board_link, expiry, sign
from bot.cn import cn_number
from bot.dispatch import CommandTable, Context
from bot.errors import UserFacingError
from bot.model import Reply
from bot.permissions import PRIVATE_CHAT, has_role

table = CommandTable()
USAGE = f"/看板 [小时数]，默认 {DEFAULT_HOURS} 小时，最长 {MAX_HOURS} 小时，例：/看板 8"


@table.command(
    "看板",
    "board",
    summary="获取考务看板的个人链接（私聊）",
    usage=USAGE,
    permission=has_role(*BOARD_ROLES) & PRIVATE_CHAT,
)
async def board(ctx: Context, args: str) -> Reply:
    """A link for the sender valid for the hours asked (12 by default); never in a group, never to others."""
    settings = ctx.services.settings
    secret = settings.board_token.get_secret_value()
    if not secret:
        return Reply("考务看板未启用：请管理员设置 EXAMBOT_BOARD_TOKEN（看板链接的签名密钥）。")
    text = args.strip().removesuffix("小时").strip()
    hours: float = DEFAULT_HOURS
    if text:
        n = int(text) if text.isdigit() else cn_number(text)
        if not n or n > MAX_HOURS:
            raise UserFacingError(f"小时数应为 1 到 {MAX_HOURS} 之间的整数。用法：{USAGE}")
        hours = n
    assert ctx.staff is not None and ctx.staff.id is not None  # the permission requires a registered sender
    until = expiry(ctx.now, hours)
    link = board_link(base_url_of(settings.public_url, settings.host, settings.port), sign(secret, ctx.staff.id, until))
    until_words = f"{until.astimezone(settings.tz):%m-%d %H:%M}"
    return Reply(f"{ctx.staff.name}，您的考务看板链接（{until_words} 前有效，仅限本人使用，请勿转发）：\n{link}")

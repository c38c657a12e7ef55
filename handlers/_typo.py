"""Glued typos: “/缺考统记” reaches /缺考 with “统记” as arguments; when that fails, suggest the closer command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from bot.dispatch import Context
from bot.errors import UserFacingError
from bot.model import Reply
from handlers._parse import CN_NUM

Handler = Callable[[Context, str], Awaitable[Reply | str | None]]


def suggestion(ctx: Context) -> str | None:
    """The closest other command when the typed name was glued to its arguments, else None."""
    parsed = ctx.dispatcher.parse(ctx.message.text)
    if parsed is None or ctx.command is None:
        return None
    token = parsed[0].lower()
    if token in (n.lower() for n in ctx.command.names):
        return None
    glued = next((token[len(n) :] for n in ctx.command.names if token.startswith(n.lower())), token)
    if not glued or any(ch.isdigit() or ch in CN_NUM for ch in glued):
        return None  # “/缺考3 …”: a room or a count glued to the name, not a typo
    for cmd in ctx.dispatcher.suggest(token, ctx):
        if cmd is not ctx.command:
            return f"/{cmd.name}"
    return None


def typo_guard(func: Handler) -> Handler:
    """Turn a refusal of glued text into “did you mean …” when another command fits better."""

    @wraps(func)
    async def wrapper(ctx: Context, args: str) -> Reply | str | None:
        try:
            return await func(ctx, args)
        except UserFacingError as exc:
            hint = suggestion(ctx)
            if hint is None:
                raise
            parsed = ctx.dispatcher.parse(ctx.message.text)
            typed = parsed[0] if parsed else ""
            raise UserFacingError(f"没有“/{typed}”这个命令。您是不是要用：{hint}？发送 /帮助 查看全部命令。") from exc

    return wrapper

"""/领取 and /回收: the action as the command, as staff type it on a phone before they learn /试卷 (hidden from
/帮助, which names them beside /试卷)."""

from __future__ import annotations

from bot.dispatch import CommandFunc, CommandTable, Context
from bot.model import Reply
from handlers import _dialog
from handlers._rooms import REPORTER
from handlers._typo import typo_guard
from handlers.papers import record

table = CommandTable()


def _as_papers(action: str) -> CommandFunc:
    """/领取 30 is /试卷 领取 30: the action goes after the arguments, so a room written first stays the room
    (/回收 1 30 答题卡 28); without arguments, /试卷's dialog from 多少份？ on."""

    @typo_guard
    async def shortcut(ctx: Context, args: str) -> Reply | str | None:
        if not args.strip():  # the dialog, with the action answered when the room needs no question either
            rooms = await _dialog.my_room_choices(ctx, [])
            return await _dialog.start(ctx, "试卷", [rooms[0], action] if len(rooms) == 1 else None)
        return await record(ctx, f"{args} {action}")

    return shortcut


for names, action, usage in (
    (("领取", "领卷"), "领取", "/领取 份数，例：/领取 30"),
    (("回收", "收卷"), "回收", "/回收 份数 [答题卡 N] [空白 N]，例：/回收 30 答题卡 28 空白 2"),
):
    summary = f"报告试卷{action}份数（同 /试卷 {action}）"
    register = table.command(*names, summary=summary, usage=usage, permission=REPORTER, hidden=True, unslashed=True)
    register(_as_papers(action))

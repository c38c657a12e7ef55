"""/领取 and /回收: the action as the command, as staff type it on a phone before they learn /试卷 (hidden from
/帮助, which names them beside /试卷)."""

from __future__ import annotations

from bot.dispatch import CommandTable, Context
from bot.model import Reply
from handlers import _dialog
from handlers._rooms import REPORTER
from handlers._typo import typo_guard
from handlers.papers import record

table = CommandTable()


@table.command(
    "领取",
    "领卷",
    summary="报告试卷领取份数（同 /试卷 领取）",
    usage="/领取 份数，例：/领取 30",
    permission=REPORTER,
    hidden=True,
    unslashed=True,
)
@typo_guard
async def handout(ctx: Context, args: str) -> Reply | str | None:
    """/领取 30 is /试卷 领取 30 (the action after the arguments, so a room written first stays the room)."""
    if not args.strip():
        return await _dialog.start(ctx, "试卷")
    return await record(ctx, f"{args} 领取")


@table.command(
    "回收",
    "收卷",
    summary="报告试卷回收份数（同 /试卷 回收）",
    usage="/回收 份数 [答题卡 N] [空白 N]，例：/回收 30 答题卡 28 空白 2",
    permission=REPORTER,
    hidden=True,
    unslashed=True,
)
@typo_guard
async def collect(ctx: Context, args: str) -> Reply | str | None:
    """/回收 30 答题卡 28 空白 2 is /试卷 回收 30 答题卡 28 空白 2."""
    if not args.strip():
        return await _dialog.start(ctx, "试卷")
    return await record(ctx, f"{args} 回收")

"""/导出: the day's 考场情况记录表 (Excel) sent to the office as a file; /导出 明细 the report history as CSV text.

The workbook (bot/records) carries unmasked candidate data, so it goes only to the office member who asked, in a
private chat; the file and its message are written in one transaction and sent by the outbox after the reply (on
a platform or target that cannot take files, a signed link that expires).
"""

from __future__ import annotations

from bot.dispatch import CommandTable, Context
from bot.errors import UserFacingError
from bot.model import PersonTarget, Reply, file_message
from bot.permissions import OFFICE, PRIVATE_CHAT
from bot.records.export import day_workbook
from bot.store.files import FileTooLarge, store_file
from handlers._parse import clean
from handlers._reports import actor
from handlers._typo import typo_guard
from handlers.queries import EXPORT_USAGE, export_history, parse

_HISTORY_WORDS = ("明细", "csv", "CSV", "历史", "全部报告")

table = CommandTable()


@table.command(
    "导出",
    "export",
    summary="导出考场情况记录表（Excel 文件）",
    usage=EXPORT_USAGE,
    permission=OFFICE & PRIVATE_CHAT,
    unslashed=True,
)
@typo_guard
async def export(ctx: Context, args: str) -> Reply:
    """/导出 [日期]: the workbook as a file, privately; /导出 明细 [日期]: every report row as CSV text."""
    words = clean(args).split()
    if any(w in _HISTORY_WORDS for w in words):
        return await export_history(ctx, " ".join(w for w in words if w not in _HISTORY_WORDS))
    q = parse(ctx, args, EXPORT_USAGE, room_allowed=False)
    tz = ctx.services.settings.tz
    name, data = await day_workbook(ctx.services.db, q.day, tz, actor=actor(ctx), now=ctx.now)
    key = f"export:{ctx.message.channel}:{ctx.message.message_id or ctx.now.isoformat()}"
    target = PersonTarget(ctx.message.channel, ctx.message.sender_id)
    try:
        async with ctx.services.db.session() as s:
            file_id = await store_file(s, name, data, ctx.now)
            await ctx.enqueue(s, [file_message(target, file_id, name, key=key)])
    except FileTooLarge:
        raise UserFacingError("这一天的记录表太大，无法作为文件发送；请在电脑上用 exambot export 导出。") from None
    return Reply(
        f"已生成《{name}》（{len(data) // 1024 + 1} KB），正在以文件发送给您。表中含考生完整信息，请勿转发到群里。"
    )

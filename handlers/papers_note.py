"""/备注: the office closes a papers mismatch after checking (the mismatch and the note both stay on record)."""

from __future__ import annotations

from bot.dispatch import CommandTable, Context
from bot.errors import UserFacingError
from bot.model import Reply
from bot.permissions import OFFICE
from bot.store.papers import papers_state
from bot.store.reports import PapersPayload
from bot.store.rooms import room_label, sessions_of_day
from handlers._parse import free_text, nfkc
from handlers._reports import already_done, append, current, once_per_message, root_of, split_report_id
from handlers._rooms import local_today, room_by_id
from handlers._typo import typo_guard

NOTE_USAGE = "/备注 编号 说明，例：/备注 21 缺1份已找到，核对无误"

table = CommandTable()


@table.command("备注", "note", summary="考务办公室核实后关闭试卷不符", usage=NOTE_USAGE, permission=OFFICE)
@typo_guard
@once_per_message
async def note(ctx: Context, args: str) -> Reply | str | None:
    """/备注 21 说明: the office closes a papers mismatch after checking (the mismatch stays on record)."""
    if not args.strip():  # which are open: the office rarely has the 编号 at hand
        return Reply(await _open_mismatches(ctx))
    rid, rest = split_report_id(args, NOTE_USAGE, "请写试卷回收记录的编号和说明。")
    rest = free_text(nfkc(rest).removeprefix("说明").removeprefix("备注"))
    if not rest.strip():
        raise UserFacingError("请写核实情况的说明。", usage=NOTE_USAGE)
    async with ctx.services.db.session() as s:
        done = await already_done(s, ctx)
        report = await current(s, rid, NOTE_USAGE)
        if report.kind != "papers" or not PapersPayload.from_payload(report.payload).is_collect:
            raise UserFacingError(f"编号 {rid} 不是试卷回收记录。", usage=NOTE_USAGE)
        where = await room_by_id(ctx, s, report.room_id)
        row = done or await append(
            ctx, s, "note", where, {"ref": root_of(report), "report": report.id, "text": rest, "closes": True}
        )
    label = where.label if where else ""
    return Reply(f"已备注编号 {rid}（{label}）：{rest}。该考场试卷核对已关闭，备注编号 {row.id}。")


async def _open_mismatches(ctx: Context) -> str:
    """Today's collections that do not reconcile and are not closed, with the /备注 to close each."""
    async with ctx.services.db.session() as s:
        rooms = await sessions_of_day(s, local_today(ctx))
        state = await papers_state(s, [r.id for r, _ in rooms if r.id is not None])
    lines = []
    for room, sess in rooms:
        rank, words = state.status(room)
        c = state.collect.get(room.id or 0)
        if rank == 0 and c is not None:
            lines.append(f"· 编号 {c.id} {sess.code} {room_label(room)}：{words}")
    if not lines:
        return "今天没有待关闭的试卷核对不符。\n用法：" + NOTE_USAGE
    return "今天待关闭的试卷核对不符：\n" + "\n".join(lines) + "\n核实后请发：/备注 编号 说明"

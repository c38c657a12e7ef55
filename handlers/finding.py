"""/督导意见 /finding: a quality supervisor's finding on a room and what should be done about it.

内部质量督导员守则 1, 4 and 5: the supervisor raises 整改和处理意见 against whoever broke the rules (staff included)
and on the exam's discipline. A finding is a report of the room like an incident: append-only, correctable with
/更正 (signed), told to the office at once, and printed in the room's 考场情况记录表. It may name staff, so its
words stay out of group chats except in the reply to the very message that typed them.
"""

from __future__ import annotations

from bot.dispatch import CommandTable, Context
from bot.model import Reply
from bot.permissions import has_role
from bot.store.reports import FindingPayload
from bot.store.tables import Report, Role
from handlers import _dialog, _show
from handlers._reports import (
    alert,
    alerted,
    already_done,
    append,
    once_per_message,
)
from handlers._rooms import SEES_ALL, RoomNow, resolve_room
from handlers._text_kind import text_kind_rules
from handlers._typo import typo_guard
from handlers.incident import parse

USAGE = "/督导意见 考场 发现的问题和整改或处理意见，例：/督导意见 2 监考员离开考场10分钟，已提醒，建议通报批评"
CORRECT_USAGE = "/更正 编号 督导意见"
# Supervisors write findings; admins hold every role.
SUPERVISOR = has_role(Role.SUPERVISOR)

table = CommandTable()


def describe(ctx: Context, report: Report, names: dict[str, str]) -> str:
    """The finding's words (hidden in a group unless this very message typed them); every caller names the kind
    before them (已更正第1考场督导意见：…, 督导意见：… in the recent list), so they carry no label of their own."""
    return _show.free_text(ctx, report, FindingPayload.from_payload(report.payload).text, _show.TEXT_HIDDEN)


def _alert_text(where: RoomNow, who: str, row: Report, tag: str = "督导意见", verb: str = "") -> str:
    place = f"{where.label}（{where.session.code}，{where.room.location}）"
    return f"【{tag}】{place}{who}{verb}：{FindingPayload.from_payload(row.payload).text}（编号 {row.id}）"


@once_per_message
async def record(ctx: Context, args: str) -> Reply | str | None:
    """Store the finding and tell the office."""
    room, text = parse(args, USAGE, "请写督导意见：发现的问题，以及整改或处理意见。")
    async with ctx.services.db.session() as s:
        row = await already_done(s, ctx)
        where = await resolve_room(ctx, s, room, USAGE, any_room=SEES_ALL)
        if row is None:
            row = await append(ctx, s, "finding", where, {"text": text})
        sent = await alert(
            ctx, _alert_text(where, ctx.staff.name if ctx.staff else "?", row), key=f"report:{row.id}", s=s
        )
    return Reply(
        f"已记录{where.label}督导意见（编号 {row.id}）：{text}。{alerted(sent)}；将列入{where.label}的考场情况记录表。"
        f"\n如需修改：/更正 {row.id} 新的意见"
    )


@table.command(
    "督导意见",
    "finding",
    summary="记录督导意见（发现的问题和整改、处理意见）",
    usage=USAGE,
    permission=SUPERVISOR,
    unslashed=True,  # “督导意见 3考场 …” typed without the slash gets the line to send (session 22)
)
@typo_guard
async def finding(ctx: Context, args: str) -> Reply | str | None:
    """/督导意见 2 意见 — or without arguments, a guided dialog."""
    if not args.strip():
        return await _dialog.start(ctx, "督导意见")
    return await record(ctx, args)


table.report_kind(
    "finding", text_kind_rules(CORRECT_USAGE, "请写更正后的督导意见。", describe, _alert_text, "督导意见")
)

table.dialog(
    _dialog.DialogSpec(
        "督导意见", (_dialog.room_step(), _dialog.Step("请写督导意见：发现的问题，以及整改或处理意见。")), record
    )
)

"""/突发 /incident: an incident in a room (实际操作考场安全工作规则 8), told to the office and supervisors at once."""

from __future__ import annotations

import re

from bot.dispatch import CommandTable, Context
from bot.errors import UserFacingError
from bot.model import Reply
from bot.store.reports import IncidentPayload
from bot.store.tables import Report
from handlers import _dialog, _show
from handlers._parse import CN_NUM, ROOM_FIRST_RE, cjk_punct, cn_number, nfkc
from handlers._reports import (
    alert,
    alerted,
    already_done,
    append,
    once_per_message,
    same_shortly_before,
)
from handlers._rooms import SEES_ALL, WATCHER, RoomNow, resolve_room
from handlers._text_kind import text_kind_rules
from handlers._typo import typo_guard

USAGE = "/突发 考场 情况描述，例：/突发 3 考生晕倒，已送医务室"
CORRECT_USAGE = "/更正 编号 情况描述"
# Inside the description only 第3考场 / 3考场 count as a room (3号 may be a building or a seat).
_ROOM_ANYWHERE = re.compile(rf"第?\s*(\d{{1,3}}|[{CN_NUM}]{{1,4}})\s*(?:号考场|考场|考室)")
# At the start, 3号 is the room only as a word of its own: 12号机死机, 3号考生晕倒, 5号工位 describe the incident.
_ROOM_START = re.compile(rf"第?\s*(\d{{1,3}}|[{CN_NUM}]{{1,4}})\s*(?:号考场|号考室|考场|考室|号(?=$|[\s,，:：、.。]))")

table = CommandTable()


def parse(text: str, usage: str = USAGE, empty: str = "请写清发生了什么。") -> tuple[int | None, str]:
    """The room (explicit form, or a bare number first) and the text as typed (``empty``: the error without any)."""
    t = nfkc(text)
    room: int | None = None
    m = _ROOM_START.match(t) or ROOM_FIRST_RE.match(t)
    if m is None:
        m = _ROOM_ANYWHERE.search(t)
    if m is not None:
        room = cn_number(m.group(1))
        t = (t[: m.start()] + t[m.end() :]).strip(" ,，:：")
    else:
        first, _, rest = t.partition(" ")
        if first.isdigit() and len(first) <= 3:
            room, t = int(first), rest.strip(" ,，:：")
    if not t:
        raise UserFacingError(empty, usage=usage)
    return room, cjk_punct(t)


def describe(ctx: Context, report: Report, names: dict[str, str]) -> str:
    """The description (hidden in a group unless this very message typed it)."""
    return _show.free_text(ctx, report, IncidentPayload.from_payload(report.payload).text, _show.TEXT_HIDDEN)


def _alert_text(where: RoomNow, who: str, row: Report, tag: str = "突发事件", verb: str = " 报告") -> str:
    place = f"{where.label}（{where.session.code}，{where.room.location}）"
    return f"【{tag}】{place}{who}{verb}：{IncidentPayload.from_payload(row.payload).text}（编号 {row.id}）"


@once_per_message
async def record(ctx: Context, args: str) -> Reply | str | None:
    """Store the incident and alert at once."""
    room, text = parse(args)
    async with ctx.services.db.session() as s:
        row = await already_done(s, ctx)
        where = await resolve_room(ctx, s, room, USAGE, any_room=SEES_ALL)
        if row is None:
            row = await append(ctx, s, "incident", where, {"text": text})
        twice = await same_shortly_before(s, row, ("text",))
        # In the report's transaction: report and alerts commit together; a redelivery adds only what is missing.
        sent = await alert(
            ctx, _alert_text(where, ctx.staff.name if ctx.staff else "?", row), key=f"report:{row.id}", s=s
        )
    text = f"已记录{where.label}突发事件（编号 {row.id}）：{text}。{alerted(sent)}；请按突发事件应急预案处置。"
    if twice is not None:
        text += f"\n注意：几分钟前已报过相同的突发事件（编号 {twice}）。如是重复发送，请 /撤销 {row.id} 重复。"
    return Reply(text)


@table.command(
    "突发", "incident", summary="报告突发事件（立即通知办公室和督导）", usage=USAGE, permission=WATCHER, unslashed=True
)
@typo_guard
async def incident(ctx: Context, args: str) -> Reply | str | None:
    """/突发 3 描述 — or without arguments, a guided dialog."""
    if not args.strip():
        return await _dialog.start(ctx, "突发")
    return await record(ctx, args)


table.report_kind(
    "incident", text_kind_rules(CORRECT_USAGE, "请写更正后的情况描述。", describe, _alert_text, "突发事件")
)

table.dialog(_dialog.DialogSpec("突发", (_dialog.room_step(), _dialog.Step("发生了什么？请简要描述。")), record))

"""/缺考 /absent: the absentees of a room's current session (监考人员守则 3(3))."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import CommandTable, Context
from bot.errors import UserFacingError
from bot.model import Reply
from bot.store.papers import Reconciliation, reconcile
from bot.store.reports import AbsentPayload, reports_in_force
from bot.store.rooms import candidate_tickets
from bot.store.tables import Report
from handlers import _dialog, _show
from handlers._parse import CN_NUM, NONE_WORDS, clean, cn_number, split_args
from handlers._reports import KindRules, already_done, append, once_per_message
from handlers._rooms import ANY_ROOM, REPORTER, RoomNow, resolve_room
from handlers._typo import typo_guard
from handlers.papers import announce_change

USAGE = "/缺考 考场 准考证号…（没有缺考写“无”），例：/缺考 3 2026000003 2026000005"
CORRECT_USAGE = "/更正 编号 准考证号…（或“无”）"
_FILLER = ("考生", "人", "名", "缺")
_COUNT = re.compile(rf"(\d{{1,3}}|[{CN_NUM}]{{1,4}})\s*(?:人|名|个)?")

table = CommandTable()


@dataclass
class AbsentArgs:
    """What /缺考 was told."""

    room: int | None
    tickets: list[str]
    none: bool
    count: int | None


def parse(text: str, usage: str = USAGE) -> AbsentArgs:
    """Room, tickets, 无, or a head count (缺考两人)."""
    a = split_args(text)
    words = a.words
    none = any(w.lower() in NONE_WORDS for w in words)
    words = [w for w in words if w.lower() not in NONE_WORDS]
    room = a.room
    if room is None and words and (none or a.tickets) and re.fullmatch(rf"[{CN_NUM}]{{1,4}}", words[0]):
        room, words = cn_number(words[0]), words[1:]  # “/缺考 一 无”: a bare 一 beside 无 or numbers is the room
    count: int | None = None
    left: list[str] = []
    for w in clean(" ".join(words).replace("缺考", " ")).split():
        m = _COUNT.fullmatch(w)
        if m is not None and count is None:
            count = cn_number(m.group(1))
        elif w not in _FILLER:
            left.append(w)
    rest = " ".join(left)
    if rest:
        raise UserFacingError(f"没有看懂“{rest}”，请写准考证号，没有缺考写“无”。", usage=usage)
    tickets = list(dict.fromkeys(a.tickets))
    if none and (tickets or count):
        raise UserFacingError("写了“无”又写了缺考考生，请只写其中一种。", usage=usage)
    if count == 0:
        none, count = True, None
    if not tickets and not none and count is None:
        raise UserFacingError("请写缺考考生的准考证号，没有缺考写“无”。", usage=usage)
    if tickets and count is not None and count != len(tickets):
        raise UserFacingError(f"写了缺考 {count} 人，却给了 {len(tickets)} 个准考证号，请核对。", usage=usage)
    return AbsentArgs(room, tickets, none, count)


async def build(s: AsyncSession, where: RoomNow, args: AbsentArgs, usage: str) -> dict[str, Any]:
    """The payload, with tickets checked against the room's candidate list."""
    known = await candidate_tickets(s, where.room_id)
    if known:
        wrong = [t for t in args.tickets if t not in known]
        if wrong:
            raise UserFacingError(f"准考证号 {'、'.join(wrong)} 不在{where.label}的考生名单中，请核对。", usage=usage)
        if args.count is not None and not args.tickets:
            raise UserFacingError(f"{where.label}有考生名单，请写出缺考考生的准考证号。", usage=usage)
    n = 0 if args.none else (len(args.tickets) or args.count or 0)
    expected = where.room.expected
    return {"tickets": args.tickets, "none": args.none, "count": n, "expected": expected, "present": expected - n}


def describe(ctx: Context, report: Report, names: dict[str, str]) -> str:
    """应考 / 实考 / 缺考 and who."""
    p = AbsentPayload.from_payload(report.payload)
    line = f"应考 {p.expected}，实考 {p.present or 0}，缺考 {p.count}"
    if p.tickets:
        line += "：" + _show.tickets(ctx, p.tickets, names)
    return line


async def _names(ctx: Context, s: AsyncSession, room_id: int) -> dict[str, str]:
    return {t: n for (_r, t), n in (await _show.names_of(s, [room_id])).items()}


@once_per_message
async def record(ctx: Context, args: str) -> Reply | str | None:
    """Parse, check and store one absentee report; a collection already recorded is checked again."""
    parsed = parse(args)
    async with ctx.services.db.session() as s:
        row = await already_done(s, ctx)
        where = await resolve_room(ctx, s, parsed.room, USAGE, any_room=ANY_ROOM)
        replaced: Report | None = None
        before: Reconciliation | None = None
        after: Reconciliation | None = None
        if row is None:
            payload = await build(s, where, parsed, USAGE)
            before = await reconcile(s, where.room)
            previous = await reports_in_force(s, ["absent"], [where.room_id])
            replaced = previous[-1] if previous else None
            row = await append(ctx, s, "absent", where, payload, supersedes=replaced)
            after = await reconcile(s, where.room)
        names = await _names(ctx, s, where.room_id)
    text = f"已记录{where.label}缺考（编号 {row.id}）：{describe(ctx, row, names)}。"
    if row.supersedes_id is not None:  # also on a redelivery
        text += f"\n（替代之前的编号 {row.supersedes_id}）"
    return Reply(text + await announce_change(ctx, where, before, after, "缺考", row))


@table.command("缺考", "absent", summary="报告缺考考生（没有缺考写“无”）", usage=USAGE, permission=REPORTER)
@typo_guard
async def absent(ctx: Context, args: str) -> Reply | str | None:
    """/缺考 3 2026000003 2026000005 — or without arguments, a guided dialog."""
    if not args.strip():
        return await _dialog.start(ctx, "缺考")
    return await record(ctx, args)


async def _rebuild(ctx: Context, s: AsyncSession, old: Report, where: RoomNow, text: str) -> dict[str, Any]:
    parsed = parse(text, CORRECT_USAGE)
    return await build(s, where, parsed, CORRECT_USAGE)


table.report_kind("absent", KindRules(CORRECT_USAGE, _rebuild, describe))

table.dialog(
    _dialog.DialogSpec(
        "缺考",
        (
            _dialog.room_step(),
            _dialog.Step("缺考考生的准考证号？多个用空格隔开，没有缺考回复“无”。", check=lambda t: t or None),
        ),
        record,
    )
)

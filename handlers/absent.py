"""/缺考 /absent: the absentees of a room's current session (监考人员守则 3(3)).

Reports add up: each /缺考 adds names to the room's list (or, with 删, takes one off; with 无, clears it after
asking), and stores the room's whole resulting list with what it did (``op``, ``added``, ``removed``). Each new
report supersedes the room's previous one, so the chain is serialised by the unique ``supersedes_id`` index
(a lost race is retried by ``once_per_message``) and every reader of "the absent report in force" sees the
whole list. Before the moment absence is final (the timeline's /缺考 step: 开考 30 minutes, practical 5)
names are recorded only after a confirmation.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import CommandTable, Context
from bot.errors import UserFacingError
from bot.model import Reply
from bot.store.papers import Reconciliation, reconcile
from bot.store.reports import ABSENT_ADD, ABSENT_NONE, ABSENT_REMOVE, AbsentPayload, reports_in_force
from bot.store.rooms import candidate_tickets, seat_tickets
from bot.store.tables import DialogState, ExamSession, Report, SessionKind
from handlers import _dialog, _show
from handlers._absent_args import (
    USAGE,
    AbsentArgs,
    as_seats,
    check_stray,
    names_to_tickets,
    parse,
    says_absent,
    seats_spelled,
)
from handlers._parse import clean
from handlers._reports import KindRules, already_done, append, once_per_message
from handlers._rooms import ANY_ROOM, REPORTER, RoomNow, is_private, my_rooms_now, resolve_room
from handlers._typo import typo_guard
from handlers.papers import announce_change
from scheduler.timeline import Anchor, FollowUp, Step

CORRECT_USAGE = "/更正 编号 准考证号…（或“无”）：改为这份完整的缺考名单"
YES = "确定"
_YES_WORDS = ("确定", "确认", "是", "是的", "对", "好", "好的", "ok", "yes", "y")
# Mark the arguments of a confirmed /缺考 (the dialog's answer) and the report in force when the question was
# asked (a 无 confirmed over a list someone changed meanwhile is asked again); nobody types private-use characters.
_CONFIRMED = "\ue000"
_SEEN = re.compile("\ue001(\\d*)\ue001")
_CONFIRM_STEP = 2  # the 缺考 dialog's confirmation question (after the room and the tickets)

table = CommandTable()


async def _tickets(s: AsyncSession, where: RoomNow, args: AbsentArgs, names: dict[str, str], usage: str) -> list[str]:
    """The tickets named, seats resolved through the roster's 座号 and names through its names, checked against
    the candidate list."""
    tickets = list(args.tickets)
    if args.by_name:
        tickets += names_to_tickets(args.stray, names, where.label, usage)
    if args.seats:
        by_seat = await seat_tickets(s, where.room_id)
        if not by_seat:
            raise UserFacingError(f"{where.label}的考生名单没有座号，请写准考证号。", usage=usage)
        unknown = [seat for seat in args.seats if seat not in by_seat]
        if unknown:
            seats = "、".join(f"{x}号座" for x in unknown)
            raise UserFacingError(f"{seats}不在{where.label}的考生名单中，请核对。", usage=usage)
        tickets += [by_seat[seat] for seat in args.seats]
    tickets = list(dict.fromkeys(tickets))
    known = await candidate_tickets(s, where.room_id)
    if known:
        wrong = [t for t in tickets if t not in known]
        if wrong:
            raise UserFacingError(f"准考证号 {'、'.join(wrong)} 不在{where.label}的考生名单中，请核对。", usage=usage)
        if args.count is not None and not tickets:
            raise UserFacingError(f"{where.label}有考生名单，请写出缺考考生的准考证号。", usage=usage)
    return tickets


def _payload(where: RoomNow, tickets: list[str], anonymous: int, **did: Any) -> dict[str, Any]:
    """The room's whole list after this report, with what the report did."""
    n = len(tickets) + anonymous
    expected = where.room.expected
    return {"tickets": tickets, "none": n == 0, "count": n, "expected": expected, "present": expected - n, **did}


class Unchanged(Exception):
    """Nothing to record: why, with ``{who}`` for the tickets concerned (shown as the chat may see them)."""

    def __init__(self, why: str, tickets: list[str] | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.tickets = tickets or []


def plan(where: RoomNow, prev: AbsentPayload | None, args: AbsentArgs, tickets: list[str]) -> dict[str, Any]:
    """The new report's payload from the room's list in force and what /缺考 was told.

    Raises :class:`Unchanged` when nothing changes (a name already listed, or not listed for 删; 无 twice).
    """
    listed = list(prev.tickets) if prev else []
    anonymous = max((prev.count if prev else 0) - len(listed), 0)
    if args.none:
        if prev is not None and prev.count == 0:
            raise Unchanged(f"{where.label}已记录无人缺考，未作更改。")
        return _payload(where, [], 0, op=ABSENT_NONE, removed=listed)
    if args.remove:
        missing = [t for t in tickets if t not in listed]
        if missing:
            raise Unchanged(f"准考证号 {{who}} 不在{where.label}的缺考名单中，未作更改。", missing)
        kept = [t for t in listed if t not in tickets]
        return _payload(where, kept, anonymous, op=ABSENT_REMOVE, removed=tickets, reason=args.reason)
    if not tickets:  # a head count (a room without a candidate list)
        added = args.count or 0
        return _payload(where, listed, anonymous + added, op=ABSENT_ADD, added=[], added_count=added)
    new = [t for t in tickets if t not in listed]
    if not new:
        raise Unchanged("准考证号 {who} 已记录为缺考，未作更改。", tickets)
    already = [t for t in tickets if t in listed]
    return _payload(where, listed + new, anonymous, op=ABSENT_ADD, added=new, already=already)


def undo(where: RoomNow, head: AbsentPayload, named: Report, reason: str) -> dict[str, Any] | None:
    """/撤销 of one absentee report in a room's chain: the list in force with only that report's change undone.

    Undoing an addition takes its names off the current list (names added since stay); undoing a removal or
    a 无 puts its names back. None when the report named changed no names (a first 无): then the usual
    revocation applies.
    """
    p = AbsentPayload.from_payload(named.payload)
    if named.supersedes_id is None and head.count == p.count and head.tickets == p.tickets:
        return None  # the room's only report, nothing added since: withdrawn as a whole (the list is unreported)
    listed = list(head.tickets)
    anonymous = max(head.count - len(listed), 0)
    why = f"撤销编号 {named.id}" + (f"：{reason}" if reason else "")
    if p.op == ABSENT_ADD or (named.supersedes_id is None and p.tickets):
        taken = [t for t in (p.added if p.op == ABSENT_ADD else p.tickets) if t in listed]
        left = max(anonymous - p.added_count, 0)
        kept = [t for t in listed if t not in taken]
        return _payload(where, kept, left, op=ABSENT_REMOVE, removed=taken, reason=why, undoes=named.id)
    if p.op in (ABSENT_REMOVE, ABSENT_NONE) and p.removed:
        back = [t for t in p.removed if t not in listed]
        return _payload(where, listed + back, anonymous, op=ABSENT_ADD, added=back, reason=why, undoes=named.id)
    return None


def final_point(ctx: Context, session: ExamSession) -> tuple[datetime, Step] | None:
    """When absence is final: the timeline's /缺考 step (开考后 30 minutes; practical 5), None without one."""
    for step in ctx.services.timeline.get(session.kind, ()):
        if step.follow_up == FollowUp.ABSENT and step.anchor == Anchor.START:
            return session.starts_at + step.offset, step
    return None


def _minutes(seconds: float) -> int:
    return int(abs(seconds) + 59) // 60


def too_early(ctx: Context, where: RoomNow) -> str | None:
    """The warning when names come before absence is final, else None."""
    point = final_point(ctx, where.session)
    if point is None or ctx.now >= point[0]:
        return None
    final, step = point
    since = (ctx.now - where.session.starts_at).total_seconds()
    now = f"开考前 {_minutes(since)} 分钟" if since < 0 else f"开考后 {_minutes(since)} 分钟"
    offset = int(step.offset.total_seconds() // 60)
    return (
        f"开考 {offset} 分钟后才能确定缺考（{step.clause}，{_show.hm(ctx, final)} 起），"
        f"现在是{now}（{_show.hm(ctx, where.session.starts_at)} 开考），迟到考生还可能入场。"
    )


def status(ctx: Context, where: RoomNow, p: AbsentPayload | None, names: dict[str, str]) -> str:
    """The room's whole current list: 应考 / 实考 / 缺考 and who."""
    if p is None:
        return f"{where.label}尚未报告缺考（应考 {where.room.expected}）。"
    return f"{where.label}当前：{_counts(ctx, p, names)}。"


def _counts(ctx: Context, p: AbsentPayload, names: dict[str, str]) -> str:
    line = f"应考 {p.expected}，实考 {p.present if p.present is not None else p.expected}，缺考 {p.count}"
    if p.tickets:
        line += "：" + _show.tickets(ctx, p.tickets, names)
    anonymous = p.count - len(p.tickets)
    if anonymous > 0 and p.tickets:
        line += f"，另 {anonymous} 人未写准考证号"
    return line


def did(ctx: Context, p: AbsentPayload, names: dict[str, str]) -> str:
    """What one report did: 追加 …, 删除 …（原因）, 改为无人缺考."""
    if p.op == ABSENT_ADD:
        what = _show.tickets(ctx, p.added, names) if p.added else f"{p.added_count} 人"
        again = f"（{_show.tickets(ctx, p.already, names)} 已在名单中）" if p.already else ""
        return f"追加 {what}{again}"
    if p.op == ABSENT_REMOVE:
        why = f"（原因：{p.reason}）" if p.reason else ""
        return f"删除 {_show.tickets(ctx, p.removed, names)}{why}"
    if p.op == ABSENT_NONE:
        return "改为无人缺考" if p.removed else "无人缺考"
    return ""


def describe(ctx: Context, report: Report, names: dict[str, str]) -> str:
    """应考 / 实考 / 缺考 and who (the whole list after the report), then what a later report did (追加 …)."""
    p = AbsentPayload.from_payload(report.payload)
    what = did(ctx, p, names) if report.supersedes_id is not None else ""
    return _counts(ctx, p, names) + (f"（{what}）" if what else "")


@once_per_message
async def record(ctx: Context, args: str) -> Reply | str | None:
    """Parse, check and store one absentee report (adding to, or taking from, the room's list)."""
    confirmed = args.startswith(_CONFIRMED)
    seen = _SEEN.search(args)
    text = _SEEN.sub("", args.removeprefix(_CONFIRMED)).strip()
    parsed = parse(text)
    seats = as_seats(text) if parsed.room is not None and not confirmed else None
    # Privately “/缺考 4号 9号” from 第4考场's own staff is room 4, seat 9: (seat 4's ticket, a line on how to add it).
    read_as_room = ("", "")
    if parsed.only_room and seats is not None and says_absent(text):
        parsed = seats  # “/缺考 3号 没来” from 第3考场's 考评组长: seat 3 did not come, not the room
    elif parsed.only_room or seats is not None:
        own = await _room_of_own(ctx, parsed, seats)
        if own is None:  # “/缺考 3号 7号” from 第1考场's invigilator: seats 3 and 7 of 第1考场
            parsed, text = seats or parsed, seats_spelled(text)
        elif parsed.only_room:
            return await _dialog.start(ctx, "缺考", [own.label])
        elif seats is not None and parsed.room is not None:
            seat_ticket = await _hao_as_own_seat(ctx, own, parsed.room)
            if seat_ticket is not None and is_private(ctx):
                n = parsed.room
                read_as_room = seat_ticket, f"\n（“{n}号”按{own.label}读；若是{n}号座，请再发 /缺考 {n}号座）"
            elif seat_ticket is not None:  # “/缺考 4号 9号” in 第4考场's group: seats 4 and 9, the room needs no naming
                parsed = replace(seats, room=parsed.room)
                text = f"第{parsed.room}考场 {seats_spelled(text)}"
    async with ctx.services.db.session() as s:
        row = await already_done(s, ctx)
        where = await resolve_room(ctx, s, parsed.room, USAGE, any_room=ANY_ROOM)
        names = await _show.room_names(s, where.room_id)
        previous = await reports_in_force(s, ["absent"], [where.room_id])
        replaced = previous[-1] if previous else None
        prev = AbsentPayload.from_payload(replaced.payload) if replaced else None
        before: Reconciliation | None = None
        after: Reconciliation | None = None
        if row is None:
            tickets = await _tickets(s, where, parsed, names, USAGE)
            check_stray(parsed, tickets, names, where.label)
            if confirmed and parsed.none and (seen is None or seen.group(1) != str(replaced.id if replaced else "")):
                confirmed = False  # the list changed since the question: ask again about the list as it is now
            payload, question = _decide(ctx, where, prev, parsed, tickets, names, confirmed=confirmed)
            if payload is None or question is not None:
                # Nothing to record yet, unless another delivery of this message recorded it meanwhile.
                row = await already_done(s, ctx)
                if row is None:
                    if payload is not None:
                        await _ask(ctx, s, text, replaced)
                    return Reply((question or "") + _seat_line(read_as_room, prev))
            else:
                before = await reconcile(s, where.room)
                row = await append(ctx, s, "absent", where, payload, supersedes=replaced)
                after = await reconcile(s, where.room)
        assert row is not None
    p = AbsentPayload.from_payload(row.payload)
    what = did(ctx, p, names) if row.supersedes_id is not None else ""  # the first report: just the list
    reply = f"已记录{where.label}缺考（编号 {row.id}）：{_counts(ctx, p, names)}。"
    if what:
        reply = f"已记录{where.label}缺考（编号 {row.id}）：{what}。\n{where.label}当前：{_counts(ctx, p, names)}。"
    return Reply(reply + await announce_change(ctx, where, before, after, "缺考", row) + _seat_line(read_as_room, p))


async def _room_of_own(ctx: Context, parsed: AbsentArgs, seats: AbsentArgs | None) -> RoomNow | None:
    """The room written (a room alone, or “3号” first) when the sender may report for it; None when it is not
    such a room but the words read as seats of their own room (``seats``); else the room's refusal."""
    async with ctx.services.db.session() as s:
        try:
            return await resolve_room(ctx, s, parsed.room, USAGE, any_room=ANY_ROOM)
        except UserFacingError:
            if seats is None:
                raise
            return None


async def _hao_as_own_seat(ctx: Context, where: RoomNow, number: int) -> str | None:
    """The ticket of seat ``number`` when a first “4号” beside seats may be seat 4 of ``where`` as much as the room:
    this chat is the room's group, or it is the sender's only room now, and its roster has a seat 4; else None."""
    async with ctx.services.db.read() as s:
        ticket = (await seat_tickets(s, where.room_id)).get(str(number))
        if ticket is None or (ctx.message.chat_id and where.room.group_chat == ctx.message.chat_id):
            return ticket
        mine = await my_rooms_now(ctx, s)
    return ticket if len(mine) == 1 and mine[0].room_id == where.room_id else None


def _seat_line(read_as_room: tuple[str, str], listed: AbsentPayload | None) -> str:
    """The line on reading “4号” as the room, unless seat 4's candidate is on the room's list anyway."""
    ticket, line = read_as_room
    return line if ticket and (listed is None or ticket not in listed.tickets) else ""


def _decide(
    ctx: Context,
    where: RoomNow,
    prev: AbsentPayload | None,
    args: AbsentArgs,
    tickets: list[str],
    names: dict[str, str],
    *,
    confirmed: bool,
) -> tuple[dict[str, Any] | None, str | None]:
    """(payload, None) to record; (payload, question) to ask first; (None, why) when nothing changes."""
    try:
        payload = plan(where, prev, args, tickets)
    except Unchanged as exc:
        why = exc.why.replace("{who}", _show.tickets(ctx, exc.tickets, names))
        return None, f"{why}\n{status(ctx, where, prev, names)}"
    return payload, None if confirmed else _question(ctx, where, prev, args, names, tickets)


# A removal's reason saying the candidate was not let in (late past the limit, turned away): then they did not sit
# the exam, and stay on the list (实际操作考核考场规则 2: 5 minutes in a practical room; 监考人员守则 3.(3): 30).
_NOT_ADMITTED = re.compile(
    r"不能进|不让进|不准进|不得进|没让进|未让进|拒绝入场|取消(?:考核)?资格|不能考|没考|未参加|没参加"
)
_LATE = re.compile(r"迟到\s*(\d{1,3})\s*分")


def _kept_out(where: RoomNow, reason: str) -> str | None:
    """The question before removing someone whose reason says they were kept out, or None."""
    practical = where.session.kind == SessionKind.PRACTICAL
    late = _LATE.search(reason)
    if not (late and int(late.group(1)) > (5 if practical else 30)) and not _NOT_ADMITTED.search(reason):
        return None
    rule = (
        "实操考场迟到 5 分钟即取消该项考核资格（实际操作考核考场规则 2.）"
        if practical
        else "开考 30 分钟后场外考生不准进场（监考人员守则 3.(3)）"
    )
    return (
        f"删除原因是“{reason}”：{rule}，没有参加考核的考生应留在缺考名单中。"
        "考生确已参加考核的，回复“确定”删除；否则回复“取消”"
    )


def _question(
    ctx: Context,
    where: RoomNow,
    prev: AbsentPayload | None,
    args: AbsentArgs,
    names: dict[str, str],
    tickets: list[str],
) -> str | None:
    """What to ask before recording (无 over recorded names; names before absence is final), or None."""
    if args.none and prev is not None and prev.count > 0:
        who = "：" + _show.tickets(ctx, prev.tickets, names) if prev.tickets else ""
        return f"{where.label}已记录缺考 {prev.count} 人{who}。确定改为无人缺考吗？回复“确定”或“取消”"
    if args.remove:
        return _kept_out(where, args.reason)
    if args.none:
        return None
    warning = too_early(ctx, where)
    if warning is None:
        return None
    who = _show.tickets(ctx, tickets, names) if tickets else f"{args.count or 0} 人"
    return f"{warning}确定现在就记录{where.label}缺考 {who} 吗？回复“确定”或“取消”"


async def _ask(ctx: Context, s: AsyncSession, text: str, replaced: Report | None) -> None:
    """Leave the 缺考 dialog open at its confirmation question, holding the arguments."""
    m = ctx.message
    chat = m.chat_id or ""
    row = (
        await s.exec(
            select(DialogState).where(
                col(DialogState.channel) == m.channel,
                col(DialogState.sender_id) == m.sender_id,
                col(DialogState.chat_key) == chat,
            )
        )
    ).first()
    if row is None:
        row = DialogState(channel=m.channel, sender_id=m.sender_id, chat_key=chat, command="缺考", updated_at=ctx.now)
        s.add(row)
    held = f"\ue001{replaced.id if replaced else ''}\ue001{clean(text)}"
    row.command, row.step, row.answers, row.updated_at = "缺考", _CONFIRM_STEP, ["", held], ctx.now


@table.command(
    "缺考",
    "absent",
    summary="报告缺考考生（逐次追加，删除写“删”；没有缺考写“无”）",
    usage=USAGE,
    permission=REPORTER,
    unslashed=True,
)
@typo_guard
async def absent(ctx: Context, args: str) -> Reply | str | None:
    """/缺考 3 2026000003 5号座, /缺考 3 删 2026000003 已到场, /缺考 3 无 — or without arguments, a dialog."""
    if not args.strip():
        return await _dialog.start(ctx, "缺考")
    return await record(ctx, args)


async def _rebuild(ctx: Context, s: AsyncSession, old: Report, where: RoomNow, text: str) -> dict[str, Any]:
    """/更正: the new text is the room's whole list (no adding up)."""
    parsed = parse(text, CORRECT_USAGE)
    if parsed.only_room:
        raise UserFacingError("请写缺考考生的准考证号，没有缺考写“无”。", usage=CORRECT_USAGE)
    if parsed.remove:
        raise UserFacingError("更正请写完整的缺考名单；删除一人请用 /缺考 删 准考证号。", usage=CORRECT_USAGE)
    names = await _show.room_names(s, where.room_id)
    tickets = await _tickets(s, where, parsed, names, CORRECT_USAGE)
    check_stray(parsed, tickets, names, where.label, CORRECT_USAGE)
    anonymous = 0 if parsed.none or tickets else (parsed.count or 0)
    return _payload(where, [] if parsed.none else tickets, anonymous)


table.report_kind("absent", KindRules(CORRECT_USAGE, _rebuild, describe))


def _confirm_check(text: str) -> str | None:
    return YES if clean(text).lower() in _YES_WORDS else None


def _join(answers: list[Any]) -> str:
    room, text, answer = [*answers, "", "", ""][:3]
    args = " ".join(str(a) for a in (room, text) if a)
    return _CONFIRMED + args if answer == YES else args


table.dialog(
    _dialog.DialogSpec(
        "缺考",
        (
            _dialog.room_step(),
            _dialog.Step(
                "缺考考生的准考证号或座号？多个用空格隔开，没有缺考回复“无”。",
                check=lambda t: t or None,
                wants_data=True,
            ),
            # Asked only by record() (it leaves the dialog here): 无 over recorded names, or names too early.
            _dialog.Step("确定记录吗？回复“确定”或“取消”。", check=_confirm_check, only_if=lambda _a: False),
        ),
        record,
        join=_join,
    )
)

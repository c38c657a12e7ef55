"""/违纪 /violation: on-the-spot records; /确认 and /认定 (handlers/confirm.py) are registered here too.

考评人员管理办法 第五条(二): 劝告、警告、终止考试、宣布成绩无效; 实际操作考核考场规则 8: 扣分、考件作废、
取消参考资格. What the invigilator (or, in a practical room, the 考评员) records is the action taken on the
spot; the office's determination (认定) is a separate later row; both are kept. The words are read in
handlers/violation_words.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import CommandTable, Context, normalize
from bot.errors import UserFacingError
from bot.model import CONFIRM_STEP, Reply
from bot.permissions import OFFICE
from bot.store.reports import ViolationPayload, in_force_alike
from bot.store.rooms import candidate_tickets, seat_key, seat_tickets
from bot.store.tables import Report, SessionKind, Staff
from handlers import _dialog, _show, confirm
from handlers._parse import TICKET_RE, cn_number, split_args
from handlers._reports import (
    SAME_WITHIN,
    KindRules,
    alert,
    alerted,
    already_done,
    append,
    once_per_message,
    root_of,
    same_shortly_before,
)
from handlers._rooms import REPORTER, SEES_ALL, WATCHER, RoomNow, resolve_room
from handlers._typo import typo_guard
from handlers.stations import station_clash
from handlers.violation_records import (
    absent_report_of,
    alert_text,
    confirmations,
    confirmed_roots,
    describe,
    rulings,
    second_person,
)
from handlers.violation_words import (
    DEDUCT,
    TYPE_WORDS,
    USAGE,
    ViolationArgs,
    actions_for,
    is_serious,
    kind_is_practical,
    parse,
    points_answer,
    require,
    station_refusal,
    station_said,
    take_action,
    take_word,
    types_for,
    with_ticket,
)

__all__ = ["confirmed_roots", "describe", "parse", "rulings", "table"]

CORRECT_USAGE = "/更正 编号 [准考证号或座号] [类型] [处理] [说明]（只写要改的，没写的不变），例：/更正 12 夹带"

table = CommandTable()


def _drawn(where: RoomNow, args: ViolationArgs) -> bool:
    """Whether the candidate was given only as a 工位 in a practical room: the 工位 is drawn by lot at check-in
    (实际操作考核考场规则 2.), so it is no roster seat and names nobody."""
    return args.station and args.ticket is None and kind_is_practical(where.session.kind)


def _refuse_drawn(where: RoomNow, args: ViolationArgs, usage: str, ask: str = "") -> None:
    """Refuse a practical room's 工位 given as the candidate (see :func:`_drawn`); `ask` says what to write instead
    (by default the same /违纪 with the 准考证号 or name)."""
    if _drawn(where, args):
        ask = ask or f"请写准考证号或姓名，例：{with_ticket(args)}"
        raise UserFacingError(station_refusal(where.label, ask), usage=usage)


async def _ticket_of(s: AsyncSession, where: RoomNow, args: ViolationArgs, usage: str) -> str:
    """The 准考证号 written, or the one of the seat written (the roster's 座号; never a practical room's 工位)."""
    _refuse_drawn(where, args, usage)
    if args.ticket is not None:
        known = await candidate_tickets(s, where.room_id)
        if known and args.ticket not in known:
            raise UserFacingError(f"准考证号 {args.ticket} 不在{where.label}的考生名单中，请核对。", usage=usage)
        return args.ticket
    assert args.seat is not None
    seats = await seat_tickets(s, where.room_id)
    if not seats:
        raise UserFacingError(f"{where.label}的考生名单没有座号，请写准考证号。", usage=usage)
    ticket = seats.get(seat_key(args.seat))
    if ticket is None:
        raise UserFacingError(
            f"{where.label}的考生名单中没有{seat_key(args.seat)}号座，请核对或写准考证号。", usage=usage
        )
    return ticket


async def _named(s: AsyncSession, where: RoomNow, args: ViolationArgs, names: dict[str, str]) -> ViolationArgs:
    """The candidate written by name (/违纪 赵静 使用手机 警告: the roster's ticket), or a name beside the ticket or
    seat (dropped from the note when it is that candidate's, refused when it is another's). Beside a practical room's
    工位 the name is the candidate and the 工位 leads the note (/违纪 赵静 5号工位 违反操作规程: “5号工位”)."""
    first, _, rest = args.note.partition(" ")
    theirs = _show.tickets_named(names, first) if first else []
    if not theirs:
        return args
    drawn = _drawn(where, args)
    if not args.has_candidate or drawn:
        if len(theirs) > 1:
            raise UserFacingError(_show.twice_on_roster(where.label, first, theirs), usage=USAGE)
        note = " ".join(x for x in (args.station_note if drawn else "", rest.strip()) if x)
        return replace(args, ticket=theirs[0], seat=None, station=False, note=note)
    if await _ticket_of(s, where, args, USAGE) in theirs:
        return replace(args, note=rest.strip())
    raise UserFacingError(_show.not_that_name(first, theirs), usage=USAGE)


async def build(s: AsyncSession, where: RoomNow, args: ViolationArgs, usage: str) -> dict[str, Any]:
    """The payload: the candidate checked against the room's list, the action against the room's kind."""
    _refuse_drawn(where, args, usage)  # before what else is missing: the candidate is asked for first
    require(args, where.session.kind, usage)
    ticket = await _ticket_of(s, where, args, usage)
    payload: dict[str, Any] = {"ticket": ticket, "type": args.type, "action": args.action, "note": args.note}
    if args.action == DEDUCT:
        payload["points"] = args.points
    if args.seat is not None:
        payload["seat"] = args.seat
    absent = await absent_report_of(s, where.room_id, ticket)
    if absent is not None:  # recorded as it is, and the reply says plainly that the lists disagree
        payload["absent_report"] = absent.id
    payload["serious"] = is_serious(args.action, args.type)
    return payload


def _absent_line(where: RoomNow, row: Report) -> str:
    absent = row.payload.get("absent_report")
    if not absent:
        return ""
    return (
        f"\n注意：该考生在{where.label}的缺考记录（编号 {absent}）中记为缺考。违纪已照记；"
        f"如考生实际在场，请更正缺考记录（/更正 {absent}），否则请核对考生。"
    )


# What makes two violation records the same: the candidate, what they did and what was done (扣几分 included).
SAME_FIELDS = ("ticket", "type", "action", "points")


async def _reported_by_other(
    ctx: Context, s: AsyncSession, where: RoomNow, payload: dict[str, Any], alike: list[int]
) -> Report | None:
    """The same violation (``alike``: the room's same records of the last minutes), recorded by someone else: the
    second invigilator (or 考评员) typing what the first reported. A serious one is their confirmation (when they are
    on duty there); another is not recorded twice (扣10分 twice would take 20), unless its note tells another event."""
    if ctx.staff is None:
        return None
    for rid in alike:
        earlier = await s.get(Report, rid)
        if earlier is None or earlier.staff_id == ctx.staff.id:
            continue
        if payload["serious"]:
            return earlier if where.duty is not None else None
        if not payload.get("note") or payload.get("note") == earlier.payload.get("note"):
            return earlier
    return None


async def _already_recorded(ctx: Context, where: RoomNow, earlier: Report, names: dict[str, str]) -> Reply:
    """The reply to a (not serious) violation someone else recorded minutes ago: not recorded again."""
    async with ctx.services.db.session() as s:
        who = await s.get(Staff, earlier.staff_id) if earlier.staff_id else None
    by = who.name if who else "他人"
    return Reply(
        f"{where.label}几分钟前{by}已记录相同的违纪（编号 {earlier.id}）：{describe(ctx, earlier, names)}。"
        "这条没有重复记录。如是另一次违纪，请在说明中写明情况后重新发送。"
    )


async def _as_confirmation(ctx: Context, rid: int) -> Reply:
    """The reply to a serious violation that someone else recorded minutes ago: confirmed, or why not."""
    head = f"几分钟前已有相同的严重违纪记录（编号 {rid}），这条没有重复记录"
    try:
        done = await confirm.confirm_one(ctx, rid)
    except UserFacingError as exc:
        return Reply(f"{head}。{exc.message}")
    return Reply(f"{head}，记为您的确认。\n{done.line}", card_state=done.state)


@dataclass
class _Outcome:
    """What one /违纪 message came to inside its transaction (what the reply then says)."""

    where: RoomNow
    names: dict[str, str]
    row: Report | None = None  # the record: new, or the one a redelivery finds
    asked: list[Any] = field(default_factory=list)  # only the room (and candidate) written: the dialog's answers
    kept: Report | None = None  # someone else's record of the same (not serious) violation: not recorded again
    theirs: int | None = None  # the other invigilator's record of the same serious violation: this confirms it
    same: int | None = None  # one's own same record minutes before (kept: it may be real)
    sent: int | None = None  # how many were alerted (a serious violation)
    clash: str = ""  # another record puts another candidate on the same 工位 (handlers/stations.py)


async def _store(ctx: Context, s: AsyncSession, parsed: ViolationArgs, row: Report | None) -> _Outcome:
    """Check and store the violation (``row``: this message's record already, on a redelivery), alerts included."""
    where = await resolve_room(ctx, s, parsed.room, USAGE, any_room=SEES_ALL)
    out = _Outcome(where, await _show.room_names(s, where.room_id), row)
    if row is None:
        parsed = await _named(s, where, parsed, out.names)
        if parsed.only_where:
            if parsed.has_candidate:
                await _ticket_of(s, where, parsed, USAGE)  # a wrong candidate is said now, not after the dialog
            out.asked = [where.label, parsed.candidate_answer] if parsed.has_candidate else [where.label]
            return out
        payload = await build(s, where, parsed, USAGE)
        probe = Report(kind="violation", room_id=where.room_id, payload=payload, created_at=ctx.now)
        alike = await in_force_alike(s, probe, ctx.now - SAME_WITHIN, SAME_FIELDS)  # newest first
        earlier = await _reported_by_other(ctx, s, where, payload, alike)
        if earlier is not None and payload["serious"]:
            out.theirs = earlier.id
            return out
        if earlier is not None:
            out.kept = earlier
            return out
        out.row = row = await append(ctx, s, "violation", where, payload)
        out.same = alike[0] if alike else None  # what same_shortly_before would find: read once, before the insert
        out.clash = await station_clash(ctx, s, row)
    else:
        out.same = await same_shortly_before(s, row, SAME_FIELDS)
    if ViolationPayload.from_payload(row.payload).serious:  # alerts commit with the report
        out.sent = await alert(ctx, alert_text(where, ctx.staff, row, out.names), key=f"report:{row.id}", s=s)
        # the second invigilator also gets a card (确认 / 有异议) privately; it commits with the report
        who = ctx.staff.name if ctx.staff else "?"
        text = confirm.confirm_card_text(where, who, row.id or 0, describe(ctx, row, out.names))
        await confirm.send_cards(ctx, s, where, row, CONFIRM_STEP, text)
    return out


@once_per_message
async def record(ctx: Context, args: str) -> Reply | str | None:
    """Parse, check and store one violation; serious ones alert the office and supervisors.

    With only the room (and perhaps the candidate) written, the dialog asks for the rest instead; the same violation
    someone else recorded minutes ago is not recorded again (a serious one: this message confirms it).
    """
    parsed = parse(args)
    async with ctx.services.db.session() as s:
        done = await already_done(s, ctx)
        confirmed = int(done.payload["report"]) if done is not None and done.kind == "confirm" else None
        out = await _store(ctx, s, parsed, done) if confirmed is None else None
    if out is None:  # a redelivery of the second person's confirmation
        assert confirmed is not None
        return await _as_confirmation(ctx, confirmed)
    if out.theirs is not None:  # the second person's confirmation
        return await _as_confirmation(ctx, out.theirs)
    where, names, row = out.where, out.names, out.row
    if out.kept is not None:
        return await _already_recorded(ctx, where, out.kept, names)
    if row is None:  # the dialog writes its state in a transaction of its own
        return await _dialog.start(ctx, "违纪", out.asked)
    text = f"已记录{where.label}违纪（编号 {row.id}）：{describe(ctx, row, names)}。"
    if out.sent is not None:
        text += f"\n{alerted(out.sent)}；请{second_person(where)}发送 /确认 {row.id}。"
    text += _absent_line(where, row) + out.clash
    if out.same is not None:  # kept (it may be real); the reply says how to undo it
        text += f"\n注意：{where.label}几分钟前已有相同的违纪记录（编号 {out.same}）。"
        text += f"如是重复发送，请 /撤销 {row.id} 重复。"
    return Reply(text)


@table.command(
    "违纪", "violation", "违规", summary="记录考生违纪和现场处理", usage=USAGE, permission=WATCHER, unslashed=True
)
@typo_guard
async def violation(ctx: Context, args: str) -> Reply | str | None:
    """/违纪 3 2026000003 抄袭 警告 — or with only the room (or nothing), a guided dialog."""
    if not args.strip():
        return await _dialog.start(ctx, "违纪")
    return await record(ctx, args)


table.command(
    "确认",
    "confirm",
    summary="第二名监考员（实操为考评员）确认严重违纪记录",
    usage=confirm.CONFIRM_USAGE,
    permission=REPORTER,
)(confirm.confirm)
table.command(
    "认定", "determine", summary="考务办公室对违纪记录作出认定", usage=confirm.RULING_USAGE, permission=OFFICE
)(confirm.determine)


_BARE_CONFIRM = frozenset({"确认", "确认无误", "核对无误", "无误"})


@table.hook(priority=1)  # after an open dialog, whose question “确认” may answer
async def bare_confirm(ctx: Context) -> Reply | str | None:
    """“确认” typed in a private chat (the card says 点“确认”): what /确认 alone does, or that nothing waits. In a
    group it confirms only when exactly one card waits on the sender (otherwise it is talk, left alone)."""
    if ctx.staff is None or normalize(ctx.message.text) not in _BARE_CONFIRM:
        return None
    if ctx.message.chat_id:
        return await confirm.pending(ctx, only_one=True)
    return await confirm.pending(ctx) or Reply("目前没有待您核对或确认的记录。确认其他记录请写编号：/确认 编号")


# “不对 是31份”, “数量不符”: typed instead of tapping 数量不符 (有异议) on the one card waiting.
_COUNT_SAID = re.compile(
    r"(?:不对|不符|错了|有误|数量不对|数量不符|份数不对|份数不符)[，,。\s]*"
    r"(?:应该是|应是|应为|实际是|实际|我数的是|数了是|清点是|是)?\s*(\d{1,4})\s*份[。!！]*"
)
_BARE_DISPUTE = frozenset({"数量不符", "数量不对", "份数不对", "份数不符", "有异议", "我有异议"})


@table.hook(priority=1)
async def bare_dispute(ctx: Context) -> Reply | str | None:
    """“不对 是31份” or “数量不符” typed in a private chat: what tapping 数量不符 (有异议) does on the one open card."""
    if ctx.message.chat_id or ctx.staff is None:
        return None
    text = normalize(ctx.message.text)
    m = _COUNT_SAID.fullmatch(text)
    if m is None and text not in _BARE_DISPUTE:
        return None
    return await confirm.pending_dispute(ctx, int(m.group(1)) if m else None) or Reply(
        "目前没有待您核对或确认的记录。对某条记录有异议请写编号：/确认 编号 数量不符（违纪记录写 有异议）"
    )


async def _rebuild(ctx: Context, s: AsyncSession, old: Report, where: RoomNow, text: str) -> dict[str, Any]:
    """What /更正 writes replaces; what it leaves out stays as it was (/更正 12 夹带 changes the type only,
    session 22: it asked for the candidate again)."""
    args, before = parse(text, CORRECT_USAGE), old.payload or {}
    _refuse_drawn(where, args, CORRECT_USAGE, f"请写准考证号，例：/更正 {old.id} 准考证号 {args.station_note}")
    if not args.has_candidate and before.get("ticket"):
        args = replace(args, ticket=str(before["ticket"]), seat=before.get("seat"))
    if args.type is None and before.get("type"):
        args = replace(args, type=str(before["type"]))
    if args.action is None and before.get("action"):
        args = replace(args, action=str(before["action"]), points=before.get("points"))
    if not args.note and before.get("note"):
        args = replace(args, note=str(before["note"]))
    return await build(s, where, args, CORRECT_USAGE)


async def _after_correct(ctx: Context, row: Report, where: RoomNow) -> str:
    extra = _absent_line(where, row)
    if not ViolationPayload.from_payload(row.payload).serious:
        return extra
    async with ctx.services.db.read() as s:
        names = await _show.room_names(s, where.room_id)
        if await confirmations(s, root_of(row)):
            return extra
    sent = await alert(ctx, alert_text(where, ctx.staff, row, names), key=f"report:{row.id}")
    return f"\n{alerted(sent)}；请{second_person(where)}发送 /确认 {row.id}。" + extra


table.report_kind("violation", KindRules(CORRECT_USAGE, _rebuild, describe, _after_correct))


async def _room_of_answer(ctx: Context, answers: list[Any]) -> RoomNow | None:
    """The room answered in the dialog's first step (None when it cannot be told)."""
    number = split_args(str(answers[0]) if answers else "").room
    async with ctx.services.db.read() as s:
        try:
            return await resolve_room(ctx, s, number, USAGE, any_room=SEES_ALL)
        except UserFacingError:
            return None


async def _kind_of_answer(ctx: Context, answers: list[Any]) -> SessionKind | None:
    """The session kind of the room answered in the dialog's first step (None when it cannot be told)."""
    where = await _room_of_answer(ctx, answers)
    return where.session.kind if where is not None else None


async def _station_answered(ctx: Context, answers: list[Any], text: str) -> str | None:
    """A 工位 answered for the candidate in a practical room: why it names nobody (said instead of 没有看懂)."""
    if station_said(text) is None:
        return None
    where = await _room_of_answer(ctx, answers)
    if where is None or not kind_is_practical(where.session.kind):
        return None
    return station_refusal(where.label, "请回复考生的准考证号。")


async def _type_choices(ctx: Context, answers: list[Any]) -> list[str]:
    return list(types_for(await _kind_of_answer(ctx, answers)))


async def _action_choices(ctx: Context, answers: list[Any]) -> list[str]:
    return list(actions_for(await _kind_of_answer(ctx, answers)))


def _type_check(t: str) -> str | None:
    value, _ = take_word(t, TYPE_WORDS)
    return value


def _action_check(t: str) -> str | None:
    try:
        action, points, _rest = take_action(t)
    except UserFacingError:
        return None
    if action == DEDUCT and points:
        return f"扣{points}分"
    return action


def _candidate_check(t: str) -> str | None:
    found = TICKET_RE.findall(t)
    if len(found) == 1:  # a 工位 said with it is kept for the note (2026000063 5号工位)
        station = station_said(t)
        return f"{found[0]} {station}" if station else str(found[0])
    words = t.replace("座号", " ").replace("座位", " ").replace("号", " ").replace("座", " ").split()
    n = cn_number(words[0]) if len(words) == 1 else None
    return f"座号{n}" if n is not None and 0 < n < 1000 else None


def _asks_points(answers: list[Any]) -> bool:
    return len(answers) > 3 and answers[3] == DEDUCT


def _join(answers: list[Any]) -> str:
    """The dialog's answers as one /违纪 text; the last answer is the note (after 说明：, read as written)."""
    *fields, note = answers if len(answers) == 6 else [*answers, ""]
    head = " ".join(str(a) for a in fields if a)
    return f"{head} 说明：{note}" if note else head


table.dialog(
    _dialog.DialogSpec(
        "违纪",
        (
            _dialog.room_step(),
            _dialog.Step(
                "违纪考生的准考证号？",
                check=_candidate_check,
                hint="准考证号为6位以上数字；名单有座号时也可回复座号，如“5号”",
                why_not=_station_answered,
            ),
            _dialog.Step("违纪类型？", _type_choices, check=_type_check),
            _dialog.Step("现场处理？", _action_choices, optional=True, check=_action_check),
            _dialog.Step("扣几分？", check=points_answer, hint="回复分数，如 5", only_if=_asks_points),
            _dialog.Step("补充说明？", optional=True),
        ),
        record,
        join=_join,
    )
)
table.dialog(confirm.CONFIRM_DIALOG)
table.dialog(confirm.RULING_DIALOG)

"""/违纪 /violation, /确认 and /认定: on-the-spot records, the second invigilator's confirmation, the office's ruling.

考评人员管理办法 第五条(二): 劝告、警告、终止考试、宣布成绩无效. What the invigilator records is the
action taken on the spot; the office's determination (认定) is a separate later row; both are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import CommandTable, Context
from bot.errors import UserFacingError
from bot.model import Reply
from bot.permissions import OFFICE
from bot.store.reports import RefPayload, ViolationPayload, reports_in_force
from bot.store.rooms import candidate_tickets
from bot.store.tables import Report, Staff
from handlers import _dialog, _show
from handlers._changes import visible_chain
from handlers._parse import clean, leading_report_id, nfkc, report_id, split_args
from handlers._reports import (
    KindRules,
    alert,
    alerted,
    already_done,
    append,
    chain,
    current,
    once_per_message,
    root_of,
    split_report_id,
)
from handlers._rooms import REPORTER, SEES_ALL, WATCHER, RoomNow, resolve_room, room_by_id
from handlers._typo import typo_guard

USAGE = "/违纪 考场 准考证号 类型 [处理] [说明]，例：/违纪 3 2026000003 抄袭 警告"
CONFIRM_USAGE = "/确认 编号，例：/确认 15"
RULING_USAGE = "/认定 编号 处理 [说明]，例：/认定 15 宣布成绩无效"
CORRECT_USAGE = "/更正 编号 准考证号 类型 [处理] [说明]"

TYPES: tuple[str, ...] = (
    "携带手机等电子设备",
    "交头接耳",
    "抄袭",
    "传递物品",
    "替考",
    "扰乱考场秩序",
    "不服从管理",
    "其他",
)
_TYPE_WORDS: tuple[tuple[str, str], ...] = (
    ("携带手机等电子设备", TYPES[0]),
    ("携带电子设备", TYPES[0]),
    ("携带手机", TYPES[0]),
    ("电子设备", TYPES[0]),
    ("带手机", TYPES[0]),
    ("手机", TYPES[0]),
    ("交头接耳", TYPES[1]),
    ("讲话", TYPES[1]),
    ("说话", TYPES[1]),
    ("抄袭", TYPES[2]),
    ("偷看", TYPES[2]),
    ("夹带", TYPES[2]),
    ("传递物品", TYPES[3]),
    ("传纸条", TYPES[3]),
    ("传递", TYPES[3]),
    ("替考", TYPES[4]),
    ("代考", TYPES[4]),
    ("扰乱考场秩序", TYPES[5]),
    ("扰乱", TYPES[5]),
    ("喧哗", TYPES[5]),
    ("不服从管理", TYPES[6]),
    ("不服从", TYPES[6]),
    ("携带", TYPES[0]),
    ("其他", TYPES[7]),
    ("其它", TYPES[7]),
)
ACTIONS: tuple[str, ...] = ("劝告", "警告", "终止考试", "宣布成绩无效")
_ACTION_WORDS: tuple[tuple[str, str], ...] = (
    ("宣布成绩无效", ACTIONS[3]),
    ("成绩无效", ACTIONS[3]),
    ("终止考试", ACTIONS[2]),
    ("终止", ACTIONS[2]),
    ("劝告", ACTIONS[0]),
    ("警告", ACTIONS[1]),
)
SERIOUS_ACTIONS = frozenset(ACTIONS[2:])
SERIOUS_TYPES = frozenset({TYPES[4]})

table = CommandTable()


@dataclass
class ViolationArgs:
    """What /违纪 was told."""

    room: int | None
    ticket: str
    type: str
    action: str | None
    note: str


def _take(text: str, words: tuple[tuple[str, str], ...]) -> tuple[str | None, str]:
    """The earliest keyword in ``text`` (longest on a tie) and the text without it."""
    best: tuple[int, int, str, str] | None = None
    for word, value in words:
        i = text.find(word)
        if i >= 0 and (best is None or (i, -len(word)) < (best[0], -best[1])):
            best = (i, len(word), word, value)
    if best is None:
        return None, text
    i, n, _word, value = best
    return value, clean(text[:i] + " " + text[i + n :])


_NOTE_MARKERS = ("说明", "备注")
TYPE_CONFLICT = f"违纪类型只能写一种（{'、'.join(TYPES)}），其他情况请写在“说明：”后面。"
# Written anywhere outside the note these always name a type (手机 or 说话 inside a note may not).
_STRONG_TYPE_WORDS = frozenset(TYPES) | frozenset(w for w, v in _TYPE_WORDS if v in SERIOUS_TYPES)
ACTION_CONFLICT = f"处理只能写一种：{'、'.join(ACTIONS)}。"


def _conflicts(rest: str, words: tuple[tuple[str, str], ...], taken: str, *, anywhere: frozenset[str]) -> bool:
    """Whether ``rest`` names a second, different value: as a whole word, or inside a word for ``anywhere`` words."""
    tokens = set(rest.split())
    return any(value != taken and (word in tokens or (word in anywhere and word in rest)) for word, value in words)


def parse(text: str, usage: str = USAGE) -> ViolationArgs:
    """Room, one ticket, the type and the action in any order; what is left (and all after 说明：) is the note."""
    a = split_args(text)
    head, tail = a.rest, ""
    marks = [(i, m) for m in _NOTE_MARKERS if (i := head.find(m)) >= 0]
    if marks:
        i, m = min(marks)
        head, tail = head[:i], head[i + len(m) :]
    for prefix in ("类型", "处理", "违纪"):
        head = head.replace(prefix, " ")
    head = clean(head)
    vtype, rest = _take(head, _TYPE_WORDS)
    if vtype is None and tail:  # “说明：” written before the type
        vtype, tail = _take(clean(tail), _TYPE_WORDS)
    action, rest = _take(rest, _ACTION_WORDS)
    if not a.tickets:
        raise UserFacingError("请写违纪考生的准考证号。", usage=usage)
    if len(a.tickets) > 1:
        raise UserFacingError("一条违纪记录只写一名考生，请分开发送。", usage=usage)
    if vtype is None:
        raise UserFacingError(f"请写违纪类型：{'、'.join(TYPES)}。", usage=usage)
    # A second type or action outside the note would silently record the milder one (抄袭 替考, 警告 终止考试).
    if _conflicts(rest, _TYPE_WORDS, vtype, anywhere=_STRONG_TYPE_WORDS):
        raise UserFacingError(TYPE_CONFLICT, usage=usage)
    if action is not None and _conflicts(rest, _ACTION_WORDS, action, anywhere=frozenset(w for w, _ in _ACTION_WORDS)):
        raise UserFacingError(ACTION_CONFLICT, usage=usage)
    return ViolationArgs(a.room, a.tickets[0], vtype, action, clean(f"{rest} {tail}"))


def is_serious(payload: dict[str, Any]) -> bool:
    """终止考试, 宣布成绩无效 and 替考: alerted at once and confirmed by the second invigilator."""
    return payload.get("action") in SERIOUS_ACTIONS or payload.get("type") in SERIOUS_TYPES


async def build(s: AsyncSession, where: RoomNow, args: ViolationArgs, usage: str) -> dict[str, Any]:
    """The payload, with the ticket checked against the room's candidate list."""
    known = await candidate_tickets(s, where.room_id)
    if known and args.ticket not in known:
        raise UserFacingError(f"准考证号 {args.ticket} 不在{where.label}的考生名单中，请核对。", usage=usage)
    payload: dict[str, Any] = {"ticket": args.ticket, "type": args.type, "action": args.action, "note": args.note}
    payload["serious"] = is_serious(payload)
    return payload


def describe(ctx: Context, report: Report, names: dict[str, str]) -> str:
    """准考证号 类型，现场处理：…（说明）."""
    p = ViolationPayload.from_payload(report.payload)
    line = f"{_show.ticket(ctx, p.ticket, names.get(p.ticket))} {p.type}"
    line += f"，现场处理：{p.action or '未填写'}"
    if p.note:
        line += f"（{_show.free_text(ctx, report, p.note)}）"
    return line


async def _names(s: AsyncSession, room_id: int) -> dict[str, str]:
    return {t: n for (_r, t), n in (await _show.names_of(s, [room_id])).items()}


def _alert_text(where: RoomNow, staff: Staff | None, row: Report, names: dict[str, str]) -> str:
    p = ViolationPayload.from_payload(row.payload)
    who = staff.name if staff else "?"
    name = names.get(p.ticket)
    cand = f"{p.ticket}（{name}）" if name else p.ticket
    return (
        f"【违纪·需关注】{where.label}（{where.session.code}）{who} 报告：{cand} {p.type}，"
        f"现场处理：{p.action or '未填写'}。编号 {row.id}，待第二名监考员 /确认 {row.id}。"
    )


@once_per_message
async def record(ctx: Context, args: str) -> Reply | str | None:
    """Parse, check and store one violation; serious ones alert the office and supervisors."""
    parsed = parse(args)
    async with ctx.services.db.session() as s:
        row = await already_done(s, ctx)
        where = await resolve_room(ctx, s, parsed.room, USAGE, any_room=SEES_ALL)
        if row is None:
            row = await append(ctx, s, "violation", where, await build(s, where, parsed, USAGE))
        names = await _names(s, where.room_id)
        sent = None
        if ViolationPayload.from_payload(row.payload).serious:  # alerts commit with the report
            sent = await alert(ctx, _alert_text(where, ctx.staff, row, names), key=f"report:{row.id}", s=s)
    text = f"已记录{where.label}违纪（编号 {row.id}）：{describe(ctx, row, names)}。"
    if sent is not None:
        text += f"\n{alerted(sent)}；请本考场另一名监考员发送 /确认 {row.id}。"
    return Reply(text)


@table.command("违纪", "violation", "违规", summary="记录考生违纪和现场处理", usage=USAGE, permission=WATCHER)
@typo_guard
async def violation(ctx: Context, args: str) -> Reply | str | None:
    """/违纪 3 2026000003 抄袭 警告 — or without arguments, a guided dialog."""
    if not args.strip():
        return await _dialog.start(ctx, "违纪")
    return await record(ctx, args)


async def confirmations(s: AsyncSession, root: int) -> list[Report]:
    """Active confirmations of a violation chain."""
    rows = await reports_in_force(s, ["confirm"], await _room_ids_of(s, root))
    return [r for r in rows if RefPayload.from_payload(r.payload).ref == root]


async def _room_ids_of(s: AsyncSession, root: int) -> list[int]:
    first = await s.get(Report, root)
    return [first.room_id] if first is not None and first.room_id is not None else []


@table.command("确认", "confirm", summary="第二名监考员确认严重违纪记录", usage=CONFIRM_USAGE, permission=REPORTER)
@typo_guard
@once_per_message
async def confirm(ctx: Context, args: str) -> Reply | str | None:
    """/确认 15: the room's other invigilator confirms a serious violation."""
    if not args.strip():
        return await _dialog.start(ctx, "确认")
    rid, _rest = split_report_id(args, CONFIRM_USAGE, "请写要确认的报告编号。")
    assert ctx.staff is not None
    async with ctx.services.db.session() as s:
        done = await already_done(s, ctx)
        await visible_chain(ctx, s, rid, CONFIRM_USAGE)  # before anything that tells what the report is
        report = await current(s, rid, CONFIRM_USAGE)
        if report.kind != "violation":
            raise UserFacingError(f"编号 {rid} 不是违纪记录，只有违纪记录需要确认。", usage=CONFIRM_USAGE)
        if not ViolationPayload.from_payload(report.payload).serious:
            raise UserFacingError(f"编号 {rid} 不是终止考试、宣布成绩无效或替考，不需要确认。", usage=CONFIRM_USAGE)
        where = await room_by_id(ctx, s, report.room_id)
        assert where is not None
        if where.duty is None:
            raise UserFacingError(f"只有{where.label}本场次的监考或考评人员才能确认编号 {rid}。", usage=CONFIRM_USAGE)
        root = root_of(report)
        chain_staff = {r.staff_id for r in await _chain_rows(s, report)}
        if ctx.staff.id in chain_staff:
            raise UserFacingError(f"编号 {rid} 是您自己报告的，需要本考场另一名监考员确认。", usage=CONFIRM_USAGE)
        existing = await confirmations(s, root)
        if done is None and existing:
            who = await s.get(Staff, existing[0].staff_id) if existing[0].staff_id else None
            by = who.name if who else "他人"
            raise UserFacingError(f"编号 {rid} 已由{by}确认过，不必再确认。", usage=CONFIRM_USAGE)
        if done is None:
            await append(ctx, s, "confirm", where, {"ref": root, "report": report.id})
        reporter = await s.get(Staff, report.staff_id) if report.staff_id else None
        names = await _names(s, where.room_id)
    both = f"{reporter.name if reporter else '?'}、{ctx.staff.name}"
    return Reply(f"已确认编号 {rid}（{where.label} {describe(ctx, report, names)}），现由{both}两人记录。")


async def _chain_rows(s: AsyncSession, report: Report) -> list[Report]:
    assert report.id is not None
    return await chain(s, report.id)


@dataclass
class Ruling:
    """What /认定 was told."""

    rid: int
    action: str
    note: str


def parse_ruling(text: str) -> Ruling:
    """编号, then one of the four actions, then an optional note (the action may also come first)."""
    t = nfkc(text)
    rid, typed, rest = leading_report_id(t)
    if rid is None and typed is None:  # “/认定 宣布成绩无效 15”
        first, after = _take(clean(t), _ACTION_WORDS)
        if first is not None:
            rid, typed, rest = leading_report_id(after)
            rest = f"{first} {rest}"
    if rid is None:
        split_report_id(t, RULING_USAGE, "请先写违纪记录的编号。")  # raises with the right sentence
    assert rid is not None
    head, _, note_tail = rest.partition("说明")
    action, note = _take(clean(head), _ACTION_WORDS)
    if action is None:
        raise UserFacingError(f"请写认定的处理：{'、'.join(ACTIONS)}。", usage=RULING_USAGE)
    if _conflicts(note, _ACTION_WORDS, action, anywhere=frozenset(w for w, _ in _ACTION_WORDS)):
        raise UserFacingError(ACTION_CONFLICT, usage=RULING_USAGE)
    return Ruling(rid, action, clean(f"{note} {note_tail}"))


@table.command("认定", "determine", summary="考务办公室对违纪记录作出认定", usage=RULING_USAGE, permission=OFFICE)
@typo_guard
@once_per_message
async def determine(ctx: Context, args: str) -> Reply | str | None:
    """/认定 15 宣布成绩无效 [说明]: the office's final determination, kept beside the on-the-spot action."""
    if not args.strip():
        return await _dialog.start(ctx, "认定")
    ruling = parse_ruling(args)
    async with ctx.services.db.session() as s:
        done = await already_done(s, ctx)
        report = await current(s, ruling.rid, RULING_USAGE)
        if report.kind != "violation":
            raise UserFacingError(f"编号 {ruling.rid} 不是违纪记录，只能对违纪记录作出认定。", usage=RULING_USAGE)
        where = await room_by_id(ctx, s, report.room_id)
        row = done or await append(
            ctx,
            s,
            "determination",
            where,
            {"ref": root_of(report), "report": report.id, "action": ruling.action, "note": ruling.note},
        )
        names = await _names(s, report.room_id or 0)
    label = where.label if where else ""
    return Reply(
        f"已认定编号 {ruling.rid}（{label} {describe(ctx, report, names)}）：{ruling.action}。认定编号 {row.id}，"
        "现场处理与认定都已保留。"
    )


async def rulings(s: AsyncSession, room_ids: list[int]) -> dict[int, Report]:
    """The latest determination per violation chain root."""
    out: dict[int, Report] = {}
    for r in await reports_in_force(s, ["determination"], room_ids):
        out[RefPayload.from_payload(r.payload).ref] = r
    return out


async def confirmed_roots(s: AsyncSession, room_ids: list[int]) -> set[int]:
    """Violation chains confirmed by a second invigilator."""
    return {RefPayload.from_payload(r.payload).ref for r in await reports_in_force(s, ["confirm"], room_ids)}


async def _rebuild(ctx: Context, s: AsyncSession, old: Report, where: RoomNow, text: str) -> dict[str, Any]:
    parsed = parse(text, CORRECT_USAGE)
    return await build(s, where, parsed, CORRECT_USAGE)


async def _after_correct(ctx: Context, row: Report, where: RoomNow) -> str:
    if not ViolationPayload.from_payload(row.payload).serious:
        return ""
    async with ctx.services.db.read() as s:
        names = await _names(s, where.room_id)
        if await confirmations(s, root_of(row)):
            return ""
    sent = await alert(ctx, _alert_text(where, ctx.staff, row, names), key=f"report:{row.id}")
    return f"\n{alerted(sent)}；请本考场另一名监考员发送 /确认 {row.id}。"


table.report_kind("violation", KindRules(CORRECT_USAGE, _rebuild, describe, _after_correct))


def _type_check(t: str) -> str | None:
    value, _ = _take(clean(t), _TYPE_WORDS)
    return value


def _action_check(t: str) -> str | None:
    value, _ = _take(clean(t), _ACTION_WORDS)
    return value


def _ticket_check(t: str) -> str | None:
    found = split_args(t, room_from_first_number=False).tickets
    return found[0] if len(found) == 1 else None


table.dialog(
    _dialog.DialogSpec(
        "违纪",
        (
            _dialog.room_step(),
            _dialog.Step("违纪考生的准考证号？", check=_ticket_check, hint="准考证号为6位以上数字"),
            _dialog.Step("违纪类型？", TYPES, check=_type_check),
            _dialog.Step("现场处理？", ACTIONS, optional=True, check=_action_check),
            _dialog.Step("补充说明？", optional=True),
        ),
        record,
    )
)
table.dialog(
    _dialog.DialogSpec(
        "确认", (_dialog.Step("要确认的违纪记录编号？", check=lambda t: t if report_id(t) else None),), confirm
    )
)
table.dialog(
    _dialog.DialogSpec(
        "认定",
        (
            _dialog.Step("要认定的违纪记录编号？", check=lambda t: t if report_id(t) else None),
            _dialog.Step("认定的处理？", ACTIONS, check=_action_check),
            _dialog.Step("说明？", optional=True),
        ),
        determine,
    )
)

"""/确认 (the room's second invigilator or 考评员 confirms serious violations) and /认定 (the office's ruling).

Registered in handlers/violation.py's table, after /违纪. ``/确认 9 10`` confirms each number on its own:
every number gets a line saying it was confirmed or why not.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.dispatch import Context
from bot.errors import UserFacingError
from bot.model import Reply
from bot.store.reports import ViolationPayload
from bot.store.tables import Staff
from handlers import _dialog, _show
from handlers._changes import visible_chain
from handlers._parse import clean, leading_report_id, nfkc, report_id
from handlers._reports import alert, already_done, append, chain, current, once_per_message, root_of, split_report_id
from handlers._rooms import room_by_id
from handlers._typo import typo_guard
from handlers.violation_records import confirmations, describe, kind_of_room, second_person
from handlers.violation_words import (
    ACTION_CONFLICT,
    ACTION_WORDS,
    ACTIONS,
    DEDUCT,
    SERIOUS_ACTIONS,
    SERIOUS_TYPES,
    THEORY_ACTIONS,
    action_text,
    actions_for,
    conflicts,
    points_answer,
    staff_word,
    take_action,
    take_word,
    wrong_room_kind,
)

CONFIRM_USAGE = "/确认 编号 [编号…]，例：/确认 15，/确认 9 10"
RULING_USAGE = "/认定 编号 处理 [说明]，例：/认定 15 宣布成绩无效，/认定 16 扣10分"
_FILLERS = frozenset({"和", "及", "与", "以及", "还有", "编号", "号"})
_ANY_ACTION_WORD = frozenset(w for w, _ in ACTION_WORDS)


def _serious_words(actions: tuple[str, ...]) -> str:
    """“终止考试、宣布成绩无效或替考” for the actions of a room kind."""
    return "、".join(a for a in actions if a in SERIOUS_ACTIONS) + "或" + "、".join(sorted(SERIOUS_TYPES))


def report_ids(args: str) -> tuple[list[int], list[str]]:
    """Every report number written (9 10, 9、10, 9和10) and the words that are none."""
    ids: list[int] = []
    other: list[str] = []
    for word in clean(nfkc(args).replace("#", " ")).split():
        rid = report_id(word)
        if rid is not None:
            ids.append(rid)
        elif word not in _FILLERS:
            other.append(word)
    return list(dict.fromkeys(ids)), other


async def _confirm_one(ctx: Context, rid: int) -> str:
    """Confirm one violation; the reply line, or a refusal."""
    assert ctx.staff is not None
    async with ctx.services.db.session() as s:
        done = await already_done(s, ctx)
        await visible_chain(ctx, s, rid, CONFIRM_USAGE)  # before anything that tells what the report is
        report = await current(s, rid, CONFIRM_USAGE)
        if report.kind != "violation":
            raise UserFacingError(f"编号 {rid} 不是违纪记录，只有违纪记录需要确认。", usage=CONFIRM_USAGE)
        where = await room_by_id(ctx, s, report.room_id)
        assert where is not None
        if not ViolationPayload.from_payload(report.payload).serious:
            words = _serious_words(actions_for(where.session.kind))
            raise UserFacingError(f"编号 {rid} 不是{words}，不需要确认。", usage=CONFIRM_USAGE)
        if where.duty is None:
            who = staff_word(where.session.kind)
            raise UserFacingError(f"只有{where.label}本场次的{who}才能确认编号 {rid}。", usage=CONFIRM_USAGE)
        root = root_of(report)
        assert report.id is not None
        chain_staff = {r.staff_id for r in await chain(s, report.id)}
        if ctx.staff.id in chain_staff:
            raise UserFacingError(f"编号 {rid} 是您自己报告的，需要{second_person(where)}确认。", usage=CONFIRM_USAGE)
        existing = await confirmations(s, root)
        if done is None and existing:
            who_row = await s.get(Staff, existing[0].staff_id) if existing[0].staff_id else None
            by = who_row.name if who_row else "他人"
            raise UserFacingError(f"编号 {rid} 已由{by}确认过，不必再确认。", usage=CONFIRM_USAGE)
        if done is None:
            await append(ctx, s, "confirm", where, {"ref": root, "report": report.id})
        reporter = await s.get(Staff, report.staff_id) if report.staff_id else None
        names = await _show.room_names(s, where.room_id)
        both = f"{reporter.name if reporter else '?'}、{ctx.staff.name}"
        # Those who were told 待第二名…/确认 learn it happened (keyed: a redelivery tells nobody twice).
        told = await alert(
            ctx,
            f"【违纪已确认】{where.label} 编号 {rid}：{describe(ctx, report, names)}，"
            f"已由第二名{staff_word(where.session.kind)}{ctx.staff.name}确认，现由{both}两人记录。",
            key=f"confirmed:{root}",
            s=s,
        )
    line = f"已确认编号 {rid}（{where.label} {describe(ctx, report, names)}），现由{both}两人记录。"
    return line + (f"已告知考务办公室和督导（{told} 人）。" if told else "")


def _one_of_many(ctx: Context, rid: int) -> Context:
    """The context for one number of several: its own message id, so each confirmation is one row, once."""
    mid = ctx.message.message_id
    if not mid:
        return ctx
    return replace(ctx, message=replace(ctx.message, message_id=f"{mid[:100]}#{rid}"))


@typo_guard
@once_per_message
async def confirm(ctx: Context, args: str) -> Reply | str | None:
    """/确认 15 (or /确认 9 10): the room's other invigilator or 考评员 confirms serious violations."""
    if not args.strip():
        return await _dialog.start(ctx, "确认")
    ids, other = report_ids(args)
    if len(ids) <= 1:
        rid, _rest = split_report_id(args, CONFIRM_USAGE, "请写要确认的报告编号。")
        return Reply(await _confirm_one(ctx, rid))
    if other:
        raise UserFacingError(f"没有看懂“{' '.join(other)}”，请只写报告编号。", usage=CONFIRM_USAGE)
    lines = []
    for rid in ids:
        try:
            lines.append(await _confirm_one(_one_of_many(ctx, rid), rid))
        except UserFacingError as exc:
            lines.append(f"编号 {rid} 未确认：{exc.message}")
    return Reply("\n".join(lines))


@dataclass
class Ruling:
    """What /认定 was told."""

    rid: int
    action: str
    points: int | None
    note: str


def parse_ruling(text: str) -> Ruling:
    """编号, then one action (扣分 with its points), then an optional note (the action may also come first)."""
    t = nfkc(text)
    rid, typed, rest = leading_report_id(t)
    if rid is None and typed is None:  # “/认定 宣布成绩无效 15”
        first, after = take_word(clean(t), ACTION_WORDS)
        if first is not None:
            rid, typed, rest = leading_report_id(after)
            rest = f"{first} {rest}"
    if rid is None:
        split_report_id(t, RULING_USAGE, "请先写违纪记录的编号。")  # raises with the right sentence
    assert rid is not None
    head, _, note_tail = rest.partition("说明")
    action, points, note = take_action(clean(head), RULING_USAGE)
    if action is None:
        raise UserFacingError(
            f"请写认定的处理：{'、'.join(THEORY_ACTIONS)}（实操考场另有扣分、考件作废、取消参考资格）。",
            usage=RULING_USAGE,
        )
    if conflicts(note, ACTION_WORDS, action, anywhere=_ANY_ACTION_WORD):
        raise UserFacingError(ACTION_CONFLICT, usage=RULING_USAGE)
    if action == DEDUCT and not points:
        raise UserFacingError("扣分请写扣几分，例：/认定 16 扣10分。", usage=RULING_USAGE)
    return Ruling(rid, action, points, clean(f"{note} {note_tail}"))


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
        why = wrong_room_kind(ruling.action, await kind_of_room(s, report.room_id))
        if why is not None:
            raise UserFacingError(why, usage=RULING_USAGE)
        where = await room_by_id(ctx, s, report.room_id)
        payload = {"ref": root_of(report), "report": report.id, "action": ruling.action, "note": ruling.note}
        if ruling.action == DEDUCT:
            payload["points"] = ruling.points
        row = done or await append(ctx, s, "determination", where, payload)
        names = await _show.room_names(s, report.room_id or 0)
    label = where.label if where else ""
    return Reply(
        f"已认定编号 {ruling.rid}（{label} {describe(ctx, report, names)}）："
        f"{action_text(ruling.action, ruling.points)}。认定编号 {row.id}，现场处理与认定都已保留。"
    )


def _ruling_action_check(t: str) -> str | None:
    try:
        action, points, _rest = take_action(clean(t), RULING_USAGE)
    except UserFacingError:
        return None
    return action_text(action, points) if action is not None else None


def _confirm_check(t: str) -> str | None:
    ids, other = report_ids(t)
    return " ".join(str(i) for i in ids) if ids and not other else None


CONFIRM_DIALOG = _dialog.DialogSpec(
    "确认", (_dialog.Step("要确认的违纪记录编号？（可写多个）", check=_confirm_check),), confirm
)
RULING_DIALOG = _dialog.DialogSpec(
    "认定",
    (
        _dialog.Step("要认定的违纪记录编号？", check=lambda t: t if report_id(t) else None),
        _dialog.Step("认定的处理？", ACTIONS, check=_ruling_action_check, hint="扣分可直接写“扣5分”"),
        _dialog.Step(
            "扣几分？", check=points_answer, hint="回复分数，如 5", only_if=lambda a: len(a) > 1 and a[1] == DEDUCT
        ),
        _dialog.Step("说明？", optional=True),
    ),
    determine,
    join=lambda a: " ".join(str(x) for x in a[:3] if x) + (f" 说明 {a[3]}" if len(a) > 3 and a[3] else ""),
)

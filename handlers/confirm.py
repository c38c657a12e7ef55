"""/确认 (the room's second invigilator or 考评员 confirms serious violations) and /认定 (the office's ruling).

Registered in handlers/violation.py's table, after /违纪. ``/确认 9 10`` confirms each number on its own:
every number gets a line saying it was confirmed or why not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.directory import person_targets
from bot.dispatch import Context
from bot.errors import UserFacingError
from bot.model import CONFIRM_STEP, HANDOVER_STEP, OutgoingMessage, Reply, TextFormat, card_text
from bot.store.cards import show_on_all
from bot.store.papers import HANDOVER_ENTITY, handover_checks, is_handout
from bot.store.reports import VIOLATION_DISPUTE, PapersPayload, ViolationPayload
from bot.store.tables import Assignment, AuditLog, Duty, Report, Staff
from handlers import _dialog, _show
from handlers._changes import visible_chain
from handlers._parse import clean, free_text, leading_report_id, nfkc, report_id
from handlers._reports import (
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
from handlers._rooms import RoomNow, room_by_id
from handlers._typo import typo_guard
from handlers._waiting import open_cards
from handlers.violation_records import (
    confirmations,
    describe,
    kind_of_room,
    office_line,
    points_of,
    second_person,
)
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

CONFIRM_USAGE = "/确认 编号 [编号…] [有异议｜数量不符]，例：/确认 15，/确认 9 10，/确认 21 数量不符"
RULING_USAGE = "/认定 编号 处理 [说明]，例：/认定 15 宣布成绩无效，/认定 16 扣10分，/认定 17 维持（同现场处理）"
# “/认定 15 维持”: the office upholds the action taken on the spot (longest first).
UPHOLD = re.compile(r"^(?:维持(?:原|现场)?(?:处理|决定)?|同意(?:现场处理)?|属实|照准)")
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


@dataclass(frozen=True)
class Confirmed:
    """The reply line of one number, and what the cards of its subject now show (None: unchanged)."""

    line: str
    state: str | None = None


async def confirm_one(ctx: Context, rid: int) -> Confirmed:
    """Confirm one violation (or, for a 领取 report, its count); the reply line, or a refusal.

    Also what the second person's /违纪 does when it repeats the serious violation the first just recorded."""
    assert ctx.staff is not None
    async with ctx.services.db.session() as s:
        done = await already_done(s, ctx)
        await visible_chain(ctx, s, rid, CONFIRM_USAGE)  # before anything that tells what the report is
        report = await current(s, rid, CONFIRM_USAGE)
        if is_handout(report):
            return await _handover(ctx, s, report, agree=True)
        where = await _violation_where(ctx, s, report, rid)
        root = root_of(report)
        existing = await confirmations(s, root)
        if done is None and existing:
            who_row = await s.get(Staff, existing[0].staff_id) if existing[0].staff_id else None
            by = who_row.name if who_row else "他人"
            raise UserFacingError(f"编号 {rid} 已由{by}确认过，不必再确认。", usage=CONFIRM_USAGE)
        if done is None:
            await append(ctx, s, "confirm", where, {"ref": root, "report": report.id})
        state = f"{ctx.staff.name} 已确认 {ctx.now.astimezone(ctx.services.settings.tz):%H:%M}"
        await show_on_all(await s.connection(), root, CONFIRM_STEP, state, ctx.now)
        reporter = await s.get(Staff, report.staff_id) if report.staff_id else None
        names = await _show.room_names(s, where.room_id)
        both = f"{reporter.name if reporter else '?'}、{ctx.staff.name}"
        # Those who were told 待第二名…/确认 learn it happened (keyed: a redelivery tells nobody twice).
        told = await alert(
            ctx,
            f"【违纪已确认】{where.label} 编号 {rid}：{office_line(report, names)}，"
            f"已由第二名{staff_word(where.session.kind)}{ctx.staff.name}确认，现由{both}两人记录。",
            key=f"confirmed:{root}",
            s=s,
        )
    line = f"已确认编号 {rid}（{where.label} {describe(ctx, report, names)}），现由{both}两人记录。"
    return Confirmed(line + (f"已告知考务办公室和督导（{told} 人）。" if told else ""), state)


async def _violation_where(ctx: Context, s: AsyncSession, report: Report, rid: int) -> RoomNow:
    """The room of a serious violation the sender may confirm (or dispute); a refusal naming who may otherwise."""
    assert ctx.staff is not None and report.id is not None
    if report.kind != "violation":
        raise UserFacingError(f"编号 {rid} 不是违纪记录或试卷领取记录，不需要确认。", usage=CONFIRM_USAGE)
    where = await room_by_id(ctx, s, report.room_id)
    assert where is not None
    if not ViolationPayload.from_payload(report.payload).serious:
        words = _serious_words(actions_for(where.session.kind))
        raise UserFacingError(f"编号 {rid} 不是{words}，不需要确认。", usage=CONFIRM_USAGE)
    reporters = {r.staff_id for r in await chain(s, report.id)}
    may = "、".join(p.name for p in await room_staff(s, where.room_id, exclude=reporters))
    if where.duty is None:
        who = staff_word(where.session.kind) + (f"（{may}）" if may else "")
        raise UserFacingError(f"只有{where.label}本场次的{who}才能确认编号 {rid}。", usage=CONFIRM_USAGE)
    if ctx.staff.id in reporters:
        who = second_person(where) + (f"（{may}）" if may else "")
        raise UserFacingError(f"编号 {rid} 是您自己报告的，需要{who}确认。", usage=CONFIRM_USAGE)
    return where


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
        return await pending(ctx) or await _dialog.start(ctx, "确认")
    args, disputed = _take_dispute(args)
    if disputed:
        rid, _rest = split_report_id(args, CONFIRM_USAGE, "请写有异议的报告编号。")
        done = await _dispute_one(ctx, rid)
        return Reply(done.line, card_state=done.state)
    ids, other = report_ids(args)
    if len(ids) <= 1:
        rid, _rest = split_report_id(args, CONFIRM_USAGE, "请写要确认的报告编号。")
        done = await confirm_one(ctx, rid)
        return Reply(done.line, card_state=done.state)
    if other:
        raise UserFacingError(f"没有看懂“{' '.join(other)}”，请只写报告编号。", usage=CONFIRM_USAGE)
    lines = []
    for rid in ids:
        try:
            lines.append((await confirm_one(_one_of_many(ctx, rid), rid)).line)
        except UserFacingError as exc:
            lines.append(f"编号 {rid} 未确认：{exc.message}")
    return Reply("\n".join(lines))


async def pending(ctx: Context, *, only_one: bool = False) -> Reply | None:
    """“确认” with no number: the one record the sender's cards wait on is confirmed, as a tap on the card would;
    several are listed with their typed forms (unless ``only_one``: then None); None when there is none."""
    async with ctx.services.db.session() as s:
        items = await open_cards(ctx, s)
    if only_one and len(items) != 1:
        return None
    if len(items) == 1:
        (rid,) = items
        done = await confirm_one(ctx, rid)
        return Reply(done.line, card_state=done.state)
    return _several(items) if items else None


async def pending_dispute(ctx: Context, said: int | None) -> Reply | None:
    """“不对 是31份” / “数量不符” with no number: 数量不符 (or 有异议) on the one record the sender's cards wait on, the
    count they counted passed on; several are listed with their typed forms; None when there is none."""
    async with ctx.services.db.session() as s:
        items = await open_cards(ctx, s)
        report = await current(s, next(iter(items)), CONFIRM_USAGE) if len(items) == 1 else None
    if report is None:
        return _several(items) if items else None
    (rid,) = items
    if said is not None and is_handout(report) and PapersPayload.from_payload(report.payload).count == said:
        return Reply(f"您说的 {said} 份与编号 {rid} 报告的领取份数一致；核对无误请回复“确认”。")
    done = await _dispute_one(ctx, rid, said)
    return Reply(done.line, card_state=done.state)


def _several(items: dict[int, str]) -> Reply:
    """More than one card waits on the sender: each with its typed answers, nothing done."""
    lines = "\n".join(f"· {line}" for line in items.values())
    return Reply(f"您有 {len(items)} 项待核对或确认，请写明编号：\n{lines}")


@dataclass
class Ruling:
    """What /认定 was told."""

    rid: int
    action: str | None  # None: 维持, the on-the-spot action stands
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
    upheld = UPHOLD.match(clean(head))
    if upheld is not None and take_action(clean(head)[upheld.end() :], RULING_USAGE)[0] is None:
        return Ruling(rid, None, None, " ".join(x for x in (clean(head[upheld.end() :]), free_text(note_tail)) if x))
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
    return Ruling(rid, action, points, " ".join(x for x in (clean(note), free_text(note_tail)) if x))


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
        if ruling.action is None:  # 维持: what was done on the spot
            spot = ViolationPayload.from_payload(report.payload)
            if not spot.action:
                raise UserFacingError(f"编号 {ruling.rid} 现场没有记录处理，请写认定的处理。", usage=RULING_USAGE)
            ruling = replace(ruling, action=spot.action, points=points_of(report.payload))
        assert ruling.action is not None
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
    if UPHOLD.fullmatch(clean(t)):
        return "维持"
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


# -- cards: the second invigilator's confirmation of a serious violation, the other's check of a 领取 count --------

DISPUTE_WORDS = ("数量不符", "有异议", "异议", "不符")
HANDOVER = HANDOVER_ENTITY  # audit entity of a 领取 count confirmed (or disputed) by the other invigilator


def confirm_command(rid: int) -> str:
    """What a tap on 确认 of a violation or handover card about report ``rid`` stands for."""
    return f"/确认 {rid}"


def dispute_command(rid: int, step: str) -> str:
    """What a tap on 有异议 (violation) or 数量不符 (handover) stands for."""
    return f"/确认 {rid} {'数量不符' if step == HANDOVER_STEP else '有异议'}"


def _take_dispute(args: str) -> tuple[str, str | None]:
    """The arguments without a dispute word, and the word (None: a plain confirmation)."""
    text = nfkc(args)
    for word in DISPUTE_WORDS:
        if word in text:
            return text.replace(word, " ", 1), word
    return args, None


async def room_staff(s: AsyncSession, room_id: int, *, exclude: set[int | None] | None = None) -> list[Staff]:
    """The room's invigilators and 考评员 (not its 督导, nor ``exclude``), in assignment order."""
    q = select(Staff).join(Assignment, col(Assignment.staff_id) == col(Staff.id))
    q = q.where(Assignment.room_id == room_id, Assignment.duty != Duty.SUPERVISOR)
    rows = (await s.exec(q.order_by(col(Assignment.id)))).all()
    return [p for p in rows if p.id not in (exclude or set())]


async def send_cards(
    ctx: Context, s: AsyncSession, where: RoomNow, row: Report, step: str, text: str, *, subject: int | None = None
) -> int:
    """A card about ``row`` privately to everyone else on duty in the room (written with the report).

    On the channel the report came from; a platform without cards, or refusing one, sends ``text``, which
    names the typed form. Keyed by report and person: a redelivered report sends no second card.
    """
    assert row.id is not None
    sid = subject or row.id  # a corrected violation's cards are about its chain's first row (what /确认 updates)
    exclude: set[int | None] = {ctx.staff.id if ctx.staff else None}
    messages = [
        OutgoingMessage(t, card_text(text, sid, step), TextFormat.CARD, key=f"card:{step}:{sid}:{p.id}")
        for p in await room_staff(s, where.room_id, exclude=exclude)
        for t in person_targets(p, channels=(ctx.message.channel,))
    ]
    if messages and ctx.backfill is None:  # /补录 enters the past: nobody is to confirm by card now
        await ctx.enqueue(s, messages)
    return len(messages)


def confirm_card_text(where: RoomNow, who: str, rid: int, what: str) -> str:
    """The card (and its text fallback) asking the second invigilator to confirm violation ``rid``."""
    return (
        f"【严重违纪待确认·编号 {rid}】\n{where.label} {who} 报告：{what}。\n"
        f"请核实后点“确认”，或回复“/确认 {rid}”；有异议请回复“/确认 {rid} 有异议”。"
    )


def handover_card_text(where: RoomNow, who: str, rid: int, count: int) -> str:
    """The card (and its text fallback) asking the other invigilator to confirm the 领取 count of report ``rid``."""
    return (
        f"【试卷领取待核对·编号 {rid}】\n{where.label} {who} 报告领取试卷 {count} 份。\n"
        f"请核对份数：无误点“确认”或回复“/确认 {rid}”；份数不符请回复“/确认 {rid} 数量不符”。"
    )


async def _dispute_one(ctx: Context, rid: int, said: int | None = None) -> Confirmed:
    """有异议 to a serious violation, or 数量不符 to a 领取 count (``said``: the count the sender counted, if typed):
    the office is told; the cards show it."""
    assert ctx.staff is not None
    tz = ctx.services.settings.tz
    async with ctx.services.db.session() as s:
        await visible_chain(ctx, s, rid, CONFIRM_USAGE)
        report = await current(s, rid, CONFIRM_USAGE)
        if is_handout(report):
            return await _handover(ctx, s, report, agree=False, said=said)
        where = await _violation_where(ctx, s, report, rid)
        root = root_of(report)
        names = await _show.room_names(s, where.room_id)
        state = f"{ctx.staff.name} 有异议 {ctx.now.astimezone(tz):%H:%M}"
        conn = await s.connection()
        lg = AuditLog.__table__  # type: ignore[attr-defined]
        mine = (lg.c.entity == VIOLATION_DISPUTE, lg.c.entity_id == str(root), lg.c.actor == f"staff:{ctx.staff.id}")
        if (await conn.execute(lg.select().where(*mine).limit(1))).first() is None:  # a redelivery records once
            detail = {"by": ctx.staff.name, "staff_id": ctx.staff.id, "report": rid, "room_id": where.room_id}
            await conn.execute(
                lg.insert().values(
                    at=ctx.now, actor=f"staff:{ctx.staff.id}", action="dispute", entity=VIOLATION_DISPUTE,
                    entity_id=str(root), detail=detail,
                )
            )  # fmt: skip
        await show_on_all(conn, root, CONFIRM_STEP, state, ctx.now)
        told = await alert(
            ctx,
            f"【违纪记录有异议】{where.label}（{where.session.code}）编号 {rid}：{office_line(report, names)}；"
            f"第二名{staff_word(where.session.kind)}{ctx.staff.name}有异议，未确认。请考务办公室核实。",
            key=f"disputed:{root}:{ctx.staff.id}",
            s=s,
        )
    return Confirmed(f"已记录您对编号 {rid} 有异议（未确认），{alerted(told)}。", state)


async def _handover(
    ctx: Context, s: AsyncSession, report: Report, *, agree: bool, said: int | None = None
) -> Confirmed:
    """The other invigilator confirms (or disputes) a 领取 count: recorded once, the cards show it."""
    assert ctx.staff is not None and report.id is not None
    tz = ctx.services.settings.tz
    rid = report.id
    where = await room_by_id(ctx, s, report.room_id)
    assert where is not None
    reporters = {r.staff_id for r in await chain(s, rid)}
    names = "、".join(p.name for p in await room_staff(s, where.room_id, exclude=reporters))
    may = second_person(where) + (f"（{names}）" if names else "")
    if ctx.staff.id in reporters:
        raise UserFacingError(f"编号 {rid} 的领取份数是您报告的，需要{may}核对确认。", usage=CONFIRM_USAGE)
    if where.duty is None:
        raise UserFacingError(f"只有{where.label}的{may}可以核对编号 {rid} 的领取份数。", usage=CONFIRM_USAGE)
    lg = AuditLog.__table__  # type: ignore[attr-defined]
    conn = await s.connection()
    prior = (await handover_checks(s, [report])).get(rid)
    count = PapersPayload.from_payload(report.payload).count
    if prior is not None:
        done, by, checked_at = prior
        at = checked_at.astimezone(tz)  # type: ignore[attr-defined]
        word = "确认无误" if done == "confirm" else "提出数量不符"
        state = f"{by} {'已确认' if done == 'confirm' else '数量不符'} {at:%H:%M}"
        return Confirmed(f"编号 {rid} 的领取份数（{count} 份）已由{by}于 {at:%H:%M} {word}，不必再操作。", state)
    action = "confirm" if agree else "dispute"
    detail = {"by": ctx.staff.name, "staff_id": ctx.staff.id, "count": count, "room_id": where.room_id}
    if said is not None:
        detail["said"] = said
    await conn.execute(
        lg.insert().values(
            at=ctx.now, actor=f"staff:{ctx.staff.id}", action=action, entity=HANDOVER, entity_id=str(rid), detail=detail
        )
    )
    when = f"{ctx.now.astimezone(tz):%H:%M}"
    state = f"{ctx.staff.name} {'已确认' if agree else '数量不符'} {when}"
    await show_on_all(conn, rid, HANDOVER_STEP, state, ctx.now)
    if agree:
        return Confirmed(f"已确认{where.label}试卷领取 {count} 份（编号 {rid}），两名监考核对一致。", state)
    counted = f"（{ctx.staff.name}清点为 {said} 份）" if said is not None else ""
    told = await alert(
        ctx,
        f"【试卷领取份数有异议】{where.label}（{where.session.code}）编号 {rid} 报告领取 {count} 份，"
        f"{ctx.staff.name}核对认为数量不符{counted}。请立即核实（监考人员守则4(2)），核实后用 /更正 {rid} 改正。",
        key=f"handover_dispute:{rid}",
        s=s,
    )
    fix = f"/更正 {rid} 领取 {said}" if said is not None else f"/更正 {rid}"
    return Confirmed(
        f"已记录您对编号 {rid}（领取 {count} 份）数量不符{counted}；{alerted(told)}。清点后请用 {fix} 改正份数。", state
    )

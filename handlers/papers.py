"""/试卷 /papers: papers handed out and collected, reconciled at once (监考人员守则 4(2)); /备注 closes a mismatch.

What reconciled means is read in bot/store/papers.py. A mismatch alerts the office and supervisors at
once and the room shows as not reconciled until a correction or an office note (/备注) closes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.rows import insert_rows, new_row
from bot.delivery.targets import staff_target
from bot.dispatch import CommandTable, Context
from bot.errors import UserFacingError
from bot.model import HANDOVER_STEP, Reply
from bot.store.papers import (
    Reconciliation,
    absent_payload,
    missing_of,
    papers_payload,
    present_of,
    problems_of,
    reconcile,
    split_papers,
)
from bot.store.reports import COLLECT, HANDOUT, PAPERS_HANDOUT, PapersPayload, reports_in_force
from bot.store.tables import OutboxKind, Report, SessionKind
from handlers import _dialog
from handlers._parse import CN_NUM, ROOM_RE, clean, cn_number, room_number, take_keyword_number
from handlers._reports import (
    KindRules,
    alert,
    alerted,
    already_done,
    append,
    once_per_message,
)
from handlers._rooms import ANY_ROOM, REPORTER, RoomNow, resolve_room
from handlers._show import hm
from handlers._typo import typo_guard
from handlers.confirm import handover_card_text, send_cards
from scheduler.planner import load_office
from scheduler.reminders import window_end
from scheduler.timeline import FOLLOW_OFFICE_AFTER, OFFICE_ESCALATION_VALID

USAGE = "/试卷 考场 领取|回收 份数 [答题卡 N] [空白 N] [损坏 N]，例：/试卷 3 回收 30 答题卡 28 空白 2"
CORRECT_USAGE = "/更正 编号 领取|回收 份数 [答题卡 N] [空白 N] [损坏 N]"

_HANDOUT = ("领取", "领卷", "领", "发放", "发卷", "发", "handout", "out")
_COLLECT = ("回收", "收回", "收卷", "收", "collect", "in")
_NUM = rf"(\d{{1,5}}|[{CN_NUM}]{{1,5}})"

table = CommandTable()


@dataclass
class PapersArgs:
    """What /试卷 was told."""

    room: int | None
    action: str
    count: int
    answered: int | None
    blank: int
    spoiled: int
    guessed: bool = False  # the count is a lone bare number that could also be the room
    blank_given: bool = True  # 空白 was written (回收 15 答题卡 14: not, so the rest is blank)


def _take_action(words: Iterable[str], t: str, *, counted: bool = False) -> tuple[bool, int | None, str]:
    """The first of ``words`` in ``t`` (longest first) with the count after it: (found, count, ``t`` without them).
    ``counted``: only where a count follows."""
    for w in sorted(words, key=len, reverse=True):
        # 领了30份, 收回了 28 份, 领到试卷30份: a phone's particles between the word and the count
        number = _NUM if counted else f"{_NUM}?"
        am = re.search(rf"{re.escape(w)}\s*(?:了|到|好|齐了?)?\s*(?:试卷|卷子)?\s*{number}\s*(?:份|张)?", t)
        if am is not None and (w.isascii() is False or re.search(rf"\b{w}\b", t)):
            count = cn_number(am.group(1)) if am.group(1) else None
            return True, count, clean(t[: am.start()] + " " + t[am.end() :])
    return False, None, t


def parse(text: str, usage: str = USAGE) -> PapersArgs:
    """Room (explicit form or a bare first number), 领取/回收 with its count, and the optional counts."""
    t = clean(text).lower()
    room: int | None = None
    m = ROOM_RE.search(t)
    if m is not None:
        room = cn_number(m.group(1))
        t = clean(t[: m.start()] + " " + t[m.end() :])
    answered, t = take_keyword_number(t, ("答题卡", "答卷", "已答", "作答"))
    blank, t = take_keyword_number(t, ("空白", "空卷", "未用", "剩余", "余"))
    spoiled, t = take_keyword_number(t, ("损坏", "作废", "破损", "污损"))
    action: str | None = None
    count: int | None = None
    for words, name in ((_COLLECT, COLLECT), (_HANDOUT, HANDOUT)):
        found, count, t = _take_action(words, t)
        if found:
            action = name
            if count is None:  # the word said twice, the count with the second (/收卷了 收回30份: session 22)
                _, count, t = _take_action(words, t, counted=True)
            break
    t = re.sub(r"(?:^|\s)(?:了|啦|吧|哈)(?=\s|$)", " ", t)  # a particle left alone (收卷了 → 了)
    if action is None:
        raise UserFacingError("请写“领取”或“回收”。", usage=usage)
    t = t.replace("试卷", " ").replace("卷子", " ").replace("份", " ").replace("张", " ")
    bare = [cn_number(x) for x in clean(t).split()]
    if any(b is None for b in bare):
        odd = [x for x in clean(t).split() if cn_number(x) is None]
        raise UserFacingError(f"没有看懂“{' '.join(odd)}”。", usage=usage)
    nums = [b for b in bare if b is not None]
    guessed = count is None and room is None and len(nums) == 1
    if count is None and nums:
        count = nums.pop(-1) if room is not None or len(nums) == 1 else nums.pop(1)
    if room is None and nums:
        room = nums.pop(0)
    if nums:
        raise UserFacingError("数字太多了，看不出哪个是考场、哪个是份数。", usage=usage)
    if count is None:
        raise UserFacingError("请写试卷份数。", usage=usage)
    if action == HANDOUT and (answered is not None or blank or spoiled):
        raise UserFacingError("答题卡、空白、损坏份数请在回收时填写。", usage=usage)
    return PapersArgs(room, action, count, answered, blank or 0, spoiled or 0, guessed, blank is not None)


async def build(s: AsyncSession, where: RoomNow, args: PapersArgs) -> dict[str, Any]:
    """The payload; a collection is reconciled against the handout and 实考 (as they stand now)."""
    if args.action == HANDOUT:
        return {"action": HANDOUT, "count": args.count}
    # 答题卡 not given: the rest of a breakdown (回收 30 空白 2 → 28), or with a bare count unknown — asked for,
    # never read as the whole count.
    answered, blank = args.answered, args.blank
    practical = where.session.kind == SessionKind.PRACTICAL  # 实操考单: no answer cards to infer
    if answered is None and (args.blank or args.spoiled) and not practical:
        answered = args.count - args.blank - args.spoiled
    elif answered is not None and not args.blank_given and args.count - answered - args.spoiled > 0:
        blank = args.count - answered - args.spoiled  # 回收 15 答题卡 14: the other one is blank (an absentee's)
    rows = await reports_in_force(s, ["papers", "absent"], [where.room_id])
    handout, _ = split_papers(rows)
    absent = [r for r in rows if r.kind == "absent"]
    counts = {"count": args.count, "answered": answered, "blank": blank, "spoiled": args.spoiled}
    h = papers_payload(handout.get(where.room_id))
    last_absent = absent_payload(absent[-1]) if absent else None
    problems = problems_of(PapersPayload(COLLECT, **counts), h, last_absent, where.room.expected)
    sheets = {"sheets": False} if practical and answered is None else {}
    return {
        "action": COLLECT,
        **counts,
        **sheets,
        "handed_out": h.count if h else None,
        "present": present_of(last_absent, where.room.expected),
        "reconciled": not problems,
        "problems": problems,
    }


def describe(ctx: Context, report: Report, names: dict[str, str]) -> str:
    """领取 N 份 / 回收 N 份（答题卡 a，空白 b，损坏 c）核对结果."""
    p = PapersPayload.from_payload(report.payload)
    if p.is_handout:
        return f"领取试卷 {p.count} 份"
    if p.reconciled and p.answered is None and p.sheets:
        return _counts(p) + "，暂未发现不符（答题卡份数未报）"
    if p.reconciled:
        return _counts(p) + "，核对无误"
    return _counts(p) + "，核对不符：" + "；".join(p.problems)


def _counts(p: PapersPayload) -> str:
    if not p.sheets:  # a practical room: 实操考单, no answer cards
        return f"回收 {p.count} 份（空白 {p.blank}，损坏 {p.spoiled}）"
    answered = "未报" if p.answered is None else p.answered
    return f"回收 {p.count} 份（答题卡 {answered}，空白 {p.blank}，损坏 {p.spoiled}）"


def _alert_text(where: RoomNow, who: str, row: Report) -> str:
    return (
        f"【试卷核对不符】{where.label}（{where.session.code}）{who} 报告：{describe_plain(row)}。编号 {row.id}；"
        f"请立即追查（监考人员守则4(2)），核实后用 /更正 {row.id} 或 /备注 {row.id} 关闭。"
    )


def describe_plain(row: Report) -> str:
    """The description without any chat context (for alerts)."""
    p = PapersPayload.from_payload(row.payload)
    return _counts(p) + "，" + "；".join(p.problems)


@once_per_message
async def record(ctx: Context, args: str) -> Reply | str | None:
    """Parse, check and store one handout or collection; a mismatch alerts at once."""
    parsed = parse(args)
    async with ctx.services.db.session() as s:
        row = await already_done(s, ctx)
        where = await resolve_room(ctx, s, parsed.room, USAGE, any_room=ANY_ROOM)
        if parsed.guessed and _room_no(where) == parsed.count:
            raise UserFacingError("请写试卷份数。", usage=USAGE)
        if row is None and parsed.action == COLLECT and ctx.backfill is None and ctx.now < where.session.starts_at:
            # Nothing can be collected before the start: a 回收 now is a slip for 领取, and its reconciliation
            # would alert the office about an exam that has not begun.
            raise UserFacingError(
                f"{where.label}（{where.session.code}）{hm(ctx, where.session.starts_at)} 才开考，现在还不能报回收。"
                f"如果是领取试卷，请发 /领取 {parsed.count}。",
                usage=USAGE,
            )
        replaced: Report | None = None
        before: Reconciliation | None = None
        after: Reconciliation | None = None
        if row is None:
            before = await reconcile(s, where.room)
            payload = await build(s, where, parsed)
            same = [
                r
                for r in await reports_in_force(s, ["papers"], [where.room_id])
                if PapersPayload.from_payload(r.payload).action == parsed.action
            ]
            replaced = same[-1] if same else None
            if replaced is not None and parsed.action == COLLECT:
                payload = {**payload, **recount_of(replaced)}
            row = await append(ctx, s, "papers", where, payload, supersedes=replaced)
            after = await reconcile(s, where.room)
            if parsed.action == HANDOUT:  # the other invigilator confirms the count with a tap (or /确认 编号)
                who = ctx.staff.name if ctx.staff else "?"
                text = handover_card_text(where, who, row.id or 0, parsed.count)
                await send_cards(ctx, s, where, row, HANDOVER_STEP, text)
        mismatch = await _after(ctx, row, where, s=s)  # a mismatch's alerts commit with the report
    p = PapersPayload.from_payload(row.payload)
    what = "试卷复点" if p.recount_of else "试卷"
    text = f"已记录{where.label}{what}（编号 {row.id}）：{describe(ctx, row, {})}。"
    if p.recount_of:  # also on a redelivery
        text += "\n" + recount_note(row.id, p)
    elif row.supersedes_id is not None:
        text += f"\n（替代之前的编号 {row.supersedes_id}）"
    text += mismatch
    if PapersPayload.from_payload(row.payload).is_handout:
        text += await announce_change(ctx, where, before, after, "领取份数", row)
    elif p.is_collect:
        text += await ask_missing(ctx, where, row)
    return Reply(text)


async def ask_missing(ctx: Context, where: RoomNow, row: Report) -> str:
    """A collection without its 答题卡 count, or in a room without a 领取 count: ask for them (a dialog), and
    have the office told if the 领取 count is still missing after a while (not before: unknown is not wrong)."""
    p = PapersPayload.from_payload(row.payload)
    async with ctx.services.db.session() as s:
        handout, _ = split_papers(await reports_in_force(s, ["papers"], [where.room_id]))
        missing = missing_of(p, papers_payload(handout.get(where.room_id)))
        if not missing:
            return ""
        if "领取份数" in missing:
            await handout_deadline(ctx, s, where, row)
    text = f"\n{'、'.join(missing)}未报，补报后再完整核对。"
    if ctx.backfill is not None:  # no dialog inside /补录: it would run against the rooms of now
        forms = [f"/补录 /更正 {row.id} 回收 {p.count} 答题卡 N 空白 N 损坏 N"] if "答题卡份数" in missing else []
        forms += ["/补录 … /试卷 领取 N"] if "领取份数" in missing else []
        return text + f"请补录：{'，或 '.join(forms)}。"
    meta = {"rid": row.id, "room": _room_no(where), "count": p.count, "blank": p.blank, "spoiled": p.spoiled}
    meta |= {"answered": p.answered is None, "handout": "领取份数" in missing}
    return text + "\n" + str(await _dialog.start(ctx, FILL_IN, [meta]))


async def handout_deadline(ctx: Context, s: AsyncSession, where: RoomNow, row: Report) -> None:
    """An escalation to the office on duty, due a while after the collection, sent only if 领取 is still missing."""
    due = window_end(ctx.now + FOLLOW_OFFICE_AFTER)
    conn = await s.connection()
    office = await load_office(conn, ctx.services.settings.escalation_staff)
    text = (
        f"{where.label}（{where.session.code}）已报试卷回收（编号 {row.id}），"
        f"但 {int(FOLLOW_OFFICE_AFTER.total_seconds() // 60)} 分钟后仍未报领取份数，无法核对试卷。"
    )
    rows = [
        new_row(
            key=f"handout_missing:{where.room_id}:{ref.id}",
            kind=OutboxKind.FOLLOW_OFFICE,
            target=staff_target(ref.id),
            text=text,
            due_at=due,
            expires_at=due + OFFICE_ESCALATION_VALID,
            now=ctx.now,
            session_id=where.session_id,
            room_id=where.room_id,
            step=PAPERS_HANDOUT,
            condition={"type": "report", "room_id": where.room_id, "report": PAPERS_HANDOUT},
        )
        for ref in office
    ]
    await insert_rows(conn, rows, skip_existing=True)
    if ctx.services.reminders is not None:
        ctx.services.reminders.wake_at(due)


FILL_IN = "试卷补报"


async def _fill_in(ctx: Context, answers: str) -> Reply | str | None:
    """The answers to the follow-up: correct the collection with its 答题卡 count, record the 领取 count."""
    meta, answered, handed = json.loads(answers)
    out: list[str] = []
    if answered:
        blank, spoiled, count = int(meta["blank"]), int(meta["spoiled"]), int(meta["count"])
        if not blank and not spoiled and int(answered) <= count:
            blank = count - int(answered)  # 回收 = 答题卡 + 空白 (+ 损坏): the rest of a bare count is blank
        args = f"{meta['rid']} 回收 {count} 答题卡 {answered} 空白 {blank} 损坏 {spoiled}"
        found = ctx.dispatcher.lookup("更正", args)
        assert found is not None
        out.append(_text(await found[0].func(ctx, found[1])))
        if meta["handout"]:  # one question at a time: the 答题卡 answer is applied before 领取 is asked
            out.append(str(await _dialog.start(ctx, FILL_IN, [{**meta, "answered": False}])))
    if handed:
        out.append(_text(await record(ctx, f"{meta['room']} 领取 {handed}")))
    return Reply("\n".join(t for t in out if t))


def _asks_handout(answers: list[Any]) -> bool:
    """The 领取 question comes once the 答题卡 one (if any) was answered and applied."""
    return bool(answers[0]["handout"]) and not answers[0]["answered"]


def _text(result: Reply | str | None) -> str:
    return result.text if isinstance(result, Reply) else (result or "")


def recount_of(earlier: Report) -> dict[str, Any]:
    """What a second collection keeps of the one it recounts (its 编号 and counts)."""
    e = PapersPayload.from_payload(earlier.payload)
    return {"recount_of": earlier.id, "previous": [e.count, e.answered, e.blank, e.spoiled]}


def recount_note(row_id: int | None, p: PapersPayload) -> str:
    """Both counts of a recount and which one stands."""
    count, answered, blank, spoiled = p.previous or (0, 0, 0, 0)
    earlier = _counts(PapersPayload(COLLECT, count, answered, blank, spoiled, sheets=p.sheets or answered is not None))
    same = p.previous == (p.count, p.answered, p.blank, p.spoiled)
    return (
        f"这是重新清点：上次清点（编号 {p.recount_of}）{earlier}，本次{_counts(p)}；"
        + ("两次一致，" if same else "两次不同，")
        + f"以本次（编号 {row_id}）为准，上次记录保留。"
    )


async def _after(ctx: Context, row: Report, where: RoomNow, *, s: AsyncSession | None = None) -> str:
    p = PapersPayload.from_payload(row.payload)
    if not p.is_collect or p.reconciled:
        return ""
    who = ctx.staff.name if ctx.staff else "?"
    sent = await alert(ctx, _alert_text(where, who, row), key=f"report:{row.id}", s=s)
    return f"\n{alerted(sent)}；请立即清点追查，核实后用 /更正 {row.id} 改正，或由考务办公室用 /备注 {row.id} 关闭。"


async def announce_change(
    ctx: Context, where: RoomNow, before: Reconciliation | None, after: Reconciliation | None, what: str, cause: Report
) -> str:
    """After ``cause`` (a new 缺考, handout or correction): say, and alert, when the room's collection now checks
    differently."""
    if before is None or after is None or (before.problems, before.missing) == (after.problems, after.missing):
        return ""
    cid = after.collect.id
    if after.problems and after.problems == before.problems:
        # Only a missing count came in and the same difference stands: it was alerted already, say so only.
        still = "；".join(after.problems)
        return f"\n按新的{what}重新核对：试卷回收编号 {cid} 仍核对不符：{still}（已通知过考务办公室）。"
    if after.reconciled and after.missing:
        return f"\n按新的{what}重新核对：试卷回收编号 {cid} 暂未发现不符（{'、'.join(after.missing)}未报）。"
    if after.reconciled:
        return f"\n按新的{what}重新核对：试卷回收编号 {cid} 现在核对无误。"
    problems = "；".join(after.problems)
    who = ctx.staff.name if ctx.staff else "?"
    sent = await alert(
        ctx,
        f"【试卷核对不符】{where.label}（{where.session.code}）{who} 报告了新的{what}，"
        f"试卷回收编号 {cid} 现在核对不符：{problems}。"
        f"请立即追查（监考人员守则4(2)），核实后用 /更正 {cid} 或 /备注 {cid} 关闭。",
        key=f"report:{cause.id}:recheck:{cid}",  # the report that changed the check; a redelivery sends nothing twice
    )
    return f"\n按新的{what}重新核对：试卷回收编号 {cid} 现在核对不符：{problems}；{alerted(sent)}。"


@table.command(
    "试卷",
    "papers",
    summary="报告试卷领取和回收份数（也可发 /领取 30、/回收 30）",
    usage=USAGE,
    permission=REPORTER,
    unslashed=True,
)
@typo_guard
async def papers(ctx: Context, args: str) -> Reply | str | None:
    """/试卷 3 领取 30, /试卷 3 回收 30 答题卡 28 空白 2 — or without arguments, a guided dialog."""
    if not args.strip():
        return await _dialog.start(ctx, "试卷")
    return await record(ctx, args)


async def _rebuild(ctx: Context, s: AsyncSession, old: Report, where: RoomNow, text: str) -> dict[str, Any]:
    parsed = parse(text, CORRECT_USAGE)
    if parsed.room is not None and parsed.room != _room_no(where):
        raise UserFacingError("更正不能改考场；请撤销后在正确的考场重新报告。", usage=CORRECT_USAGE)
    if parsed.action != PapersPayload.from_payload(old.payload).action:
        raise UserFacingError("更正不能把领取改成回收，请分别报告。", usage=CORRECT_USAGE)
    return await build(s, where, parsed)


def _room_no(where: RoomNow) -> int | None:
    return room_number(where.room.room_no)


async def _after_correct(ctx: Context, row: Report, where: RoomNow) -> str:
    return await _after(ctx, row, where)


table.report_kind("papers", KindRules(CORRECT_USAGE, _rebuild, describe, _after_correct))


def _count_check(t: str) -> str | None:
    n = cn_number(clean(t).rstrip("份张"))
    return str(n) if n is not None else None


def _join(answers: list[Any]) -> str:
    room, action, count, *rest = [*answers, "", "", ""][:6]
    text = f"{room} {action} {count}"
    if action == "回收":
        text += (f" 答题卡 {rest[0]}" if rest[0] else "") + f" 空白 {rest[1] or 0} 损坏 {rest[2] or 0}"
    return text


def _collecting(answers: list[Any]) -> bool:
    return len(answers) > 1 and answers[1] == "回收"


table.dialog(
    _dialog.DialogSpec(
        "试卷",
        (
            _dialog.room_step(),
            _dialog.Step("领取还是回收？", ("领取", "回收")),
            _dialog.Step("多少份？", check=_count_check),
            _dialog.Step("其中答题卡（已作答）几份？", optional=True, check=_count_check, only_if=_collecting),
            _dialog.Step("空白几份？", optional=True, check=_count_check, only_if=_collecting),
            _dialog.Step("损坏几份？", optional=True, check=_count_check, only_if=_collecting),
        ),
        record,
        join=_join,
    )
)

table.dialog(
    _dialog.DialogSpec(
        FILL_IN,
        (
            _dialog.Step("试卷回收记录"),  # answered when the dialog opens: the collection's 编号 and counts
            _dialog.Step("答题卡（已作答）多少份？", check=_count_check, only_if=lambda a: a[0]["answered"]),
            _dialog.Step(
                "本考场领取了多少份试卷？",
                check=_count_check,
                only_if=lambda a: a[0]["handout"] and not a[0]["answered"],
            ),
        ),
        _fill_in,
        join=lambda answers: json.dumps(answers, ensure_ascii=False),
    )
)

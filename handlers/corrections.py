"""/更正, /撤销 and /历史: corrections and revocations are new rows superseding old ones; nothing is deleted."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import CommandTable, Context
from bot.errors import UserFacingError
from bot.model import CONFIRM_STEP, HANDOVER_STEP, Reply
from bot.store.papers import Reconciliation, handover_checks, handover_words, is_handout, reconcile
from bot.store.reports import AbsentPayload, PapersPayload, RefPayload, ViolationPayload, violation_disputes
from bot.store.tables import Report, Staff
from handlers import _dialog, _show, absent
from handlers._changes import alert_revocation, alerts_on_revoke, check_change, visible_chain
from handlers._parse import free_text, report_id
from handlers._recent import with_recent
from handlers._reports import (
    KIND_LABELS,
    already_done,
    append,
    chain,
    change_label,
    current,
    describe,
    kind_rules,
    once_per_message,
    root_of,
    split_report_id,
)
from handlers._rooms import ANY_ROOM, WATCHER, RoomNow, check_late_change, room_by_id
from handlers._typo import typo_guard
from handlers.confirm import confirm_card_text, handover_card_text, send_cards
from handlers.papers import announce_change
from handlers.violation_records import confirmations, rulings

CORRECT_USAGE = "/更正 编号 更正后的内容，例：/更正 12 2026000003（格式同原命令，不写考场）"
REVOKE_USAGE = "/撤销 编号 [原因]，例：/撤销 12 报错考场"
HISTORY_USAGE = "/历史 编号，例：/历史 12"

table = CommandTable()


def _split(args: str, usage: str) -> tuple[int, str]:
    return split_report_id(args, usage, "请先写报告编号（回复里的“编号”）。")


async def _may_change(ctx: Context, rows: list[Report], where: RoomNow | None) -> bool:
    """The reporter, anyone on duty in the room, or the office may correct or revoke (and a supervisor in /补录)."""
    if ctx.staff is None:
        return False
    if any(r.staff_id == ctx.staff.id for r in rows) or ANY_ROOM(ctx) or ctx.backfill is not None:
        return True
    return where is not None and where.duty is not None


def _became_serious(old: Report, row: Report) -> bool:
    """A violation corrected into a serious one (替考, 终止考试…): it needs the second person's card."""
    if old.kind != "violation" or row.kind != "violation":
        return False
    return ViolationPayload.from_payload(row.payload).serious and not ViolationPayload.from_payload(old.payload).serious


def _changes_papers(report: Report) -> bool:
    """A 缺考 report or a handout: changing it changes how the room's collection checks."""
    if report.kind == "papers":
        return PapersPayload.from_payload(report.payload).is_handout
    return report.kind == "absent"


async def _recheck(ctx: Context, where: RoomNow | None, old: Report, before: Reconciliation | None, row: Report) -> str:
    if where is None or not _changes_papers(old):
        return ""
    async with ctx.services.db.read() as s:
        after = await reconcile(s, where.room)
    return await announce_change(ctx, where, before, after, "缺考" if old.kind == "absent" else "领取份数", row)


@table.command("更正", "correct", summary="更正一条报告（原记录保留）", usage=CORRECT_USAGE, permission=WATCHER)
@typo_guard
@once_per_message
async def correct(ctx: Context, args: str) -> Reply | str | None:
    """/更正 12 新内容: a new row superseding report 12."""
    if not args.strip():
        return await with_recent(ctx, await _dialog.start(ctx, "更正"))
    rid, text = _split(args, CORRECT_USAGE)
    async with ctx.services.db.session() as s:
        done = await already_done(s, ctx)
        await visible_chain(ctx, s, rid, CORRECT_USAGE)
        old = await current(s, rid, CORRECT_USAGE) if done is None else await s.get(Report, done.supersedes_id or rid)
        assert old is not None and old.id is not None
        rules = kind_rules(ctx, old.kind)
        if rules is None:
            what = KIND_LABELS.get(old.kind, old.kind)
            raise UserFacingError(f"编号 {rid} 是{what}，不能更正，可以撤销后重报。", usage=REVOKE_USAGE)
        where = await room_by_id(ctx, s, old.room_id)
        rows = await chain(s, old.id)
        if where is None or not await _may_change(ctx, rows, where):
            place = where.label if where else "该考场"
            raise UserFacingError(f"只有报告人、{place}的监考人员或考务办公室可以更正编号 {rid}。", usage=CORRECT_USAGE)
        if done is None:  # a redelivery answers as the first delivery did
            await check_late_change(ctx, s, where, CORRECT_USAGE)
        await check_change(ctx, s, rows[: rows.index(old) + 1], rid, "更正", CORRECT_USAGE)
        if not text:
            raise UserFacingError("请写更正后的内容。", usage=rules.usage)
        row = done
        before = await reconcile(s, where.room) if done is None and _changes_papers(old) else None
        if row is None:
            payload = await rules.rebuild(ctx, s, old, where, text)
            row = await append(ctx, s, old.kind, where, payload, supersedes=old, reason="更正")
        names = await _show.room_names(s, where.room_id)
        if _became_serious(old, row) and not await confirmations(s, root_of(row)):
            # the second person confirms it like a new serious one (keyed: a redelivery sends no second card)
            who = ctx.staff.name if ctx.staff else "?"
            text = confirm_card_text(where, who, row.id or 0, describe(ctx, row, names))
            await send_cards(ctx, s, where, row, CONFIRM_STEP, text, subject=root_of(row))
        if is_handout(row):  # a corrected 领取 count is checked again, like a new one
            count = PapersPayload.from_payload(row.payload).count
            text = handover_card_text(where, ctx.staff.name if ctx.staff else "?", row.id or 0, count)
            await send_cards(ctx, s, where, row, HANDOVER_STEP, text)
    label = KIND_LABELS.get(old.kind, old.kind)
    reply = f"已更正{where.label}{label}：编号 {rid} → 新编号 {row.id}：{describe(ctx, row, names)}。原记录保留。"
    if rules.after_correct is not None:
        reply += await rules.after_correct(ctx, row, where)
    return Reply(reply + await _recheck(ctx, where, old, before, row))


@table.command("撤销", "revoke", summary="撤销一条报告（原记录保留）", usage=REVOKE_USAGE, permission=WATCHER)
@typo_guard
@once_per_message
async def revoke(ctx: Context, args: str) -> Reply | str | None:
    """/撤销 12 原因: a revocation row superseding report 12."""
    if not args.strip():
        return await with_recent(ctx, await _dialog.start(ctx, "撤销"))
    rid, reason = _split(args, REVOKE_USAGE)
    async with ctx.services.db.session() as s:
        done = await already_done(s, ctx)
        await visible_chain(ctx, s, rid, REVOKE_USAGE)
        old = await current(s, rid, REVOKE_USAGE) if done is None else await s.get(Report, done.supersedes_id or rid)
        assert old is not None and old.id is not None
        where = await room_by_id(ctx, s, old.room_id)
        rows = await chain(s, old.id)
        if not await _may_change(ctx, rows, where):
            raise UserFacingError(f"只有报告人、该考场的监考人员或考务办公室可以撤销编号 {rid}。", usage=REVOKE_USAGE)
        if done is None:  # a redelivery answers as the first delivery did
            await check_late_change(ctx, s, where, REVOKE_USAGE)
        rows = rows[: rows.index(old) + 1]
        await check_change(ctx, s, rows, rid, "撤销", REVOKE_USAGE)
        before = await reconcile(s, where.room) if where is not None and done is None and _changes_papers(old) else None
        named = await s.get(Report, rid)
        # Absentee reports add up: revoking one undoes its own change to the list, not the whole list.
        undone = (
            absent.undo(where, AbsentPayload.from_payload(old.payload), named, free_text(reason))
            if (old.kind == "absent" and where is not None and named is not None and done is None)
            else None
        )
        if undone is not None:
            row = await append(ctx, s, "absent", where, undone, supersedes=old, reason=free_text(reason) or "撤销")
        else:
            why = free_text(reason) or "撤销"
            payload = dict(old.payload)
            row = done or await append(ctx, s, old.kind, where, payload, supersedes=old, revoked=True, reason=why)
    if old.kind == "absent" and not row.revoked and where is not None:
        text = f"已撤销编号 {rid} 对缺考名单的改动（新编号 {row.id}）。原记录保留，可用 /历史 {rid} 查看。"
        async with ctx.services.db.read() as s:
            names = await _show.room_names(s, where.room_id)
        now_listed = absent.status(ctx, where, AbsentPayload.from_payload(row.payload), names)
        return Reply(f"{text}\n{now_listed}" + await _recheck(ctx, where, old, before, row))
    label = KIND_LABELS.get(old.kind, old.kind)
    place = where.label if where else ""
    why = f"，原因：{free_text(reason)}" if reason else ""
    text = f"已撤销{place}{label}编号 {rid}（撤销记录编号 {row.id}{why}）。原记录保留，可用 /历史 {rid} 查看。"
    if alerts_on_revoke(rows):
        text += await alert_revocation(ctx, where, old, row)
    return Reply(text + await _recheck(ctx, where, old, before, row))


@table.command("历史", "history", summary="查看一条报告的更正历史", usage=HISTORY_USAGE, permission=WATCHER)
@typo_guard
async def history(ctx: Context, args: str) -> Reply | str | None:
    """/历史 12: every row of the report's chain with who and when."""
    if not args.strip():
        return await with_recent(ctx, await _dialog.start(ctx, "历史"))
    rid, _ = _split(args, HISTORY_USAGE)
    async with ctx.services.db.session() as s:
        rows = await visible_chain(ctx, s, rid, HISTORY_USAGE)
        where = await room_by_id(ctx, s, rows[0].room_id)
        people = {st.id: st.name for st in [await s.get(Staff, r.staff_id) for r in rows if r.staff_id] if st}
        names = await _show.room_names(s, where.room_id if where else None)
        checks = await handover_checks(s, [r for r in rows if is_handout(r)])
        after = await _violation_followups(ctx, s, rows) if rows[0].kind == "violation" else []
    label = KIND_LABELS.get(rows[0].kind, rows[0].kind)
    lines = [f"{where.label if where else ''}{label} 编号 {rid} 的历史："]
    for i, r in enumerate(rows):
        who = people.get(r.staff_id, "?") if r.staff_id else "?"
        when = f"{r.created_at.astimezone(ctx.services.settings.tz):%m-%d %H:%M}"
        if r.revoked:
            what = f"撤销（{r.reason}）" if r.reason and r.reason != "撤销" else "撤销"
        else:
            what = ("新报" if i == 0 else change_label(r)) + "：" + describe(ctx, r, names)
        if is_handout(r):  # the other invigilator's check of this count
            what += f"（{handover_words(checks.get(r.id), ctx.services.settings.tz)}）"
        lines.append(f"· 编号 {r.id} {when} {who} {what}")
    lines.extend(after)
    last = rows[-1]
    lines.append(f"当前有效：编号 {last.id}" if not last.revoked else "当前状态：已撤销")
    return Reply("\n".join(lines))


async def _violation_followups(ctx: Context, s: AsyncSession, rows: list[Report]) -> list[str]:
    """The second person's 确认 or 有异议 and the office's 认定 of a violation chain, in time order."""
    root = rows[0].id
    assert root is not None
    tz = ctx.services.settings.tz
    found: list[tuple[datetime, str]] = []  # a dispute before what follows it at the same minute (stable sort)
    for by, at in (await violation_disputes(s, [root])).values():
        found.append((at, f"· {at.astimezone(tz):%m-%d %H:%M} {by} 有异议（未确认）"))
    ruled = (await rulings(s, [rows[0].room_id] if rows[0].room_id else [])).get(root)
    for r, what in [*((c, "确认") for c in await confirmations(s, root)), *([(ruled, "认定")] if ruled else [])]:
        who = (await s.get(Staff, r.staff_id)).name if r.staff_id else "?"  # type: ignore[union-attr]
        if what == "认定":
            what += "：" + RefPayload.from_payload(r.payload).action
        found.append((r.created_at, f"· 编号 {r.id} {r.created_at.astimezone(tz):%m-%d %H:%M} {who} {what}"))
    return [line for _at, line in sorted(found, key=lambda f: f[0])]


def _id_check(t: str) -> str | None:
    return t if report_id(t.split()[0] if t.split() else "") else None


table.dialog(
    _dialog.DialogSpec(
        "更正",
        (_dialog.Step("要更正的报告编号？", check=_id_check), _dialog.Step("更正后的内容？（格式同原命令，不写考场）")),
        correct,
    )
)
table.dialog(
    _dialog.DialogSpec(
        "撤销",
        (_dialog.Step("要撤销的报告编号？", check=_id_check), _dialog.Step("撤销原因？", optional=True)),
        revoke,
    )
)
table.dialog(_dialog.DialogSpec("历史", (_dialog.Step("要查看的报告编号？", check=_id_check),), history))

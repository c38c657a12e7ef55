"""Append-only reports: new rows, corrections and revocations (new rows superseding old ones), audit log, alerts.

Nothing here updates or deletes a report. A report's 编号 is its id; a correction gets a new 编号 and
keeps the first row's id in ``payload["root"]`` so confirmations and determinations stay attached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.targets import target_key, target_to_json
from bot.directory import person_targets
from bot.dispatch import Context
from bot.errors import UserFacingError
from bot.model import OutgoingMessage, Reply
from bot.store.reports import in_force_alike
from bot.store.tables import AuditLog, ExamSession, Report, Role
from handlers._parse import leading_report_id
from handlers._rooms import RoomNow, is_late
from handlers._show import free_text

# A second identical record this soon is probably the first typed again (shown, not refused).
SAME_WITHIN = timedelta(minutes=10)


async def same_shortly_before(s: AsyncSession, row: Report, fields: tuple[str, ...]) -> int | None:
    """The 编号 of the latest other report in force in ``row``'s room, of its kind, within SAME_WITHIN before it,
    whose payload has the same ``fields`` (a violation typed twice, an incident reported by both invigilators)."""
    earlier = await in_force_alike(s, row, row.created_at - SAME_WITHIN, fields)
    return earlier[0] if earlier else None


KIND_LABELS: dict[str, str] = {
    "absent": "缺考",
    "violation": "违纪",
    "papers": "试卷",
    "incident": "突发事件",
    "finding": "督导意见",
    "confirm": "确认",
    "determination": "认定",
    "note": "办公室备注",
    "defense": "答辩成绩",  # handlers/checks.py /答辩
}


def actor(ctx: Context) -> str:
    """The audit log's name for the sender."""
    return f"staff:{ctx.staff.id}" if ctx.staff is not None else f"{ctx.message.channel}:{ctx.message.sender_id}"


def root_of(report: Report) -> int:
    """The id of the first row of a report's chain."""
    root = report.payload.get("root")
    assert report.id is not None
    return int(root) if root else report.id


# Built once (every report asks it, and almost always hears "no"): is there a row of this message?
_R = Report.__table__  # type: ignore[attr-defined]
_RECORDED = (
    sa_select(_R.c.id)
    .where(_R.c.channel == bindparam("channel"), _R.c.message_id == bindparam("mid"))
    .order_by(_R.c.id)
    .limit(1)
)


_AUDIT_INSERT = sa_insert(AuditLog.__table__)  # type: ignore[attr-defined]
_REPORT_INSERT = sa_insert(Report.__table__).returning(Report.__table__.c.id)  # type: ignore[attr-defined]


async def already_done(s: AsyncSession, ctx: Context) -> Report | None:
    """The report this very platform message already recorded (a redelivered message records once)."""
    msg = ctx.message
    if not msg.message_id:
        return None
    conn = await s.connection()
    found = (await conn.execute(_RECORDED, {"channel": msg.channel, "mid": msg.message_id})).scalar()
    return None if found is None else await s.get(Report, found)


# The unique report indexes a second delivery of the same message (or a second correction of the same
# row) runs into when it raced past the check in ``already_done`` / ``current``.
_RACE_MARKS = ("ux_report_channel_message", "report.channel, report.message_id", "supersedes_id")

Handler = Callable[[Context, str], Awaitable[Reply | str | None]]


def lost_race(exc: IntegrityError) -> bool:
    """True when ``exc`` is a report uniqueness violation: the same message or change was recorded meanwhile."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return any(mark in text for mark in _RACE_MARKS)


def once_per_message(func: Handler) -> Handler:
    """Run a recording handler; when it loses a race with another delivery of the same message, answer like a
    redelivery.

    Losing shows as the unique index refusing the insert, or as a refusal caused by the row the other
    delivery just committed. The failed transaction is rolled back and nothing was sent (alerts go out
    after the commit), so running the handler again finds the other delivery's row and replies with it.
    """

    @wraps(func)
    async def wrapper(ctx: Context, args: str) -> Reply | str | None:
        try:
            return await func(ctx, args)
        except IntegrityError as exc:
            if not lost_race(exc):
                raise
        except UserFacingError:
            # A refusal caused by the other delivery's row (“已由…确认过”, “已被编号…更正”) is a lost race too.
            async with ctx.services.db.read() as s:
                if await already_done(s, ctx) is None:
                    raise
        return await func(ctx, args)

    return wrapper


BACKFILL_KEY = "backfill"
# What happened in the room: written after the session's reports closed, it is a late entry (补录). The office's
# rulings and notes (认定, 备注) and confirmations come afterwards by nature and are not marked.
LATE_KINDS = frozenset({"absent", "violation", "papers", "incident", "finding"})


def backfill_note(ctx: Context, report: Report) -> str:
    """“补录（张主任 12-05 16:20）” for a row entered late, else ""."""
    mark = report.payload.get(BACKFILL_KEY)
    if not isinstance(mark, dict):
        return ""
    try:
        at = datetime.fromisoformat(str(mark.get("at")))
    except ValueError:
        return f"补录（{mark.get('by', '')}）"
    return f"补录（{mark.get('by', '')} {at.astimezone(ctx.services.settings.tz):%m-%d %H:%M}）"


async def append(
    ctx: Context,
    s: AsyncSession,
    kind: str,
    where: RoomNow | None,
    payload: dict[str, Any],
    *,
    supersedes: Report | None = None,
    revoked: bool = False,
    reason: str | None = None,
) -> Report:
    """Insert one report row and its audit log row.

    A late entry (inside /补录, or after the session's reports closed) is marked: ``payload["backfill"]``
    and the audit row say who entered it and when, and the alerts of this message say 补录.
    """
    payload = {k: v for k, v in payload.items() if k != BACKFILL_KEY}  # a revocation copies the old payload
    if supersedes is not None:
        payload = {**payload, "root": root_of(supersedes)}
    sess = where.session if where else None
    if sess is None and supersedes is not None and supersedes.session_id is not None:
        sess = await s.get(ExamSession, supersedes.session_id)
    if (ctx.backfill is not None or kind in LATE_KINDS) and await is_late(ctx, s, sess):
        mark = {"by": ctx.staff.name if ctx.staff else actor(ctx), "staff_id": ctx.staff.id if ctx.staff else None}
        payload = {**payload, BACKFILL_KEY: {**mark, "at": ctx.now.isoformat()}}
    values: dict[str, Any] = {
        "kind": kind,
        "room_id": where.room_id if where else (supersedes.room_id if supersedes else None),
        "session_id": where.session_id if where else (supersedes.session_id if supersedes else None),
        "staff_id": ctx.staff.id if ctx.staff else None,
        "payload": payload,
        "supersedes_id": supersedes.id if supersedes else None,
        "revoked": revoked,
        "reason": reason[:255] if reason else None,
        "channel": ctx.message.channel,
        "message_id": ctx.message.message_id or None,
        "created_at": ctx.now,
    }
    conn = await s.connection()
    # A plain insert, then the row joins the session as loaded: the ORM's flush of one new row cost more than the
    # rest of a report (every report takes this path).
    row = Report(id=(await conn.execute(_REPORT_INSERT, values)).scalar_one(), **values)
    make_transient_to_detached(row)
    s.add(row)
    action = "revoke" if revoked else ("correct" if supersedes is not None else "create")
    detail: dict[str, Any] = {"kind": kind, "payload": payload}
    if supersedes is not None:
        detail["supersedes"] = supersedes.id
    if reason:
        detail["reason"] = reason
    if BACKFILL_KEY in payload:
        detail[BACKFILL_KEY] = payload[BACKFILL_KEY]
        ctx.state[BACKFILL_KEY] = backfill_note(ctx, row)
    audit = {"at": ctx.now, "actor": actor(ctx), "action": action, "entity": "report", "entity_id": str(row.id)}
    await conn.execute(_AUDIT_INSERT, {**audit, "detail": detail})
    return row


def split_report_id(args: str, usage: str, missing: str) -> tuple[int, str]:
    """The report number the arguments start with (12, #12, 编号 12, 十二) and the rest; ``missing`` when none."""
    rid, typed, rest = leading_report_id(args)
    if rid is None and typed is not None and typed.isdigit() and int(typed) > 0:
        raise UserFacingError(f"没有编号为 {typed} 的报告，请核对编号。", usage=usage)
    if rid is None:
        raise UserFacingError(missing, usage=usage)
    return rid, rest


async def successor(s: AsyncSession, report_id: int) -> Report | None:
    """The row that supersedes ``report_id``, if any."""
    return (await s.exec(select(Report).where(col(Report.supersedes_id) == report_id))).first()


async def current(s: AsyncSession, report_id: int, usage: str) -> Report:
    """The report with this 编号 if it still counts; otherwise a refusal naming what replaced it."""
    row = await s.get(Report, report_id)
    if row is None:
        raise UserFacingError(f"没有编号为 {report_id} 的报告，请核对编号。", usage=usage)
    if row.revoked:
        raise UserFacingError(f"编号 {report_id} 是一条撤销记录，不能再修改。", usage=usage)
    nxt = await successor(s, report_id)
    if nxt is not None:
        what = "撤销" if nxt.revoked else change_label(nxt)
        raise UserFacingError(f"编号 {report_id} 已被编号 {nxt.id} {what}，请对最新的编号操作。", usage=usage)
    return row


# What a later row of a chain did, when it is not a correction: absentee reports add up (追加 / 删除, the
# payload's ``op``), and a second papers collection is a recount (复点).
_CHANGE_LABELS = {("absent", "add"): "追加", ("absent", "remove"): "删除", ("absent", "none"): "删除"}


def change_label(row: Report) -> str:
    """How a row superseding another is named in /历史 and refusals: 追加, 删除, 复点, otherwise 更正."""
    if row.kind == "papers" and row.payload.get("recount_of"):
        return "复点"
    return _CHANGE_LABELS.get((row.kind, str(row.payload.get("op") or "")), "更正")


async def chain(s: AsyncSession, report_id: int) -> list[Report]:
    """Every row of the report's history, oldest first."""
    row = await s.get(Report, report_id)
    if row is None:
        return []
    back: list[Report] = [row]
    while back[0].supersedes_id is not None:
        prev = await s.get(Report, back[0].supersedes_id)
        if prev is None:
            break
        back.insert(0, prev)
    while True:
        last = back[-1]
        assert last.id is not None
        nxt = await successor(s, last.id)
        if nxt is None:
            break
        back.append(nxt)
    return back


ALERTED_ROLES = (Role.OFFICE, Role.SUPERVISOR, Role.ADMIN)


async def alert_targets(ctx: Context, s: AsyncSession, channel: str, exclude: int | None) -> list[Any]:
    """Private addresses of the office and the supervisors on ``channel``."""
    targets = []
    for st in await ctx.dispatcher.role_cache.holders(s, ALERTED_ROLES):
        if st.id != exclude:
            targets.extend(person_targets(st, channels=(channel,)))
    return targets


async def alert(ctx: Context, text: str, *, key: str, s: AsyncSession | None = None) -> int:
    """Tell the office and the supervisors (private chats); returns how many people are told.

    ``key`` names what the alert is about (e.g. ``report:12``): its rows are keyed by it and by the person,
    written in the transaction ``s`` (the report's own, so report and alerts commit together) or in one of
    their own, and sent after the handler returns. A redelivered message or a retry after a crash writes
    only the rows that are missing and sends nothing twice, so the count is what the outbox holds.
    """
    if s is None:
        async with ctx.services.db.session() as own:
            return await _queue_alert(ctx, own, text, key)
    return await _queue_alert(ctx, s, text, key)


async def _queue_alert(ctx: Context, s: AsyncSession, text: str, key: str) -> int:
    targets = await alert_targets(ctx, s, ctx.message.channel, ctx.staff.id if ctx.staff else None)
    if ctx.state.get(BACKFILL_KEY):  # the report behind this alert was entered late
        text = f"【{ctx.state[BACKFILL_KEY]}】{text}"
    messages = [OutgoingMessage(t, text, key=f"alert:{key}:{target_key(target_to_json(t))}") for t in targets]
    if messages:
        await ctx.enqueue(s, messages)
    return len(messages)


NOBODY_TO_ALERT = "未找到可通知的办公室或督导人员，请直接电话联系考务办公室"


def alerted(count: int) -> str:
    """How a reply says who was told: “已通知考务办公室和督导（3 人）”, or to phone the office when nobody was found."""
    return f"已通知考务办公室和督导（{count} 人）" if count else NOBODY_TO_ALERT


Rebuild = Callable[[Context, AsyncSession, Report, RoomNow, str], Awaitable[dict[str, Any]]]
Describe = Callable[[Context, Report, dict[str, str]], str]


@dataclass(frozen=True)
class KindRules:
    """Per report kind: how ``/更正`` rebuilds its payload from new text, and how a row is described."""

    usage: str
    rebuild: Rebuild
    describe: Describe
    # What follows a correction (its alerts, keyed by the correction: a redelivery sends nothing twice).
    after_correct: Callable[[Context, Report, RoomNow], Awaitable[str]] | None = None


def kind_rules(ctx: Context, kind: str) -> KindRules | None:
    """The rules of report kind ``kind`` among those the dispatcher's tables registered (``table.report_kind``)."""
    rules = ctx.dispatcher.report_kinds.get(kind)
    return rules if isinstance(rules, KindRules) else None


def describe(ctx: Context, report: Report, names: dict[str, str] | None = None) -> str:
    """What a report says, in one line (candidate data shown as the chat may see it), and 补录（…） if it was."""
    note = backfill_note(ctx, report)
    text = _describe(ctx, report, names)
    return f"{text}；{note}" if note else text


def _describe(ctx: Context, report: Report, names: dict[str, str] | None) -> str:
    rules = kind_rules(ctx, report.kind)
    p = report.payload
    if report.kind == "confirm":
        return f"确认违纪编号 {p.get('report')}"
    if report.kind == "determination":
        note = f"（{free_text(ctx, report, str(p['note']))}）" if p.get("note") else ""
        return f"认定违纪编号 {p.get('report')}：{p.get('action')}" + note
    if report.kind == "note":
        return f"备注试卷编号 {p.get('report')}：{free_text(ctx, report, str(p.get('text')))}"
    if rules is None:
        return KIND_LABELS.get(report.kind, report.kind)
    return rules.describe(ctx, report, names or {})

"""Queries for supervisors, the office and admins: violations, absentees, papers and rooms of a day; export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import CommandTable, Context
from bot.errors import UserFacingError
from bot.exports import safe_row
from bot.model import Reply
from bot.permissions import SUPERVISOR_OR_OFFICE
from bot.store.papers import absent_by_room, handover_checks, handover_words, papers_payload, papers_state
from bot.store.reports import AbsentPayload, RefPayload, ViolationPayload, reports_in_force, violation_disputes
from bot.store.rooms import room_label, sessions_of_day
from bot.store.tables import ExamSession, Report, Room, Staff
from handlers import _show
from handlers._parse import clean, parse_day, room_number, split_args
from handlers._reports import KIND_LABELS, change_label, describe, root_of
from handlers._rooms import local_today
from handlers._typo import typo_guard
from handlers.violation import confirmed_roots, rulings
from scheduler.due import Expected, is_open, missing_state, missing_words, papers_missing_words

VIOLATIONS_USAGE = "/违纪记录 [today|yesterday|YYYY-MM-DD] [考场]，例：/违纪记录 今天 3"
ABSENT_USAGE = "/缺考统计 [日期] [考场]，例：/缺考统计 今天、/缺考统计 3"
PAPERS_USAGE = "/试卷状态 [日期] [考场]，例：/试卷状态 昨天"
ROOMS_USAGE = "/考场状态 [日期] [考场]，例：/考场状态 2026-12-05、/考场状态 3"
EXPORT_USAGE = "/导出 [日期] 或 /导出 明细 [日期]（考务办公室私聊），例：/导出 今天"

table = CommandTable()


@dataclass
class Query:
    """The day and (optionally) the room a query asks about."""

    day: date
    room: int | None


def parse(ctx: Context, args: str, usage: str, *, room_allowed: bool = True) -> Query:
    """Day words (today, 昨天, 2026-12-05, 12月5日) and a room (3, 3号, 第3考场) in any order."""
    today = local_today(ctx)
    day: date | None = None
    room: int | None = None
    for word in clean(args.replace("-", "－")).replace("－", "-").split():
        d = parse_day(word, today)
        if d is not None and day is None:
            day = d
            continue
        r = split_args(word).room if room_allowed else None
        if r is not None and room is None and not split_args(word).rest:
            room = r
            continue
        tail = "或考场号。" if room_allowed else "。"
        raise UserFacingError(f"没有看懂“{word}”，请写日期（今天、昨天或 2026-12-05）{tail}", usage=usage)
    return Query(day or today, room)


async def _day_rooms(s: AsyncSession, q: Query) -> list[tuple[Room, ExamSession]]:
    rows = await sessions_of_day(s, q.day)
    if q.room is not None:
        rows = [(r, sess) for r, sess in rows if room_number(r.room_no) == q.room]
    return rows


def _head(ctx: Context, q: Query) -> str:
    return f"{q.day:%m月%d日}" + (f" 第{q.room}考场" if q.room is not None else "")


@table.command(
    "违纪记录",
    "violations",
    summary="查看某天的违纪记录（按时间）",
    usage=VIOLATIONS_USAGE,
    permission=SUPERVISOR_OR_OFFICE,
    unslashed=True,
)
@typo_guard
async def violations(ctx: Context, args: str) -> Reply:
    """/violations [today|yesterday|YYYY-MM-DD] [room]: that day's active violations in time order."""
    q = parse(ctx, args, VIOLATIONS_USAGE)
    async with ctx.services.db.session() as s:
        rooms = await _day_rooms(s, q)
        by_id = {r.id: r for r, _ in rooms if r.id is not None}
        ids = list(by_id)
        rows = await reports_in_force(s, ["violation"], ids)
        ruled = await rulings(s, ids)
        confirmed = await confirmed_roots(s, ids)
        disputed = await violation_disputes(s, [root_of(r) for r in rows])
        names = await _show.names_of(s, ids)
    if not rows:
        return Reply(f"{_head(ctx, q)} 没有违纪记录。")
    lines = [f"{_head(ctx, q)} 违纪记录 {len(rows)} 条："]
    for r in rows:
        room = by_id.get(r.room_id or 0)
        nm = {t: n for (rid, t), n in names.items() if rid == r.room_id}
        line = f"{_show.hm(ctx, r.created_at)} {room_label(room) if room else ''} {describe(ctx, r, nm)}（编号 {r.id}）"
        root = root_of(r)
        if root in ruled:
            line += f"；认定：{RefPayload.from_payload(ruled[root].payload).action}"
        if ViolationPayload.from_payload(r.payload).serious:
            if root in confirmed:
                line += "；已双人确认"
            elif root in disputed:
                line += f"；{disputed[root][0]}有异议（未确认）"
            else:
                line += "；待第二人确认"
        lines.append(line)
    return Reply("\n".join(lines))


@table.command(
    "缺考统计",
    "absences",
    "缺考状态",  # as /试卷状态 and /考场状态 are named
    "缺考情况",
    summary="查看某天各考场的缺考情况",
    usage=ABSENT_USAGE,
    permission=SUPERVISOR_OR_OFFICE,
    unslashed=True,
)
@typo_guard
async def absences(ctx: Context, args: str) -> Reply:
    """/缺考统计 [日期] [考场]: 应考 / 实考 / 缺考 per room, and the totals."""
    q = parse(ctx, args, ABSENT_USAGE)
    async with ctx.services.db.session() as s:
        rooms = await _day_rooms(s, q)
        ids = [r.id for r, _ in rooms if r.id is not None]
        absent = await absent_by_room(s, ids)
        names = await _show.names_of(s, ids)
    if not rooms:
        return Reply(f"{_head(ctx, q)} 没有考试安排。")
    lines = [f"{_head(ctx, q)} 缺考统计："]
    total_e = total_a = 0
    missing = 0
    for room, sess in rooms:
        rep = absent.get(room.id or 0)
        total_e += room.expected
        if rep is None:
            missing += is_open(missing_state(sess, Expected.ABSENT, ctx.now, ctx.services.timeline))
            words = missing_words(sess, Expected.ABSENT, ctx.now, ctx.services.settings.tz, ctx.services.timeline)
            lines.append(f"· {sess.code} {room_label(room)}：应考 {room.expected}，{words}")
            continue
        nm = {t: n for (rid, t), n in names.items() if rid == room.id}
        total_a += AbsentPayload.from_payload(rep.payload).count
        lines.append(f"· {sess.code} {room_label(room)}：{describe(ctx, rep, nm)}（编号 {rep.id}）")
    lines.append(f"合计：应考 {total_e}，缺考 {total_a}" + (f"，{missing} 个考场到时未报" if missing else ""))
    return Reply("\n".join(lines))


@table.command(
    "试卷状态",
    "paperstatus",
    summary="查看某天各考场试卷领取回收核对（未核对的在前）",
    usage=PAPERS_USAGE,
    permission=SUPERVISOR_OR_OFFICE,
    unslashed=True,
)
@typo_guard
async def paper_status(ctx: Context, args: str) -> Reply:
    """/试卷状态 [日期]: per room, papers out and in; rooms not reconciled first."""
    q = parse(ctx, args, PAPERS_USAGE)
    async with ctx.services.db.session() as s:
        rooms = await _day_rooms(s, q)
        ids = [r.id for r, _ in rooms if r.id is not None]
        papers = await papers_state(s, ids)
        checks = await handover_checks(s, papers.handout.values())
    if not rooms:
        return Reply(f"{_head(ctx, q)} 没有考试安排。")
    tz = ctx.services.settings.tz
    items = []
    for room, sess in rooms:
        c, hr = papers.collect.get(room.id or 0), papers.handout.get(room.id or 0)
        h, collected = papers_payload(hr), papers_payload(c)
        rank, words = papers.status(room)
        check = checks.get(hr.id or 0) if hr else None
        out = f"{h.count}（{handover_words(check, tz)}）" if h else "-"
        if check is not None and check[0] == "dispute":
            rank = 0
        back = collected.count if collected else "-"
        ref = f"（编号 {c.id}）" if c else ""
        items.append((rank, f"· {sess.code} {room_label(room)}：领取 {out}，回收 {back}，{words}{ref}"))
    items.sort(key=lambda x: x[0])
    bad = sum(1 for rank, _ in items if rank == 0)
    head = f"{_head(ctx, q)} 试卷状态" + (f"（{bad} 个考场核对不符）：" if bad else "：")
    return Reply("\n".join([head] + [line for _, line in items]))


@table.command(
    "考场状态",
    "roomstatus",
    summary="查看某天各考场概况",
    usage=ROOMS_USAGE,
    permission=SUPERVISOR_OR_OFFICE,
    unslashed=True,
)
@typo_guard
async def room_status(ctx: Context, args: str) -> Reply:
    """/考场状态 [日期] [考场]: per room 应考, 实考, 缺考, papers out and in, violations, incidents."""
    q = parse(ctx, args, ROOMS_USAGE)
    async with ctx.services.db.session() as s:
        rooms = await _day_rooms(s, q)
        ids = [r.id for r, _ in rooms if r.id is not None]
        papers = await papers_state(s, ids)
        checks = await handover_checks(s, papers.handout.values())
        absent = papers.absent
        counts: dict[tuple[int, str], int] = {}
        for r in await reports_in_force(s, ["violation", "incident"], ids):
            key = (r.room_id or 0, r.kind)
            counts[key] = counts.get(key, 0) + 1
    if not rooms:
        return Reply(f"{_head(ctx, q)} 没有考试安排。")
    tz = ctx.services.settings.tz
    lines = [f"{_head(ctx, q)} 考场状态："]
    for room, sess in rooms:
        rid = room.id or 0
        a = absent.get(rid)
        ap = AbsentPayload.from_payload(a.payload) if a else None
        timeline = ctx.services.timeline
        present = (
            f"实考 {ap.present}，缺考 {ap.count}" if ap else missing_words(sess, Expected.ABSENT, ctx.now, tz, timeline)
        )
        h, c = papers_payload(papers.handout.get(rid)), papers_payload(papers.collect.get(rid))
        _rank, words = papers.status(room)
        if c is None:
            words = papers_missing_words(sess, h is not None, ctx.now, tz, timeline)
        hr = papers.handout.get(rid)
        if hr is not None:
            words = f"{handover_words(checks.get(hr.id or 0), tz)}；{words}"
        lines.append(
            f"· {sess.starts_at.astimezone(tz):%H:%M} {sess.code} {room_label(room)}：应考 {room.expected}，{present}；"
            f"试卷 领 {h.count if h else '-'} 收 {c.count if c else '-'}（{words}）；"
            f"违纪 {counts.get((rid, 'violation'), 0)}，突发 {counts.get((rid, 'incident'), 0)}"
        )
    return Reply("\n".join(lines))


async def export_history(ctx: Context, args: str) -> Reply:
    """/导出 明细 [日期]: every report row of the day (history included) as CSV text, full data."""
    q = parse(ctx, args, EXPORT_USAGE, room_allowed=False)
    async with ctx.services.db.session() as s:
        rooms = await _day_rooms(s, q)
        by_id = {r.id: (r, sess) for r, sess in rooms if r.id is not None}
        rows = (
            (
                await s.exec(
                    select(Report)
                    .where(col(Report.room_id).in_(list(by_id)))
                    .order_by(col(Report.created_at), col(Report.id))
                )
            ).all()
            if by_id
            else []
        )
        # What became of each row: revoked by a later row, or replaced by a correction.
        # (An absentee list superseded by an addition or removal, or a count by a recount, says so.)
        superseded = {
            r.supersedes_id: "已撤销" if r.revoked else f"已被编号 {r.id} {change_label(r)}"
            for r in rows
            if r.supersedes_id
        }
        people = {st.id: st.name for st in (await s.exec(select(Staff))).all()}
        names = await _show.names_of(s, list(by_id))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(safe_row(["编号", "时间", "场次", "考场", "类别", "内容", "报告人", "更正自", "状态"]))
    for r in rows:
        room, sess = by_id[r.room_id or 0]
        nm = {t: n for (rid, t), n in names.items() if rid == r.room_id}
        state = "撤销记录" if r.revoked else (superseded.get(r.id or 0, "有效"))
        w.writerow(
            safe_row(
                [
                    r.id,
                    f"{r.created_at.astimezone(ctx.services.settings.tz):%Y-%m-%d %H:%M}",
                    sess.code,
                    room_label(room),
                    KIND_LABELS.get(r.kind, r.kind),
                    describe(ctx, r, nm),
                    people.get(r.staff_id, ""),
                    r.supersedes_id or "",
                    state,
                ]
            )
        )
    return Reply(f"{_head(ctx, q)} 报告导出（{len(rows)} 行）：\n" + buf.getvalue().strip())

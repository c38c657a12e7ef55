"""The office's daily digest after the day's last session, and certificate-expiry reminders.

Both are outbox rows like every other message. The digest row is planned with the day's sessions
(due 30 minutes after the last one ends) and its text is written when it is sent, from the reports
in the database at that moment; a session added later that day after the digest went out makes it
due again after the new last session. Certificate reminders (考评人员管理办法 第三条: 3-year validity) are
planned by the reminder service's sweep, 60 days before a certificate ends, to the person and the office.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery.rows import CANCELLED, EXPIRED, FAILED, PENDING, SENDING, SENT, T, insert_rows, new_row
from bot.store.reports import AbsentPayload, PapersPayload, office_staff, reports_in_force
from bot.store.tables import ExamSession, OutboxKind, ReminderAck, Report, Room, Staff
from scheduler.due import Expected, is_open, missing_state, missing_words
from scheduler.timeline import Timeline

DIGEST_AFTER = timedelta(minutes=30)
CERT_VALID_YEARS = 3
CERT_NOTICE_BEFORE = timedelta(days=60)
CERT_CLAUSE = "考评人员管理办法 第三条"
# The report kinds the digest counts per room.
DIGEST_KINDS = ("absent", "papers", "violation", "incident", "finding")


async def _office(conn: AsyncConnection) -> list[tuple[int, str]]:
    """(id, name) of the office staff: whom the digest and certificate rows go to."""
    return [(st.id, st.name) for st in await office_staff(conn) if st.id is not None]


async def plan_digests(conn: AsyncConnection, days: set[date], now: datetime) -> int:
    """Create or move the digest row of each office member for ``days``; returns rows created or moved."""
    et = ExamSession.__table__  # type: ignore[attr-defined]
    office = await _office(conn)
    changed = 0
    for day in sorted(days):
        q = select(et.c.ends_at).where(et.c.day == day, et.c.cancelled_at.is_(None)).order_by(et.c.ends_at.desc())
        last = (await conn.execute(q)).first()
        keys = {f"digest:{day.isoformat()}:{sid}": sid for sid, _n in office}
        existing = {
            k: (i, st, due)
            for i, k, st, due in (
                await conn.execute(
                    select(T.c.id, T.c.key, T.c.status, T.c.due_at).where(T.c.key.like(f"digest:{day}:%"))
                )
            ).all()
        }
        if last is None:  # no sessions left that day
            ids = [i for i, st, _d in existing.values() if st in (PENDING, SENDING)]
            if ids:
                await conn.execute(update(T).where(T.c.id.in_(ids)).values(status=CANCELLED))
            continue
        due = last[0] + DIGEST_AFTER
        fresh = []
        for key, staff_id in keys.items():
            if key in existing:
                row_id, st, old_due = existing[key]
                if st == PENDING and old_due != due:
                    await conn.execute(update(T).where(T.c.id == row_id).values(due_at=due, next_try_at=due))
                    changed += 1
                elif st == CANCELLED or (st in (SENT, EXPIRED, FAILED) and due > old_due):
                    # Sessions came back, or a later session was added after the digest went out: the office
                    # gets a fresh digest of the whole day after the new last session.
                    await conn.execute(update(T).where(T.c.id == row_id).values(**_revived(due)))
                    changed += 1
                continue
            fresh.append(
                new_row(
                    key=key,
                    kind=OutboxKind.NOTICE,
                    target={"type": "staff", "staff_id": staff_id},
                    text=f"{day:%m月%d日} 考务日报",
                    due_at=due,
                    now=now,
                    condition={"type": "digest", "day": day.isoformat()},
                )
            )
        await insert_rows(conn, fresh, skip_existing=True)
        changed += len(fresh)
    return changed


def _revived(due: datetime) -> dict[str, Any]:
    """Column values that make a finished digest row pending again for ``due``."""
    return {
        "status": PENDING,
        "due_at": due,
        "next_try_at": due,
        "attempts": 0,
        "lease_owner": None,
        "lease_until": None,
        "sent_at": None,  # send_batch and reserved_at stay: that send still counts in the rate window
        "platform_message_id": None,
        "last_error": None,
        "pieces_sent": 0,
        "failing_since": None,
    }


async def render_digest(
    conn: AsyncConnection, day: date, tz: ZoneInfo, *, now: datetime | None = None, timeline: Timeline | None = None
) -> str:
    """The digest text for ``day`` from what is in the database now; reports count as missing only once due.

    ``now`` is the digest's moment (its due time: after the day's last session, so normally everything is
    due); a report not due yet at ``now`` (a session moved later) is not listed as a to-do.
    """
    et, rt = ExamSession.__table__, Room.__table__  # type: ignore[attr-defined]
    ak = ReminderAck.__table__  # type: ignore[attr-defined]
    sessions = [
        dict(m)
        for m in (
            await conn.execute(select(et).where(et.c.day == day, et.c.cancelled_at.is_(None)).order_by(et.c.starts_at))
        ).mappings()
    ]
    sids = [s["id"] for s in sessions]
    rooms = [
        dict(m)
        for m in (
            await conn.execute(
                select(rt).where(rt.c.session_id.in_(sids), rt.c.cancelled_at.is_(None)).order_by(rt.c.room_no)
            )
        ).mappings()
    ]
    room_ids = [r["id"] for r in rooms]
    reports = await reports_in_force(conn, DIGEST_KINDS, room_ids)
    acks = {(r, s) for r, s in (await conn.execute(select(ak.c.room_id, ak.c.step).where(ak.c.room_id.in_(room_ids))))}
    asks = {
        (r, st)
        for r, st in (
            await conn.execute(
                select(T.c.room_id, T.c.step).where(T.c.room_id.in_(room_ids), T.c.kind == OutboxKind.ACK_OFFICE.value)
            )
        )
    }
    went_out = {
        (r, st)
        for r, st in (
            await conn.execute(
                select(T.c.room_id, T.c.step).where(
                    T.c.room_id.in_(room_ids), T.c.kind == OutboxKind.REMINDER.value, T.c.status == "sent"
                )
            )
        )
    }
    need_ack = asks & went_out  # critical steps whose reminder actually went out
    by_room: dict[int | None, list[Report]] = defaultdict(list)
    for r in reports:
        by_room[r.room_id].append(r)
    lines = [f"{day:%m月%d日} 考务日报（{len(sessions)} 个场次，{len(rooms)} 个考场）"]
    open_items = 0
    for sess in sessions:
        lines.append(f"【{sess['code']} {sess['starts_at'].astimezone(tz):%H:%M} {sess['occupation']}】")
        for room in (r for r in rooms if r["session_id"] == sess["id"]):
            reps = by_room.get(room["id"], [])
            absent = [r for r in reps if r.kind == "absent"]
            tickets = {t for r in absent for t in AbsentPayload.from_payload(r.payload).tickets}
            collect = [r for r in reps if r.kind == "papers" and PapersPayload.from_payload(r.payload).is_collect]
            violations = sum(1 for r in reps if r.kind == "violation")
            incidents = sum(1 for r in reps if r.kind == "incident")
            findings = sum(1 for r in reps if r.kind == "finding")
            todo = []
            session = ExamSession(**sess)
            at = now or sess["ends_at"] + DIGEST_AFTER
            absent_state = missing_state(session, Expected.ABSENT, at, timeline)
            collect_state = missing_state(session, Expected.COLLECT, at, timeline)
            if not absent and is_open(absent_state):
                todo.append(missing_words(session, Expected.ABSENT, at, tz, timeline))
            if sess["kind"] != "practical" and not collect and is_open(collect_state):
                todo.append("试卷" + missing_words(session, Expected.COLLECT, at, tz, timeline))
            unacked = sorted(s for (r, s) in need_ack if r == room["id"] and (r, s) not in acks)
            if unacked:
                todo.append(f"{len(unacked)} 项关键提醒未确认")
            open_items += len(todo)
            attend = f"应考 {room['expected']}，" + (
                f"缺考 {len(tickets)}" if absent else missing_words(session, Expected.ABSENT, at, tz, timeline)
            )
            lines.append(
                f"  {room['room_no']}：{attend}；试卷回收{'已报' if collect else '未报'}；违纪 {violations}；"
                f"突发事件 {incidents}"
                + (f"；督导意见 {findings}" if findings else "")
                + (f"；待办：{'、'.join(todo)}" if todo else "")
            )
    lines.append(f"待办事项共 {open_items} 项。" if open_items else "今日各考场报告齐全。")
    return "\n".join(lines)


def cert_expiry(issued: date) -> date:
    """The day a certificate issued on ``issued`` stops being valid (3 years; 29 February → 28 February)."""
    try:
        return issued.replace(year=issued.year + CERT_VALID_YEARS)
    except ValueError:
        return issued.replace(year=issued.year + CERT_VALID_YEARS, day=28)


async def plan_certificates(conn: AsyncConnection, now: datetime, tz: ZoneInfo) -> int:
    """Rows reminding each evaluator and the office 60 days before a certificate ends; returns rows created."""
    st = Staff.__table__  # type: ignore[attr-defined]
    people = (
        await conn.execute(
            select(st.c.id, st.c.name, st.c.cert_issued).where(st.c.active.is_(True), st.c.cert_issued.is_not(None))
        )
    ).all()
    office = await _office(conn)
    rows = []
    live_keys: set[str] = set()
    for staff_id, name, issued in people:
        ends = cert_expiry(issued)
        ends_at = datetime.combine(ends, time(0, 0), tz)
        if ends_at <= now:
            continue
        remind_at = datetime.combine(ends - CERT_NOTICE_BEFORE, time(9, 0), tz)
        due = max(remind_at, now)
        if due > now + timedelta(days=1) and remind_at > now + timedelta(days=1):
            continue  # planned by a later sweep, so a renewed certificate never leaves a stale row behind
        text_self = (
            f"{name}：您的考评人员证卡（{issued:%Y-%m-%d} 发证，有效期 3 年）将于 {ends:%Y年%m月%d日} 到期，"
            f"请在到期前参加换证培训。（依据：{CERT_CLAUSE}）"
        )
        text_office = (
            f"考评员 {name} 的考评人员证卡将于 {ends:%Y年%m月%d日} 到期（{issued:%Y-%m-%d} 发证），请安排换证培训。"
        )
        targets = [(f"cert:{staff_id}:{issued}:self", staff_id, text_self)]
        targets += [(f"cert:{staff_id}:{issued}:office:{oid}", oid, text_office) for oid, _n in office]
        for key, target_id, text in targets:
            live_keys.add(key)
            rows.append(
                new_row(
                    key=key,
                    kind=OutboxKind.NOTICE,
                    target={"type": "staff", "staff_id": target_id},
                    text=text,
                    due_at=due,
                    expires_at=ends_at,
                    now=now,
                )
            )
    await insert_rows(conn, rows, skip_existing=True)
    stale = [
        i
        for i, k in (await conn.execute(select(T.c.id, T.c.key).where(T.c.key.like("cert:%"), T.c.status == PENDING)))
        if k not in live_keys
    ]
    if stale:
        await conn.execute(update(T).where(T.c.id.in_(stale)).values(status=CANCELLED, last_error="证卡信息已变更"))
    return len(rows)

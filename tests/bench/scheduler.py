"""Benchmark of the reminder outbox: plan 10,000 sessions, restart, and fire a busy morning under time compression.

Run: ``.venv/bin/python tests/bench/scheduler.py [--db URL] [--sessions 10000] [--speed 60] [--busy 500]``
(not collected by pytest). Prints a Markdown table; the saved run is in ``tests/bench/SCHEDULER_RESULTS.md``.

- import-and-plan: insert sessions, rooms and assignments and call ``plan_sessions`` in the same transaction,
  1,000 sessions per transaction (as an importer does per file);
- restart load: a new sender and alarm clock on the full database: first sweep plus arming the timers;
- firing: the real :class:`~scheduler.service.ReminderService` with a FastClock ``speed`` times faster plays the
  morning of the busiest day (``busy`` sessions starting at 09:00) through a fake platform; lateness is
  ``sent_at - due_at`` in app time;
- memory: peak resident set size of the process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import func, insert, select

from bot.clock import FastClock
from bot.delivery.rows import T
from bot.delivery.sender import Outbox
from bot.model import OutgoingMessage
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.tables import Assignment, Duty, ExamSession, Role, Room, SessionKind, Staff
from scheduler.conditions import TimelineChecks
from scheduler.planner import plan_sessions
from scheduler.service import ReminderService

TZ = ZoneInfo("Asia/Shanghai")
KINDS = (SessionKind.THEORY, SessionKind.PRACTICAL, SessionKind.COMPUTER)


def rss_mb() -> float:
    """Peak resident set size so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]


async def seed_and_plan(db: Database, n: int, busy: int, first_day: date, now: datetime) -> tuple[float, int]:
    """Insert ``n`` sessions (``busy`` of them on the first day at 09:00) and plan them; returns seconds, rows."""
    async with db.session() as s:
        conn = await s.connection()
        st = Staff.__table__  # type: ignore[attr-defined]
        staff = [{"name": f"监考{i:05d}", "roles": Role.INVIGILATOR.value, "active": True} for i in range(2000)]
        staff += [{"name": f"考务{i}", "roles": Role.OFFICE.value, "active": True} for i in range(2)]
        await conn.execute(insert(st), staff)
        staff_ids = [r for (r,) in (await conn.execute(select(st.c.id).order_by(st.c.id))).all()][:2000]
    et, rt, at = ExamSession.__table__, Room.__table__, Assignment.__table__  # type: ignore[attr-defined]
    started = time.perf_counter()
    chunk = 1000
    for base in range(0, n, chunk):
        async with db.session() as s:
            conn = await s.connection()
            sessions = []
            for i in range(base, min(n, base + chunk)):
                if i < busy:
                    day, start = first_day, datetime.combine(first_day, datetime.min.time(), TZ).replace(hour=9)
                else:
                    day = first_day + timedelta(days=1 + (i - busy) // 400)
                    slot = (i - busy) % 400 // 100  # four waves a day
                    start = datetime.combine(day, datetime.min.time(), TZ).replace(hour=8 + 2 * slot)
                kind = KINDS[i % 3] if i >= busy else SessionKind.THEORY
                sessions.append(
                    {
                        "code": f"B{i:06d}",
                        "occupation": "电工",
                        "level": "四级",
                        "kind": kind.value,
                        "day": day,
                        "starts_at": start,
                        "ends_at": start + timedelta(minutes=90),
                    }
                )
            await conn.execute(insert(et), sessions)
            ids = [
                r
                for (r,) in (
                    await conn.execute(select(et.c.id).where(et.c.code.in_([x["code"] for x in sessions])))
                ).all()
            ]
            rooms = [
                {
                    "session_id": sid,
                    "room_no": "第1考场",
                    "location": "",
                    "expected": 30,
                    "group_chat": f"console:g{sid}",
                }
                for sid in ids
            ]
            await conn.execute(insert(rt), rooms)
            room_ids = (await conn.execute(select(rt.c.id, rt.c.session_id).where(rt.c.session_id.in_(ids)))).all()
            assigns = []
            for rid, sid in room_ids:
                a, b = staff_ids[(2 * sid) % 2000], staff_ids[(2 * sid + 1) % 2000]
                assigns += [
                    {"room_id": rid, "staff_id": a, "duty": Duty.CHIEF.value},
                    {"room_id": rid, "staff_id": b, "duty": Duty.DEPUTY.value},
                ]
            await conn.execute(insert(at), assigns)
            await plan_sessions(s, ids, now, tz=TZ)
    took = time.perf_counter() - started
    async with db.sessions() as s:
        conn = await s.connection()
        rows = (await conn.execute(select(func.count()).select_from(T))).scalar_one()
    return took, int(rows)


class FakePlatform:
    """Accepts everything at once and counts."""

    def __init__(self) -> None:
        self.count = 0

    async def deliver(self, message: OutgoingMessage) -> str | None:
        """Accept one message."""
        self.count += 1
        await asyncio.sleep(0)
        return str(self.count)


async def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="")
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--busy", type=int, default=500)
    ap.add_argument("--speed", type=float, default=60.0)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="exambot-bench-")
    url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
    first_day = date(2026, 12, 5)
    t0 = datetime.combine(first_day, datetime.min.time(), TZ).replace(hour=7)  # planning time: 07:00 on day 1
    db = Database(url)
    await upgrade(db)
    plan_s, rows = await seed_and_plan(db, args.sessions, args.busy, first_day, t0)
    async with db.sessions() as s:
        conn = await s.connection()
        by_kind = dict((await conn.execute(select(T.c.kind, func.count()).group_by(T.c.kind))).all())
    await db.dispose()
    rss_after_plan = rss_mb()

    # Restart: a fresh engine, sender and alarm clock on the full database, at 08:15 (the busy wave is ahead).
    db = Database(url)
    clock = FastClock(args.speed, origin=t0.replace(hour=8, minute=15).astimezone(UTC))
    fake = FakePlatform()
    outbox = Outbox(db, clock, fake.deliver, channels=("console",), checks=TimelineChecks(TZ))
    svc = ReminderService(outbox, clock, tz=TZ)
    started = time.perf_counter()
    await svc.start()
    await svc.sweep()
    restart_s = time.perf_counter() - started
    armed = len(svc._armed)

    # Fire 08:15 → 11:05 app time of the busy day (pre-start steps, start, +30, end, follow-ups).
    until = t0.replace(hour=11, minute=5)
    real_budget = (until - clock.now()).total_seconds() / args.speed
    fire_started = time.perf_counter()
    await asyncio.sleep(real_budget)
    await svc.stop()
    fire_real = time.perf_counter() - fire_started
    window_start = t0.replace(hour=8, minute=15)
    async with db.sessions() as s:
        conn = await s.connection()
        q = select(T.c.due_at, T.c.sent_at, T.c.status, T.c.kind).where(
            T.c.due_at >= window_start, T.c.due_at <= until - timedelta(minutes=2)
        )
        got = (await conn.execute(q)).all()
    await db.dispose()
    sent = [(d, x, k) for d, x, st, k in got if st == "sent"]
    late = [(x - d).total_seconds() for d, x, _k in sent]
    late_rem = [(x - d).total_seconds() for d, x, k in sent if k == "reminder"]
    left = [st for _d, _x, st, _k in got if st in ("pending", "sending")]

    reminders = int(by_kind.get("reminder", 0))
    lines = [
        "| measure | value |",
        "|---|---|",
        f"| database | {url.split(':', 1)[0]} ({'file in tmp' if not args.db else 'given'}) |",
        f"| sessions (1 room, 2 staff each) | {args.sessions:,} |",
        f"| outbox rows planned | {rows:,} (reminders {reminders:,}; nudges/escalations {rows - reminders:,}) |",
        f"| import-and-plan time | {plan_s:.1f} s ({args.sessions / plan_s:,.0f} sessions/s, "
        f"{rows / plan_s:,.0f} rows/s) |",
        f"| restart load (first sweep + arm timers) | {restart_s * 1000:.0f} ms, {armed} timers armed |",
        f"| firing window | 08:15-11:05 app time of a day with {args.busy} sessions at 09:00, speed ×{args.speed:g} "
        f"({fire_real:.0f} s real) |",
        f"| rows due in window / sent / left pending | {len(got):,} / {len(sent):,} / {len(left):,} |",
        f"| messages to the fake platform | {fake.count:,} (merging per target) |",
        *[
            f"| firing lateness p50 / p99 / max, {label} | {pct(xs, 50):.1f} s / {pct(xs, 99):.1f} s / "
            f"{max(xs) if xs else float('nan'):.1f} s app time = {pct(xs, 50) / args.speed * 1000:.0f} / "
            f"{pct(xs, 99) / args.speed * 1000:.0f} / {(max(xs) if xs else 0) / args.speed * 1000:.0f} ms real |"
            for label, xs in (("timeline reminders", late_rem), ("all rows (incl. rate-limited office notices)", late))
        ],
        f"| peak RSS after planning / at end | {rss_after_plan:.0f} MiB / {rss_mb():.0f} MiB |",
        f"| host | Python {platform.python_version()}, {os.cpu_count()} CPUs |",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())

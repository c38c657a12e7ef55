"""Benchmark: ``exambot export`` of a day of 200 rooms (goal: under 5 s), against openpyxl's write-only mode writing
the same number of plain rows in the same run.

Run: ``.venv/bin/python tests/bench/export.py [--rooms 200] [--db sqlite|postgresql://...] [--repeat 3]``

The day: 5 sessions (theory, computer, practical) of ``rooms / 5`` rooms each, 30 candidates and 2-3 staff per room,
every room with a 缺考 report (2 absentees), a papers handout and collection, every fifth room a serious violation
with its /确认 and /认定 and an incident. Printed: the time of reading the day, of writing the workbook, of the
whole ``day_workbook`` (best of ``--repeat``), the workbook's size and cell count, and the write-only baseline
writing that many cells as plain rows into as many sheets. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import platform
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from openpyxl import Workbook, load_workbook

from bot.records.export import day_workbook, read_records
from bot.records.workbook import build_workbook
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.tables import Assignment, Candidate, Duty, ExamSession, Report, Room, SessionKind, Staff

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 5)
KINDS = (SessionKind.THEORY, SessionKind.COMPUTER, SessionKind.PRACTICAL, SessionKind.THEORY, SessionKind.THEORY)


async def seed(db: Database, rooms: int) -> None:
    """The day described above, written directly as rows."""
    at = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    async with db.session() as s:
        staff = [Staff(name=f"监考{i:03d}", roles="invigilator") for i in range(rooms * 3)]
        office = Staff(name="办公室", roles="office")
        s.add_all([*staff, office])
        await s.flush()
        per = rooms // len(KINDS)
        ticket = 0
        n = 0
        for k, kind in enumerate(KINDS):
            starts = at + timedelta(hours=2 * k)
            sess = ExamSession(
                code=f"第{k + 1}场",
                occupation="电工",
                level="四级/中级工",
                kind=kind,
                day=DAY,
                starts_at=starts,
                ends_at=starts + timedelta(minutes=90),
            )
            s.add(sess)
            await s.flush()
            for r in range(per):
                room = Room(session_id=sess.id or 0, room_no=f"第{r + 1}考场", location=f"实训楼{300 + r}", expected=30)
                s.add(room)
                await s.flush()
                rid = room.id or 0
                for j, duty in enumerate((Duty.CHIEF, Duty.DEPUTY, Duty.EVALUATOR)[: 3 if kind == "practical" else 2]):
                    s.add(Assignment(room_id=rid, staff_id=staff[(n * 3 + j) % len(staff)].id or 0, duty=duty))
                tickets = []
                for seat in range(1, 31):
                    ticket += 1
                    tickets.append(f"2026{ticket:06d}")
                    s.add(Candidate(room_id=rid, ticket_no=tickets[-1], name=f"考生{ticket}", seat=f"{seat:02d}"))
                chief = staff[(n * 3) % len(staff)].id
                sid = sess.id or 0

                def report(
                    kind_: str, payload: dict[str, object], who: int | None = chief, rid: int = rid, sid: int = sid
                ) -> Report:
                    row = Report(kind=kind_, room_id=rid, session_id=sid, staff_id=who, payload=payload, created_at=at)
                    s.add(row)
                    return row

                report("absent", {"tickets": tickets[:2], "count": 2, "expected": 30, "present": 28, "op": "add"})
                report("papers", {"action": "handout", "count": 30})
                report("papers", {"action": "collect", "count": 30, "answered": 28, "blank": 2, "spoiled": 0})
                if n % 5 == 0:
                    v = report(
                        "violation", {"ticket": tickets[5], "type": "抄袭", "action": "终止考试", "serious": True}
                    )
                    await s.flush()
                    report("confirm", {"ref": v.id, "report": v.id}, staff[(n * 3 + 1) % len(staff)].id)
                    report("determination", {"ref": v.id, "report": v.id, "action": "宣布成绩无效"}, office.id)
                    report("incident", {"text": "停电 10 分钟，已延时"})
                n += 1


def baseline(sheets: int, cells: int, width: int = 10) -> float:
    """Seconds for openpyxl's write-only mode to write ``cells`` plain text cells as rows over ``sheets`` sheets."""
    started = time.perf_counter()
    wb = Workbook(write_only=True)
    rows = cells // width
    per = max(1, rows // sheets)
    for i in range(sheets):
        ws = wb.create_sheet(f"s{i}")
        for r in range(per):
            ws.append([f"单元格{r}-{c}" for c in range(width)])
    wb.save(io.BytesIO())
    return time.perf_counter() - started


async def run(url: str, rooms: int, repeat: int) -> None:
    db = Database(url)
    try:
        await upgrade(db)
        await seed(db, rooms)
        reads, writes, totals = [], [], []
        data = b""
        for _ in range(repeat):
            t0 = time.perf_counter()
            records = await read_records(db, DAY, TZ)
            t1 = time.perf_counter()
            build_workbook(records)
            t2 = time.perf_counter()
            _name, data = await day_workbook(db, DAY, TZ, actor="bench")
            t3 = time.perf_counter()
            reads.append(t1 - t0)
            writes.append(t2 - t1)
            totals.append(t3 - t2)
    finally:
        await db.dispose()
    wb = load_workbook(io.BytesIO(data))
    cells = sum(1 for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None)
    base = min(baseline(len(wb.sheetnames), cells) for _ in range(repeat))
    total = min(totals)
    print(f"python {platform.python_version()}, {'SQLite' if url.startswith('sqlite') else 'PostgreSQL'}")
    size = f"{len(data) / 1024:.0f} KB"
    print(f"rooms: {len(records.rooms)}, sheets: {len(wb.sheetnames)}, non-empty cells: {cells}, size: {size}")
    print(f"read the day:            {min(reads):6.2f} s")
    print(f"write the workbook:      {min(writes):6.2f} s")
    print(f"day_workbook (total):    {total:6.2f} s   goal < 5 s: {'ok' if total < 5 else 'MISSED'}")
    print(f"baseline write-only:     {base:6.2f} s   ({cells} plain cells, {len(wb.sheetnames)} sheets)")
    print(f"export / baseline:       {total / base:6.1f} x")


def main() -> None:
    """Parse arguments and run."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rooms", type=int, default=200)
    p.add_argument("--db", default="sqlite")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db" if args.db == "sqlite" else args.db
        asyncio.run(run(url, args.rooms, args.repeat))


if __name__ == "__main__":
    main()

"""Benchmark of the importer's memory: a 100,000-row candidate roster (.xlsx) imported as a dry run.

Run: ``.venv/bin/python tests/bench/import_memory.py [--rows 100000] [--per-room 100] [--write]``
(not collected by pytest). Each step runs in a fresh interpreter so that each peak is its own:

- generate: the roster is written with openpyxl's write-only mode (准考证号, 姓名, 身份证号, 考场, 座位号), one
  session with ``rows / per-room`` rooms;
- baseline: the same modules imported (importer, openpyxl, defusedxml, SQLAlchemy, the SQLite driver) and the
  same database seeded (sessions and rooms), without importing the file;
- import: the same, then ``import_file(kind="roster", dry_run=True)``: read, parse, validate against the
  database and write every candidate inside the transaction, then roll back (``--write`` commits instead).

Prints the peak resident set size (``resource.getrusage``) of each step, the difference, and the time of the import.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 5)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def id_number(i: int) -> str:
    """A well-formed 18-digit 身份证号 (valid check digit)."""
    body = f"110105{1980 + i % 20}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def generate(path: Path, rows: int, per_room: int) -> None:
    """Write the roster with openpyxl's write-only mode."""
    import openpyxl  # each step imports only what it measures

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("考生名册")
    ws.append(["准考证号", "姓名", "身份证号", "考场", "座位号"])
    for i in range(rows):
        room, seat = divmod(i, per_room)
        ws.append([f"2026{i:08d}", f"考生{i:06d}", id_number(i), f"第{room + 1}考场", f"{seat + 1:03d}"])
    wb.save(path)


async def seed(url: str, rooms: int, per_room: int) -> None:
    """One session with ``rooms`` rooms, straight into the tables."""
    from sqlalchemy import insert, select  # each step imports only what it measures

    from bot.store.engine import Database
    from bot.store.migrate import upgrade
    from bot.store.tables import ExamSession, Room, SessionKind

    db = Database(url)
    await upgrade(db)
    et, rt = ExamSession.__table__, Room.__table__  # type: ignore[attr-defined]
    start = datetime.combine(DAY, datetime.min.time(), TZ).replace(hour=9)
    async with db.session() as s:
        conn = await s.connection()
        await conn.execute(
            insert(et),
            [
                {
                    "code": "第1场",
                    "occupation": "电工",
                    "level": "四级",
                    "kind": SessionKind.THEORY.value,
                    "day": DAY,
                    "starts_at": start,
                    "ends_at": start + timedelta(minutes=90),
                }
            ],
        )
        sid = (await conn.execute(select(et.c.id))).scalar_one()
        await conn.execute(
            insert(rt),
            [{"session_id": sid, "room_no": f"第{r + 1}考场", "expected": per_room} for r in range(rooms)],
        )
    await db.dispose()


async def run_import(url: str, path: Path, write: bool) -> dict[str, object]:
    """The roster through ``import_file``; what it changed and how long it took."""
    from bot.importer import import_file  # each step imports only what it measures
    from bot.store.engine import Database

    db = Database(url)
    started = time.perf_counter()
    result = await import_file(db, "roster", path, tz=TZ, actor="bench", dry_run=not write)
    seconds = time.perf_counter() - started
    await db.dispose()
    return {"seconds": round(seconds, 2), "counts": {k: c.render() for k, c in result.counts.items()}}


def step(name: str, work: Path, rows: int, per_room: int, write: bool) -> dict[str, object]:
    """One step in this interpreter; returns the peak RSS and what the step reports."""
    path, url = work / "roster.xlsx", f"sqlite:///{work / f'{name}.db'}"
    out: dict[str, object] = {}
    if name == "generate":
        generate(path, rows, per_room)
        out["file_bytes"] = path.stat().st_size
    else:
        import defusedxml.ElementTree  # noqa: F401 - the baseline holds every module the import uses
        import openpyxl  # noqa: F401

        import bot.importer.xlsx  # noqa: F401
        from bot.importer import import_file  # noqa: F401

        asyncio.run(seed(url, rows // per_room, per_room))
        if name == "import":
            out.update(asyncio.run(run_import(url, path, write)))
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux
    return out


def main() -> None:
    """Run the three steps in child interpreters and print their figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--per-room", type=int, default=100)
    ap.add_argument("--write", action="store_true", help="commit the import instead of a dry run")
    ap.add_argument("--step", choices=["generate", "baseline", "import"], help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        print(json.dumps(step(args.step, args.work, args.rows, args.per_room, args.write)))
        return
    with tempfile.TemporaryDirectory(prefix="exambot-import-bench-") as tmp:
        figures: dict[str, dict[str, object]] = {}
        for name in ("generate", "baseline", "import"):
            cmd = [sys.executable, __file__, "--step", name, "--work", tmp, "--rows", str(args.rows)]
            cmd += ["--per-room", str(args.per_room)] + (["--write"] if args.write else [])
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            figures[name] = json.loads(done.stdout.strip().splitlines()[-1])
    base, imp = float(figures["baseline"]["peak_rss_mb"]), float(figures["import"]["peak_rss_mb"])  # type: ignore[arg-type]
    mode = "import (committed)" if args.write else "import (dry run)"
    print(f"roster: {args.rows} rows, {figures['generate']['file_bytes']} bytes, {args.rows // args.per_room} rooms")
    print(f"baseline (modules imported, database seeded): peak RSS {base:.1f} MB")
    print(f"{mode}: peak RSS {imp:.1f} MB, {figures['import']['seconds']} s, {figures['import']['counts']}")
    print(f"import over baseline: {imp - base:.1f} MB ({(imp - base) * 1024 * 1024 / args.rows:.0f} bytes per row)")


if __name__ == "__main__":
    main()

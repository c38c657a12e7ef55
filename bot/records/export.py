"""An export of a day's records: read them, write the file (off the event loop), note it in the audit log."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.records.csvfile import build_csv
from bot.records.data import DayRecords, read_day
from bot.store.engine import Database
from bot.store.tables import AuditLog

FILE_STEM = "考场情况记录表"
_FILE_BAD = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')


def file_name(day: date, session_code: str | None, suffix: str) -> str:
    """考场情况记录表_2026-12-05.xlsx, or …_2026-12-05_第1场.xlsx for one session."""
    part = f"_{_FILE_BAD.sub('_', session_code).strip('_')}" if session_code else ""
    return f"{FILE_STEM}_{day:%Y-%m-%d}{part}{suffix}"


async def read_records(db: Database, day: date, tz: ZoneInfo, *, session_code: str | None = None) -> DayRecords:
    """The day's records in one read transaction."""
    async with db.read() as s:
        return await read_day(s, day, tz, session_code=session_code)


async def _audit(
    db: Database,
    records: DayRecords,
    name: str,
    fmt: str,
    *,
    session_code: str | None,
    actor: str,
    now: datetime | None,
) -> None:
    detail = {
        "day": records.day.isoformat(),
        "session": session_code,
        "rooms": len(records.rooms),
        "format": fmt,
        "file": name,
    }
    async with db.session() as s:
        s.add(
            AuditLog(
                at=now or datetime.now(UTC),
                actor=actor,
                action="export",
                entity="records",
                entity_id=records.day.isoformat(),
                detail=detail,
            )
        )


async def day_workbook(
    db: Database,
    day: date,
    tz: ZoneInfo,
    *,
    session_code: str | None = None,
    actor: str = "cli",
    now: datetime | None = None,
) -> tuple[str, bytes]:
    """The 考场情况记录表 workbook of ``day`` (of one session when ``session_code``): (Chinese file name, xlsx bytes).

    Each call is written to the audit log (action ``export``) as ``actor`` ("staff:12", "cli") at ``now``.
    """
    return await _export(db, day, tz, "xlsx", session_code=session_code, actor=actor, now=now)


async def day_csv(
    db: Database,
    day: date,
    tz: ZoneInfo,
    *,
    session_code: str | None = None,
    actor: str = "cli",
    now: datetime | None = None,
) -> tuple[str, bytes]:
    """The day's violations and absentees as CSV (see :mod:`bot.records.csvfile`), audited like the workbook."""
    return await _export(db, day, tz, "csv", session_code=session_code, actor=actor, now=now)


async def _export(
    db: Database, day: date, tz: ZoneInfo, fmt: str, *, session_code: str | None, actor: str, now: datetime | None
) -> tuple[str, bytes]:
    records = await read_records(db, day, tz, session_code=session_code)
    if fmt == "xlsx":
        # startup: openpyxl (about 70 ms) loads at the first export, not with the service and every `exambot chat`
        from bot.records.workbook import build_workbook

        data = await asyncio.to_thread(build_workbook, records)  # openpyxl is CPU-bound: keep the loop free
    else:
        data = build_csv(records)
    name = file_name(day, session_code, f".{fmt}")
    await _audit(db, records, name, fmt, session_code=session_code, actor=actor, now=now)
    return name, data

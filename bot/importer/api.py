"""``import_file``: read, validate everything, then apply in one transaction (or nothing at all)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.importer.apply import Recorder
from bot.importer.limits import ImportLimits
from bot.importer.problems import ImportFailed, Problem
from bot.importer.read import read_file
from bot.importer.result import ImportResult
from bot.importer.roster import apply_roster, parse_roster
from bot.importer.rule_checks import enforce
from bot.importer.schedule import parse_schedule
from bot.importer.schedule_apply import resolve_people, write_schedule
from bot.importer.staff import apply_staff, parse_staff
from bot.importer.table import Collector
from bot.store.engine import Database
from bot.store.tables import AuditLog

Kind = Literal["schedule", "staff", "roster"]
SessionsChanged = Callable[[AsyncSession, list[int]], Awaitable[None]]


def ordered(problems: list[Problem]) -> list[Problem]:
    """Problems by sheet (in the order first met) then row; file-level problems first."""
    sheets: dict[str | None, int] = {}
    for p in problems:
        sheets.setdefault(p.sheet, len(sheets))
    return sorted(problems, key=lambda p: (p.row is not None, sheets[p.sheet], p.row or 0))


class _DryRun(Exception):
    """Raised inside the transaction to roll back a dry run."""


async def import_file(
    db: Database,
    kind: Kind,
    path: Path,
    *,
    tz: ZoneInfo,
    actor: str,
    dry_run: bool = False,
    year: int | None = None,
    on_sessions_changed: SessionsChanged | None = None,
    limits: ImportLimits | None = None,
    prune: bool = False,
    now: datetime | None = None,
    accept_warnings: bool = False,
) -> ImportResult:
    """Import a schedule, staff or roster file; raises :class:`ImportFailed` with every problem, writing nothing.

    ``on_sessions_changed`` is awaited inside the same transaction with the ids of sessions created or whose
    times, rooms or people changed (not in a dry run). ``limits`` bound the file (rows, bytes, merged cells;
    the defaults without it); the entry points hand down the ``EXAMBOT_IMPORT_MAX_*`` settings.

    What the database has for the file's days (sessions, rooms) or, for a staff file, active people the file
    does not list, is listed in the result's ``missing``; with ``prune`` sessions and rooms are cancelled (their
    ids handed to ``on_sessions_changed``, so their reminders are cancelled) and people deactivated. ``now``
    (default: the clock) stamps the audit rows and ``cancelled_at`` and decides which duties are still to come.

    A schedule or staff import runs the rule checks (bot/checks) on the result, dry run included: an error raises
    :class:`~bot.importer.rule_checks.ChecksFailed` (an ``ImportFailed``); so does a warning unless
    ``accept_warnings``, which keeps the accepted warnings in the audit log.
    """
    path = Path(path)
    col = Collector(path.name)
    sheets = read_file(path, limits)
    if kind == "schedule":
        plan = parse_schedule(sheets, col, year=year)
    elif kind == "staff":
        staff_specs = parse_staff(sheets, col)
    elif kind == "roster":
        roster_specs = parse_roster(sheets, col, year=year)
    else:
        raise ValueError(f"unknown import kind {kind!r}")
    if col.problems and not col.sheets:
        raise ImportFailed(col.problems)  # no usable sheet at all: nothing to check against the database

    result = ImportResult(kind, path.name, dry_run=dry_run, notes=col.notes(), prune=prune)
    try:
        async with db.session() as s:
            rec = Recorder(s, actor, result, tz, now=now)
            # names, rooms and ids are checked against the database even when the file has other problems,
            # so the office sees every problem at once; nothing is written unless there are none
            write = not col.problems
            if kind == "schedule":
                resolved, problems, warnings = await resolve_people(s, plan, path.name)
                result.warnings += warnings
                if write and not problems:
                    result.session_ids = await write_schedule(s, plan, resolved, rec, tz, prune=prune)
            elif kind == "staff":
                problems = await apply_staff(s, staff_specs, rec, path.name, write=write, prune=prune)
            else:
                problems = await apply_roster(s, roster_specs, rec, path.name, write=write)
            if col.problems or problems:
                raise ImportFailed(ordered([*col.problems, *problems]))
            if kind in ("schedule", "staff"):
                days = sorted({d for d, _ in plan.sessions}) if kind == "schedule" else None
                await enforce(s, result, days=days, now=rec.now, tz=tz, actor=actor, accept_warnings=accept_warnings)
            if dry_run:
                raise _DryRun
            if result.changed:
                s.add(
                    AuditLog(
                        at=rec.now,
                        actor=actor,
                        action="import",
                        entity=kind,
                        entity_id=path.name,
                        detail={label: c.render() for label, c in result.counts.items()},
                    )
                )
            if on_sessions_changed is not None and result.session_ids:
                await on_sessions_changed(s, result.session_ids)
    except _DryRun:
        pass
    return result

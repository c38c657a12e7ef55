"""Run every rule check over sessions or days."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.checks.booking import check_booking
from bot.checks.certificates import check_certificates
from bot.checks.conflicts import check_conflicts
from bot.checks.defense import check_defense_panels
from bot.checks.finding import CheckReport, Finding
from bot.checks.rotation import check_rotation
from bot.checks.snapshot import Snapshot, day_words, load_snapshot, session_ids_from, session_ids_on
from bot.checks.staffing import check_staffing

Check = Callable[[Snapshot], list[Finding]]
CHECKS: tuple[Check, ...] = (
    check_staffing,
    check_certificates,
    check_conflicts,
    check_booking,
    check_rotation,
    check_defense_panels,
)


def run_checks(snap: Snapshot, scope: str) -> CheckReport:
    """Every check over a loaded snapshot."""
    report = CheckReport(scope)
    for check in CHECKS:
        report.extend(check(snap))
    return report


def _scope(snap: Snapshot, what: str) -> str:
    sessions = len({v.session.id for v in snap.rooms})
    return f"{what}的 {sessions} 个场次" if sessions else f"{what}没有场次"


async def check_days(s: AsyncSession, days: Iterable[date]) -> CheckReport:
    """The checks of the sessions (not cancelled) of these days."""
    wanted = sorted(set(days))
    snap = await load_snapshot(s, await session_ids_on(s, wanted))
    return run_checks(snap, _scope(snap, "、".join(day_words(d) for d in wanted)))


async def check_from(s: AsyncSession, first: date) -> CheckReport:
    """The checks of the sessions (not cancelled) of ``first`` and later days (after a staff import)."""
    snap = await load_snapshot(s, await session_ids_from(s, first))
    return run_checks(snap, _scope(snap, f"{day_words(first)}及以后"))

"""One 工位, two candidates: a practical room's violation records that name the same station for different people.

The stations of a practical room are drawn by lot at check-in (实际操作考核考场规则 2.), so /违纪 takes the candidate
by 准考证号 or name and keeps the 工位 said beside it in the note (handlers/violation.py). Two records in force that
put two candidates on one station mean one of them was mistyped: the reply to the second says so, with the first
record's number, so that the evaluator can check the draw sheet now rather than the office later.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import Context
from bot.store.reports import reports_in_force
from bot.store.tables import Report
from handlers import _show
from handlers.violation_words import station_said


async def station_clash(ctx: Context, s: AsyncSession, row: Report) -> str:
    """A line warning that another record in force of ``row``'s room puts another candidate on the same 工位 ("" when
    none does, or when ``row`` names no 工位)."""
    station = station_said(str(row.payload.get("note") or ""))
    if station is None or row.room_id is None:
        return ""
    ticket = row.payload.get("ticket")
    for other in await reports_in_force(s, ["violation"], [row.room_id]):
        theirs = other.payload.get("ticket")
        if other.id != row.id and theirs != ticket and station_said(str(other.payload.get("note") or "")) == station:
            first = _show.ticket(ctx, str(theirs))
            return f"\n注意：编号 {other.id} 把 {station}记为 {first}，同一工位记了两名考生，请对照抽签记录核对。"
    return ""

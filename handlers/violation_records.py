"""What /违纪, /确认 and /认定 share: how a violation reads, who confirms it, what the office ruled."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import Context
from bot.store.papers import absent_by_room
from bot.store.reports import AbsentPayload, RefPayload, ViolationPayload, reports_in_force
from bot.store.tables import ExamSession, Report, Room, SessionKind, Staff
from handlers import _show
from handlers._rooms import RoomNow
from handlers.violation_words import action_text, staff_word


def points_of(payload: dict[str, Any]) -> int | None:
    """The points of a 扣分 (kept beside the action in the payload)."""
    points = payload.get("points")
    return int(points) if points else None


def describe(ctx: Context, report: Report, names: dict[str, str]) -> str:
    """准考证号（5号座）类型，现场处理：…（说明）."""
    p = ViolationPayload.from_payload(report.payload)
    line = _show.ticket(ctx, p.ticket, names.get(p.ticket))
    if report.payload.get("seat"):
        line += f"（{report.payload['seat']}号座）"
    else:
        line += " "
    line += f"{p.type}，现场处理：{action_text(p.action, points_of(report.payload))}"
    if p.note:
        line += f"（{_show.free_text(ctx, report, p.note)}）"
    return line


async def kind_of_room(s: AsyncSession, room_id: int | None) -> SessionKind | None:
    """The kind of the session a room belongs to."""
    room = await s.get(Room, room_id) if room_id is not None else None
    sess = await s.get(ExamSession, room.session_id) if room is not None else None
    return sess.kind if sess is not None else None


def second_person(where: RoomNow) -> str:
    """“本考场另一名监考员” (考评员 in a practical room)."""
    return f"本考场另一名{staff_word(where.session.kind)}"


def office_line(report: Report, names: dict[str, str]) -> str:
    """准考证号（姓名）（5号座）类型，现场处理：…（说明）: a violation as the office and supervisors read it in their
    private alerts, whoever's chat caused the alert (the reporter's group, a deputy's private chat)."""
    p = ViolationPayload.from_payload(report.payload)
    name = names.get(p.ticket)
    line = f"{p.ticket}（{name}）" if name else p.ticket
    seat = report.payload.get("seat")
    line += f"（{seat}号座）" if seat else ""
    absent = report.payload.get("absent_report")
    line += f"（该考生在缺考记录编号 {absent} 中记为缺考）" if absent else ""
    action = action_text(p.action, points_of(report.payload))
    line += f"{'' if seat or absent or name else ' '}{p.type}，现场处理：{action}"
    return line + (f"（{p.note}）" if p.note else "")


def alert_text(where: RoomNow, staff: Staff | None, row: Report, names: dict[str, str]) -> str:
    """The office's and supervisors' alert of a serious violation."""
    who = staff.name if staff else "?"
    return (
        f"【违纪·需关注】{where.label}（{where.session.code}）{who} 报告：{office_line(row, names)}。编号 {row.id}，"
        f"待第二名{staff_word(where.session.kind)} /确认 {row.id}。"
    )


async def absent_report_of(s: AsyncSession, room_id: int, ticket: str) -> Report | None:
    """The room's 缺考 report in force that lists ``ticket`` as absent, if any."""
    report = (await absent_by_room(s, [room_id])).get(room_id)
    if report is None or ticket not in AbsentPayload.from_payload(report.payload).tickets:
        return None
    return report


async def confirmations(s: AsyncSession, root: int) -> list[Report]:
    """Active confirmations of a violation chain."""
    first = await s.get(Report, root)
    room_ids = [first.room_id] if first is not None and first.room_id is not None else []
    rows = await reports_in_force(s, ["confirm"], room_ids)
    return [r for r in rows if RefPayload.from_payload(r.payload).ref == root]


async def rulings(s: AsyncSession, room_ids: list[int]) -> dict[int, Report]:
    """The latest determination per violation chain root."""
    out: dict[int, Report] = {}
    for r in await reports_in_force(s, ["determination"], room_ids):
        out[RefPayload.from_payload(r.payload).ref] = r
    return out


async def confirmed_roots(s: AsyncSession, room_ids: list[int]) -> set[int]:
    """Violation chains confirmed by a second invigilator or evaluator."""
    return {RefPayload.from_payload(r.payload).ref for r in await reports_in_force(s, ["confirm"], room_ids)}

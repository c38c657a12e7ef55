"""The candidate roster (考生名册): one row per candidate, placed in a room of a session already imported."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlmodel import col as column
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.importer.apply import Recorder
from bot.importer.by_values import find_kind_column
from bot.importer.headers import ROSTER_FIELDS
from bot.importer.parse import (
    ParseError,
    code_text,
    name_key,
    norm,
    parse_date,
    parse_id_number,
    parse_kind,
    parse_seat,
    room_key,
    room_text,
    year_hint,
)
from bot.importer.problems import Problem
from bot.importer.read import Sheet
from bot.importer.table import Collector
from bot.store.tables import Candidate, ExamSession, Room, SessionKind

SHOWN_ROOMS = 6  # rooms named in the "not in the schedule" line
CANDIDATE_FIELDS = ["room_id", "ticket_no", "name", "id_number", "seat"]


@dataclass(slots=True)
class CandidateSpec:
    """One candidate row and what it says about the room."""

    ticket: str
    name: str
    id_number: str | None
    seat: str | None
    room_no: str
    room_key: str
    session: str | None
    day: date | None
    occupation: str | None
    kind: SessionKind | None
    sheet: str | None
    row: int
    room_column: str
    ticket_column: str
    has_id: bool
    has_seat: bool


def parse_roster(sheets: list[Sheet], col: Collector, *, year: int | None) -> list[CandidateSpec]:
    """Every row of every sheet with a roster header."""
    out: list[CandidateSpec] = []
    for table in col.tables(sheets, ROSTER_FIELDS, "考生名册"):
        find_kind_column(table, col)
        if not col.require(table, ("ticket",), ("name",), ("room",), fields=ROSTER_FIELDS):
            continue
        hm = table.header
        sheet_year = year if year is not None else year_hint(*table.title_texts())
        for row in table.data_rows():
            n = row.number
            before = len(col.problems)
            ticket = ""
            try:
                ticket = code_text(table.cell(row, "ticket"), "准考证号")
                if not ticket:
                    raise ParseError("准考证号为空")
            except ParseError as exc:
                col.add(table, n, hm.label("ticket"), str(exc))
            name = name_key(table.cell(row, "name").text)
            if not name:
                col.add(table, n, hm.label("name"), "姓名为空")
            id_number: str | None = None
            id_cell = table.cell(row, "id_number")
            if not id_cell.blank:
                try:
                    id_number = parse_id_number(id_cell)
                except ParseError as exc:
                    col.add(table, n, hm.label("id_number"), str(exc))
            seat: str | None = None
            try:
                seat = parse_seat(table.cell(row, "seat"))
            except ParseError as exc:
                col.add(table, n, hm.label("seat"), str(exc))
            room_cell = table.cell(row, "room")
            if room_cell.blank:
                col.add(table, n, hm.label("room"), "考场为空")
            kind: SessionKind | None = None
            if not table.cell(row, "kind").blank:
                try:
                    kind = parse_kind(table.cell(row, "kind").text)
                except ParseError as exc:
                    col.add(table, n, hm.label("kind"), str(exc))
            day: date | None = None
            if not table.cell(row, "date").blank:
                try:
                    day = parse_date(table.cell(row, "date"), year=sheet_year, epoch=table.sheet.epoch)
                except ParseError as exc:
                    col.add(table, n, hm.label("date"), str(exc))
            if len(col.problems) > before:
                continue
            text = room_text(room_cell)
            out.append(
                CandidateSpec(
                    ticket=ticket,
                    name=name,
                    id_number=id_number,
                    seat=seat,
                    room_no=text,
                    room_key=room_key(text),
                    session=norm(table.cell(row, "session").text) or None,
                    day=day,
                    occupation=norm(table.cell(row, "occupation").text) or None,
                    kind=kind,
                    sheet=table.sheet.name,
                    row=n,
                    room_column=hm.label("room"),
                    ticket_column=hm.label("ticket"),
                    has_id=hm.has("id_number"),
                    has_seat=hm.has("seat"),
                )
            )
    return out


def _fits(spec: CandidateSpec, session: ExamSession) -> bool:
    return (
        (spec.session is None or spec.session == session.code)
        and (spec.day is None or spec.day == session.day)
        and (spec.occupation is None or spec.occupation == session.occupation)
        and (spec.kind is None or spec.kind == session.kind)
    )


def _rows(specs: list[CandidateSpec]) -> str:
    rows = [sp.row for sp in specs]
    return f"第{rows[0]}行" if len(rows) == 1 else f"第{rows[0]}行等 {len(rows)} 名考生"


def _unplaced_problems(unplaced: dict[tuple[str, str], list[CandidateSpec]], file: str) -> list[Problem]:
    """One problem per room, not per candidate; rooms missing from the schedule altogether share one line."""
    absent = [specs for (_key, reason), specs in unplaced.items() if reason == "absent"]
    out: list[Problem] = []
    if len(absent) == 1:  # one room: likely a typo, shown at its (first) row
        first, more = absent[0][0], len(absent[0]) - 1
        extra = f"（另有 {more} 名考生在此考场）" if more else ""
        message = f"考场“{first.room_no}”在已导入的考场安排中不存在；请先导入考场安排，或检查考场号{extra}"
        out.append(Problem(file, message, sheet=first.sheet, row=first.row, column=first.room_column))
    elif absent:
        rooms = "；".join(f"“{specs[0].room_no}”（{_rows(specs)}）" for specs in absent[:SHOWN_ROOMS])
        rooms += "……" if len(absent) > SHOWN_ROOMS else ""
        out.append(Problem(file, f"{len(absent)} 个考场在考场安排中不存在，请先导入考场安排：{rooms}"))
    for (_key, reason), specs in unplaced.items():
        first = specs[0]
        if reason == "absent":
            continue
        if reason == "mismatch":
            reason = "在已导入的考场安排中存在，但场次/职业/考试类型对不上；请检查考场号或先导入考场安排"
        message = f"考场“{first.room_no}”{reason}（{_rows(specs)}）"
        out.append(Problem(file, message, sheet=first.sheet, row=first.row, column=first.room_column))
    return out


async def apply_roster(
    s: AsyncSession, specs: list[CandidateSpec], rec: Recorder, file: str, *, write: bool = True
) -> list[Problem]:
    """Place each candidate in its room, then create, update or delete candidates of those rooms."""
    pairs = (await s.exec(select(Room, ExamSession).join(ExamSession, Room.session_id == ExamSession.id))).all()
    rooms: dict[str, list[tuple[Room, ExamSession]]] = defaultdict(list)
    cancelled: dict[str, list[tuple[Room, ExamSession]]] = defaultdict(list)
    for room, session in pairs:
        live = room.cancelled_at is None and session.cancelled_at is None  # a cancelled room takes no candidates
        (rooms if live else cancelled)[room_key(room.room_no)].append((room, session))
    problems: list[Problem] = []
    unplaced: dict[tuple[str, str], list[CandidateSpec]] = defaultdict(list)  # (room key, reason) → candidates
    placed: dict[int, dict[str, CandidateSpec]] = defaultdict(dict)
    where: dict[int, str] = {}
    expected: dict[int, int] = {}
    seen_in_session: dict[tuple[int, str], int] = {}
    for spec in specs:
        options = [(r, se) for r, se in rooms.get(spec.room_key, []) if _fits(spec, se)]
        if len(options) != 1:
            gone = [se for _r, se in cancelled.get(spec.room_key, []) if _fits(spec, se)]
            if not options and gone:
                reason = f"所在场次“{gone[0].code}”或考场已取消，考生未导入；如考试照常，请重新导入考场安排"
            elif not options:
                reason = "absent" if not rooms.get(spec.room_key) else "mismatch"
            else:
                reason = "在多个场次中都有（{}），请增加“场次”列以区分".format("、".join(se.code for _r, se in options))
            unplaced[(spec.room_key, reason)].append(spec)
            continue
        room, session = options[0]
        assert room.id is not None and session.id is not None
        first = seen_in_session.get((session.id, spec.ticket))
        if first is not None:
            problems.append(
                Problem(
                    file,
                    f"准考证号“{spec.ticket}”在场次“{session.code}”中重复（第{first}行已有）",
                    sheet=spec.sheet,
                    row=spec.row,
                    column=spec.ticket_column,
                )
            )
            continue
        seen_in_session[(session.id, spec.ticket)] = spec.row
        placed[room.id][spec.ticket] = spec
        where[room.id] = f"{session.code}/{room.room_no}"
        expected[room.id] = room.expected
    problems = _unplaced_problems(unplaced, file) + problems
    if problems or not write:
        return problems

    existing = (await s.exec(select(Candidate).where(column(Candidate.room_id).in_(list(placed))))).all()
    current: dict[tuple[int, str], Candidate] = {(c.room_id, c.ticket_no): c for c in existing}
    for (room_id, ticket), cand in current.items():
        if ticket not in placed[room_id]:
            await rec.delete("考生", cand, f"{where[room_id]} {ticket} {cand.name}", CANDIDATE_FIELDS)
    for room_id, by_ticket in placed.items():
        for ticket, spec in by_ticket.items():
            wanted: dict[str, object] = {"name": spec.name}
            if spec.has_id:
                wanted["id_number"] = spec.id_number
            if spec.has_seat:
                wanted["seat"] = spec.seat
            cand = current.get((room_id, ticket))
            if cand is None:
                new = Candidate(room_id=room_id, ticket_no=ticket, **wanted)  # type: ignore[arg-type]
                await rec.create("考生", new, f"{where[room_id]} {ticket} {spec.name}", CANDIDATE_FIELDS)
            else:
                await rec.update("考生", cand, wanted, f"{where[room_id]} {ticket}")
        count = len(by_ticket)
        if expected[room_id] and count != expected[room_id]:
            rec.result.warnings.append(f"{where[room_id]}：名册 {count} 人，考场安排中应考人数为 {expected[room_id]}")
    return []

"""The schedule file (考场安排表): rows → sessions, rooms and the people on duty, before touching the database."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, time

from bot.importer.by_values import find_kind_column
from bot.importer.headers import SCHEDULE_FIELDS
from bot.importer.parse import (
    ParseError,
    norm,
    parse_clock,
    parse_count,
    parse_date,
    parse_kind,
    parse_when,
    room_key,
    room_text,
    split_names,
    year_hint,
)
from bot.importer.read import Cell, Row, Sheet
from bot.importer.table import Collector, Table
from bot.store.tables import KIND_LABELS, Duty, SessionKind

# the duty each name column gives, when the cell has no label of its own (None: first is chief, others deputy)
COLUMN_DUTY: dict[str, Duty | None] = {
    "chief": Duty.CHIEF,
    "deputy": Duty.DEPUTY,
    "invigilators": None,
    "evaluator_chief": Duty.CHIEF,
    "evaluators": Duty.EVALUATOR,
    "supervisor": Duty.SUPERVISOR,
}


@dataclass(slots=True)
class PersonRef:
    """A name in the file, where it was written and the duty it gives."""

    name: str
    duty: Duty
    sheet: str | None
    row: int
    column: str
    generic: bool = False  # from a 监考员/监考教师 column without a label: duty settled per room


@dataclass(slots=True)
class RoomSpec:
    """A room of a session as the file describes it; None means "the file does not say"."""

    room_no: str
    key: str
    sheet: str | None
    row: int
    location: str | None = None
    expected: int | None = None
    group_chat: str | None = None
    robot_webhook: str | None = None
    robot_secret: str | None = None
    people: list[PersonRef] = field(default_factory=list)


@dataclass(slots=True)
class SessionSpec:
    """A session (场次) as the file describes it."""

    code: str
    occupation: str
    level: str
    kind: SessionKind
    day: date
    start: time
    end: time
    sheet: str | None
    row: int
    rooms: dict[str, RoomSpec] = field(default_factory=dict)  # room key → room


@dataclass(slots=True)
class SchedulePlan:
    """Everything the schedule file says."""

    # Keyed by (date, 场次 code): offices number sessions per day, so "第1场" comes back every exam day.
    sessions: dict[tuple[date, str], SessionSpec] = field(default_factory=dict)


def derived_code(day: date, start: time, occupation: str, kind: SessionKind) -> str:
    """A stable session code when the file has no 场次 column."""
    return f"{day:%Y%m%d}-{start:%H%M}-{occupation[:36]}-{KIND_LABELS[kind]}"


@dataclass(slots=True)
class _Prev:
    """The previous data row's effective values, for "same as above"."""

    code: str | None = None
    cells: dict[str, Cell] = field(default_factory=dict)
    room: RoomSpec | None = None
    failed: bool = False  # the row above had errors: its continuation rows are not reported again


_BLOCK_FIELDS = ("time", "start", "end", "occupation", "level", "kind")


def parse_schedule(sheets: list[Sheet], col: Collector, *, year: int | None) -> SchedulePlan:
    """Read every sheet with a schedule header into a plan; problems go to ``col``."""
    plan = SchedulePlan()
    for table in col.tables(sheets, SCHEDULE_FIELDS, "考场安排"):
        find_kind_column(table, col)
        ok = col.require(
            table,
            ("room",),
            ("occupation",),
            ("kind",),
            ("start", "end") if not table.header.has("time") else ("time",),
            fields=SCHEDULE_FIELDS,
        )
        if not ok:
            continue
        sheet_year = year if year is not None else year_hint(*table.title_texts())
        prev = _Prev()
        for row in table.data_rows():
            _parse_row(table, row, col, plan, prev, sheet_year)
    _settle_generic_duties(plan)
    return plan


def _take(table: Table, row: Row, key: str, prev: _Prev, col: Collector, *, fill: bool) -> Cell:
    """The row's cell for ``key``; a blank one is filled from the row above when ``fill``."""
    cell = table.cell(row, key)
    if cell.merged:
        col.merged_fills += 1
    if cell.blank and fill and key in prev.cells and not prev.cells[key].blank:
        col.blank_fills += 1
        cell = prev.cells[key]
    return cell


def _parse_row(table: Table, row: Row, col: Collector, plan: SchedulePlan, prev: _Prev, year: int | None) -> None:
    hm = table.header
    n = row.number
    errors_before = len(col.problems)
    has_session_col = hm.has("session")

    # 场次: blank or merged = the session above
    code: str | None = None
    session_cell = Cell("")
    if has_session_col:
        c = session_cell = _take(table, row, "session", prev, col, fill=True)
        code = unicodedata.normalize("NFKC", c.text).strip() or None
        if code is None:
            col.add(table, n, hm.label("session"), "场次为空，且上面没有可沿用的场次")
            return
    same_block = prev.cells != {} and (not has_session_col or code == prev.code)

    cells: dict[str, Cell] = {"session": session_cell, "date": _take(table, row, "date", prev, col, fill=True)}
    for key in _BLOCK_FIELDS:
        cells[key] = _take(table, row, key, prev, col, fill=same_block)
    # a value copied from the row above was already checked there: do not report it twice
    copied = {key for key, cell in cells.items() if key in prev.cells and cell is prev.cells[key]}
    silent = False

    def report(key: str, message: str) -> None:
        nonlocal silent
        if key in copied and prev.failed:
            silent = True
        else:
            col.add(table, n, hm.label(key) if hm.has(key) else None, message)

    # date and time
    day: date | None = None
    start = end = None
    try:
        if hm.has("time"):
            if cells["time"].blank:
                raise ParseError("考试时间为空，应如“8:30-10:00”")
            if isinstance(cells["time"].raw, time):
                raise ParseError(f"只有一个时间“{cells['time'].text}”，应写成起止时间，如“8:30-10:00”")
            day, start, end = parse_when(cells["time"], year=year)
        else:
            start, end = parse_clock(cells["start"]), parse_clock(cells["end"])
            if end <= start:
                raise ParseError("结束时间不晚于开始时间")
    except ParseError as exc:
        report("time" if hm.has("time") else "start", str(exc))
    if not cells["date"].blank:
        try:
            column_day = parse_date(cells["date"], year=year, epoch=table.sheet.epoch)
            if day is not None and day != column_day:
                col.add(table, n, hm.label("time"), f"考试时间中的日期 {day} 与考试日期 {column_day} 不一致")
            day = column_day
        except ParseError as exc:
            report("date", str(exc))
    elif day is None and start is not None:
        report("date", "缺少考试日期")

    occupation = norm(cells["occupation"].text)
    if not occupation:
        report("occupation", "职业(工种)为空")
    level = norm(cells["level"].text)
    kind: SessionKind | None = None
    try:
        if cells["kind"].blank:
            raise ParseError("考试类型为空，应为“理论”“上机”或“实操”")
        kind = parse_kind(cells["kind"].text)
    except ParseError as exc:
        report("kind", str(exc))

    # room: blank, or merged within the same session = the room above (a continuation row with more people);
    # a merged cell reaching into the next session names that session's room (same as above)
    room_cell = table.cell(row, "room")
    continuation = room_cell.blank or (room_cell.merged and same_block)
    if room_cell.merged:
        col.merged_fills += 1
    if continuation and prev.failed and same_block:
        return
    if continuation and (prev.room is None or not same_block):
        col.add(table, n, hm.label("room"), "考场为空")
        continuation = False
        room_cell = Cell("")

    prev.code = code
    prev.cells = cells
    if silent or len(col.problems) > errors_before or day is None or start is None or end is None or kind is None:
        prev.room = None
        prev.failed = True
        return
    prev.failed = False

    if code is None:
        code = derived_code(day, start, occupation, kind)
    session = plan.sessions.get((day, code))
    if session is None:
        session = SessionSpec(code, occupation, level, kind, day, start, end, table.sheet.name, n)
        plan.sessions[(day, code)] = session
    else:
        _check_same_session(table, row, col, session, occupation, level, kind, day, start, end)

    if continuation and prev.room is not None and session.rooms.get(prev.room.key) is not prev.room:
        # the row above belongs to another session (a file without a 场次 column)
        if room_cell.blank:
            col.add(table, n, hm.label("room"), "考场为空（上一行属于另一场考试，不能沿用其考场）")
            prev.room = None
            prev.failed = True
            return
        continuation = False
    if continuation and prev.room is not None:
        room = prev.room
        if not room_cell.blank and room_key(room_text(room_cell)) != room.key:
            col.add(table, n, hm.label("room"), "合并单元格中的考场与上一行不一致")
    else:
        text = room_text(room_cell)
        key = room_key(text)
        if key in session.rooms:
            first = session.rooms[key]
            col.add(
                table,
                n,
                hm.label("room"),
                f"考场“{text}”在场次“{code}”中重复（第{first.row}行已有）；同一考场的多位人员请写在同一格或下一行留空考场",
            )
            prev.room = None
            prev.failed = True
            return
        room = RoomSpec(text, key, table.sheet.name, n)
        session.rooms[key] = room
    prev.room = room
    _room_details(table, row, col, room)
    _people(table, row, room)


def _check_same_session(
    table: Table,
    row: Row,
    col: Collector,
    s: SessionSpec,
    occupation: str,
    level: str,
    kind: SessionKind,
    day: date,
    start: time,
    end: time,
) -> None:
    hm = table.header
    where = f"第{s.row}行" if s.sheet == table.sheet.name else f"工作表「{s.sheet}」第{s.row}行"
    if (start, end) != (s.start, s.end):
        col.add(
            table,
            row.number,
            hm.label("time"),
            f"场次“{s.code}”的时间 {start:%H:%M}-{end:%H:%M} 与{where}的 {s.start:%H:%M}-{s.end:%H:%M} 不一致",
        )
    if occupation != s.occupation:
        col.add(
            table,
            row.number,
            hm.label("occupation"),
            f"场次“{s.code}”的职业“{occupation}”与{where}的“{s.occupation}”不一致",
        )
    if level != s.level:
        col.add(table, row.number, hm.label("level"), f"场次“{s.code}”的等级“{level}”与{where}的“{s.level}”不一致")
    if kind != s.kind:
        col.add(
            table,
            row.number,
            hm.label("kind"),
            f"场次“{s.code}”的考试类型“{KIND_LABELS[kind]}”与{where}的“{KIND_LABELS[s.kind]}”不一致",
        )


def _room_details(table: Table, row: Row, col: Collector, room: RoomSpec) -> None:
    hm = table.header
    if hm.has("location"):
        loc = table.cell(row, "location")
        if (not loc.blank and not loc.merged) or room.location is None:
            room.location = norm(loc.text)
    if hm.has("expected"):
        cell = table.cell(row, "expected")
        if not cell.blank and not cell.merged:
            try:
                room.expected = parse_count(cell)
            except ParseError as exc:
                col.add(table, row.number, hm.label("expected"), str(exc))
        elif room.expected is None:
            room.expected = 0
    for key, attr in (("group_chat", "group_chat"), ("webhook", "robot_webhook"), ("secret", "robot_secret")):
        cell = table.cell(row, key)
        if not cell.blank:
            setattr(room, attr, cell.text.strip())


def _people(table: Table, row: Row, room: RoomSpec) -> None:
    for key, column_duty in COLUMN_DUTY.items():
        for header, cell in table.cells(row, key):
            if cell.blank or cell.merged:
                continue
            for named in split_names(cell.text):
                duty = named.duty or column_duty
                ref = PersonRef(named.name, duty or Duty.DEPUTY, table.sheet.name, row.number, header, duty is None)
                room.people.append(ref)


def _settle_generic_duties(plan: SchedulePlan) -> None:
    """Names from 监考员/监考教师 columns: the first is chief unless the room already has one, the rest deputies."""
    for session in plan.sessions.values():
        for room in session.rooms.values():
            has_chief = any(p.duty == Duty.CHIEF and not p.generic for p in room.people)
            for p in room.people:
                if p.generic:
                    p.duty = Duty.DEPUTY if has_chief else Duty.CHIEF
                    has_chief = True

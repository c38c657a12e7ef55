"""The 考场情况记录表 workbook of a recorded day, read back with openpyxl and compared with the database
(every sheet, every total), on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import col, select

from bot.records.export import day_workbook
from bot.store.reports import reports_in_force
from bot.store.tables import Assignment, AuditLog, Candidate, ExamSession, Room, Staff
from tests.handlers.conftest import Day
from tests.records.conftest import DAY, FORMULA_INCIDENT, FORMULA_NOTE, SHANGHAI, record_day


@dataclass
class Truth:
    """A room as the database has it, read without the export's code."""

    code: str
    room: str
    expected: int
    absentees: list[str] = field(default_factory=list)
    absent_count: int = 0
    reported: bool = False  # an absentee report is in force (else the form says 未报 for 实考 and 缺考)
    violations: list[tuple[int, str, str]] = field(default_factory=list)  # (编号, ticket, type)
    incidents: list[str] = field(default_factory=list)
    handed_out: int | None = None
    collected: int | None = None
    staff: list[str] = field(default_factory=list)


async def truth(day: Day) -> tuple[list[Truth], dict[str, str]]:
    """Per room (by start and room id) what counts, and candidate names by ticket."""
    out: list[Truth] = []
    async with day.services.db.read() as s:
        pairs = (
            await s.exec(
                select(Room, ExamSession)
                .join(ExamSession, col(ExamSession.id) == col(Room.session_id))
                .where(col(ExamSession.day) == DAY)
                .order_by(col(ExamSession.starts_at), col(Room.id))
            )
        ).all()
        names = {c.ticket_no: c.name for c in (await s.exec(select(Candidate))).all()}
        for room, sess in pairs:
            t = Truth(sess.code, room.room_no, room.expected)
            rows = await reports_in_force(s, ["absent", "violation", "incident", "papers"], [room.id or 0])
            for r in rows:
                if r.kind == "absent":
                    t.absentees, t.absent_count = list(r.payload.get("tickets") or []), int(r.payload["count"])
                    t.reported = True
                elif r.kind == "violation":
                    t.violations.append((int(r.payload.get("root") or r.id), r.payload["ticket"], r.payload["type"]))
                elif r.kind == "incident":
                    t.incidents.append(r.payload["text"])
                elif r.payload["action"] == "handout":
                    t.handed_out = r.payload["count"]
                else:
                    t.collected = r.payload["count"]
            staff = await s.exec(
                select(Staff.name)
                .join(Assignment, col(Assignment.staff_id) == col(Staff.id))
                .where(col(Assignment.room_id) == room.id)
            )
            t.staff = sorted(staff.all())
            out.append(t)
    return out, names


def rows_of(ws: Worksheet, first: int = 3) -> list[tuple[Any, ...]]:
    """The sheet's data rows below its title and header."""
    return [r for r in ws.iter_rows(min_row=first, values_only=True) if any(v is not None for v in r)]


def texts(ws: Worksheet) -> list[str]:
    """Every text cell of a sheet."""
    return [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


async def test_workbook_matches_the_database(day: Day) -> None:
    """Summary, violations, absentees and each room's form say what the reports in force say; totals add up."""
    numbers = await record_day(day)
    rooms, names = await truth(day)
    name, data = await day_workbook(day.services.db, DAY, SHANGHAI, actor="staff:11")
    assert name == "考场情况记录表_2026-12-05.xlsx"
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames[:3] == ["汇总", "违纪", "缺考"]
    assert len(wb.sheetnames) == 3 + len(rooms) == 7

    summary = rows_of(wb["汇总"])
    assert len(summary) == len(rooms) + 1
    for t, row in zip(rooms, summary, strict=False):
        assert (row[0], row[5]) == (t.code, t.room)
        absent = t.absent_count
        assert row[7:10] == (t.expected, t.expected - absent, absent) if t.reported else (t.expected, "未报", "未报")
        assert (row[11], row[12]) == (len(t.violations), len(t.incidents))
        assert row[13] == (t.handed_out if t.handed_out is not None else "未报")
        assert row[14] == (t.collected if t.collected is not None else "未报")
    total = summary[-1]
    assert total[0] == "合计"
    assert total[7] == sum(t.expected for t in rooms) == 103
    unreported = [t.room for t in rooms if not t.reported]
    assert unreported == ["第4考场"]  # 实考 and 缺考 are totalled over the rooms that reported, and say so
    assert (
        total[8]
        == f"{sum(t.expected - t.absent_count for t in rooms if t.reported)}（另 1 个考场未报）"
        == "70（另 1 个考场未报）"
    )
    assert total[9] == f"{sum(t.absent_count for t in rooms)}（另 1 个考场未报）" == "3（另 1 个考场未报）"
    assert total[11] == sum(len(t.violations) for t in rooms) == 3
    assert total[12] == sum(len(t.incidents) for t in rooms) == 2
    assert total[13] == sum(t.handed_out or 0 for t in rooms) == 58
    assert total[14] == sum(t.collected or 0 for t in rooms) == 57
    status = {row[5]: row[15] for row in summary[:-1]}
    assert status["第1考场"] == "已核对" and status["第2考场"].startswith("核对不符")
    assert status["第4考场"] == "未报领取"
    checked = {row[5]: row[16] for row in summary[:-1]}  # the other invigilator's check of the 领取 count
    assert checked["第1考场"] == "李强 核对✓ 08:40" and checked["第2考场"] == "待第二人核对"
    assert checked["第4考场"] == "-" and total[16] == "已核对 1 个考场"

    violations = rows_of(wb["违纪"])
    want = sorted((t.room, n, tk, ty) for t in rooms for n, tk, ty in t.violations)
    assert sorted((r[1], r[2], r[4], r[7]) for r in violations) == want
    assert all(r[5] == names[r[4]] for r in violations)  # unmasked: the full 准考证号 and the name
    by_no = {r[2]: r for r in violations}
    serious = by_no[numbers["serious"]]
    assert (serious[8], serious[10]) == ("终止考试", "王芳")
    assert serious[11].startswith("李强 ") and serious[12].startswith("宣布成绩无效 钱进")
    assert by_no[numbers["minor"]][11:13] == ("不需要", "未认定")
    (late,) = [r for r in violations if r[4] == "2026000009"]
    assert late[13] == "补录（钱进 12-05 13:00）"

    absentees = rows_of(wb["缺考"])
    want_abs = sorted((t.room, tk, names[tk]) for t in rooms for tk in t.absentees)
    assert sorted((r[1], r[2], r[3]) for r in absentees) == want_abs
    assert "2026000006" not in {r[2] for r in absentees}  # corrected away

    for t, sheet in zip(rooms, wb.sheetnames[3:], strict=True):
        ws = wb[sheet]
        assert sheet == f"{t.code}-{t.room}"
        cells = texts(ws)
        assert ws["A1"].value == "考场情况记录表"
        want = (t.expected - t.absent_count, t.absent_count) if t.reported else ("未报", "未报")
        assert (ws["F5"].value, ws["H5"].value, ws["J5"].value) == (t.expected, *want)
        assert ws["B4"].value == "电工" if t.code != "演示第3场" else ws["B4"].value == "计算机程序设计员"
        for ticket in t.absentees:
            assert ticket in cells and names[ticket] in cells
        numbers_on_sheet = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, int)}
        assert {n for n, _tk, _ty in t.violations} <= numbers_on_sheet
        for text in t.incidents:
            assert text in cells
        for person in t.staff:
            assert person in cells
    practical = texts(wb["演示第2场-第3考场"])
    assert "考评组长" in practical and "主监考" not in practical
    first = texts(wb["演示第1场-第1考场"])
    assert "主监考" in first
    assert any(t.endswith("补录（钱进 12-05 13:00）") for t in first)  # the late violation is marked on the form
    # A violation's seat reads as in chat (“5号座”), the roster's leading zero dropped.
    assert any(t == "5号座" or t.endswith("；5号座") for t in first) and not any("座号 " in t for t in first)
    # The other invigilator's check of the 领取 count: done in room 1, still open in room 2, no count in room 4.
    assert "领取份数核对：李强 核对✓ 08:40" in first
    assert any("领取份数核对：待第二人核对" in t for t in texts(wb["演示第1场-第2考场"]))
    assert not any("领取份数核对" in t for t in texts(wb["演示第3场-第4考场"]))

    async with day.services.db.read() as s:
        audit = (await s.exec(select(AuditLog).where(col(AuditLog.action) == "export"))).all()
    assert [(a.actor, a.entity_id, a.detail["rooms"], a.detail["file"]) for a in audit] == [
        ("staff:11", "2026-12-05", 4, name)
    ]


async def test_formula_like_text_stays_text(day: Day) -> None:
    """A text starting with = or - is a string cell with the quote prefix, and the file holds no formula."""
    await record_day(day)
    _name, data = await day_workbook(day.services.db, DAY, SHANGHAI)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml and "<f " not in xml
    wb = load_workbook(io.BytesIO(data))
    found = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value in (FORMULA_INCIDENT, FORMULA_NOTE):
                    found[c.value] = c
    assert set(found) == {FORMULA_INCIDENT, FORMULA_NOTE}
    for cell in found.values():
        assert cell.data_type == "s" and cell.quotePrefix


async def test_print_setup(day: Day) -> None:
    """Every sheet prints on A4, fit to one page wide, with its header rows repeated and a print area."""
    await record_day(day)
    _name, data = await day_workbook(day.services.db, DAY, SHANGHAI)
    wb = load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows == "$1:$2"
        assert ws.print_area
        assert ws.column_dimensions["A"].width and ws.column_dimensions["C"].width
    form = wb["演示第1场-第1考场"]
    assert form.print_area == f"'演示第1场-第1考场'!$A$1:$J${form.max_row}"
    assert "签名：" in (form.cell(row=form.max_row, column=1).value or "")


async def test_one_session(day: Day) -> None:
    """With a session code only its rooms are in the workbook, and the file is named after it."""
    await record_day(day)
    name, data = await day_workbook(day.services.db, DAY, SHANGHAI, session_code="演示第1场")
    assert name == "考场情况记录表_2026-12-05_演示第1场.xlsx"
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["汇总", "违纪", "缺考", "演示第1场-第1考场", "演示第1场-第2考场"]
    assert rows_of(wb["汇总"])[-1][7] == 58
    counts: dict[str, int] = defaultdict(int)
    for r in rows_of(wb["违纪"]):
        counts[r[0]] += 1
    assert counts == {"演示第1场": 3}

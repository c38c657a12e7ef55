"""Cells and sheet names the workbook writes, whatever the chat typed."""

from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.records.data import DayRecords, IncidentRecord, PapersRecord, RoomRecord
from bot.records.workbook import build_workbook, sheet_title

TZ = ZoneInfo("Asia/Shanghai")


def room(no: str, incident: str) -> RoomRecord:
    """A room with one incident and nothing else reported."""
    return RoomRecord(
        session_code="第1场",
        occupation="电工",
        level="五级",
        kind="理论",
        day=date(2026, 12, 5),
        starts=datetime(2026, 12, 5, 9, 0, tzinfo=TZ),
        ends=datetime(2026, 12, 5, 10, 30, tzinfo=TZ),
        room=no,
        location="",
        expected=30,
        present=30,
        absent_count=0,
        absent_state="未报",
        absent_backfill="",
        incidents=[IncidentRecord(7, "09:10", incident, "王芳", "")],
        papers=PapersRecord(None, None, None, None, None, "未报领取", False, "", ""),
    )


def test_control_characters_are_dropped_not_fatal() -> None:
    """A control character from a chat message (which XML cannot hold) is dropped; the rest of the text stays."""
    data = build_workbook(DayRecords(date(2026, 12, 5), [room("第1考场", "停电\x07了\x1b，\t已处理")]))
    wb = load_workbook(io.BytesIO(data))
    cells = [c.value for row in wb["第1场-第1考场"].iter_rows() for c in row]
    assert "停电了，\t已处理" in cells


def test_sheet_names_are_valid_and_unique() -> None:
    """Names lose the characters Excel refuses, stay within 31 characters and never repeat."""
    used: set[str] = set()
    assert sheet_title(used, "第1场-[A]:3/4考场") == "第1场--A--3-4考场"
    long = "很长的场次名称" * 6
    first, second = sheet_title(used, long), sheet_title(used, long)
    assert len(first) == len(second) == 31 and first != second and second.endswith("(2)")


def test_two_rooms_with_the_same_label_get_two_sheets() -> None:
    """Rooms that read alike after cleaning still get a sheet each."""
    data = build_workbook(DayRecords(date(2026, 12, 5), [room("A:1", "x"), room("A/1", "y")]))
    assert load_workbook(io.BytesIO(data)).sheetnames[3:] == ["第1场-A-1", "第1场-A-1(2)"]

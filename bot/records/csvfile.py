"""The day's violations and absentees as one CSV file (for offices that keep CSV): one row per record.

Shape: 类别 (违纪 / 缺考) then the columns both share and each one's own; UTF-8 with a BOM so Chinese Excel opens
it as UTF-8; every cell through :func:`bot.exports.safe_row` (a text that looks like a formula gets an apostrophe).
"""

from __future__ import annotations

import csv
import io

from bot.exports import safe_row
from bot.records.data import VIOLATION_COLUMNS, DayRecords

CSV_HEAD = (
    "类别",
    "日期",
    "场次",
    "考场",
    "准考证号",
    "姓名",
    "座号",
    "编号",
    "时间",
    *VIOLATION_COLUMNS,
)


def build_csv(records: DayRecords) -> bytes:
    """Violations first, then absentees, in room order; UTF-8 with BOM."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(safe_row(list(CSV_HEAD)))
    day = f"{records.day:%Y-%m-%d}"
    for r in records.rooms:
        for v in r.violations:
            w.writerow(
                safe_row(
                    [
                        "违纪",
                        day,
                        r.session_code,
                        r.room,
                        v.ticket,
                        v.name,
                        v.seat,
                        v.number,
                        v.time,
                        v.type,
                        v.action,
                        v.note,
                        v.reporter,
                        v.confirmation,
                        v.ruling,
                        v.backfill,
                    ]
                )
            )
    for r in records.rooms:
        for a in r.absentees:
            w.writerow(
                safe_row(
                    ["缺考", day, r.session_code, r.room, a.ticket, a.name, a.seat] + [""] * 8 + [r.absent_backfill]
                )
            )
        if r.unnamed_absent:
            note = f"按人数上报 {r.unnamed_absent} 人，未列准考证号"
            w.writerow(
                safe_row(
                    [
                        "缺考",
                        day,
                        r.session_code,
                        r.room,
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        note,
                        "",
                        "",
                        "",
                        r.absent_backfill,
                    ]
                )
            )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")

"""The day's records as an xlsx workbook: 汇总, 违纪, 缺考, then one 考场情况记录表 sheet per room and session.

Every text goes into a string cell, never a formula: openpyxl would store a text starting with ``=`` as a
formula, so cells are typed ``s`` explicitly, and a text a spreadsheet would read as a formula when edited
(:data:`bot.exports.FORMULA_STARTS`) gets Excel's quote prefix, which keeps it text without changing it.
Characters XML cannot hold (control characters a chat message may carry) are dropped.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.worksheet import Worksheet

from bot.exports import FORMULA_STARTS
from bot.records.data import VIOLATION_COLUMNS, DayRecords, IncidentRecord, RoomRecord
from bot.store.rooms import seat_key

FORM_TITLE = "考场情况记录表"
SUMMARY_SHEET = "汇总"
VIOLATIONS_SHEET = "违纪"
ABSENTEES_SHEET = "缺考"

THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
# Named styles, registered once per workbook: assigning one to a cell copies an index, where assigning font,
# fill and border objects cell by cell hashes them each time (ten times slower on a day of 200 rooms).
STYLE_NAMES = {
    "head": "记录表表头",
    "box": "记录表内容",
    "title": "记录表标题",
    "bold": "记录表小标题",
    "center": "记录表居中",
}


def named_styles() -> list[NamedStyle]:
    """Fresh named styles for one workbook (a workbook binds the ones it is given)."""
    return [
        NamedStyle(
            name=STYLE_NAMES["head"],
            font=Font(bold=True),
            fill=PatternFill("solid", fgColor="DDDDDD"),
            border=BOX,
            alignment=CENTER,
        ),
        NamedStyle(name=STYLE_NAMES["box"], border=BOX, alignment=WRAP),
        NamedStyle(name=STYLE_NAMES["title"], font=Font(bold=True, size=16), alignment=CENTER),
        NamedStyle(name=STYLE_NAMES["bold"], font=Font(bold=True)),
        NamedStyle(name=STYLE_NAMES["center"], alignment=CENTER),
    ]


# The form's ten columns: 编号, 时间, 准考证号, 姓名, 违纪类型, 现场处理, 报告人, 第二人确认, 办公室认定, 备注
FORM_WIDTHS = (7, 8, 14, 9, 14, 12, 9, 14, 22, 18)
FORM_COLS = len(FORM_WIDTHS)

SUMMARY_HEAD = (
    "场次",
    "职业（工种）",
    "等级",
    "类别",
    "时间",
    "考场",
    "地点",
    "应考",
    "实考",
    "缺考",
    "缺考上报",
    "违纪",
    "突发",
    "试卷领取",
    "试卷回收",
    "试卷核对",
    "领取份数核对",  # by the other invigilator (考评员): 李强 核对✓ 08:40 / 待第二人核对 / …：数量不符
)
VIOLATIONS_HEAD = (
    "场次",
    "考场",
    "编号",
    "时间",
    "准考证号",
    "姓名",
    "座号",
    *VIOLATION_COLUMNS,
)
ABSENTEES_HEAD = ("场次", "考场", "准考证号", "姓名", "座号", "补录")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _reported(rec: RoomRecord) -> bool:
    """Whether the room's absentees were reported (else 实考 and 缺考 are not known: the form says 未报)."""
    return rec.absent_state != "未报"


def _present(rec: RoomRecord) -> int | str:
    return rec.present if _reported(rec) else "未报"


def _absent(rec: RoomRecord) -> int | str:
    return rec.absent_count if _reported(rec) else "未报"


def clean(text: str) -> str:
    """``text`` without the characters an xlsx file cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def put(ws: Worksheet, row: int, column: int, value: Any, *, style: str = "") -> None:
    """Write one cell: numbers as numbers, everything else as a string cell that never runs as a formula."""
    cell = ws.cell(row=row, column=column)
    if style:
        cell.style = STYLE_NAMES[style]  # first: a named style replaces the whole cell format
    if isinstance(value, int) and not isinstance(value, bool):
        cell.value = value
        return
    text = "" if value is None else clean(str(value))
    cell.value = text
    cell.data_type = "s"  # openpyxl would otherwise store a leading "=" as a formula
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True  # Excel keeps it text even when the cell is edited


def put_row(ws: Worksheet, row: int, values: Sequence[Any], *, style: str = "", start: int = 1) -> None:
    """Write a row of cells from column ``start``."""
    for i, v in enumerate(values):
        put(ws, row, start + i, v, style=style)


def _merge(ws: Worksheet, row: int, first: int, last: int) -> None:
    """Merge cells of a row; their look is set by the caller (openpyxl's merge_cells would restyle every edge)."""
    if last > first:
        ws.merged_cells.add(CellRange(min_col=first, min_row=row, max_col=last, max_row=row))


def _boxed(ws: Worksheet, row: int, spans: Sequence[tuple[Any, int, str]]) -> None:
    """A row of (value, width in columns, style) cells, merged and boxed like the paper form."""
    col = 1
    for value, width, style in spans:
        put(ws, row, col, value, style=style or "box")
        for c in range(col + 1, col + width):
            ws.cell(row=row, column=c).style = STYLE_NAMES["box"]
        _merge(ws, row, col, col + width - 1)
        col += width


def _section(ws: Worksheet, row: int, title: str) -> int:
    put(ws, row, 1, title, style="bold")
    _merge(ws, row, 1, FORM_COLS)
    return row + 1


def sheet_title(used: set[str], wanted: str) -> str:
    """A sheet name Excel accepts (31 characters, none of []:*?/\\), unique in the workbook."""
    base = _SHEET_BAD.sub("-", clean(wanted)).strip("'") or "考场"
    name = base[:31]
    n = 2
    while name in used:
        suffix = f"({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(name)
    return name


def _print_setup(ws: Worksheet, *, last_row: int, last_col: int, title_rows: str, landscape: bool) -> None:
    """A4, fit to one page wide, header rows repeated on every page, print area = the form."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.print_title_rows = title_rows
    ws.print_area = f"A1:{get_column_letter(last_col)}{max(last_row, 1)}"


def _widths(ws: Worksheet, widths: Sequence[int]) -> None:
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w


def _texts(ws: Worksheet, row: int, title: str, heads: tuple[str, str], items: Sequence[IncidentRecord]) -> int:
    """A section of typed reports (incidents, supervisors' findings): who, when, what; 无 when there are none."""
    row = _section(ws, row + 1, title)
    who, what = heads
    h = "head"
    _boxed(ws, row, [("编号", 1, h), ("时间", 1, h), (who, 1, h), (what, 5, h), ("备注", 2, h)])
    row += 1
    for it in items:
        cells = [(it.number, 1, ""), (it.time, 1, ""), (it.reporter, 1, ""), (it.text, 5, ""), (it.backfill, 2, "")]
        _boxed(ws, row, cells)
        row += 1
    if not items:
        _boxed(ws, row, [("无", FORM_COLS, "")])
        row += 1
    return row


def write_room(ws: Worksheet, rec: RoomRecord) -> None:
    """One room's 考场情况记录表, laid out like the paper form."""
    _widths(ws, FORM_WIDTHS)
    put(ws, 1, 1, FORM_TITLE, style="title")
    _merge(ws, 1, 1, FORM_COLS)
    cancelled = "（已取消）" if rec.cancelled else ""
    put(ws, 2, 1, f"{rec.day:%Y-%m-%d} {rec.session_code} {rec.room}{cancelled}", style="center")
    _merge(ws, 2, 1, FORM_COLS)
    h = "head"
    _boxed(
        ws,
        3,
        [
            ("日期", 1, h),
            (f"{rec.day:%Y-%m-%d}", 2, ""),
            ("时间", 1, h),
            (f"{rec.starts:%H:%M}-{rec.ends:%H:%M}", 2, ""),
            ("场次", 1, h),
            (rec.session_code, 1, ""),
            ("类别", 1, h),
            (rec.kind, 1, ""),
        ],
    )
    _boxed(
        ws,
        4,
        [
            ("职业（工种）", 1, h),
            (rec.occupation, 3, ""),
            ("等级", 1, h),
            (rec.level, 2, ""),
            ("考场号", 1, h),
            (rec.room, 2, ""),
        ],
    )
    _boxed(
        ws,
        5,
        [
            ("地点", 1, h),
            (rec.location, 3, ""),
            ("应考", 1, h),
            (rec.expected, 1, ""),
            ("实考", 1, h),
            (_present(rec), 1, ""),
            ("缺考", 1, h),
            (_absent(rec), 1, ""),
        ],
    )
    state = rec.absent_state + (f"；{rec.absent_backfill}" if rec.absent_backfill else "")
    _boxed(ws, 6, [("缺考上报", 1, h), (state, FORM_COLS - 1, "")])
    row = _section(ws, 8, "一、缺考考生（准考证号、姓名）")
    _boxed(ws, row, [("序号", 1, h), ("准考证号", 2, h), ("姓名", 2, h), ("座号", 1, h), ("备注", 4, h)])
    row += 1
    for i, a in enumerate(rec.absentees, start=1):
        _boxed(ws, row, [(i, 1, ""), (a.ticket, 2, ""), (a.name, 2, ""), (a.seat, 1, ""), (rec.absent_backfill, 4, "")])
        row += 1
    if rec.unnamed_absent:
        _boxed(ws, row, [(f"另有 {rec.unnamed_absent} 人按人数上报，未列准考证号", FORM_COLS, "")])
        row += 1
    if not rec.absentees and not rec.unnamed_absent:
        _boxed(ws, row, [("无" if rec.absent_state != "未报" else "未报缺考", FORM_COLS, "")])
        row += 1
    row = _section(ws, row + 1, "二、违纪情况")
    put_row(
        ws,
        row,
        ("编号", "时间", "准考证号", "姓名", "违纪类型", "现场处理", "报告人", "第二人确认", "办公室认定", "备注"),
        style=h,
    )
    row += 1
    for v in rec.violations:
        # A practical room's stations are drawn by lot (实际操作考核考场规则 2.): its roster seat says nothing of where
        # the candidate worked, and the 工位 reported stays in the note.
        seat = f"{seat_key(v.seat)}号座" if v.seat and rec.kind != "实操" else ""
        note = "；".join(x for x in (v.note, seat, v.backfill) if x)
        values = (v.number, v.time, v.ticket, v.name, v.type, v.action, v.reporter, v.confirmation, v.ruling, note)
        put_row(ws, row, values, style="box")
        row += 1
    if not rec.violations:
        _boxed(ws, row, [("无", FORM_COLS, "")])
        row += 1
    papers = "实操考单" if rec.kind == "实操" else "试卷、答题卡"  # a practical exam has no answer cards
    row = _section(ws, row + 1, f"三、{papers}（领取与回收核对）")
    _boxed(
        ws,
        row,
        [
            ("试卷领取", 2, h),
            ("试卷回收", 1, h),
            ("答题卡", 1, h),
            ("空白", 1, h),
            ("损坏", 1, h),
            ("实考", 1, h),
            ("核对结果", 3, h),
        ],
    )
    row += 1
    p = rec.papers
    assert p is not None
    counts = [p.handed_out, p.collected, p.answered, p.blank, p.spoiled]
    cells = ["未报" if x is None else x for x in counts]
    _boxed(
        ws,
        row,
        [
            (cells[0], 2, ""),
            (cells[1], 1, ""),
            (cells[2], 1, ""),
            (cells[3], 1, ""),
            (cells[4], 1, ""),
            (rec.present if _reported(rec) else f"{rec.present}（按应考计）", 1, ""),
            (p.status, 3, ""),
        ],
    )
    row += 1
    checked = f"领取份数核对：{p.handover}" if p.handover else ""
    extra = "；".join(x for x in (checked, p.recount, p.backfill) if x)
    if extra:
        _boxed(ws, row, [("备注", 1, h), (extra, FORM_COLS - 1, "")])
        row += 1
    row = _texts(ws, row, "四、突发情况", ("报告人", "情况"), rec.incidents)
    row = _texts(ws, row, "五、督导意见", ("督导员", "发现的问题及整改、处理意见"), rec.findings)
    row = _section(ws, row + 1, "六、考务人员签名")
    _boxed(ws, row, [("职责", 2, h), ("姓名", 2, h), ("签名", 4, h), ("日期", 2, h)])
    row += 1
    for st in rec.staff:
        _boxed(ws, row, [(st.duty, 2, ""), (st.name, 2, ""), ("", 4, ""), ("", 2, "")])
        ws.row_dimensions[row].height = 24
        row += 1
    row += 1
    chief = "考评组长" if rec.kind == "实操" else "主监考"
    put(ws, row, 1, f"{chief}签名：____________    考务办公室审核：____________    日期：______年____月____日")
    _merge(ws, row, 1, FORM_COLS)
    _print_setup(ws, last_row=row, last_col=FORM_COLS, title_rows="1:2", landscape=True)


def _table_sheet(ws: Worksheet, title: str, head: Sequence[str], rows: list[Sequence[Any]]) -> None:
    put(ws, 1, 1, title, style="title")
    _merge(ws, 1, 1, len(head))
    put_row(ws, 2, head, style="head")
    for i, values in enumerate(rows, start=3):
        put_row(ws, i, values, style="box")
    _widths(
        ws, [max(8, min(30, 2 * max(len(str(v)) for v in (h, *(r[j] for r in rows))) + 2)) for j, h in enumerate(head)]
    )
    ws.freeze_panes = "A3"
    _print_setup(ws, last_row=len(rows) + 2, last_col=len(head), title_rows="1:2", landscape=True)


def summary_rows(records: DayRecords) -> list[list[Any]]:
    """The 汇总 rows: one per room, then 合计."""
    out: list[list[Any]] = []
    for r in records.rooms:
        p = r.papers
        assert p is not None
        out.append(
            [
                r.session_code + ("（已取消）" if r.cancelled else ""),
                r.occupation,
                r.level,
                r.kind,
                f"{r.starts:%H:%M}-{r.ends:%H:%M}",
                r.room,
                r.location,
                r.expected,
                _present(r),
                _absent(r),
                r.absent_state,
                len(r.violations),
                len(r.incidents),
                "未报" if p.handed_out is None else p.handed_out,
                "未报" if p.collected is None else p.collected,
                p.status,
                p.handover or "-",
            ]
        )
    rooms = records.rooms
    total = ["合计", "", "", "", "", f"{len(rooms)} 个考场", ""]
    reported = [r for r in rooms if _reported(r)]
    unknown = f"（另 {len(rooms) - len(reported)} 个考场未报）" if len(reported) < len(rooms) else ""
    present, absent = sum(r.present for r in reported), sum(r.absent_count for r in reported)
    total += [sum(r.expected for r in rooms), f"{present}{unknown}" if unknown else present]
    total += [f"{absent}{unknown}" if unknown else absent, f"未报 {len(rooms) - len(reported)} 个考场"]
    total += [sum(len(r.violations) for r in rooms), sum(len(r.incidents) for r in rooms)]
    total += [sum(r.papers.handed_out or 0 for r in rooms if r.papers)]
    total += [sum(r.papers.collected or 0 for r in rooms if r.papers)]
    total += [f"已核对 {sum(1 for r in rooms if r.papers and r.papers.reconciled)} 个考场"]
    total += [f"已核对 {sum(1 for r in rooms if r.papers and '核对✓' in r.papers.handover)} 个考场"]
    out.append(total)
    return out


def violation_rows(records: DayRecords) -> list[list[Any]]:
    """The 违纪 rows, one per violation in force."""
    return [
        [
            r.session_code,
            r.room,
            v.number,
            v.time,
            v.ticket,
            v.name,
            v.seat,
            v.type,
            v.action,
            v.note,
            v.reporter,
            v.confirmation,
            v.ruling,
            v.backfill,
        ]
        for r in records.rooms
        for v in r.violations
    ]


def absentee_rows(records: DayRecords) -> list[list[Any]]:
    """The 缺考 rows: one per named absentee, one per room for those reported by head count only."""
    out: list[list[Any]] = []
    for r in records.rooms:
        out += [[r.session_code, r.room, a.ticket, a.name, a.seat, r.absent_backfill] for a in r.absentees]
        if r.unnamed_absent:
            out.append([r.session_code, r.room, "", f"按人数上报 {r.unnamed_absent} 人", "", r.absent_backfill])
    return out


def build_workbook(records: DayRecords) -> bytes:
    """The workbook as xlsx bytes."""
    wb = Workbook()
    for named in named_styles():
        wb.add_named_style(named)
    summary = wb.active
    assert summary is not None
    summary.title = SUMMARY_SHEET
    used = {SUMMARY_SHEET, VIOLATIONS_SHEET, ABSENTEES_SHEET}
    day = f"{records.day:%Y-%m-%d}"
    _table_sheet(summary, f"{day} 考场情况汇总（报职业技能等级认定中心）", SUMMARY_HEAD, summary_rows(records))
    _table_sheet(wb.create_sheet(VIOLATIONS_SHEET), f"{day} 违纪情况", VIOLATIONS_HEAD, violation_rows(records))
    _table_sheet(wb.create_sheet(ABSENTEES_SHEET), f"{day} 缺考考生", ABSENTEES_HEAD, absentee_rows(records))
    for rec in records.rooms:
        write_room(wb.create_sheet(sheet_title(used, f"{rec.session_code}-{rec.room}")), rec)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

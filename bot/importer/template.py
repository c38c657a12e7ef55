"""Blank templates with Chinese headers, one example row, text-formatted code columns and a 说明 sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from bot.importer.headers import FIELDS_BY_KIND, FieldSpec

TEXT_ROWS = 500  # rows pre-formatted as text so 01 and 18-digit IDs survive typing

# (field key, example value, required, text column)
COLUMNS: dict[str, list[tuple[str, str, bool, bool]]] = {
    "schedule": [
        ("session", "第1场", True, True),
        ("date", "2026-12-05", True, True),
        ("time", "8:30-10:00", True, True),
        ("occupation", "电工", True, False),
        ("level", "四级/中级工", False, False),
        ("kind", "理论", True, False),
        ("room", "第1考场", True, True),
        ("location", "实训楼302", False, False),
        ("expected", "30", False, False),
        ("chief", "张三", False, False),
        ("deputy", "李四", False, False),
        ("evaluators", "", False, False),
        ("supervisor", "", False, False),
        ("group_chat", "", False, True),
        ("webhook", "", False, True),
        ("secret", "", False, True),
    ],
    "staff": [
        ("name", "张三", True, False),
        ("roles", "监考员", True, False),
        ("phone", "13800000000", False, True),
        ("wecom", "zhangsan", False, True),
        ("dingtalk", "", False, True),
        ("cert", "", False, True),
        ("note", "", False, False),
        ("avoid", "", False, False),
        ("senior", "", False, False),
    ],
    "roster": [
        ("ticket", "202612010101", True, True),
        ("name", "王五", True, False),
        ("id_number", "11010519900307123X", False, True),
        ("room", "第1考场", True, True),
        ("seat", "01", False, True),
        ("session", "第1场", False, True),
    ],
}

NOTES: dict[str, str] = {
    "schedule": "每行一个考场；同一场次的多个考场可合并“场次”“考试日期”单元格。请先导入人员名单，姓名须与名单一致。",
    "staff": "每行一位人员；按企业微信账号（没有则钉钉userId，再没有则姓名+手机号）识别同一人，"
    "重复导入会更新而不是新增。",
    "roster": "每行一位考生；请先导入考场安排。同一考场号出现在多个场次时，请填写“场次”列。",
}


def write_template(kind: Literal["schedule", "staff", "roster"], out: Path) -> Path:
    """Write the template for ``kind`` to ``out`` (.xlsx)."""
    specs: dict[str, FieldSpec] = {f.key: f for f in FIELDS_BY_KIND[kind]}
    columns = COLUMNS[kind]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = {"schedule": "考场安排", "staff": "人员名单", "roster": "考生名册"}[kind]
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for i, (key, example, _required, text) in enumerate(columns, start=1):
        head = ws.cell(1, i, specs[key].label)
        head.font = bold
        head.fill = fill
        head.alignment = Alignment(horizontal="center")
        ws.column_dimensions[get_column_letter(i)].width = max(12, len(specs[key].label) * 2 + 4)
        if text:
            for r in range(2, TEXT_ROWS + 2):
                ws.cell(r, i).number_format = "@"
        if example:
            ws.cell(2, i, example)
    ws.freeze_panes = "A2"

    info = wb.create_sheet("说明")
    info.append(["列名", "是否必填", "说明", "示例", "也可写作"])
    for cell in info[1]:
        cell.font = bold
        cell.fill = fill
    for key, example, required, text in columns:
        spec = specs[key]
        note = spec.note + ("（文本格式）" if text and "文本" not in spec.note else "")
        info.append([spec.label, "必填" if required else "选填", note, example, "、".join(spec.synonyms[:6])])
    info.append([])
    info.append([NOTES[kind]])
    for letter, width in zip("ABCDE", (16, 10, 50, 20, 40), strict=True):
        info.column_dimensions[letter].width = width
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out

"""Test doubles for file sending: a real workbook written by openpyxl and a handler that sends it privately."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook, load_workbook

from bot.dispatch import CommandTable, Context
from bot.model import PersonTarget, Reply, file_message
from bot.store.files import store_file

WORKBOOK_NAME = "考场情况记录表-2026-12-05.xlsx"
ROWS: list[list[Any]] = [
    ["考场号", "应考", "实考", "缺考", "缺考准考证号"],
    ["第1考场", 30, 29, 1, "2026000105"],
    ["第2考场", 30, 30, 0, ""],
    ["=1+1", 0, 0, 0, "公式样文本"],  # text that looks like a formula comes back as text
]


def workbook_bytes(rows: list[list[Any]] | None = None) -> bytes:
    """An .xlsx file written by openpyxl, one sheet 考场情况记录表 with ``rows``."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "考场情况记录表"
    for row in rows or ROWS:
        ws.append(row)
    ws["A4"].data_type = "s"  # stored as a string, not a formula
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def workbook_rows(data: bytes) -> list[list[Any]]:
    """The rows of the 考场情况记录表 sheet of an .xlsx file (opened with openpyxl.load_workbook)."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb["考场情况记录表"]
    return [["" if v is None else v for v in row] for row in ws.iter_rows(values_only=True)]


def file_table(name: str = WORKBOOK_NAME, data: bytes | None = None) -> CommandTable:
    """/文件: the workbook stored and written to the outbox in the handler's transaction, sent to the sender."""
    table = CommandTable()

    @table.command("文件", summary="私聊发送工作簿", hidden=True)
    async def send_file(ctx: Context, args: str) -> Reply:
        target = PersonTarget(ctx.message.channel, ctx.message.sender_id)
        async with ctx.services.db.session() as s:
            file_id = await store_file(s, name, data if data is not None else workbook_bytes(), ctx.now)
            await ctx.enqueue(s, [file_message(target, file_id, name, key=f"file:{ctx.message.message_id}")])
        return Reply("工作簿已私信发送")

    return table

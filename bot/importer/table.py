"""Walking the data rows of the sheets that carry a known header, collecting problems on the way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.importer.headers import FieldSpec, HeaderMap, find_header
from bot.importer.problems import Problem
from bot.importer.read import Cell, Row, Sheet

_NOTE_ROW = re.compile(r"^(注|备注|说明|制表|审核|填表|联系人|打印)")


@dataclass(slots=True)
class Table:
    """A sheet with its header found."""

    sheet: Sheet
    header: HeaderMap

    def cell(self, row: Row, key: str) -> Cell:
        """The row's cell for a field (blank when the sheet has no such column)."""
        col = self.header.col(key)
        return row.get(col) if col is not None else Cell("")

    def cells(self, row: Row, key: str) -> list[tuple[str, Cell]]:
        """Every (header, cell) of a multi-column field."""
        return [(self.header.labels[c], row.get(c)) for c in self.header.columns.get(key, [])]

    def title_texts(self) -> list[str]:
        """The texts above the header (title rows) and the sheet name."""
        texts = [c.text for r in self.sheet.rows[: self.header.row_index] for c in r.cells if c.text]
        return [*texts, self.sheet.name or ""]

    def data_rows(self) -> Iterator[Row]:
        """Rows under the header, without banners, notes, repeated headers and rows holding only merged copies."""
        labels = self.header.labels
        for row in self.sheet.rows[self.header.row_index + 1 :]:
            own = [c for c in row.cells if c.text and not c.merged]
            if not own or row.banner:
                continue
            if len(own) == 1 and _NOTE_ROW.match(own[0].text):
                continue
            same = sum(1 for col, text in labels.items() if row.get(col).text == text)
            if same >= 2:
                continue  # the header again (a second table on the same sheet)
            yield row


@dataclass(slots=True)
class Collector:
    """Problems and notes of one import."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    merged_fills: int = 0
    blank_fills: int = 0
    ignored: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    recognised: list[str] = field(default_factory=list)  # columns recognised by their values, not their header

    def add(self, table: Table | None, row: int | None, column: str | None, message: str) -> None:
        """Record a problem at a cell."""
        sheet = table.sheet.name if table is not None else None
        self.problems.append(Problem(self.file, message, sheet=sheet, row=row, column=column))

    def tables(self, sheets: list[Sheet], fields: tuple[FieldSpec, ...], what: str) -> list[Table]:
        """Every sheet whose header matches ``fields``; a problem when none does."""
        found: list[Table] = []
        for sheet in sheets:
            hm = find_header(sheet, fields)
            if hm is None:
                continue
            found.append(Table(sheet, hm))
            self.sheets.append(sheet.name or "")
            for text in hm.ignored:
                if text not in self.ignored:
                    self.ignored.append(text)
        if not found:
            expected = "、".join(f.label for f in fields[:6])
            self.problems.append(
                Problem(
                    self.file, f"没有找到{what}的表头：前10行中没有一行包含“{expected}”等列名，请检查是否选错了文件"
                )
            )
        return found

    def require(self, table: Table, *alternatives: tuple[str, ...], fields: tuple[FieldSpec, ...]) -> bool:
        """Each alternative (a tuple of field keys, all needed) must be present; else a problem per missing column."""
        ok = True
        by_key = {f.key: f for f in fields}
        for keys in alternatives:
            if all(table.header.has(k) for k in keys):
                continue
            missing = next(k for k in keys if not table.header.has(k))
            spec = by_key[missing]
            also = "、".join(spec.synonyms[:5])
            hint = f"（也可写作：{also}）" if also else ""
            self.add(table, None, None, f"缺少必需的列「{spec.label}」{hint}")
            ok = False
        return ok

    def notes(self) -> list[str]:
        """What was done to read the file, for the summary."""
        out: list[str] = []
        if self.sheets:
            names = "、".join(f"「{n}」" for n in self.sheets if n)
            if names:
                out.append(f"读取的工作表：{names}")
        if self.merged_fills:
            out.append(f"已按合并单元格向下填充 {self.merged_fills} 处")
        if self.blank_fills:
            out.append(f"空白单元格按上一行补全 {self.blank_fills} 处")
        out += self.recognised
        if self.ignored:
            out.append(f"未使用的列：{'、'.join(self.ignored)}")
        return out

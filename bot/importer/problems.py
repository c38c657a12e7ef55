"""Validation problems: where in which file, and why, in Chinese for the office."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an import file, located down to the cell when possible."""

    file: str
    message: str
    sheet: str | None = None
    row: int | None = None  # the Excel/CSV row number (1-based, as the office sees it)
    column: str | None = None  # the column header as written in the file

    def __str__(self) -> str:
        where = self.file
        if self.sheet:
            where += f" 工作表「{self.sheet}」"
        if self.row is not None:
            where += f"第{self.row}行"
        if self.column:
            where += f"「{self.column}」"
        return f"{where}：{self.message}"


class ImportFailed(Exception):
    """The file has problems; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        """All problems, one per line, with a header line."""
        lines = [f"导入失败，发现 {len(self.problems)} 个问题（数据库未做任何修改）："]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)

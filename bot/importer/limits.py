"""Size limits of an import file, and the refusals (in Chinese) that name the limit a file broke.

The limits keep an import's memory bounded: the file's size, the rows with content, and the cells covered by
merged ranges (each merged range is filled in cell by cell, so one range over a whole sheet would mean billions
of cells). The service's settings (``EXAMBOT_IMPORT_MAX_*``) are handed down by the entry points.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.importer.problems import ImportFailed, Problem

MB = 1024 * 1024
DEFAULT_MAX_ROWS = 200_000
DEFAULT_MAX_BYTES = 50 * MB
DEFAULT_MAX_MERGED_CELLS = 100_000
# An .xlsx is a zip: its parts may unpack to at most this many times the byte limit in all (a zip bomb is
# refused before anything is unpacked); the worksheets are streamed, the other parts are read whole.
UNPACKED_FACTOR = 20


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """What one import file may hold; past any of them the file is refused before it is read into memory."""

    max_rows: int = DEFAULT_MAX_ROWS  # rows with content, all sheets together
    max_bytes: int = DEFAULT_MAX_BYTES  # the file on disk; also each non-sheet part of an .xlsx, unpacked
    max_merged_cells: int = DEFAULT_MAX_MERGED_CELLS  # cells covered by merged ranges, all sheets together

    @property
    def max_unpacked(self) -> int:
        """The most an .xlsx may unpack to, all parts together."""
        return self.max_bytes * UNPACKED_FACTOR


def size_text(n: int) -> str:
    """Bytes as the office reads them: ``50 MB``, ``1.5 MB``, ``800 KB``."""
    if n >= MB:
        value = n / MB
        return f"{value:.0f} MB" if value.is_integer() else f"{value:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} 字节"


def too_big(file: str, size: int, limits: ImportLimits) -> ImportFailed:
    """The file on disk is past the byte limit."""
    return ImportFailed(
        [
            Problem(
                file,
                f"文件大小 {size_text(size)}，超过导入文件大小上限 {size_text(limits.max_bytes)}"
                "（EXAMBOT_IMPORT_MAX_BYTES）；请删去无关的工作表、图片后再导入，或拆分成几个文件",
            )
        ]
    )


def unpacks_too_big(file: str, part: str, size: int, limit: int) -> ImportFailed:
    """An .xlsx whose parts unpack past the limit (a zip bomb, or a workbook full of other things)."""
    return ImportFailed(
        [
            Problem(
                file,
                f"Excel 文件解压后的内容（{part}）有 {size_text(size)}，超过上限 {size_text(limit)}"
                "（由 EXAMBOT_IMPORT_MAX_BYTES 决定），文件可能已损坏或含有大量无关内容；"
                "请把表格内容复制到新建的工作簿中另存后再导入",
            )
        ]
    )


def too_many_rows(file: str, sheet: str | None, limits: ImportLimits) -> ImportFailed:
    """More rows with content than the row limit."""
    return ImportFailed(
        [
            Problem(
                file,
                f"表格超过导入行数上限 {limits.max_rows} 行（EXAMBOT_IMPORT_MAX_ROWS，各工作表合计）；"
                "请拆分成几个文件分批导入",
                sheet=sheet,
            )
        ]
    )


def too_many_merged(file: str, sheet: str | None, ref: str, covered: int, limits: ImportLimits) -> ImportFailed:
    """Merged ranges covering more cells than the merged-cell limit; ``ref`` is the range that went past it."""
    return ImportFailed(
        [
            Problem(
                file,
                f"合并单元格覆盖的单元格数（已数到 {covered} 个，其中 {ref} 一处）超过上限 "
                f"{limits.max_merged_cells} 个（EXAMBOT_IMPORT_MAX_MERGED_CELLS）；"
                "请取消整行、整列或大片区域的合并后再导入",
                sheet=sheet,
            )
        ]
    )

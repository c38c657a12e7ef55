"""Open an .xlsx with bounded memory: check the zip and every sheet against the limits, then stream the rows.

Before anything is unpacked into memory the zip's declared sizes are checked (a zip bomb is refused). Each
worksheet part is then scanned once with a streaming XML parse that builds nothing: it collects the
merged ranges (stored after the cell data) and counts the rows with content, refusing the file as soon as a
limit is passed. Only then are the rows streamed through openpyxl's read-only reader, which neither pads rows
to the sheet's stored dimension (that may span a whole sheet of formatted empty cells) nor keeps styles.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

from defusedxml.ElementTree import fromstring

from bot.importer.limits import ImportLimits, too_many_merged, too_many_rows, unpacks_too_big
from bot.importer.problems import ImportFailed, Problem

CONTENT_TYPES = "[Content_Types].xml"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
# parts openpyxl reads whole by their fixed names, whatever they are declared as
READ_WHOLE = frozenset({CONTENT_TYPES, "xl/workbook.xml", "xl/styles.xml", "xl/theme/theme1.xml"})


@dataclass(frozen=True, slots=True)
class Merge:
    """A merged range, 1-based and inclusive."""

    min_col: int
    min_row: int
    max_col: int
    max_row: int


@dataclass(slots=True)
class BookSheet:
    """A worksheet checked against the limits: its title, merged ranges and a row stream."""

    file: str
    title: str
    merges: list[Merge]
    ws: Any  # openpyxl's ReadOnlyWorksheet

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """The values of every row from row 1 on (missing rows come empty), each as long as the file has it."""
        self.ws.reset_dimensions()  # do not pad every row to a stored dimension such as A1:XFD1048576
        try:
            yield from self.ws.iter_rows(values_only=True)
        except Exception as exc:  # a cell openpyxl cannot convert: the file is refused like an unreadable one
            raise _unreadable(self.file, exc) from exc


@dataclass(slots=True)
class SheetCount:
    """What the sheets scanned so far hold, against the limits of the whole file."""

    rows: int = 0
    merged_cells: int = 0


def _local(tag: str) -> str:
    """An XML tag without its namespace (transitional and strict OOXML name them differently)."""
    return tag.rpartition("}")[2]


def _unreadable(file: str, exc: Exception) -> ImportFailed:
    return ImportFailed([Problem(file, f"无法打开 Excel 文件（{type(exc).__name__}），请确认是 .xlsx 文件")])


def streamed_parts(zf: zipfile.ZipFile, file: str, limits: ImportLimits) -> set[str]:
    """The parts ``[Content_Types].xml`` declares as worksheets: streamed, so they may pass the byte limit.

    Parts openpyxl reads whole by a fixed name, and relationship parts, never count as streamed.
    """
    try:
        info = zf.getinfo(CONTENT_TYPES)
    except KeyError:
        return set()  # openpyxl will refuse the file
    if info.file_size > limits.max_bytes:
        raise unpacks_too_big(file, CONTENT_TYPES, info.file_size, limits.max_bytes)
    try:
        root = fromstring(zf.read(info))
    except Exception as exc:
        raise _unreadable(file, exc) from exc
    defaults: dict[str, str] = {}
    overrides: dict[str, str] = {}
    for el in root:
        if _local(el.tag) == "Default":
            defaults[el.get("Extension", "").lower()] = el.get("ContentType", "")
        elif _local(el.tag) == "Override":
            overrides[el.get("PartName", "").lstrip("/")] = el.get("ContentType", "")
    return {
        name
        for name in zf.namelist()
        if overrides.get(name, defaults.get(name.rpartition(".")[2].lower())) == WORKSHEET_TYPE
        and name not in READ_WHOLE
        and not name.endswith(".rels")
    }


def check_archive(zf: zipfile.ZipFile, file: str, limits: ImportLimits) -> None:
    """Refuse a zip whose parts unpack past the limits, by the sizes it declares (reading enforces them).

    Worksheet parts are streamed and may be large; every other part (shared strings, styles) is read whole, so
    each must stay within the byte limit.
    """
    streamed = streamed_parts(zf, file, limits)
    total = 0
    for info in zf.infolist():
        total += info.file_size
        if info.filename not in streamed and info.file_size > limits.max_bytes:
            raise unpacks_too_big(file, info.filename, info.file_size, limits.max_bytes)
    if total > limits.max_unpacked:
        raise unpacks_too_big(file, "全部内容", total, limits.max_unpacked)


def _merge(ref: str) -> Merge:
    from openpyxl.utils.cell import range_boundaries  # startup: openpyxl loads only when a spreadsheet is read

    min_col, min_row, max_col, max_row = range_boundaries(ref)
    if min_col is None or min_row is None or max_col is None or max_row is None:
        raise ValueError(ref)  # a whole-column or whole-row reference has no place in mergeCell
    return Merge(min_col, min_row, max_col, max_row)


class _Refused(Exception):
    """A DTD or entity declaration in a sheet part: refused (no entity expansion, no external fetch)."""


class _SheetScan:
    """Expat handlers that count a sheet's rows with content and collect its merged ranges, keeping nothing else."""

    def __init__(self, file: str, title: str, limits: ImportLimits, count: SheetCount) -> None:
        self.file, self.title, self.limits, self.count = file, title, limits, count
        self.merges: list[Merge] = []
        self.has_value = False
        self.in_value = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "row":
            self.has_value = False
        elif tag in ("v", "t"):  # a value, or the text of an inline string
            self.in_value = True
        elif tag == "mergeCell":
            self.merge(attrs.get("ref", ""))

    def end(self, name: str) -> None:
        tag = _local(name)
        if tag in ("v", "t"):
            self.in_value = False
        elif tag == "row" and self.has_value:
            self.count.rows += 1
            if self.count.rows > self.limits.max_rows:
                raise too_many_rows(self.file, self.title, self.limits)

    def text(self, data: str) -> None:
        if self.in_value and data:
            self.has_value = True

    def merge(self, ref: str) -> None:
        try:
            merge = _merge(ref)
        except (ValueError, TypeError) as exc:
            raise ImportFailed(
                [Problem(self.file, f"合并单元格区域“{ref}”无法识别，文件可能已损坏", sheet=self.title)]
            ) from exc
        self.count.merged_cells += (merge.max_col - merge.min_col + 1) * (merge.max_row - merge.min_row + 1)
        if self.count.merged_cells > self.limits.max_merged_cells:
            raise too_many_merged(self.file, self.title, ref, self.count.merged_cells, self.limits)
        self.merges.append(merge)


def _refuse_declarations(*_args: object) -> None:
    raise _Refused


def scan_sheet(source: IO[bytes], file: str, title: str, limits: ImportLimits, count: SheetCount) -> list[Merge]:
    """The sheet's merged ranges, counting its rows with content into ``count``; refuses past a limit.

    A streaming expat parse that builds no tree (memory stays flat however long the sheet); a DTD or entity
    declaration is refused, as defusedxml does.
    """
    scan = _SheetScan(file, title, limits, count)
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_declarations
    parser.EntityDeclHandler = _refuse_declarations
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.text
    try:
        while chunk := source.read(1 << 16):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Refused as exc:
        raise ImportFailed([Problem(file, "工作表含有 XML 文档类型声明，文件异常，拒绝导入", sheet=title)]) from exc
    return scan.merges


@contextmanager
def open_xlsx(path: Path, limits: ImportLimits) -> Iterator[tuple[datetime, list[BookSheet]]]:
    """(the workbook's date epoch, its worksheets checked against ``limits``); the file is closed on exit."""
    import openpyxl  # startup: openpyxl loads only when a spreadsheet is read

    file = path.name
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _unreadable(file, exc) from exc
    with zf, path.open("rb") as stream:  # openpyxl's own zip on a file this function closes, whatever happens
        check_archive(zf, file, limits)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unsupported extensions, default styles: harmless
                wb = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        except Exception as exc:
            raise _unreadable(file, exc) from exc
        try:
            count = SheetCount()
            sheets: list[BookSheet] = []
            for ws in wb.worksheets:
                try:
                    with zf.open(ws._worksheet_path) as source:  # the part openpyxl streams from
                        merges = scan_sheet(source, file, ws.title, limits, count)
                except ImportFailed:
                    raise
                except Exception as exc:
                    raise _unreadable(file, exc) from exc
                sheets.append(BookSheet(file, ws.title, merges, ws))
            yield wb.epoch, sheets
        finally:
            wb.close()

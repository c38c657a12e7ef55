"""Read .xlsx and .csv files into plain rows of text cells, keeping the raw values next to the text."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from bot.importer.limits import ImportLimits, too_big, too_many_rows
from bot.importer.problems import ImportFailed, Problem
from bot.importer.xlsx import Merge, open_xlsx

BLANK_ROWS_STOP = 20  # consecutive blank rows after which a sheet is taken to have ended (phantom rows)


@dataclass(slots=True)
class Cell:
    """One cell: its text (stripped), the raw value and whether it was copied from a merged range."""

    text: str
    raw: Any = None
    merged: bool = False

    @property
    def blank(self) -> bool:
        """True when the cell has no text."""
        return not self.text

    @property
    def is_number(self) -> bool:
        """True when the file stored a number (not text) in this cell."""
        return isinstance(self.raw, int | float) and not isinstance(self.raw, bool)


@dataclass(slots=True)
class Row:
    """A non-blank row with its number as the office sees it."""

    number: int
    cells: list[Cell]
    banner: bool = False  # one value merged across several columns: a title or section line

    def get(self, col: int) -> Cell:
        """The cell at ``col`` (0-based), blank when the row is shorter."""
        return self.cells[col] if col < len(self.cells) else Cell("")


@dataclass(slots=True)
class Sheet:
    """One table source: a worksheet or a whole CSV file."""

    file: str
    name: str | None
    rows: list[Row] = field(default_factory=list)
    epoch: datetime = datetime(1899, 12, 30)  # noqa: DTZ001 - Excel serial epoch, naive by design


def cell_text(value: Any) -> str:
    """A cell value as text: numbers without a spurious ``.0``, dates as ISO text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value).strip()


def read_file(path: Path, limits: ImportLimits | None = None) -> list[Sheet]:
    """Every sheet of ``path`` (.xlsx / .xlsm / .csv); raises ImportFailed when unreadable or past ``limits``."""
    limits = limits or ImportLimits()
    suffix = path.suffix.lower()
    name = path.name
    if not path.exists():
        raise ImportFailed([Problem(name, f"文件不存在：{path}")])
    if suffix == ".xls":
        raise ImportFailed([Problem(name, "不支持旧版 .xls 格式，请在 Excel 中“另存为” .xlsx 或 CSV 后再导入")])
    if suffix not in (".xlsx", ".xlsm", ".csv", ".txt"):
        raise ImportFailed([Problem(name, f"不支持的文件类型“{suffix or '无扩展名'}”，请使用 .xlsx 或 .csv")])
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise too_big(name, size, limits)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, limits)
    return [_read_csv(path, limits)]


def _fills(merges: list[Merge]) -> tuple[dict[int, list[tuple[int, int]]], set[int]]:
    """Per row, the (column, top row) of each merged range that copies its top-left value down; banner rows.

    Bounded by the merged-cell limit: a range adds one entry per row below its top row.
    """
    fills: dict[int, list[tuple[int, int]]] = {}
    banners: set[int] = set()
    for m in merges:
        if m.max_col - m.min_col >= 2 and m.min_row == m.max_row:
            banners.add(m.min_row)
        for r in range(m.min_row + 1, m.max_row + 1):
            fills.setdefault(r, []).append((m.min_col, m.min_row))
    return fills, banners


def _read_xlsx(path: Path, limits: ImportLimits) -> list[Sheet]:
    sheets: list[Sheet] = []
    kept = 0
    with open_xlsx(path, limits) as (epoch, book):
        for bs in book:
            fills, banners = _fills(bs.merges)
            wanted: dict[int, set[int]] = {}  # top row → columns whose value a range copies down
            for m in bs.merges:
                if m.max_row > m.min_row:
                    wanted.setdefault(m.min_row, set()).add(m.min_col)
            tops: dict[tuple[int, int], Any] = {}  # (top row, column) → the value copied down
            sheet = Sheet(path.name, bs.title, epoch=epoch)
            blank_run = 0
            for number, values in enumerate(bs.rows(), start=1):
                for c in wanted.get(number, ()):
                    tops[(number, c)] = values[c - 1] if c - 1 < len(values) else None
                cells = [Cell(cell_text(v), v) for v in values]
                while cells and cells[-1].raw is None:
                    cells.pop()  # styled empty cells at a row's end (up to column XFD) hold nothing
                for c, top in fills.get(number, ()):
                    if c - 1 >= len(cells):
                        cells += [Cell("") for _ in range(c - len(cells))]
                    if cells[c - 1].raw is None:
                        value = tops.get((top, c))
                        cells[c - 1] = Cell(cell_text(value), value, merged=True)
                if all(c.blank for c in cells):
                    blank_run += 1
                    if blank_run >= BLANK_ROWS_STOP:
                        break
                    continue
                blank_run = 0
                kept += 1
                if kept > limits.max_rows:
                    raise too_many_rows(path.name, bs.title, limits)
                sheet.rows.append(Row(number, cells, banner=number in banners))
            sheets.append(sheet)
    return sheets


BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode(data: bytes) -> str:
    """BOM, then strict UTF-8, then GB18030 (what Chinese Excel writes as "CSV")."""
    for bom, enc in BOMS:
        if data.startswith(bom):
            return data.decode(enc)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _encodings(path: Path) -> tuple[str, ...]:
    """The encodings to try on a CSV file, as :func:`decode` does: its BOM's, else UTF-8 then GB18030."""
    with path.open("rb") as f:
        head = f.read(3)
    for bom, enc in BOMS:
        if head.startswith(bom):
            return (enc,)
    return ("utf-8", "gb18030")


def _read_csv(path: Path, limits: ImportLimits) -> Sheet:
    """The file streamed record by record in the first encoding that reads it whole (nothing else is kept)."""
    encodings = _encodings(path)
    for i, enc in enumerate(encodings):
        try:
            return _read_csv_as(path, enc, limits)
        except UnicodeDecodeError as exc:
            if i == len(encodings) - 1:
                raise ImportFailed(
                    [Problem(path.name, "无法识别文件编码（既不是 UTF-8 也不是 GBK），请另存为 UTF-8 CSV")]
                ) from exc
        except csv.Error as exc:
            raise ImportFailed([Problem(path.name, f"CSV 格式有误（{exc}），请用 Excel 重新另存为 CSV")]) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def _read_csv_as(path: Path, encoding: str, limits: ImportLimits) -> Sheet:
    sheet = Sheet(path.name, None)
    blank_run = 0
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f)
        for values in reader:
            number = reader.line_num  # physical line where the record ended; the row number without quoted newlines
            cells = [Cell(v.strip(), v) for v in values]
            if all(c.blank for c in cells):
                blank_run += 1
                if blank_run >= BLANK_ROWS_STOP:
                    break
                continue
            blank_run = 0
            if len(sheet.rows) >= limits.max_rows:
                raise too_many_rows(path.name, None, limits)
            sheet.rows.append(Row(number, cells))
    return sheet

"""Read .xlsx and .csv files into plain rows of text cells, keeping the raw values next to the text."""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from bot.importer.problems import ImportFailed, Problem

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


def read_file(path: Path) -> list[Sheet]:
    """Every sheet of ``path`` (.xlsx / .xlsm / .csv); raises ImportFailed when unreadable."""
    suffix = path.suffix.lower()
    name = path.name
    if not path.exists():
        raise ImportFailed([Problem(name, f"文件不存在：{path}")])
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt"):
        return [_read_csv(path)]
    if suffix == ".xls":
        raise ImportFailed([Problem(name, "不支持旧版 .xls 格式，请在 Excel 中“另存为” .xlsx 或 CSV 后再导入")])
    raise ImportFailed([Problem(name, f"不支持的文件类型“{suffix or '无扩展名'}”，请使用 .xlsx 或 .csv")])


def _read_xlsx(path: Path) -> list[Sheet]:
    import openpyxl  # startup: openpyxl loads only when a spreadsheet is read

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unsupported extensions, default styles: harmless
            wb = openpyxl.load_workbook(path, read_only=False, data_only=True)
    except Exception as exc:
        raise ImportFailed(
            [Problem(path.name, f"无法打开 Excel 文件（{type(exc).__name__}），请确认是 .xlsx 文件")]
        ) from exc
    sheets: list[Sheet] = []
    try:
        for ws in wb.worksheets:
            fills: dict[int, list[tuple[int, Any]]] = {}
            banners: set[int] = set()
            for rng in ws.merged_cells.ranges:
                top = ws.cell(rng.min_row, rng.min_col).value
                if rng.max_col - rng.min_col >= 2 and rng.min_row == rng.max_row:
                    banners.add(rng.min_row)
                for r in range(rng.min_row + 1, rng.max_row + 1):
                    fills.setdefault(r, []).append((rng.min_col, top))
            sheet = Sheet(path.name, ws.title, epoch=wb.epoch)
            blank_run = 0
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = [Cell(cell_text(v), v) for v in values]
                for c, top in fills.get(number, ()):
                    if c - 1 < len(cells) and cells[c - 1].raw is None:
                        cells[c - 1] = Cell(cell_text(top), top, merged=True)
                if all(c.blank for c in cells):
                    blank_run += 1
                    if blank_run >= BLANK_ROWS_STOP:
                        break
                    continue
                blank_run = 0
                sheet.rows.append(Row(number, cells, banner=number in banners))
            sheets.append(sheet)
    finally:
        wb.close()
    return sheets


def decode(data: bytes) -> str:
    """BOM, then strict UTF-8, then GB18030 (what Chinese Excel writes as "CSV")."""
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(enc)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _read_csv(path: Path) -> Sheet:
    try:
        text = decode(path.read_bytes())
    except UnicodeDecodeError as exc:
        raise ImportFailed(
            [Problem(path.name, "无法识别文件编码（既不是 UTF-8 也不是 GBK），请另存为 UTF-8 CSV")]
        ) from exc
    sheet = Sheet(path.name, None)
    blank_run = 0
    reader = csv.reader(io.StringIO(text, newline=""))
    for values in reader:
        number = reader.line_num  # physical line where the record ended; equals the row number without quoted newlines
        cells = [Cell(v.strip(), v) for v in values]
        if all(c.blank for c in cells):
            blank_run += 1
            if blank_run >= BLANK_ROWS_STOP:
                break
            continue
        blank_run = 0
        sheet.rows.append(Row(number, cells))
    return sheet

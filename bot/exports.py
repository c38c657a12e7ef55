"""What exports (CSV today, spreadsheets later) write into a cell: text that a spreadsheet never runs as a formula."""

from __future__ import annotations

from typing import Any

# A spreadsheet reads a cell starting with one of these as a formula (or as the start of one: tab and
# carriage return are stripped by some programs, leaving what follows them first).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """``value`` as cell text; text a spreadsheet would run as a formula gets a leading apostrophe (kept as text).

    ``None`` is an empty cell; numbers are written as they are (a negative number stays a number).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(values: list[Any]) -> list[str]:
    """A row of cells, each through :func:`safe_cell`."""
    return [safe_cell(v) for v in values]

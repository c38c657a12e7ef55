"""Export cells: text a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import pytest

from bot.exports import safe_cell, safe_row


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x","点我")', '\'=HYPERLINK("http://x","点我")'),
        ("+1+2", "'+1+2"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("考生晕倒=已送医", "考生晕倒=已送医"),
        ("2026000003 抄袭", "2026000003 抄袭"),
        ("", ""),
        (None, ""),
        (12, "12"),
        (-3, "-3"),
    ],
)
def test_safe_cell(value: object, cell: str) -> None:
    """Only a cell that starts like a formula gets the apostrophe; numbers and other text stay as they are."""
    assert safe_cell(value) == cell


def test_safe_row() -> None:
    """A row goes through the same function cell by cell."""
    assert safe_row([1, "=A1", "ok"]) == ["1", "'=A1", "ok"]

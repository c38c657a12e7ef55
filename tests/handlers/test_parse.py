"""Reading phone typing: numerals, rooms, tickets, days, masking."""

from __future__ import annotations

from datetime import date

import pytest

from bot.privacy import mask_name, mask_ticket
from handlers._parse import cn_number, parse_day, report_id, split_args


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("３", 3),
        ("三", 3),
        ("两", 2),
        ("十", 10),
        ("十二", 12),
        ("二十八", 28),
        ("一百零五", 105),
        ("三十", 30),
        ("零", 0),
        ("张三", None),
        ("", None),
        ("3a", None),
    ],
)
def test_cn_number(text: str, value: int | None) -> None:
    """Arabic, full-width and Chinese numerals become ints; anything else is None."""
    assert cn_number(text) == value


@pytest.mark.parametrize(
    ("text", "room", "tickets", "rest"),
    [
        ("3 2026000003", 3, ["2026000003"], ""),
        ("03 2026000003", 3, ["2026000003"], ""),
        ("3号 2026000003", 3, ["2026000003"], ""),
        ("第3考场 2026000003", 3, ["2026000003"], ""),
        ("3考场 2026000003", 3, ["2026000003"], ""),
        ("三考场 2026000003", 3, ["2026000003"], ""),
        ("第三考场，2026000003、2026000004", 3, ["2026000003", "2026000004"], ""),
        ("2026000003 3号", 3, ["2026000003"], ""),
        ("2026000003 坐 3号 位", None, ["2026000003"], "坐 3号 位"),
        ("２０２６０００００３", None, ["2026000003"], ""),
        ("第3 无", 3, [], "无"),
        ("无", None, [], "无"),
    ],
)
def test_split_args(text: str, room: int | None, tickets: list[str], rest: str) -> None:
    """Room forms, tickets and the rest are told apart."""
    a = split_args(text)
    assert (a.room, a.tickets, a.rest) == (room, tickets, rest)


@pytest.mark.parametrize(
    ("word", "day"),
    [
        ("today", date(2026, 12, 5)),
        ("今天", date(2026, 12, 5)),
        ("yesterday", date(2026, 12, 4)),
        ("昨天", date(2026, 12, 4)),
        ("前天", date(2026, 12, 3)),
        ("2026-12-01", date(2026, 12, 1)),
        ("2026年12月1日", date(2026, 12, 1)),
        ("12月1日", date(2026, 12, 1)),
        ("12-01", date(2026, 12, 1)),
        ("2026-13-01", None),
        ("上周", None),
    ],
)
def test_parse_day(word: str, day: date | None) -> None:
    """Day words and dates relative to 2026-12-05."""
    assert parse_day(word, date(2026, 12, 5)) == day


def test_masking() -> None:
    """Group chats see 2026**0105 and 张*."""
    assert mask_ticket("2026000105") == "2026**0105"
    assert mask_ticket("202600000105") == "2026****0105"
    assert mask_name("张三") == "张*"


@pytest.mark.parametrize(
    ("word", "rid"), [("12", 12), ("#12", 12), ("编号12", 12), ("十二", 12), ("abc", None), ("0", None)]
)
def test_report_id(word: str, rid: int | None) -> None:
    """A report number as typed."""
    assert report_id(word) == rid

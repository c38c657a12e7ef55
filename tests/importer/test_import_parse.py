"""Cell parsers: dates, times, names, rooms, kinds, roles, IDs."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from bot.importer.parse import (
    ParseError,
    parse_date,
    parse_id_number,
    parse_kind,
    parse_roles,
    parse_time_range,
    parse_when,
    room_key,
    split_names,
)
from bot.importer.read import Cell, decode
from bot.store.tables import Duty, Role, SessionKind


@pytest.mark.parametrize(
    "text",
    ["8:30-10:00", "8:30—10:00", "8：30—10：00", "08:30--10:00", "8:30~10:00", "上午8:30-10:00", "8:30至10:00",
     "８：３０－１０：００", " 8:30 ― 10:00 ", "8:30–10:00", "8:30〜10:00"],
)  # fmt: skip
def test_time_spellings(text: str) -> None:
    """Every separator and full-width form gives 8:30-10:00."""
    assert parse_time_range(text) == (time(8, 30), time(10, 0))


def test_afternoon_and_bad_times() -> None:
    """下午2:00-4:00 is 14:00-16:00; 8点半 and an end before the start are refused."""
    assert parse_time_range("下午2:00-4:00") == (time(14), time(16))
    with pytest.raises(ParseError, match="无法识别的时间"):
        parse_time_range("8点半")
    with pytest.raises(ParseError, match="结束时间不晚于开始时间"):
        parse_time_range("10:00-9:00")


@pytest.mark.parametrize(
    "text",
    ["2026年12月5日", "2026/12/5", "2026-12-05", "2026.12.5", "2026年12月05日（星期六）", "２０２６年１２月５日"],
)
def test_date_spellings(text: str) -> None:
    """Chinese, slashed, ISO, dotted and full-width dates."""
    assert parse_date(Cell(text), year=None) == date(2026, 12, 5)


def test_date_cells_and_years() -> None:
    """Datetime cells, Excel serials, and month-day needing a year."""
    assert parse_date(Cell("", datetime(2026, 12, 5)), year=None) == date(2026, 12, 5)  # noqa: DTZ001
    assert parse_date(Cell("46361", 46361), year=None) == date(2026, 12, 5)
    assert parse_date(Cell("12月5日"), year=2026) == date(2026, 12, 5)
    with pytest.raises(ParseError, match="没有年份"):
        parse_date(Cell("12月5日"), year=None)


def test_date_and_time_in_one_cell() -> None:
    """2026年01月21日(18:30-20:20) and 2026年12月5日 9：00—11：00."""
    assert parse_when(Cell("2026年01月21日(18:30-20:20)"), year=None) == (date(2026, 1, 21), time(18, 30), time(20, 20))
    assert parse_when(Cell("2026年12月5日 9：00—11：00"), year=None) == (date(2026, 12, 5), time(9), time(11))
    assert parse_when(Cell("9:00-11:00"), year=None) == (None, time(9), time(11))


def test_names_split_and_labels() -> None:
    """Separators split names; labels give duties; placeholders are dropped."""
    assert [n.name for n in split_names("张三、李四,王五，赵六/钱七;孙八；周九 吴十")] == [
        "张三", "李四", "王五", "赵六", "钱七", "孙八", "周九", "吴十",
    ]  # fmt: skip
    named = split_names("主监考：张三；副监考: 李四 王五")
    assert [(n.name, n.duty) for n in named] == [("张三", Duty.CHIEF), ("李四", Duty.DEPUTY), ("王五", Duty.DEPUTY)]
    assert [(n.name, n.duty) for n in split_names("考评组长：张燕、朱志(副)")] == [
        ("张燕", Duty.CHIEF),
        ("朱志", Duty.DEPUTY),
    ]
    assert split_names("/") == []


@pytest.mark.parametrize("text", ["第1考场", "1", "01", "001", "1号考场", "1考场", "第一考场", "考场1", "第 1 考场"])
def test_room_keys(text: str) -> None:
    """All spellings of room 1 share the key "1"."""
    assert room_key(text) == "1"


def test_other_room_keys() -> None:
    """Named rooms keep their text (full-width hyphen normalised)."""
    assert room_key("教2－305") == "教2-305"
    assert room_key("第12考场") == room_key("12") == "12"


def test_kinds_and_roles() -> None:
    """理论/上机/机考/实操/操作技能, and Chinese role names, several in a cell."""
    assert parse_kind("理论") == SessionKind.THEORY
    assert parse_kind("机考") == parse_kind("上机") == SessionKind.COMPUTER
    assert parse_kind("操作技能") == parse_kind("实操") == SessionKind.PRACTICAL
    assert parse_roles("考务、管理员") == [Role.OFFICE, Role.ADMIN]
    assert parse_roles("质量督导") == [Role.SUPERVISOR]
    with pytest.raises(ParseError):
        parse_roles("保安")


def test_id_numbers() -> None:
    """Text IDs pass (X upper-cased); numbers and scientific notation are refused."""
    assert parse_id_number(Cell("15060319920725273x")) == "15060319920725273X"
    with pytest.raises(ParseError, match="数字格式"):
        parse_id_number(Cell("150603199207252000", 1.50603199207252e17))
    with pytest.raises(ParseError, match="数字格式"):
        parse_id_number(Cell("1.50603E+17"))
    with pytest.raises(ParseError, match="18位"):
        parse_id_number(Cell("1506031992"))


def test_decode_order() -> None:
    """BOM first, then strict UTF-8, then GB18030."""
    assert decode("\ufeff姓名".encode()) == "姓名"
    assert decode("姓名".encode()) == "姓名"
    assert decode("姓名".encode("gbk")) == "姓名"

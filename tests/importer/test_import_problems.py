"""Each kind of bad row is reported with file, sheet, row, column and reason, and nothing is written."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.importer import ImportFailed
from tests.importer.conftest import SAMPLES, ImportFn, sample_rows

Counts = Callable[[], Awaitable[dict[str, int]]]
Xlsx = Callable[..., Path]


async def _fails(imp: ImportFn, counts: Counts, kind: str, path: Path, **kw: Any) -> list[str]:
    before = await counts()
    with pytest.raises(ImportFailed) as info:
        await imp(kind, path, **kw)
    assert await counts() == before
    return [str(p) for p in info.value.problems]


def _schedule(xlsx: Xlsx, edit: Callable[[list[list[Any]]], None], name: str = "schedule.xlsx") -> Path:
    rows = sample_rows("schedule.xlsx")
    edit(rows)
    return xlsx(name, rows, sheet="12月5日")


async def test_bad_time(imp: ImportFn, counts: Counts, xlsx: Xlsx, staffed: None) -> None:
    """A time like 8点半 is refused with the row, the column and an example."""
    path = _schedule(xlsx, lambda r: r[6].__setitem__(2, "8点半"))
    problems = await _fails(imp, counts, "schedule", path)
    assert problems == ["schedule.xlsx 工作表「12月5日」第7行「考试时间」：无法识别的时间“8点半”，应如“8:30-10:00”"]


async def test_unknown_staff_name(imp: ImportFn, counts: Counts, xlsx: Xlsx, staffed: None) -> None:
    """A name that is not on the staff list is an error naming the name."""
    path = _schedule(xlsx, lambda r: r[3].__setitem__(9, "王小明"))
    problems = await _fails(imp, counts, "schedule", path)
    assert len(problems) == 1
    assert problems[0].startswith("schedule.xlsx 工作表「12月5日」第4行「主监考」：“王小明”不在人员名单中")


async def test_ambiguous_staff_name(imp: ImportFn, counts: Counts, xlsx: Xlsx, tmp_path: Path, staffed: None) -> None:
    """Two staff members with the same name cannot be told apart: an error."""
    extra = tmp_path / "more.csv"
    extra.write_text("姓名,角色,手机号,企业微信账号\n唐玉英,监考员,13900000000,wx_other\n", encoding="utf-8")
    await imp("staff", extra)
    problems = await _fails(imp, counts, "schedule", SAMPLES / "schedule.xlsx")
    assert problems == [
        "schedule.xlsx 工作表「12月5日」第3行「主监考」："
        "人员名单中有 2 位“唐玉英”，无法确定是哪一位；请在人员名单中区分姓名后再导入"
    ]


async def test_bad_date(imp: ImportFn, counts: Counts, xlsx: Xlsx, staffed: None) -> None:
    """An impossible date is reported once (not again on the merged rows below)."""
    path = _schedule(xlsx, lambda r: r[2].__setitem__(1, "2026年13月5日"))
    problems = await _fails(imp, counts, "schedule", path)
    assert problems == ["schedule.xlsx 工作表「12月5日」第3行「考试日期」：日期“2026年13月5日”不存在"]


async def test_missing_required_column(imp: ImportFn, counts: Counts, xlsx: Xlsx, staffed: None) -> None:
    """A schedule without a 考场 column is refused."""

    def drop_room(rows: list[list[Any]]) -> None:
        for row in rows:
            del row[6]

    problems = await _fails(imp, counts, "schedule", _schedule(xlsx, drop_room))
    assert problems == [
        "schedule.xlsx 工作表「12月5日」：缺少必需的列「考场」（也可写作：考场号、考场名称、考试教室、考场编号、教室）"
    ]


async def test_duplicate_room_in_session(imp: ImportFn, counts: Counts, xlsx: Xlsx, staffed: None) -> None:
    """The same room twice in one session is an error pointing at the first row."""
    path = _schedule(xlsx, lambda r: r[3].__setitem__(6, "1"))
    problems = await _fails(imp, counts, "schedule", path)
    assert len(problems) == 1
    assert problems[0].startswith(
        "schedule.xlsx 工作表「12月5日」第4行「考场」：考场“1”在场次“第1场”中重复（第3行已有）"
    )


async def test_month_day_without_year(imp: ImportFn, counts: Counts, xlsx: Xlsx, staffed: None) -> None:
    """12月5日 without a year anywhere is an error; --year (or a year in the title) makes it import."""

    def no_year(rows: list[list[Any]]) -> None:
        rows[0][0] = "职业技能等级认定考场安排表"
        for row in rows[2:]:
            if row[1] is not None:
                row[1] = "12月5日"

    path = _schedule(xlsx, no_year)
    problems = await _fails(imp, counts, "schedule", path)
    assert len(problems) == 6  # one per session (the merged rows below are not reported again)
    assert "没有年份" in problems[0] and "--year" in problems[0]
    result = await imp("schedule", path, year=2026)
    assert result.count("场次").created == 6


async def test_id_number_stored_as_number(imp: ImportFn, counts: Counts, xlsx: Xlsx, scheduled: None) -> None:
    """An 18-digit 身份证号 stored as a number has lost digits: refused."""
    rows = sample_rows("roster.xlsx")
    rows[1][2] = float(rows[1][2])
    problems = await _fails(imp, counts, "roster", xlsx("roster.xlsx", rows, sheet="考生名册"))
    assert len(problems) == 1
    assert problems[0].startswith(
        "roster.xlsx 工作表「考生名册」第2行「身份证号」：身份证号以数字格式保存（显示为“1.50603E+17”）"
    )


async def test_unknown_room_in_roster(imp: ImportFn, counts: Counts, xlsx: Xlsx, scheduled: None) -> None:
    """A candidate in a room that the schedule does not have is an error."""
    rows = sample_rows("roster.xlsx")
    rows[5][3] = "第99考场"
    problems = await _fails(imp, counts, "roster", xlsx("roster.xlsx", rows, sheet="考生名册"))
    assert problems == [
        "roster.xlsx 工作表「考生名册」第6行「考场」："
        "考场“第99考场”在已导入的考场安排中不存在；请先导入考场安排，或检查考场号"
    ]


async def test_unknown_role(imp: ImportFn, counts: Counts, tmp_path: Path) -> None:
    """A role the bot does not know is an error in the GBK staff CSV."""
    text = (SAMPLES / "staff.csv").read_bytes().decode("gbk").replace("付兰,监考员", "付兰,保安")
    path = tmp_path / "staff.csv"
    path.write_bytes(text.encode("gbk"))
    problems = await _fails(imp, counts, "staff", path)
    assert problems == [
        "staff.csv第2行「角色」：无法识别的角色“保安”，应为监考员、考评员、内部质量督导员、考务办公室或管理员"
    ]


async def test_every_problem_reported_at_once(imp: ImportFn, counts: Counts, xlsx: Xlsx, staffed: None) -> None:
    """Several bad rows give one problem each, all in one failure."""

    def spoil(rows: list[list[Any]]) -> None:
        rows[2][2] = "8点半"  # row 3 time
        rows[4][5] = "面试"  # row 5 kind
        rows[8][10] = "不存在的人"  # row 9 deputy
        rows[11][8] = "十五"  # row 12 head count

    problems = await _fails(imp, counts, "schedule", _schedule(xlsx, spoil))
    rows_cols = [p.split("：", 1)[0] for p in problems]
    assert rows_cols == [
        "schedule.xlsx 工作表「12月5日」第3行「考试时间」",
        "schedule.xlsx 工作表「12月5日」第5行「考试类型」",
        "schedule.xlsx 工作表「12月5日」第9行「副监考」",
        "schedule.xlsx 工作表「12月5日」第12行「应考人数」",
    ]


async def test_wrong_file_kind(imp: ImportFn, counts: Counts) -> None:
    """Giving the roster as a staff list says no header was found."""
    problems = await _fails(imp, counts, "schedule", SAMPLES / "staff.csv")
    assert len(problems) == 1 and "没有找到考场安排的表头" in problems[0]

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


def _staff_csv(tmp_path: Path, old: str, new: str) -> Path:
    """The GBK sample staff list with one piece of text replaced."""
    text = (SAMPLES / "staff.csv").read_bytes().decode("gbk")
    assert old in text
    path = tmp_path / "staff.csv"
    path.write_bytes(text.replace(old, new, 1).encode("gbk"))
    return path


def _roster(xlsx: Xlsx, edit: Callable[[list[list[Any]]], None]) -> Path:
    rows = sample_rows("roster.xlsx")
    edit(rows)
    return xlsx("roster.xlsx", rows, sheet="考生名册")


async def test_blank_name_in_staff(imp: ImportFn, counts: Counts, tmp_path: Path) -> None:
    """A staff row without a name is refused with its row and the 姓名 column."""
    problems = await _fails(imp, counts, "staff", _staff_csv(tmp_path, "付兰,监考员", ",监考员"))
    assert problems == ["staff.csv第2行「姓名」：姓名为空"]


async def test_blank_name_in_roster(imp: ImportFn, counts: Counts, xlsx: Xlsx, scheduled: None) -> None:
    """A candidate row without a name is refused with its row and the 姓名 column."""
    problems = await _fails(imp, counts, "roster", _roster(xlsx, lambda r: r[3].__setitem__(1, None)))
    assert problems == ["roster.xlsx 工作表「考生名册」第4行「姓名」：姓名为空"]


async def test_blank_session_code(imp: ImportFn, counts: Counts, xlsx: Xlsx, staffed: None) -> None:
    """A first data row without 场次 has nothing to carry down: refused."""
    path = _schedule(xlsx, lambda r: r[2].__setitem__(0, None))
    problems = await _fails(imp, counts, "schedule", path)
    assert problems[0] == "schedule.xlsx 工作表「12月5日」第3行「场次」：场次为空，且上面没有可沿用的场次"


async def test_blank_room(imp: ImportFn, counts: Counts, xlsx: Xlsx, staffed: None) -> None:
    """The first row of a session without a 考场 is refused (there is no room above to continue)."""
    path = _schedule(xlsx, lambda r: r[4].__setitem__(6, None))
    problems = await _fails(imp, counts, "schedule", path)
    assert problems == ["schedule.xlsx 工作表「12月5日」第5行「考场」：考场为空"]


async def test_date_in_time_differs_from_date_column(imp: ImportFn, counts: Counts, xlsx: Xlsx, staffed: None) -> None:
    """考试时间 carrying a date other than 考试日期 is refused naming both dates."""
    path = _schedule(xlsx, lambda r: r[2].__setitem__(2, "2026年12月6日 8:30—10:00"))
    problems = await _fails(imp, counts, "schedule", path)
    assert problems == [
        "schedule.xlsx 工作表「12月5日」第3行「考试时间」：考试时间中的日期 2026-12-06 与考试日期 2026-12-05 不一致"
    ]


@pytest.mark.parametrize(
    ("col", "value", "expected"),
    [
        (4, "三级/高级工", "第4行「等级」：场次“第1场”的等级“三级/高级工”与第3行的“四级/中级工”不一致"),
        (5, "实操", "第4行「考试类型」：场次“第1场”的考试类型“实操”与第3行的“理论”不一致"),
    ],
)
async def test_rows_of_one_session_disagree(
    imp: ImportFn, counts: Counts, xlsx: Xlsx, staffed: None, col: int, value: str, expected: str
) -> None:
    """Two rooms of one 场次 with a different level or kind: refused at the second row."""
    path = _schedule(xlsx, lambda r: r[3].__setitem__(col, value))
    problems = await _fails(imp, counts, "schedule", path)
    assert problems == [f"schedule.xlsx 工作表「12月5日」{expected}"]


async def test_merged_room_into_next_session_is_that_sessions_room(
    imp: ImportFn, xlsx: Xlsx, staffed: None, db: Any
) -> None:
    """A 考场 cell merged down into the next 场次 names that session's room (same as above), not an error."""
    from sqlmodel import select

    from bot.store.tables import ExamSession, Room

    rows = sample_rows("schedule.xlsx")
    rows[4][6] = None  # row 5 (第2场) sits under the merged G4:G5 = 第2考场
    path = xlsx("schedule.xlsx", rows, sheet="12月5日", merges=("G4:G5",))
    await imp("schedule", path)
    async with db.session() as s:
        rooms = (
            await s.exec(select(Room.room_no).join(ExamSession).where(ExamSession.code == "第2场"))  # type: ignore[arg-type]
        ).all()
    assert sorted(rooms) == ["第2考场", "第4考场"]


def test_merged_room_cell_that_does_not_match() -> None:
    """A merged 考场 cell whose value differs from the room it continues is refused (reader-independent check)."""
    from bot.importer.read import Cell, Row, Sheet
    from bot.importer.schedule import parse_schedule
    from bot.importer.table import Collector

    rows = sample_rows("schedule.xlsx")[:4]
    sheet = Sheet("schedule.xlsx", "12月5日")
    for number, values in enumerate(rows, start=1):
        cells = [Cell("" if v is None else str(v), v) for v in values]
        if number == 4:
            cells[0] = Cell("第1场", "第1场", merged=True)
            cells[6] = Cell("第9考场", "第9考场", merged=True)
        sheet.rows.append(Row(number, cells))
    col = Collector("schedule.xlsx")
    parse_schedule([sheet], col, year=None)
    assert [str(p) for p in col.problems] == [
        "schedule.xlsx 工作表「12月5日」第4行「考场」：合并单元格中的考场与上一行不一致"
    ]


async def test_bad_certificate_date(imp: ImportFn, counts: Counts, tmp_path: Path) -> None:
    """An impossible 发证日期 is refused with the row and the column."""
    path = _staff_csv(tmp_path, "2025/3/28", "2025/2/30")
    problems = await _fails(imp, counts, "staff", path)
    assert len(problems) == 1
    assert problems[0].startswith("staff.csv第")
    assert "「考评员证发证日期」：" in problems[0] and "2025/2/30" in problems[0]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "任雪,监考员,13248876950,wx_783756",
            "任雪,监考员,13248876950,wx_299864",
            "staff.csv第3行「企业微信账号」：企业微信账号“wx_299864”与第2行重复",
        ),
        (
            "wx_783756,1227818069117096",
            "wx_783756,6524619128985908",
            "staff.csv第3行「钉钉userId」：钉钉userId“6524619128985908”与第2行重复",
        ),
    ],
)
async def test_duplicate_platform_id_in_staff_file(
    imp: ImportFn, counts: Counts, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    """The same WeCom or DingTalk id on two rows of the staff list is refused at the second row."""
    problems = await _fails(imp, counts, "staff", _staff_csv(tmp_path, old, new))
    assert problems == [expected]


async def test_duplicate_ticket(imp: ImportFn, counts: Counts, xlsx: Xlsx, scheduled: None) -> None:
    """The same 准考证号 twice in one session is refused at the second row, naming the first."""

    def dup(rows: list[list[Any]]) -> None:
        rows[2][0] = rows[1][0]

    problems = await _fails(imp, counts, "roster", _roster(xlsx, dup))
    assert problems == [
        "roster.xlsx 工作表「考生名册」第3行「准考证号」：准考证号“202612010101”在场次“第1场”中重复（第2行已有）"
    ]


@pytest.mark.parametrize("seat", ["靠窗", "1.5", "abc"])
async def test_bad_seat_number(imp: ImportFn, counts: Counts, xlsx: Xlsx, scheduled: None, seat: str) -> None:
    """A seat that is not a number (optionally with a letter) is refused with the row and the 座位号 column."""
    problems = await _fails(imp, counts, "roster", _roster(xlsx, lambda r: r[1].__setitem__(4, seat)))
    assert problems == [
        f"roster.xlsx 工作表「考生名册」第2行「座位号」：座位号“{seat}”无法识别，"
        "应为数字（如 01、12），可带字母（如 A01）"
    ]


async def test_file_neither_utf8_nor_gbk(imp: ImportFn, counts: Counts, tmp_path: Path) -> None:
    """Bytes that decode as neither UTF-8 nor GBK are refused with a hint to save as UTF-8."""
    path = tmp_path / "staff.csv"
    path.write_bytes("姓名,角色\n".encode() + b"\x80\x80,\xff\n")
    problems = await _fails(imp, counts, "staff", path)
    assert problems == ["staff.csv：无法识别文件编码（既不是 UTF-8 也不是 GBK），请另存为 UTF-8 CSV"]


async def test_old_xls_file(imp: ImportFn, counts: Counts, tmp_path: Path) -> None:
    """An old .xls workbook is refused with how to convert it."""
    path = tmp_path / "考场安排.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)  # the OLE2 signature of .xls
    problems = await _fails(imp, counts, "schedule", path)
    assert problems == ["考场安排.xls：不支持旧版 .xls 格式，请在 Excel 中“另存为” .xlsx 或 CSV 后再导入"]


async def test_missing_file(imp: ImportFn, counts: Counts, tmp_path: Path) -> None:
    """A path that does not exist is refused naming it."""
    path = tmp_path / "没有这个文件.xlsx"
    problems = await _fails(imp, counts, "schedule", path)
    assert problems == [f"没有这个文件.xlsx：文件不存在：{path}"]


@pytest.mark.parametrize("phone", ["abc", "12345", "1380013800", "23800138000", "010-123"])
async def test_bad_phone(imp: ImportFn, counts: Counts, tmp_path: Path, phone: str) -> None:
    """A phone that is neither a mobile nor a landline with area code is refused with row and column."""
    problems = await _fails(imp, counts, "staff", _staff_csv(tmp_path, "13792033845", phone))
    assert problems == [
        f"staff.csv第2行「手机号」：电话“{phone}”无法识别，应为 11 位手机号（如 13800138000）"
        "或带区号的固定电话（如 010-12345678，可带分机 010-12345678-123）"
    ]


@pytest.mark.parametrize(
    ("phone", "stored"),
    [
        ("137 9203 3845", "13792033845"),
        ("+86 137-9203-3845", "13792033845"),
        ("0571-88888888", "0571-88888888"),
        ("(010)12345678转123", "010-12345678-123"),
    ],
)
async def test_phone_forms_accepted(imp: ImportFn, tmp_path: Path, db: Any, phone: str, stored: str) -> None:
    """Mobiles with spaces or +86 and landlines with area code (and extension) import in one form."""
    from sqlmodel import select

    from bot.store.tables import Staff

    await imp("staff", _staff_csv(tmp_path, "13792033845", phone))
    async with db.session() as s:
        person = (await s.exec(select(Staff).where(Staff.name == "付兰"))).one()
    assert person.phone == stored

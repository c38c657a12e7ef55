"""Files laid out the way real offices send them: other headers, title rows, merges, CSV in GBK, several sheets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from sqlmodel import select

from bot.store.engine import Database
from bot.store.tables import Assignment, Duty, ExamSession, Room, SessionKind, Staff
from tests.importer.conftest import ImportFn

Xlsx = Callable[..., Path]


async def _duties(db: Database, code: str, room_no: str) -> dict[str, Duty]:
    async with db.session() as s:
        room = (
            await s.exec(select(Room).join(ExamSession).where(ExamSession.code == code, Room.room_no == room_no))
        ).one()
        rows = await s.exec(select(Staff.name, Assignment.duty).join(Staff).where(Assignment.room_id == room.id))
        return dict(rows.all())


async def test_synonyms_titles_merges_and_labels(db: Database, imp: ImportFn, xlsx: Xlsx, staffed: None) -> None:
    """Two title rows, synonym headers, merged 批次 cells, date+time in one cell, labelled names in one cell."""
    rows = [
        ["某某职业技能等级认定中心"],
        ["2026年12月认定考试 监考安排"],
        ["批次", "考试时间", "工种", "级别", "鉴定科目", "考场号", "地点", "人数", "监考教师", "督导员"],
        [
            "A1",
            "2026年12月5日 9：00—11：00",
            "电工",
            "四级",
            "理论知识",
            "01",
            "实训楼302",
            "30人",
            "主监考：唐玉英；副监考：孟雪涛",
            "朱超志",
        ],
        [None, "2026年12月5日 9：00—11：00", "电工", "四级", "理论知识", "02", "实训楼304", 30, "史敏杰、向军明", None],
        ["A2", "2026年12月5日(13:30-15:30)", "电工", "四级", "操作技能", "3号考场", "实训楼404", 15, "张燕", None],
    ]
    path = xlsx("安排.xlsx", rows, merges=("A1:J1", "A2:J2", "A4:A5"))
    result = await imp("schedule", path)
    assert result.count("场次").created == 2 and result.count("考场").created == 3
    assert "已按合并单元格向下填充 1 处" in result.render()
    assert await _duties(db, "A1", "01") == {"唐玉英": Duty.CHIEF, "孟雪涛": Duty.DEPUTY, "朱超志": Duty.SUPERVISOR}
    assert await _duties(db, "A1", "02") == {"史敏杰": Duty.CHIEF, "向军明": Duty.DEPUTY}
    async with db.session() as s:
        a2 = (await s.exec(select(ExamSession).where(ExamSession.code == "A2"))).one()
    assert a2.kind == SessionKind.PRACTICAL
    assert a2.starts_at == datetime(2026, 12, 5, 5, 30, tzinfo=UTC)


async def test_gbk_csv_schedule_with_numbered_invigilators(
    db: Database, imp: ImportFn, tmp_path: Path, staffed: None
) -> None:
    """A schedule saved by Chinese Excel as CSV (GBK, no BOM) with 监考员1/监考员2 and a quoted comma."""
    text = (
        "场次,考试日期,考试时间,职业(工种),等级,考试类型,考场,考试地点,监考员1,监考员2\n"
        '第1场,2026/12/5,09:00--11:00,电工,四级,上机,1,"实训楼3层,东侧",冯丽,吕涛\n'
        ",,09:00--11:00,电工,四级,上机,2,实训楼408,吴秀,向鹏\n"
    )
    path = tmp_path / "安排.csv"
    path.write_bytes(text.encode("gbk"))
    result = await imp("schedule", path)
    assert result.count("考场").created == 2
    assert "空白单元格按上一行补全 2 处" in result.render()
    assert await _duties(db, "第1场", "2") == {"吴秀": Duty.CHIEF, "向鹏": Duty.DEPUTY}
    async with db.session() as s:
        room = (await s.exec(select(Room).where(Room.room_no == "1"))).one()
    assert room.location == "实训楼3层,东侧"


async def test_continuation_row_adds_people(db: Database, imp: ImportFn, xlsx: Xlsx, staffed: None) -> None:
    """A row with a blank room continues the room above (a fourth examiner, a supervisor)."""
    rows = [
        ["场次", "考试日期", "考试时间", "职业(工种)", "考试类型", "考场", "考评组长", "考评员", "督导"],
        ["第2场", "2026-12-05", "10:30-12:30", "电工", "实操", "第3考场", "张燕", "朱志、曾宏", None],
        [None, None, None, None, None, None, None, "曹伟", "杜国"],
    ]
    result = await imp("schedule", xlsx("s.xlsx", rows))
    assert result.count("人员安排").created == 5
    assert await _duties(db, "第2场", "第3考场") == {
        "张燕": Duty.CHIEF,
        "朱志": Duty.EVALUATOR,
        "曾宏": Duty.EVALUATOR,
        "曹伟": Duty.EVALUATOR,
        "杜国": Duty.SUPERVISOR,
    }


async def test_sheets_are_united(db: Database, imp: ImportFn, xlsx: Xlsx, staffed: None) -> None:
    """Every sheet with a schedule header is read; other sheets (说明) are skipped."""
    head = ["场次", "考试日期", "考试时间", "职业(工种)", "考试类型", "考场", "主监考", "副监考"]
    day1 = [head, ["12月5日第1场", date(2026, 12, 5), "8:30-10:00", "电工", "理论", "1", "唐玉英", "孟雪涛"]]
    day2 = [head, ["12月6日第1场", 46362, "8:30-10:00", "电工", "理论", "1", "唐玉英", "孟雪涛"]]  # Excel serial
    notes = [["列名", "说明"], ["场次", "如第1场"], ["考场", "如第1考场"]]
    path = xlsx("two.xlsx", day1, sheet="12月5日", more_sheets={"12月6日": day2, "说明": notes})
    result = await imp("schedule", path)
    assert result.count("场次").created == 2
    assert "读取的工作表：「12月5日」、「12月6日」" in result.render()
    async with db.session() as s:
        days = sorted(x.day.isoformat() for x in (await s.exec(select(ExamSession))).all())
    assert days == ["2026-12-05", "2026-12-06"]


async def test_no_session_column_gives_stable_codes(imp: ImportFn, xlsx: Xlsx, staffed: None) -> None:
    """Without 场次 the code comes from date, start, occupation and kind, so a re-import changes nothing."""
    rows = [
        ["日期", "开始时间", "结束时间", "职业", "类型", "考场", "主监考", "副监考"],
        ["2026.12.5", "8:30", "10:00", "电工", "理论", "第1考场", "唐玉英", "孟雪涛"],
        [None, None, None, None, None, "第2考场", "史敏杰", "向军明"],
    ]
    path = xlsx("s.xlsx", rows)
    first = await imp("schedule", path)
    assert first.count("场次").created == 1 and first.count("考场").created == 2
    assert "新增 场次 20261205-0830-电工-理论" in first.render()
    again = await imp("schedule", path)
    assert not again.changed


async def test_phantom_rows_end_the_sheet(imp: ImportFn, xlsx: Xlsx, staffed: None) -> None:
    """After 20 blank rows the sheet is over: a stray cell far below is not read."""
    rows: list[list[object]] = [
        ["场次", "考试日期", "考试时间", "职业(工种)", "考试类型", "考场", "主监考", "副监考"],
        ["第1场", "2026-12-05", "8:30-10:00", "电工", "理论", "1", "唐玉英", "孟雪涛"],
        *[[None] for _ in range(25)],
        ["垃圾", "x", "y", "z", "?", "9", "无此人"],
    ]
    result = await imp("schedule", xlsx("s.xlsx", rows))
    assert result.count("考场").created == 1

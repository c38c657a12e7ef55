"""Another center's schedule as it is: the exam kind headed 科目, or recognised by its values."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select

from bot.importer.by_values import is_kind_word
from bot.store.engine import Database
from bot.store.tables import Assignment, ExamSession, Room, SessionKind
from tests.importer.conftest import ImportFn, sample_rows

OTHER = Path(__file__).resolve().parents[1] / "data" / "other_center"
Xlsx = Callable[..., Path]


async def test_other_center_files_import_as_they_are(db: Database, imp: ImportFn, staffed: None) -> None:
    """科目 (理论/实操), 开始/结束时间, no 场次, rooms 01-03: 2 sessions, 3 rooms, 7 duties; its roster 4 candidates."""
    schedule = await imp("schedule", OTHER / "schedule.xlsx")
    assert (schedule.count("场次").created, schedule.count("考场").created) == (2, 3)
    assert schedule.count("人员安排").created == 7
    assert "科目" not in " ".join(schedule.notes)  # used, not listed as an unused column
    roster = await imp("roster", OTHER / "roster.xlsx")
    assert roster.count("考生").created == 4
    async with db.session() as s:
        kinds = [x.kind for x in (await s.exec(select(ExamSession).order_by(ExamSession.starts_at))).all()]
        rooms = sorted(r.room_no for r in (await s.exec(select(Room))).all())
        duties = len((await s.exec(select(Assignment))).all())
    assert kinds == [SessionKind.THEORY, SessionKind.PRACTICAL]
    assert rooms == ["01", "02", "03"] and duties == 7


@pytest.mark.parametrize("header", ["科目", "考试科目", "考核科目", "鉴定方式", "考核方式"])
async def test_kind_headers_offices_use(imp: ImportFn, xlsx: Xlsx, staffed: None, header: str) -> None:
    """The sample schedule with its 考试类型 header renamed imports the same six sessions."""
    rows = sample_rows("schedule.xlsx")
    rows[1][5] = header
    result = await imp("schedule", xlsx("schedule.xlsx", rows, sheet="12月5日"))
    assert result.count("场次").created == 6


@pytest.mark.parametrize("header", ["项目", None])
async def test_kind_column_recognised_by_values(
    db: Database, imp: ImportFn, xlsx: Xlsx, staffed: None, header: str | None
) -> None:
    """A column headed 项目 (or not at all) holding only 理论/实操/上机 is the kind column, and the summary says so."""
    rows = sample_rows("schedule.xlsx")
    rows[1][5] = header
    result = await imp("schedule", xlsx("schedule.xlsx", rows, sheet="12月5日"))
    assert result.count("场次").created == 6
    label = header or "第6列"
    assert f"按内容把「{label}」列识别为考试类型" in result.notes
    async with db.session() as s:
        second = (await s.exec(select(ExamSession).where(ExamSession.code == "第2场"))).one()
    assert second.kind == SessionKind.PRACTICAL


async def test_kind_header_with_other_values_yields_to_a_kind_column(imp: ImportFn, xlsx: Xlsx, staffed: None) -> None:
    """A 科目 column holding subjects gives way to an unnamed column that holds the kinds."""
    rows = sample_rows("schedule.xlsx")
    for i, row in enumerate(rows):
        row.append("科目" if i == 1 else ("电工基础" if i > 1 else None))
    rows[1][5] = "分类"
    result = await imp("schedule", xlsx("schedule.xlsx", rows, sheet="12月5日"))
    assert result.count("场次").created == 6
    assert "按内容把「分类」列识别为考试类型" in result.notes


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("理论", True),
        ("理论知识考试", True),
        ("实际操作", True),
        ("操作技能考核", True),
        ("上机考试", True),
        ("机考", True),
        ("实操（考核）", True),
        ("电工", False),
        ("电工基础", False),
        ("操作规范与安全", False),
        ("", False),
    ],
)
def test_is_kind_word(text: str, kind: bool) -> None:
    """Only a whole exam-kind word counts, not a text that merely contains one."""
    assert is_kind_word(text) is kind

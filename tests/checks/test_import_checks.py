"""The checks on schedule and staff imports: errors block, warnings need accepting (and are audited), a dry run is
checked too, and a refused import changes nothing; the staff file's 回避声明 and 高级考评员 columns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.importer.rule_checks import ChecksFailed
from bot.store.engine import Database
from bot.store.tables import AuditLog, ConflictRelation, SeniorEvaluator
from tests.importer.conftest import SAMPLES, ImportFn, sample_rows

Counts = Callable[[], Awaitable[dict[str, int]]]
Xlsx = Callable[..., Path]
BEFORE_THE_DAY = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # 12月5日 00:00 in Shanghai: the sample day is to come


def _broken() -> list[list[Any]]:
    """The sample schedule with a deputy missing, a person in two rooms, a lapsed card and two rooms in one place."""
    rows = sample_rows("schedule.xlsx")
    rows[2][10] = None  # 第1考场 without 副监考
    rows[3][10] = "唐玉英"  # 第2考场's deputy is 第1考场's chief, at the same time
    rows[4][11] = "张燕、朱志、方英芳"  # 方英芳's card ended 2025-05-04: given up
    rows[14][7] = "实训楼401"  # 第13考场 where 第4考场 is, at an overlapping time
    return rows


EXPECTED = [
    ("error", "12月5日 第1场 第1考场应配备 2 名监考人员（主监考、副监考各 1 名），现有主监考 1 名、副监考 0 名"),
    ("error", "方英芳 的考评员证已于2025年5月4日到期，逾期一年或以上未参加换证培训，视为自动放弃考评人员资格"),
    ("error", "唐玉英 同时被安排在 12月5日 第1场 第1考场 和 12月5日 第1场 第2考场（时间重叠）"),
    ("warning", "12月5日 第2场 第4考场 和 12月5日 第6场 第13考场 都在 实训楼401，时间重叠"),
]


@pytest.mark.parametrize("dry_run", [False, True])
async def test_broken_schedule_lists_every_finding_and_changes_nothing(
    imp: ImportFn, xlsx: Xlsx, counts: Counts, staffed: None, dry_run: bool
) -> None:
    """Every finding listed with its clause, errors first; no row written (dry run alike), even accepting warnings."""
    before = await counts()
    for accept in (False, True):
        with pytest.raises(ChecksFailed) as info:
            await imp("schedule", xlsx("schedule.xlsx", _broken()), dry_run=dry_run, accept_warnings=accept)
        report = info.value.report
        found = [(f.level, f.text) for f in report.findings]
        for level, words in EXPECTED:
            assert any(lv == level and words in text for lv, text in found), (words, found)
        assert len(report.errors) == 3 and len(report.warnings) == 1
        text = info.value.render()
        assert "3 个错误、1 个提醒（数据库未做任何修改）" in text and "依据：监考人员守则 1" in text
        assert "依据：考评人员管理办法 第三条" in text
    assert await counts() == before


async def test_warnings_block_until_accepted_and_are_audited(
    db: Database, imp: ImportFn, xlsx: Xlsx, counts: Counts, staffed: None
) -> None:
    """Only a warning: refused without --accept-warnings; accepted, the import runs and the audit log keeps it."""
    rows = sample_rows("schedule.xlsx")
    rows[14][7] = "实训楼401"
    path = xlsx("schedule.xlsx", rows)
    before = await counts()
    with pytest.raises(ChecksFailed) as info:
        await imp("schedule", path)
    assert "可加 --accept-warnings 重新导入" in info.value.render()
    assert await counts() == before
    result = await imp("schedule", path, accept_warnings=True)
    assert result.count("场次").created == 6
    assert any(w.startswith("已接受：【提醒】") and "实训楼401" in w for w in result.warnings)
    async with db.session() as s:
        (row,) = (await s.exec(select(AuditLog).where(col(AuditLog.action) == "accept_warnings"))).all()
    assert row.actor == "import:schedule.xlsx" and "实训楼401" in row.detail["warnings"][0]["text"]


async def test_clean_sample_imports_without_accepting(imp: ImportFn, staffed: None) -> None:
    """The sample day (as fixed) breaks no rule: no warnings to accept."""
    result = await imp("schedule", SAMPLES / "schedule.xlsx")
    assert result.count("场次").created == 6 and not any("已接受" in w for w in result.warnings)


STAFF_HEADER = ["姓名", "角色", "手机号", "企业微信账号", "考评员证发证日期", "回避声明", "高级考评员"]


def _zhang(avoid: str, senior: str = "") -> list[list[Any]]:
    return [STAFF_HEADER, ["张燕", "考评员", "15704472908", "wx_120283", "2025/7/3", avoid, senior]]


async def _relations(db: Database) -> list[tuple[str, str, str]]:
    async with db.session() as s:
        rows = (await s.exec(select(ConflictRelation).order_by(col(ConflictRelation.id)))).all()
    return [(r.candidate, r.relation, r.source) for r in rows]


async def test_staff_file_relation_with_a_candidate_of_her_session_is_refused(
    db: Database, imp: ImportFn, xlsx: Xlsx, counts: Counts, scheduled: None
) -> None:
    """张燕 (考评组长 of 第3考场) declares 师生 with a candidate of 第3考场: an error, nothing stored."""
    await imp("roster", SAMPLES / "roster.xlsx")
    before = await counts()
    with pytest.raises(ChecksFailed) as info:
        await imp("staff", xlsx("staff.xlsx", _zhang("师生:202612020305")), now=BEFORE_THE_DAY)
    (finding,) = info.value.report.errors
    assert "张燕（考评组长，第3考场）与12月5日 第2场的考生 202612020305 袁军杰 有师生关系，应当回避" in finding.text
    assert finding.clause == "考评人员管理办法 第七条（四）回避制度"
    assert await counts() == before and await _relations(db) == []


async def test_staff_file_relations_stored_and_replaced(
    db: Database, imp: ImportFn, xlsx: Xlsx, scheduled: None
) -> None:
    """Relations with candidates of other sessions are stored; a later file replaces them; 无 clears them."""
    await imp("roster", SAMPLES / "roster.xlsx")
    first = await imp("staff", xlsx("a.xlsx", _zhang("亲属:202612010101；师徒:李雷、韩梅")), now=BEFORE_THE_DAY)
    assert first.count("回避声明").created == 3
    assert await _relations(db) == [
        ("202612010101", "亲属", "staff_file"),
        ("李雷", "师徒", "staff_file"),
        ("韩梅", "师徒", "staff_file"),
    ]
    await imp("staff", xlsx("b.xlsx", _zhang("师生:李雷")), now=BEFORE_THE_DAY)
    assert await _relations(db) == [("李雷", "师生", "staff_file")]
    await imp("staff", xlsx("c.xlsx", _zhang("无")), now=BEFORE_THE_DAY)
    assert await _relations(db) == []


async def test_bad_relation_is_a_problem_of_its_cell(imp: ImportFn, xlsx: Xlsx, staffed: None) -> None:
    """An unknown relation word is reported at its row and column."""
    from bot.importer import ImportFailed

    with pytest.raises(ImportFailed) as info:
        await imp("staff", xlsx("s.xlsx", _zhang("朋友:张三")), now=BEFORE_THE_DAY)
    assert "第2行「回避声明」" in info.value.render() and "亲属、师生、师徒" in info.value.render()


async def test_senior_column_and_a_defense_panel(db: Database, imp: ImportFn, xlsx: Xlsx, staffed: None) -> None:
    """A 答辩 session needs three senior evaluators of its occupation: refused with two, imported with three."""
    rows = [
        ["场次", "考试日期", "考试时间", "职业(工种)", "等级", "考试类型", "考场", "考试地点", "主监考", "考评员"],
        ["第7场答辩", "2026-12-06", "9:00-11:00", "电工", "二级/技师", "实操", "第20考场", "行政楼301", "尹海",
         "徐洋、曹伟"],
    ]  # fmt: skip
    staff = [
        STAFF_HEADER,
        ["尹海", "考评员", "13772800940", "wx_756651", "2025/3/28", "", "电工"],
        ["徐洋", "考评员", "17963406343", "wx_800711", "2024/3/12", "", "电工、焊工"],
        ["曹伟", "考评员", "13976758596", "wx_633124", "2024/12/16", "", "焊工"],
    ]
    await imp("staff", xlsx("seniors.xlsx", staff), now=BEFORE_THE_DAY)
    async with db.session() as s:
        assert len((await s.exec(select(SeniorEvaluator))).all()) == 4
    with pytest.raises(ChecksFailed) as info:
        await imp("schedule", xlsx("defense.xlsx", rows))
    assert "只有 2 名电工高级考评员（尹海、徐洋），至少需要 3 名" in info.value.render()
    staff[3][6] = "焊工、电工"
    await imp("staff", xlsx("seniors.xlsx", staff), now=BEFORE_THE_DAY)
    result = await imp("schedule", xlsx("defense.xlsx", rows))
    assert result.count("场次").created == 1

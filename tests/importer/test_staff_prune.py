"""People the staff file no longer lists: listed with their coming duties; deactivated (never deleted) with --prune."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from bot.store.engine import Database
from bot.store.tables import AuditLog, Staff
from tests.importer.conftest import SAMPLES, ImportFn

BEFORE_THE_DAY = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
AFTER_THE_DAY = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def staff_without(tmp_path: Path, *names: str) -> Path:
    """The sample GBK staff.csv without the rows of ``names``."""
    lines = (SAMPLES / "staff.csv").read_bytes().decode("gbk").splitlines(keepends=True)
    kept = [line for line in lines if line.split(",")[0] not in names]
    assert len(kept) == len(lines) - len(names)
    path = tmp_path / "staff.csv"
    path.write_bytes("".join(kept).encode("gbk"))
    return path


async def _active(db: Database, name: str) -> bool:
    async with db.session() as s:
        return (await s.exec(select(Staff).where(Staff.name == name))).one().active


async def test_removed_staff_listed_with_duties(db: Database, imp: ImportFn, scheduled: None, tmp_path: Path) -> None:
    """Without --prune: both listed (孟雪涛 with his two rooms), still active, nothing written."""
    result = await imp("staff", staff_without(tmp_path, "孟雪涛", "付兰"), now=BEFORE_THE_DAY)
    assert not result.changed
    assert result.missing == [
        "付兰（监考员）",
        "孟雪涛（监考员）：仍被安排在 12月5日 第1场 第1考场、12月5日 第4场 第7考场",
    ]
    assert "加 --prune 重新导入即停用这些人员" in result.render()
    assert await _active(db, "孟雪涛") and await _active(db, "付兰")


async def test_prune_deactivates_and_flags(db: Database, imp: ImportFn, scheduled: None, tmp_path: Path) -> None:
    """--prune: dry run equal to the run; deactivated, audited, future duties flagged; listed again = active again."""
    path = staff_without(tmp_path, "孟雪涛", "付兰")
    dry = await imp("staff", path, prune=True, dry_run=True, now=BEFORE_THE_DAY)
    assert dry.changes == ["停用 人员 付兰（监考员）", "停用 人员 孟雪涛（监考员）"]
    assert "人员：新增 0，更新 0，不变 38，停用 2" in dry.render()
    assert await _active(db, "孟雪涛")

    real = await imp("staff", path, prune=True, now=BEFORE_THE_DAY)
    assert real.changes == dry.changes
    assert real.warnings == ["孟雪涛 已停用，但仍被安排在 12月5日 第1场 第1考场、12月5日 第4场 第7考场，请调整"]
    assert not await _active(db, "孟雪涛") and not await _active(db, "付兰")
    async with db.session() as s:
        audits = (await s.exec(select(AuditLog).where(AuditLog.action == "deactivate"))).all()
    assert len(audits) == 2 and all(
        a.detail == {"before": {"active": True}, "after": {"active": False}} for a in audits
    )

    schedule = await imp("schedule", SAMPLES / "schedule.xlsx", now=BEFORE_THE_DAY)
    assert "第1场/第1考场：孟雪涛 已停用，但本文件仍安排其为副监考" in schedule.warnings

    back = await imp("staff", SAMPLES / "staff.csv", prune=True, now=BEFORE_THE_DAY)
    assert "更新 人员 孟雪涛：启用 否 → 是" in back.changes
    assert await _active(db, "孟雪涛")


async def test_past_duties_not_flagged(db: Database, imp: ImportFn, scheduled: None, tmp_path: Path) -> None:
    """After the exam day the removed person's duties are history: deactivated without a flag."""
    result = await imp("staff", staff_without(tmp_path, "孟雪涛"), prune=True, now=AFTER_THE_DAY)
    assert result.changes == ["停用 人员 孟雪涛（监考员）"] and not result.warnings

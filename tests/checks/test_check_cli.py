"""``exambot check``: the demo day is clean (exit 0); a broken day lists every finding (exit 1); warnings pass only
with ``--accept-warnings``, which audits them."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.checks.cli import run_check
from bot.cli import build_parser
from bot.demo import seed_demo
from bot.settings import Settings
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.tables import Assignment, AuditLog, ConflictRelation, Staff

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 5, 8, 0, tzinfo=TZ)


async def _seed(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        await upgrade(db)
        await seed_demo(db, NOW, TZ)
    finally:
        await db.dispose()


async def _edit(settings: Settings, name: str, **change: object) -> None:
    db = Database(settings.database_url)
    try:
        async with db.session() as s:
            person = (await s.exec(select(Staff).where(col(Staff.name) == name))).one()
            for k, v in change.items():
                setattr(person, k, v)
            s.add(person)
    finally:
        await db.dispose()


def _run(settings: Settings, *argv: str) -> int:
    args = build_parser(["check", *argv]).parse_args(["check", *argv])
    return run_check(args, settings)


def test_check_is_registered_lazily() -> None:
    """``exambot check`` is a lazily registered command with a date and --accept-warnings."""
    args = build_parser(["check", "12月5日", "--accept-warnings"]).parse_args(["check", "12月5日", "--accept-warnings"])
    assert args.func is run_check and args.date == "12月5日" and args.accept_warnings


def test_demo_day_is_clean(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo day breaks no rule: a clean report, exit 0."""
    asyncio.run(_seed(settings))
    assert _run(settings, "2026-12-05") == 0
    assert capsys.readouterr().out.strip() == "规则检查：12月5日的 3 个场次，未发现问题。"


def test_broken_day_lists_every_finding(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    """A deputy gone, a lapsed card, a declared relation: each listed with its clause, exit 1 even accepting."""

    async def breakit() -> None:
        db = Database(settings.database_url)
        try:
            async with db.session() as s:
                zhou = (await s.exec(select(Staff).where(col(Staff.name) == "周杰"))).one()
                li = (await s.exec(select(Staff).where(col(Staff.name) == "李强"))).one()
                (deputy,) = (await s.exec(select(Assignment).where(col(Assignment.staff_id) == li.id))).all()
                await s.delete(deputy)
                zhou.cert_issued = date(2023, 12, 5)  # ends on the exam day
                s.add(zhou)
                assert zhou.id is not None
                s.add(ConflictRelation(staff_id=zhou.id, candidate="2026000059", relation="亲属", created_at=NOW))
        finally:
            await db.dispose()

    asyncio.run(_seed(settings))
    asyncio.run(breakit())
    for extra in ((), ("--accept-warnings",)):
        assert _run(settings, "12月5日", *extra) == 1
        out = capsys.readouterr().out
        assert "发现 3 个错误、0 个提醒" in out
        assert "第1考场应配备 2 名监考人员" in out and "依据：监考人员守则 1" in out
        assert "周杰 的考评员证已于2026年12月5日到期" in out
        assert "周杰（考评组长，第3考场）与12月5日 演示第2场的考生 2026000059" in out and "回避制度" in out


def test_warnings_need_accepting(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    """A card ending in 30 days: a warning, exit 1; accepted, exit 0 and an audit row."""
    asyncio.run(_seed(settings))
    asyncio.run(_edit(settings, "吴婷", cert_issued=date(2024, 1, 4)))
    assert _run(settings, "2026-12-05") == 1
    captured = capsys.readouterr()
    assert "【提醒】吴婷 的考评员证将于2027年1月4日到期（考试日后 30 天）" in captured.out
    assert "--accept-warnings" in captured.err
    assert _run(settings, "2026-12-05", "--accept-warnings") == 0
    assert "已接受 1 个提醒，已记入审计日志" in capsys.readouterr().out

    async def audited() -> list[AuditLog]:
        db = Database(settings.database_url)
        try:
            async with db.session() as s:
                return list((await s.exec(select(AuditLog).where(col(AuditLog.action) == "accept_warnings"))).all())
        finally:
            await db.dispose()

    (row,) = asyncio.run(audited())
    assert row.entity_id == "check:2026-12-05" and "吴婷" in row.detail["warnings"][0]["text"]


def test_bad_date(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    """A date that cannot be read: exit 2 with a Chinese message."""
    assert _run(settings, "下周") == 2
    assert "无法识别的日期" in capsys.readouterr().err

"""The same platform message id processed twice records once: redeliveries, and deliveries racing past the check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from bot.clock import ManualClock
from bot.store.tables import Report
from handlers import _reports
from tests.handlers.conftest import Day

Setup = Callable[[Day], Awaitable[str]]  # prepares the day, returns the command text to send twice


async def _violation(day: Day) -> str:
    return "/违纪 1 2026000003 抄袭 终止考试"


async def _papers(day: Day) -> str:
    await day.say("王芳", "/试卷 领取 30")
    return "/试卷 回收 29"


async def _incident(day: Day) -> str:
    return "/突发 考生晕倒，已送医务室"


async def _absent(day: Day) -> str:
    await day.say("王芳", "/缺考 2026000005")
    return "/缺考 2026000003 2026000004"


async def _correct(day: Day) -> str:
    await day.say("王芳", "/突发 停电")
    (row,) = await day.reports("incident")
    return f"/更正 {row.id} 第二教学楼停电"


async def _revoke(day: Day) -> str:
    await day.say("王芳", "/缺考 2026000003")
    (row,) = await day.reports("absent")
    return f"/撤销 {row.id} 报错考场"


async def _confirm(day: Day) -> str:
    await day.say("李强", "/违纪 1 2026000003 替考")
    (row,) = await day.reports("violation")
    return f"/确认 {row.id}"


async def _determine(day: Day) -> str:
    await day.say("李强", "/违纪 1 2026000003 抄袭 警告")
    (row,) = await day.reports("violation")
    return f"/认定 {row.id} 宣布成绩无效 监控复核"


async def _note(day: Day) -> str:
    await day.say("王芳", "/试卷 领取 30")
    await day.say("王芳", "/试卷 回收 29")
    collect = (await day.reports("papers"))[-1]
    return f"/备注 {collect.id} 缺1份在讲台找到"


# (setup, sender, kind of the row the command adds, alerts the office sends for it)
CASES: dict[str, tuple[Setup, str, str, int]] = {
    "/违纪": (_violation, "王芳", "violation", 1),
    "/试卷": (_papers, "王芳", "papers", 1),
    "/突发": (_incident, "王芳", "incident", 1),
    "/缺考": (_absent, "王芳", "absent", 0),
    "/更正": (_correct, "王芳", "incident", 1),
    "/撤销": (_revoke, "王芳", "absent", 0),
    "/确认": (_confirm, "王芳", "confirm", 1),  # the office is told the confirmation, once
    "/认定": (_determine, "钱进", "determination", 0),
    "/备注": (_note, "钱进", "note", 0),
}


async def _counts(day: Day, kind: str) -> tuple[int, int]:
    return len(await day.reports(kind)), len(await day.inbox("钱进"))


@pytest.mark.parametrize("command", sorted(CASES))
async def test_redelivery_records_once(day: Day, command: str) -> None:
    """A message delivered twice adds one row, alerts once and gets the same reply both times."""
    setup, who, kind, alerts = CASES[command]
    text = await setup(day)
    rows0, inbox0 = await _counts(day, kind)
    first = await day.send(who, text, "platform-msg-1")
    second = await day.send(who, text, "platform-msg-1")
    assert first is not None and "编号" in first
    assert second == first
    rows1, inbox1 = await _counts(day, kind)
    assert rows1 == rows0 + 1
    assert inbox1 == inbox0 + alerts


# Commands whose check-then-insert a racing delivery can pass (the others refuse on the first row's state).
RACING = ("/违纪", "/试卷", "/突发", "/缺考", "/认定", "/备注")


@pytest.mark.parametrize("command", RACING)
async def test_racing_delivery_answers_like_a_redelivery(
    day: Day, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivery that missed the first row in its check hits the unique index and answers like a redelivery."""
    setup, who, kind, alerts = CASES[command]
    text = await setup(day)
    rows0, inbox0 = await _counts(day, kind)
    first = await day.send(who, text, "platform-msg-2")
    blind = {"left": 1}
    real = _reports.already_done

    async def racing(s: Any, ctx: Any) -> Report | None:
        if blind["left"]:
            blind["left"] -= 1
            return None  # as if the other delivery had not committed yet
        return await real(s, ctx)

    for module in ("violation", "confirm", "papers", "papers_note", "incident", "absent", "corrections"):
        monkeypatch.setattr(f"handlers.{module}.already_done", racing)
    second = await day.send(who, text, "platform-msg-2")
    assert blind["left"] == 0
    assert second == first
    assert await _counts(day, kind) == (rows0 + 1, inbox0 + alerts)


def test_other_integrity_errors_are_not_taken_for_a_race() -> None:
    """Only the report uniqueness indexes count as a lost race."""
    dup = IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: report.channel, report.message_id"))
    pg = IntegrityError("INSERT", {}, Exception('duplicate key violates unique constraint "ux_report_channel_message"'))
    other = IntegrityError("INSERT", {}, Exception("FOREIGN KEY constraint failed"))
    assert _reports.lost_race(dup) and _reports.lost_race(pg)
    assert not _reports.lost_race(other)


async def test_rows_without_message_id_still_record(day: Day) -> None:
    """Rows with no platform message id (console redeliveries aside) never collide with each other."""
    for text in ("/突发 停电", "/突发 漏水"):
        assert await day.send("王芳", text, "") is not None  # Day.send gives each a fresh id
    async with day.services.db.session() as s:
        for i in range(2):
            s.add(Report(kind="note", payload={"i": i}, channel="console", message_id=None, created_at=day.clock.now()))
    assert len(await day.reports("note")) == 2


@pytest.fixture
async def pg_day(pg_url: str, make_settings: Any, clock: ManualClock) -> AsyncIterator[Day]:
    """The demo day on a fresh PostgreSQL database."""
    from datetime import timedelta

    from tests.conftest import demo_app

    async with demo_app(make_settings(database_url=pg_url), clock) as chat:
        clock.advance(timedelta(minutes=40))
        yield Day(chat, clock)


@pytest.mark.parametrize("command", ["/违纪", "/更正", "/确认"])
async def test_concurrent_deliveries_on_postgresql(pg_day: Day, command: str) -> None:
    """Two deliveries of one message at the same moment on PostgreSQL: one row, one alert, the same reply."""
    setup, who, kind, alerts = CASES[command]
    text = await setup(pg_day)
    rows0, inbox0 = await _counts(pg_day, kind)
    first, second = await asyncio.gather(
        pg_day.send(who, text, "platform-msg-3"), pg_day.send(who, text, "platform-msg-3")
    )
    assert first == second and first is not None and "编号" in first
    assert await _counts(pg_day, kind) == (rows0 + 1, inbox0 + alerts)

"""A recorded demo day: reports made through the chat, as staff type them, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.settings import Settings
from tests.conftest import demo_app
from tests.handlers.conftest import Day

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 5)
FORMULA_INCIDENT = '=HYPERLINK("http://evil.example","点我")'
FORMULA_NOTE = "-2+3 考生晕倒"


def at(clock: ManualClock, hh: int, mm: int) -> None:
    """Set the clock to ``hh:mm`` Shanghai time on the demo day."""
    clock.advance(datetime(2026, 12, 5, hh, mm, tzinfo=SHANGHAI) - clock.now())


async def record_day(day: Day) -> dict[str, int]:
    """Reports in every shape the form shows; returns the numbers the tests look for."""
    await day.say("王芳", "/缺考 2026000003 2026000004 2026000006")
    (absent,) = await day.reports("absent")
    await day.say("王芳", f"/更正 {absent.id} 2026000003 2026000004")  # the corrected list is what counts
    await day.say("王芳", "/试卷 领取 30")
    (handout,) = await day.reports("papers")
    await day.say("李强", f"/确认 {handout.id}")  # the other invigilator checks the count (赵敏's is not checked)
    await day.say("王芳", "/试卷 回收 30 答题卡 28 空白 2")
    await day.say("王芳", "/违纪 1 2026000005 抄袭 终止考试")
    await day.say("王芳", "/违纪 1 2026000008 交头接耳 警告")
    serious, minor = (r.id for r in await day.reports("violation"))
    await day.say("李强", f"/确认 {serious}")
    await day.say("钱进", f"/认定 {serious} 宣布成绩无效")
    await day.say("王芳", f"/突发 1 {FORMULA_INCIDENT}")
    await day.say("赵敏", "/缺考 无")
    await day.say("赵敏", "/试卷 领取 28")
    await day.say("赵敏", "/试卷 回收 27 答题卡 27")
    await day.say("周杰", "/缺考 2026000060")
    await day.say("周杰", f"/突发 {FORMULA_NOTE}")
    at(day.clock, 13, 0)
    await day.say("钱进", "/补录 今天 演示第1场 1 /违纪 2026000009 夹带 警告")
    assert serious is not None and minor is not None
    return {"serious": serious, "minor": minor}


@pytest.fixture
async def day(db_url: str, make_settings: Callable[..., Settings], clock: ManualClock) -> AsyncIterator[Day]:
    """The demo day at 08:40 on SQLite and on PostgreSQL."""
    async with demo_app(make_settings(database_url=db_url), clock) as chat:
        clock.advance(timedelta(minutes=40))
        yield Day(chat, clock)

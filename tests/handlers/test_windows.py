"""Report windows: invigilators report until the grace time after the day's last session; refusals say why.

The demo day (see tests/handlers/conftest.py): 演示第1场 08:08–09:38 (rooms 1 and 2), 演示第2场 (practical)
08:20–10:20 (room 3), 演示第3场 08:45–10:45 (room 4); the day's last session ends at 10:45, so with the
default grace of 120 minutes reports are taken until 12:45. The clock starts at 08:40.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.settings import Settings
from bot.store.tables import Assignment, Duty, ExamSession, Room, SessionKind, Staff
from tests.conftest import demo_app
from tests.handlers.conftest import Day, at


async def add_afternoon(day: Day, *, staff: str = "王芳", room_no: str = "第7考场") -> int:
    """An afternoon session 14:00–16:00 with one room, ``staff`` its chief invigilator; returns the session id."""
    async with day.services.db.session() as s:
        sess = ExamSession(
            code="下午场",
            occupation="电工",
            kind=SessionKind.THEORY,
            day=date(2026, 12, 5),
            starts_at=datetime(2026, 12, 5, 6, 0, tzinfo=UTC),
            ends_at=datetime(2026, 12, 5, 8, 0, tzinfo=UTC),
        )
        s.add(sess)
        await s.flush()
        assert sess.id is not None
        room = Room(session_id=sess.id, room_no=room_no, expected=20)
        s.add(room)
        await s.flush()
        st = (await s.exec(select(Staff).where(col(Staff.name) == staff))).one()
        assert room.id is not None and st.id is not None
        s.add(Assignment(room_id=room.id, staff_id=st.id, duty=Duty.CHIEF))
        return sess.id


async def test_invigilator_reports_after_the_old_hour(day: Day) -> None:
    """At 11:00 (80 minutes after room 1's session ended) the invigilator's /缺考 is still taken."""
    at(day.clock, 11, 0)
    reply = await day.say("王芳", "/缺考 1 2026000003")
    assert "已记录第1考场缺考" in reply
    assert len(await day.reports("absent")) == 1


@pytest.fixture
async def any_day(make_settings: Callable[..., Settings], clock: ManualClock, db_url: str) -> AsyncIterator[Day]:
    """The demo day at 08:40 on SQLite and on PostgreSQL."""
    async with demo_app(make_settings(database_url=db_url), clock) as chat:
        clock.advance(timedelta(minutes=40))
        yield Day(chat, clock)


@pytest.mark.parametrize(("hh", "mm", "taken"), [(12, 45, True), (12, 46, False)])
async def test_window_ends_grace_after_the_days_last_session(any_day: Day, hh: int, mm: int, taken: bool) -> None:
    """Taken exactly at 12:45 (10:45 + 120 minutes), refused one minute later, naming the session and the window
    (the window is a query: on SQLite and PostgreSQL)."""
    day = any_day
    at(day.clock, hh, mm)
    reply = await day.say("王芳", "/缺考 1 2026000003")
    if taken:
        assert "已记录第1考场缺考" in reply
        return
    assert reply.startswith("第1考场 08:08–09:38 的场次已结束，监考人员可报告到 12:45；之后请联系考务办公室补录。")
    assert "请核对考场号" not in reply
    assert await day.reports("absent") == []


async def test_without_a_room_number_the_refusal_names_the_senders_room(day: Day) -> None:
    """After the window an invigilator's /缺考 without a room says which of their sessions ended and until when."""
    at(day.clock, 12, 46)
    reply = await day.say("王芳", "/缺考 2026000003")
    assert reply.startswith("第1考场 08:08–09:38 的场次已结束，监考人员可报告到 12:45")


async def test_practical_staff_are_evaluators_in_the_refusal(day: Day) -> None:
    """A practical session's refusal speaks of 考评人员."""
    at(day.clock, 13, 0)
    reply = await day.say("周杰", "/违纪 3 2026000060 使用手机 警告")
    assert "第3考场 08:20–10:20 的场次已结束，考评人员可报告到 12:45" in reply


async def test_office_is_told_how_to_backfill(day: Day) -> None:
    """The office's refusal after the window gives the /补录 line to send."""
    at(day.clock, 13, 0)
    reply = await day.say("钱进", "/缺考 1 2026000003")
    assert "已结束" in reply and "/补录 12月5日 演示第1场 1 /缺考 …" in reply


async def test_a_later_session_keeps_the_morning_open(day: Day) -> None:
    """With a session until 16:00 the morning room takes reports until 18:00 (the day's last session + 2 hours)."""
    await add_afternoon(day)
    at(day.clock, 17, 59)
    assert "已记录第1考场缺考" in await day.say("王芳", "/缺考 1 2026000003")
    at(day.clock, 18, 1)
    assert "可报告到 18:00" in await day.say("王芳", "/缺考 1 2026000004")


async def test_not_started_names_when_reports_open(day: Day) -> None:
    """A room whose session starts in more than an hour: refused with the time reports open."""
    await add_afternoon(day)
    at(day.clock, 12, 0)
    reply = await day.say("王芳", "/缺考 7 2026000003")
    assert reply.startswith("第7考场 14:00–16:00 的场次还没开始，开考前 60 分钟（13:00）起可以报告。")
    at(day.clock, 13, 0)
    assert "已记录第7考场缺考" in await day.say("王芳", "/缺考 7 无")


async def test_unknown_room_says_today_has_none(day: Day) -> None:
    """A room number that does not exist today is named as such, with today's rooms."""
    reply = await day.say("王芳", "/缺考 9 2026000003")
    assert reply.startswith("今天没有第9考场，请核对考场号。今天的考场：第1考场、第2考场、第3考场、第4考场。")


@pytest.mark.parametrize("what", ["session", "room"])
async def test_cancelled_is_never_reportable(day: Day, what: str) -> None:
    """A cancelled session or room refuses reports and says it was cancelled (even inside its window)."""
    async with day.services.db.session() as s:
        room = (await s.exec(select(Room).where(col(Room.room_no) == "第1考场"))).one()
        row: Any = room if what == "room" else await s.get(ExamSession, room.session_id)
        row.cancelled_at = day.clock.now()
        s.add(row)
    reply = await day.say("王芳", "/缺考 1 2026000003")
    assert "已取消，不能报告" in reply and "第1考场" in reply
    assert await day.reports("absent") == []


async def test_invigilator_cannot_correct_after_the_window(day: Day) -> None:
    """An invigilator's /更正 after the window is refused with the window; the office's is taken (as 补录)."""
    await day.say("王芳", "/缺考 1 2026000003")
    (old,) = await day.reports("absent")
    at(day.clock, 12, 46)
    reply = await day.say("王芳", f"/更正 {old.id} 2026000004")
    assert "已结束，监考人员可报告到 12:45；之后请联系考务办公室补录" in reply
    reply = await day.say("钱进", f"/更正 {old.id} 2026000004")
    assert "已更正第1考场缺考" in reply and "补录（钱进 12-05 12:46）" in reply


@pytest.fixture
async def short_grace(make_settings: Callable[..., Settings], clock: ManualClock) -> AsyncIterator[Day]:
    """The demo day with EXAMBOT_REPORT_GRACE_MINUTES=30."""
    async with demo_app(make_settings(report_grace_minutes=30), clock) as chat:
        clock.advance(timedelta(minutes=40))
        yield Day(chat, clock)


@pytest.mark.parametrize(("mm", "taken"), [(15, True), (16, False)])
async def test_grace_is_a_setting(short_grace: Day, mm: int, taken: bool) -> None:
    """With a 30-minute grace the window closes at 11:15."""
    at(short_grace.clock, 11, mm)
    reply = await short_grace.say("王芳", "/缺考 1 2026000003")
    assert ("已记录第1考场缺考" in reply) is taken
    if not taken:
        assert "可报告到 11:15" in reply


def test_grace_setting_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """EXAMBOT_REPORT_GRACE_MINUTES is read like the other settings; the default is 120."""
    assert Settings().report_grace == timedelta(minutes=120)
    monkeypatch.setenv("EXAMBOT_REPORT_GRACE_MINUTES", "45")
    assert Settings().report_grace == timedelta(minutes=45)


async def test_running_session_is_preferred(day: Day) -> None:
    """Without a room number: the only room in the window, else the running one, else the sender is asked."""
    await add_afternoon(day)
    at(day.clock, 11, 0)
    assert "已记录第1考场缺考" in await day.say("王芳", "/缺考 2026000003")
    at(day.clock, 13, 30)
    assert "您现在负责第7考场、第1考场，请写明是哪个考场" in await day.say("王芳", "/缺考 2026000004")
    at(day.clock, 14, 30)
    assert "已记录第7考场缺考" in await day.say("王芳", "/缺考 2026000004")
    assert "已记录第1考场缺考" in await day.say("王芳", "/缺考 1 2026000004")

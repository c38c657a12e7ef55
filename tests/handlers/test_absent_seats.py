"""/缺考 by seat: where the roster has 座号, seats resolve to tickets and the reply shows the ticket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.store.tables import Candidate, Room
from tests.conftest import demo_app
from tests.handlers.conftest import ROOM1, Day

# The demo roster: 第1考场 seats 01-30 are 2026000001-30; 第3考场 seats 01-15 are 2026000059-73.


@pytest.fixture
async def bday(db_url: str, make_settings: Any, clock: ManualClock) -> AsyncIterator[Day]:
    """The demo day at 08:40 on SQLite and on PostgreSQL."""
    async with demo_app(make_settings(database_url=db_url), clock) as chat:
        clock.advance(timedelta(minutes=40))
        yield Day(chat, clock)


async def test_room_then_seats(bday: Day) -> None:
    """/缺考 1 3号 5号 is room 1, seats 3 and 5: their tickets are recorded and shown."""
    reply = await bday.say("王芳", "/缺考 1 3号 5号")
    (row,) = await bday.reports("absent")
    assert row.payload["tickets"] == ["2026000003", "2026000005"]
    assert "应考 30，实考 28，缺考 2：2026000003、2026000005" in reply


@pytest.mark.parametrize(
    ("text", "ticket"),
    [
        ("/缺考 1 3号座", "2026000003"),
        ("/缺考 3号座", "2026000003"),
        ("/缺考 第1考场 座号07", "2026000007"),
        ("/缺考 1 座12", "2026000012"),
        ("/缺考 1号 12号", "2026000012"),
        ("/缺考 第一考场 十二号", "2026000012"),
        ("/缺考 1 2026000004 3号座", "2026000004"),
    ],
)
async def test_seat_phrasings(bday: Day, text: str, ticket: str) -> None:
    """Seat forms typed on phones resolve to the seat's ticket in 第1考场."""
    reply = await bday.say("王芳", text)
    (row,) = await bday.reports("absent")
    assert ticket in row.payload["tickets"], reply
    assert "已记录第1考场缺考" in reply


async def test_seat_in_group_shows_masked_ticket(bday: Day) -> None:
    """In the room's group the resolved ticket is masked."""
    reply = await bday.say("王芳", "/缺考 3号座", chat=ROOM1)
    assert "已记录第1考场缺考" in reply
    assert "缺考 1：2026**0003" in reply and "2026000003" not in reply


async def test_first_hao_is_the_room(bday: Day) -> None:
    """/缺考 3号 5号 from the office is room 3, seat 5."""
    reply = await bday.say("钱进", "/缺考 3号 5号")
    (row,) = await bday.reports("absent")
    assert row.payload["tickets"] == ["2026000063"]
    assert "已记录第3考场缺考" in reply


async def test_unknown_seat_is_named(bday: Day) -> None:
    """A seat not on the roster is refused, naming it."""
    reply = await bday.say("王芳", "/缺考 1 3号 31号")
    assert "31号座不在第1考场的考生名单中，请核对。" in reply
    assert await bday.reports("absent") == []


async def test_remove_by_seat(bday: Day) -> None:
    """/缺考 删 3号 takes the seat's ticket off the list."""
    await bday.say("王芳", "/缺考 1 3号 5号")
    reply = await bday.say("王芳", "/缺考 删 3号 已到场")
    assert "删除 2026000003（原因：已到场）" in reply and "缺考 1：2026000005" in reply


async def test_roster_without_seats(bday: Day) -> None:
    """A roster without 座号: a seat is refused with the reason."""
    async with bday.services.db.session() as s:
        room = (await s.exec(select(Room).where(col(Room.room_no) == "第1考场"))).one()
        for c in (await s.exec(select(Candidate).where(col(Candidate.room_id) == room.id))).all():
            c.seat = None
            s.add(c)
    reply = await bday.say("王芳", "/缺考 1 3号座")
    assert "第1考场的考生名单没有座号，请写准考证号。" in reply
    assert await bday.reports("absent") == []

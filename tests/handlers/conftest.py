"""Fixtures for the chat command tests: the demo day with the clock inside the first session."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.model import IncomingMessage
from bot.settings import Settings
from bot.store.tables import ConsoleMessage, Report, Staff
from tests.conftest import demo_app

ROOM1 = "console:第1考场"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(clock: ManualClock, hh: int, mm: int, day: int = 5) -> None:
    """Set the clock to ``hh:mm`` Shanghai time on 2026-12-``day`` (the demo day is the 5th)."""
    clock.advance(datetime(2026, 12, day, hh, mm, tzinfo=SHANGHAI) - clock.now())


class Day:
    """The demo chat at 08:40 (theory session 08:08-09:38 running; practical and computer about to start)."""

    def __init__(self, chat: Any, clock: ManualClock) -> None:
        self.chat = chat
        self.clock = clock
        self.services = chat.services

    async def say(self, who: str, text: str, chat: str | None = None) -> str:
        """Send as ``who`` and return the reply text."""
        reply = await self.chat.say(who, text, chat=chat)
        assert reply is not None, f"no reply to {text!r}"
        return reply

    async def staff_id(self, name: str) -> int:
        """A demo person's id."""
        async with self.services.db.session() as s:
            st = (await s.exec(select(Staff).where(col(Staff.name) == name))).one()
            assert st.id is not None
            return st.id

    async def send(self, who: str, text: str, message_id: str, chat: str | None = None) -> str | None:
        """Dispatch with a given platform message id (for redelivery tests)."""
        msg = IncomingMessage(
            channel="console",
            sender_id=str(await self.staff_id(who)),
            text=text,
            message_id=message_id or uuid.uuid4().hex,
            received_at=self.clock.now(),
            chat_id=chat,
        )
        reply = await self.chat.adapter.dispatcher.dispatch(msg)
        return reply.text if reply else None

    async def reports(self, kind: str | None = None) -> list[Report]:
        """Every report row, oldest first."""
        async with self.services.db.session() as s:
            q = select(Report).order_by(col(Report.id))
            if kind:
                q = q.where(col(Report.kind) == kind)
            return list((await s.exec(q)).all())

    async def inbox(self, name: str) -> list[str]:
        """What the bot sent privately to ``name`` on its own initiative (alerts)."""
        sid = await self.staff_id(name)
        async with self.services.db.session() as s:
            rows = (
                await s.exec(
                    select(ConsoleMessage)
                    .where(col(ConsoleMessage.chat) == f"dm:{sid}", col(ConsoleMessage.direction) == "out")
                    .order_by(col(ConsoleMessage.id))
                )
            ).all()
        return [r.text for r in rows]


@pytest.fixture
async def day(demo_chat: Any, clock: ManualClock) -> AsyncIterator[Day]:
    """The demo day, 40 minutes after seeding (inside the first theory session)."""
    clock.advance(timedelta(minutes=40))
    yield Day(demo_chat, clock)


@pytest.fixture
async def db_day(db_url: str, make_settings: Callable[..., Settings], clock: ManualClock) -> AsyncIterator[Day]:
    """The demo day at 08:40 on SQLite and on PostgreSQL."""
    async with demo_app(make_settings(database_url=db_url), clock) as chat:
        clock.advance(timedelta(minutes=40))
        yield Day(chat, clock)

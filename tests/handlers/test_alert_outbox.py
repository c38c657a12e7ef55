"""Alerts caused by a report are written with it (one transaction) and re-created, never doubled, on a retry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import ManualClock
from bot.delivery.rows import T
from bot.model import OutgoingMessage
from tests.conftest import demo_app
from tests.handlers.conftest import Day


@pytest.fixture
async def any_day(db_url: str, make_settings: Any, clock: ManualClock) -> AsyncIterator[Day]:
    """The demo day 40 minutes in, on SQLite and on a fresh PostgreSQL database."""
    async with demo_app(make_settings(database_url=db_url), clock) as chat:
        clock.advance(timedelta(minutes=40))
        yield Day(chat, clock)


# (command, sender, kind of the report it writes)
ALERTING = [
    ("/突发 1 考生晕倒，已送医务室", "王芳", "incident"),
    ("/违纪 1 2026000003 替考 终止考试", "王芳", "violation"),
]


async def _alert_rows(day: Day, report_id: int) -> list[dict]:
    async with day.services.db.read() as s:
        conn = await s.connection()
        q = select(T.c.key, T.c.target, T.c.status).where(T.c.key.like(f"alert:report:{report_id}:%"))
        return [dict(m) for m in (await conn.execute(q)).mappings()]


@pytest.mark.parametrize(("text", "who", "kind"), ALERTING)
async def test_a_retry_recreates_lost_alerts_and_doubles_none(any_day: Day, text: str, who: str, kind: str) -> None:
    """Alert rows gone after the report committed (the old two-transaction crash) come back on the platform's retry,
    the reply counts them, and a further retry adds nothing and sends nobody a second alert."""
    day = any_day
    first = await day.send(who, text, "retry-1")
    (row,) = await day.reports(kind)
    assert row.id is not None
    alerts = await _alert_rows(day, row.id)
    assert len(alerts) == 3 and "3 人" in (first or "")  # 孙丽 (supervisor), 钱进 and 马文 (office)
    inbox = len(await day.inbox("钱进"))
    lost = [a["key"] for a in alerts[:2]]
    async with day.services.db.session() as s:  # what a crash between two transactions used to leave
        await (await s.connection()).execute(delete(T).where(T.c.key.in_(lost)))
    assert len(await _alert_rows(day, row.id)) == 1
    again = await day.send(who, text, "retry-1")
    assert again == first
    assert len(await day.reports(kind)) == 1
    assert len(await _alert_rows(day, row.id)) == 3
    third = await day.send(who, text, "retry-1")
    assert third == first and len(await _alert_rows(day, row.id)) == 3
    assert len(await day.inbox("钱进")) <= inbox + 1  # deleted rows may be sent again, never more than once


class _FailingEnqueue:
    """The app's notifier, except that writing alert rows fails (a full disk, a lost connection)."""

    def __init__(self, real: object) -> None:
        self.real = real

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    async def enqueue(self, session: AsyncSession, messages: Sequence[OutgoingMessage], now: datetime) -> None:
        raise RuntimeError("outbox write failed")


async def test_report_and_its_alerts_commit_together(any_day: Day) -> None:
    """When the alerts cannot be written the report is not stored either, and the reply does not say it was."""
    day = any_day
    day.services.notifier = _FailingEnqueue(day.services.notifier)  # type: ignore[assignment]
    reply = await day.send("王芳", "/突发 1 停电", "atomic-1")
    assert reply is not None and "已记录" not in reply and "系统出了点问题" in reply
    assert await day.reports("incident") == []

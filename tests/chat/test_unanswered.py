"""The log of unanswered questions stays bounded: merged repeats, per-sender and per-day caps (both databases)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.settings import Settings
from bot.store.tables import UnansweredQuestion
from handlers.ask import STAFF_PER_DAY, VISITOR_PER_DAY, VISITORS_PER_DAY
from tests.conftest import Chat, demo_app


@pytest.fixture
async def chat(db_url: str, make_settings: Callable[..., Settings], clock: ManualClock) -> AsyncIterator[Chat]:
    """The demo app on SQLite and on PostgreSQL."""
    async with demo_app(make_settings(database_url=db_url), clock) as c:
        clock.advance(timedelta(minutes=40))
        yield c


async def _rows(chat: Chat) -> list[UnansweredQuestion]:
    async with chat.services.db.read() as s:
        return list((await s.exec(select(UnansweredQuestion).order_by(col(UnansweredQuestion.id)))).all())


async def _ask(chat: Chat, who: str, text: str) -> None:
    reply = await chat.say(who, text)
    assert reply is not None and reply.startswith("抱歉，我不确定"), reply


async def test_repeated_question_adds_to_a_count(chat: Chat, clock: ManualClock) -> None:
    """The same question asked again the same day (any sender, any spacing) is one row with a count."""
    await _ask(chat, "王芳", "今天食堂中午吃什么")
    await _ask(chat, "李强", "今天食堂中午吃什么？")
    await _ask(chat, "陌生人", "今天 食堂 中午吃什么 ?")
    (row,) = await _rows(chat)
    assert row.count == 3 and row.question == "今天食堂中午吃什么"
    listing = await chat.say("钱进", "/未答问题")
    assert listing is not None and "王芳：今天食堂中午吃什么（问过 3 次）" in listing
    clock.advance(timedelta(days=1))
    await _ask(chat, "王芳", "今天食堂中午吃什么")
    assert [r.count for r in await _rows(chat)] == [3, 1]


async def test_strangers_are_capped_per_sender_and_per_day(chat: Chat) -> None:
    """Senders not on the staff list keep a few rows each and a fixed number in total; staff are still logged."""
    senders = VISITORS_PER_DAY // VISITOR_PER_DAY + 3
    for i in range(senders):
        for j in range(VISITOR_PER_DAY + 2):
            await _ask(chat, f"陌生人{i}", f"食堂第{i}号窗口第{j}份饭菜价格贵不贵")
    rows = await _rows(chat)
    assert len(rows) == VISITORS_PER_DAY
    assert max(sum(1 for r in rows if r.sender == s) for s in {r.sender for r in rows}) == VISITOR_PER_DAY
    await _ask(chat, "王芳", "今天食堂中午吃什么")
    assert len(await _rows(chat)) == VISITORS_PER_DAY + 1
    listing = await chat.say("钱进", "/未答问题 100")
    assert listing is not None and f"今天未登记人员的问题已记满 {VISITORS_PER_DAY} 条" in listing
    assert "王芳：今天食堂中午吃什么" in listing and len(listing) < 5000


async def test_staff_member_is_capped_per_day(chat: Chat, clock: ManualClock) -> None:
    """One staff member adds at most STAFF_PER_DAY rows a day; the next day they are logged again."""
    for i in range(STAFF_PER_DAY + 3):
        await _ask(chat, "王芳", f"食堂第{i}号窗口饭菜价格贵不贵")
    assert len(await _rows(chat)) == STAFF_PER_DAY
    clock.advance(timedelta(days=1))
    await _ask(chat, "王芳", "食堂第0号窗口饭菜价格贵不贵")
    assert len(await _rows(chat)) == STAFF_PER_DAY + 1

"""A second /试卷 回收 is a recount (复点): the reply shows both counts and which one stands; /历史 says 复点."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.store.reports import PapersPayload
from tests.conftest import demo_app
from tests.handlers.conftest import Day


@pytest.fixture
async def bday(db_url: str, make_settings: Any, clock: ManualClock) -> AsyncIterator[Day]:
    """The demo day at 08:40 on SQLite and on PostgreSQL."""
    async with demo_app(make_settings(database_url=db_url), clock) as chat:
        clock.advance(timedelta(minutes=40))
        yield Day(chat, clock)


async def test_second_collection_is_a_recount(bday: Day) -> None:
    """The recount keeps the earlier count on record, shows both, and the new one stands (and is checked)."""
    await bday.say("王芳", "/缺考 无")
    await bday.say("王芳", "/试卷 领取 30")
    bad = await bday.say("王芳", "/试卷 回收 29")
    first = (await bday.reports("papers"))[-1]
    assert "核对不符" in bad
    reply = await bday.say("李强", "/试卷 回收 30 答题卡 30")
    second = (await bday.reports("papers"))[-1]
    assert second.supersedes_id == first.id
    assert f"已记录第1考场试卷复点（编号 {second.id}）：回收 30 份（答题卡 30，空白 0，损坏 0），核对无误。" in reply
    assert f"上次清点（编号 {first.id}）回收 29 份（答题卡 未报，空白 0，损坏 0）" in reply
    assert "本次回收 30 份（答题卡 30，空白 0，损坏 0）" in reply
    assert f"两次不同，以本次（编号 {second.id}）为准，上次记录保留" in reply
    assert "替代之前的编号" not in reply
    p = PapersPayload.from_payload(second.payload)
    assert (p.recount_of, p.previous) == (first.id, (29, None, 0, 0))
    history = await bday.say("孙丽", f"/历史 {second.id}")
    assert f"编号 {second.id}" in history and "复点：回收 30 份" in history
    assert "更正" not in history.split("的历史：", 1)[1]


async def test_same_recount_says_they_agree(bday: Day) -> None:
    """A recount with the same figures says both counts agree."""
    await bday.say("王芳", "/试卷 领取 30")
    await bday.say("王芳", "/试卷 回收 30 答题卡 28 空白 2")
    reply = await bday.say("王芳", "/试卷 回收 30 答题卡 28 空白 2")
    assert "两次一致" in reply and "以本次" in reply


async def test_recount_redelivered_records_once(bday: Day) -> None:
    """A recount message delivered twice records one row and answers the same."""
    await bday.say("王芳", "/试卷 领取 30")
    await bday.say("王芳", "/试卷 回收 29")
    a = await bday.send("王芳", "/试卷 回收 30", "platform-recount-1")
    b = await bday.send("王芳", "/试卷 回收 30", "platform-recount-1")
    assert a == b and a is not None and "复点" in a
    assert len(await bday.reports("papers")) == 3


async def test_correcting_a_collection_is_still_a_correction(bday: Day) -> None:
    """/更正 of a collection is named 更正 in /历史, not 复点."""
    await bday.say("王芳", "/试卷 领取 30")
    await bday.say("王芳", "/试卷 回收 29")
    first = (await bday.reports("papers"))[-1]
    await bday.say("王芳", f"/更正 {first.id} 回收 30")
    assert "更正：回收 30 份" in await bday.say("孙丽", f"/历史 {first.id}")

"""Rows written with a report are sent by the ids their insert returned; keys already there fall back to a read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.delivery.notifier import OutboxNotifier
from bot.delivery.rows import T
from bot.delivery.sender import Outbox
from bot.model import OutgoingMessage, PersonTarget
from bot.store.engine import Database
from bot.store.migrate import upgrade


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def deliver(self, message: OutgoingMessage) -> str | None:
        self.sent.append(message.text)
        return str(len(self.sent))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await upgrade(database)
    yield database
    await database.dispose()


def _msg(user: str, key: str) -> OutgoingMessage:
    return OutgoingMessage(PersonTarget("console", user), f"提醒 {key}", key=key)


async def _statuses(db: Database) -> dict[str, str]:
    async with db.read() as s:
        rows = (await (await s.connection()).execute(select(T.c.key, T.c.status))).all()
    return {k: st for k, st in rows}


async def test_enqueue_returns_the_ids_of_new_rows_only(db: Database, clock: ManualClock) -> None:
    """A key already in the outbox is skipped and gets no id; the ids name the rows just written."""
    notifier = OutboxNotifier(Outbox(db, clock, Recorder().deliver))
    async with db.session() as s:
        first = await notifier.enqueue(s, [_msg("1", "a"), _msg("2", "b")], clock.now())
    async with db.session() as s:
        again = await notifier.enqueue(s, [_msg("1", "a"), _msg("3", "c")], clock.now())
    assert len(first) == 2 and len(again) == 1 and again[0] not in first
    async with db.read() as s:
        keyed = dict((await (await s.connection()).execute(select(T.c.id, T.c.key))).all())
    assert {keyed[i] for i in first} == {"a", "b"} and keyed[again[0]] == "c"


async def test_send_by_ids_and_keys_sends_each_pending_row_once(db: Database, clock: ManualClock) -> None:
    """Ids and keys together: every named pending row goes out once, a row named twice too, a sent row never again."""
    recorder = Recorder()
    notifier = OutboxNotifier(Outbox(db, clock, recorder.deliver))
    async with db.session() as s:
        ids = await notifier.enqueue(s, [_msg("1", "a"), _msg("2", "b"), _msg("3", "c")], clock.now())
    await notifier.send_keys(["c"], ids=[*ids[:2], ids[0]])
    assert sorted(recorder.sent) == ["提醒 a", "提醒 b", "提醒 c"]
    assert set((await _statuses(db)).values()) == {"sent"}
    await notifier.send_keys(["a"], ids=ids)
    assert len(recorder.sent) == 3


async def test_ids_of_a_rolled_back_transaction_send_nothing(db: Database, clock: ManualClock) -> None:
    """The dispatcher sends by id only after the handler's transaction; ids that never committed claim nothing."""
    recorder = Recorder()
    notifier = OutboxNotifier(Outbox(db, clock, recorder.deliver))
    with pytest.raises(RuntimeError):
        async with db.session() as s:
            ids = await notifier.enqueue(s, [_msg("1", "x")], clock.now())
            raise RuntimeError("the handler failed after writing its alerts")
    await notifier.send_keys([], ids=ids)
    assert recorder.sent == [] and await _statuses(db) == {}

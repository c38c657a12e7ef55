"""Rows written with a report are sent by claiming their keys: each pending row once, nothing read back first."""

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


async def test_send_keys_claims_each_pending_row_once(db: Database, clock: ManualClock) -> None:
    """Every named pending row goes out once, a key named twice too; a sent row never again; others stay pending."""
    recorder = Recorder()
    notifier = OutboxNotifier(Outbox(db, clock, recorder.deliver))
    async with db.session() as s:
        await notifier.enqueue(s, [_msg("1", "a"), _msg("2", "b"), _msg("3", "c"), _msg("4", "d")], clock.now())
    await notifier.send_keys(["a", "b", "c", "a"])
    assert sorted(recorder.sent) == ["提醒 a", "提醒 b", "提醒 c"]
    assert await _statuses(db) == {"a": "sent", "b": "sent", "c": "sent", "d": "pending"}
    await notifier.send_keys(["a", "b"])
    assert len(recorder.sent) == 3


async def test_deferred_keys_are_sent_by_one_background_pass(db: Database, clock: ManualClock) -> None:
    """Deferred (inside a callback): the keys queue up and a background pass sends them; settle waits for it."""
    recorder = Recorder()
    notifier = OutboxNotifier(Outbox(db, clock, recorder.deliver))
    async with db.session() as s:
        await notifier.enqueue(s, [_msg("1", "a"), _msg("2", "b")], clock.now())
    await notifier.send_keys(["a"], defer=True)
    await notifier.send_keys(["b"], defer=True)
    await notifier.settle()
    assert sorted(recorder.sent) == ["提醒 a", "提醒 b"]


async def test_keys_of_a_rolled_back_transaction_send_nothing(db: Database, clock: ManualClock) -> None:
    """A handler that failed after writing its alerts rolled them back: their keys claim nothing."""
    recorder = Recorder()
    notifier = OutboxNotifier(Outbox(db, clock, recorder.deliver))
    with pytest.raises(RuntimeError):
        async with db.session() as s:
            await notifier.enqueue(s, [_msg("1", "x")], clock.now())
            raise RuntimeError("the handler failed after writing its alerts")
    await notifier.send_keys(["x"])
    assert recorder.sent == [] and await _statuses(db) == {}

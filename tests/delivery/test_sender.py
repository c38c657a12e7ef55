"""The outbox sender: disjoint claims, per-target rate limit with merging, retries, dead letters, the notifier."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.clock import ManualClock
from bot.delivery.config import OutboxConfig
from bot.delivery.notifier import OutboxNotifier
from bot.delivery.rows import T, insert_rows, new_row
from bot.delivery.sender import Outbox
from bot.model import GroupTarget, OutgoingMessage, PersonTarget
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.tables import OutboxKind, Role, Staff
from tests.scheduler.sched_helpers import Ledger

GROUP = {"type": "group", "channel": "console", "chat_id": "console:第1考场", "webhook": None, "secret": None}


async def _db(url: str) -> Database:
    db = Database(url)
    await upgrade(db)
    return db


async def _fill(db: Database, clock: ManualClock, n: int, target: Callable[[int], dict[str, Any]]) -> None:
    now = clock.now()
    rows = [
        new_row(key=f"t:{i}", kind=OutboxKind.NOTICE, target=target(i), text=f"消息{i}", due_at=now, now=now)
        for i in range(n)
    ]
    async with db.session() as s:
        await insert_rows(await s.connection(), rows)


async def _statuses(db: Database) -> dict[str, int]:
    from sqlalchemy import func, select

    async with db.sessions() as s:
        conn = await s.connection()
        return dict((await conn.execute(select(T.c.status, func.count()).group_by(T.c.status))).all())  # type: ignore[arg-type]


async def test_two_concurrent_claimers_get_disjoint_sets_covering_all(db_url: str, clock: ManualClock) -> None:
    """Two senders claiming 500 due rows in batches at the same time never share a row and miss none."""
    db = await _db(db_url)
    try:
        await _fill(db, clock, 500, lambda i: {"type": "person", "channel": "console", "user_id": str(i)})
        other = Database(db_url)  # a second engine, as a second process would have
        a = Outbox(db, clock, Ledger(clock).deliver, config=OutboxConfig(batch_size=37))
        b = Outbox(other, clock, Ledger(clock).deliver, config=OutboxConfig(batch_size=37))

        async def claim_all(o: Outbox) -> list[int]:
            got: list[int] = []
            while True:
                rows = await o.claim(clock.now())
                if not rows:
                    return got
                got += [r["id"] for r in rows]
                await asyncio.sleep(0)

        ga, gb = await asyncio.gather(claim_all(a), claim_all(b))
        assert not set(ga) & set(gb)
        assert len(ga) + len(gb) == 500 and len(set(ga) | set(gb)) == 500
        await other.dispose()
    finally:
        await db.dispose()


async def test_hundred_messages_to_one_group_in_a_minute_respect_twenty_a_minute(
    tmp_path: Any, clock: ManualClock
) -> None:
    """100 messages to one group arriving over a minute go out merged or spaced: ≤ 20 per 60 s, none lost."""
    db = await _db(f"sqlite:///{tmp_path / 'rate.db'}")
    ledger = Ledger(clock)
    out = Outbox(db, clock, ledger.deliver)
    try:
        for i in range(100):  # one every 0.6 s, each handled as it arrives
            now = clock.now()
            async with db.session() as s:
                row = new_row(key=f"g:{i}", kind=OutboxKind.NOTICE, target=GROUP, text=f"第{i}条", due_at=now, now=now)
                await insert_rows(await s.connection(), [row])
            await out.drain()
            clock.advance(timedelta(milliseconds=600))
        for _ in range(10):
            clock.advance(timedelta(seconds=30))
            await out.drain()
        times = [at for at, _a, _t in ledger.deliveries]
        for t in times:
            assert sum(1 for u in times if t <= u < t + timedelta(minutes=1)) <= 20
        pieces = ledger.pieces()
        assert sorted(text for (_a, text) in pieces) == sorted(f"第{i}条" for i in range(100))
        assert set(pieces.values()) == {1}
        assert len(times) < 100  # some were merged
        assert await _statuses(db) == {"sent": 100}
    finally:
        await db.dispose()


async def test_a_platform_down_for_a_while_gets_everything_once_it_recovers(tmp_path: Any, clock: ManualClock) -> None:
    """While the platform fails, rows back off and stay pending; after it recovers each is delivered once."""
    db = await _db(f"sqlite:///{tmp_path / 'down.db'}")
    ledger = Ledger(clock)
    recover_at = clock.now() + timedelta(minutes=3)
    ledger.failing = lambda m: clock.now() < recover_at
    out = Outbox(db, clock, ledger.deliver)  # default settings: retried by time, not by count
    try:
        await _fill(db, clock, 30, lambda i: {"type": "person", "channel": "console", "user_id": str(i % 5)})
        for _ in range(40):
            await out.drain()
            clock.advance(timedelta(seconds=15))
        assert ledger.errors > 0
        assert await _statuses(db) == {"sent": 30}
        pieces = ledger.pieces()
        assert sum(pieces.values()) == 30 and set(pieces.values()) == {1}
    finally:
        await db.dispose()


async def test_after_max_attempts_a_message_fails_and_the_office_is_told(tmp_path: Any, clock: ManualClock) -> None:
    """With the optional cap on tries, a target that never accepts ends `failed` after N tries; the office is told."""
    db = await _db(f"sqlite:///{tmp_path / 'dead.db'}")
    ledger = Ledger(clock)
    ledger.failing = lambda m: isinstance(m.target, GroupTarget)
    out = Outbox(db, clock, ledger.deliver, config=OutboxConfig(max_attempts=3))
    try:
        async with db.session() as s:
            s.add(Staff(name="钱进", roles=Role.OFFICE.value))
        await _fill(db, clock, 1, lambda i: GROUP)
        for _ in range(20):
            await out.drain()
            clock.advance(timedelta(minutes=1))
        rows = {r: st for r, st in (await _statuses(db)).items()}
        assert rows == {"failed": 1, "sent": 1}
        assert ledger.errors == 3
        [(_at, addr, text)] = ledger.deliveries
        assert addr == "person:console:1" and "多次发送失败" in text and "消息0" in text
    finally:
        await db.dispose()


async def test_finish_is_fenced_by_the_lease(tmp_path: Any, clock: ManualClock) -> None:
    """A sender whose lease was taken over cannot mark the row: the new owner's result stands."""
    db = await _db(f"sqlite:///{tmp_path / 'fence.db'}")
    try:
        await _fill(db, clock, 1, lambda i: GROUP)
        slow = Outbox(db, clock, Ledger(clock).deliver)
        [row] = await slow.claim(clock.now())
        clock.advance(timedelta(minutes=3))
        fast = Outbox(db, clock, Ledger(clock).deliver)
        assert (await fast.drain()).sent == 1
        assert await slow._finish([row["id"]], status="failed") == 0
        assert await _statuses(db) == {"sent": 1}
    finally:
        await db.dispose()


async def test_notifier_writes_rows_first_and_sends_them(tmp_path: Any, clock: ManualClock) -> None:
    """OutboxNotifier persists each message under its key, sends it, and a repeated key is not sent twice."""
    db = await _db(f"sqlite:///{tmp_path / 'notify.db'}")
    ledger = Ledger(clock)
    notifier = OutboxNotifier(Outbox(db, clock, ledger.deliver))
    try:
        msg = OutgoingMessage(PersonTarget("console", "7"), "第1考场报告违纪", key="alert:1")
        await notifier.notify([msg])
        await notifier.notify([msg])
        assert [(a, t) for _at, a, t in ledger.deliveries] == [("person:console:7", "第1考场报告违纪")]
        assert await _statuses(db) == {"sent": 1}
        ledger.failing = lambda m: True
        await notifier.notify([OutgoingMessage(PersonTarget("console", "7"), "稍后送达")])
        assert await _statuses(db) == {"sent": 1, "pending": 1}  # kept for the retry, not lost
    finally:
        await db.dispose()


async def test_deliveries_are_counted_by_what_they_announce(tmp_path: Any, clock: ManualClock) -> None:
    """exambot_messages_out_total labels outbox deliveries with the row's kind and timeline step."""
    from bot.adapters.base import Adapter, AdapterNotifier
    from bot.metrics import Metrics

    class Console(Adapter):
        name = "console"

        async def send(self, message: OutgoingMessage) -> str | None:
            return None

    db = await _db(f"sqlite:///{tmp_path / 'metric.db'}")
    metrics = Metrics()
    out = Outbox(db, clock, AdapterNotifier({"console": Console()}, metrics).deliver)
    try:
        now = clock.now()
        rows = [
            new_row(key="r", kind=OutboxKind.REMINDER, target=GROUP, text="开考", due_at=now, now=now, step="start"),
            new_row(
                key="n",
                kind=OutboxKind.NOTICE,
                target={**GROUP, "chat_id": "console:第2考场"},
                text="告警",
                due_at=now,
                now=now,
            ),
        ]
        async with db.session() as s:
            await insert_rows(await s.connection(), rows)
        await out.drain()
        text = metrics.render().decode()
        assert 'exambot_messages_out_total{channel="console",command="reminder:start",kind="notice"} 1.0' in text
        assert 'exambot_messages_out_total{channel="console",command="notice",kind="notice"} 1.0' in text
    finally:
        await db.dispose()

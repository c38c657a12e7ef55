"""The outbox against real platform limits: bytes per message, a rate window shared by instances, long outages."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.adapters._text import split_utf8
from bot.adapters.base import Capabilities, text_limits
from bot.clock import ManualClock
from bot.delivery.config import OutboxConfig
from bot.delivery.merge import MERGE_SEPARATOR
from bot.delivery.rows import T, insert_rows, new_row
from bot.delivery.sender import Outbox
from bot.errors import PlatformError
from bot.model import OutgoingMessage
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.tables import OutboxKind, Role, Staff
from tests.scheduler.sched_helpers import Ledger

ROBOT = {"type": "group", "channel": "wecom", "chat_id": "", "webhook": "https://qy.test/s?key=k1", "secret": None}
GROUP = {"type": "group", "channel": "console", "chat_id": "console:第1考场", "webhook": None, "secret": None}
LINE = "第1考场：请两名监考人员同时领取试卷，检查职业（工种）名称、等级，连同考生名册、草稿纸等带进考场。"  # ~150 bytes


@dataclass
class FakeRobot:
    """A WeCom-like adapter: its client cuts text into 2,048-byte pieces and POSTs each one (as send_webhook does)."""

    clock: ManualClock
    name: str = "wecom"
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(max_text_bytes=2048))
    posts: list[tuple[datetime, str]] = field(default_factory=list)
    fail_post: set[int] = field(default_factory=set)  # numbers of POSTs (0-based, counting attempts) that fail
    attempts: int = 0

    async def send(self, message: OutgoingMessage) -> str | None:
        """Split like the real client and POST each piece; a failing POST raises after the earlier pieces went out."""
        for piece in split_utf8(message.text, self.capabilities.max_text_bytes):
            n = self.attempts
            self.attempts += 1
            if n in self.fail_post:
                raise PlatformError("robot: 500")
            self.posts.append((self.clock.now(), piece))
        return None


def _sender(
    db: Database, clock: ManualClock, adapters: Mapping[str, Any], config: OutboxConfig | None = None
) -> Outbox:
    """An outbox as the app builds it: messages sized by the adapters' capabilities, delivered through them."""
    config = config or OutboxConfig()
    config.text_bytes = text_limits(adapters)
    return Outbox(db, clock, Delivery(adapters).deliver, channels=tuple(adapters), config=config)


@dataclass
class Delivery:
    """What the app passes to the outbox: an object with ``adapters`` and a bound ``deliver``."""

    adapters: Mapping[str, Any]

    async def deliver(self, message: OutgoingMessage) -> str | None:
        """Route to the target's adapter."""
        return await self.adapters[message.target.channel].send(message)


async def _db(url: str) -> Database:
    db = Database(url)
    await upgrade(db)
    return db


async def _add(db: Database, now: datetime, rows: list[tuple[str, dict[str, Any], str]], **extra: Any) -> None:
    async with db.session() as s:
        kind = OutboxKind.NOTICE
        made = [new_row(key=k, kind=kind, target=t, text=x, due_at=now, now=now, **extra) for k, t, x in rows]
        await insert_rows(await s.connection(), made)


async def _statuses(db: Database) -> dict[str, int]:
    from sqlalchemy import func, select

    async with db.read() as s:
        conn = await s.connection()
        return dict((await conn.execute(select(T.c.status, func.count()).group_by(T.c.status))).all())  # type: ignore[arg-type]


def _max_in_a_minute(times: list[datetime]) -> int:
    return max((sum(1 for u in times if t <= u < t + timedelta(minutes=1)) for t in times), default=0)


async def test_merged_messages_never_need_splitting_so_each_counted_message_is_one_post(
    tmp_path: Any, clock: ManualClock
) -> None:
    """300 Chinese reminders to one robot merge into messages within 2,048 bytes: one POST each, ≤ 20 POSTs a minute."""
    db = await _db(f"sqlite:///{tmp_path / 'bytes.db'}")
    robot = FakeRobot(clock)
    out = _sender(db, clock, {"wecom": robot})
    try:
        assert out.text_limit("wecom") == 2048  # read from the adapter's capabilities
        await _add(db, clock.now(), [(f"b:{i}", ROBOT, f"{i:03d}{LINE}") for i in range(300)])
        for _ in range(12):
            await out.drain()
            clock.advance(timedelta(seconds=20))
        assert await _statuses(db) == {"sent": 300}
        assert all(len(text.encode("utf-8")) <= 2048 for _at, text in robot.posts)
        assert robot.attempts == len(robot.posts)  # nothing was split by the client
        assert _max_in_a_minute([at for at, _t in robot.posts]) <= 20
        got = sorted(p for _at, text in robot.posts for p in text.split(MERGE_SEPARATOR))
        assert got == sorted(f"{i:03d}{LINE}" for i in range(300))
        assert 20 < len(robot.posts) < 40  # merged, about 11 rows a message; the window spaced the rest
    finally:
        await db.dispose()


async def test_byte_budget_per_channel_from_the_config(tmp_path: Any, clock: ManualClock) -> None:
    """A plain delivery function gets the per-channel byte budget it is configured with (the app's comes from the
    adapters): WeCom messages stay within 2,048 bytes; a channel not configured gets the default."""
    db = await _db(f"sqlite:///{tmp_path / 'budget.db'}")
    ledger = Ledger(clock)
    config = OutboxConfig(text_bytes={"wecom": 2048, "dingtalk": 5000}, default_text_bytes=1000)
    out = Outbox(db, clock, ledger.deliver, channels=("wecom",), config=config)
    try:
        assert out.text_limit("wecom") == 2048 and out.text_limit("dingtalk") == 5000
        assert out.text_limit("console") == 1000
        await _add(db, clock.now(), [(f"c:{i}", ROBOT, LINE) for i in range(40)])
        await out.drain()
        assert await _statuses(db) == {"sent": 40}
        assert len(ledger.deliveries) > 1
        assert all(len(text.encode("utf-8")) <= 2048 for _at, _a, text in ledger.deliveries)
    finally:
        await db.dispose()


async def test_a_row_longer_than_the_limit_counts_each_piece_and_a_retry_sends_only_the_rest(
    tmp_path: Any, clock: ManualClock
) -> None:
    """A 3-piece notice takes 3 places in the window, and after its 2nd POST fails the retry resends only pieces 2-3."""
    db = await _db(f"sqlite:///{tmp_path / 'long.db'}")
    robot = FakeRobot(clock, fail_post={1})
    out = _sender(db, clock, {"wecom": robot})
    try:
        long_text = "\n".join(f"{i:02d}{LINE}" for i in range(35))  # ~5,300 bytes: 3 pieces
        await _add(db, clock.now(), [("long", ROBOT, long_text)])
        await out.drain()
        assert len(robot.posts) == 1  # piece 1 went out, piece 2 failed
        [row] = [r for r in await _rows(db)]
        assert row["status"] == "pending" and row["pieces_sent"] == 1
        clock.advance(timedelta(seconds=6))
        await out.drain()
        assert await _statuses(db) == {"sent": 1}
        assert "".join(t for _at, t in robot.posts).replace("\n", "") == long_text.replace("\n", "")
        assert len(robot.posts) == 3  # the first piece was not sent again
        # The window counts the 3 pieces (and conservatively the failed attempt): 15 more fit this minute.
        await _add(db, clock.now(), [(f"s:{i}", ROBOT, f"短{i}") for i in range(40)])
        sender = _sender(db, clock, {"wecom": robot}, _one_per_message())
        await sender.drain()
        assert _max_in_a_minute([at for at, _t in robot.posts]) <= 20
        for _ in range(6):
            clock.advance(timedelta(seconds=30))
            await sender.drain()
        assert await _statuses(db) == {"sent": 41}
        assert _max_in_a_minute([at for at, _t in robot.posts]) <= 20
    finally:
        await db.dispose()


def _one_per_message() -> OutboxConfig:
    """Batches of one row, so every row is its own platform message (no merging to hide the count)."""
    return OutboxConfig(batch_size=1)


async def _rows(db: Database) -> list[dict[str, Any]]:
    from sqlalchemy import select

    async with db.read() as s:
        conn = await s.connection()
        return [dict(m) for m in (await conn.execute(select(T).order_by(T.c.id))).mappings()]


async def test_two_instances_share_one_rate_window_per_group(db_url: str, clock: ManualClock) -> None:
    """Two senders on one database (SQLite and PostgreSQL) together send at most 20 messages a minute to one group."""
    db = await _db(db_url)
    other = Database(db_url)
    ledger = Ledger(clock)
    cfg = {"batch_size": 2}  # two rows a message at most: 150 rows want 75 messages
    a = Outbox(db, clock, ledger.deliver, config=OutboxConfig(**cfg))
    b = Outbox(other, clock, ledger.deliver, config=OutboxConfig(**cfg))
    try:
        await _add(db, clock.now(), [(f"g:{i}", GROUP, f"第{i}条") for i in range(150)])
        for _ in range(30):
            await asyncio.gather(a.drain(), b.drain(), a.drain(), b.drain())
            clock.advance(timedelta(seconds=10))
        times = [at for at, _a, _t in ledger.deliveries]
        assert _max_in_a_minute(times) == 20  # the window is full, never over
        assert a.totals.sent > 0 and b.totals.sent > 0
        pieces = ledger.pieces()
        assert sorted(t for (_a, t) in pieces) == sorted(f"第{i}条" for i in range(150))
        assert set(pieces.values()) == {1}
        assert await _statuses(db) == {"sent": 150}
    finally:
        await other.dispose()
        await db.dispose()


async def test_an_outage_of_twenty_minutes_loses_nothing_with_the_default_settings(
    tmp_path: Any, clock: ManualClock
) -> None:
    """Default config: notices survive 20 minutes of platform errors (backoff ≤ 60 s) and each arrives once after."""
    db = await _db(f"sqlite:///{tmp_path / 'outage.db'}")
    ledger = Ledger(clock)
    recover_at = clock.now() + timedelta(minutes=20)
    failures: list[datetime] = []

    def failing(m: OutgoingMessage) -> bool:
        if clock.now() < recover_at:
            failures.append(clock.now())
            return True
        return False

    ledger.failing = failing
    out = Outbox(db, clock, ledger.deliver)
    try:
        people = [{"type": "person", "channel": "console", "user_id": str(i % 4)} for i in range(30)]
        await _add(db, clock.now(), [(f"n:{i}", people[i], f"通知{i}") for i in range(30)])
        for _ in range(26 * 6):
            await out.drain()
            clock.advance(timedelta(seconds=10))
        assert await _statuses(db) == {"sent": 30}
        pieces = ledger.pieces()
        assert sum(pieces.values()) == 30 and set(pieces.values()) == {1}
        gaps = [b - a for a, b in zip(sorted(set(failures)), sorted(set(failures))[1:], strict=False)]
        assert gaps and max(gaps) <= timedelta(seconds=70)  # backoff capped at 60 s (plus the 10 s step)
        assert max(at for at, _a, _t in ledger.deliveries) < recover_at + timedelta(seconds=80)
    finally:
        await db.dispose()


async def test_messages_still_failing_at_their_deadline_are_dead_lettered_and_the_office_told(
    tmp_path: Any, clock: ManualClock
) -> None:
    """A group that keeps failing: a reminder gives up at its expiry, a notice 30 minutes after its first failure."""
    db = await _db(f"sqlite:///{tmp_path / 'dead.db'}")
    ledger = Ledger(clock)
    ledger.failing = lambda m: m.target.channel == "console" and getattr(m.target, "chat_id", "") == GROUP["chat_id"]
    out = Outbox(db, clock, ledger.deliver)
    start = clock.now()
    try:
        async with db.session() as s:
            s.add(Staff(name="钱进", roles=Role.OFFICE.value))
        await _add(db, start, [("notice", GROUP, "通知：考场变更")])
        await _add(db, start, [("reminder", GROUP, "提醒：领取试卷")], expires_at=start + timedelta(minutes=8))
        for _ in range(40 * 6):
            await out.drain()
            clock.advance(timedelta(seconds=10))
        rows = {r["key"]: r for r in await _rows(db)}
        assert rows["notice"]["status"] == "failed" and rows["reminder"]["status"] == "failed"
        assert timedelta(minutes=30) <= rows["notice"]["next_try_at"] - start <= timedelta(minutes=31)
        assert rows["reminder"]["next_try_at"] - start <= timedelta(minutes=8)
        notes = [t for _at, _a, t in ledger.deliveries if "多次发送失败" in t]
        assert len(notes) == 2 and "考场变更" in notes[1] and "领取试卷" in notes[0]
    finally:
        await db.dispose()

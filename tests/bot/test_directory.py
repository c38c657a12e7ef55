"""Resolving senders: the short-lived staff cache in front of the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.directory import StaffCache
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.tables import Staff


def test_cache_returns_fresh_copies_and_expires(monkeypatch: Any) -> None:
    """A hit is a copy (a handler cannot change the next message's view); entries die after the TTL."""
    now = [100.0]
    monkeypatch.setattr("bot.directory.time.monotonic", lambda: now[0])
    cache = StaffCache(ttl=5.0)
    cache.put("wecom", "wangfang", Staff(id=1, name="王芳", roles="invigilator", wecom_userid="wangfang"))
    first = cache.get("wecom", "wangfang")
    assert first is not None and (first.id, first.name, first.roles) == (1, "王芳", "invigilator")
    first.roles = "admin"
    again = cache.get("wecom", "wangfang")
    assert again is not None and again.roles == "invigilator"
    assert cache.get("dingtalk", "wangfang") is None  # per channel
    now[0] += 5.1
    assert cache.get("wecom", "wangfang") is None


async def test_deactivated_staff_lose_access_after_the_ttl(demo_chat: Any, monkeypatch: Any) -> None:
    """A person switched off in the database is refused once the cached entry expires (no restart needed)."""
    now = [1000.0]
    monkeypatch.setattr("bot.directory.time.monotonic", lambda: now[0])
    assert "王芳" in (await demo_chat.say("王芳", "/我") or "")
    async with demo_chat.services.db.session() as s:
        wang = (await s.exec(select(Staff).where(col(Staff.name) == "王芳"))).one()
        wang.active = False
        s.add(wang)
    now[0] += 6
    reply = await demo_chat.say("王芳", "/缺考 1 无")
    assert reply is not None and "不在考务人员名单" in reply


@pytest.fixture
async def staffed(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'dir.db'}")
    await upgrade(db)
    async with db.session() as s:
        s.add_all(Staff(name=f"监考{i}", roles="invigilator", wecom_userid=f"u{i}") for i in range(200))
        s.add(Staff(name="停用", roles="invigilator", wecom_userid="off", active=False))
    yield db
    await db.dispose()


async def test_misses_arriving_together_are_resolved_in_one_query(staffed: Database) -> None:
    """200 senders missing at once (their entries expired together) cost one query, not 200; strangers and
    deactivated staff are None; a sender asked for twice gets the same person (as separate copies)."""
    cache = StaffCache()
    senders = [f"u{i}" for i in range(200)] + ["stranger", "off", "u7"]
    found = await asyncio.gather(*(cache.lookup(staffed, "wecom", u) for u in senders))
    assert [st.name if st else None for st in found] == [f"监考{i}" for i in range(200)] + [None, None, "监考7"]
    assert found[7] is not found[-1]
    assert cache.queries <= 2
    again = await asyncio.gather(*(cache.lookup(staffed, "wecom", f"u{i}") for i in range(200)))
    assert all(st is not None for st in again) and cache.queries <= 2  # cached now
    console = await cache.lookup(staffed, "console", str(found[0].id))  # type: ignore[union-attr]
    assert console is not None and console.name == "监考0"
    assert await cache.lookup(staffed, "console", "9" * 30) is None
    assert await cache.lookup(staffed, "elsewhere", "u1") is None


async def test_a_failed_lookup_reaches_every_waiter_and_the_next_one_retries(staffed: Database) -> None:
    cache = StaffCache()
    real_read = staffed.read
    calls = 0

    @asynccontextmanager
    async def flaky_read() -> AsyncIterator[Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("database went away")
        async with real_read() as s:
            yield s

    staffed.read = flaky_read  # type: ignore[method-assign]
    results = await asyncio.gather(*(cache.lookup(staffed, "wecom", f"u{i}") for i in range(5)), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results), results
    later = await cache.lookup(staffed, "wecom", "u3")
    assert later is not None and later.name == "监考3"


async def test_a_cancelled_lookup_leaves_nobody_waiting(staffed: Database) -> None:
    """The lookup task is cancelled (the service stops) while senders wait: each gets an error, none hangs."""
    cache = StaffCache()
    gate = asyncio.Event()
    real_read = staffed.read

    @asynccontextmanager
    async def slow_read() -> AsyncIterator[Any]:
        await gate.wait()
        async with real_read() as s:
            yield s

    staffed.read = slow_read  # type: ignore[method-assign]
    waiting = [asyncio.create_task(cache.lookup(staffed, "wecom", f"u{i}")) for i in range(3)]
    await asyncio.sleep(0.01)
    assert cache._resolver is not None
    cache._resolver.cancel()
    results = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 5)
    assert all(isinstance(r, RuntimeError) and "cancelled" in str(r) for r in results), results
    staffed.read = real_read  # type: ignore[method-assign]
    found = await cache.lookup(staffed, "wecom", "u1")
    assert found is not None and found.name == "监考1"


async def test_alert_recipients_are_read_once_per_ttl_and_a_new_office_member_counts_after_it(
    demo_chat: Any, monkeypatch: Any
) -> None:
    """Reports that alert within the TTL share one read of the office and supervisors; a person added to the
    office is alerted from the first report after the TTL (every instance, no restart)."""
    now = [1000.0]
    monkeypatch.setattr("bot.directory.time.monotonic", lambda: now[0])
    cache = demo_chat.adapter.dispatcher.role_cache
    first = await demo_chat.say("王芳", "/突发 1 停电")
    second = await demo_chat.say("王芳", "/突发 1 空调坏了")
    told = _told(first)
    assert told > 0 and _told(second) == told
    assert cache.queries == 1
    async with demo_chat.services.db.session() as s:
        s.add(Staff(name="新来的", roles="office", wecom_userid="newcomer"))
    now[0] += 6
    assert _told(await demo_chat.say("王芳", "/突发 1 漏水")) == told + 1


def _told(reply: str | None) -> int:
    """The count in “已通知考务办公室和督导（3 人）”."""
    assert reply is not None and "已通知考务办公室和督导（" in reply, reply
    return int(reply.split("已通知考务办公室和督导（", 1)[1].split(" 人", 1)[0])

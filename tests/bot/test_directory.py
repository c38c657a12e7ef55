"""Resolving senders: the short-lived staff cache in front of the database."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot.directory import StaffCache
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

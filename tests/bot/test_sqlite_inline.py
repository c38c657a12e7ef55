"""The inline SQLite driver (bot/store/sqlite_inline.py): no thread hop; a lock held elsewhere never blocks the loop."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.sqlite_inline import InlineConnection
from bot.store.tables import Staff


async def _db(path: Path, busy_timeout_ms: int = 15000) -> Database:
    db = Database(f"sqlite:///{path}", busy_timeout_ms=busy_timeout_ms)
    await upgrade(db)
    return db


async def test_connections_are_inline_and_set_up(tmp_path: Path) -> None:
    db = await _db(tmp_path / "a.db")
    try:
        async with db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert isinstance(raw.driver_connection, InlineConnection)
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 0, "synchronous": 1}
    finally:
        await db.dispose()


async def test_write_waits_for_another_connection_without_blocking_the_loop(tmp_path: Path) -> None:
    """Another connection (as another process would) holds the write lock; the loop keeps running, and the
    coroutine that releases that lock is on the same loop: were the wait a blocking one, it would never end."""
    path = tmp_path / "b.db"
    db = await _db(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO staff (name, roles, active) VALUES ('别的进程', '', 1)")
        ticks = 0

        async def release_later() -> None:
            nonlocal ticks
            for _ in range(5):
                await asyncio.sleep(0.01)
                ticks += 1
            other.execute("COMMIT")

        async def write() -> None:
            async with db.session() as s:
                s.add(Staff(name="本服务"))

        await asyncio.gather(release_later(), write())
        assert ticks == 5
        async with db.read() as s:
            assert set((await s.exec(select(Staff.name))).all()) == {"别的进程", "本服务"}
    finally:
        other.close()
        await db.dispose()


async def test_lock_held_past_the_busy_timeout_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    db = await _db(path, busy_timeout_ms=100)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="database is locked"):
            async with db.session() as s:
                s.add(Staff(name="等不到"))
        other.execute("ROLLBACK")
        async with db.session() as s:  # the connection is fine afterwards
            s.add(Staff(name="之后"))
        async with db.read() as s:
            assert (await s.exec(select(Staff.name))).all() == ["之后"]
    finally:
        other.close()
        await db.dispose()


async def test_reads_go_on_while_another_connection_writes(tmp_path: Path) -> None:
    """WAL: a reader never waits for a writer, also with the busy handler off."""
    path = tmp_path / "d.db"
    db = await _db(path)
    async with db.session() as s:
        s.add(Staff(name="已有"))
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO staff (name, roles, active) VALUES ('未提交', '', 1)")
        async with db.read() as s:
            assert (await s.exec(select(Staff.name))).all() == ["已有"]
        other.execute("ROLLBACK")
    finally:
        other.close()
        await db.dispose()

"""Group commit for SQLite: the write transactions of concurrent coroutines share one COMMIT.

SQLite has one writer at a time, so a process's write transactions queue anyway (see
:meth:`bot.store.engine.Database.session`). What they queue for is mostly not their statements but
the transaction around them: BEGIN IMMEDIATE, COMMIT, a pool checkout and a thread hop for each.
Here the coroutine whose turn it is runs inside a SAVEPOINT of a transaction that stays open while
others are waiting; the last one of the group (nobody waiting, or the group is full) commits it
for all. Every member's ``async with`` returns only after that COMMIT, so what a caller
acknowledges after its block is on disk, exactly as with a transaction of its own.

The first member of a group needs no savepoint (nothing of anyone else's is in the transaction
yet): when it fails, the whole transaction is rolled back and the group ends there. A writer that
is alone, the usual case, thus pays for BEGIN and COMMIT only.

A later member that raises is rolled back to its savepoint and the others are unaffected; a member that
leaves the connection unusable (its rollback fails too) fails the whole group, and every member
whose block had finished gets that error from its ``async with`` (nothing of theirs was written).
Members run one after another, in arrival order, as they did under a plain lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.tasks import Tasks

MAX_MEMBERS = 64  # a group commits after this many members even when more are waiting (bounds latency)


class GroupFailed(RuntimeError):
    """The group's transaction could not be committed; this member's work was not written."""


class _Group:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.members = 0
        self.broken: BaseException | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class GroupCommit:
    """Turns for writers on one SQLite engine; consecutive turns share a transaction."""

    def __init__(self, engine: AsyncEngine, *, max_members: int = MAX_MEMBERS) -> None:
        self.engine = engine
        self.max_members = max_members
        self._sessions = async_sessionmaker(
            class_=AsyncSession, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        # The first member joins the group's transaction itself: its commit leaves the transaction
        # to the group, its rollback rolls the transaction back.
        self._first_sessions = async_sessionmaker(
            class_=AsyncSession, expire_on_commit=False, join_transaction_mode="rollback_only"
        )
        self._turn = asyncio.Lock()
        self._waiting = 0
        self._group: _Group | None = None
        self._owner: asyncio.Task[Any] | None = None
        self._tasks = Tasks("group-commit")  # the close of a group a cancelled waiter left open
        self.commits = 0  # how many group transactions were committed (for tests and benchmarks)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """An ORM session whose work is one savepoint of the current group."""
        async with self._member() as (conn, first):
            session = (self._first_sessions if first else self._sessions)(bind=conn)
            try:
                async with session.begin():  # SAVEPOINT (not for the first); RELEASE on success, ROLLBACK TO on error
                    yield session
            finally:
                await session.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """The group's connection inside a savepoint of its own (for Core statements)."""
        async with self._member() as (conn, first):
            if first:
                yield conn  # on error the group's transaction is rolled back (see _member)
                return
            nested = await conn.begin_nested()
            try:
                yield conn
            except BaseException:
                if nested.is_active:
                    await nested.rollback()
                raise
            else:
                if nested.is_active:
                    await nested.commit()

    @asynccontextmanager
    async def _member(self) -> AsyncIterator[tuple[AsyncConnection, bool]]:
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            raise RuntimeError("nested write transaction on SQLite (it would wait for itself)")
        self._waiting += 1
        try:
            await self._turn.acquire()
        except BaseException:
            # The turn before this one may have left the group open for this waiter: close it then.
            self._tasks.spawn(self._close_idle(), name="group-commit-close")
            raise
        finally:
            self._waiting -= 1
        self._owner = task
        try:
            group = await self._open()
        except BaseException:
            self._owner = None
            self._turn.release()
            raise
        first = group.members == 0
        group.members += 1
        failed: BaseException | None = None
        try:
            yield group.conn, first
        except BaseException as exc:
            failed = exc
            if not first and not await _usable(group.conn):
                group.broken = exc
            raise
        finally:
            try:
                if failed is not None and first:  # nobody else's work is in it: roll back, end the group
                    self._group = None
                    await asyncio.shield(_discard(group))
                elif group.broken is not None or self._waiting == 0 or group.members >= self.max_members:
                    self._group = None
                    await asyncio.shield(self._finish(group))
            finally:
                self._owner = None
                self._turn.release()
            if failed is None:  # the block ended well: it is written when the group's COMMIT is
                await _committed(group)

    async def _close_idle(self) -> None:
        async with self._turn:
            group = self._group
            if group is not None and self._waiting == 0:
                self._group = None
                await self._finish(group)

    async def _open(self) -> _Group:
        if self._group is not None:
            return self._group
        conn = await self.engine.connect()
        try:
            await conn.begin()
        except BaseException:
            await conn.close()
            raise
        self._group = _Group(conn)
        return self._group

    async def _finish(self, group: _Group) -> None:
        """COMMIT (or, when a member broke the connection, ROLLBACK) and tell every member."""
        try:
            if group.broken is not None:
                raise GroupFailed("a member left the transaction unusable") from group.broken
            await group.conn.commit()
            self.commits += 1
        except BaseException as exc:
            # A failed COMMIT can leave SQLite's transaction open on the driver connection: drop the
            # connection instead of returning it to the pool (closing it rolls the transaction back).
            with suppress(Exception):
                await group.conn.invalidate()
            if not group.done.done():
                group.done.set_exception(exc)
            group.done.exception()  # retrieved: members that raised themselves never await it
        else:
            if not group.done.done():
                group.done.set_result(None)
        finally:
            with suppress(Exception):
                await group.conn.close()


async def _discard(group: _Group) -> None:
    """Roll back and close a group whose only member failed (no one waits for its outcome)."""
    group.done.cancel()
    try:
        if group.conn.in_transaction():
            await group.conn.rollback()
    except Exception:
        with suppress(Exception):
            await group.conn.invalidate()
    finally:
        with suppress(Exception):
            await group.conn.close()


async def _committed(group: _Group) -> None:
    try:
        await asyncio.shield(group.done)
    except GroupFailed:
        raise
    except Exception as exc:
        raise GroupFailed("the group's transaction failed") from exc


async def _usable(conn: AsyncConnection) -> bool:
    """True when the member's savepoint was undone and the outer transaction still answers."""
    if conn.invalidated or not conn.in_transaction():
        return False
    try:
        await conn.exec_driver_sql("SELECT 1")
    except Exception:
        return False
    return True

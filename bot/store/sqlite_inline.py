"""SQLite for SQLAlchemy's asyncio engine without a thread hop per call.

SQLAlchemy's ``sqlite+aiosqlite`` dialect talks to the database through aiosqlite, which runs every
driver call (make a cursor, execute, fetch, close the cursor, commit) on a thread of its own and
wakes the event loop with the result. On this project's 2-core machine one such hop costs about
110 µs, while the SQLite call itself costs about 1 µs: a write transaction of a handler (BEGIN,
SAVEPOINT, INSERT, RELEASE, COMMIT, four calls each) spent 2–3 ms hopping.

Here the same aiosqlite-shaped connection (what the dialect's adapter expects) runs each call on
the event loop's thread and returns at once. That is sound for SQLite because its calls do not
wait on anything but the local file, with one exception: another connection holding the write lock
(another process, such as ``exambot import`` while the service runs). SQLite's own busy handler
would then sleep *on the loop*; so the connection is opened with ``busy_timeout`` 0 and a
statement that meets a lock is retried after an ``asyncio.sleep`` (1 ms doubling to 50 ms) until
the configured busy timeout has passed. A statement that returned SQLITE_BUSY did not run, so
running it again is what SQLite's busy handler would have done.

Within the process, writers take turns anyway (:mod:`bot.store.group`); WAL readers never wait
for writers. What remains on the loop is the disk write of a COMMIT (no fsync with
``synchronous=NORMAL`` in WAL mode, except at checkpoints).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

_BUSY = ("database is locked", "database is busy", "database table is locked")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return any(b in text for b in _BUSY)


class _Retry:
    """Run a driver call now; when SQLite answers busy, sleep on the loop and try again until the deadline."""

    def __init__(self, busy_timeout: float) -> None:
        self.busy_timeout = busy_timeout

    async def __call__(self, fn: Callable[..., Any], *args: Any) -> Any:
        deadline: float | None = None
        delay = 0.001
        while True:
            try:
                return fn(*args)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                now = asyncio.get_running_loop().time()
                if deadline is None:
                    deadline = now + self.busy_timeout
                elif now >= deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)


class InlineCursor:
    """The async cursor interface of aiosqlite over a sqlite3 cursor, run on the calling thread."""

    def __init__(self, cursor: sqlite3.Cursor, retry: _Retry) -> None:
        self._cursor = cursor
        self._retry = retry

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        if parameters is None:
            await self._retry(self._cursor.execute, sql)
        else:
            await self._retry(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        await self._retry(self._cursor.executemany, sql, list(parameters))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def __aiter__(self) -> AsyncIterator[Any]:
        while (row := self._cursor.fetchone()) is not None:
            yield row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _CursorContext:
    """What ``aiosqlite.Connection.cursor()`` returns: awaitable, and an async context manager."""

    def __init__(self, make: Callable[[], InlineCursor]) -> None:
        self._make = make

    def __await__(self) -> Any:
        return self.__aenter__().__await__()

    async def __aenter__(self) -> InlineCursor:
        return self._make()

    async def __aexit__(self, *exc: object) -> None:
        return None


class _NowQueue:
    """Stands in for aiosqlite's request queue: SQLAlchemy's isolation-level setter puts a call on it."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class InlineConnection:
    """The parts of ``aiosqlite.Connection`` that SQLAlchemy's aiosqlite adapter uses."""

    def __init__(self, conn: sqlite3.Connection, busy_timeout: float) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn  # the adapter checks it before commit and rollback
        self._tx = _NowQueue()
        self._retry = _Retry(busy_timeout)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _CursorContext:
        return _CursorContext(lambda: InlineCursor(self._conn.cursor(), self._retry))

    async def commit(self) -> None:
        await self._retry(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def connector(path: str, *, busy_timeout: float) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine``: opens ``path`` with SQLite's busy handler off."""

    async def connect() -> InlineConnection:
        # check_same_thread=False: SQLAlchemy may close a pooled connection from the garbage collector.
        conn = sqlite3.connect(path, timeout=0, check_same_thread=False, isolation_level=None)
        return InlineConnection(conn, busy_timeout)

    return connect

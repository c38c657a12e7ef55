"""Async engine and sessions for SQLite (embedded default) and PostgreSQL (several instances).

SQLite settings follow shared SCHEDULING.md: WAL, ``synchronous=NORMAL``, foreign keys on, and
every write transaction opened with ``BEGIN IMMEDIATE`` so concurrent read-modify-write coroutines
queue instead of failing with "database is locked". Within the process writers take turns and share
commits (:mod:`bot.store.group`); a lock held by another process is waited for asynchronously, up to
the busy timeout (:mod:`bot.store.sqlite_inline`, which also runs the driver on the loop's thread).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.group import GroupCommit
from bot.store.sqlite_inline import connector


def async_url(url: str) -> str:
    """Map a plain ``sqlite:///`` or ``postgresql://`` URL to its async driver."""
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        return u.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return u.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme: {u.drivername}")


def _setup_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that "begin" below decides.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=0")  # waits for other processes' locks are async (sqlite_inline)
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Reads (Database.read) take a deferred BEGIN: in WAL mode they never wait for a writer.
        # Straight to the driver's cursor: through exec_driver_sql this cost ~0.1 ms, more than the transaction's
        # statements (every transaction takes it).
        sql = "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
        cur = conn.connection.cursor()
        try:
            cur.execute(sql)
        except sqlite3.Error as exc:  # raised as SQLAlchemy would (OperationalError "database is locked", ...)
            raise DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc
        finally:
            cur.close()


def _setup_postgresql(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # Instead of the pool's pre-ping (BEGIN, an empty query and ROLLBACK: three round trips on every
        # checkout, 0.3-0.45 ms of a ~1.5 ms transaction here): asyncpg marks a connection closed as soon as
        # the event loop reads that the server (a restart) or the network closed it, so a local check finds
        # them. The pool then drops the connection and checks out another. A connection that dies unnoticed
        # fails its statement, which is answered 503 (platforms retry) and makes the pool replace the others.
        driver = record.driver_connection
        if driver is None or driver.is_closed():
            raise DisconnectionError("connection closed by the server")


READ_ONLY = "exambot_read_only"


class Database:
    """One engine and its session factory; created once per app."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 15000, echo: bool = False) -> None:
        self.url = url
        self.async_url = async_url(url)
        self.is_sqlite = self.async_url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            path = make_url(self.async_url).database or ":memory:"
            kwargs["async_creator"] = connector(path, busy_timeout=busy_timeout_ms / 1000)
        else:
            kwargs.update(pool_size=10, max_overflow=10)
        self.engine: AsyncEngine = create_async_engine(self.async_url, **kwargs)
        if self.is_sqlite:
            _setup_sqlite(self.engine)
        else:
            _setup_postgresql(self.engine)
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._group: GroupCommit | None = GroupCommit(self.engine) if self.is_sqlite else None
        self._read_sessions = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), class_=AsyncSession, expire_on_commit=False
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside one write transaction: committed on success, rolled back on error.

        On SQLite the block runs in its turn as a savepoint of a transaction shared with the writers
        queued behind it (group commit, :mod:`bot.store.group`); either way the block's work is
        committed by the time ``async with`` returns.
        """
        if self._group is not None:
            async with self._group.session() as session:
                yield session
            return
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A bare connection inside one write transaction (for Core statements); committed like :meth:`session`."""
        if self._group is not None:
            async with self._group.connection() as conn:
                yield conn
            return
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading only: on SQLite it does not take the write lock (no BEGIN IMMEDIATE)."""
        async with self._read_sessions() as session, session.begin():
            yield session

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


_TRANSIENT_DRIVER_ERRORS = frozenset(
    {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "PostgresConnectionError",
        "InterfaceError",
        "TooManyConnectionsError",
        "AdminShutdownError",
        "CrashShutdownError",
    }
)


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or its cause) means the database cannot be reached right now.

    Such errors must not turn into a "handled" reply: the request is answered 503 and the platform
    retries it, so an acknowledged message is always a stored one.
    """
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError | TimeoutError | sa_exc.TimeoutError):
            return True
        if isinstance(cur, sa_exc.DBAPIError) and (
            cur.connection_invalidated or isinstance(cur, sa_exc.OperationalError | sa_exc.InterfaceError)
        ):
            return True
        if type(cur).__name__ in _TRANSIENT_DRIVER_ERRORS:
            return True
        cur = cur.__cause__ or cur.__context__
    return False

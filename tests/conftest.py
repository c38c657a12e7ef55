"""Shared fixtures: settings on a throwaway database, a manual clock, apps under test, PostgreSQL.

PostgreSQL tests use the server on 127.0.0.1:5432 (``EXAMBOT_TEST_PG`` overrides the admin URL);
each test gets a database of its own, dropped afterwards. `.ci/run` makes sure the server is up,
so an unreachable server fails these tests instead of skipping them silently.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.clock import ManualClock
from bot.settings import Settings

PG_ADMIN_URL = os.environ.get("EXAMBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No EXAMBOT_* variable or exambot.toml of the developer leaks into a test."""
    for key in list(os.environ):
        if key.startswith("EXAMBOT_") and key != "EXAMBOT_TEST_PG":
            monkeypatch.delenv(key)
    monkeypatch.setenv("EXAMBOT_CONFIG", str(tmp_path / "no-such-exambot.toml"))


def _pg_admin_dsn() -> str:
    return str(make_url(PG_ADMIN_URL).set(drivername="postgresql"))


async def create_pg_database() -> str:
    """Create an empty database on the test server and return its URL."""
    import asyncpg

    name = f"exambot_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(_pg_admin_dsn())
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def drop_pg_database(url: str) -> None:
    """Drop a database made by :func:`create_pg_database`."""
    import asyncpg

    name = make_url(url).database
    conn = await asyncpg.connect(_pg_admin_dsn())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same test on an SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'exambot.db'}"
        return
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
def clock() -> ManualClock:
    """A clock that only moves when the test says so (2026-12-05 08:00 Asia/Shanghai)."""
    return ManualClock(datetime(2026, 12, 5, 0, 0, tzinfo=UTC))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Build settings on an SQLite file in the test's temp dir, with overrides."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"database_url": f"sqlite:///{tmp_path / 'exambot.db'}"}
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Default settings on a temp SQLite file."""
    return make_settings()


@pytest.fixture
def anyio_backend() -> str:
    """Only asyncio."""
    return "asyncio"


@pytest.fixture
def repo_root() -> Iterator[Path]:
    """The project root (for sample files and scripts)."""
    yield Path(__file__).resolve().parent.parent


class Chat:
    """Talk to an app in-process through its console adapter, as any demo staff member."""

    def __init__(self, app: Any) -> None:
        from bot.app import ADAPTERS, SERVICES

        self.app = app
        self.adapter = app[ADAPTERS]["console"]
        self.services = app[SERVICES]

    async def say(self, who: str | int, text: str, chat: str | None = None) -> str | None:
        """Send ``text`` as ``who`` (a staff name or id) and return the reply text (None for no reply)."""
        from bot.directory import find_staff_by_name_or_id

        async with self.services.db.session() as s:
            staff = await find_staff_by_name_or_id(s, str(who))
        sender = str(staff.id) if staff is not None else f"unknown:{who}"
        reply = await self.adapter.handle(sender, text, chat)
        return reply.text if reply else None


@asynccontextmanager
async def demo_app(settings: Settings, clock: Any, *, seed: bool = True) -> AsyncIterator[Chat]:
    """An app (console channel, no background parts), on a demo day starting at ``clock``'s time when ``seed``."""
    from aiohttp import web

    from bot.app import SERVICES, create_app
    from bot.demo import seed_demo

    app = create_app(settings, clock=clock, console=True, components=[])
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        if seed:
            await seed_demo(app[SERVICES].db, clock.now(), settings.tz)
        yield Chat(app)
    finally:
        await runner.cleanup()


@pytest.fixture
async def demo_chat(settings: Settings, clock: ManualClock) -> AsyncIterator[Chat]:
    """An app (console channel, no background parts) on a demo day starting at the test clock's time."""
    async with demo_app(settings, clock) as chat:
        yield chat


async def console_headers(client: Any) -> dict[str, str]:
    """Open /console as the browser does (its cookie stays in the client's jar); the headers its JS sends."""
    page = await (await client.get("/console")).text()
    match = re.search(r'<meta name="console-token" content="([^"]+)">', page)
    assert match, "the console page embeds no token"
    return {"X-Console-Token": match.group(1)}

"""Importer fixtures: a fresh database per test (SQLite; also PostgreSQL when EXAMBOT_TEST_PG is set).

With ``EXAMBOT_TEST_PG`` (a URL to a server, e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``) every test
also runs on PostgreSQL: one throwaway database per test module, emptied before each test and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func, text
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.importer import ImportResult, import_file
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.tables import Assignment, AuditLog, Candidate, ExamSession, Room, Staff

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"  # copies of /work/shared/samples
TZ = ZoneInfo("Asia/Shanghai")
PG_SERVER = os.environ.get("EXAMBOT_TEST_PG")


def _in_thread(coro: Awaitable[Any]) -> Any:
    """Run a coroutine to completion on a loop of its own (safe whether or not a loop is running here)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]


async def _admin(sql: str) -> None:
    import asyncpg

    assert PG_SERVER is not None
    conn = await asyncpg.connect(str(make_url(PG_SERVER).set(drivername="postgresql")))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test module."""
    assert PG_SERVER is not None
    name = f"exambot_imp_{uuid.uuid4().hex[:10]}"
    _in_thread(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        _in_thread(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"] if PG_SERVER else ["sqlite"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty, migrated database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'import.db'}"
    else:
        url = request.getfixturevalue("pg_module_url")
    database = Database(url)
    await upgrade(database)
    if not database.is_sqlite:
        async with database.session() as s:
            rows = await s.exec(  # type: ignore[call-overload]
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            )
            names = ", ".join(f'"{r[0]}"' for r in rows)
            if names:
                await s.exec(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))  # type: ignore[call-overload]
    try:
        yield database
    finally:
        await database.dispose()


ImportFn = Callable[..., Awaitable[ImportResult]]


@pytest.fixture
def imp(db: Database) -> ImportFn:
    """``await imp(kind, path, **kw)``: import_file with the test timezone and an import actor."""

    async def run(kind: str, path: Path, **kw: Any) -> ImportResult:
        return await import_file(db, kind, path, tz=TZ, actor=f"import:{Path(path).name}", **kw)  # type: ignore[arg-type]

    return run


@pytest.fixture
async def staffed(imp: ImportFn) -> None:
    """The sample staff list imported."""
    await imp("staff", SAMPLES / "staff.csv")


@pytest.fixture
async def scheduled(imp: ImportFn, staffed: None) -> None:
    """The sample staff list and schedule imported."""
    await imp("schedule", SAMPLES / "schedule.xlsx")


async def table_counts(db: Database) -> dict[str, int]:
    """Rows per table the importer writes."""
    out: dict[str, int] = {}
    async with db.session() as s:
        for name, model in (
            ("staff", Staff),
            ("session", ExamSession),
            ("room", Room),
            ("assignment", Assignment),
            ("candidate", Candidate),
            ("audit", AuditLog),
        ):
            out[name] = (await s.exec(select(func.count()).select_from(model))).one()
    return out


@pytest.fixture
def counts(db: Database) -> Callable[[], Awaitable[dict[str, int]]]:
    """``await counts()``: rows per table."""

    async def run() -> dict[str, int]:
        return await table_counts(db)

    return run


def write_xlsx(
    path: Path,
    rows: list[list[Any]],
    *,
    sheet: str = "Sheet1",
    merges: tuple[str, ...] = (),
    more_sheets: dict[str, list[list[Any]]] | None = None,
) -> Path:
    """An .xlsx with ``rows`` (None = empty cell) and merged ranges."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(row)
    for rng in merges:
        ws.merge_cells(rng)
    for name, extra in (more_sheets or {}).items():
        other = wb.create_sheet(name)
        for row in extra:
            other.append(row)
    wb.save(path)
    return path


@pytest.fixture
def xlsx(tmp_path: Path) -> Callable[..., Path]:
    """``xlsx(name, rows, merges=..., sheet=...)`` writes a workbook into the test's temp dir."""

    def make(name: str, rows: list[list[Any]], **kw: Any) -> Path:
        return write_xlsx(tmp_path / name, rows, **kw)

    return make


def sample_rows(name: str) -> list[list[Any]]:
    """The values of a sample workbook's first sheet (merged cells come back empty)."""
    wb = openpyxl.load_workbook(SAMPLES / name)
    ws = wb.worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


SCHEDULE_HEADER = [
    "场次",
    "考试日期",
    "考试时间",
    "职业(工种)",
    "等级",
    "考试类型",
    "考场",
    "考试地点",
    "应考人数",
    "主监考",
    "副监考",
    "考评员",
]

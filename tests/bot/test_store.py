"""Storage on SQLite and PostgreSQL: migrations, aware times, append-only reports, concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect
from sqlmodel import col, select

from bot.store.engine import Database, async_url
from bot.store.migrate import current_revision, upgrade
from bot.store.tables import AuditLog, ExamSession, Report, SessionKind, Staff


@pytest.fixture
async def db(db_url: str):  # type: ignore[no-untyped-def]
    """A migrated database on each backend."""
    database = Database(db_url)
    await upgrade(database)
    yield database
    await database.dispose()


def test_async_url_mapping() -> None:
    """Plain URLs get the async driver."""
    assert async_url("sqlite:///./x.db") == "sqlite+aiosqlite:///./x.db"
    assert async_url("postgresql://u:p@h:5432/d") == "postgresql+asyncpg://u:p@h:5432/d"
    assert async_url("postgres://u@h/d").startswith("postgresql+asyncpg://")


async def test_migrations_create_every_table(db: Database) -> None:
    """`upgrade` creates the domain tables and records the revision; running it again is harmless."""

    def names(conn):  # type: ignore[no-untyped-def]
        return set(inspect(conn).get_table_names())

    async with db.engine.connect() as conn:
        tables = await conn.run_sync(names)
    assert {"staff", "exam_session", "room", "assignment", "candidate", "report", "audit_log"} <= tables
    rev = await current_revision(db)
    assert rev is not None
    await upgrade(db)
    assert await current_revision(db) == rev


async def test_times_come_back_aware_utc(db: Database) -> None:
    """A start time given in Beijing time is stored in UTC and read back aware and equal."""
    cst = timezone(timedelta(hours=8))
    start = datetime(2026, 12, 5, 8, 30, tzinfo=cst)
    async with db.session() as s:
        s.add(
            ExamSession(
                code="第1场",
                occupation="电工",
                kind=SessionKind.THEORY,
                day=date(2026, 12, 5),
                starts_at=start,
                ends_at=start + timedelta(minutes=90),
            )
        )
    async with db.session() as s:
        row = (await s.exec(select(ExamSession))).one()
    assert row.starts_at.tzinfo is not None
    assert row.starts_at == start
    assert row.starts_at.utcoffset() == timedelta(0)
    assert row.kind is SessionKind.THEORY


async def test_naive_datetime_is_refused(db: Database) -> None:
    """Storing a naive datetime is a bug and fails loudly."""
    with pytest.raises(Exception, match="naive"):
        async with db.session() as s:
            s.add(AuditLog(at=datetime(2026, 1, 1), actor="t", action="x", entity="y"))  # noqa: DTZ001


async def test_correction_supersedes_without_deleting(db: Database) -> None:
    """A correction is a new row pointing at the old one; both stay; one row can be superseded once."""
    now = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    async with db.session() as s:
        staff = Staff(name="王芳", roles="invigilator")
        s.add(staff)
        await s.flush()
        first = Report(kind="absent", staff_id=staff.id, payload={"tickets": ["1"]}, created_at=now)
        s.add(first)
        await s.flush()
        s.add(
            Report(
                kind="absent",
                staff_id=staff.id,
                payload={"tickets": ["1", "2"]},
                supersedes_id=first.id,
                reason="漏报一人",
                created_at=now + timedelta(minutes=1),
            )
        )
    async with db.session() as s:
        rows = (await s.exec(select(Report).order_by(col(Report.id)))).all()
    assert [r.payload["tickets"] for r in rows] == [["1"], ["1", "2"]]
    assert rows[1].supersedes_id == rows[0].id
    with pytest.raises(Exception):  # noqa: B017 - the unique constraint, whatever the driver calls it
        async with db.session() as s:
            s.add(Report(kind="absent", supersedes_id=rows[0].id, created_at=now))


async def test_platform_ids_are_unique(db: Database) -> None:
    """Two people cannot share a WeCom userid."""
    with pytest.raises(Exception):  # noqa: B017
        async with db.session() as s:
            s.add(Staff(name="甲", wecom_userid="u1"))
            s.add(Staff(name="乙", wecom_userid="u1"))


async def test_concurrent_read_modify_write_loses_nothing(db: Database) -> None:
    """50 coroutines incrementing one value through the ORM: every update survives (BEGIN IMMEDIATE on SQLite)."""
    async with db.session() as s:
        s.add(Staff(name="计数", phone="0"))

    async def bump() -> None:
        for attempt in range(20):
            try:
                async with db.session() as s:
                    q = select(Staff).where(col(Staff.name) == "计数")
                    if not db.is_sqlite:
                        q = q.with_for_update()
                    row = (await s.exec(q)).one()
                    row.phone = str(int(row.phone or "0") + 1)
                    s.add(row)
                return
            except Exception:
                if attempt == 19:
                    raise
                await asyncio.sleep(0.01)

    await asyncio.gather(*(bump() for _ in range(50)))
    async with db.session() as s:
        row = (await s.exec(select(Staff).where(col(Staff.name) == "计数"))).one()
    assert row.phone == "50"


async def test_migration_0007_keeps_reports_a_redelivery_stored_twice(db_url: str) -> None:
    """A database from before the unique index, holding one platform message stored twice, still upgrades:
    both rows stay, the later one's message id is marked #dup<id>, and the change is in the audit log."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import Connection

    from bot.store.migrate import alembic_config

    database = Database(db_url)
    try:
        cfg = alembic_config(db_url)

        def to_0006(conn: Connection) -> None:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0006")

        async with database.engine.begin() as conn:
            await conn.run_sync(to_0006)
        at = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
        async with database.session() as s:
            for text in ("抄袭", "抄袭", "另一条"):
                s.add(Report(kind="violation", payload={"t": text}, channel="wecom",
                             message_id="m1" if text == "抄袭" else "m2", created_at=at))  # fmt: skip
        await upgrade(database)
        assert await current_revision(database) == ScriptDirectory.from_config(cfg).get_current_head()
        async with database.read() as s:
            rows = (await s.exec(select(Report).order_by(col(Report.id)))).all()
            audit = (await s.exec(select(AuditLog).where(col(AuditLog.actor) == "migration:0007"))).all()
        assert [r.message_id for r in rows] == ["m1", f"m1#dup{rows[1].id}", "m2"]
        assert [(a.entity, a.entity_id) for a in audit] == [("report", str(rows[1].id))]
        with pytest.raises(Exception):  # noqa: B017 - the index is there now
            async with database.session() as s:
                s.add(Report(kind="violation", payload={}, channel="wecom", message_id="m2", created_at=at))
    finally:
        await database.dispose()


async def test_connections_the_server_closed_are_replaced_without_an_error(pg_url: str) -> None:
    """PostgreSQL ends every connection of the pool (as a restart does): the next operations all succeed at once.

    There is no pre-ping; the pool's checkout finds closed connections locally (asyncpg saw them closed)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    database = Database(pg_url)
    await upgrade(database)
    try:

        async def hold() -> None:
            async with database.read() as s:
                await s.exec(select(Staff))
                await asyncio.sleep(0.05)  # keep it checked out, so the pool opens several

        await asyncio.gather(*(hold() for _ in range(5)))
        assert database.engine.pool.checkedin() >= 5  # type: ignore[attr-defined]
        killer = await asyncpg.connect(pg_url)
        try:
            ended = await killer.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 "
                "AND pid <> pg_backend_pid()",
                make_url(pg_url).database,
            )
        finally:
            await killer.close()
        assert ended >= 5
        await asyncio.sleep(0.2)  # the event loop reads that the sockets were closed
        for i in range(8):
            async with database.session() as s:
                s.add(Staff(name=f"重连{i}"))
        async with database.read() as s:
            assert len((await s.exec(select(Staff))).all()) == 8
    finally:
        await database.dispose()


async def test_migration_0010_keeps_unanswered_questions(db_url: str) -> None:
    """A question logged before 0010 stays, counted once, with no sender or merge key."""
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.engine import Connection

    from bot.store.migrate import alembic_config
    from bot.store.tables import UnansweredQuestion

    database = Database(db_url)
    try:
        cfg = alembic_config(db_url)

        def to_0009(conn: Connection) -> None:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0009")

        async with database.engine.begin() as conn:
            await conn.run_sync(to_0009)
            await conn.execute(
                text("INSERT INTO unanswered_question (at, question, channel) VALUES (:at, '食堂几点开门', 'wecom')"),
                {"at": datetime(2026, 12, 5, 1, 0, tzinfo=UTC)},
            )
        await upgrade(database)
        async with database.read() as s:
            (row,) = (await s.exec(select(UnansweredQuestion))).all()
        assert (row.question, row.count, row.sender, row.key, row.last_at) == ("食堂几点开门", 1, "", "", None)
    finally:
        await database.dispose()

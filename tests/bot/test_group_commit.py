"""SQLite group commit (bot/store/group.py): concurrent writers share a COMMIT, each keeps its own fate."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import TextClause, text
from sqlmodel import col, select

from bot.store.engine import Database
from bot.store.group import GroupFailed
from bot.store.migrate import upgrade
from bot.store.tables import Staff


@pytest.fixture
async def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'group.db'}")
    await upgrade(database)
    yield database
    await database.dispose()


async def _names(url: str) -> set[str]:
    """What another connection (another process, say) sees as committed."""
    other = Database(url)
    try:
        async with other.read() as s:
            return set((await s.exec(select(Staff.name))).all())
    finally:
        await other.dispose()


async def _add_staff(db: Database, name: str) -> None:
    """One writer: a staff row, yielding once inside its turn so the others queue behind it."""
    async with db.session() as s:
        s.add(Staff(name=name))
        await asyncio.sleep(0)


def _insert_staff(name: str, userid: str) -> TextClause:
    """A Core INSERT of a staff row (``wecom_userid`` is unique)."""
    return text(f"INSERT INTO staff (name, roles, active, wecom_userid) VALUES ('{name}', '', 1, '{userid}')")


async def test_concurrent_writers_share_commits_and_all_land(db: Database) -> None:
    assert db._group is not None
    before = db._group.commits

    async def write(i: int) -> str:
        await _add_staff(db, f"甲{i}")
        return f"甲{i}"

    written = await asyncio.gather(*(write(i) for i in range(60)))
    assert await _names(db.url) == set(written)
    assert db._group.commits - before < 60  # grouped: fewer transactions than writers


async def test_written_when_the_block_returns(db: Database) -> None:
    """Every writer's row is committed (visible to another connection) by the time its block has returned."""
    seen_after: dict[int, bool] = {}

    async def write(i: int) -> None:
        await _add_staff(db, f"乙{i}")
        seen_after[i] = f"乙{i}" in await _names(db.url)

    await asyncio.gather(*(write(i) for i in range(10)))
    assert seen_after == {i: True for i in range(10)}


async def test_a_failing_member_is_undone_alone(db: Database) -> None:
    async def bad() -> None:
        async with db.session() as s:
            s.add(Staff(name="坏的"))
            await s.flush()
            raise ValueError("handler refused")

    async def duplicate() -> None:  # a constraint error inside the group: rolled back to its savepoint
        async with db.begin() as conn:
            await conn.execute(_insert_staff("重1", "dup"))
            await conn.execute(_insert_staff("重2", "dup"))

    good = [_add_staff(db, f"丙{i}") for i in range(3)]
    results = await asyncio.gather(good[0], bad(), good[1], duplicate(), good[2], return_exceptions=True)
    assert isinstance(results[1], ValueError)
    assert isinstance(results[3], Exception) and "UNIQUE" in str(results[3])
    assert [r for i, r in enumerate(results) if i not in (1, 3)] == [None, None, None]
    assert await _names(db.url) == {"丙0", "丙1", "丙2"}


@pytest.mark.parametrize("how", ["session", "connection"])
async def test_a_failing_first_member_ends_its_group_alone(db: Database, how: str) -> None:
    """The first member of a group runs without a savepoint: when it fails, the transaction is rolled back and the
    writers queued behind it start a new group and all land."""
    assert db._group is not None
    before = db._group.commits

    async def bad_first() -> None:
        if how == "session":
            async with db.session() as s:
                s.add(Staff(name="先坏"))
                await s.flush()
                await asyncio.sleep(0.01)  # the others queue behind this turn
                raise ValueError("handler refused")
        async with db.begin() as conn:
            await conn.execute(_insert_staff("先1", "d"))
            await asyncio.sleep(0.01)
            await conn.execute(_insert_staff("先2", "d"))

    first = asyncio.create_task(bad_first())
    await asyncio.sleep(0.001)
    assert db._group._owner is first  # the bad writer holds the first turn of a fresh group
    results = await asyncio.gather(first, *(_add_staff(db, f"后{i}") for i in range(5)), return_exceptions=True)
    assert isinstance(results[0], ValueError if how == "session" else Exception), results
    assert results[1:] == [None] * 5
    assert await _names(db.url) == {f"后{i}" for i in range(5)}
    assert db._group.commits - before == 1  # the failed group committed nothing; the next one holds all five
    assert db._group._group is None and db._group._owner is None


async def test_commit_failure_reaches_every_member_and_writes_nothing(db: Database) -> None:
    """A deferred constraint fails at COMMIT: every member of that group gets GroupFailed, none is written."""
    async with db.begin() as conn:
        await conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await conn.execute(
            text(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, "
                "parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )

    async def orphan() -> None:
        async with db.begin() as conn:
            await conn.execute(text("INSERT INTO child (parent_id) VALUES (999)"))
            await asyncio.sleep(0)

    results = await asyncio.gather(_add_staff(db, "丁0"), orphan(), _add_staff(db, "丁1"), return_exceptions=True)
    assert all(isinstance(r, GroupFailed) for r in results), results
    assert await _names(db.url) == set()
    async with db.session() as s:  # the next group is fine
        s.add(Staff(name="之后"))
    assert await _names(db.url) == {"之后"}


async def test_read_modify_write_in_turns(db: Database) -> None:
    """Members run one after another, so each sees the one before it (also inside one group)."""
    async with db.session() as s:
        s.add(Staff(name="计数", phone="0"))

    async def bump() -> None:
        async with db.session() as s:
            row = (await s.exec(select(Staff).where(col(Staff.name) == "计数"))).one()
            await asyncio.sleep(0)
            row.phone = str(int(row.phone or "0") + 1)
            s.add(row)

    await asyncio.gather(*(bump() for _ in range(40)))
    async with db.read() as s:
        assert (await s.exec(select(Staff.phone).where(col(Staff.name) == "计数"))).one() == "40"


async def test_nested_write_in_one_task_is_refused(db: Database) -> None:
    async with db.session():
        with pytest.raises(RuntimeError, match="nested write transaction"):
            async with db.session():
                pass


@pytest.mark.parametrize("handed_over", [False, True], ids=["while-holder-writes", "after-turn-handed-over"])
async def test_cancelled_waiter_leaves_no_group_open(db: Database, handed_over: bool) -> None:
    """A writer waiting for its turn is cancelled: while the holder still writes (the holder then commits), or
    after the holder left its turn to it without committing (someone was waiting): either way the group ends."""
    gate = asyncio.Event()

    async def holder() -> None:
        async with db.session() as s:
            s.add(Staff(name="持有"))
            await gate.wait()

    async def queued() -> None:
        async with db.session() as s:
            s.add(Staff(name="取消"))
            await asyncio.sleep(10)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0.01)
    waiter = asyncio.create_task(queued())
    await asyncio.sleep(0.01)
    assert db._group is not None
    if handed_over:
        gate.set()
        for _ in range(10_000):  # until the holder has left its turn to the waiter, without committing
            if db._group._owner is None:
                break
            await asyncio.sleep(0)
        waiter.cancel()
    else:
        waiter.cancel()
        gate.set()
    await asyncio.wait_for(first, 5)
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await _names(db.url) == {"持有"}

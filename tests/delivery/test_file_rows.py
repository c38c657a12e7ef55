"""File rows in the outbox: stored bytes, sent alone and whole, retried after a crash, and the table's migration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlmodel import SQLModel

from bot.clock import ManualClock
from bot.delivery.notifier import OutboxNotifier
from bot.delivery.rows import T
from bot.delivery.sender import Outbox
from bot.errors import PlatformError
from bot.files import FileDelivery, FileLinks
from bot.model import OutgoingMessage, PersonTarget, TextFormat, file_id_of, file_message
from bot.store.engine import Database
from bot.store.files import MAX_FILE_BYTES, FileTooLarge, clean_name, load_file, purge_files, store_file
from bot.store.migrate import upgrade
from bot.store.tables import OutboxFile
from tests.fakes.files import ROWS, WORKBOOK_NAME, workbook_bytes, workbook_rows

PERSON = PersonTarget("console", "7")


class Recorder:
    """A deliver function that keeps what it was given, and can fail the next calls."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []
        self.failures = 0

    async def deliver(self, message: OutgoingMessage) -> str | None:
        if self.failures:
            self.failures -= 1
            raise PlatformError("platform down", retryable=True)
        self.sent.append(message)
        return str(len(self.sent))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A migrated database on each backend."""
    database = Database(db_url)
    await upgrade(database)
    yield database
    await database.dispose()


def _outbox(db: Database, clock: ManualClock, recorder: Recorder, **kw: object) -> Outbox:
    links = FileLinks(b"secret", "https://exam.example.org", timedelta(hours=24), clock)
    return Outbox(db, clock, FileDelivery(recorder.deliver, db, links).deliver, **kw)  # type: ignore[arg-type]


async def _status(db: Database, key: str) -> dict[str, object]:
    async with db.read() as s:
        row = (await (await s.connection()).execute(select(T).where(T.c.key == key))).mappings().one()
    return dict(row)


async def test_file_row_is_sent_alone_and_whole_between_text_rows(db: Database, clock: ManualClock) -> None:
    """Texts before and after a file to the same person are merged with each other, never with the file;
    the file message carries the stored workbook and a signed link, and its text is never marked 补发."""
    recorder = Recorder()
    notifier = OutboxNotifier(_outbox(db, clock, recorder))
    async with db.session() as s:
        file_id = await store_file(s, WORKBOOK_NAME, workbook_bytes(), clock.now())
        await notifier.enqueue(s, [
            OutgoingMessage(PERSON, "第一条", key="a"),
            file_message(PERSON, file_id, WORKBOOK_NAME, key="f"),
            OutgoingMessage(PERSON, "第二条", key="b"),
        ], clock.now())  # fmt: skip
    clock.advance(timedelta(hours=1))  # late: texts get 补发, the file's reference must not
    await notifier.outbox.drain()
    files = [m for m in recorder.sent if m.format is TextFormat.FILE]
    texts = [m for m in recorder.sent if m.format is TextFormat.TEXT]
    assert len(files) == 1 and len(recorder.sent) == 3  # file alone; the texts either side of it apart too
    (f,) = files
    assert file_id_of(f.text) == file_id and f.attachment is not None
    assert f.attachment.name == WORKBOOK_NAME and workbook_rows(f.attachment.data) == ROWS
    assert f.attachment.link.startswith(f"https://exam.example.org/files/{file_id}?e=")
    assert f.attachment.link_expires_at == clock.now() + timedelta(hours=24)
    assert all("补发" in m.text for m in texts)
    assert (await _status(db, "f"))["status"] == "sent"


async def test_after_a_crash_another_sender_sends_the_stored_bytes(db: Database, clock: ManualClock) -> None:
    """A sender that claimed the file row and died: once its lease runs out another sender (another process,
    nothing in memory) sends the same bytes from the database."""
    async with db.session() as s:
        file_id = await store_file(s, WORKBOOK_NAME, workbook_bytes(), clock.now())
        await OutboxNotifier(_outbox(db, clock, Recorder())).enqueue(
            s, [file_message(PERSON, file_id, WORKBOOK_NAME, key="f")], clock.now()
        )
    dead = _outbox(db, clock, Recorder(), owner="dead")
    assert [r["key"] for r in await dead.claim(clock.now())] == ["f"]  # claimed, then the process died
    recorder = Recorder()
    survivor = _outbox(db, clock, recorder, owner="survivor")
    await survivor.drain()
    assert recorder.sent == []  # the lease still holds
    clock.advance(timedelta(minutes=10))
    await survivor.drain()
    (f,) = recorder.sent
    assert f.attachment is not None and workbook_rows(f.attachment.data) == ROWS
    assert (await _status(db, "f"))["status"] == "sent"


async def test_platform_error_is_retried_with_the_same_file(db: Database, clock: ManualClock) -> None:
    """A platform error puts the file row back to pending with the error; the retry sends the same workbook."""
    recorder = Recorder()
    recorder.failures = 1
    outbox = _outbox(db, clock, recorder)
    async with db.session() as s:
        file_id = await store_file(s, WORKBOOK_NAME, workbook_bytes(), clock.now())
        await OutboxNotifier(outbox).enqueue(s, [file_message(PERSON, file_id, WORKBOOK_NAME, key="f")], clock.now())
    await outbox.run_once()
    row = await _status(db, "f")
    assert row["status"] == "pending" and row["last_error"] == "platform down"
    clock.advance(timedelta(minutes=5))
    await outbox.run_once()
    (f,) = recorder.sent
    assert f.attachment is not None and f.attachment.data == (await load_file(db, file_id)).data  # type: ignore[union-attr]


async def test_a_file_that_is_gone_fails_without_retrying(db: Database, clock: ManualClock) -> None:
    """A file row whose file no longer exists is failed at once (not retried for hours)."""
    recorder = Recorder()
    outbox = _outbox(db, clock, recorder)
    message = file_message(PERSON, "q" * 32, WORKBOOK_NAME, key="gone")
    async with db.session() as s:
        await OutboxNotifier(outbox).enqueue(s, [message], clock.now())
    await outbox.run_once(report=False)
    row = await _status(db, "gone")
    assert row["status"] == "failed" and recorder.sent == []


async def test_store_file_limits_and_names(db: Database, clock: ManualClock) -> None:
    """Names lose quotes, slashes and control characters (the extension kept when shortened); oversize refused."""
    assert clean_name('考场"记录"/表\r\n.xlsx') == "考场_记录__表__.xlsx"
    long = clean_name("考" * 300 + ".xlsx")
    assert len(long) == 255 and long.endswith(".xlsx")
    async with db.session() as s:
        with pytest.raises(FileTooLarge):
            await store_file(s, "x.xlsx", b"0" * (MAX_FILE_BYTES + 1), clock.now())
    assert await load_file(db, "x" * 4000) is None
    async with db.session() as s:
        old = await store_file(s, "旧.xlsx", b"old-bytes", clock.now() - timedelta(days=8))
        new = await store_file(s, "新.xlsx", b"new-bytes", clock.now())
    assert await purge_files(db, clock.now() - timedelta(days=7)) == 1
    assert await load_file(db, old) is None and await load_file(db, new) is not None


async def test_outbox_file_table_matches_its_migration(db: Database) -> None:
    """After the migrations, the outbox_file table is exactly what the model declares (no autogenerate diff)."""

    def diff(conn: object) -> list[object]:
        ctx = MigrationContext.configure(conn)  # type: ignore[arg-type]
        return [d for d in compare_metadata(ctx, SQLModel.metadata) if "outbox_file" in repr(d)]

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    assert OutboxFile.__tablename__ == "outbox_file"

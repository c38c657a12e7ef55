"""Files the bot sends, kept in the database (``outbox_file``) until they are sent and downloaded.

A handler stores the bytes with :func:`store_file` in its own transaction and writes a
:func:`bot.model.file_message` to the outbox in the same one (``ctx.enqueue``), so the file and the
message that sends it commit together and a retry after a crash still finds the bytes.
"""

from __future__ import annotations

import re
import secrets
import string
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.engine import Database
from bot.store.tables import OutboxFile

# Letters only: a file id inside a group-bound text survives the privacy mask, which hides digit runs.
FILE_ID_LENGTH = 32  # 26^32 ≈ 2^150: unguessable
FILE_ID_SHAPE = re.compile(rf"[a-z]{{{FILE_ID_LENGTH}}}")
MAX_FILE_BYTES = 50 * 1024 * 1024  # what one stored file may hold (the platforms take 20 MB, past it: a link)
MAX_NAME = 255
_BAD_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f"\\/]')


class FileTooLarge(ValueError):
    """The file is larger than :data:`MAX_FILE_BYTES`."""


def new_file_id() -> str:
    """A fresh, unguessable file id."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(FILE_ID_LENGTH))


def clean_name(name: str) -> str:
    """A file name safe in a header and a chat: no control characters, quotes, slashes; at most 255 characters."""
    cleaned = _BAD_NAME_CHARS.sub("_", name).strip() or "文件"
    if len(cleaned) <= MAX_NAME:
        return cleaned
    stem, dot, ext = cleaned.rpartition(".")
    if dot and 0 < len(ext) <= 10:
        return stem[: MAX_NAME - len(ext) - 1] + "." + ext
    return cleaned[:MAX_NAME]


async def store_file(session: AsyncSession, name: str, data: bytes, now: datetime) -> str:
    """Add a file in the caller's transaction; returns its id (for :func:`bot.model.file_message`)."""
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge(f"file of {len(data)} bytes is larger than {MAX_FILE_BYTES}")
    file_id = new_file_id()
    session.add(OutboxFile(file_id=file_id, name=clean_name(name), size=len(data), data=data, created_at=now))
    await session.flush()
    return file_id


async def load_file(db: Database, file_id: str) -> OutboxFile | None:
    """The stored file with this id (None: unknown, or not an id at all)."""
    if not FILE_ID_SHAPE.fullmatch(file_id):
        return None
    async with db.read() as s:
        return (await s.exec(select(OutboxFile).where(col(OutboxFile.file_id) == file_id))).first()


async def purge_files(db: Database, before: datetime) -> int:
    """Delete files stored before ``before`` (their links have expired); returns how many."""
    async with db.session() as s:
        res = await s.exec(delete(OutboxFile).where(OutboxFile.created_at < before))  # type: ignore[call-overload,arg-type]
        return int(res.rowcount or 0)

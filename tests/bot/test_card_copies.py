"""bot/store/cards.py on both backends: one row per card, the state every copy is to show, codes, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.store.cards import copies, mark_failed, mark_shown, note_code, pending, record_copy, show_on_all
from bot.store.engine import Database
from bot.store.migrate import upgrade

NOW = datetime(2026, 12, 6, 0, 3, tzinfo=UTC)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A migrated database on each backend (migration 0014 included)."""
    database = Database(db_url)
    await upgrade(database)
    yield database
    await database.dispose()


async def _record(db: Database, card_id: str, recipient: str, code: str | None = None) -> None:
    await record_copy(db, channel="wecom", card_id=card_id, room_id=7, step="open_papers", recipient=recipient,
                      now=NOW, response_code=code)  # fmt: skip


async def test_copies_settle_once_and_a_late_copy_inherits_the_state(db: Database) -> None:
    """Two copies; the same card recorded again stays one row; once settled both are pending, a copy sent later
    too; a shown copy is no longer pending."""
    await _record(db, "t1", "wangfang", "send-1")
    await _record(db, "t1", "wangfang")
    await _record(db, "t2", "liqiang", "send-2")
    assert len(await copies(db, 7, "open_papers")) == 2 and await pending(db, "wecom") == []
    async with db.session() as s:
        assert await show_on_all(await s.connection(), 7, "open_papers", "王芳 已收到 08:03", NOW) == 2
    await _record(db, "t3", "wangfang")
    todo = await pending(db, "wecom")
    assert sorted(c.card_id for c in todo) == ["t1", "t2", "t3"] and {c.state for c in todo} == {"王芳 已收到 08:03"}
    assert next(c for c in todo if c.card_id == "t1").response_code == "send-1"
    await mark_shown(db, todo[0], NOW, code_used=True)
    left = await pending(db, "wecom")
    assert len(left) == 2 and todo[0].id not in {c.id for c in left}
    async with db.session() as s:  # the same state again changes nothing
        assert await show_on_all(await s.connection(), 7, "open_papers", "王芳 已收到 08:03", NOW) == 0


async def test_codes_count_only_from_the_recipient_and_revive_a_given_up_copy(db: Database) -> None:
    """A tap's code by someone else is not kept; the recipient's is, and a copy given up is tried again; a
    failure reported after another instance made the update does not undo it."""
    await _record(db, "t1", "wangfang")
    async with db.session() as s:
        await show_on_all(await s.connection(), 7, "open_papers", "王芳 已收到 08:03", NOW)
    (copy,) = await pending(db, "wecom")
    await mark_failed(db, copy, "no unused response_code", NOW, give_up=True)
    assert await pending(db, "wecom") == []
    assert not await note_code(db, "wecom", "t1", "click-x", NOW, user="liqiang")
    assert await note_code(db, "wecom", "t1", "click-y", NOW + timedelta(minutes=1), user="wangfang")
    (again,) = await pending(db, "wecom")
    assert again.response_code == "click-y" and again.attempts == 0
    await mark_shown(db, again, NOW, code_used=True)
    await mark_failed(db, again, "40142 invalid response_code", NOW, give_up=True)  # the other instance's try
    (row,) = await copies(db, 7, "open_papers")
    assert row["shown"] == "王芳 已收到 08:03" and row["last_error"] is None and row["response_code"] is None

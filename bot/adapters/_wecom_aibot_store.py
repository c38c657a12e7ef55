"""What the AI bot keeps in the database: the group chats that have @-mentioned it, and its cards' text.

WeCom pushes (``aibot_send_msg``) only to a group chat that has spoken to the bot (an @-mention) before. So each
group's chat id is recorded in ``wecom_aibot_chat`` the first time a message from it arrives (with who spoke
and when, so the office can tell which group is which); a push to a group not in the table fails at once, not
retried, and the office is told, instead of waiting for WeCom to refuse it. The table is small (one row per
group) and never pruned (``bot.store.tables.WeComAiBotChat``, migration 0016).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.delivery.rows import T as OUTBOX
from bot.store.engine import Database
from bot.store.tables import WeComAiBotChat

CHATS = WeComAiBotChat.__table__  # type: ignore[attr-defined]


async def record_chat(db: Database, chat_id: str, sender: str, now: datetime) -> bool:
    """Note that group ``chat_id`` spoke to the bot; True the first time."""
    insert = sqlite_insert if db.is_sqlite else pg_insert
    stmt = (
        insert(CHATS)
        .values(chat_id=chat_id[:128], first_seen_at=now, last_seen_at=now, first_sender=sender[:64])
        .on_conflict_do_nothing()
        .returning(CHATS.c.chat_id)
    )
    async with db.begin() as conn:
        first = (await conn.execute(stmt)).first() is not None
        if not first:
            await conn.execute(sa.update(CHATS).where(CHATS.c.chat_id == chat_id[:128]).values(last_seen_at=now))
    return first


async def chat_known(db: Database, chat_id: str) -> bool:
    """Whether group ``chat_id`` has spoken to the bot (so it can be pushed to)."""
    async with db.begin() as conn:
        row = (await conn.execute(sa.select(CHATS.c.chat_id).where(CHATS.c.chat_id == chat_id))).first()
    return row is not None


async def known_chats(db: Database) -> list[tuple[str, datetime, str]]:
    """Every recorded group: (chat id, first seen, first sender), oldest first."""
    async with db.begin() as conn:
        rows = await conn.execute(
            sa.select(CHATS.c.chat_id, CHATS.c.first_seen_at, CHATS.c.first_sender).order_by(CHATS.c.first_seen_at)
        )
        return [(r[0], r[1], r[2]) for r in rows.all()]


async def card_text_of(db: Database, task_id: str) -> str | None:
    """The outbox text of the card sent with ``task_id`` (stored as the row's platform message id)."""
    async with db.begin() as conn:
        row = (
            await conn.execute(sa.select(OUTBOX.c.text).where(OUTBOX.c.platform_message_id == task_id).limit(1))
        ).first()
    return str(row[0]) if row is not None else None

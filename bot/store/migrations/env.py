"""Alembic environment: runs on a connection handed over by bot.store.migrate, or on its own."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import bot.adapters.inbound  # inbound_message, the callback dedupe table
import bot.outbox_tables  # noqa: F401  (outbox and reminder acknowledgements)
import bot.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
import handlers._dialog  # noqa: F401  (dialog_state, guided dialogs of chat commands)
from bot.store.engine import async_url

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(async_url(url))
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_async(config.get_main_option("sqlalchemy.url") or "sqlite:///./exambot.db"))

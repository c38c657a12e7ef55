"""Apply Alembic migrations programmatically (``exambot db upgrade`` and at start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from bot.store.engine import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the bundled migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _upgrade_on(connection: Connection, cfg: Config) -> None:
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "heads")


async def upgrade(db: Database) -> None:
    """Bring the database to the newest schema, on the app's own engine."""
    cfg = alembic_config(db.url)
    async with db.engine.begin() as conn:
        if not db.is_sqlite:
            # Several instances may start together: one migrates, the others wait here.
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
        await conn.run_sync(_upgrade_on, cfg)


async def current_revision(db: Database) -> str | None:
    """The revision(s) the database is at ("a,b" while branches are unmerged), or None for an empty database."""
    from alembic.runtime.migration import MigrationContext  # startup: alembic loads only when migrating

    def _get(conn: Connection) -> str | None:
        heads = MigrationContext.configure(conn).get_current_heads()
        return ",".join(sorted(heads)) or None

    async with db.engine.connect() as conn:
        return await conn.run_sync(_get)

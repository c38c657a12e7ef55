"""Storage: tables, engine and migrations."""

from bot.store.engine import Database, async_url

__all__ = ["Database", "async_url"]

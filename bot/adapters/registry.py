"""Which adapters run: built from the settings, one per enabled channel."""

from __future__ import annotations

from bot.adapters.base import Adapter
from bot.adapters.console import ConsoleAdapter
from bot.clock import Clock
from bot.settings import Settings
from bot.store.engine import Database


def build_adapters(settings: Settings, db: Database, clock: Clock, *, console: bool) -> dict[str, Adapter]:
    """The adapters for every enabled channel, keyed by channel name."""
    adapters: dict[str, Adapter] = {}
    if console:
        adapters["console"] = ConsoleAdapter(db, clock)
    return adapters

"""The objects a handler may use, bundled and passed explicitly (no module-level state)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.metrics import Metrics
from bot.model import OutgoingMessage
from bot.privacy import GroupMask
from bot.settings import Settings
from bot.store.engine import Database
from scheduler.timeline import Timeline

if TYPE_CHECKING:
    from knowledge import KnowledgeBase
    from scheduler.service import ReminderService


class Notifier(Protocol):
    """Delivers messages the bot sends on its own initiative."""

    async def notify(self, messages: Sequence[OutgoingMessage], *, defer: bool = False) -> None:
        """Deliver ``messages``; with ``defer`` they may be sent after the caller returns (never lost)."""
        ...

    async def enqueue(self, session: AsyncSession, messages: Sequence[OutgoingMessage], now: datetime) -> None:
        """Write ``messages`` inside the caller's transaction; a message whose key is already there is skipped."""
        ...

    async def send_keys(self, keys: Sequence[str], *, defer: bool = False) -> None:
        """Send the committed, still pending messages with these keys."""
        ...


@dataclass
class KnowledgeSlot:
    """The rule knowledge base once loaded (at start, or by the first question), and the lock that loads it once."""

    base: KnowledgeBase | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def load(self, settings: Settings) -> KnowledgeBase:
        """Load (or reload) the knowledge base of ``settings.kb_dirs`` off the event loop and keep it."""
        from knowledge import KnowledgeBase  # startup: jieba and the index load only where questions are answered

        load = partial(KnowledgeBase.load, settings.kb_dirs, cache_dir=settings.cache_path)
        kb = await asyncio.get_running_loop().run_in_executor(None, load)
        self.base = kb
        return kb

    async def get(self, settings: Settings) -> KnowledgeBase:
        """The loaded knowledge base, loading it once when nothing preloaded it."""
        if self.base is not None:
            return self.base
        async with self.lock:
            return self.base if self.base is not None else await self.load(settings)


@dataclass
class Services:
    """Settings, database, clock, metrics, the outbound path, the exam timeline and the knowledge base."""

    settings: Settings
    db: Database
    clock: Clock
    metrics: Metrics
    notifier: Notifier
    timeline: Timeline  # loaded once by create_app from the settings' timeline file
    knowledge: KnowledgeSlot = field(default_factory=KnowledgeSlot)
    reminders: ReminderService | None = None  # set while the reminder service runs (not in `exambot chat`)
    group_mask: GroupMask | None = None  # masks what a group chat is sent (create_app sets it)

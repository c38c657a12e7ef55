"""The objects a handler may use, bundled and passed explicitly (no module-level state)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.clock import Clock
from bot.metrics import Metrics
from bot.model import OutgoingMessage
from bot.settings import Settings
from bot.store.engine import Database


class Notifier(Protocol):
    """Delivers messages the bot sends on its own initiative."""

    async def notify(self, messages: Sequence[OutgoingMessage], *, defer: bool = False) -> None:
        """Deliver ``messages``; with ``defer`` they may be sent after the caller returns (never lost)."""


@dataclass
class Services:
    """Settings, database, clock, metrics and the outbound path; extras hold optional parts (knowledge base)."""

    settings: Settings
    db: Database
    clock: Clock
    metrics: Metrics
    notifier: Notifier
    extras: dict[str, Any] = field(default_factory=dict)

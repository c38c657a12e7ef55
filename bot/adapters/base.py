"""The adapter interface and the notifier that routes outgoing messages to adapters."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

from bot.errors import PlatformError
from bot.metrics import Metrics
from bot.model import METRIC_LABEL, OutgoingMessage, TextFormat, card_of

if TYPE_CHECKING:
    from bot.dispatch import Dispatcher

log = structlog.get_logger("exambot.adapters")


@dataclass(frozen=True)
class Capabilities:
    """What a platform can render."""

    markdown: bool = False
    mentions: bool = False
    max_text_bytes: int = 2048
    files: bool = False  # a file reaches a person as a file (else, and on group robots, as a signed link)
    cards: bool = False  # a CARD message shows as a card with buttons (else it goes as its fallback text)


class Adapter(abc.ABC):
    """Translates between one chat platform and the neutral model.

    An adapter (1) adds its callback routes to the app and turns verified callbacks into
    :class:`~bot.model.IncomingMessage` for the dispatcher, (2) sends
    :class:`~bot.model.OutgoingMessage`, raising only :class:`~bot.errors.PlatformError` and its
    subclasses, and (3) declares its :class:`Capabilities`.
    """

    name: str = ""
    capabilities: Capabilities = Capabilities()

    def __init__(self) -> None:
        self._dispatcher: Dispatcher | None = None

    def bind(self, dispatcher: Dispatcher) -> None:
        """Connect the adapter to the dispatcher that handles what it receives."""
        self._dispatcher = dispatcher

    @property
    def dispatcher(self) -> Dispatcher:
        """The bound dispatcher."""
        if self._dispatcher is None:
            raise RuntimeError(f"adapter {self.name} is not bound to a dispatcher")
        return self._dispatcher

    def add_routes(self, app: web.Application) -> None:  # noqa: B027 - optional hook
        """Add callback endpoints to ``app`` (none by default)."""

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open clients and connections."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients and connections."""

    @abc.abstractmethod
    async def send(self, message: OutgoingMessage) -> str | None:
        """Deliver ``message``; return the platform's message id when it gives one."""

    async def replay(self, payload: dict[str, Any]) -> None:
        """Handle again a message claimed with ``payload`` whose handling never finished (see inbound.py).

        Channels that keep no payload with their claims never get here.
        """
        raise NotImplementedError(f"{self.name}: messages of this channel are not replayable")


def text_limits(adapters: Mapping[str, Any]) -> dict[str, int]:
    """Bytes one message may hold on each channel, from the adapters' capabilities (what the outbox merges to)."""
    return {name: a.capabilities.max_text_bytes for name, a in adapters.items()}


def as_text_unless_cards(message: OutgoingMessage, capabilities: Capabilities) -> OutgoingMessage:
    """A CARD message as its fallback text (which asks for a typed “收到”) where the platform shows no cards."""
    if message.format is not TextFormat.CARD or capabilities.cards:
        return message
    card = card_of(message.text)
    text = card.text if card is not None else message.text
    return replace(message, text=text, format=TextFormat.TEXT)


class AdapterNotifier:
    """Sends each message at once through the adapter of its target's channel.

    This is the direct path; the reminder outbox (scheduler/) wraps delivery with persistence,
    retries and rate limits.
    """

    def __init__(self, adapters: Mapping[str, Adapter], metrics: Metrics) -> None:
        self.adapters = adapters
        self.metrics = metrics

    async def deliver(self, message: OutgoingMessage) -> str | None:
        """Send one message; raises PlatformError when the channel is off or the platform fails."""
        adapter = self.adapters.get(message.target.channel)
        if adapter is None:
            raise PlatformError(f"channel {message.target.channel!r} is not enabled", retryable=False)
        result = await adapter.send(as_text_unless_cards(message, adapter.capabilities))
        what = message.extra.get(METRIC_LABEL, "-")  # the outbox labels what it sends (kind, step)
        self.metrics.messages_out.labels(adapter.name, "notice", command=what).inc()
        return result

    async def notify(self, messages: Sequence[OutgoingMessage], *, defer: bool = False) -> None:
        """Send every message now (``defer`` changes nothing here); a failure is logged and does not stop the rest."""
        for message in messages:
            try:
                await self.deliver(message)
            except PlatformError as exc:
                self.metrics.errors.labels(message.target.channel, "send").inc()
                log.warning("send_failed", channel=message.target.channel, error=str(exc))

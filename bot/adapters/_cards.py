"""What a tap on a card's button means, for every channel, and keeping every copy of a card up to date.

A tap is handled exactly like the person who tapped typing the command: on a reminder card 收到 acknowledges the
card's step (handlers/reminders.py; only the room's chief may; a repeat says who already did), 有问题 tells the
office; on a violation card 确认 / 有异议 and on a paper handover card 确认 / 数量不符 are ``/确认 <编号>`` and
``/确认 <编号> 有异议|数量不符`` (handlers/confirm.py).

Every copy of a card sent is recorded (bot/store/cards.py); the handler that records the outcome (by a tap or by
typing) sets what all copies should show, in its own transaction. :class:`CardUpdates` then makes the updates on
one platform: at once after a tap, and every ``interval`` seconds for the rest (a typed 收到, a tap on another
instance, a platform that was down). A failed update stays pending and is tried again; one the platform can
never make (no code left on WeCom, a refusal) is given up with its reason logged and kept in the row.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from bot.clock import Clock
from bot.errors import PlatformError
from bot.model import CARD_BUTTONS, CONFIRM_STEP, HANDOVER_STEP
from bot.store.cards import CopyUpdate, mark_failed, mark_shown, pending
from bot.store.engine import Database
from bot.tasks import Tasks
from handlers.confirm import confirm_command, dispute_command
from handlers.reminders import card_command, card_issue_command

ACK, ISSUE = (key for key, _label in CARD_BUTTONS)
UPDATE_INTERVAL = 10.0  # seconds between two looks for copies still to update
log = structlog.get_logger("exambot.cards")


def tap_text(button: str, room_id: int, step: str) -> str | None:
    """The command a tap on ``button`` of the card ``(room_id, step)`` stands for (None: no such button)."""
    if step in (CONFIRM_STEP, HANDOVER_STEP):  # room_id is the report's 编号
        if button == ACK:
            return confirm_command(room_id)
        return dispute_command(room_id, step) if button == ISSUE else None
    if button == ACK:
        return card_command(room_id, step)
    if button == ISSUE:
        return card_issue_command(room_id, step)
    return None


def button_label(state: str) -> str:
    """What a settled card's button turns into: “已收到 08:04” from the card state “王芳 已收到 08:04”.

    WeCom allows about 10 characters on a button; the card's own text still names who asked.
    """
    name, sep, rest = state.partition(" ")
    return rest if sep and name else state


class NoUpdatePossible(Exception):
    """This copy cannot be updated on its platform (e.g. WeCom: no unused response code is held for it)."""


# Makes one copy show copy.state; returns whether a single-use code was used. Raises PlatformError or
# NoUpdatePossible.
Apply = Callable[[CopyUpdate], Awaitable[bool]]


class CardUpdates:
    """The card copies of one channel still to update, made now and again until done."""

    def __init__(self, db: Database, channel: str, clock: Clock, apply: Apply, *, interval: float = UPDATE_INTERVAL):
        self.db = db
        self.channel = channel
        self.clock = clock
        self.apply = apply
        self.interval = interval
        self.tasks = Tasks(f"{channel}-cards")
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()

    def start(self) -> None:
        """Look for pending updates every ``interval`` seconds until :meth:`close`."""
        self._stop.clear()
        self.tasks.spawn(self._loop(), name=f"{self.channel}-card-updates")

    async def close(self) -> None:
        """Stop looking (an update under way finishes briefly)."""
        self._stop.set()
        await self.tasks.drain(2.0)

    def poke(self, delay: float = 0.0) -> None:
        """Make the pending updates soon (after a tap), without waiting for the next round."""
        self.tasks.spawn(self._soon(delay), name=f"{self.channel}-card-update")

    async def _soon(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.run_once()

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
            except Exception as exc:  # the database away: try again next round
                log.warning("card_updates_failed", channel=self.channel, error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.interval)

    async def run_once(self) -> int:
        """Try every pending update of this channel once; returns how many copies were updated."""
        async with self._lock:  # one pass at a time in this process (a WeCom code is used once)
            done = 0
            for copy in await pending(self.db, self.channel):
                try:
                    used = await self.apply(copy)
                except NoUpdatePossible as exc:
                    log.warning("card_update_impossible", channel=self.channel, card=copy.card_id, reason=str(exc))
                    await mark_failed(self.db, copy, str(exc), self.clock.now(), give_up=True)
                    continue
                except PlatformError as exc:
                    give_up = not exc.retryable
                    log.warning(
                        "card_update_failed", channel=self.channel, card=copy.card_id, error=str(exc), retry=not give_up
                    )
                    await mark_failed(self.db, copy, str(exc), self.clock.now(), give_up=give_up)
                    continue
                await mark_shown(self.db, copy, self.clock.now(), code_used=used)
                done += 1
            return done

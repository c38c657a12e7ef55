"""DingTalk interactive cards (互动卡片高级版) for critical reminders: send, the tap coming back, the update.

A card is created with ``createAndDeliver`` under our own ``outTrackId`` (``exambot.ack.<room>.<step>.<digest of
the target>``: the room and the step are read back from it, so a tap needs no stored mapping, and sending the
same reminder to the same place again reuses the id instead of making a second card). ``callbackType: STREAM``
makes DingTalk push taps on the Stream topic ``/v1.0/card/instances/callback``; a tap is dispatched as the
text its button stands for (bot/adapters/_cards.py: ``/收到 卡片 <room>:<step>`` for 收到, ``/确认 <编号>`` on
a violation or handover card) from the tapping user, exactly as if typed. The button's ``action`` param says
which: ``ack`` (收到/确认) or ``issue`` (有问题/有异议/数量不符); the labels are the card variables
``ok_label`` and ``no_label``. The Stream answer (within 2 s) carries ``userPrivateData`` for the tapper's view
only; every copy of the card (recorded in bot/store/cards.py, so a restart or a second instance still knows
them) is then updated with ``PUT /v1.0/card/instances`` (``updateCardDataByKey: true``), outside the callback
as DingTalk asks, and again later while DingTalk is down.

Where no card can go (no template configured, a custom webhook robot group, the platform refusing the card,
e.g. without the ``Card.Instance.Write`` permission) the reminder goes as text with the typed form.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from bot.adapters._cards import ACK, ISSUE, CardUpdates, tap_text
from bot.adapters._dingtalk_api import DingTalkClient
from bot.adapters._flow import InboundFlow, Outcome
from bot.adapters._text import incoming_message
from bot.clock import Clock
from bot.errors import PlatformError
from bot.model import CARD_BUTTONS, GroupTarget, IncomingMessage, OutgoingMessage, PersonTarget, Reply
from bot.store.cards import CopyUpdate, record_copy
from bot.store.engine import Database

CARD_TOPIC = "/v1.0/card/instances/callback"
CONFIRMED = "已确认"  # the tapper's own view once the step is acknowledged (the template hides the button on it)
CARD_WAIT = 1.5  # seconds a tap's handling may take and still go into the Stream answer (DingTalk allows 2)
UPDATE_AFTER = 0.3  # seconds between the answer and the PUT: DingTalk asks for no update during the callback
_TRACK = re.compile(r"exambot\.ack\.(\d{1,12})\.([a-z_]{1,64})\.[0-9a-f]{12}")

log = structlog.get_logger("exambot.dingtalk")

Target = PersonTarget | GroupTarget


@dataclass(frozen=True)
class AckCard:
    """A card with a 收到 (确认) button and a 有问题 (有异议, 数量不符) one.

    ``title`` and ``body`` fill the template's variables of the same names; ``fallback`` is the whole text
    message (with the typed form, "回复 收到") sent instead when no card can go.
    """

    room_id: int
    step: str
    title: str
    body: str
    fallback: str
    buttons: tuple[tuple[str, str], ...] = CARD_BUTTONS

    def params(self) -> dict[str, str]:
        """The template's public variables (strings only, as DingTalk requires)."""
        labels = dict(self.buttons)
        return {"title": self.title, "body": self.body, "ack_summary": "", "room_id": str(self.room_id),
                "step": self.step, "ok_label": labels.get("ack", "收到"),
                "no_label": labels.get("issue", "")}  # fmt: skip


class BadCardCallback(Exception):
    """A card callback we cannot read, or for a card that is not ours."""


@dataclass(frozen=True)
class CardTap:
    """One tap on one of our cards, as the Stream delivered it."""

    out_track_id: str
    user_id: str
    room_id: int
    step: str
    action: str

    @property
    def key(self) -> str:
        """Stable across DingTalk's redeliveries and repeated taps by the same person on the same card."""
        return f"card:{self.out_track_id}:{self.user_id}"


def out_track_id(room_id: int, step: str, target: Target) -> str:
    """Our card id for ``step`` of room ``room_id`` sent to ``target`` (the same target gets the same id)."""
    where = target.user_id if isinstance(target, PersonTarget) else target.chat_id
    digest = hashlib.sha256(f"{target.channel}|{where}".encode()).hexdigest()[:12]
    return f"exambot.ack.{room_id}.{step}.{digest}"


def parse_card_callback(data: Any) -> CardTap:
    """Read a card callback (Stream ``data``, a JSON object or its text): outTrackId, userId, the button's value.

    ``content`` is itself JSON text: ``{"cardPrivateData": {"actionIds": [...], "params": {"action": "ack"}}}``.
    """
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise BadCardCallback("not JSON") from exc
    if not isinstance(data, dict):
        raise BadCardCallback("not a JSON object")
    track, user = data.get("outTrackId"), data.get("userId")
    if not isinstance(track, str) or not isinstance(user, str) or not user:
        raise BadCardCallback("outTrackId or userId missing")
    match = _TRACK.fullmatch(track)
    if match is None:
        raise BadCardCallback("not one of our cards")
    content = data.get("content") or "{}"
    try:
        parsed = json.loads(content) if isinstance(content, str) else content
    except ValueError as exc:
        raise BadCardCallback("content is not JSON") from exc
    private = parsed.get("cardPrivateData") if isinstance(parsed, dict) else None
    params = private.get("params") if isinstance(private, dict) else None
    action = params.get("action", "") if isinstance(params, dict) else ""
    return CardTap(track, user, int(match.group(1)), match.group(2), str(action))


def callback_answer(my_status: str | None) -> dict[str, Any]:
    """The Stream answer: the tapper's own view (``userPrivateData``), or nothing to change (None)."""
    if my_status is None:
        return {}
    return {
        "userPrivateData": {"cardParamMap": {"my_status": my_status}},
        "cardUpdateOptions": {"updatePrivateDataByKey": True},
    }


def my_status(reply: Reply | None) -> str | None:
    """What the tapper sees: 已确认 once the step is acknowledged (by anyone), else the handler's refusal."""
    if reply is None:
        return None
    return CONFIRMED if reply.card_state is not None else reply.text[:500]


class DingTalkCards:
    """The DingTalk adapter's card side: sending, the tap callback, updates, the text fallback."""

    def __init__(
        self,
        client: DingTalkClient,
        flow: InboundFlow,
        clock: Clock,
        template_id: str,
        send_text: Callable[[OutgoingMessage], Awaitable[str | None]],
        db: Database,
    ) -> None:
        self.client = client
        self.flow = flow
        self.clock = clock
        self.template_id = template_id
        self._send_text = send_text
        self.db = db
        # every copy sent is in the database (bot/store/cards.py); these keep them showing what was settled
        self.updates = CardUpdates(db, "dingtalk", clock, self._update_copy)
        self.wait = CARD_WAIT
        self.update_after = UPDATE_AFTER

    # -- sending -----------------------------------------------------------------------------

    async def send_card(self, target: Target, card: AckCard) -> str | None:
        """Send ``card`` to a person or a robot group; returns its outTrackId, or None when text went instead.

        Text goes when no template is configured, to a custom webhook robot group (its buttons only open
        links), and when DingTalk refuses the card (HTTP 4xx or a failed delivery). A retryable failure
        (network, 5xx, throttling) raises, so the outbox tries the card again later.
        """
        conversation = target.chat_id.removeprefix("dingtalk:") if isinstance(target, GroupTarget) else ""
        person = target.user_id if isinstance(target, PersonTarget) else ""
        if not self.template_id or not (person or conversation) or (isinstance(target, GroupTarget) and target.webhook):
            return await self._fallback(target, card)
        track = out_track_id(card.room_id, card.step, target)
        try:
            await self.client.create_and_deliver_card(
                track,
                self.template_id,
                card.params(),
                user_id=person or None,
                conversation_id=conversation or None,
            )
        except PlatformError as exc:
            if exc.retryable:
                raise
            log.warning("card_refused", channel="dingtalk", error=str(exc))
            return await self._fallback(target, card)
        try:  # sent: a failure to remember it must not send it again; that copy just stays as it is
            await record_copy(
                self.db,
                channel="dingtalk",
                card_id=track,
                room_id=card.room_id,
                step=card.step,
                recipient=person or conversation,
                now=self.clock.now(),
            )
        except Exception as exc:
            log.warning("card_copy_not_recorded", channel="dingtalk", error=type(exc).__name__)
        return track

    async def _fallback(self, target: Target, card: AckCard) -> None:
        await self._send_text(OutgoingMessage(target, card.fallback))

    async def update_card(
        self, out_track_id: str, data: dict[str, str], *, private: dict[str, dict[str, str]] | None = None
    ) -> None:
        """Change the given values of a delivered card (by key), and ``private`` values per userId."""
        await self.client.update_card(out_track_id, data, private=private)

    async def _update_copy(self, copy: CopyUpdate) -> bool:
        """One copy shows who settled it (``ack_summary``); DingTalk needs no code for it."""
        await self.update_card(copy.card_id, {"ack_summary": copy.state})
        return False

    # -- the tap -----------------------------------------------------------------------------

    async def on_callback(self, data: Any) -> dict[str, Any]:
        """Handle one card callback from the Stream; returns the answer for DingTalk (within 2 s).

        The tap is claimed by (card, user) first, so a redelivery or a second tap on the same card counts once
        and changes nothing (empty answer). Raises when the claim cannot be written, so the frame is not
        ACKed as done and DingTalk delivers it again.
        """
        try:
            tap = parse_card_callback(data)
        except BadCardCallback as exc:
            log.warning("card_callback_rejected", channel="dingtalk", error=str(exc))
            return {}
        if not await self.flow.claim(tap.key, {"card": _wire(tap)}):
            return {}
        result = await self.flow.answer(self._message(tap), self._late(tap), wait=self.wait)
        if result is Outcome.LATE or not isinstance(result, Reply | None):
            return callback_answer("处理中…")
        self._after(tap, result)
        return callback_answer(my_status(result))

    async def replay(self, wire: dict[str, Any]) -> None:
        """Handle a claimed tap again whose first handling never finished (the recovery loop)."""
        tap = parse_card_callback(wire)
        await self.flow.handle_and_deliver(self._message(tap), self._late(tap))

    def _message(self, tap: CardTap) -> IncomingMessage:
        return incoming_message(
            channel="dingtalk",
            sender_id=tap.user_id,
            text=tap_text(tap.action if tap.action in (ACK, ISSUE) else ACK, tap.room_id, tap.step) or "",
            message_id=tap.key,
            received_at=self.clock.now(),
        )

    def _late(self, tap: CardTap) -> Callable[[IncomingMessage, Reply], Awaitable[None]]:
        async def late(_msg: IncomingMessage, reply: Reply) -> None:
            status = my_status(reply)
            if status is not None:
                await self.update_card(tap.out_track_id, {}, private={tap.user_id: {"my_status": status}})
            await self.updates.run_once()

        return late

    def _after(self, tap: CardTap, reply: Reply | None) -> None:
        """After the answer: show the outcome on every copy of the card (not inside the callback)."""
        if reply is not None and reply.card_state is not None:
            self.updates.poke(self.update_after)  # let the Stream answer (ACK) go out first


def _wire(tap: CardTap) -> dict[str, Any]:
    """What of a tap is kept with its claim, to handle it again after a crash (parsed by parse_card_callback)."""
    return {"outTrackId": tap.out_track_id, "userId": tap.user_id,
            "content": json.dumps({"cardPrivateData": {"params": {"action": tap.action}}})}  # fmt: skip

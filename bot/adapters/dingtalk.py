"""DingTalk (钉钉) enterprise-app robot: HTTP callback or Stream mode, and sending.

HTTP mode: ``POST /dingtalk/callback`` carries ``timestamp`` (ms) and ``sign`` headers; ``sign`` is
Base64(HMAC-SHA256(appSecret, timestamp + "\\n" + appSecret)), compared in constant time, and a
timestamp more than one hour off is refused (403) before the body is read. The JSON body becomes a
neutral :class:`~bot.model.IncomingMessage` (msgId claimed in the database, so a redelivery runs
once); a reply ready within ``reply_wait`` seconds is the response body, otherwise the response is
``{"msgtype": "empty"}`` and the reply is POSTed to the sessionWebhook while it is valid, else sent
through the notifier (the outbox) with the OpenAPI.

Stream mode (``EXAMBOT_DINGTALK_STREAM=1``) receives the same messages over the ``dingtalk-stream``
websocket instead, for servers that cannot take inbound HTTPS; the callback route is then not added.
With a card template (``EXAMBOT_DINGTALK_CARD_TEMPLATE_ID``) the stream also carries the taps on our
interactive cards (see :mod:`bot.adapters._dingtalk_cards`), in either mode.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from bot.adapters._dingtalk_api import DingTalkClient, robot_body, verify_sign
from bot.adapters._dingtalk_cards import CARD_TOPIC, AckCard, DingTalkCards
from bot.adapters._files import link_text, uploadable
from bot.adapters._flow import InboundFlow, Late, Outcome, service_unavailable
from bot.adapters._text import incoming_message
from bot.adapters.base import Adapter, Capabilities
from bot.clock import Clock
from bot.errors import PlatformError
from bot.model import GroupTarget, IncomingMessage, OutgoingMessage, PersonTarget, Reply, TextFormat, card_of
from bot.store.engine import Database
from bot.tasks import Tasks

CHANNEL = "dingtalk"
PATH = "/dingtalk/callback"
MAX_BODY = 64 * 1024
STREAM_TOPIC = "/v1.0/im/bot/messages/get"
UNSUPPORTED = "目前只能处理文字消息，请直接输入文字或发送 /帮助 查看可用命令。"
EMPTY = {"msgtype": "empty"}

log = structlog.get_logger("exambot.dingtalk")


@dataclass(frozen=True)
class DingTalkConfig:
    """The app's credentials and API addresses (validated by the registry)."""

    app_key: str
    app_secret: str
    robot_code: str
    api_base: str = "https://api.dingtalk.com"
    oapi_base: str = "https://oapi.dingtalk.com"
    stream: bool = False
    card_template_id: str = ""  # interactive card template for critical reminders ("": text)

    def __repr__(self) -> str:
        return f"DingTalkConfig(app_key={self.app_key!r}, robot_code={self.robot_code!r}, stream={self.stream})"


class BadMessage(Exception):
    """The callback body is not a robot message we can read (400)."""


@dataclass(frozen=True)
class Received:
    """One robot message as parsed from a callback or stream frame."""

    message: IncomingMessage | None  # None: not a text message
    key: str
    staff_id: str
    session_webhook: str
    session_expires_ms: int


def _str(data: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str):
        raise BadMessage(f"{name} is not a string")
    if required and not value:
        raise BadMessage(f"{name} missing")
    return value


def parse_robot_message(data: Any, received_at: datetime) -> Received:
    """Read the fields we use from a robot message body (HTTP callback or Stream ``data``)."""
    if not isinstance(data, dict):
        raise BadMessage("body is not a JSON object")
    msg_id = _str(data, "msgId", required=True)
    conversation = _str(data, "conversationId", required=True)
    conversation_type = _str(data, "conversationType")
    staff_id = _str(data, "senderStaffId")
    sender = staff_id or "external:" + _str(data, "senderId")
    webhook = _str(data, "sessionWebhook")
    expires = _str(data, "sessionWebhookExpiredTime")
    msgtype = _str(data, "msgtype")
    text = ""
    if msgtype == "text":
        content = data.get("text")
        if not isinstance(content, dict):
            raise BadMessage("text is not an object")
        text = _str(content, "content").strip()
    incoming = None
    if text:
        incoming = incoming_message(
            channel=CHANNEL,
            sender_id=sender,
            text=text,
            message_id=msg_id,
            received_at=received_at,
            chat_id=f"{CHANNEL}:{conversation}" if conversation_type == "2" else None,
            sender_name=_str(data, "senderNick") or None,
        )
    return Received(incoming, msg_id, staff_id, webhook, int(expires) if expires.isdigit() else 0)


_REPLAY_FIELDS = (
    "msgId",
    "conversationId",
    "conversationType",
    "senderStaffId",
    "senderId",
    "senderNick",
    "sessionWebhook",
    "sessionWebhookExpiredTime",
    "msgtype",
    "text",
)


def replay_payload(data: dict[str, Any]) -> dict[str, Any]:
    """What of a robot message is kept with its claim, to handle it again after a crash."""
    return {"body": {k: data[k] for k in _REPLAY_FIELDS if k in data}}


class DingTalkAdapter(Adapter):
    """The DingTalk channel."""

    name = CHANNEL
    capabilities = Capabilities(markdown=True, mentions=True, max_text_bytes=5000, files=True)

    def __init__(
        self,
        config: DingTalkConfig,
        db: Database,
        clock: Clock,
        *,
        reply_wait: float = 2.0,
        max_skew_ms: int = 3_600_000,
        client: DingTalkClient | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.db = db
        self.clock = clock
        self.max_skew_ms = max_skew_ms
        self.client = client or DingTalkClient(
            config.api_base,
            config.oapi_base,
            config.app_key,
            config.app_secret,
            config.robot_code,
            now_ms=self._now_ms,
        )
        self.flow = InboundFlow(self, db, clock, wait=reply_wait)
        self.ledger = self.flow.ledger
        # The stream runs until close; kept apart from the flow's tasks, which close lets finish.
        self._stream = Tasks(f"{CHANNEL}-stream")
        self._stream_task: asyncio.Task[None] | None = None
        self.stream_backoff = (1.0, 60.0)  # first and longest wait before reconnecting the stream
        self.cards = DingTalkCards(self.client, self.flow, clock, config.card_template_id, self.send, db)
        # Reminder cards only with a card template configured; without one they go as their text.
        self.capabilities = replace(type(self).capabilities, cards=bool(config.card_template_id))

    def _topics(self) -> list[str]:
        """What the stream subscribes to: robot messages in Stream mode, card taps when cards are on."""
        return [STREAM_TOPIC] * self.config.stream + [CARD_TOPIC] * bool(self.config.card_template_id)

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    # -- lifecycle ---------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """``POST /dingtalk/callback`` (HTTP mode only)."""
        if not self.config.stream:
            app.router.add_post(PATH, self.callback)

    async def start(self) -> None:
        """Open the API client; in Stream mode, connect the websocket in the background."""
        await self.client.start()
        if self.config.card_template_id:
            self.cards.updates.start()
        if self._topics() and self._stream_task is None:
            self._stream_task = self._stream.spawn(self._run_stream(), name="dingtalk-stream")

    async def close(self) -> None:
        """Stop the stream, finish late replies (briefly), close the API client."""
        if self._stream_task is not None:
            self._stream_task.cancel()
            await self._stream.wait()
            self._stream_task = None
        await self.flow.close()
        await self.cards.updates.close()
        await self.client.close()

    # -- HTTP callback -----------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        """Verify, parse and handle one robot message."""
        reason = verify_sign(
            request.headers.get("timestamp", ""),
            request.headers.get("sign", ""),
            self.config.app_secret,
            self._now_ms(),
            self.max_skew_ms,
        )
        if reason is not None:
            return _refuse(403, reason)
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
        raw = await request.read()  # raises 413 past the app's client_max_size
        try:
            data = json.loads(raw.decode("utf-8"))
            received = parse_robot_message(data, self.clock.now())
        except (UnicodeDecodeError, ValueError, BadMessage) as exc:
            return _refuse(400, "malformed", error=type(exc).__name__)
        except Exception as exc:  # never a 500 for a body
            return _refuse(400, "malformed", error=type(exc).__name__)
        late = self._late_for(received)
        result = await self.flow.receive(received.key, received.message, replay_payload(data), late)
        if result is Outcome.UNAVAILABLE:
            return service_unavailable()
        if result is Outcome.UNSUPPORTED:
            return web.json_response(robot_body(UNSUPPORTED, markdown=False))
        if not isinstance(result, Reply):
            return web.json_response(EMPTY)
        return web.json_response(self._reply_body(received, result))

    async def replay(self, payload: dict[str, Any]) -> None:
        """Handle a claimed message (or card tap) again whose first handling never finished."""
        if isinstance(payload.get("card"), dict):
            await self.cards.replay(payload["card"])
            return
        received = parse_robot_message(payload.get("body"), self.clock.now())
        await self.flow.replay(received.key, received.message, self._late_for(received))

    def _late_for(self, received: Received) -> Late:
        async def late(_msg: IncomingMessage, reply: Reply) -> None:
            await self._deliver_reply(received, reply)

        return late

    def _reply_body(self, received: Received, reply: Reply) -> dict[str, Any]:
        mentions = list(reply.mentions)
        msg = received.message
        if msg is not None and msg.chat_id and received.staff_id and received.staff_id not in mentions:
            mentions.insert(0, received.staff_id)  # in a group, @ the person being answered
        return robot_body(reply.text, markdown=reply.format is TextFormat.MARKDOWN, mentions=mentions)

    def _session_webhook_ok(self, received: Received) -> bool:
        url = received.session_webhook
        base = self.config.oapi_base.rstrip("/") + "/"
        # only DingTalk's own host (no request forgery through a crafted body), and only while valid
        return url.startswith(base) and received.session_expires_ms > self._now_ms() + 5_000

    async def _deliver_reply(self, received: Received, reply: Reply) -> None:
        """A reply that missed the response: sessionWebhook while valid, else the notifier (outbox)."""
        if self._session_webhook_ok(received):
            try:
                await self.client.post_robot(received.session_webhook, self._reply_body(received, reply))
                return
            except PlatformError as exc:
                log.warning("session_webhook_failed", channel=CHANNEL, error=str(exc))
        msg = received.message
        assert msg is not None
        target = GroupTarget(CHANNEL, chat_id=msg.chat_id) if msg.chat_id else PersonTarget(CHANNEL, msg.sender_id)
        out = OutgoingMessage(
            target=target,
            text=reply.text,
            format=reply.format,
            mentions=reply.mentions,
            key=f"{CHANNEL}:reply:{received.key}",
        )
        await self.dispatcher.services.notifier.notify([out])

    # -- Stream mode -------------------------------------------------------------------------

    async def accept_stream_data(self, data: Any) -> Received | None:
        """Parse and claim one robot message from the stream, before it is ACKed.

        Returns what to handle next (None: malformed or a repeat). A claim that cannot be written
        raises, so the frame is not ACKed as done and DingTalk delivers it again; once claimed,
        the message is safe: if its handling dies, the recovery loop replays it.
        """
        try:
            received = parse_robot_message(data, self.clock.now())
        except BadMessage as exc:
            log.warning("stream_message_rejected", channel=CHANNEL, error=str(exc))
            return None
        if not await self.flow.claim(received.key, replay_payload(data) if received.message is not None else None):
            return None
        return received

    async def handle_stream_message(self, received: Received) -> None:
        """Handle a claimed stream message; replies go out by sessionWebhook (or the outbox)."""
        if received.message is None:
            await self._deliver_unsupported(received)
            return
        await self.flow.handle_and_deliver(received.message, self._late_for(received))

    async def _deliver_unsupported(self, received: Received) -> None:
        if self._session_webhook_ok(received):
            await self.client.post_robot(received.session_webhook, robot_body(UNSUPPORTED, markdown=False))

    async def _run_stream(self) -> None:
        """Connect to the DingTalk stream gateway and route frames, reconnecting with backoff.

        The ``dingtalk-stream`` package's frame classes and router are used; its own ``start()``
        is not, because in 0.24.3 it opens the connection with blocking ``requests`` inside the
        event loop and swallows cancellation (it cannot be stopped).
        """
        # startup: the stream SDK and websockets load only when the stream mode runs
        import dingtalk_stream
        import websockets

        adapter = self

        class Handler(dingtalk_stream.CallbackHandler):  # type: ignore[misc]
            async def process(self, callback: Any) -> tuple[int, str]:
                data = callback.data
                if isinstance(data, str):
                    try:
                        data = json.loads(data)
                    except ValueError:
                        return dingtalk_stream.AckMessage.STATUS_BAD_REQUEST, "bad data"

                try:
                    received = await adapter.accept_stream_data(data)
                except Exception as exc:  # claim not written (database down): not ACKed as done, redelivered
                    log.error("dedupe_unavailable", channel=CHANNEL, error=type(exc).__name__)
                    return dingtalk_stream.AckMessage.STATUS_SYSTEM_EXCEPTION, "unavailable"
                if received is None:
                    return dingtalk_stream.AckMessage.STATUS_OK, "OK"

                async def run(received: Received) -> None:
                    try:
                        await adapter.handle_stream_message(received)
                    except Exception as exc:  # the claim stays unhandled: the recovery loop replays it
                        log.warning("stream_message_failed", channel=CHANNEL, error=type(exc).__name__)

                adapter.flow.tasks.spawn(run(received), name="dingtalk-stream-message")
                return dingtalk_stream.AckMessage.STATUS_OK, "OK"

        router = dingtalk_stream.DingTalkStreamClient(
            dingtalk_stream.Credential(self.config.app_key, self.config.app_secret),
            logger=_quiet_logger(),
        )

        class CardHandler(dingtalk_stream.CallbackHandler):  # type: ignore[misc]
            async def process(self, callback: Any) -> tuple[int, Any]:
                try:  # the answer (userPrivateData) is the ACK's response, within DingTalk's 2 s
                    return dingtalk_stream.AckMessage.STATUS_OK, await adapter.cards.on_callback(callback.data)
                except Exception as exc:  # claim not written: not ACKed as done, redelivered
                    log.error("card_callback_failed", channel=CHANNEL, error=type(exc).__name__)
                    return dingtalk_stream.AckMessage.STATUS_SYSTEM_EXCEPTION, "unavailable"

        router.register_callback_handler(STREAM_TOPIC, Handler())
        router.register_callback_handler(CARD_TOPIC, CardHandler())
        router.pre_start()
        failures = 0
        while True:
            try:
                uri = await self.client.open_stream(*self._topics())
                async with websockets.connect(uri, ping_interval=30, ping_timeout=30) as ws:
                    router.websocket = ws
                    log.info("stream_connected", channel=CHANNEL)
                    failures = 0
                    async for raw in ws:
                        try:
                            frame = json.loads(raw)
                        except ValueError:
                            continue
                        if isinstance(frame, dict) and await router.route_message(frame) == router.TAG_DISCONNECT:
                            break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("stream_disconnected", channel=CHANNEL, error=type(exc).__name__)
            first, longest = self.stream_backoff
            await asyncio.sleep(min(first * 2**failures, longest))
            failures = min(failures + 1, 16)

    # -- sending -----------------------------------------------------------------------------

    async def send_card(self, target: PersonTarget | GroupTarget, card: AckCard) -> str | None:
        """A critical reminder as an interactive card (its outTrackId), or as text where no card can go (None)."""
        return await self.cards.send_card(target, card)

    async def update_card(
        self, out_track_id: str, data: dict[str, str], *, private: dict[str, dict[str, str]] | None = None
    ) -> None:
        """Change the given values of a delivered card for everyone (``private``: per userId)."""
        await self.cards.update_card(out_track_id, data, private=private)

    async def send(self, message: OutgoingMessage) -> str | None:
        """Deliver to a person or a group (OpenAPI robot), or a custom group robot webhook (加签)."""
        if message.format is TextFormat.FILE:
            return await self._send_file(message)
        card = card_of(message.text) if message.format is TextFormat.CARD else None
        if card is not None:
            ack = AckCard(card.room_id, card.step, card.title, card.body, fallback=card.text, buttons=card.buttons)
            return await self.send_card(message.target, ack)
        if message.format is TextFormat.CARD:  # a card without its reference: its text
            message = replace(message, format=TextFormat.TEXT)
        target = message.target
        markdown = message.format is TextFormat.MARKDOWN
        if isinstance(target, PersonTarget):
            return await self.client.send_to_users([target.user_id], message.text, markdown=markdown)
        if target.webhook:
            await self.client.send_webhook(
                target.webhook, target.secret, message.text, markdown=markdown, mentions=message.mentions
            )
            return None
        conversation = target.chat_id.removeprefix(f"{CHANNEL}:")
        if not conversation:
            raise PlatformError("dingtalk: group target has neither chat id nor robot webhook", retryable=False)
        text = message.text
        if message.mentions:
            text = " ".join(f"@{m}" for m in message.mentions) + "\n" + text
        return await self.client.send_to_group(conversation, text, markdown=markdown)

    async def _send_file(self, message: OutgoingMessage) -> str | None:
        """Upload and send the file to a person or a group (sampleFile); a custom robot (no files) gets the link."""
        file = message.attachment
        if file is None:
            raise PlatformError("dingtalk: file message without its file", retryable=False)
        target = message.target
        if (isinstance(target, GroupTarget) and target.webhook) or not uploadable(file):
            return await self.send(replace(message, text=link_text(file), format=TextFormat.TEXT, attachment=None))
        if isinstance(target, PersonTarget):
            media = await self.client.upload_file(file.name, file.data)
            return await self.client.send_file_to_users([target.user_id], media, file.name)
        conversation = target.chat_id.removeprefix(f"{CHANNEL}:")
        if not conversation:
            raise PlatformError("dingtalk: group target has neither chat id nor robot webhook", retryable=False)
        media = await self.client.upload_file(file.name, file.data)
        return await self.client.send_file_to_group(conversation, media, file.name)


def _quiet_logger() -> Any:
    logger = logging.getLogger("exambot.dingtalk_stream")
    logger.setLevel(logging.WARNING)  # the SDK logs whole frames (message text) at INFO and WARNING
    logger.disabled = True
    return logger


def _refuse(status: int, reason: str, *, error: str = "") -> web.Response:
    log.warning("callback_rejected", channel=CHANNEL, status=status, reason=reason, error=error)
    return web.json_response({"error": {400: "bad request", 403: "forbidden"}.get(status, "error")}, status=status)


__all__ = ["DingTalkAdapter", "DingTalkConfig", "parse_robot_message"]

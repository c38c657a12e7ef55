"""WeCom (企业微信) self-built app: the encrypted callback and sending through the server API.

``GET /wecom/callback`` answers the URL check (verify ``msg_signature``, decrypt ``echostr``, return
the plaintext as is) within the same timestamp window as a message, and only when the plaintext has
an echostr's shape (a correctly signed message ciphertext sent as echostr is not decrypted for anyone).
``POST /wecom/callback`` takes an encrypted message: the outer XML is parsed
with defusedxml (no DTD, no entities), the signature is checked in constant time before anything
is decrypted, the plaintext is parsed the same careful way, the MsgId (or FromUserName+CreateTime
for events) is claimed in the database so a retried delivery is handled once, and the dispatcher
gets a neutral :class:`~bot.model.IncomingMessage`. A reply ready within ``reply_wait`` seconds is
returned as an encrypted passive reply; otherwise the response is empty and the reply goes out
through the notifier (the outbox) with ``message/send``.

Every malformed request gets 400, a bad signature or a stale timestamp 403, an oversized body 413;
nothing here logs a request body, a token, a key or message text.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from typing import Any
from xml.etree.ElementTree import Element

import structlog
from aiohttp import web
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as safe_fromstring
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.adapters._cards import CardUpdates, NoUpdatePossible, button_label
from bot.adapters._files import link_text, uploadable
from bot.adapters._flow import InboundFlow, Late, Outcome, service_unavailable
from bot.adapters._text import cdata, incoming_message, xml_legal
from bot.adapters._wecom_api import TEXT_LIMIT, WeComClient
from bot.adapters._wecom_cards import is_tap, new_task_id, tap, template_card
from bot.adapters.base import Adapter, Capabilities
from bot.clock import Clock
from bot.errors import PlatformAuthError, PlatformError, RateLimited
from bot.model import GroupTarget, IncomingMessage, OutgoingMessage, PersonTarget, Reply, TextFormat, card_of
from bot.store.cards import CopyUpdate, note_code, record_copy
from bot.store.engine import Database

CHANNEL = "wecom"
PATH = "/wecom/callback"
MAX_BODY = 64 * 1024
HELP_TEXT = "/帮助"  # what entering the app is handled as: the help text greets the person
# What WeCom's URL check sends encrypted as echostr: a short random string of digits (letters allowed)
ECHOSTR_SHAPE = re.compile(r"[0-9A-Za-z]{1,64}")
UNSUPPORTED = "目前只能处理文字消息，请直接输入文字或发送 /帮助 查看可用命令。"

log = structlog.get_logger("exambot.wecom")


@dataclass(frozen=True)
class WeComConfig:
    """The app's credentials and API address (validated by the registry)."""

    corp_id: str
    agent_id: int
    secret: str
    token: str
    aes_key: str
    api_base: str = "https://qyapi.weixin.qq.com"

    def __repr__(self) -> str:
        return f"WeComConfig(corp_id={self.corp_id!r}, agent_id={self.agent_id}, api_base={self.api_base!r})"


class BadRequest(Exception):
    """The request is malformed (400)."""


class Forbidden(Exception):
    """The request is not from WeCom or not for us (403)."""


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """WeCom's ``msg_signature``: sha1 over the four strings sorted and concatenated."""
    parts = sorted(s.encode("utf-8") for s in (token, timestamp, nonce, encrypt))
    return hashlib.sha1(b"".join(parts)).hexdigest()


def parse_xml(data: bytes) -> dict[str, str]:
    """The child elements of an ``<xml>`` document as text; BadRequest for anything else.

    defusedxml refuses DTDs, entity declarations and external references, so entity expansion
    ("billion laughs") and XXE cannot happen; invalid UTF-8 is a parse error.
    """
    try:
        root: Element = safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise BadRequest(f"xml: {type(exc).__name__}") from None
    if root.tag != "xml":
        raise BadRequest("xml: root is not <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


def render_text_reply(to_user: str, corp_id: str, agent_id: int, text: str, create_time: int) -> str:
    """The plaintext XML of a passive text reply."""
    return (
        "<xml>"
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(corp_id)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(text)}</Content>"
        f"<AgentID>{agent_id}</AgentID>"
        "</xml>"
    )


class WeComAdapter(Adapter):
    """The WeCom channel."""

    name = CHANNEL
    capabilities = Capabilities(markdown=True, mentions=True, max_text_bytes=TEXT_LIMIT, files=True, cards=True)

    def __init__(
        self,
        config: WeComConfig,
        db: Database,
        clock: Clock,
        *,
        reply_wait: float = 3.0,
        max_skew: float = 3600.0,
        client: WeComClient | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.db = db
        self.clock = clock
        self.max_skew = max_skew
        self.crypto = WeChatCrypto(config.token, config.aes_key, config.corp_id)
        self.client = client or WeComClient(config.api_base, config.corp_id, config.secret, config.agent_id)
        self.flow = InboundFlow(self, db, clock, wait=reply_wait)
        self.ledger = self.flow.ledger
        self.cards = CardUpdates(db, CHANNEL, clock, self._update_copy)

    # -- lifecycle ---------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """``GET`` and ``POST /wecom/callback``."""
        app.router.add_get(PATH, self.verify_url)
        app.router.add_post(PATH, self.callback)

    async def start(self) -> None:
        """Open the API client; keep card copies up to date."""
        await self.client.start()
        self.cards.start()

    async def close(self) -> None:
        """Finish late replies (briefly), then close the API client."""
        await self.flow.close()
        await self.cards.close()
        await self.client.close()

    # -- callback: URL verification ----------------------------------------------------------

    async def verify_url(self, request: web.Request) -> web.Response:
        """Answer WeCom's URL check with the decrypted ``echostr``, exactly as is."""
        q = request.query
        sig, timestamp, nonce = q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
        # base64 has no spaces: a "+" a proxy left unencoded was decoded to " "; put it back
        echostr = q.get("echostr", "").replace(" ", "+")
        if not (sig and timestamp and nonce and echostr):
            return _refuse(400, "missing_parameters")
        try:
            self._check_timestamp(timestamp)  # a captured verification cannot be replayed later
        except BadRequest as exc:
            return _refuse(400, "malformed", error=str(exc))
        except Forbidden as exc:
            return _refuse(403, str(exc))
        if not hmac.compare_digest(signature(self.config.token, timestamp, nonce, echostr), sig.lower()):
            return _refuse(403, "bad_signature")
        try:
            plain = self.crypto.check_signature(sig.lower(), timestamp, nonce, echostr)
        except InvalidSignatureException:
            return _refuse(403, "bad_signature")
        except InvalidCorpIdException:
            return _refuse(403, "wrong_receiver")
        except Exception as exc:  # wechatpy raises struct.error, binascii.Error, UnicodeDecodeError...
            return _refuse(400, "undecryptable", error=type(exc).__name__)
        if not ECHOSTR_SHAPE.fullmatch(str(plain)):
            # correctly signed, but not a verification: e.g. a captured message's <Encrypt> sent as
            # echostr, which would otherwise be answered decrypted
            return _refuse(403, "not_an_echostr")
        return web.Response(body=str(plain).encode("utf-8"), content_type="text/plain", charset="utf-8")

    # -- callback: messages ------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        """Handle one encrypted message or event."""
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
        body = await request.read()  # raises 413 past the app's client_max_size
        try:
            fields = self._open(request.query, body)
        except BadRequest as exc:
            return _refuse(400, "malformed", error=str(exc))
        except Forbidden as exc:
            return _refuse(403, str(exc))
        except Exception as exc:  # never let a parsing surprise become a 500 (WeCom would retry it)
            return _refuse(400, "malformed", error=type(exc).__name__)
        return await self._handle(fields)

    def _check_timestamp(self, timestamp: str) -> None:
        """BadRequest for a timestamp that is not a number, Forbidden outside the replay window."""
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise BadRequest("timestamp is not a number")
        if abs(self.clock.now().timestamp() - int(timestamp)) > self.max_skew:
            raise Forbidden("stale_timestamp")

    def _open(self, query: Any, body: bytes) -> dict[str, str]:
        """Check, decrypt and parse; returns the plaintext message's fields."""
        sig, timestamp, nonce = query.get("msg_signature", ""), query.get("timestamp", ""), query.get("nonce", "")
        if not (sig and timestamp and nonce):
            raise BadRequest("missing msg_signature, timestamp or nonce")
        self._check_timestamp(timestamp)
        outer = parse_xml(body)
        encrypt = outer.get("Encrypt", "")
        if not encrypt:
            raise BadRequest("no <Encrypt>")
        if not hmac.compare_digest(signature(self.config.token, timestamp, nonce, encrypt), sig.lower()):
            raise Forbidden("bad_signature")
        try:
            plain = self.crypto.decrypt_message({"Encrypt": encrypt}, sig.lower(), timestamp, nonce)
        except InvalidSignatureException:
            raise Forbidden("bad_signature") from None
        except InvalidCorpIdException:
            raise Forbidden("wrong_receiver") from None
        except Exception as exc:  # struct.error, binascii.Error, UnicodeDecodeError, IndexError...
            raise BadRequest(f"undecryptable: {type(exc).__name__}") from None
        # XML cannot hold NUL or most control characters: drop them (inside a verified signature,
        # they are what the person sent) rather than refuse the message, which WeCom would retry
        return parse_xml(xml_legal(str(plain)).encode("utf-8"))

    def _incoming(self, fields: dict[str, str]) -> tuple[str, str] | None:
        """The dedupe key and the text to dispatch; None for events we ignore."""
        user = fields.get("FromUserName", "")
        msg_type = fields.get("MsgType", "")
        create_time = fields.get("CreateTime", "")
        if is_tap(fields):
            return tap(fields)
        if msg_type == "event":
            if fields.get("Event", "") != "enter_agent":
                return None
            return f"event:{user}:{create_time}", HELP_TEXT
        if msg_type == "text":
            return fields.get("MsgId") or f"text:{user}:{create_time}", fields.get("Content", "")
        return fields.get("MsgId") or f"{msg_type}:{user}:{create_time}", ""

    def _message(self, fields: dict[str, str], key: str, text: str) -> IncomingMessage:
        chat = fields.get("ChatId", "")
        return incoming_message(
            channel=CHANNEL,
            sender_id=fields.get("FromUserName", ""),
            text=text,
            message_id=key,
            received_at=self.clock.now(),
            chat_id=f"{CHANNEL}:{chat}" if chat else None,
        )

    async def _handle(self, fields: dict[str, str]) -> web.Response:
        user = fields.get("FromUserName", "")
        if not user or not fields.get("MsgType", ""):
            return _refuse(400, "malformed", error="no FromUserName or MsgType")
        incoming = self._incoming(fields)
        if incoming is None:
            return _empty()
        key, text = incoming
        msg = self._message(fields, key, text) if text.strip() else None
        late = self._late(fields)
        result = await self.flow.receive(key, msg, {"key": key, "fields": fields}, late)
        if result is Outcome.UNAVAILABLE:
            return service_unavailable()
        if result is Outcome.UNSUPPORTED:
            return self._passive(user, Reply(UNSUPPORTED))
        if not isinstance(result, Reply):
            return _empty()
        assert msg is not None
        if is_tap(fields):  # after the response: WeCom waits 5 s for it, the update is one more API call
            self.flow.tasks.spawn(self._after_tap(fields), name=f"{CHANNEL}-card-update")
        if msg.chat_id or not self._fits_passive(result):
            self.flow.late_soon(msg, result, self._send_reply)
            return _empty()
        return self._passive(user, result)

    async def replay(self, payload: dict[str, Any]) -> None:
        """Handle a claimed message again whose first handling never finished; the reply goes out by the API."""
        fields, key = payload.get("fields"), payload.get("key")
        if not isinstance(fields, dict) or not isinstance(key, str):
            raise ValueError("wecom: not a replayable payload")
        stored = {str(k): str(v) for k, v in fields.items()}
        incoming = self._incoming(stored)
        msg = None
        if incoming is not None and incoming[1].strip():
            msg = self._message(stored, key, incoming[1])
        await self.flow.replay(key, msg, self._late(stored))

    async def _send_reply(self, msg: IncomingMessage, reply: Reply) -> None:
        """A reply that cannot go into the response: through the notifier (the outbox), by the API."""
        await self.dispatcher.services.notifier.notify([self._reply_message(msg, reply)])

    def _late(self, fields: dict[str, str]) -> Late:
        """How a reply that missed the response goes out: by the API, and for a card tap the card updated first."""
        if not is_tap(fields):
            return self._send_reply

        async def card_reply(msg: IncomingMessage, reply: Reply) -> None:
            await self._after_tap(fields)
            await self._send_reply(msg, reply)

        return card_reply

    async def _after_tap(self, fields: dict[str, str]) -> None:
        """Keep the tap's single-use ResponseCode with its card, then update every copy whose subject settled.

        The acknowledgement is recorded already (the handler set what all copies show); a failed update is
        logged and tried again (bot/adapters/_cards.py).
        """
        code = fields.get("ResponseCode", "")
        try:
            if code:
                task, user = fields.get("TaskId", ""), fields.get("FromUserName", "")
                await note_code(self.db, CHANNEL, task, code, self.clock.now(), user=user)
            await self.cards.run_once()
        except Exception as exc:  # the database away: the periodic round tries again
            log.warning("card_update_failed", channel=CHANNEL, error=type(exc).__name__)

    async def _update_copy(self, copy: CopyUpdate) -> bool:
        """Grey out one copy's buttons as “已收到 08:04” with its newest unused code (it is then used)."""
        if not copy.response_code:
            raise NoUpdatePossible("no unused response_code for this card")
        await self.client.update_card_button(copy.response_code, [copy.recipient], button_label(copy.state))
        return True

    def _fits_passive(self, reply: Reply) -> bool:
        return reply.format is TextFormat.TEXT and len(reply.text.encode("utf-8")) <= TEXT_LIMIT

    def _passive(self, user: str, reply: Reply) -> web.Response:
        now = int(self.clock.now().timestamp())
        xml = render_text_reply(user, self.config.corp_id, self.config.agent_id, reply.text, now)
        nonce = str(secrets.randbelow(10**10))
        encrypted = self.crypto.encrypt_message(xml, nonce, str(now))
        return web.Response(body=str(encrypted).encode("utf-8"), content_type="application/xml", charset="utf-8")

    def _reply_message(self, msg: IncomingMessage, reply: Reply) -> OutgoingMessage:
        target = reply_target(msg)
        return OutgoingMessage(
            target=target,
            text=reply.text,
            format=reply.format,
            mentions=reply.mentions,
            key=f"{CHANNEL}:reply:{msg.message_id}",
        )

    # -- sending -----------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> str | None:
        """Deliver to a person (message/send), an app group chat (appchat/send) or a group robot."""
        if message.format is TextFormat.FILE:
            return await self._send_file(message)
        if message.format is TextFormat.CARD:
            return await self._send_card(message)
        target = message.target
        markdown = message.format is TextFormat.MARKDOWN
        if isinstance(target, PersonTarget):
            return await self.client.send_to_users([target.user_id], message.text, markdown=markdown)
        if target.webhook:
            return await self.client.send_webhook(
                target.webhook, message.text, markdown=markdown, mentions=message.mentions
            )
        chat = target.chat_id.removeprefix(f"{CHANNEL}:")
        if not chat:
            raise PlatformError("wecom: group target has neither chat id nor robot webhook", retryable=False)
        return await self.client.send_to_chat(chat, message.text, markdown=markdown)

    async def _send_card(self, message: OutgoingMessage) -> str | None:
        """A reminder card to a person (``template_card``); returns its task id, which names its room and step.

        A group (app group chats cannot carry button cards) or a platform that refuses the card (an errcode that
        is neither a rate limit nor a credentials problem, e.g. the app has no callback URL) gets the card's text,
        which asks for a typed “收到”.
        """
        card = card_of(message.text)
        fallback = replace(message, text=card.text if card else message.text, format=TextFormat.TEXT)
        if card is None or not isinstance(message.target, PersonTarget):
            return await self.send(fallback)
        task_id = new_task_id(card)
        user = message.target.user_id
        try:
            _msgid, code = await self.client.send_card([user], template_card(card, task_id))
        except (RateLimited, PlatformAuthError):
            raise
        except PlatformError as exc:
            if exc.retryable or exc.code is None:
                raise
            log.warning("card_refused", channel=CHANNEL, error=str(exc))
            return await self.send(fallback)
        try:  # sent: a failure to remember it must not send it again; that copy just stays as it is
            await record_copy(
                self.db,
                channel=CHANNEL,
                card_id=task_id,
                room_id=card.room_id,
                step=card.step,
                recipient=user,
                now=self.clock.now(),
                response_code=code,
            )
        except Exception as exc:
            log.warning("card_copy_not_recorded", channel=CHANNEL, error=type(exc).__name__)
        return task_id

    async def _send_file(self, message: OutgoingMessage) -> str | None:
        """Upload and send the file to a person or an app group chat; a group robot (no files) gets the link."""
        file = message.attachment
        if file is None:
            raise PlatformError("wecom: file message without its file", retryable=False)
        target = message.target
        if (isinstance(target, GroupTarget) and target.webhook) or not uploadable(file):
            return await self.send(replace(message, text=link_text(file), format=TextFormat.TEXT, attachment=None))
        if isinstance(target, PersonTarget):
            return await self.client.send_file_to_users(
                [target.user_id], await self.client.upload_file(file.name, file.data)
            )
        chat = target.chat_id.removeprefix(f"{CHANNEL}:")
        if not chat:
            raise PlatformError("wecom: group target has neither chat id nor robot webhook", retryable=False)
        await self.client.send_file_to_chat(chat, await self.client.upload_file(file.name, file.data))
        return None


def reply_target(msg: IncomingMessage) -> PersonTarget | GroupTarget:
    """Where a late reply to ``msg`` goes: its group chat, or the sender privately."""
    if msg.chat_id:
        return GroupTarget(msg.channel, chat_id=msg.chat_id)
    return PersonTarget(msg.channel, msg.sender_id)


def _refuse(status: int, reason: str, *, error: str = "") -> web.Response:
    log.warning("callback_rejected", channel=CHANNEL, status=status, reason=reason, error=error)
    text = {400: "bad request", 403: "forbidden"}.get(status, "error")
    return web.Response(status=status, text=text)


def _empty() -> web.Response:
    return web.Response(status=200, body=b"")

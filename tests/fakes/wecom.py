"""A fake WeCom: the server API the bot calls, and the platform side of the encrypted callback.

:class:`FakeWeCom` is an aiohttp server on 127.0.0.1 port 0 speaking the real wire format of
``/cgi-bin/gettoken``, ``/cgi-bin/message/send``, ``/cgi-bin/appchat/send``, ``/cgi-bin/webhook/send?key=``
and ``/cgi-bin/media/upload?type=file`` (a multipart form read byte by byte, the file name kept exactly as its
header carried it; ``filename*=`` refused as WeCom does): errcode/errmsg JSON, access tokens that can expire,
a ledger of what was delivered, and switchable failures (HTTP 500, a hang past the client's timeout, errcodes
45009 / 42001 / 40014 / -1).

:class:`WeComPlatform` plays WeCom's side of the callback with wechatpy: it signs and encrypts a
message the way WeCom does and decrypts and verifies the passive reply.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import xmltodict
from aiohttp import web
from aiohttp.test_utils import TestServer
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from bot.adapters.wecom import signature
from tests.fakes.multipart import BadForm, parse_form

FAILURE_MODES = ("http500", "timeout", "45009", "42001", "40014", "-1", "60020", "pass")  # "pass": this call works


@dataclass
class Delivery:
    """One message the fake accepted."""

    api: str  # "message/send" | "appchat/send" | "webhook/send"
    body: dict[str, Any]
    key: str | None = None  # robot webhook key


@dataclass
class CardUpdate:
    """One accepted message/update_template_card call."""

    response_code: str
    userids: list[str]
    body: dict[str, Any]


TASK_ID = re.compile(r"[A-Za-z0-9_\-@]{1,128}")


@dataclass
class Upload:
    """One file the fake accepted on media/upload."""

    media_id: str
    filename: str  # as the Content-Disposition header carried it (a percent-encoded name stays encoded)
    data: bytes
    disposition: str


@dataclass
class FakeWeCom:
    """The WeCom server API, in process."""

    corp_id: str = "ww0000000000000001"
    secret: str = "app-secret-0001"
    token_ttl: int = 7200
    hang_seconds: float = 5.0
    webhook_keys: set[str] = field(default_factory=lambda: {"robot-key-1"})
    deliveries: list[Delivery] = field(default_factory=list)
    gettoken_calls: int = 0
    send_calls: int = 0
    uploads: dict[str, Upload] = field(default_factory=dict)
    upload_calls: int = 0
    _valid: set[str] = field(default_factory=set)
    _expired: set[str] = field(default_factory=set)
    _failures: list[str] = field(default_factory=list)
    always: str | None = None
    _server: TestServer | None = None
    refuse_cards: bool = False  # answer template cards with errcode 40008 (invalid message type), as a refusing app
    task_ids: set[str] = field(default_factory=set)
    response_codes: dict[str, str] = field(default_factory=dict)  # unused code → task id (sends and taps)
    card_updates: list[CardUpdate] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- control -----------------------------------------------------------------------------

    def fail_next(self, mode: str, times: int = 1) -> None:
        """Make the next ``times`` send calls fail with ``mode`` (one of FAILURE_MODES)."""
        assert mode in FAILURE_MODES, mode
        self._failures.extend([mode] * times)

    def expire_tokens(self) -> None:
        """Every token issued so far now answers 42001 (access_token 已过期)."""
        self._expired |= self._valid
        self._valid.clear()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT (for EXAMBOT_WECOM_API_BASE)."""
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    async def start(self) -> str:
        """Listen on a free port; returns the base URL."""
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._message_send)
        app.router.add_post("/cgi-bin/appchat/send", self._appchat_send)
        app.router.add_post("/cgi-bin/webhook/send", self._webhook_send)
        app.router.add_post("/cgi-bin/media/upload", self._media_upload)
        app.router.add_post("/cgi-bin/message/update_template_card", self._update_template_card)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()
        return self.url

    async def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            await self._server.close()

    async def __aenter__(self) -> FakeWeCom:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- handlers ----------------------------------------------------------------------------

    @staticmethod
    def _err(code: int, msg: str) -> web.Response:
        return web.json_response({"errcode": code, "errmsg": msg})

    async def _gettoken(self, request: web.Request) -> web.Response:
        self.gettoken_calls += 1
        if request.query.get("corpid") != self.corp_id or request.query.get("corpsecret") != self.secret:
            return self._err(40001, "invalid credential")
        token = f"tok-{next(self._counter)}-{secrets.token_hex(8)}"
        self._valid.add(token)
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_ttl})

    async def _failure(self) -> web.Response | None:
        mode = self._failures.pop(0) if self._failures else self.always
        if mode is None or mode == "pass":
            return None
        if mode == "http500":
            return web.Response(status=500, text="internal error")
        if mode == "timeout":
            await asyncio.sleep(self.hang_seconds)
            return self._err(-1, "system busy")
        if mode == "42001":
            self.expire_tokens()
            return self._err(42001, "access_token expired")
        if mode == "40014":
            self._valid.clear()
            return self._err(40014, "invalid access_token")
        if mode == "45009":
            return self._err(45009, "api freq out of limit")
        if mode == "60020":
            return self._err(60020, "not allow to access from your ip, from ip: 127.0.0.1")
        return self._err(int(mode), "system busy")

    def _check_token(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        if not token:
            return self._err(41001, "access_token missing")
        if token in self._expired:
            return self._err(42001, "access_token expired")
        if token not in self._valid:
            return self._err(40014, "invalid access_token")
        return None

    async def _json(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = await request.json()
        except ValueError:
            return self._err(47001, "data format error")
        if not isinstance(body, dict):
            return self._err(47001, "data format error")
        return body

    def _content_error(self, body: dict[str, Any], limit: int, *, files: bool = True) -> web.Response | None:
        kind = body.get("msgtype")
        if kind == "template_card" and files:
            return self._card_error(body.get("template_card"))
        if kind == "file" and files:
            media_id = (body.get("file") or {}).get("media_id")
            return None if media_id in self.uploads else self._err(40007, "invalid media_id")
        if kind not in ("text", "markdown"):
            return FakeWeCom._err(40008, "invalid message type")
        content = body.get(kind, {}).get("content", "")
        if not content:
            return FakeWeCom._err(44004, "empty content")
        if len(content.encode("utf-8")) > limit:
            return FakeWeCom._err(45002, "content size out of limit")
        return None

    def _card_error(self, card: Any) -> web.Response | None:
        """A button_interaction card as WeCom checks it: a new task id, 1–6 callback buttons with unique keys."""
        if self.refuse_cards:
            return self._err(40008, "invalid message type")
        if not isinstance(card, dict) or card.get("card_type") != "button_interaction":
            return self._err(40008, "invalid message type")
        task = str(card.get("task_id", ""))
        if not TASK_ID.fullmatch(task) or task in self.task_ids:
            return self._err(40058, "invalid task_id")  # errcode chosen for the fake; WeCom's own is unverified
        buttons = card.get("button_list") or []
        keys = [b.get("key") for b in buttons if isinstance(b, dict)]
        if not 1 <= len(buttons) <= 6 or len(set(keys)) != len(keys) or not all(keys):
            return self._err(40058, "invalid button_list")
        if not (card.get("main_title") or {}).get("title"):
            return self._err(40058, "main_title required")
        return None

    def click_code(self, task_id: str) -> str:
        """A tap's single-use ResponseCode, as WeCom hands one to the callback."""
        code = f"click-{secrets.token_hex(12)}"
        self.response_codes[code] = task_id
        return code

    def cards_sent(self) -> list[dict[str, Any]]:
        """(the bodies of) template cards delivered by message/send, in order."""
        return [d.body for d in self.deliveries if d.body.get("msgtype") == "template_card"]

    async def _update_template_card(self, request: web.Request) -> web.Response:
        body = await self._send(request, "message/update_template_card")
        if isinstance(body, web.Response):
            return body
        code = str(body.get("response_code", ""))
        if code not in self.response_codes:
            return self._err(40142, "invalid response_code")  # used, expired or never issued (errcode: the fake's)
        if not isinstance(body.get("agentid"), int) or not (body.get("button") or body.get("template_card")):
            return self._err(40058, "invalid parameter")
        del self.response_codes[code]  # one call per code
        self.card_updates.append(CardUpdate(code, list(body.get("userids") or []), body))
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    async def _send(self, request: web.Request, api: str) -> web.Response | dict[str, Any]:
        self.send_calls += 1
        bad = self._check_token(request) or await self._failure()
        if bad is not None:
            return bad
        body = await self._json(request)
        if isinstance(body, web.Response):
            return body
        return body

    async def _message_send(self, request: web.Request) -> web.Response:
        body = await self._send(request, "message/send")
        if isinstance(body, web.Response):
            return body
        if not body.get("touser") or not isinstance(body.get("agentid"), int):
            return self._err(40003, "invalid userid or agentid")
        bad = self._content_error(body, 2048)
        if bad is not None:
            return bad
        self.deliveries.append(Delivery("message/send", body))
        msgid = f"msg-{len(self.deliveries)}"
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": msgid}
        if body.get("msgtype") == "template_card":
            task = body["template_card"]["task_id"]
            self.task_ids.add(task)
            answer["response_code"] = f"send-{secrets.token_hex(12)}"
            self.response_codes[answer["response_code"]] = task
        return web.json_response(answer)

    async def _appchat_send(self, request: web.Request) -> web.Response:
        body = await self._send(request, "appchat/send")
        if isinstance(body, web.Response):
            return body
        if not body.get("chatid"):
            return self._err(86003, "chat not found")
        bad = self._content_error(body, 2048)
        if bad is not None:
            return bad
        self.deliveries.append(Delivery("appchat/send", body))
        return self._err(0, "ok")

    async def _webhook_send(self, request: web.Request) -> web.Response:
        self.send_calls += 1
        key = request.query.get("key", "")
        if key not in self.webhook_keys:
            return self._err(93000, "invalid webhook url")
        bad = await self._failure()
        if bad is not None:
            return bad
        body = await self._json(request)
        if isinstance(body, web.Response):
            return body
        bad = self._content_error(body, 4096 if body.get("msgtype") == "markdown" else 2048, files=False)
        if bad is not None:
            return bad
        self.deliveries.append(Delivery("webhook/send", body, key=key))
        return self._err(0, "ok")

    async def _media_upload(self, request: web.Request) -> web.Response:
        """media/upload: the ``media`` part of a multipart form, its name read from the raw header."""
        self.upload_calls += 1
        bad = self._check_token(request) or await self._failure()
        if bad is not None:
            return bad
        if request.query.get("type") not in ("file", "image", "voice", "video"):
            return self._err(40004, "invalid media type")
        try:
            parts = parse_form(request.headers.get("Content-Type", ""), await request.read())
        except BadForm:
            return self._err(44001, "empty media data")
        media = next((p for p in parts if p.name == "media"), None)
        if media is None or "filename*" in media.params or "filename" not in media.params:
            return self._err(44001, "empty media data")  # WeCom refuses the RFC 2231 filename*= form
        if not 5 < len(media.data) <= 20 * 1024 * 1024:
            return self._err(40006, "invalid media size")
        media_id = f"3{secrets.token_hex(16)}"
        self.uploads[media_id] = Upload(media_id, media.params["filename"], media.data,
                                        media.headers.get("content-disposition", ""))  # fmt: skip
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": "file", "media_id": media_id,
                                  "created_at": str(int(time.time()))})  # fmt: skip

    def files_sent(self) -> list[tuple[str, Upload]]:
        """(api, the uploaded file) of every file message delivered, in order."""
        return [(d.api, self.uploads[d.body["file"]["media_id"]]) for d in self.deliveries
                if d.body.get("msgtype") == "file"]  # fmt: skip


def _cdata_safe(text: str) -> str:
    return text.replace("]]>", "]]]]><![CDATA[>")


@dataclass
class WeComPlatform:
    """WeCom's side of the callback: sign and encrypt what a user says, decrypt the reply."""

    token: str
    aes_key: str
    corp_id: str
    agent_id: int = 1000002
    now: Callable[[], float] = time.time

    @property
    def crypto(self) -> WeChatCrypto:
        """wechatpy's enterprise crypto with the app's token and key."""
        return WeChatCrypto(self.token, self.aes_key, self.corp_id)

    def message_xml(
        self, user: str, content: str, msg_id: str, *, create_time: int | None = None, chat_id: str | None = None
    ) -> str:
        """The plaintext XML of a text message from ``user``."""
        ct = int(self.now()) if create_time is None else create_time
        chat = f"<ChatId><![CDATA[{chat_id}]]></ChatId>" if chat_id else ""
        return (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{ct}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{_cdata_safe(content)}]]></Content>"
            f"<MsgId>{msg_id}</MsgId><AgentID>{self.agent_id}</AgentID>{chat}</xml>"
        )

    def event_xml(self, user: str, event: str, *, create_time: int | None = None) -> str:
        """The plaintext XML of an event (e.g. enter_agent)."""
        ct = int(self.now()) if create_time is None else create_time
        return (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{ct}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
            f"<EventKey><![CDATA[]]></EventKey><AgentID>{self.agent_id}</AgentID></xml>"
        )

    def card_event_xml(
        self, user: str, task_id: str, event_key: str, response_code: str, *, create_time: int | None = None
    ) -> str:
        """The plaintext XML of a tap on a template card's button (``template_card_event``), as doc 90240 shows."""
        ct = int(self.now()) if create_time is None else create_time
        return (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{ct}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
            f"<EventKey><![CDATA[{event_key}]]></EventKey><TaskId><![CDATA[{task_id}]]></TaskId>"
            f"<CardType><![CDATA[button_interaction]]></CardType>"
            f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode><AgentID>{self.agent_id}</AgentID>"
            "<SelectedItems></SelectedItems></xml>"
        )

    def encrypt(self, plaintext: str | bytes) -> str:
        """The ``Encrypt`` value for ``plaintext`` (bytes allowed, to send invalid UTF-8)."""
        return PrpCrypto(self.crypto.key).encrypt(plaintext, self.corp_id).decode("ascii")

    def post(
        self,
        plaintext: str | bytes,
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
        token: str | None = None,
    ) -> tuple[str, bytes]:
        """(query string, body) of the POST WeCom sends for ``plaintext``; ``token`` forges the signature."""
        ts = str(int(self.now()) if timestamp is None else timestamp)
        nonce = nonce or str(secrets.randbelow(10**9))
        encrypt = self.encrypt(plaintext)
        sig = signature(token or self.token, ts, nonce, encrypt)
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>"
        ).encode()
        return urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce}), body

    def open_reply(self, body: str) -> dict[str, str]:
        """Verify and decrypt a passive reply as WeCom does; returns the reply's fields."""
        outer = xmltodict.parse(body)["xml"]
        plain = self.crypto.decrypt_message(
            {"Encrypt": outer["Encrypt"]}, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"]
        )
        return dict(xmltodict.parse(plain)["xml"])

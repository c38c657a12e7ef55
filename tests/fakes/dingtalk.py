"""A fake DingTalk: OpenAPI token and robot sending, custom robot webhooks, session webhooks, Stream gateway.

:class:`FakeDingTalk` is an aiohttp server on 127.0.0.1 port 0. New API (``/v1.0/...``): the
``x-acs-dingtalk-access-token`` header, HTTP error statuses with ``{"code", "message"}``. Old API
and robot webhooks (``/robot/send``, ``/robot/sendBySession``): ``{"errcode", "errmsg"}``, 加签
checked exactly as DingTalk documents (``310000 sign not match`` / ``invalid timestamp``). Old API
``/media/upload?access_token=`` takes a multipart form (``type=file`` and the ``media`` file) and answers a
``media_id`` that ``sampleFile`` robot messages must name.
Interactive cards: ``/v1.0/card/instances/createAndDeliver`` keeps each card by its outTrackId (a
template the fake does not know, or ``refuse_cards``, is refused as DingTalk does) and ``PUT
/v1.0/card/instances`` updates it, by key only when ``updateCardDataByKey`` is true (else it overwrites).
:func:`card_callback` and :func:`card_frame` play a tap as the Stream pushes it.
Deliveries go to a ledger; failures are switchable (HTTP 500, a hang, throttling, 130101, token
expiry). The Stream gateway (``/v1.0/gateway/connections/open`` + a websocket) pushes CALLBACK frames
and records the ACKs.

:func:`callback_headers` and :func:`robot_message` play DingTalk's side of the HTTP callback.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from bot.adapters._dingtalk_api import sign
from tests.fakes.multipart import BadForm, parse_form

FAILURE_MODES = ("http500", "timeout", "throttle", "130101", "token_expired")


@dataclass
class Delivery:
    """One message the fake accepted."""

    api: str  # "oToMessages/batchSend" | "groupMessages/send" | "robot/send" | "sendBySession"
    body: dict[str, Any]
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Upload:
    """One file the fake accepted on media/upload."""

    media_id: str
    filename: str  # as the Content-Disposition header carried it
    data: bytes


FILE_TYPES = ("doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "pdf", "rar")  # "file" uploads, per the doc


@dataclass
class FakeCard:
    """One interactive card the fake holds: where it went, its public data and each user's private data."""

    template_id: str
    space: str  # openSpaceId
    callback_type: str
    data: dict[str, str]
    private: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class FakeDingTalk:
    """DingTalk's servers (api. and oapi. in one), in process."""

    app_key: str = "ding-app-key"
    app_secret: str = "ding-app-secret"
    robot_code: str = "ding-robot-code"
    robots: dict[str, str | None] = field(default_factory=lambda: {"robot-token-1": "SECrobotsecret1"})
    token_ttl: int = 7200
    hang_seconds: float = 5.0
    now_ms: Callable[[], int] = field(default_factory=lambda: lambda: int(time.time() * 1000))
    deliveries: list[Delivery] = field(default_factory=list)
    token_calls: int = 0
    send_calls: int = 0
    uploads: dict[str, Upload] = field(default_factory=dict)
    upload_calls: int = 0
    stream_frames: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    stream_acks: list[dict[str, Any]] = field(default_factory=list)
    stream_opens: list[dict[str, Any]] = field(default_factory=list)
    templates: set[str] = field(default_factory=lambda: {"tpl-ack.schema"})
    cards: dict[str, FakeCard] = field(default_factory=dict)
    card_updates: list[dict[str, Any]] = field(default_factory=list)
    refuse_cards: bool = False  # answer 403 to createAndDeliver (no Card.Instance.Write permission)
    _valid: set[str] = field(default_factory=set)
    _failures: list[str] = field(default_factory=list)
    always: str | None = None
    _server: TestServer | None = None
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- control -----------------------------------------------------------------------------

    def fail_next(self, mode: str, times: int = 1) -> None:
        """Make the next ``times`` send calls fail with ``mode`` (one of FAILURE_MODES)."""
        assert mode in FAILURE_MODES, mode
        self._failures.extend([mode] * times)

    @property
    def url(self) -> str:
        """Base URL, for both EXAMBOT_DINGTALK_API_BASE and EXAMBOT_DINGTALK_OAPI_BASE."""
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    def session_webhook(self) -> str:
        """A sessionWebhook URL as DingTalk puts in a callback."""
        return f"{self.url}/robot/sendBySession?session={secrets.token_hex(16)}"

    async def start(self) -> str:
        """Listen on a free port; returns the base URL."""
        app = web.Application()
        app.router.add_post("/v1.0/oauth2/accessToken", self._access_token)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._batch_send)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/robot/send", self._robot_send)
        app.router.add_post("/media/upload", self._media_upload)
        app.router.add_post("/robot/sendBySession", self._send_by_session)
        app.router.add_post("/v1.0/gateway/connections/open", self._open_connection)
        app.router.add_post("/v1.0/card/instances/createAndDeliver", self._card_create)
        app.router.add_put("/v1.0/card/instances", self._card_update)
        app.router.add_get("/ws", self._ws)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()
        return self.url

    async def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            await self._server.close()

    async def __aenter__(self) -> FakeDingTalk:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- new API -----------------------------------------------------------------------------

    @staticmethod
    def _api_error(status: int, code: str, message: str) -> web.Response:
        return web.json_response({"code": code, "message": message, "requestid": uuid.uuid4().hex}, status=status)

    async def _access_token(self, request: web.Request) -> web.Response:
        self.token_calls += 1
        body = await request.json()
        if body.get("appKey") != self.app_key or body.get("appSecret") != self.app_secret:
            return self._api_error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        token = f"dt-{next(self._counter)}-{secrets.token_hex(8)}"
        self._valid.add(token)
        return web.json_response({"accessToken": token, "expireIn": self.token_ttl})

    async def _failure(self) -> web.Response | None:
        mode = self._failures.pop(0) if self._failures else self.always
        if mode is None:
            return None
        if mode == "http500":
            return web.Response(status=500, text="internal error")
        if mode == "timeout":
            await asyncio.sleep(self.hang_seconds)
            return web.Response(status=504)
        if mode == "throttle":
            return self._api_error(429, "Throttling.Api", "请求被流控")
        if mode == "token_expired":
            self._valid.clear()
            return self._api_error(401, "InvalidAuthentication", "不合法的access_token")
        return web.json_response({"errcode": int(mode), "errmsg": "send too fast, exceed 20 times per minute"})

    async def _authed(self, request: web.Request) -> web.Response | dict[str, Any]:
        self.send_calls += 1
        if request.headers.get("x-acs-dingtalk-access-token", "") not in self._valid:
            return self._api_error(401, "InvalidAuthentication", "不合法的access_token")
        bad = await self._failure()
        if bad is not None:
            return bad
        body = await request.json()
        if body.get("robotCode") != self.robot_code:
            return self._api_error(400, "resource.not.found", "robot 不存在")
        if body.get("msgKey") not in ("sampleText", "sampleMarkdown", "sampleFile"):
            return self._api_error(400, "invalidParameter.msgKey", "msgKey 无效")
        try:
            param = json.loads(body.get("msgParam", ""))
        except ValueError:
            return self._api_error(400, "invalidParameter.msgParam", "msgParam 不是 JSON")
        if body["msgKey"] == "sampleFile":
            if not isinstance(param, dict) or param.get("mediaId") not in self.uploads:
                return self._api_error(400, "invalidParameter.mediaId", "mediaId 无效")
            if not param.get("fileName") or not param.get("fileType"):
                return self._api_error(400, "invalidParameter.msgParam", "缺少 fileName 或 fileType")
        return dict(body)

    async def _batch_send(self, request: web.Request) -> web.Response:
        body = await self._authed(request)
        if isinstance(body, web.Response):
            return body
        if not body.get("userIds"):
            return self._api_error(400, "invalidParameter.userIds", "userIds 为空")
        self.deliveries.append(Delivery("oToMessages/batchSend", body))
        return web.json_response(
            {
                "processQueryKey": f"pqk-{len(self.deliveries)}",
                "invalidStaffIdList": [],
                "flowControlledStaffIdList": [],
            }
        )

    async def _group_send(self, request: web.Request) -> web.Response:
        body = await self._authed(request)
        if isinstance(body, web.Response):
            return body
        if not body.get("openConversationId"):
            return self._api_error(400, "invalidParameter.openConversationId", "openConversationId 为空")
        self.deliveries.append(Delivery("groupMessages/send", body))
        return web.json_response({"processQueryKey": f"pqk-{len(self.deliveries)}"})

    # -- interactive cards -------------------------------------------------------------------

    async def _card_auth(self, request: web.Request) -> web.Response | dict[str, Any]:
        self.send_calls += 1
        if request.headers.get("x-acs-dingtalk-access-token", "") not in self._valid:
            return self._api_error(401, "InvalidAuthentication", "不合法的access_token")
        bad = await self._failure()
        if bad is not None:
            return bad
        if self.refuse_cards:
            return self._api_error(403, "Forbidden.AccessDenied.AccessTokenPermissionDenied", "没有调用该接口的权限")
        body: dict[str, Any] = await request.json()
        return body

    async def _card_create(self, request: web.Request) -> web.Response:
        body = await self._card_auth(request)
        if isinstance(body, web.Response):
            return body
        track, space = body.get("outTrackId"), str(body.get("openSpaceId", ""))
        if body.get("cardTemplateId") not in self.templates:
            return self._api_error(400, "param.cardTemplateIdNotExist", "卡片模板不存在")
        if not track or not space.startswith(("dtv1.card//IM_ROBOT.", "dtv1.card//IM_GROUP.")):
            return self._api_error(400, "invalidParameter", "outTrackId 或 openSpaceId 无效")
        robot = body.get("imRobotOpenDeliverModel") or body.get("imGroupOpenDeliverModel") or {}
        if robot.get("robotCode") != self.robot_code:
            return self._api_error(400, "resource.not.found", "robot 不存在")
        params = body.get("cardData", {}).get("cardParamMap", {})
        if not all(isinstance(v, str) for v in params.values()):
            return self._api_error(400, "invalidParameter.cardParamMap", "cardParamMap 的值须为字符串")
        self.cards[track] = FakeCard(body["cardTemplateId"], space, str(body.get("callbackType")), dict(params))
        space_type, _, space_id = space.removeprefix("dtv1.card//").partition(".")
        result = {
            "outTrackId": track,
            "deliverResults": [
                {"spaceType": space_type, "spaceId": space_id, "success": True, "carrierId": f"carrier-{track}"}
            ],
        }
        return web.json_response({"success": True, "result": result})  # fmt: skip

    async def _card_update(self, request: web.Request) -> web.Response:
        body = await self._card_auth(request)
        if isinstance(body, web.Response):
            return body
        card = self.cards.get(str(body.get("outTrackId")))
        if card is None:
            return self._api_error(400, "param.outTrackIdNotExist", "卡片不存在")
        self.card_updates.append(body)
        options = body.get("cardUpdateOptions") or {}
        params = (body.get("cardData") or {}).get("cardParamMap") or {}
        card.data = {**card.data, **params} if options.get("updateCardDataByKey") else dict(params)
        for user, private in (body.get("privateData") or {}).items():
            values = private.get("cardParamMap", {})
            old = card.private.get(user, {}) if options.get("updatePrivateDataByKey") else {}
            card.private[user] = {**old, **values}
        return web.json_response({"success": True, "result": True})

    # -- old API: media upload --------------------------------------------------------------

    async def _media_upload(self, request: web.Request) -> web.Response:
        self.upload_calls += 1
        if request.query.get("access_token", "") not in self._valid:
            return self._robot_error(40014, "不合法的access_token")
        bad = await self._failure()
        if bad is not None:
            return bad
        try:
            parts = parse_form(request.headers.get("Content-Type", ""), await request.read())
        except BadForm:
            return self._robot_error(40003, "参数错误")
        fields = {p.name: p for p in parts}
        media = fields.get("media")
        if "type" not in fields or fields["type"].data != b"file" or media is None or "filename" not in media.params:
            return self._robot_error(40003, "缺少参数 type 或 media")
        name = media.params["filename"]
        if name.rpartition(".")[2].lower() not in FILE_TYPES:
            return self._robot_error(40005, "不支持的文件格式")
        if not 0 < len(media.data) <= 20 * 1024 * 1024:
            return self._robot_error(40006, "不合法的文件大小")
        media_id = f"@lA{secrets.token_hex(12)}"
        self.uploads[media_id] = Upload(media_id, name, media.data)
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": "file", "media_id": media_id,
                                  "created_at": self.now_ms()})  # fmt: skip

    def files_sent(self) -> list[tuple[str, dict[str, Any], Upload]]:
        """(api, msgParam, the uploaded file) of every sampleFile message delivered, in order."""
        out = []
        for d in self.deliveries:
            if d.body.get("msgKey") == "sampleFile":
                param = json.loads(d.body["msgParam"])
                out.append((d.api, param, self.uploads[param["mediaId"]]))
        return out

    # -- robot webhooks ----------------------------------------------------------------------

    @staticmethod
    def _robot_error(code: int, msg: str) -> web.Response:
        return web.json_response({"errcode": code, "errmsg": msg})

    async def _robot_send(self, request: web.Request) -> web.Response:
        self.send_calls += 1
        q = request.query
        token = q.get("access_token", "")
        if token not in self.robots:
            return self._robot_error(300001, "token is not exist")
        secret = self.robots[token]
        if secret:
            ts, sg = q.get("timestamp", ""), q.get("sign", "")
            if not ts.isdigit() or abs(self.now_ms() - int(ts)) > 3_600_000:
                return self._robot_error(310000, "invalid timestamp")
            if sg != sign(ts, secret):  # the query string was URL-decoded by the server, as DingTalk's is
                return self._robot_error(310000, "sign not match")
        bad = await self._failure()
        if bad is not None:
            return bad
        body = await request.json()
        if body.get("msgtype") not in ("text", "markdown"):
            return self._robot_error(40035, "缺少参数 msgtype")
        self.deliveries.append(Delivery("robot/send", body, dict(q)))
        return self._robot_error(0, "ok")

    async def _send_by_session(self, request: web.Request) -> web.Response:
        self.send_calls += 1
        if not request.query.get("session"):
            return self._robot_error(300001, "session is not exist")
        bad = await self._failure()
        if bad is not None:
            return bad
        body = await request.json()
        self.deliveries.append(Delivery("sendBySession", body, dict(request.query)))
        return self._robot_error(0, "ok")

    # -- Stream gateway ----------------------------------------------------------------------

    async def _open_connection(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.stream_opens.append(body)
        if body.get("clientId") != self.app_key or body.get("clientSecret") != self.app_secret:
            return self._api_error(401, "InvalidAuthentication", "clientId 或 clientSecret 无效")
        return web.json_response({"endpoint": self.url.replace("http://", "ws://") + "/ws", "ticket": "ticket+/="})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        if request.query.get("ticket") != "ticket+/=":
            raise web.HTTPForbidden()
        ws = web.WebSocketResponse()
        await ws.prepare(request)

        async def pump() -> None:
            while True:
                frame = await self.stream_frames.get()
                await ws.send_str(json.dumps(frame))

        pumper = asyncio.create_task(pump())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.stream_acks.append(json.loads(msg.data))
        finally:
            pumper.cancel()
        return ws


def callback_headers(secret: str, timestamp_ms: int) -> dict[str, str]:
    """The ``timestamp`` and ``sign`` headers DingTalk puts on an HTTP-mode callback."""
    ts = str(timestamp_ms)
    return {"timestamp": ts, "sign": sign(ts, secret), "Content-Type": "application/json; charset=utf-8"}


def robot_message(
    text: str,
    *,
    staff_id: str = "user001",
    msg_id: str | None = None,
    group: bool = False,
    session_webhook: str = "",
    now_ms: int | None = None,
    msgtype: str = "text",
) -> dict[str, Any]:
    """A robot message body in the shape DingTalk sends (HTTP callback body, Stream frame data)."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    body: dict[str, Any] = {
        "conversationId": "cidGroup123==" if group else "cidPrivate456==",
        "chatbotCorpId": "dingcorp",
        "chatbotUserId": "$:LWCP_v1:$bot",
        "msgId": msg_id or f"msg{uuid.uuid4().hex}",
        "senderNick": "王芳",
        "isAdmin": False,
        "senderStaffId": staff_id,
        "sessionWebhookExpiredTime": now + 90 * 60 * 1000,
        "createAt": now,
        "senderCorpId": "dingcorp",
        "conversationType": "2" if group else "1",
        "senderId": "$:LWCP_v1:$sender",
        "sessionWebhook": session_webhook,
        "robotCode": "ding-robot-code",
        "msgtype": msgtype,
    }
    if group:
        body["conversationTitle"] = "第1考场"
        body["isInAtList"] = True
        body["atUsers"] = [{"dingtalkId": "$:LWCP_v1:$bot"}]
    if msgtype == "text":
        body["text"] = {"content": (" " if group else "") + text}
    return body


def stream_frame(data: dict[str, Any]) -> dict[str, Any]:
    """A Stream-mode CALLBACK frame carrying a robot message."""
    return {
        "specVersion": "1.0",
        "type": "CALLBACK",
        "headers": {
            "appId": "app",
            "connectionId": "conn",
            "contentType": "application/json",
            "messageId": uuid.uuid4().hex,
            "time": str(int(time.time() * 1000)),
            "topic": "/v1.0/im/bot/messages/get",
        },
        "data": json.dumps(data, ensure_ascii=False),
    }


def card_callback(out_track_id: str, user_id: str, *, action: str = "ack") -> dict[str, Any]:
    """A card tap (回传请求 button with params ``{"action": …}``) as the Stream delivers it in ``data``."""
    content = {"cardPrivateData": {"actionIds": ["ack_button"], "params": {"action": action}}}
    return {
        "extension": "{}",
        "corpId": "dingcorp",
        "type": "actionCallback",
        "userId": user_id,
        "userIdType": 1,
        "spaceType": "im",
        "spaceId": "cidPrivate456==",
        "content": json.dumps(content, ensure_ascii=False),
        "outTrackId": out_track_id,
    }


def card_frame(data: dict[str, Any], *, message_id: str | None = None) -> dict[str, Any]:
    """A Stream CALLBACK frame on the card topic carrying a tap."""
    frame = stream_frame(data)
    frame["headers"]["topic"] = "/v1.0/card/instances/callback"
    if message_id is not None:
        frame["headers"]["messageId"] = message_id
    return frame

"""DingTalk (钉钉) APIs over aiohttp: signatures, the OpenAPI token, robot messages, custom robot webhooks."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote_plus, urlsplit

import aiohttp

from bot.adapters._errors import is_token_error, platform_error
from bot.adapters._files import file_type, multipart
from bot.adapters._http import Answer, HttpClient
from bot.adapters._text import split_utf8
from bot.errors import PlatformError, RateLimited

PLATFORM = "dingtalk"
TEXT_LIMIT = 5000  # bytes per robot message piece; DingTalk allows more, long notices are split here
TOKEN_MARGIN = 300.0
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)
_MOBILE = re.compile(r"^\+?\d{6,15}$")


def sign(timestamp: str, secret: str) -> str:
    """Base64 HMAC-SHA256 of ``timestamp + "\\n" + secret`` keyed with ``secret`` (callbacks and 加签)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_sign(timestamp: str, signature: str, secret: str, now_ms: int, max_skew_ms: int = 3_600_000) -> str | None:
    """None when a callback's ``timestamp``/``sign`` headers are good, else the reason it is refused."""
    if not timestamp.isdigit() or len(timestamp) > 16:
        return "bad_timestamp"
    if abs(now_ms - int(timestamp)) > max_skew_ms:
        return "stale_timestamp"
    if not hmac.compare_digest(sign(timestamp, secret).encode("ascii"), signature.encode("utf-8", "replace")):
        return "bad_signature"
    return None


def signed_webhook_url(webhook: str, secret: str | None, now_ms: int) -> str:
    """The custom robot URL with ``&timestamp=&sign=`` appended when the robot uses 加签."""
    if not secret:
        return webhook
    ts = str(now_ms)
    sep = "&" if "?" in webhook else "?"
    return f"{webhook}{sep}timestamp={ts}&sign={quote_plus(sign(ts, secret))}"


def robot_body(text: str, *, markdown: bool, mentions: Sequence[str] = (), title: str = "考务助手") -> dict[str, Any]:
    """A robot message (webhook, sessionWebhook, HTTP response): text or markdown, with @-mentions.

    A mention that looks like a phone number goes to ``atMobiles``, anything else is a userId;
    DingTalk only highlights an @ whose ``@id`` also appears in the text, so it is prepended.
    """
    user_ids = [m for m in mentions if not _MOBILE.match(m)]
    mobiles = [m for m in mentions if _MOBILE.match(m)]
    if mentions:
        text = " ".join(f"@{m}" for m in mentions) + "\n" + text
    body: dict[str, Any]
    if markdown:
        body = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    else:
        body = {"msgtype": "text", "text": {"content": text}}
    body["at"] = {"atUserIds": user_ids, "atMobiles": mobiles, "isAtAll": False}
    return body


class DingTalkClient(HttpClient):
    """OpenAPI (api.dingtalk.com) robot sending with a cached app token, and robot webhooks."""

    def __init__(
        self,
        api_base: str,
        oapi_base: str,
        app_key: str,
        app_secret: str,
        robot_code: str,
        *,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        monotonic: Callable[[], float] = time.monotonic,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.oapi_base = oapi_base.rstrip("/")
        self.app_key = app_key
        self._app_secret = app_secret
        self.robot_code = robot_code
        super().__init__(PLATFORM, timeout)
        self._monotonic = monotonic
        self._now_ms = now_ms
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    # -- transport ---------------------------------------------------------------------------

    async def _openapi(
        self, path: str, body: dict[str, Any], token: str | None, *, method: str = "POST"
    ) -> dict[str, Any]:
        """POST (or PUT) to the new API; HTTP errors carry ``{"code", "message"}``."""
        headers = {"x-acs-dingtalk-access-token": token} if token else {}
        return await self.request_json(
            method, f"{self.api_base}{path}", answer=Answer.STATUS, json=body, headers=headers
        )

    async def post_robot(self, url: str, body: dict[str, Any]) -> None:
        """POST a robot message to a webhook or sessionWebhook; errcode answers are mapped."""
        await self.request_json("POST", url, json=body)

    # -- access token ------------------------------------------------------------------------

    async def token(self, *, refresh: bool = False) -> str:
        """The app access token (``/v1.0/oauth2/accessToken``), cached until shortly before it expires."""
        async with self._token_lock:
            if not refresh and self._token and self._monotonic() < self._token_expires:
                return self._token
            data = await self._openapi(
                "/v1.0/oauth2/accessToken", {"appKey": self.app_key, "appSecret": self._app_secret}, None
            )
            token = data.get("accessToken")
            if not isinstance(token, str) or not token:
                raise platform_error(PLATFORM, message="accessToken missing in answer")
            expires_in = data.get("expireIn", 7200)
            if not isinstance(expires_in, int) or expires_in <= 0:
                expires_in = 7200
            self._token = token
            self._token_expires = self._monotonic() + max(expires_in - TOKEN_MARGIN, expires_in / 2)
            return token

    async def call(self, path: str, body: dict[str, Any], *, method: str = "POST") -> dict[str, Any]:
        """POST (or PUT) with the app token; after a 401 one fresh token and one retry."""
        try:
            return await self._openapi(path, body, await self.token(), method=method)
        except PlatformError as exc:
            if not is_token_error(exc):
                raise
        return await self._openapi(path, body, await self.token(refresh=True), method=method)

    async def open_stream(self, *topics: str) -> str:
        """Register a Stream-mode connection for ``topics``; returns the websocket URL with its ticket."""
        data = await self._openapi(
            "/v1.0/gateway/connections/open",
            {
                "clientId": self.app_key,
                "clientSecret": self._app_secret,
                "subscriptions": [{"type": "CALLBACK", "topic": topic} for topic in topics],
                "ua": "exambot/0.1 dingtalk-stream",
                "localIp": "127.0.0.1",
            },
            None,
        )
        endpoint, ticket = data.get("endpoint"), data.get("ticket")
        if not isinstance(endpoint, str) or not endpoint.startswith(("wss://", "ws://")) or not ticket:
            raise platform_error(PLATFORM, message="connections/open answered without endpoint or ticket")
        return f"{endpoint}?ticket={quote_plus(str(ticket))}"

    # -- sending -----------------------------------------------------------------------------

    def _msg(self, text: str, markdown: bool) -> dict[str, str]:
        if markdown:
            param = {"title": "考务助手", "text": text}
            return {"msgKey": "sampleMarkdown", "msgParam": json.dumps(param, ensure_ascii=False)}
        return {"msgKey": "sampleText", "msgParam": json.dumps({"content": text}, ensure_ascii=False)}

    async def send_to_users(self, user_ids: Sequence[str], text: str, *, markdown: bool = False) -> str | None:
        """Robot 1:1 messages (``/v1.0/robot/oToMessages/batchSend``); returns the processQueryKey."""
        key: str | None = None
        for piece in split_utf8(text, TEXT_LIMIT):
            key = await self._batch_send(user_ids, self._msg(piece, markdown)) or key
        return key

    async def _batch_send(self, user_ids: Sequence[str], msg: dict[str, str]) -> str | None:
        body = {"robotCode": self.robot_code, "userIds": list(user_ids), **msg}
        data = await self.call("/v1.0/robot/oToMessages/batchSend", body)
        if data.get("flowControlledStaffIdList"):
            raise RateLimited(f"{PLATFORM}: recipients flow-controlled", retryable=True)
        invalid = data.get("invalidStaffIdList") or []
        if invalid and set(invalid) >= set(user_ids):
            raise PlatformError(f"{PLATFORM}: every recipient is invalid", retryable=False)
        return str(data.get("processQueryKey") or "") or None

    # -- files -------------------------------------------------------------------------------

    async def upload_file(self, name: str, data: bytes) -> str:
        """Upload a file to ``oapi/media/upload`` (form fields ``type=file`` and ``media``); returns its media_id.

        The app token of ``/v1.0/oauth2/accessToken`` is passed as ``access_token``, as dingtalk-stream's
        ``upload_to_dingtalk`` does; after a 401 or a token errcode, one fresh token and one retry.
        """
        body, content_type = multipart("media", name, data, fields=[("type", "file")])
        url = f"{self.oapi_base}/media/upload"

        async def upload(token: str) -> dict[str, Any]:
            return await self.request_json(
                "POST", url, params={"access_token": token}, body=body, headers={"Content-Type": content_type}
            )

        try:
            answer = await upload(await self.token())
        except PlatformError as exc:
            if not is_token_error(exc):
                raise
            answer = await upload(await self.token(refresh=True))
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise platform_error(PLATFORM, message="media/upload answered without media_id")
        return media_id

    @staticmethod
    def _file_msg(media_id: str, name: str) -> dict[str, str]:
        param = {"mediaId": media_id, "fileName": name, "fileType": file_type(name)}
        return {"msgKey": "sampleFile", "msgParam": json.dumps(param, ensure_ascii=False)}

    async def send_file_to_users(self, user_ids: Sequence[str], media_id: str, name: str) -> str | None:
        """Robot 1:1 file message (``oToMessages/batchSend``, ``msgKey: sampleFile``); returns the processQueryKey."""
        return await self._batch_send(user_ids, self._file_msg(media_id, name))

    async def send_file_to_group(self, conversation_id: str, media_id: str, name: str) -> str | None:
        """Robot file message to a group (``groupMessages/send``, ``msgKey: sampleFile``)."""
        body = {"robotCode": self.robot_code, "openConversationId": conversation_id, **self._file_msg(media_id, name)}
        data = await self.call("/v1.0/robot/groupMessages/send", body)
        return str(data.get("processQueryKey") or "") or None

    async def send_to_group(self, conversation_id: str, text: str, *, markdown: bool = False) -> str | None:
        """Robot message to a group (``/v1.0/robot/groupMessages/send``, openConversationId)."""
        key: str | None = None
        for piece in split_utf8(text, TEXT_LIMIT):
            body = {"robotCode": self.robot_code, "openConversationId": conversation_id, **self._msg(piece, markdown)}
            data = await self.call("/v1.0/robot/groupMessages/send", body)
            key = str(data.get("processQueryKey") or "") or key
        return key

    async def send_webhook(
        self,
        webhook: str,
        secret: str | None,
        text: str,
        *,
        markdown: bool = False,
        mentions: Sequence[str] = (),
    ) -> None:
        """Custom group robot (``/robot/send?access_token=``), signed when it has a 加签 secret."""
        parts = urlsplit(webhook)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise PlatformError(f"{PLATFORM}: robot webhook is not a URL", retryable=False)
        for i, piece in enumerate(split_utf8(text, TEXT_LIMIT)):
            body = robot_body(piece, markdown=markdown, mentions=mentions if i == 0 else ())
            await self.post_robot(signed_webhook_url(webhook, secret, self._now_ms()), body)

    # -- interactive cards -------------------------------------------------------------------

    async def create_and_deliver_card(
        self,
        out_track_id: str,
        template_id: str,
        card_data: dict[str, str],
        *,
        user_id: str | None = None,
        conversation_id: str | None = None,
    ) -> None:
        """Create an interactive card (高级版) and deliver it to one person or one group of our robot.

        ``POST /v1.0/card/instances/createAndDeliver`` with our own ``outTrackId`` and ``callbackType: STREAM``
        (taps come back on the Stream topic ``/v1.0/card/instances/callback``). Values must be strings. A
        delivery the platform reports as failed (``deliverResults[].success`` false) is a non-retryable error.
        """
        body: dict[str, Any] = {
            "cardTemplateId": template_id,
            "outTrackId": out_track_id,
            "callbackType": "STREAM",
            "cardData": {"cardParamMap": card_data},
        }
        if user_id:
            body["openSpaceId"] = f"dtv1.card//IM_ROBOT.{user_id}"
            body["imRobotOpenSpaceModel"] = {"supportForward": False}
            body["imRobotOpenDeliverModel"] = {"spaceType": "IM_ROBOT", "robotCode": self.robot_code}
        elif conversation_id:
            body["openSpaceId"] = f"dtv1.card//IM_GROUP.{conversation_id}"
            body["imGroupOpenSpaceModel"] = {"supportForward": False}
            body["imGroupOpenDeliverModel"] = {"robotCode": self.robot_code}
        else:
            raise PlatformError(f"{PLATFORM}: card without a person or a group", retryable=False)
        data = await self.call("/v1.0/card/instances/createAndDeliver", body)
        result = data.get("result")
        results = result.get("deliverResults") if isinstance(result, dict) else None
        failed = [r for r in results or [] if isinstance(r, dict) and r.get("success") is False]
        if data.get("success") is False or failed:
            reason = str(failed[0].get("errorMsg", "")) if failed else "success false"
            raise PlatformError(f"{PLATFORM}: card not delivered: {reason[:200]}", retryable=False)

    async def update_card(
        self,
        out_track_id: str,
        card_data: dict[str, str],
        *,
        private: dict[str, dict[str, str]] | None = None,
    ) -> None:
        """Change some values of a delivered card: ``PUT /v1.0/card/instances`` with ``updateCardDataByKey``.

        Without ``updateCardDataByKey: true`` DingTalk overwrites the whole card data (the default), so it is
        always sent; ``private`` maps a userId to the values only that person sees.
        """
        body: dict[str, Any] = {
            "outTrackId": out_track_id,
            "cardData": {"cardParamMap": card_data},
            "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
            "userIdType": 1,
        }
        if private:
            body["privateData"] = {uid: {"cardParamMap": values} for uid, values in private.items()}
        data = await self.call("/v1.0/card/instances", body, method="PUT")
        if data.get("success") is False:
            raise PlatformError(f"{PLATFORM}: card update refused", retryable=False)

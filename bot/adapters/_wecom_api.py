"""WeCom (企业微信) server API over aiohttp: access token, app messages, app group chats, group robots.

wechatpy's own client is synchronous (requests) and retries token errors without a limit; this
client keeps the token until ``expires_in`` (minus a margin), refetches it once on 40014/42001
and gives up after one retry; every call goes through :meth:`HttpClient.request_json`, which maps
its failures (errcode answers) through :func:`platform_error`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from bot.adapters._errors import is_token_error, platform_error
from bot.adapters._files import multipart
from bot.adapters._http import HttpClient
from bot.adapters._text import split_utf8
from bot.errors import PlatformError

PLATFORM = "wecom"
TEXT_LIMIT = 2048  # bytes, message/send and appchat/send text and markdown
WEBHOOK_TEXT_LIMIT = 2048
WEBHOOK_MARKDOWN_LIMIT = 4096
TOKEN_MARGIN = 300.0  # refetch this many seconds before the token's announced expiry
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)


class WeComClient(HttpClient):
    """One self-built app's API client; call :meth:`start` before use and :meth:`close` after."""

    def __init__(
        self,
        api_base: str,
        corp_id: str,
        secret: str,
        agent_id: int,
        *,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.corp_id = corp_id
        self._secret = secret
        self.agent_id = agent_id
        super().__init__(PLATFORM, timeout)
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    # -- access token ------------------------------------------------------------------------

    async def token(self, *, refresh: bool = False) -> str:
        """The cached access token, fetched when missing, expiring or after a token error."""
        async with self._token_lock:
            if not refresh and self._token and self._monotonic() < self._token_expires:
                return self._token
            data = await self.request_json(
                "GET", f"{self.api_base}/cgi-bin/gettoken", params={"corpid": self.corp_id, "corpsecret": self._secret}
            )
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                raise platform_error(PLATFORM, message="gettoken answered without access_token")
            expires_in = data.get("expires_in", 7200)
            if not isinstance(expires_in, int) or expires_in <= 0:
                expires_in = 7200
            self._token = token
            self._token_expires = self._monotonic() + max(expires_in - TOKEN_MARGIN, expires_in / 2)
            return token

    def forget_token(self) -> None:
        """Drop the cached token (the next call fetches a new one)."""
        self._token = None
        self._token_expires = 0.0

    async def _with_token(self, request: Callable[[str], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """``request(token)`` with the access token; after a token error one fresh token and one retry."""
        try:
            return await request(await self.token())
        except PlatformError as exc:
            if not is_token_error(exc):
                raise
        self.forget_token()
        return await request(await self.token(refresh=True))

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``/cgi-bin/<path>`` with the access token; one retry after a token error."""
        url = f"{self.api_base}/cgi-bin/{path}"
        return await self._with_token(
            lambda token: self.request_json("POST", url, params={"access_token": token}, json=body)
        )

    # -- sending -----------------------------------------------------------------------------

    async def send_to_users(self, user_ids: Sequence[str], text: str, *, markdown: bool = False) -> str | None:
        """Application message to people (``message/send``); returns the last msgid."""
        msgid: str | None = None
        for piece in split_utf8(text, TEXT_LIMIT):
            body: dict[str, Any] = {"touser": "|".join(user_ids), "agentid": self.agent_id, "safe": 0}
            body.update(_content(piece, markdown))
            msgid = _msgid(await self.call("message/send", body), user_ids) or msgid
        return msgid

    async def send_to_chat(self, chat_id: str, text: str, *, markdown: bool = False) -> str | None:
        """Message to a group chat the app created (``appchat/send``)."""
        for piece in split_utf8(text, TEXT_LIMIT):
            body: dict[str, Any] = {"chatid": chat_id, "safe": 0}
            body.update(_content(piece, markdown))
            await self.call("appchat/send", body)
        return None

    async def upload_file(self, name: str, data: bytes) -> str:
        """Upload a file (``media/upload?type=file``, multipart field ``media``); returns its media_id (3 days).

        The name goes in raw UTF-8 (see :mod:`bot.adapters._files`): WeCom shows the recipient this name.
        """
        body, content_type = multipart("media", name, data)
        url = f"{self.api_base}/cgi-bin/media/upload"
        answer = await self._with_token(
            lambda token: self.request_json(
                "POST",
                url,
                params={"access_token": token, "type": "file"},
                body=body,
                headers={"Content-Type": content_type},
            )
        )
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise platform_error(PLATFORM, message="media/upload answered without media_id")
        return media_id

    async def send_file_to_users(self, user_ids: Sequence[str], media_id: str) -> str | None:
        """A file message to people (``message/send`` with ``msgtype: file``); returns the msgid."""
        body = {"touser": "|".join(user_ids), "agentid": self.agent_id, "msgtype": "file",
                "file": {"media_id": media_id}, "safe": 0}  # fmt: skip
        return _msgid(await self.call("message/send", body), user_ids)

    async def send_file_to_chat(self, chat_id: str, media_id: str) -> None:
        """A file message to a group chat the app created (``appchat/send`` with ``msgtype: file``)."""
        await self.call(
            "appchat/send", {"chatid": chat_id, "msgtype": "file", "file": {"media_id": media_id}, "safe": 0}
        )

    async def send_card(self, user_ids: Sequence[str], card: dict[str, Any]) -> tuple[str | None, str | None]:
        """A ``template_card`` to people (``message/send``); returns (msgid, the send's single-use response_code)."""
        body = {"touser": "|".join(user_ids), "agentid": self.agent_id, "msgtype": "template_card",
                "template_card": card, "enable_duplicate_check": 0}  # fmt: skip
        answer = await self.call("message/send", body)
        code = answer.get("response_code")
        return _msgid(answer, user_ids), str(code) if code else None

    async def update_card_button(self, response_code: str, user_ids: Sequence[str], label: str) -> None:
        """Turn the tapped button of people's card grey with ``label`` (``message/update_template_card``).

        ``response_code`` is single use and valid 72 hours: a tap's ResponseCode, or the send's.
        """
        body = {"userids": list(user_ids), "agentid": self.agent_id, "response_code": response_code,
                "button": {"replace_name": label}}  # fmt: skip
        await self.call("message/update_template_card", body)

    async def send_webhook(
        self, webhook: str, text: str, *, markdown: bool = False, mentions: Sequence[str] = ()
    ) -> str | None:
        """Group robot message (``webhook/send?key=``); ``webhook`` is the robot's URL or just its key."""
        url, key = self._webhook_url(webhook)
        limit = WEBHOOK_MARKDOWN_LIMIT if markdown else WEBHOOK_TEXT_LIMIT
        if markdown and mentions:
            text = " ".join(f"<@{m}>" for m in mentions) + "\n" + text
        for i, piece in enumerate(split_utf8(text, limit)):
            if markdown:
                body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"content": piece}}
            else:
                body = {"msgtype": "text", "text": {"content": piece}}
                if mentions and i == 0:
                    body["text"]["mentioned_list"] = list(mentions)
            await self.request_json("POST", url, params={"key": key}, json=body)
        return None

    def _webhook_url(self, webhook: str) -> tuple[str, str]:
        if "://" not in webhook:
            return f"{self.api_base}/cgi-bin/webhook/send", webhook
        parts = urlsplit(webhook)
        keys = parse_qs(parts.query).get("key")
        if parts.scheme not in ("https", "http") or not keys:
            raise PlatformError(f"{PLATFORM}: robot webhook URL has no key", retryable=False)
        return f"{parts.scheme}://{parts.netloc}{parts.path}", keys[0]


def _content(text: str, markdown: bool) -> dict[str, Any]:
    if markdown:
        return {"msgtype": "markdown", "markdown": {"content": text}}
    return {"msgtype": "text", "text": {"content": text}}


def _msgid(answer: dict[str, Any], user_ids: Sequence[str]) -> str | None:
    """The msgid of a ``message/send`` answer; a non-retryable error when every recipient was refused."""
    invalid = answer.get("invaliduser")
    if invalid and set(str(invalid).split("|")) >= set(user_ids):
        raise PlatformError(f"{PLATFORM}: every recipient is invalid", retryable=False)
    return str(answer.get("msgid") or "") or None

"""The HTTP session every platform API client keeps, and the one JSON request they all make.

:meth:`HttpClient.request_json` is the single place where a platform call's transport failure,
HTTP status and JSON answer become :mod:`bot.errors` exceptions (through
:func:`~bot.adapters._errors.platform_error`), so the outbox sees the same kinds from every client.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Final

import aiohttp

from bot.adapters._errors import platform_error

_NOT_JSON: Final = object()  # marker: the answer body did not decode as JSON


class Answer(Enum):
    """How a platform API reports failure in its answers."""

    # HTTP 200 with ``{"errcode": n, "errmsg": ...}`` (WeCom, DingTalk robot webhooks and old API);
    # any other status is an error whose body is not read.
    ERRCODE = "errcode"
    # An HTTP error status with ``{"code": "...", "message": ...}`` (DingTalk's api.dingtalk.com).
    STATUS = "status"


class HttpClient:
    """Owns one aiohttp session with the client's timeout; ``platform`` names it in errors."""

    def __init__(self, platform: str, timeout: aiohttp.ClientTimeout) -> None:
        self.platform = platform
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the HTTP session."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The open HTTP session (opened lazily)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        answer: Answer = Answer.ERRCODE,
        params: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> dict[str, Any]:
        """One HTTP call answered with a JSON object; any failure raises the mapped PlatformError.

        Connection failures and timeouts are retryable network errors; the status and body are
        judged by ``answer`` (see :class:`Answer`). Error texts never carry the URL or the body.
        ``body`` is a raw body (a multipart upload, with its Content-Type in ``headers``) instead of ``json``.
        """
        try:
            async with self.session.request(method, url, params=params, json=json, data=body, headers=headers) as resp:
                status = resp.status
                if answer is Answer.ERRCODE and status != 200:
                    raise platform_error(self.platform, status=status)
                try:
                    data: Any = await resp.json(content_type=None)
                except ValueError:
                    data = _NOT_JSON
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise platform_error(self.platform, network=True, message=type(exc).__name__) from None
        if answer is Answer.STATUS:
            return self._unwrap_status(status, None if data is _NOT_JSON else data)
        return self._unwrap_errcode(data)

    def _unwrap_errcode(self, data: Any) -> dict[str, Any]:
        if data is _NOT_JSON:
            raise platform_error(self.platform, message="answer is not JSON")
        if not isinstance(data, dict):
            raise platform_error(self.platform, message="answer is not a JSON object")
        code = data.get("errcode", 0)
        if not isinstance(code, int):
            raise platform_error(self.platform, message="errcode is not a number")
        if code != 0:
            raise platform_error(self.platform, code=code, message=str(data.get("errmsg", "")))
        return data

    def _unwrap_status(self, status: int, data: Any) -> dict[str, Any]:
        if status != 200:
            code = data.get("code") if isinstance(data, dict) else None
            msg = data.get("message") if isinstance(data, dict) else ""
            raise platform_error(self.platform, status=status, code=str(code or ""), message=str(msg or ""))
        if not isinstance(data, dict):
            raise platform_error(self.platform, message="answer is not a JSON object")
        return data

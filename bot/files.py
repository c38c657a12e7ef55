"""Signed, expiring download links for stored files, the route that serves them, and the outbox's file step.

A link is ``<public_url>/files/<file id>?e=<expiry, unix seconds>&s=<signature>``, the signature being
HMAC-SHA256 over ``"<file id>.<expiry>"`` with ``file_link_secret`` (hex, 32 characters). Any instance with
the same secret can check it; nothing is stored per link. ``GET /files/<file id>``:

* not a file id, or no such file (with a good signature): 404;
* no signature, or a wrong one: 403;
* a good signature past its expiry: 410;

each with a short Chinese page; otherwise the bytes, as an attachment under the file's own name.

:class:`FileDelivery` wraps the adapters' ``deliver``: a message of format ``file`` leaves the outbox
with its text naming the file; here its bytes are read and a fresh link is signed, and the adapter gets
both as an :class:`~bot.model.Attachment` (a file to a person, a link where files cannot go).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from html import escape
from urllib.parse import quote

import structlog
from aiohttp import web

from bot.clock import Clock
from bot.errors import PlatformError
from bot.model import Attachment, OutgoingMessage, TextFormat, file_id_of
from bot.settings import Settings
from bot.store.engine import Database
from bot.store.files import FILE_ID_SHAPE, load_file

log = structlog.get_logger("exambot.files")

PATH = "/files/{file_id}"
SIG_LENGTH = 32  # hex characters of the signature kept in the link (128 bits)

Deliver = Callable[[OutgoingMessage], Awaitable[str | None]]


class FileLinks:
    """Signs and checks download links."""

    def __init__(self, secret: bytes, base_url: str, lifetime: timedelta, clock: Clock) -> None:
        if not secret:
            raise ValueError("a link secret is needed")
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.lifetime = lifetime
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> FileLinks:
        """Links with the configured secret, or a random one for this process (logged: links die with a restart)."""
        secret = settings.file_link_secret.get_secret_value().encode("utf-8")
        if not secret:
            log.warning("file_link_secret_unset", effect="links are valid on this instance until it restarts")
            secret = secrets.token_bytes(32)
        base = settings.public_url.strip() or f"http://{settings.host}:{settings.port}"
        return cls(secret, base, timedelta(hours=settings.file_link_hours), clock)

    def signature(self, file_id: str, expires: int) -> str:
        """The signature of a link to ``file_id`` valid until ``expires`` (unix seconds)."""
        mac = hmac.new(self._secret, f"{file_id}.{expires}".encode(), hashlib.sha256)
        return mac.hexdigest()[:SIG_LENGTH]

    def link(self, file_id: str, now: datetime | None = None) -> tuple[str, datetime]:
        """A signed link to ``file_id`` and when it expires."""
        expires_at = (now or self.clock.now()) + self.lifetime
        expires = int(expires_at.timestamp())
        return f"{self.base_url}/files/{file_id}?e={expires}&s={self.signature(file_id, expires)}", expires_at

    def check(self, file_id: str, expires: str, signature: str) -> int:
        """200 when the link is good now, else the status to refuse it with (404 / 403 / 410)."""
        if not FILE_ID_SHAPE.fullmatch(file_id):
            return 404
        if not (expires.isascii() and expires.isdigit() and 0 < len(expires) <= 12 and len(signature) == SIG_LENGTH):
            return 403
        if not hmac.compare_digest(self.signature(file_id, int(expires)).encode(), signature.encode("utf-8")):
            return 403
        if int(expires) <= int(self.clock.now().timestamp()):
            return 410
        return 200


PAGES = {
    403: ("链接无效", "这个下载链接无效（签名不符或被改动过）。请在私聊中重新向考务助手索取文件。"),
    404: ("文件不存在", "没有找到这个文件，它可能已被清理。请在私聊中重新向考务助手索取文件。"),
    410: ("链接已过期", "这个下载链接已过期。请在私聊中重新向考务助手索取文件（例如发送 /导出）。"),
}


def refusal(status: int) -> web.Response:
    """A short Chinese page for a refused download."""
    title, text = PAGES[status]
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} · 考务助手</title></head>"
        f'<body style="font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em">'
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p></body></html>"
    )
    return web.Response(status=status, text=html, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store"})  # fmt: skip


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 name (RFC 6266 / RFC 5987), for browsers."""
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


class FileRoute:
    """``GET /files/<file id>?e=&s=``: the file behind a good link."""

    def __init__(self, db: Database, links: FileLinks) -> None:
        self.db = db
        self.links = links

    def add_routes(self, app: web.Application) -> None:
        """Register the download route."""
        app.router.add_get(PATH, self.download)

    async def download(self, request: web.Request) -> web.Response:
        """Serve the file, or a refusal page."""
        file_id = request.match_info["file_id"]
        status = self.links.check(file_id, request.query.get("e", ""), request.query.get("s", ""))
        if status != 200:
            log.info("file_link_refused", status=status)
            return refusal(status)
        stored = await load_file(self.db, file_id)
        if stored is None:
            return refusal(404)
        headers = {
            "Content-Disposition": content_disposition(stored.name),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        }
        return web.Response(body=stored.data, content_type=_content_type(stored.name), headers=headers)


def _content_type(name: str) -> str:
    if name.lower().endswith(".xlsx"):
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if name.lower().endswith(".csv"):
        return "text/csv"
    return "application/octet-stream"


class FileDelivery:
    """The outbox's last step before the adapters: a ``file`` message gets its bytes and a fresh signed link."""

    def __init__(self, deliver: Deliver, db: Database, links: FileLinks) -> None:
        self._deliver = deliver
        self.db = db
        self.links = links

    async def deliver(self, message: OutgoingMessage) -> str | None:
        """Attach the file a ``file`` message names, then deliver; anything else passes through."""
        if message.format is not TextFormat.FILE or message.attachment is not None:
            return await self._deliver(message)
        file_id = file_id_of(message.text) or ""
        stored = await load_file(self.db, file_id)
        if stored is None:
            raise PlatformError("file: the stored file is gone", retryable=False)
        link, expires_at = self.links.link(file_id)
        attachment = Attachment(stored.name, stored.data, link, expires_at)
        return await self._deliver(replace(message, attachment=attachment))

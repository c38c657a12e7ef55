"""The local console: a browser chat page for the demo and for development.

Anyone who reaches the page may act as any staff member, so the app enables it only on a
loopback address (see ``bot.app``). Messages are stored in ``console_message`` and read by
polling, so live updates work whichever instance a browser reaches.

A browser on this machine can be driven by any web page, though, so every console route checks
the Host header against loopback names (a DNS-rebound name is refused), and a POST must come
from the console page itself: a cross-site ``Origin`` / ``Sec-Fetch-Site`` is refused, and the
request must carry the token the page embeds (``X-Console-Token``), equal to the page's
``SameSite=Strict`` cookie (a double-submit token: any instance can check it, nothing is stored).
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from importlib import resources
from typing import Any

from aiohttp import web
from sqlmodel import col, select

from bot.adapters._files import link_text
from bot.adapters._text import incoming_message
from bot.adapters.base import Adapter, Capabilities
from bot.clock import Clock
from bot.model import GroupTarget, OutgoingMessage, PersonTarget, Reply, TextFormat
from bot.store.engine import Database
from bot.store.tables import ROLE_LABELS, Assignment, ConsoleMessage, ExamSession, Room, Staff

CHANNEL = "console"
MAX_TEXT = 2000
MAX_SENDER = 32  # "访客<sender>" must fit ConsoleMessage.sender (64)
MAX_CHAT = 128  # ConsoleMessage.chat
MAX_STAFF_ID = 2**31 - 1  # Staff.id is a 32-bit integer on PostgreSQL
TOKEN_COOKIE = "exambot_console"
TOKEN_HEADER = "X-Console-Token"
TOKEN_SLOT = "__CONSOLE_TOKEN__"  # in static/console.html
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,64}")
_LOOPBACK_HOST = re.compile(r"(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?", re.IGNORECASE)


def dm_chat(staff_id: int | str) -> str:
    """The console chat id of a private chat between the bot and a staff member."""
    return f"dm:{staff_id}"


class ConsoleAdapter(Adapter):
    """Serves ``/console`` and stores what the bot says there."""

    name = CHANNEL
    # A card is stored as its text with the ``card:<room>:<step>`` line: the page shows it with 收到 / 有问题 buttons
    # that send the tap's command (/收到 卡片 …) as the person at the page, exactly as a platform's tap does.
    capabilities = Capabilities(markdown=True, mentions=True, max_text_bytes=1 << 16, files=True, cards=True)

    def __init__(self, db: Database, clock: Clock) -> None:
        super().__init__()
        self.db = db
        self.clock = clock

    async def record(self, chat: str, direction: str, sender: str, text: str, markdown: bool = False) -> int:
        """Store one line of a console chat and return its id."""
        row = ConsoleMessage(
            chat=chat, direction=direction, sender=sender, text=text, markdown=markdown, at=self.clock.now()
        )
        async with self.db.session() as s:
            s.add(row)
            await s.flush()
            assert row.id is not None
            return row.id

    async def send(self, message: OutgoingMessage) -> str | None:
        """Show a message in the target's console chat."""
        target = message.target
        if isinstance(target, PersonTarget):
            chat = dm_chat(target.user_id)
        elif isinstance(target, GroupTarget) and target.chat_id:
            chat = target.chat_id
        else:
            return None
        text = message.text
        markdown = message.format is TextFormat.MARKDOWN
        if message.format is TextFormat.FILE and message.attachment is not None:
            # the demo has no file transfer: the file shows as its signed download link (the page makes it a link)
            text = link_text(message.attachment)
        if message.mentions:
            text = " ".join(f"@{m}" for m in message.mentions) + "\n" + text
        row_id = await self.record(chat, "out", "考务助手", text, markdown)
        return str(row_id)

    def add_routes(self, app: web.Application) -> None:
        """The page and its small JSON API."""
        app.router.add_get("/console", self._page)
        app.router.add_get("/console/api/staff", self._staff)
        app.router.add_get("/console/api/messages", self._messages)
        app.router.add_post("/console/api/send", self._send)

    async def _page(self, request: web.Request) -> web.Response:
        _check_host(request)
        # one token per browser (reused while its cookie lives), so several open tabs all keep working
        token = request.cookies.get(TOKEN_COOKIE, "")
        if not _TOKEN_SHAPE.fullmatch(token):
            token = secrets.token_urlsafe(32)
        html = resources.files("bot").joinpath("static/console.html").read_text(encoding="utf-8")
        resp = web.Response(text=html.replace(TOKEN_SLOT, token), content_type="text/html", charset="utf-8")
        resp.set_cookie(TOKEN_COOKIE, token, path="/console", httponly=True, samesite="Strict")
        resp.headers["Cache-Control"] = "no-store"
        return resp

    async def _staff(self, request: web.Request) -> web.Response:
        _check_host(request)
        async with self.db.read() as s:
            staff = (await s.exec(select(Staff).where(col(Staff.active)).order_by(col(Staff.id)))).all()
            rows = (
                await s.exec(
                    select(Assignment.staff_id, Room.group_chat, Room.room_no, Room.location, ExamSession.code)
                    .join(Room, col(Room.id) == col(Assignment.room_id))
                    .join(ExamSession, col(ExamSession.id) == col(Room.session_id))
                    .order_by(col(ExamSession.starts_at), col(Room.id))
                )
            ).all()
        groups_of: dict[int, dict[str, str]] = {}
        all_groups: dict[str, str] = {}
        for staff_id, chat, room_no, location, _code in rows:
            if not chat or not chat.startswith(CHANNEL + ":"):
                continue
            title = f"{room_no}群（{location}）" if location else f"{room_no}群"
            groups_of.setdefault(staff_id, {})[chat] = title
            all_groups[chat] = title
        out: list[dict[str, Any]] = []
        for p in staff:
            roles = [ROLE_LABELS[r] for r in sorted(p.role_set)]
            sees_all = bool({"office", "admin", "supervisor"} & set(p.roles.split(",")))
            groups = all_groups if sees_all else groups_of.get(p.id or 0, {})
            out.append(
                {
                    "id": p.id,
                    "name": p.name,
                    "roles": roles,
                    "chats": [{"id": dm_chat(p.id or 0), "title": "与考务助手私聊"}]
                    + [{"id": k, "title": v} for k, v in groups.items()],
                }
            )
        return web.json_response({"staff": out})

    async def _messages(self, request: web.Request) -> web.Response:
        _check_host(request)
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            raise web.HTTPBadRequest(text="after 应为整数") from None
        chats = [c for c in request.query.get("chats", "").split(",") if c][:50]
        if not chats:
            return web.json_response({"messages": []})
        async with self.db.read() as s:
            rows = (
                await s.exec(
                    select(ConsoleMessage)
                    .where(col(ConsoleMessage.chat).in_(chats), col(ConsoleMessage.id) > after)
                    .order_by(col(ConsoleMessage.id))
                    .limit(500)
                )
            ).all()
        return web.json_response(
            {
                "messages": [
                    {
                        "id": m.id,
                        "chat": m.chat,
                        "direction": m.direction,
                        "sender": m.sender,
                        "text": m.text,
                        "markdown": m.markdown,
                        "at": m.at.isoformat(),
                    }
                    for m in rows
                ]
            }
        )

    async def _send(self, request: web.Request) -> web.Response:
        _check_host(request)
        _check_same_origin(request)
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="请求体应为 JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="请求体应为 JSON 对象")
        sender = str(body.get("as", "")).strip()
        chat = str(body.get("chat", "")).strip() or dm_chat(sender)
        text = str(body.get("text", ""))
        if not sender or not text.strip():
            raise web.HTTPBadRequest(text="需要 as 和 text")
        if len(text) > MAX_TEXT:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_TEXT, actual_size=len(text))
        numeric = sender.isascii() and sender.isdigit()
        if len(sender) > MAX_SENDER or (numeric and int(sender) > MAX_STAFF_ID) or "\x00" in sender:
            raise web.HTTPBadRequest(text="发言人编号无效")
        if len(chat) > MAX_CHAT or "\x00" in chat:
            raise web.HTTPBadRequest(text="会话编号无效")
        async with self.db.read() as s:
            person = await s.get(Staff, int(sender)) if numeric else None
        name = person.name if person else f"访客{sender}"
        await self.record(chat, "in", name, text)
        reply = await self.handle(sender, text, None if chat.startswith("dm:") else chat)
        if reply is not None:
            await self.record(chat, "out", "考务助手", reply.text, reply.format is TextFormat.MARKDOWN)
        return web.json_response(
            {"reply": reply.text if reply else None, "card_state": reply.card_state if reply else None}
        )

    async def handle(self, sender_id: str, text: str, chat_id: str | None) -> Reply | None:
        """Dispatch one console message (also used by ``exambot chat``)."""
        msg = incoming_message(
            channel=CHANNEL,
            sender_id=sender_id,
            text=text,
            message_id=uuid.uuid4().hex,
            received_at=self.clock.now(),
            chat_id=chat_id,
        )
        return await self.dispatcher.dispatch(msg)


def _check_host(request: web.Request) -> None:
    """403 unless the Host header names this machine (a DNS-rebound name is not)."""
    if not _LOOPBACK_HOST.fullmatch(request.headers.get("Host", "")):
        raise web.HTTPForbidden(text="控制台只能通过 localhost、127.0.0.1 或 [::1] 访问")


def _check_same_origin(request: web.Request) -> None:
    """403 for a POST that another site's page made, or that lacks the console page's token."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        raise web.HTTPForbidden(text="拒绝来自其他网站的请求")
    origin = request.headers.get("Origin")
    if origin is not None:
        scheme, _, host = origin.partition("://")
        if scheme not in ("http", "https") or host.lower() != request.headers.get("Host", "").lower():
            raise web.HTTPForbidden(text="拒绝来自其他网站的请求")
    token = request.headers.get(TOKEN_HEADER, "")
    cookie = request.cookies.get(TOKEN_COOKIE, "")
    if not (token and cookie and hmac.compare_digest(token.encode(), cookie.encode())):
        raise web.HTTPForbidden(text="请求缺少控制台页面的令牌，请刷新 /console 页面后重试")

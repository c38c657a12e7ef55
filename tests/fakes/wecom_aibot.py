"""A fake WeCom AI bot (智能机器人) long-connection server, speaking the protocol of the official SDK.

An aiohttp WebSocket endpoint on port 0: the first frame must be ``aibot_subscribe`` with the right bot id and
secret (else errcode 40058 and the connection is closed); ``ping`` is acknowledged; ``aibot_respond_msg``,
``aibot_respond_update_msg`` and ``aibot_send_msg`` are acknowledged and recorded (``aibot_send_msg`` to a group
that never spoke to the bot is refused with errcode 93006, as WeCom does). The test pushes message callbacks and
``template_card_event`` taps, sends raw frames (bad ones too) and drops connections on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import WSMsgType, web

BOT_ID = "aibot-test-id"
SECRET = "aibot-test-secret"
NOT_SPOKEN = 93006  # what the fake answers a push to a group that has not @-mentioned the bot


@dataclass
class Received:
    """A frame the bot sent us (after subscribing), with the connection it came on."""

    cmd: str
    req_id: str
    body: dict[str, Any]
    connection: int


class FakeAiBot:
    """The fake server; ``async with FakeAiBot() as fake`` listens on ``fake.url``."""

    def __init__(self, bot_id: str = BOT_ID, secret: str = SECRET) -> None:
        self.bot_id = bot_id
        self.secret = secret
        self.received: list[Received] = []
        self.subscribes = 0  # accepted subscriptions
        self.refused = 0  # refused subscriptions
        self.pings = 0
        self.spoken: set[str] = set()  # group chat ids that have @-mentioned the bot
        self.refuse_cards = False  # answer template cards with errcode 40008
        self.answer = True  # acknowledge frames (False: never, as a dead server)
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Condition()
        self.url = ""

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/", self._ws)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"ws://127.0.0.1:{port}/"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the server --------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether a subscribed connection is open."""
        return bool(self._sockets)

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=8 * 1024 * 1024)
        await ws.prepare(request)
        number = self.subscribes + self.refused + 1
        subscribed = False
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    break
                data = json.loads(message.data)
                cmd, rid = data.get("cmd", ""), data.get("headers", {}).get("req_id", "")
                body = data.get("body") or {}
                if not subscribed:
                    if (
                        cmd != "aibot_subscribe"
                        or body.get("bot_id") != self.bot_id
                        or body.get("secret") != self.secret
                    ):
                        self.refused += 1
                        await ws.send_json({"headers": {"req_id": rid}, "errcode": 40058, "errmsg": "invalid secret"})
                        await ws.close()
                        break
                    subscribed = True
                    self.subscribes += 1
                    self._sockets.append(ws)
                    await ws.send_json({"headers": {"req_id": rid}, "errcode": 0, "errmsg": "ok"})
                    await self._notify()
                    continue
                if cmd == "ping":
                    self.pings += 1
                    if self.answer:
                        await ws.send_json({"headers": {"req_id": rid}, "errcode": 0, "errmsg": "ok"})
                    await self._notify()
                    continue
                self.received.append(Received(cmd, rid, body, number))
                if self.answer:
                    code = self._code(cmd, body)
                    await ws.send_json(
                        {"headers": {"req_id": rid}, "errcode": code, "errmsg": "ok" if not code else "x"}
                    )
                await self._notify()
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
            await self._notify()
        return ws

    def _code(self, cmd: str, body: dict[str, Any]) -> int:
        if cmd != "aibot_send_msg":
            return 0
        chat = str(body.get("chatid", ""))
        if chat.startswith("grp") and chat not in self.spoken:
            return NOT_SPOKEN
        if self.refuse_cards and body.get("msgtype") == "template_card":
            return 40008
        return 0

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, check: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until ``check()`` holds (looked at after every frame and connection change), ``within`` seconds."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(check)

    # -- what the test does ------------------------------------------------------------------

    async def push_raw(self, data: str) -> None:
        """Send ``data`` as it is on every open connection."""
        for ws in list(self._sockets):
            with contextlib.suppress(ConnectionError):  # the bot may close on a frame it will not take
                await ws.send_str(data)

    async def push(self, cmd: str, body: dict[str, Any]) -> str:
        """Send a callback frame; returns its req_id."""
        rid = f"{cmd}_{secrets.token_hex(6)}"
        await self.push_raw(json.dumps({"cmd": cmd, "headers": {"req_id": rid}, "body": body}, ensure_ascii=False))
        return rid

    async def say(self, user: str, text: str, *, chat: str | None = None, msgid: str | None = None) -> str:
        """A text message from ``user``: privately, or with an @-mention in group ``chat``; returns the req_id."""
        body: dict[str, Any] = {
            "msgid": msgid or secrets.token_hex(8),
            "aibotid": self.bot_id,
            "chattype": "group" if chat else "single",
            "from": {"userid": user},
            "msgtype": "text",
            "text": {"content": f"@考务助手 {text}" if chat else text},
        }
        if chat:
            body["chatid"] = chat
            self.spoken.add(chat)
        return await self.push("aibot_msg_callback", body)

    async def tap(self, user: str, task_id: str, key: str, *, chat: str | None = None) -> str:
        """A tap by ``user`` on button ``key`` of the card ``task_id``; returns the event's req_id."""
        body: dict[str, Any] = {
            "msgid": secrets.token_hex(8),
            "aibotid": self.bot_id,
            "chattype": "group" if chat else "single",
            "from": {"userid": user},
            "msgtype": "event",
            "event": {
                "eventtype": "template_card_event",
                "template_card_event": {"card_type": "button_interaction", "event_key": key, "task_id": task_id},
            },
        }
        if chat:
            body["chatid"] = chat
        return await self.push("aibot_event_callback", body)

    async def drop(self) -> None:
        """Close every open connection (as a network failure or a server restart would)."""
        for ws in list(self._sockets):
            await ws.close()
        await self.wait_for(lambda: not self._sockets)

    def frames(self, cmd: str) -> list[Received]:
        """What the bot sent with ``cmd``."""
        return [r for r in self.received if r.cmd == cmd]

    def sent_cards(self) -> list[Received]:
        """The template cards pushed with aibot_send_msg."""
        return [r for r in self.frames("aibot_send_msg") if r.body.get("msgtype") == "template_card"]

    def sent_texts(self, chat: str) -> list[str]:
        """The markdown texts pushed to ``chat`` (a userid or a group chat id)."""
        return [
            r.body["markdown"]["content"]
            for r in self.frames("aibot_send_msg")
            if r.body.get("chatid") == chat and r.body.get("msgtype") == "markdown"
        ]

"""The board's HTTP side: the page, its files, its data, its charts and its live stream (server-sent events).

Every request carries a signed personal link (``?k=`` — see :mod:`bot.board_links`); the person it names
must still be active and hold the office, supervisor or admin role. Without one, with a forged or an
expired one, the page answers 401 in Chinese. The stream asks the database once a second whether anything
changed (:func:`~bot.board.data.data_version`), so it works on whichever instance the browser reaches.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime
from importlib import resources
from typing import Any

from aiohttp import web
from sqlmodel import select

from bot.board.data import data_version, room_states, today, violation_types
from bot.board.history import feed, room_history
from bot.board.svg import attendance_svg, violations_svg
from bot.board_links import BoardPass, LinkProblem, board_link, expiry, may_open, sign, verify
from bot.clock import Clock
from bot.settings import Settings
from bot.store.engine import Database
from bot.store.tables import Staff
from scheduler.timeline import Timeline

STATIC = {"board.css": "text/css", "board.js": "application/javascript"}
PING_EVERY = 15  # polls without a change before a comment line keeps proxies from closing the stream
_WHY = {
    LinkProblem.MISSING: "打开看板需要个人看板链接。",
    LinkProblem.FORGED: "这个看板链接无效（可能复制不完整或已被改动）。",
    LinkProblem.EXPIRED: "这个看板链接已过期。",
    "role": "这个链接对应的人员已停用，或不再是考务办公室、督导或管理员。",
}
PAGE_401 = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>无法打开考务看板</title>
<style>body{{margin:0;padding:32px 20px;font:16px/1.6 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
background:#f4f5f7;color:#222}}main{{max-width:520px;margin:auto;background:#fff;border-radius:8px;padding:24px}}
h1{{font-size:20px;margin:0 0 12px;color:#d93025}}</style></head><body><main><h1>无法打开考务看板</h1>
<p id="why">{why}</p><p>请在企业微信或钉钉里私聊考务助手发送 <b>/看板</b> 获取新链接，或请考务办公室用
<code>exambot board-link</code> 生成。看板只对考务办公室、督导和管理员开放。</p></main></body></html>"""


class Board:
    """Serves the board page, its data and its live updates."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        *,
        secret: str,
        timeline: Timeline | None = None,
        poll_seconds: float = 1.0,
        console: bool = False,
    ) -> None:
        self.console = console  # the loopback demo: /board/demo opens the board as its first office member
        self.db = db
        self.settings = settings
        self.clock = clock
        self.secret = secret
        self.timeline = timeline
        self.poll_seconds = poll_seconds
        self._closing = asyncio.Event()

    def add_routes(self, app: web.Application) -> None:
        """The page, its static files, the JSON data, the two charts and the event stream."""
        app.router.add_get("/board", self.page)
        app.router.add_get("/board/static/{name}", self.static)
        app.router.add_get("/board/api/rooms", self.api_rooms)
        app.router.add_get("/board/api/room/{room_id:\\d+}", self.api_room)
        app.router.add_get("/board/chart/{name:(attendance|violations)}.svg", self.chart)
        app.router.add_get("/board/events", self.events)
        if self.console:
            app.router.add_get("/board/demo", self.demo)
        app.on_shutdown.append(self._shutdown)

    async def demo(self, request: web.Request) -> web.StreamResponse:
        """The console's “考务看板” link (loopback demo only): a 12-hour link of the first office member."""
        async with self.db.read() as s:
            people = (await s.exec(select(Staff).order_by(Staff.id))).all()  # type: ignore[arg-type]
        office = next((p for p in people if may_open(p) and p.id is not None), None)
        if office is None or office.id is None:
            return web.Response(status=401, text=PAGE_401.format(why=_WHY["role"]), content_type="text/html")
        token = sign(self.secret, office.id, expiry(self.clock.now(), 12))
        raise web.HTTPFound(board_link("", token))

    async def _shutdown(self, _app: web.Application) -> None:
        self._closing.set()  # open streams end now instead of holding the shutdown up

    async def _pass(self, request: web.Request) -> BoardPass | LinkProblem | str:
        """The verified link of a request, or why it does not open the board."""
        token = request.query.get("k", "") or request.headers.get("X-Board-Key", "")
        checked = verify(self.secret, token, self.clock.now())
        if not isinstance(checked, BoardPass):
            return checked
        async with self.db.read() as s:
            staff = (await s.exec(select(Staff).where(Staff.id == checked.staff_id))).first()
        return checked if may_open(staff) else "role"

    async def page(self, request: web.Request) -> web.Response:
        """The board page, or the 401 page."""
        checked = await self._pass(request)
        if not isinstance(checked, BoardPass):
            text = PAGE_401.format(why=_WHY[checked])
            return web.Response(status=401, text=text, content_type="text/html", charset="utf-8")
        html = resources.files("bot.static").joinpath("board.html").read_text(encoding="utf-8")
        headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers=headers)

    async def static(self, request: web.Request) -> web.Response:
        """board.css and board.js (no secrets in them: served without a link)."""
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        body = resources.files("bot.static").joinpath(name).read_text(encoding="utf-8")
        return web.Response(text=body, content_type=STATIC[name], charset="utf-8")

    async def _refused(self, request: web.Request) -> web.Response | None:
        checked = await self._pass(request)
        if isinstance(checked, BoardPass):
            return None
        return web.json_response({"error": _WHY[checked]}, status=401)

    async def snapshot(self, raw_day: str = "") -> dict[str, Any]:
        """Everything the page shows: the day's rooms, the feed, and a version for the charts' addresses."""
        d = today(self.clock, self.settings, raw_day)
        rooms = await room_states(self.db, d.day, self.settings, now=d.now, timeline=self.timeline)
        version = await data_version(self.db)
        return {
            "date": d.day.isoformat(),
            "generated_at": d.now.astimezone(self.settings.tz).isoformat(),
            "version": "-".join(map(str, version)) + f"-{int(d.now.timestamp()) // 60}",
            "rooms": rooms,
            "feed": await feed(self.db, d.day, self.settings),
        }

    async def api_rooms(self, request: web.Request) -> web.Response:
        """The snapshot as JSON."""
        refused = await self._refused(request)
        if refused is not None:
            return refused
        try:
            data = await self.snapshot(request.query.get("date", ""))
        except ValueError:
            return web.json_response({"error": "日期格式应为 YYYY-MM-DD，例如 2026-12-05"}, status=400)
        return web.json_response(data)

    async def api_room(self, request: web.Request) -> web.Response:
        """One room's records and their history."""
        refused = await self._refused(request)
        if refused is not None:
            return refused
        data = await room_history(self.db, int(request.match_info["room_id"]), self.settings)
        if data is None:
            return web.json_response({"error": "没有这个考场"}, status=404)
        return web.json_response(data)

    async def chart(self, request: web.Request) -> web.Response:
        """attendance.svg or violations.svg of the day."""
        refused = await self._refused(request)
        if refused is not None:
            return refused
        try:
            d = today(self.clock, self.settings, request.query.get("date", ""))
        except ValueError:
            return web.json_response({"error": "日期格式应为 YYYY-MM-DD"}, status=400)
        rooms = await room_states(self.db, d.day, self.settings, now=d.now, timeline=self.timeline)
        if request.match_info["name"] == "attendance":
            svg = attendance_svg(rooms)
        else:
            svg = violations_svg(await violation_types(self.db, [r["room_id"] for r in rooms]))
        return web.Response(
            text=svg, content_type="image/svg+xml", charset="utf-8", headers={"Cache-Control": "no-store"}
        )

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: the snapshot at once, then again whenever the database or the minute changes."""
        checked = await self._pass(request)
        if not isinstance(checked, BoardPass):
            return web.json_response({"error": _WHY[checked]}, status=401)
        raw_day = request.query.get("date", "")
        try:
            today(self.clock, self.settings, raw_day)
        except ValueError:
            return web.json_response({"error": "日期格式应为 YYYY-MM-DD"}, status=400)
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        await resp.prepare(request)
        # the browser went away, or the server is stopping
        with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
            await self._stream(resp, checked.expires_at, raw_day)
        return resp

    async def _stream(self, resp: web.StreamResponse, expires_at: datetime, raw_day: str) -> None:
        last: tuple[Any, ...] | None = None
        quiet = 0
        while not self._closing.is_set():
            now = self.clock.now()
            if now >= expires_at:
                await resp.write(b"event: expired\ndata: {}\n\n")
                return
            key = (*await data_version(self.db), int(now.timestamp()) // 60)
            if key != last:
                data = json.dumps(await self.snapshot(raw_day), ensure_ascii=False)
                await resp.write(f"event: rooms\ndata: {data}\n\n".encode())
                last, quiet = key, 0
            else:
                quiet += 1
                if quiet >= PING_EVERY:
                    await resp.write(b": ping\n\n")
                    quiet = 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=self.poll_seconds)

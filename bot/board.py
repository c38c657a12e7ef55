"""The office's board: every room of a day on one page, for a PC in the exam affairs office.

``GET /board`` is a page that polls ``GET /board/api/rooms?date=YYYY-MM-DD`` every few seconds;
each poll reads the database, so the board is current whichever instance the browser reaches.
It shows counts and states only (应考, 实考, 缺考, papers, violations, incidents), never a
candidate's number or name. It is served when the local console is on (demo, loopback only), or
when ``EXAMBOT_BOARD_TOKEN`` is set: then each request must carry that token (``?token=`` in the
page address, which the page passes on to the API).
"""

from __future__ import annotations

import hmac
from datetime import date, datetime
from importlib import resources
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.settings import Settings
from bot.store.engine import Database
from bot.store.papers import absent_payload, papers_payload, papers_state
from bot.store.reports import reports_in_force
from bot.store.rooms import room_label, sessions_of_day
from bot.store.tables import KIND_LABELS, ExamSession, Room
from scheduler.due import Expected, missing_state, missing_words, papers_missing_words
from scheduler.timeline import Timeline


class Board:
    """Serves the board page and its data."""

    def __init__(
        self, db: Database, settings: Settings, clock: Clock, *, token: str, timeline: Timeline | None = None
    ) -> None:
        self.db = db
        self.timeline = timeline
        self.settings = settings
        self.clock = clock
        self.token = token

    def add_routes(self, app: web.Application) -> None:
        """``GET /board`` and ``GET /board/api/rooms``."""
        app.router.add_get("/board", self.page)
        app.router.add_get("/board/api/rooms", self.api_rooms)

    def _allowed(self, request: web.Request) -> bool:
        if not self.token:
            return True  # console mode: loopback only (checked when the app is built)
        given = request.query.get("token", "") or request.headers.get("X-Board-Token", "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def page(self, request: web.Request) -> web.Response:
        """The board page."""
        if not self._allowed(request):
            return web.Response(status=403, text="看板口令不对：请使用考务办公室提供的完整看板地址。")
        html = resources.files("bot.static").joinpath("board.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async def api_rooms(self, request: web.Request) -> web.Response:
        """Every room of the day with its state, in start order."""
        if not self._allowed(request):
            return web.json_response({"error": "看板口令不对"}, status=403)
        now = self.clock.now().astimezone(self.settings.tz)
        raw = request.query.get("date", "")
        try:
            day = date.fromisoformat(raw) if raw else now.date()
        except ValueError:
            return web.json_response({"error": "日期格式应为 YYYY-MM-DD，例如 2026-12-05"}, status=400)
        rooms = await room_states(self.db, day, self.settings, now=self.clock.now(), timeline=self.timeline)
        return web.json_response({"date": day.isoformat(), "generated_at": now.isoformat(), "rooms": rooms})


async def room_states(
    db: Database, day: date, settings: Settings, *, now: datetime, timeline: Timeline | None = None
) -> list[dict[str, Any]]:
    """Per room of ``day``: session, counts and due-aware states at ``now`` (no candidate data)."""
    async with db.read() as s:
        rooms: list[tuple[Room, ExamSession]] = await sessions_of_day(s, day)
        ids = [r.id for r, _ in rooms if r.id is not None]
        papers = await papers_state(s, ids)
        counts: dict[tuple[int, str], int] = {}
        for r in await reports_in_force(s, ["violation", "incident"], ids):
            counts[(r.room_id or 0, r.kind)] = counts.get((r.room_id or 0, r.kind), 0) + 1
    tz = settings.tz
    out: list[dict[str, Any]] = []
    for room, sess in rooms:
        rid = room.id or 0
        absent = absent_payload(papers.absent.get(rid))
        handout, collect = papers_payload(papers.handout.get(rid)), papers_payload(papers.collect.get(rid))
        rank, words = papers.status(room)
        if collect is None:
            words = papers_missing_words(sess, handout is not None, now, tz, timeline)
        absent_state = None if absent else missing_state(sess, Expected.ABSENT, now, timeline)
        out.append(
            {
                "room_id": rid,
                "session": sess.code,
                "occupation": sess.occupation,
                "level": sess.level,
                "kind": KIND_LABELS.get(sess.kind, str(sess.kind)),
                "starts": _hhmm(sess.starts_at, tz),
                "ends": _hhmm(sess.ends_at, tz),
                "room": room_label(room),
                "location": room.location,
                "expected": room.expected,
                "present": absent.present if absent else None,
                "absent": absent.count if absent else None,
                # not_due / due / overdue while no 缺考 report is in (None once it is, or never asked for)
                "absent_state": absent_state.value if absent_state else None,
                "absent_words": None if absent else missing_words(sess, Expected.ABSENT, now, tz, timeline),
                "papers_out": handout.count if handout else None,
                "papers_in": collect.count if collect else None,
                "papers_state": words,
                "papers_problem": rank == 0,
                "violations": counts.get((rid, "violation"), 0),
                "incidents": counts.get((rid, "incident"), 0),
            }
        )
    return out


def _hhmm(at: datetime, tz: Any) -> str:
    return at.astimezone(tz).strftime("%H:%M")

"""Benchmark of the office board in headless Chromium (run as a script, not collected by pytest).

    .venv/bin/python tests/bench/board.py [--rooms 200] [--runs 5]

Prints the page's weight (board.html + board.css + board.js, what the browser loads before data) and
the first snapshot of the day (JSON, also sent over the event stream), then how long headless Debian
Chromium takes from navigation to every tile of a day of ``--rooms`` rooms on screen, against a same-run
baseline: a static page of the same rendered size (the board's own DOM, scripts removed) served by the
same server. The day: 10 sessions of ``rooms / 10`` rooms, 30 candidates each, half the rooms with a
缺考 report and every seventh with a violation; SQLite. Targets: page < 200 KB, board < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import structlog
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import SERVICES, create_app
from bot.board_links import sign
from bot.clock import ManualClock
from bot.settings import Settings
from bot.store.tables import ExamSession, Report, Room, SessionKind, Staff

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
SECRET = "bench-board"
START = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 Shanghai


async def seed(app: web.Application, rooms: int) -> int:
    """A day of ``rooms`` rooms in 10 sessions; returns the office member's id."""
    db = app[SERVICES].db
    async with db.session() as s:
        office = Staff(name="办公室", roles="office")
        s.add(office)
        await s.flush()
        per = max(1, rooms // 10)
        n = 0
        for i in range(10):
            starts = START + timedelta(minutes=40 * i)
            sess = ExamSession(code=f"第{i + 1}场", occupation="电工", level="四级", kind=SessionKind.THEORY,
                               day=starts.date(), starts_at=starts, ends_at=starts + timedelta(hours=2))  # fmt: skip
            s.add(sess)
            await s.flush()
            for j in range(per):
                n += 1
                room = Room(session_id=sess.id or 0, room_no=f"{n:03d}", location=f"教学楼{j % 9 + 1}层", expected=30)
                s.add(room)
                await s.flush()
                at = starts + timedelta(minutes=31)
                if n % 2:
                    absent = {"tickets": [], "count": 1, "expected": 30, "present": 29, "op": "add"}
                    s.add(Report(kind="absent", room_id=room.id, session_id=sess.id, staff_id=office.id,
                                 created_at=at, payload=absent))  # fmt: skip
                if n % 7 == 0:
                    s.add(Report(kind="violation", room_id=room.id, session_id=sess.id, staff_id=office.id,
                                 created_at=at, payload={"type": "夹带", "action": "警告"}))  # fmt: skip
        assert office.id is not None
        return office.id


async def main(rooms: int, runs: int) -> None:
    """Set up, measure, print."""
    from playwright.async_api import async_playwright  # bench-only: loads when the benchmark runs

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    tmp = Path(tempfile.mkdtemp(prefix="board-bench-"))
    settings = Settings(database_url=f"sqlite:///{tmp / 'b.db'}", board_token=SECRET)  # type: ignore[call-arg]
    clock = ManualClock(START + timedelta(hours=3))
    app = create_app(settings, clock=clock, console=False, components=[])
    static: dict[str, str] = {"html": ""}

    async def baseline(_request: web.Request) -> web.Response:
        return web.Response(text=static["html"], content_type="text/html", charset="utf-8")

    app.router.add_get("/bench/static", baseline)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        key = sign(SECRET, await seed(app, rooms), clock.now() + timedelta(hours=12))
        files = resources.files("bot.static")
        weight = sum(len(files.joinpath(f).read_bytes()) for f in ("board.html", "board.css", "board.js"))
        session = server.make_url("/board/api/rooms").with_query(k=key)
        async with __import__("aiohttp").ClientSession() as http, http.get(str(session)) as r:
            snapshot = len(await r.read())
        board_times: list[float] = []
        base_times: list[float] = []
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                for run in range(runs + 1):  # the first run warms up and is not counted
                    page = await browser.new_page(viewport={"width": 1366, "height": 768})
                    t0 = time.perf_counter()
                    await page.goto(str(server.make_url("/board").with_query(k=key)))
                    await page.wait_for_function(f"document.querySelectorAll('#tiles .tile').length >= {rooms}")
                    took = time.perf_counter() - t0
                    if run:
                        board_times.append(took)
                    if not static["html"]:
                        static["html"] = await page.evaluate(
                            "(() => { const d = document.documentElement.cloneNode(true);"
                            " d.querySelectorAll('script').forEach(s => s.remove()); return d.outerHTML; })()"
                        )
                    await page.close()
                    page = await browser.new_page(viewport={"width": 1366, "height": 768})
                    t0 = time.perf_counter()
                    await page.goto(str(server.make_url("/bench/static")))
                    await page.wait_for_function(f"document.querySelectorAll('#tiles .tile').length >= {rooms}")
                    took = time.perf_counter() - t0
                    if run:
                        base_times.append(took)
                    await page.close()
            finally:
                await browser.close()
    finally:
        await server.close()

    def row(name: str, times: list[float]) -> str:
        return f"| {name} | {statistics.median(times) * 1000:.0f} | {max(times) * 1000:.0f} |"

    print(f"board page (html + css + js): {weight / 1024:.1f} KB (target < 200 KB)")
    print(f"first snapshot of {rooms} rooms (JSON): {snapshot / 1024:.1f} KB")
    print(f"static baseline page (the board's rendered DOM, no scripts): {len(static['html'].encode()) / 1024:.1f} KB")
    print(f"\n{runs} runs, headless Chromium, 1366x768, from navigation to {rooms} tiles on screen:\n")
    print("| page | median ms | max ms |\n|---|---:|---:|")
    print(row(f"board, {rooms} rooms (page, stream, render)", board_times))
    print(row("static page of the same size (baseline)", base_times))
    verdict = "under" if statistics.median(board_times) < 1 else "OVER"
    ratio = statistics.median(board_times) / statistics.median(base_times)
    print(f"\nboard median {verdict} 1 s; {ratio:.1f}× the baseline")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    a: Any = parser.parse_args()
    asyncio.run(main(a.rooms, a.runs))

"""Benchmark: the full WeCom callback pipeline against a bare aiohttp handler, in the same run.

Run: ``.venv/bin/python tests/bench/callback.py [--requests N] [--db sqlite|postgresql://...]``

Each server runs in a process of its own (one core, like one service instance); this process is
the load generator. WeCom's part (sign and encrypt every message) is done before the clock starts,
as WeCom does it on its own machines. What is timed for each request: the POST, the service's
signature check, AES decrypt, XML parse, dedupe row, dispatch to a handler that writes a
``report`` row, encrypted passive reply, and the response. Every reply is decrypted and verified
afterwards (it must be the handler's answer to that very message). The bare server reads the same
body and answers a fixed text. A third server is the same pipeline with the storage taken out
(no dedupe row, the handler writes nothing): it shows how much of the gap to the bare server is
the database and how much the rest (HTTP app, crypto, XML, dispatch). Printed: throughput and
p50/p99 latency per concurrency (1, 50, 200) and the ratios to bare. Not collected by pytest
(tests/bench is in norecursedirs).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TOKEN = "benchtoken"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP = "wwbench00000001"
AGENT = 1000002
LEVELS = (1, 50, 200)
SENDERS = 300  # distinct staff sending (user0 .. user299)
NO_STORAGE = "pipeline, no storage"
# Message ids carry the run, so a run against a PostgreSQL database used before is not answered as a redelivery.
RUN = f"{time.time_ns() // 1000 % 10**10:010d}"


def free_port() -> int:
    """A TCP port free right now on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- servers (child processes) -----------------------------------------------------------------


def serve_bare(port: int, ready: Any) -> None:
    """A bare aiohttp app: read the body, answer a fixed text."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="success")

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post("/wecom/callback", handle)
    ready.set()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, handle_signals=True)


def serve_pipeline(port: int, db_url: str, ready: Any, storage: bool = True) -> None:
    """The real app (create_app) with WeCom on, and a handler that writes a report row.

    ``storage=False`` is the yardstick for everything but the database: the adapter's dedupe
    answers "first delivery" from memory and the handler numbers its reply without writing.
    """
    import logging

    import structlog
    from aiohttp import web

    from bot.app import create_app, freeze_after_startup
    from bot.clock import SystemClock
    from bot.dispatch import CommandTable, Context
    from bot.model import Reply
    from bot.settings import Settings
    from bot.store.tables import Report

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    table = CommandTable()
    counter = iter(range(1, 10**9))

    @table.fallback()
    async def report(ctx: Context) -> Reply:
        if not storage:
            return Reply(f"已记录，编号 {next(counter)}：{ctx.message.text}")
        async with ctx.services.db.session() as s:
            row = Report(
                kind="incident",
                payload={"text": ctx.message.text},
                channel=ctx.message.channel,
                message_id=ctx.message.message_id,
                created_at=ctx.now,
            )
            s.add(row)
            await s.flush()
            number = row.id
        return Reply(f"已记录，编号 {number}：{ctx.message.text}")

    settings = Settings(
        database_url=db_url,
        wecom_corp_id=CORP,
        wecom_agent_id=str(AGENT),
        wecom_secret="unused",
        wecom_token=TOKEN,
        wecom_aes_key=AES_KEY,
        wecom_api_base="http://127.0.0.1:9",
        log_level="WARNING",
    )
    import asyncio as _asyncio

    _asyncio.run(seed_senders(db_url))
    app = create_app(settings, clock=SystemClock(), tables=[table], components=[])
    freeze_after_startup(app)  # as `exambot serve` does
    if not storage:
        from bot.app import ADAPTERS

        ledger = app[ADAPTERS]["wecom"].ledger

        async def first(message_id: str, now: Any, payload: Any = None) -> bool:
            return True

        ledger.first = first  # type: ignore[method-assign]
        ledger.handled = lambda message_id, now: None  # type: ignore[method-assign]
    ready.set()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, handle_signals=True)


def serve_pipeline_without_storage(port: int, db_url: str, ready: Any) -> None:
    """The pipeline with the database taken out (see serve_pipeline)."""
    serve_pipeline(port, db_url, ready, storage=False)


async def seed_senders(db_url: str) -> None:
    """The senders are staff (user0..user299), as on a real exam day: strangers get no report written."""
    from sqlmodel import func, select

    from bot.store.engine import Database
    from bot.store.migrate import upgrade
    from bot.store.tables import Role, Staff

    db = Database(db_url)
    try:
        await upgrade(db)
        async with db.session() as s:
            if (await s.exec(select(func.count()).select_from(Staff))).one() == 0:
                s.add_all(
                    Staff(name=f"监考{i:03d}", roles=Role.INVIGILATOR.value, wecom_userid=f"user{i}")
                    for i in range(SENDERS)
                )
    finally:
        await db.dispose()


# -- load generator ----------------------------------------------------------------------------


@dataclass
class Result:
    """One run at one concurrency."""

    name: str
    concurrency: int
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds

    def pct(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000


def build_requests(n: int, run: str) -> list[tuple[str, bytes, str]]:
    """(query, body, expected text) for n distinct messages, signed and encrypted as WeCom does."""
    from tests.fakes.wecom import WeComPlatform

    platform_side = WeComPlatform(TOKEN, AES_KEY, CORP, AGENT)
    out = []
    for i in range(n):
        text = f"第{i % 40 + 1}考场 情况正常 {run}-{i}"
        msg_id = f"{RUN}{run}{i:08d}"
        query, body = platform_side.post(platform_side.message_xml(f"user{i % SENDERS}", text, msg_id))
        out.append((query, body, text))
    return out


async def load(name: str, port: int, reqs: list[tuple[str, bytes, str]], concurrency: int) -> tuple[Result, list[str]]:
    """POST every request with ``concurrency`` in flight; returns timings and the response bodies."""
    import aiohttp

    latencies: list[float] = []
    bodies: list[str] = [""] * len(reqs)
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(reqs)):
        queue.put_nowait(i)
    url = f"http://127.0.0.1:{port}/wecom/callback?"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                query, body, _ = reqs[i]
                t0 = time.perf_counter()
                async with session.post(url + query, data=body) as resp:
                    text = await resp.text()
                    ok = resp.status == 200
                latencies.append(time.perf_counter() - t0)
                bodies[i] = text
                if not ok:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Result(name, concurrency, len(reqs), elapsed, latencies, errors), bodies


def verify(reqs: list[tuple[str, bytes, str]], bodies: list[str]) -> int:
    """How many replies decrypt, verify and answer their own message."""
    from tests.fakes.wecom import WeComPlatform

    platform_side = WeComPlatform(TOKEN, AES_KEY, CORP, AGENT)
    good = 0
    for (_, _, text), body in zip(reqs, bodies, strict=True):
        try:
            content = platform_side.open_reply(body)["Content"]
        except Exception:
            continue
        if content.endswith(f"：{text}") and content.startswith("已记录，编号 "):
            good += 1
    return good


def start(target: Any, *args: Any) -> tuple[mp.Process, int]:
    """Start a server process and wait until it answers."""
    ctx = mp.get_context("spawn")
    port = free_port()
    ready = ctx.Event()
    proc = ctx.Process(target=target, args=(port, *args, ready), daemon=True)
    proc.start()
    ready.wait(30)
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{target.__name__} did not start")


async def warm(port: int, reqs: list[tuple[str, bytes, str]]) -> None:
    """A few requests so imports, pools and migrations are done before timing."""
    await load("warmup", port, reqs, 10)


async def breakdown(db_url: str, n: int = 500) -> list[tuple[str, float]]:
    """Mean in-process cost (ms) of each stage of one callback, on the same kind of database."""
    import logging
    from datetime import UTC, datetime
    from urllib.parse import parse_qsl

    import structlog
    from multidict import MultiDict

    from bot.adapters.inbound import claim
    from bot.app import ADAPTERS, SERVICES, create_app
    from bot.clock import SystemClock
    from bot.directory import find_staff_many
    from bot.model import Reply
    from bot.settings import Settings
    from bot.store.migrate import upgrade
    from bot.store.tables import Report

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    settings = Settings(
        database_url=db_url,
        wecom_corp_id=CORP,
        wecom_agent_id=str(AGENT),
        wecom_secret="unused",
        wecom_token=TOKEN,
        wecom_aes_key=AES_KEY,
        wecom_api_base="http://127.0.0.1:9",
    )
    app = create_app(settings, clock=SystemClock(), tables=[], components=[])
    adapter, db = app[ADAPTERS]["wecom"], app[SERVICES].db
    await upgrade(db)
    reqs = build_requests(n, "bd")
    queries = [MultiDict(parse_qsl(q)) for q, _, _ in reqs]
    out: list[tuple[str, float]] = []

    def timed(label: str, t0: float) -> None:
        out.append((label, (time.perf_counter() - t0) / n * 1000))

    t0 = time.perf_counter()
    for q, (_, body, _) in zip(queries, reqs, strict=True):
        adapter._open(q, body)
    timed("signature check + AES decrypt + XML parse (adapter)", t0)
    t0 = time.perf_counter()
    for _ in range(n):
        adapter._passive("user1", Reply("已记录，编号 1：第1考场 情况正常"))
    timed("encrypted passive reply (adapter)", t0)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    for i in range(n):
        await claim(db, "wecom", f"{RUN}bd{i}", now)
    timed("dedupe claim, one transaction (adapter)", t0)
    t0 = time.perf_counter()
    for _ in range(n):
        async with db.read() as s:
            await find_staff_many(s, "wecom", ["user1"])
    timed("sender lookup transaction (dispatcher, spine; once per sender, then cached 5 s)", t0)
    t0 = time.perf_counter()
    for i in range(n):
        async with db.session() as s:
            s.add(Report(kind="incident", payload={"i": i}, channel="wecom", message_id=f"{RUN}bd{i}", created_at=now))
            await s.flush()
    timed("report row transaction (benchmark handler)", t0)
    await db.dispose()
    return out


def main() -> None:
    """Run both servers at each concurrency and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per concurrency level")
    parser.add_argument("--db", default="sqlite", help="'sqlite' (temp file) or a postgresql:// URL")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="exambot-bench-")
    db_url = f"sqlite:///{tmp}/bench.db" if args.db == "sqlite" else args.db
    results: dict[tuple[str, int], Result] = {}
    verified: dict[tuple[str, int], int] = {}

    bare, bare_port = start(serve_bare)
    pipe, pipe_port = start(serve_pipeline, db_url)
    nost, nost_port = start(serve_pipeline_without_storage, db_url)
    servers = (("bare", bare_port), ("pipeline", pipe_port), (NO_STORAGE, nost_port))
    try:
        for name, port in servers:
            asyncio.run(warm(port, build_requests(50, f"w{name[:4]}")))
        for c in LEVELS:
            n = args.requests if c > 1 else max(args.requests // 5, 200)
            for name, port in servers:
                reqs = build_requests(n, f"{name[:4]}{c}")
                res, bodies = asyncio.run(load(name, port, reqs, c))
                results[(name, c)] = res
                if name != "bare":
                    verified[(name, c)] = verify(reqs, bodies)
    finally:
        for proc in (bare, pipe, nost):
            proc.terminate()
            proc.join(10)

    print(f"# WeCom callback benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    print()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, database {args.db}, "
        f"{args.requests} requests per level (concurrency 1: {max(args.requests // 5, 200)}); "
        "each server in its own process."
    )
    print()
    print("| concurrency | server | req/s | p50 ms | p99 ms | errors | replies verified |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for c in LEVELS:
        for name, _ in servers:
            r = results[(name, c)]
            ver = f"{verified[(name, c)]}/{r.requests}" if name != "bare" else "-"
            print(f"| {c} | {name} | {r.rps:.0f} | {r.pct(50):.1f} | {r.pct(99):.1f} | {r.errors} | {ver} |")
    print()
    print(
        "| concurrency | pipeline/bare | goal ≥ 0.35 | pipeline p99 ms | goal < 100 at 200 "
        f"| {NO_STORAGE}/bare | its p99 ms |"
    )
    print("|---:|---:|---|---:|---|---:|---:|")
    for c in LEVELS:
        bare_rps = results[("bare", c)].rps
        ratio = results[("pipeline", c)].rps / bare_rps
        p99 = results[("pipeline", c)].pct(99)
        p99_goal = ("met" if p99 < 100 else "missed") if c == 200 else "-"
        floor = results[(NO_STORAGE, c)]
        print(
            f"| {c} | {ratio:.2f} | {'met' if ratio >= 0.35 else 'missed'} | {p99:.1f} | {p99_goal} "
            f"| {floor.rps / bare_rps:.2f} | {floor.pct(99):.1f} |"
        )
    mean = statistics.mean(results[("pipeline", c)].pct(50) for c in LEVELS)
    print()
    print(f"(mean pipeline p50 over the three levels: {mean:.1f} ms)")
    bd_url = f"sqlite:///{tmp}/breakdown.db" if args.db == "sqlite" else args.db
    print()
    print("Where one callback's time goes (in-process, sequential, mean of 500):")
    print()
    print("| stage | ms |")
    print("|---|---:|")
    for label, ms in asyncio.run(breakdown(bd_url)):
        print(f"| {label} | {ms:.2f} |")


if __name__ == "__main__":
    main()

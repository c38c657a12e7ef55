"""Benchmark: a durable report that raises alerts, over the signed WeCom callback, with the alerts written in the
report's transaction (one transaction) against after it (two transactions), in the same run.

Run: ``.venv/bin/python tests/bench/alerts.py [--requests N] [--db sqlite|postgresql://...]``

Each server is the real app (``create_app``) with WeCom on, in a process of its own, on a database of its own. Its
one handler writes an incident report and alerts the office and supervisors (three people, as in the demo) through
``handlers._reports.alert``: either keyed and inside the report's transaction (what ``/突发`` does now), or after the
report committed, in a transaction of its own (what it did before). The alerts go to a fake WeCom API in this
process. A bare aiohttp handler on the same body is the same run's yardstick, and the floor: the whole service with
a command that stores nothing (what is left of a report's cost without the report, its alerts and their sending).
After each level the outbox is checked: every report has its three alert rows, none doubled.
Printed: req/s, p50/p99 latency and the server's CPU per request at concurrency 1 and 50. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import callback as cb

LEVELS = (1, 50)
ALERTED = ("督导甲", "办公室乙", "办公室丙")
FLOOR = "the same callback, nothing stored (floor)"
REAL = "/突发 (the real command)"
ONE = "alerts in the report's transaction"
TWO = "alerts after the report"
TAGS = {
    "bare": "bare",
    FLOOR: "floor",
    REAL: "real",
    ONE: "one",
    TWO: "two",
}  # message ids differ per server (a shared PostgreSQL)


def serve_alerting(port: int, db_url: str, api: str, together: bool, ready: Any) -> None:
    """The app with one handler: an incident report plus alerts to the office and supervisors."""
    import structlog

    from bot.dispatch import CommandTable, Context
    from bot.model import Reply
    from bot.store.tables import Report
    from handlers._reports import alert

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    table = CommandTable()

    @table.fallback()
    async def report(ctx: Context) -> Reply:
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
            text = f"【突发事件】{ctx.message.text}（编号 {row.id}）"
            if together:
                sent = await alert(ctx, text, key=f"report:{row.id}", s=s)
        if not together:  # committed after the report, in a transaction of its own
            sent = await alert(ctx, text, key=f"report:{row.id}")
        return Reply(f"已记录，编号 {row.id}：{ctx.message.text}（{sent} 人）")

    asyncio.run(seed(db_url))
    _serve(port, db_url, api, ready, [table])


def serve_incident(port: int, db_url: str, api: str, ready: Any) -> None:
    """The whole service (every command table) on the demo day: each request is 王芳's real ``/突发``."""

    asyncio.run(seed_demo_day(db_url))
    _serve(port, db_url, api, ready, None)


def serve_floor(port: int, db_url: str, api: str, ready: Any) -> None:
    """The whole service on the demo day, plus a command for 王芳 that answers at once and stores nothing.

    Everything else a /突发 goes through is there (signature, decryption, the dedupe claim and its mark, the
    sender lookup, the open-dialog check, routing, the permission, the encrypted reply): what is left of
    a report's cost when the report, its audit row, its alerts and their sending are taken away.
    """
    from bot.dispatch import CommandTable, Context
    from bot.model import Reply
    from handlers import command_tables
    from handlers._rooms import WATCHER

    floor = CommandTable()

    @floor.command("空报", "floor", summary="基准：不记录任何内容", usage="/空报 描述", permission=WATCHER)
    async def nothing(ctx: Context, args: str) -> Reply:
        return Reply(f"已记录第1考场突发事件（编号 0）：{args.removeprefix('1 ')}。已通知考务办公室和督导（3 人）")

    asyncio.run(seed_demo_day(db_url))
    _serve(port, db_url, api, ready, [*command_tables(), floor])


def _serve(port: int, db_url: str, api: str, ready: Any, tables: Any) -> None:
    """The app with WeCom on (alerts to the fake API ``api``) and ``tables`` (None: every command), served."""
    import structlog
    from aiohttp import web

    from bot.app import create_app, freeze_after_startup
    from bot.clock import SystemClock

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    app = create_app(bench_settings(db_url, api), clock=SystemClock(), tables=tables, components=[])
    freeze_after_startup(app)
    ready.set()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, handle_signals=True)


def bench_settings(db_url: str, api: str) -> Any:
    """WeCom on with the benchmark's credentials, alerts to ``api``."""
    from bot.settings import Settings

    return Settings(
        database_url=db_url,
        wecom_corp_id=cb.CORP,
        wecom_agent_id=str(cb.AGENT),
        wecom_secret="bench-secret",
        wecom_token=cb.TOKEN,
        wecom_aes_key=cb.AES_KEY,
        wecom_api_base=api,
        log_level="WARNING",
    )


async def seed_demo_day(db_url: str) -> None:
    """The demo day starting now (its first session is under way within minutes: 王芳 is on duty in 第1考场)."""
    from bot.clock import SystemClock
    from bot.demo import seed_demo
    from bot.store.engine import Database
    from bot.store.migrate import upgrade

    db = Database(db_url)
    try:
        await upgrade(db)
        await seed_demo(db, SystemClock().now(), bench_settings(db_url, "").tz)
    finally:
        await db.dispose()


def incident_requests(n: int, run: str, command: str = "突发") -> list[tuple[str, bytes, str]]:
    """(query, body, expected text) for n distinct ``/突发`` messages from 王芳, signed and encrypted as WeCom does."""
    from tests.fakes.wecom import WeComPlatform

    side = WeComPlatform(cb.TOKEN, cb.AES_KEY, cb.CORP, cb.AGENT)
    out = []
    for i in range(n):
        text = f"空调漏水 {run}-{i}"
        query, body = side.post(side.message_xml("wangfang", f"/{command} 1 {text}", f"{cb.RUN}{run}{i:08d}"))
        out.append((query, body, text))
    return out


def floor_requests(n: int, run: str) -> list[tuple[str, bytes, str]]:
    """The same messages for the floor server's command."""
    return incident_requests(n, run, "空报")


def serve_one(port: int, db_url: str, api: str, ready: Any) -> None:
    """Alerts written in the report's transaction."""
    serve_alerting(port, db_url, api, True, ready)


def serve_two(port: int, db_url: str, api: str, ready: Any) -> None:
    """Alerts written after the report committed."""
    serve_alerting(port, db_url, api, False, ready)


async def seed(db_url: str) -> None:
    """The senders (invigilators user0.., as in the callback benchmark) and the three people alerted."""
    from sqlmodel import select

    from bot.store.engine import Database
    from bot.store.tables import Role, Staff

    await cb.seed_senders(db_url)
    db = Database(db_url)
    try:
        async with db.session() as s:
            if (await s.exec(select(Staff).where(Staff.wecom_userid == "alerted0"))).first() is None:
                roles = (Role.SUPERVISOR, Role.OFFICE, Role.OFFICE)
                s.add_all(
                    Staff(name=n, roles=r.value, wecom_userid=f"alerted{i}")
                    for i, (n, r) in enumerate(zip(ALERTED, roles, strict=True))
                )
    finally:
        await db.dispose()


def _bench_reply(text: str, content: str) -> bool:
    return content.startswith("已记录，编号 ") and content.endswith(f"：{text}（{len(ALERTED)} 人）")


def _incident_reply(text: str, content: str) -> bool:
    return content.startswith("已记录第1考场突发事件") and f"：{text}。已通知考务办公室和督导（3 人）" in content


def verify(reqs: list[tuple[str, bytes, str]], bodies: list[str], expected: Any = _bench_reply) -> int:
    """Replies that decrypt and answer their own message with the three people told (``expected(text, reply)``)."""
    from tests.fakes.wecom import WeComPlatform

    side = WeComPlatform(cb.TOKEN, cb.AES_KEY, cb.CORP, cb.AGENT)
    good = 0
    for (_, _, text), body in zip(reqs, bodies, strict=True):
        try:
            content = side.open_reply(body)["Content"]
        except Exception:
            continue
        good += expected(text, content)
    return good


def verify_incidents(reqs: list[tuple[str, bytes, str]], bodies: list[str]) -> int:
    """Replies of the real /突发 that decrypt, answer their own message and say the three people were told."""
    return verify(reqs, bodies, _incident_reply)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def alert_rows(db_path: str) -> tuple[int, int]:
    """(incident reports, reports without exactly one alert row per person told) in a SQLite database."""
    con = sqlite3.connect(db_path)
    try:
        reports = con.execute("SELECT count(*) FROM report WHERE kind = 'incident'").fetchone()[0]
        per = con.execute(
            "SELECT r.id, (SELECT count(*) FROM outbox o WHERE o.text LIKE '%（编号 ' || r.id || '）') "
            "FROM report r WHERE r.kind = 'incident'"
        ).fetchall()
    finally:
        con.close()
    return reports, sum(1 for _id, n in per if n != len(ALERTED))


def main() -> None:
    """Run the servers and the bare yardstick at each concurrency; print the comparison."""
    from tests.fakes.wecom import FakeWeCom
    from tests.reliability.fake_thread import OnThread

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per level (concurrency 1: a fifth)")
    parser.add_argument("--db", default="sqlite", help="'sqlite' (temp files) or a postgresql:// URL")
    args = parser.parse_args()
    if args.db != "sqlite":  # the demo day of the real command needs an empty database of its own
        print(
            "PostgreSQL: the real /突发 and floor servers are left out (they seed the demo day into an empty database)"
        )
    names = (FLOOR, REAL, ONE, TWO) if args.db == "sqlite" else (ONE, TWO)
    tmp = tempfile.mkdtemp(prefix="exambot-alerts-")
    urls = {name: f"sqlite:///{tmp}/{i}.db" if args.db == "sqlite" else args.db for i, name in enumerate(names)}
    targets = {FLOOR: serve_floor, REAL: serve_incident, ONE: serve_one, TWO: serve_two}
    builders = {name: cb.build_requests for name in names}
    builders.update({REAL: incident_requests, FLOOR: floor_requests})
    builders["bare"] = cb.build_requests
    results: dict[tuple[str, int], cb.Result] = {}
    verified: dict[tuple[str, int], int] = {}
    cpu_ms: dict[tuple[str, int], float] = {}
    with OnThread(FakeWeCom(corp_id=cb.CORP, secret="bench-secret")) as wecom:
        procs = {"bare": cb.start(cb.serve_bare)}
        procs.update({name: cb.start(targets[name], urls[name], wecom.url) for name in names})
        servers = [(name, port) for name, (_, port) in procs.items()]
        try:
            for name, port in servers:
                asyncio.run(cb.warm(port, builders[name](50, f"w{TAGS[name]}")))
            time.sleep(1)
            for c in LEVELS:
                n = args.requests if c > 1 else max(args.requests // 5, 200)
                for name, port in servers:
                    pid = procs[name][0].pid
                    assert pid is not None
                    reqs = builders[name](n, f"{TAGS[name]}{c}")
                    before = cpu_seconds(pid)
                    res, bodies = asyncio.run(cb.load(name, port, reqs, c))
                    time.sleep(1)  # the deferred sends of the alerts finish (counted in the server's CPU)
                    cpu_ms[(name, c)] = (cpu_seconds(pid) - before) * 1000 / n
                    results[(name, c)] = res
                    if name in (REAL, FLOOR):
                        verified[(name, c)] = verify_incidents(reqs, bodies)
                    elif name != "bare":
                        verified[(name, c)] = verify(reqs, bodies)
            time.sleep(2)  # the deferred sends finish
        finally:
            for proc, _ in procs.values():
                proc.terminate()
                proc.join(10)

    print(f"# Alerting report benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    print()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, database {args.db}; each server its own process."
    )
    print("cpu ms/req: the server process's CPU time (user + system) per request, its deferred sends included:")
    print("unlike req/s it does not depend on what else the machine is doing.")
    print()
    print("| concurrency | server | req/s | /bare | p50 ms | p99 ms | cpu ms/req | errors | replies verified |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for c in LEVELS:
        bare_rps = results[("bare", c)].rps
        for name, _ in servers:
            r = results[(name, c)]
            ver = f"{verified[(name, c)]}/{r.requests}" if name != "bare" else "-"
            print(
                f"| {c} | {name} | {r.rps:.0f} | {r.rps / bare_rps:.2f} | {r.pct(50):.1f} | {r.pct(99):.1f} "
                f"| {cpu_ms[(name, c)]:.2f} | {r.errors} | {ver} |"
            )
    if args.db == "sqlite":
        print()
        for name in names[1:]:  # the floor stores nothing
            reports, wrong = alert_rows(urls[name].removeprefix("sqlite:///"))
            print(f"- {name}: {reports} reports, {wrong} without exactly {len(ALERTED)} alert rows")


if __name__ == "__main__":
    main()

"""Load benchmark (issue 7): 1,000 staff sending /突发 reports through signed, encrypted WeCom callbacks.

Run: ``.venv/bin/python tests/bench/load.py [--seconds 60] [--staff 1000] [--concurrency 50]``

Configurations, each for ``--seconds`` of load with a fixed number of requests in flight:

* ``bare``: a bare aiohttp handler (reads the body, answers a fixed text), the yardstick;
* ``sqlite-1``: one real ``exambot serve`` process on a fresh SQLite file;
* ``pg-1``: one instance on a fresh PostgreSQL database;
* ``pg-2``: two instances on one fresh PostgreSQL database, requests spread round-robin;
* ``pg-2-kill``: as ``pg-2``, and one instance gets SIGKILL halfway; from then on the generator sends to the
  survivor only, and retries every failed request there with the same MsgId (as WeCom retries).

The bot processes talk to a :class:`~tests.fakes.wecom.FakeWeCom` in a process of its own (token fetches and the
alerts to the office go there). Every message is signed and encrypted before the clock starts; every reply is
decrypted and checked afterwards. After each run the database is checked: every callback that got a 200 has exactly
one report row (matched by the unique text of its message), and none is stored twice. The table goes to stdout and
``tests/bench/RESULTS.md``. Not collected by pytest (tests/bench is in norecursedirs).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.callback import AES_KEY, AGENT, CORP, TOKEN, serve_bare, start  # noqa: E402
from tests.reliability.procs import Instance, base_env  # noqa: E402

SECRET = "load-secret-0001"
PG_ADMIN = os.environ.get("EXAMBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TZ = ZoneInfo("Asia/Shanghai")
SESSIONS = 5  # sessions running at once; rooms numbered 1..N in each, two staff per room
OFFICE = 2  # office staff who receive every incident alert (not senders)
TAG_RE = re.compile(r"LT-([a-z0-9-]+-\d{6})")
MAX_ATTEMPTS = 4  # the first delivery and up to three retries, as WeCom does
NOTES = "## Reading the numbers"  # RESULTS.md from this heading on is written by hand and kept on rewrite


# -- fake WeCom (child process) ----------------------------------------------------------------


def serve_fake(conn: Any) -> None:
    """Run FakeWeCom until told to stop; report its ledger through ``conn``."""
    from tests.fakes.wecom import FakeWeCom

    async def run() -> None:
        fake = FakeWeCom(corp_id=CORP, secret=SECRET)
        url = await fake.start()
        conn.send(url)
        loop = asyncio.get_running_loop()
        while True:
            ready = await loop.run_in_executor(None, conn.poll, 0.5)
            if ready:
                conn.recv()
                break
        conn.send({"deliveries": len(fake.deliveries), "gettoken": fake.gettoken_calls, "sends": fake.send_calls})
        await fake.close()

    asyncio.run(run())


# -- database ----------------------------------------------------------------------------------


async def create_pg() -> str:
    """A fresh PostgreSQL database; returns its URL."""
    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"exambot_load_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


async def drop_pg(url: str) -> None:
    """Drop a database made by :func:`create_pg`."""
    import asyncpg
    from sqlalchemy.engine import make_url

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await conn.close()


def staff_room(i: int, staff: int) -> int:
    """The room number of sender ``i`` (two senders per room, rooms numbered per session)."""
    per_session = max(2, staff // SESSIONS)
    return (i % per_session) // 2 + 1


async def seed(url: str, staff: int) -> None:
    """Migrate and fill: ``staff`` invigilators with WeCom ids, OFFICE office staff, sessions running now."""
    from bot.store.engine import Database
    from bot.store.migrate import upgrade
    from bot.store.tables import Assignment, Duty, ExamSession, Role, Room, SessionKind, Staff

    db = Database(url)
    try:
        await upgrade(db)
        now = datetime.now(UTC)
        per_session = max(2, staff // SESSIONS)
        async with db.session() as s:
            people = [
                Staff(name=f"负载{i:04d}", roles=Role.INVIGILATOR.value, wecom_userid=f"load{i:04d}")
                for i in range(staff)
            ]
            people += [
                Staff(name=f"办公室{j}", roles=Role.OFFICE.value, wecom_userid=f"loadoffice{j}") for j in range(OFFICE)
            ]
            s.add_all(people)
            await s.flush()
            sessions: list[ExamSession] = []
            for k in range((staff + per_session - 1) // per_session):
                sess = ExamSession(
                    code=f"负载第{k + 1}场",
                    occupation="电工",
                    level="四级/中级工",
                    kind=SessionKind.THEORY,
                    day=now.astimezone(TZ).date(),
                    starts_at=now - timedelta(minutes=30),
                    ends_at=now + timedelta(hours=3),
                )
                sessions.append(sess)
            s.add_all(sessions)
            await s.flush()
            rooms: dict[tuple[int, int], Room] = {}
            for i in range(staff):
                key = (i // per_session, staff_room(i, staff))
                if key not in rooms:
                    sess_id = sessions[key[0]].id
                    assert sess_id is not None
                    rooms[key] = Room(session_id=sess_id, room_no=f"第{key[1]}考场", location="实训楼", expected=30)
            s.add_all(list(rooms.values()))
            await s.flush()
            for i in range(staff):
                room_id = rooms[(i // per_session, staff_room(i, staff))].id
                staff_id = people[i].id
                assert room_id is not None and staff_id is not None
                s.add(Assignment(room_id=room_id, staff_id=staff_id, duty=Duty.CHIEF if i % 2 == 0 else Duty.DEPUTY))
    finally:
        await db.dispose()


async def stored_tags(url: str) -> Counter[str]:
    """How many incident report rows carry each load tag."""
    from sqlmodel import col, select

    from bot.store.engine import Database
    from bot.store.tables import Report

    db = Database(url)
    try:
        async with db.read() as s:
            rows = (await s.exec(select(Report.payload).where(col(Report.kind) == "incident"))).all()
    finally:
        await db.dispose()
    tags: Counter[str] = Counter()
    for payload in rows:
        m = TAG_RE.search(str(payload.get("text", "")))
        if m:
            tags[m.group(1)] += 1
    return tags


# -- load generator ----------------------------------------------------------------------------


@dataclass
class Msg:
    """One prepared callback: query string, body, the unique tag of its text."""

    query: str
    body: bytes
    tag: str


@dataclass(slots=True)
class Outcome:
    """What happened to one message (after retries)."""

    status: int = 0  # HTTP status of the last attempt; 0 = no response
    body: str = ""
    latency: float = 0.0  # first send to final response, retries included
    attempts: int = 0


@dataclass
class Run:
    """The result of one configuration."""

    name: str
    label: str
    seconds: float = 0.0
    cpu: float = 0.0  # generator CPU seconds during the timed window
    server_cpu: float = 0.0  # CPU seconds of the server processes during the window
    pg_cpu: float = 0.0  # CPU seconds of all PostgreSQL processes during the window
    busy: float = 0.0  # CPU seconds the whole machine was busy during the window
    outcomes: list[Outcome] = field(default_factory=list)
    msgs: list[Msg] = field(default_factory=list)
    good_replies: int = 0
    empty_replies: int = 0
    wrong_replies: int = 0
    lost: int | None = None
    lost_detail: str = ""
    doubled: int | None = None
    unacked_stored: int | None = None
    note: str = ""

    @property
    def ok(self) -> list[Outcome]:
        """Outcomes with a 200."""
        return [o for o in self.outcomes if o.status == 200]

    @property
    def rps(self) -> float:
        """Accepted (200) callbacks per second."""
        return len(self.ok) / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        """Latency percentile of the 200s, in ms."""
        xs = sorted(o.latency for o in self.ok)
        return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000 if xs else float("nan")

    @property
    def errors(self) -> int:
        """Messages whose last attempt got no 200."""
        return len(self.outcomes) - len(self.ok)

    @property
    def retries(self) -> int:
        """Attempts beyond the first."""
        return sum(max(0, o.attempts - 1) for o in self.outcomes)


def build(n: int, run: str, staff: int) -> list[Msg]:
    """``n`` distinct /突发 messages from the ``staff`` senders in turn, signed and encrypted as WeCom does."""
    from tests.fakes.wecom import WeComPlatform

    side = WeComPlatform(TOKEN, AES_KEY, CORP, AGENT)
    out = []
    for i in range(n):
        sender = i % staff
        tag = f"{run}-{i:06d}"
        text = f"/突发 {staff_room(sender, staff)} 考生身体不适 LT-{tag}"
        query, body = side.post(side.message_xml(f"load{sender:04d}", text, f"{run}{i:09d}".replace("-", "")))
        out.append(Msg(query, body, tag))
    return out


def machine_busy() -> float:
    """CPU seconds the machine has been busy since boot, all cores (from /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    """Every process named postgres (the server and its backends)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() == "postgres":
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def proc_cpu(pids: list[int]) -> float:
    """User + system CPU seconds of processes (0 for a process already gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


async def drive(
    run: Run,
    ports: list[int],
    seconds: float,
    concurrency: int,
    pids: list[int],
    retry_delay: float,
    kill: Instance | None = None,
    kill_port: int | None = None,
    cycle: bool = False,
) -> None:
    """Send ``run.msgs`` in order for ``seconds`` with ``concurrency`` in flight; retry failures like WeCom."""
    import aiohttp

    alive = list(ports)
    sessions = {
        p: aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency), timeout=aiohttp.ClientTimeout(total=10)
        )
        for p in ports
    }
    next_index = 0
    rr = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def attempt(msg: Msg) -> tuple[int, str]:
        nonlocal rr
        port = alive[rr % len(alive)]
        rr += 1
        try:
            async with sessions[port].post(f"http://127.0.0.1:{port}/wecom/callback?{msg.query}", data=msg.body) as r:
                return r.status, await r.text()
        except (aiohttp.ClientError, TimeoutError, OSError):
            return 0, ""

    async def worker() -> None:
        nonlocal next_index
        while time.perf_counter() < deadline and (cycle or next_index < len(run.msgs)):
            msg = run.msgs[next_index % len(run.msgs)]
            next_index += 1
            out = Outcome()
            run.outcomes.append(out)
            t0 = time.perf_counter()
            while True:
                out.attempts += 1
                out.status, out.body = await attempt(msg)
                if out.status == 200 or out.attempts >= MAX_ATTEMPTS:
                    break
                await asyncio.sleep(retry_delay)  # WeCom re-sends after its 5 s timeout
            out.latency = time.perf_counter() - t0

    async def killer() -> None:
        assert kill is not None and kill_port is not None
        await asyncio.sleep(seconds / 2)
        alive.remove(kill_port)  # from now on the generator sends to the survivor only
        assert kill.proc is not None
        kill.proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(kill.proc.wait, 10)

    run.outcomes = []
    pg = postgres_pids()
    cpu0, scpu0, pg0, busy0 = time.process_time(), proc_cpu(pids), proc_cpu(pg), machine_busy()
    tasks = [worker() for _ in range(concurrency)]
    if kill is not None:
        tasks.append(killer())
    await asyncio.gather(*tasks)
    run.seconds = time.perf_counter() - started
    run.cpu = time.process_time() - cpu0
    run.server_cpu = proc_cpu(pids) - scpu0
    run.pg_cpu = proc_cpu(sorted(set(pg) | set(postgres_pids()))) - pg0  # backends opened during the run too
    run.busy = machine_busy() - busy0
    if not cycle and next_index >= len(run.msgs) and run.seconds < seconds:
        run.note = "ran out of prepared messages before the time was up"
    if not cycle:
        run.msgs = run.msgs[:next_index]
    for s in sessions.values():
        await s.close()


def check_replies(run: Run) -> None:
    """Decrypt every 200's reply: it must be the incident acknowledgement of that very message."""
    from tests.fakes.wecom import WeComPlatform

    side = WeComPlatform(TOKEN, AES_KEY, CORP, AGENT)
    for msg, out in zip(run.msgs, run.outcomes, strict=True):
        if out.status != 200:
            continue
        if not out.body.strip():
            run.empty_replies += 1  # a duplicate, or a reply later than reply_wait (sent through the outbox)
            continue
        try:
            content = side.open_reply(out.body)["Content"]
        except Exception:
            run.wrong_replies += 1
            continue
        if content.startswith("已记录") and f"LT-{msg.tag}" in content:
            run.good_replies += 1
        else:
            run.wrong_replies += 1


async def check_db(run: Run, url: str) -> None:
    """Every 200 has exactly one report row; nothing stored twice."""
    tags = await stored_tags(url)
    acked = {m.tag: o for m, o in zip(run.msgs, run.outcomes, strict=True) if o.status == 200}
    lost = [o for t, o in acked.items() if tags.get(t, 0) == 0]
    run.lost = len(lost)
    if lost:
        late = sum(1 for o in lost if not o.body.strip() and o.attempts == 1)
        dup = sum(1 for o in lost if not o.body.strip() and o.attempts > 1)
        run.lost_detail = (
            f"{late} got an empty 200 on the first delivery (the reply was later than reply_wait, so the bot "
            f"acknowledged and kept working, then died), {dup} got an empty 200 on a retry (answered as a duplicate), "
            f"{len(lost) - late - dup} got a real reply"
        )
    run.doubled = sum(1 for t, n in tags.items() if n > 1)
    run.unacked_stored = sum(1 for t in tags if t.startswith(f"{run.name}-") and t not in acked)


# -- configurations ----------------------------------------------------------------------------


def bot_env(db_url: str, wecom_url: str) -> dict[str, str]:
    """Settings of one bot instance."""
    return base_env(
        EXAMBOT_DATABASE_URL=db_url,
        EXAMBOT_WECOM_CORP_ID=CORP,
        EXAMBOT_WECOM_AGENT_ID=str(AGENT),
        EXAMBOT_WECOM_SECRET=SECRET,
        EXAMBOT_WECOM_TOKEN=TOKEN,
        EXAMBOT_WECOM_AES_KEY=AES_KEY,
        EXAMBOT_WECOM_API_BASE=wecom_url,
        EXAMBOT_LOG_LEVEL="WARNING",
    )


async def warm(ports: list[int], msgs: list[Msg]) -> None:
    """A few requests per instance so imports, pools and caches are ready before timing."""
    import aiohttp

    async with aiohttp.ClientSession() as s:
        for i, msg in enumerate(msgs):
            port = ports[i % len(ports)]
            async with s.post(f"http://127.0.0.1:{port}/wecom/callback?{msg.query}", data=msg.body) as r:
                await r.read()


def run_bot(
    name: str, label: str, db_url: str, instances: int, kill: bool, args: argparse.Namespace, wecom_url: str, tmp: Path
) -> Run:
    """Start ``instances`` serve processes on ``db_url`` (seeded), load them, verify, stop them."""
    asyncio.run(seed(db_url, args.staff))
    procs = [Instance(f"{name}-{k}", bot_env(db_url, wecom_url), tmp) for k in range(instances)]
    run = Run(name, label)
    try:
        for p in procs:
            p.start()
        ports = [p.port for p in procs]
        asyncio.run(warm(ports, build(10 * instances, f"w{name}", args.staff)))
        run.msgs = build(int(args.pool_rate * args.seconds), name, args.staff)
        pids = [p.proc.pid for p in procs if p.proc is not None]
        victim = procs[-1] if kill else None
        asyncio.run(
            drive(
                run,
                ports,
                args.seconds,
                args.concurrency,
                pids,
                args.retry_delay,
                victim,
                victim.port if victim else None,
            )
        )
        time.sleep(args.settle)  # late dispatches (past reply_wait) finish their report rows
        check_replies(run)
        asyncio.run(check_db(run, db_url))
    finally:
        for p in procs:
            p.stop()
    return run


def run_bare(args: argparse.Namespace) -> Run:
    """The yardstick: a bare aiohttp handler in its own process, same payloads, same concurrency."""
    proc, port = start(serve_bare)
    run = Run("bare", "bare aiohttp handler (yardstick)")
    try:
        run.msgs = build(2000, "bare", args.staff)  # sent round and round: the bare server checks nothing
        asyncio.run(warm([port], run.msgs[:50]))
        asyncio.run(drive(run, [port], args.seconds, args.concurrency, [proc.pid] if proc.pid else [], 0.0, cycle=True))
    finally:
        proc.terminate()
        proc.join(10)
    return run


# -- report ------------------------------------------------------------------------------------


def machine() -> list[str]:
    """CPU, cores, Python, SQLite, PostgreSQL, date."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        pg = subprocess.run(
            ["psql", PG_ADMIN, "-Atc", "show server_version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pg = ""
    if not pg:
        import asyncpg

        async def version() -> str:
            conn = await asyncpg.connect(PG_ADMIN)
            try:
                return str(await conn.fetchval("show server_version"))
            finally:
                await conn.close()

        pg = asyncio.run(version())
    return [
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- CPU: {cpu}, {os.cpu_count()} cores",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, PostgreSQL {pg} (local, 127.0.0.1)",
        f"- Kernel: {platform.system()} {platform.release()}",
    ]


def table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """The results as Markdown."""
    cores = os.cpu_count() or 1
    lines = [
        "| configuration | accepted/s | p50 ms | p99 ms | 200s | errors | retries | replies ok / empty / wrong "
        "| lost | stored twice |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in runs:
        replies = "-" if r.name == "bare" else f"{r.good_replies} / {r.empty_replies} / {r.wrong_replies}"
        lost = "-" if r.lost is None else str(r.lost)
        doubled = "-" if r.doubled is None else str(r.doubled)
        lines.append(
            f"| {r.label} | {r.rps:.0f} | {r.pct(50):.1f} | {r.pct(99):.1f} | {len(r.ok)} | {r.errors} | {r.retries} "
            f"| {replies} | {lost} | {doubled} |"
        )
    lines += [
        "",
        f"CPU during each timed window, in cores (the machine has {cores}):",
        "",
        "| configuration | load generator | bot / bare server processes | PostgreSQL | rest of the machine "
        "| whole machine busy |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        gen, srv, pg, busy = (x / r.seconds for x in (r.cpu, r.server_cpu, r.pg_cpu, r.busy))
        rest = max(0.0, busy - gen - srv - pg)
        lines.append(
            f"| {r.label} | {gen:.2f} ({gen / cores:.0%} of the machine) | {srv:.2f} | {pg:.2f} | {rest:.2f} "
            f"| {busy:.2f} of {cores} |"
        )
    lines.append("")
    lines.append(
        f"{args.seconds:g} s per configuration, {args.concurrency} requests in flight, {args.staff} staff sending in "
        f"turn (`/突发 <room> 考生身体不适 LT-<unique tag>`), {SESSIONS} sessions running with 2 staff per room, "
        f"{OFFICE} office staff alerted for every incident (through the outbox to the fake WeCom). A callback without "
        "a 200 (connection reset, timeout after 10 s, 5xx) is re-sent with the same MsgId after "
        f"{args.retry_delay:g} s, at most {MAX_ATTEMPTS} deliveries in all, as WeCom does; its latency counts from "
        "the first delivery. "
        "Replies: ok = the decrypted passive reply acknowledges that very message; empty = a 200 without a body "
        "(the handler took longer than reply_wait, 3 s, so the reply goes out later through the outbox, or a "
        "duplicate); wrong = anything else. Lost = a callback that got a 200 but has no report row after the run; "
        "stored twice = a message with more than one report row. CPU: the load generator's own process_time, the "
        "server processes' and PostgreSQL's utime + stime from /proc, the whole machine from /proc/stat, each over "
        "wall time; the rest of the machine is the fake WeCom and whatever else ran at the time."
    )
    for r in runs:
        if r.note:
            lines.append(f"Note ({r.label}): {r.note}.")
        if r.lost_detail:
            lines.append(f"Lost ({r.label}): {r.lost_detail}.")
        if r.unacked_stored:
            lines.append(
                f"Note ({r.label}): {r.unacked_stored} report(s) stored whose callback never got a 200 "
                "(the instance died before answering; not a loss)."
            )
    return lines


def main() -> None:
    """Run every configuration, print the table and write RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="load per configuration (default 60)")
    parser.add_argument("--staff", type=int, default=1000, help="simulated staff (default 1000)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight (default 50)")
    parser.add_argument("--retry-delay", type=float, default=5.0, help="seconds before re-sending a failed callback")
    parser.add_argument("--pool-rate", type=float, default=200.0, help="messages prepared per second of load")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait before checking the database")
    parser.add_argument("--only", help="comma-separated subset: bare,sqlite-1,pg-1,pg-2,pg-2-kill")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write RESULTS.md")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None

    tmp = Path(tempfile.mkdtemp(prefix="exambot-load-"))
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    fake = ctx.Process(target=serve_fake, args=(child,), daemon=True)
    fake.start()
    wecom_url = parent.recv()
    runs: list[Run] = []
    configs: list[tuple[str, str, int, bool]] = [
        ("sqlite-1", "1 instance, SQLite", 1, False),
        ("pg-1", "1 instance, PostgreSQL", 1, False),
        ("pg-2", "2 instances, PostgreSQL", 2, False),
        ("pg-2-kill", "2 instances, PostgreSQL, one SIGKILLed halfway", 2, True),
    ]
    try:
        if only is None or "bare" in only:
            runs.append(run_bare(args))
            print(f"bare: {runs[-1].rps:.0f}/s", flush=True)
        for name, label, n, kill in configs:
            if only is not None and name not in only:
                continue
            if name.startswith("sqlite"):
                url = f"sqlite:///{tmp}/{name}.db"
                runs.append(run_bot(name, label, url, n, kill, args, wecom_url, tmp))
            else:
                url = asyncio.run(create_pg())
                try:
                    runs.append(run_bot(name, label, url, n, kill, args, wecom_url, tmp))
                finally:
                    asyncio.run(drop_pg(url))
            r = runs[-1]
            print(f"{name}: {r.rps:.0f}/s, errors {r.errors}, lost {r.lost}, doubled {r.doubled}", flush=True)
    finally:
        parent.send("stop")
        ledger = parent.recv() if parent.poll(10) else {}
        fake.join(10)
    lines = [f"# Load benchmark ({'default' if args.seconds == 60 else f'--seconds {args.seconds:g}'})", ""]
    lines += machine()
    lines += ["", *table(runs, args), ""]
    lines.append(
        f"Fake WeCom ledger over the whole run: {ledger.get('deliveries', '?')} messages delivered, "
        f"{ledger.get('gettoken', '?')} token fetches, {ledger.get('sends', '?')} send calls."
    )
    text = "\n".join(lines)
    print(text)
    print(f"\n(instance logs: {tmp})")
    if not args.no_write:
        out = ROOT / "tests/bench/RESULTS.md"
        old = out.read_text(encoding="utf-8") if out.exists() else ""
        notes = old[old.index(NOTES) :] if NOTES in old else ""  # hand-written reading of the numbers stays
        out.write_text(text + "\n" + ("\n" + notes if notes else ""), encoding="utf-8")


if __name__ == "__main__":
    main()

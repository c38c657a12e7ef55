"""A real `exambot serve` killed with SIGKILL mid-day and started again: no reminder lost, none doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sched_helpers import SHANGHAI, strip_late
from sqlmodel import select

from bot.delivery.merge import MERGE_SEPARATOR
from bot.delivery.rows import T
from bot.demo import seed_demo
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.tables import ConsoleMessage
from scheduler.conditions import ESCALATIONS, escalation_text

SPEED = 400.0  # app seconds per real second: the demo day (08:00-11:20) plays in about 30 s
ORIGIN = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)  # 08:00 Shanghai


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db_url: str, epoch: float, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMBOT_") or k == "EXAMBOT_TEST_PG"}
    env.update(
        EXAMBOT_DATABASE_URL=db_url,
        EXAMBOT_CONSOLE="1",
        EXAMBOT_HOST="127.0.0.1",
        EXAMBOT_PORT=str(_free_port()),
        EXAMBOT_CLOCK_SPEED=str(SPEED),
        EXAMBOT_CLOCK_ORIGIN=ORIGIN.isoformat(),
        EXAMBOT_CLOCK_EPOCH=repr(epoch),
        EXAMBOT_CONFIG=str(log.parent / "none.toml"),
    )
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main(['serve']))"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _app_now(epoch: float) -> datetime:
    return ORIGIN + timedelta(seconds=(time.time() - epoch) * SPEED)


async def test_sigkill_mid_day_then_restart_loses_none_and_doubles_none(tmp_path: Path) -> None:
    """Kill -9 at 09:10 app time, restart: every row ends terminal, each sent row appears once in its chat."""
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    db = Database(url)
    await upgrade(db)
    await seed_demo(db, ORIGIN, SHANGHAI)
    epoch = time.time()
    log = tmp_path / "serve.log"
    first = _serve(url, epoch, log)
    try:
        while _app_now(epoch) < ORIGIN + timedelta(minutes=70):  # 09:10: session 1 running, session 3 ahead
            assert first.poll() is None, log.read_text(errors="replace")
            await asyncio.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    async with db.sessions() as s:
        conn = await s.connection()
        in_flight = {r for (r,) in (await conn.execute(select(T.c.id).where(T.c.status == "sending"))).all()}
        sent_before = (await conn.execute(select(T.c.id).where(T.c.status == "sent"))).all()
    assert sent_before, log.read_text(errors="replace")
    second = _serve(url, epoch, log)
    try:
        end = ORIGIN + timedelta(hours=3, minutes=40)
        while _app_now(epoch) < end:
            assert second.poll() is None, log.read_text(errors="replace")
            await asyncio.sleep(0.1)
        for _ in range(100):  # let the last pass finish
            async with db.sessions() as s:
                conn = await s.connection()
                busy = (await conn.execute(select(T.c.id).where(T.c.status.in_(["pending", "sending"])))).all()
            if not busy:
                break
            await asyncio.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    async with db.sessions() as s:
        conn = await s.connection()
        rows = [dict(m) for m in (await conn.execute(select(T))).mappings().all()]
        shown = (await s.exec(select(ConsoleMessage).where(ConsoleMessage.direction == "out"))).all()
    await db.dispose()
    assert {r["status"] for r in rows} <= {"sent", "expired", "cancelled"}, Counter(r["status"] for r in rows)
    pieces: Counter[tuple[str, str]] = Counter()
    for m in shown:
        for piece in m.text.split(MERGE_SEPARATOR):
            pieces[(m.chat, strip_late(piece))] += 1
    for r in rows:
        if r["status"] != "sent":
            continue
        t = r["target"]
        chat = f"dm:{t['staff_id']}" if t["type"] == "staff" else t.get("chat_id") or f"dm:{t.get('user_id')}"
        if r["key"].startswith("digest:"):  # its text is written when sent
            n = sum(k for (c, text), k in pieces.items() if c == chat and "考务日报" in text)
        elif r["kind"] in ESCALATIONS:  # numbered when sent, for /已处理 N
            n = pieces[(chat, escalation_text(r["id"], r["text"]))]
        else:
            n = pieces[(chat, r["text"])]
        # At-least-once: only a row caught between the platform's acceptance and "sent" by the kill may show twice.
        assert n == 1 or (n == 2 and r["id"] in in_flight), (chat, r["text"], n)
    expired = [r for r in rows if r["status"] == "expired" and r["kind"] == "reminder"]
    if expired:
        notices = [m.text for m in shown if "错过了发送时间" in m.text]
        assert notices, "expired reminders were not reported to the office"

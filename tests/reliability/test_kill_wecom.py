"""kill -9 during a stream of reports over the WeCom callback: no acknowledged report or alert lost, none doubled."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.wecom import FakeWeCom, WeComPlatform
from tests.reliability.fake_thread import OnThread
from tests.reliability.procs import Instance, base_env

TOKEN = "reliability-token"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
AGENT_ID = 1000002
MESSAGES = 120
IN_FLIGHT = 8


async def _send(http: aiohttp.ClientSession, url: str, platform: WeComPlatform, i: int) -> tuple[int, str | None]:
    """POST report number ``i`` as WeCom would (same MsgId on every attempt); (status, reply text)."""
    xml = platform.message_xml("wangfang", f"/突发 1 压测事件{i:04d}", msg_id=str(7_000_000 + i))
    query, body = platform.post(xml)
    try:
        async with http.post(f"{url}/wecom/callback?{query}", data=body, timeout=aiohttp.ClientTimeout(10)) as r:
            text = await r.text()
            if r.status != 200:
                return r.status, None
            return 200, platform.open_reply(text).get("Content") if text else None
    except (TimeoutError, aiohttp.ClientError):
        return 0, None


def _stored(db_path: Path) -> dict[int, int]:
    """How many incident rows each message number has."""
    con = sqlite3.connect(db_path)
    try:
        rows = con.execute("SELECT payload FROM report WHERE kind = 'incident'").fetchall()
    finally:
        con.close()
    counts: dict[int, int] = {}
    for (payload,) in rows:
        marker = json.loads(payload)["text"].split("压测事件", 1)[1][:4]
        counts[int(marker)] = counts.get(int(marker), 0) + 1
    return counts


def _alerts(db_path: Path) -> dict[int, int]:
    """How many alert rows (one per person told) each message number's incident has in the outbox."""
    con = sqlite3.connect(db_path)
    try:
        rows = con.execute("SELECT text FROM outbox WHERE text LIKE '【突发事件】%'").fetchall()
    finally:
        con.close()
    counts: dict[int, int] = {}
    for (text,) in rows:
        marker = int(text.split("压测事件", 1)[1][:4])
        counts[marker] = counts.get(marker, 0) + 1
    return counts


ALERTED = 3  # the demo's supervisor 孙丽 and office 钱进, 马文


@pytest.mark.parametrize("seed", [1, 2])
def test_kill9_during_report_stream(tmp_path: Path, seed: int) -> None:
    """Every report answered 200 is stored exactly once after a SIGKILL and restart, with its alert to each of the
    office and supervisors written exactly once; redeliveries complete the rest."""
    rng = random.Random(seed)
    kill_after = rng.randint(20, MESSAGES - 30)
    db_path = tmp_path / "kill.db"
    fake = FakeWeCom(secret="rel-secret")
    with OnThread(fake) as wecom:
        env = base_env(
            EXAMBOT_DATABASE_URL=f"sqlite:///{db_path}",
            EXAMBOT_WECOM_CORP_ID=wecom.corp_id,
            EXAMBOT_WECOM_AGENT_ID=str(AGENT_ID),
            EXAMBOT_WECOM_SECRET=wecom.secret,
            EXAMBOT_WECOM_TOKEN=TOKEN,
            EXAMBOT_WECOM_AES_KEY=AES_KEY,
            EXAMBOT_WECOM_API_BASE=wecom.url,
        )
        seeded = subprocess.run(
            [sys.executable, "-m", "bot.cli", "demo", "--no-serve"], env=env, capture_output=True, text=True
        )
        assert seeded.returncode == 0, seeded.stderr
        inst = Instance("bot", env, tmp_path)
        inst.start()
        platform = WeComPlatform(TOKEN, AES_KEY, wecom.corp_id, AGENT_ID)
        try:
            statuses = asyncio.run(_stream(inst, platform, kill_after))
            acked = {i for i, (status, _reply) in statuses.items() if status == 200}
            assert len(acked) >= kill_after - IN_FLIGHT  # the stream really ran before the kill
            assert len(acked) < MESSAGES  # and the kill really cut it
            # After the restart nothing answered 200 is missing, and nothing is there twice.
            inst.start()
            stored = _stored(db_path)
            assert all(stored.get(i) == 1 for i in acked), {i: stored.get(i) for i in acked if stored.get(i) != 1}
            assert all(n == 1 for n in stored.values())
            alerts = _alerts(db_path)  # a stored report has all its alerts: they commit together
            assert all(alerts.get(i) == ALERTED for i in stored), {i: alerts.get(i) for i in stored}
            # WeCom redelivers what got no answer (same MsgId) once the lease of a dead claim has run out.
            time.sleep(5)
            retried = asyncio.run(_redeliver(inst, platform, sorted(set(range(MESSAGES)) - acked)))
            assert all(status == 200 for status, _ in retried.values()), retried
            final = _stored(db_path)
            assert sorted(final) == list(range(MESSAGES))
            assert set(final.values()) == {1}
            final_alerts = _alerts(db_path)
            assert sorted(final_alerts) == list(range(MESSAGES))
            assert set(final_alerts.values()) == {ALERTED}
            for _status, reply in retried.values():
                assert reply is None or f"（{ALERTED} 人）" in reply  # a redelivery's reply counts what was written
        finally:
            inst.stop()


async def _stream(inst: Instance, platform: WeComPlatform, kill_after: int) -> dict[int, tuple[int, str | None]]:
    results: dict[int, tuple[int, str | None]] = {}
    gate = asyncio.Semaphore(IN_FLIGHT)
    done = 0
    async with aiohttp.ClientSession() as http:

        async def one(i: int) -> None:
            nonlocal done
            async with gate:
                results[i] = await _send(http, inst.url, platform, i)
                done += 1
                if done == kill_after:
                    await asyncio.to_thread(inst.kill9)

        await asyncio.gather(*(one(i) for i in range(MESSAGES)))
    for status, reply in results.values():
        if status == 200 and reply is not None:
            assert "编号" in reply  # an acknowledged report tells its number
    return results


async def _redeliver(inst: Instance, platform: WeComPlatform, numbers: list[int]) -> dict[int, tuple[int, str | None]]:
    async with aiohttp.ClientSession() as http:
        return {i: await _send(http, inst.url, platform, i) for i in numbers}

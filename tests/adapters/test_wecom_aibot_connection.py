"""The AI bot's long connection under trouble: dropped connections, a refused secret, bad frames, the backoff.

A dropped connection reconnects after a jittered, capped backoff, and the outbox rows that fell due meanwhile are
sent once after the reconnect (none lost, none doubled); frames that cannot be read are dropped and the
connection stays. Storage is involved (the outbox, the ledger): SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from bot.adapters import _wecom_aibot_proto as proto
from bot.adapters._wecom_aibot_ws import Backoff
from bot.adapters.wecom_aibot import WeComAiBotAdapter
from bot.app import ADAPTERS, SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.model import GroupTarget, OutgoingMessage
from bot.settings import Settings
from bot.store.tables import OutboxMessage
from tests.fakes.wecom_aibot import BOT_ID, SECRET, FakeAiBot

GROUP = "grp-room1"


class Gate:
    """An injectable sleep that records each delay and returns only when the test opens the gate."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.open = asyncio.Event()
        self.open.set()
        self.called = asyncio.Event()

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self.called.set()
        await self.open.wait()


@pytest.fixture
async def fake() -> AsyncIterator[FakeAiBot]:
    """The fake long-connection server, listening."""
    async with FakeAiBot() as server:
        yield server


@pytest.fixture
def gate() -> Gate:
    """The reconnect sleep, held by the test."""
    return Gate()


@pytest.fixture
async def app_start(
    make_settings: Callable[..., Settings], fake: FakeAiBot, clock: ManualClock, gate: Gate, db_url: str
) -> AsyncIterator[Callable[..., Any]]:
    """Start the app with the AI bot on the fake (sleep held by ``gate``, jitter fixed at its middle)."""
    clients: list[TestClient[Any, Any]] = []

    async def make(secret: str = SECRET, *, wait: bool = True) -> TestClient[Any, Any]:
        settings = make_settings(
            database_url=db_url, wecom_bot_id=BOT_ID, wecom_bot_secret=secret, wecom_bot_ws_url=fake.url
        )
        app = create_app(settings, clock=clock, console=True, components=[])
        adapter: WeComAiBotAdapter = app[ADAPTERS]["wecom_aibot"]
        adapter.socket.backoff = Backoff(base=1.0, cap=30.0, rng=lambda: 0.5)
        adapter.socket.sleep = gate.sleep
        adapter.socket.heartbeat = 0.05
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        await seed_demo(app[SERVICES].db, clock.now(), settings.tz)
        if wait:
            await fake.wait_for(lambda: fake.connected)
        return client

    yield make
    gate.open.set()
    for c in clients:
        await c.close()


def _adapter(client: TestClient[Any, Any]) -> WeComAiBotAdapter:
    return client.server.app[ADAPTERS]["wecom_aibot"]  # type: ignore[no-any-return]


async def _answered(fake: FakeAiBot, text: str, **kw: Any) -> dict[str, Any]:
    rid = await fake.say("wangfang", text, **kw)
    await fake.wait_for(lambda: any(r.req_id == rid for r in fake.frames("aibot_respond_msg")))
    return next(r for r in fake.frames("aibot_respond_msg") if r.req_id == rid).body


def test_backoff_doubles_is_capped_and_jittered() -> None:
    """Delays double from the base up to the cap; the jitter keeps each between half and all of that."""
    low, high = Backoff(1.0, 30.0, rng=lambda: 0.0), Backoff(1.0, 30.0, rng=lambda: 0.999999)
    assert [low.delay(n) for n in (1, 2, 3, 4, 5, 6, 50)] == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert [round(high.delay(n), 3) for n in (1, 2, 6, 50)] == [1.0, 2.0, 30.0, 30.0]


async def test_dropped_connection_reconnects_and_what_fell_due_meanwhile_is_sent_once(
    app_start: Callable[..., Any], fake: FakeAiBot, gate: Gate, clock: ManualClock
) -> None:
    """The connection drops just before 08:03; the card and a group notice due meanwhile fail (retryable) and stay
    in the outbox; after the backoff the bot subscribes again and each goes out exactly once."""
    client = await app_start()
    services = client.server.app[SERVICES]
    await _answered(fake, "/帮助", chat=GROUP)  # the group has spoken: it can be pushed to
    gate.open.clear()
    await fake.drop()
    await asyncio.wait_for(gate.called.wait(), 5)
    assert gate.delays == [0.75]  # the first retry: base 1 s, jitter in the middle: half fixed + a quarter
    clock.advance(timedelta(minutes=3, seconds=5))
    await services.notifier.notify(
        [OutgoingMessage(GroupTarget("wecom_aibot", chat_id=f"wecom_aibot:{GROUP}"), "请各考场核对人数", key="n1")]
    )
    await services.notifier.settle()
    await services.notifier.outbox.drain()
    assert fake.sent_cards() == [] and fake.sent_texts(GROUP) == []
    async with services.db.session() as s:
        waiting = (await s.exec(select(OutboxMessage).where(OutboxMessage.status == "pending"))).all()
    assert any(r.kind == "card" for r in waiting) and any(r.key == "n1" for r in waiting)
    gate.open.set()
    await fake.wait_for(lambda: fake.subscribes == 2)
    await asyncio.wait_for(_adapter(client).socket.subscribed.wait(), 5)
    assert _adapter(client).socket.connects == 2
    for _ in range(4):  # past the outbox's retry backoff, a few rounds
        clock.advance(timedelta(seconds=61))
        await services.notifier.outbox.drain()
    cards = Counter((r.body["chatid"], r.body["template_card"]["task_id"].split("-")[1]) for r in fake.sent_cards())
    assert ("wangfang", "open_papers") in cards and set(cards.values()) == {1}
    assert all(r.connection == 2 for r in fake.frames("aibot_send_msg"))
    notices = fake.sent_texts(GROUP)  # once, marked late by the outbox (【补发，原定 08:03】)
    assert len(notices) == 1 and notices[0].endswith("请各考场核对人数") and "补发" in notices[0]
    async with services.db.session() as s:
        rows = (await s.exec(select(OutboxMessage).where(OutboxMessage.kind == "card"))).all()
    sent = [r for r in rows if r.status == "sent"]
    assert len(sent) == len(cards) and {r.platform_message_id for r in sent} == {
        r.body["template_card"]["task_id"] for r in fake.sent_cards()
    }


async def test_a_refused_secret_is_retried_after_the_longest_delay(
    app_start: Callable[..., Any], fake: FakeAiBot, gate: Gate
) -> None:
    """A wrong secret: WeCom refuses the subscription; the bot waits the cap (30 s) before trying again."""
    gate.open.clear()
    await app_start("wrong-secret", wait=False)
    await fake.wait_for(lambda: fake.refused == 1)
    await asyncio.wait_for(gate.called.wait(), 5)
    assert gate.delays[0] == 30.0 and fake.subscribes == 0


async def test_bad_frames_do_not_cost_the_connection(app_start: Callable[..., Any], fake: FakeAiBot) -> None:
    """Malformed JSON, a non-object, an unknown cmd, a callback without a sender and a frame past the limit are
    dropped; the same connection then answers a message."""
    client = await app_start()
    await fake.push_raw("{not json")
    await fake.push_raw("[1, 2, 3]")
    await fake.push_raw(json.dumps({"cmd": "aibot_something_new", "headers": {"req_id": "x"}, "body": {}}))
    await fake.push_raw(json.dumps({"cmd": "aibot_msg_callback", "headers": {"req_id": "y"}, "body": {"x": 1}}))
    await fake.push_raw(json.dumps({"cmd": 5, "headers": {"req_id": []}}))
    huge = {"msgid": "huge", "from": {"userid": "wangfang"}, "msgtype": "text", "text": {"content": "长" * 200_000}}
    await fake.push_raw(json.dumps({"cmd": "aibot_msg_callback", "headers": {"req_id": "z"}, "body": huge}))
    assert len(json.dumps(huge)) > proto.MAX_FRAME
    answer = await _answered(fake, "/帮助")
    assert answer["stream"]["finish"] is True
    assert fake.subscribes == 1 and _adapter(client).socket.connects == 1
    assert not {"x", "y", "z"} & {r.req_id for r in fake.frames("aibot_respond_msg")}


async def test_a_frame_past_the_transport_limit_costs_only_a_reconnect(
    app_start: Callable[..., Any], fake: FakeAiBot
) -> None:
    """A 5 MB frame: aiohttp closes that connection; the bot reconnects and answers on the new one."""
    client = await app_start()
    await fake.push_raw(
        json.dumps({"cmd": "aibot_msg_callback", "headers": {"req_id": "big"}, "body": {}}) + " " * 5_000_000
    )
    await fake.wait_for(lambda: fake.subscribes == 2)
    await asyncio.wait_for(_adapter(client).socket.subscribed.wait(), 5)
    answer = await _answered(fake, "/帮助")
    assert answer["stream"]["finish"] is True

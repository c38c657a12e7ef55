"""A message answered with an empty 200 whose handling then died is replayed, not lost."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.adapters.inbound import GIVE_UP_AFTER, STALE_AFTER, claim_many, take_stale
from bot.adapters.recovery import InboundRecovery
from bot.clock import ManualClock
from bot.settings import Settings
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.tables import InboundMessage
from tests.adapters.conftest import Probe, adapter_of, eventually, services_of
from tests.fakes.dingtalk import FakeDingTalk, callback_headers, robot_message
from tests.fakes.wecom import FakeWeCom, WeComPlatform

T0 = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


async def _crash(adapter: Any) -> None:
    """What a SIGKILL leaves behind: the running handlers stop where they are, nothing is marked handled."""
    await adapter.flow.tasks.drain(grace=0)


async def _unhandled(client: Any) -> list[InboundMessage]:
    from sqlmodel import col, select

    async with services_of(client).db.read() as s:
        return list((await s.exec(select(InboundMessage).where(col(InboundMessage.handled_at).is_(None)))).all())


def _recovery(client: Any) -> InboundRecovery:
    from bot.app import ADAPTERS

    services = services_of(client)
    return InboundRecovery(services.db, services.clock, client.server.app[ADAPTERS])


async def test_wecom_message_whose_handler_died_is_replayed(
    wecom_settings: Settings,
    app_client: Any,
    wecom_platform: WeComPlatform,
    probe: Probe,
    fake_wecom: FakeWeCom,
    clock: ManualClock,
) -> None:
    """Empty 200 (slow handler), then the handler dies: the recovery loop handles it again and the reply goes out."""
    client = await app_client(wecom_settings, reply_wait=0.01)
    query, body = wecom_platform.post(wecom_platform.message_xml("wangfang", "/慢", "7001"))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 200 and await resp.read() == b""
    await eventually(lambda: len(probe.seen) == 1)
    await _crash(adapter_of(client, "wecom"))
    assert [m.message_id for m in await _unhandled(client)] == ["7001"]

    recovery = _recovery(client)
    clock.advance(STALE_AFTER - timedelta(seconds=1))
    assert (await recovery.run_once()).replayed == 0  # may still be in hand on another instance
    clock.advance(timedelta(seconds=2))
    probe.gate.set()
    stats = await recovery.run_once()
    assert (stats.replayed, stats.failed) == (1, 0)
    assert probe.seen[-1].message_id == "7001" and probe.seen[-1].text == "/慢"
    await eventually(lambda: len(fake_wecom.deliveries) == 1)
    sent = fake_wecom.deliveries[0]
    assert (sent.api, sent.body["touser"], sent.body["text"]["content"]) == ("message/send", "wangfang", "久等了")
    await adapter_of(client, "wecom").ledger.close()
    assert await _unhandled(client) == []
    clock.advance(STALE_AFTER * 2)
    assert (await recovery.run_once()).replayed == 0  # handled now: never replayed again
    query, body = wecom_platform.post(wecom_platform.message_xml("wangfang", "/慢", "7001"))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 200 and await resp.read() == b""  # a late redelivery is a repeat
    assert len(probe.seen) == 2 and len(fake_wecom.deliveries) == 1


async def test_dingtalk_message_whose_handler_died_is_replayed(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, probe: Probe, fake_dingtalk: FakeDingTalk
) -> None:
    """The same for a DingTalk robot callback; the late reply goes out through the OpenAPI once the session expired."""
    client = await app_client(dingtalk_settings, reply_wait=0.01)
    now_ms = int(clock.now().timestamp() * 1000)
    message = robot_message("/慢", session_webhook=fake_dingtalk.session_webhook(), now_ms=now_ms)
    message["sessionWebhookExpiredTime"] = now_ms + 30_000  # expires before the replay
    headers = callback_headers(dingtalk_settings.dingtalk_app_secret.get_secret_value(), now_ms)
    resp = await client.post("/dingtalk/callback", data=json.dumps(message, ensure_ascii=False), headers=headers)
    assert await resp.json() == {"msgtype": "empty"}
    await eventually(lambda: len(probe.seen) == 1)
    await _crash(adapter_of(client, "dingtalk"))

    clock.advance(STALE_AFTER + timedelta(seconds=1))
    probe.gate.set()
    assert (await _recovery(client).run_once()).replayed == 1
    await eventually(lambda: len(fake_dingtalk.deliveries) == 1)
    d = fake_dingtalk.deliveries[0]
    assert d.api == "oToMessages/batchSend" and json.loads(d.body["msgParam"]) == {"content": "久等了"}


async def test_stream_message_claimed_before_ack_is_replayed(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, probe: Probe, fake_dingtalk: FakeDingTalk
) -> None:
    """A Stream message is claimed before it is ACKed; if its handling never runs, the recovery loop runs it."""
    client = await app_client(dingtalk_settings)
    adapter = adapter_of(client, "dingtalk")
    hook = fake_dingtalk.session_webhook()
    message = robot_message("几点开考", group=True, session_webhook=hook, now_ms=int(clock.now().timestamp() * 1000))
    message["sessionWebhookExpiredTime"] = int((clock.now() + timedelta(hours=1)).timestamp() * 1000)
    received = await adapter.accept_stream_data(message)
    assert received is not None and await adapter.accept_stream_data(message) is None  # a repeat
    # the process dies here: ACKed, never handled
    clock.advance(STALE_AFTER + timedelta(seconds=1))
    assert (await _recovery(client).run_once()).replayed == 1
    await eventually(lambda: len(fake_dingtalk.deliveries) == 1)
    assert fake_dingtalk.deliveries[0].api == "sendBySession"
    assert fake_dingtalk.deliveries[0].body["text"]["content"] == "@user001\n收到：几点开考"


async def test_take_stale_is_atomic_and_gives_up_on_old_claims(db_url: str) -> None:
    """Two sweepers at once get disjoint claims; claims older than GIVE_UP_AFTER are abandoned, not replayed."""
    db = Database(db_url)
    await upgrade(db)
    other = Database(db_url)
    try:
        fresh = [("wecom", f"m{i}", T0, {"key": f"m{i}", "fields": {}}) for i in range(40)]
        old = [("wecom", "ancient", T0 - GIVE_UP_AFTER, {"key": "ancient", "fields": {}})]
        no_payload = [("wecom", "hint-only", T0, None)]
        assert all(await claim_many(db, [*fresh, *old, *no_payload]))
        later = T0 + STALE_AFTER + timedelta(seconds=1)
        (a, gone_a), (b, gone_b) = await asyncio.gather(
            take_stale(db, later, limit=30), take_stale(other, later, limit=30)
        )
        ids_a, ids_b = {c.message_id for c in a}, {c.message_id for c in b}
        assert not ids_a & ids_b
        rest, _ = await take_stale(db, later, limit=100)
        assert ids_a | ids_b | {c.message_id for c in rest} == {f"m{i}" for i in range(40)}
        assert gone_a + gone_b == 1
        assert (await take_stale(db, later, limit=100))[0] == []  # taken claims wait STALE_AFTER again
    finally:
        await other.dispose()
        await db.dispose()


async def test_claims_without_payload_are_never_taken(db_url: str) -> None:
    """A claim kept without a message (a hint was answered at once) is stored as SQL NULL and never replayed."""
    from sqlalchemy import text

    db = Database(db_url)
    await upgrade(db)
    try:
        assert await claim_many(db, [("wecom", "hint-only", T0, None)]) == [True]
        async with db.read() as s:
            conn = await s.connection()
            nulls = (await conn.execute(text("SELECT count(*) FROM inbound_message WHERE payload IS NULL"))).scalar()
        assert nulls == 1
        claims, abandoned = await take_stale(db, T0 + STALE_AFTER * 3)
        assert (claims, abandoned) == ([], 0)
    finally:
        await db.dispose()

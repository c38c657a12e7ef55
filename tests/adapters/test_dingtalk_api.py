"""DingTalk clients against the fake: OpenAPI token, robot sending, 加签 webhooks, error mapping, Stream mode."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from bot.adapters._dingtalk_api import DingTalkClient, robot_body
from bot.adapters.dingtalk import DingTalkAdapter, DingTalkConfig
from bot.app import ADAPTERS
from bot.clock import ManualClock
from bot.errors import PlatformAuthError, PlatformError, RateLimited
from bot.model import GroupTarget, OutgoingMessage, PersonTarget, TextFormat
from bot.settings import Settings
from bot.store.engine import Database
from tests.adapters.conftest import Probe, eventually
from tests.fakes.dingtalk import FakeDingTalk, robot_message, stream_frame


@pytest.fixture
async def client(fake_dingtalk: FakeDingTalk, clock: ManualClock) -> AsyncIterator[DingTalkClient]:
    """A client for the fake with a short timeout, on the test clock."""
    c = DingTalkClient(
        fake_dingtalk.url,
        fake_dingtalk.url,
        fake_dingtalk.app_key,
        fake_dingtalk.app_secret,
        fake_dingtalk.robot_code,
        timeout=aiohttp.ClientTimeout(total=0.3),
        now_ms=lambda: int(clock.now().timestamp() * 1000),
    )
    await c.start()
    yield c
    await c.close()


async def test_token_cached_and_people_get_text(client: DingTalkClient, fake_dingtalk: FakeDingTalk) -> None:
    """Sends to people share one accessToken call and carry robotCode, userIds and a sampleText msgParam."""
    await client.send_to_users(["user001"], "请到第1考场")
    await client.send_to_users(["user001", "user002"], "请确认")
    assert fake_dingtalk.token_calls == 1
    first = fake_dingtalk.deliveries[0].body
    assert first["robotCode"] == "ding-robot-code" and first["userIds"] == ["user001"]
    assert first["msgKey"] == "sampleText"
    assert json.loads(first["msgParam"]) == {"content": "请到第1考场"}


async def test_markdown_to_group(client: DingTalkClient, fake_dingtalk: FakeDingTalk) -> None:
    """A markdown message to a group goes to groupMessages/send with sampleMarkdown."""
    await client.send_to_group("cidGroup123==", "## 提醒", markdown=True)
    d = fake_dingtalk.deliveries[0]
    assert d.api == "groupMessages/send" and d.body["openConversationId"] == "cidGroup123=="
    assert d.body["msgKey"] == "sampleMarkdown"
    assert json.loads(d.body["msgParam"])["text"] == "## 提醒"


async def test_expired_token_refreshed_once(client: DingTalkClient, fake_dingtalk: FakeDingTalk) -> None:
    """A 401 on a cached token leads to one new token and one retry that succeeds."""
    await client.send_to_users(["user001"], "一")
    fake_dingtalk.fail_next("token_expired")
    await client.send_to_users(["user001"], "二")
    assert fake_dingtalk.token_calls == 2
    assert len(fake_dingtalk.deliveries) == 2


async def test_token_refresh_is_bounded(client: DingTalkClient, fake_dingtalk: FakeDingTalk) -> None:
    """A platform refusing every token costs two token calls and two sends, then PlatformAuthError."""
    fake_dingtalk.always = "token_expired"
    with pytest.raises(PlatformAuthError):
        await client.send_to_users(["user001"], "x")
    assert fake_dingtalk.token_calls == 2
    assert fake_dingtalk.send_calls == 2


async def test_wrong_app_secret_is_auth_error(fake_dingtalk: FakeDingTalk) -> None:
    """accessToken refusing the credentials is a PlatformAuthError without the secret in it."""
    c = DingTalkClient(fake_dingtalk.url, fake_dingtalk.url, fake_dingtalk.app_key, "wrong-secret-xyz", "r")
    try:
        with pytest.raises(PlatformError) as info:
            await c.send_to_users(["u"], "x")
        assert "wrong-secret-xyz" not in str(info.value)
        assert not info.value.retryable
    finally:
        await c.close()


@pytest.mark.parametrize(("mode", "kind"), [("throttle", RateLimited), ("http500", PlatformError)])
async def test_openapi_failures_mapped(
    client: DingTalkClient, fake_dingtalk: FakeDingTalk, mode: str, kind: type[PlatformError]
) -> None:
    """HTTP 429 throttling is RateLimited; HTTP 500 a retryable PlatformError."""
    fake_dingtalk.fail_next(mode)
    with pytest.raises(kind) as info:
        await client.send_to_users(["user001"], "x")
    assert info.value.retryable


async def test_timeout_is_retryable(client: DingTalkClient, fake_dingtalk: FakeDingTalk) -> None:
    """No answer within the client timeout is a retryable network PlatformError."""
    await client.token()
    fake_dingtalk.hang_seconds = 2.0
    fake_dingtalk.fail_next("timeout")
    with pytest.raises(PlatformError) as info:
        await client.send_to_users(["user001"], "x")
    assert info.value.retryable and "network" in str(info.value)


async def test_signed_webhook_accepted_with_mentions(client: DingTalkClient, fake_dingtalk: FakeDingTalk) -> None:
    """A 加签 robot message passes the platform's sign check; userIds and mobiles are @-mentioned."""
    webhook = f"{fake_dingtalk.url}/robot/send?access_token=robot-token-1"
    await client.send_webhook(webhook, "SECrobotsecret1", "请上报缺考", mentions=["user001", "13800001111"])
    d = fake_dingtalk.deliveries[0]
    assert d.api == "robot/send"
    assert d.body["at"] == {"atUserIds": ["user001"], "atMobiles": ["13800001111"], "isAtAll": False}
    assert d.body["text"]["content"] == "@user001 @13800001111\n请上报缺考"
    assert fake_dingtalk.token_calls == 0


async def test_webhook_wrong_secret_refused(client: DingTalkClient, fake_dingtalk: FakeDingTalk) -> None:
    """A webhook signed with the wrong secret is refused by the platform (310000) as PlatformAuthError."""
    webhook = f"{fake_dingtalk.url}/robot/send?access_token=robot-token-1"
    with pytest.raises(PlatformAuthError) as info:
        await client.send_webhook(webhook, "SECwrong", "x")
    assert info.value.code == 310000
    with pytest.raises(PlatformAuthError):
        await client.send_webhook(webhook, None, "x")  # unsigned to a signing robot


async def test_webhook_rate_limit(client: DingTalkClient, fake_dingtalk: FakeDingTalk) -> None:
    """130101 (over 20 messages a minute) is RateLimited."""
    fake_dingtalk.fail_next("130101")
    with pytest.raises(RateLimited):
        await client.send_webhook(
            f"{fake_dingtalk.url}/robot/send?access_token=robot-token-1", "SECrobotsecret1", "x", markdown=True
        )


def test_robot_body_markdown() -> None:
    """Markdown robot bodies carry a title and the mentions inline."""
    body = robot_body("**注意**", markdown=True, mentions=["u1"])
    assert body == {
        "msgtype": "markdown",
        "markdown": {"title": "考务助手", "text": "@u1\n**注意**"},
        "at": {"atUserIds": ["u1"], "atMobiles": [], "isAtAll": False},
    }


async def test_adapter_send_routes_targets(fake_dingtalk: FakeDingTalk, clock: ManualClock, tmp_path: Any) -> None:
    """The adapter sends persons via batchSend, dingtalk:<cid> groups via groupMessages, robots via webhook."""
    db = Database(f"sqlite:///{tmp_path}/x.db")
    config = DingTalkConfig(
        fake_dingtalk.app_key, fake_dingtalk.app_secret, fake_dingtalk.robot_code, fake_dingtalk.url, fake_dingtalk.url
    )
    adapter = DingTalkAdapter(config, db, clock)
    await adapter.start()
    try:
        await adapter.send(OutgoingMessage(PersonTarget("dingtalk", "user001"), "一"))
        await adapter.send(
            OutgoingMessage(GroupTarget("dingtalk", chat_id="dingtalk:cidG"), "二", TextFormat.MARKDOWN, ("user002",))
        )
        hook = f"{fake_dingtalk.url}/robot/send?access_token=robot-token-1"
        await adapter.send(OutgoingMessage(GroupTarget("dingtalk", webhook=hook, secret="SECrobotsecret1"), "三"))
    finally:
        await adapter.close()
        await db.dispose()
    assert [d.api for d in fake_dingtalk.deliveries] == ["oToMessages/batchSend", "groupMessages/send", "robot/send"]
    assert json.loads(fake_dingtalk.deliveries[1].body["msgParam"])["text"] == "@user002\n二"
    assert fake_dingtalk.app_secret not in repr(config)


async def test_stream_mode_round_trip(
    make_settings: Callable[..., Settings],
    fake_dingtalk: FakeDingTalk,
    app_client: Any,
    probe: Probe,
    clock: ManualClock,
) -> None:
    """Stream mode: a CALLBACK frame is ACKed, handled once even if redelivered, answered by sessionWebhook."""
    settings = make_settings(
        dingtalk_app_key=fake_dingtalk.app_key,
        dingtalk_app_secret=fake_dingtalk.app_secret,
        dingtalk_robot_code=fake_dingtalk.robot_code,
        dingtalk_api_base=fake_dingtalk.url,
        dingtalk_oapi_base=fake_dingtalk.url,
        dingtalk_stream=True,
    )
    client = await app_client(settings)
    adapter = client.server.app[ADAPTERS]["dingtalk"]
    assert isinstance(adapter, DingTalkAdapter)
    resp = await client.post("/dingtalk/callback", data=b"{}")
    assert resp.status in (404, 405)  # no HTTP callback in Stream mode
    await eventually(lambda: len(fake_dingtalk.stream_opens) == 1)
    assert fake_dingtalk.stream_opens[0]["subscriptions"] == [
        {"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}
    ]
    now = int(clock.now().timestamp() * 1000)
    data = robot_message("你好", msg_id="msgSTREAM1", session_webhook=fake_dingtalk.session_webhook(), now_ms=now)
    frame = stream_frame(data)
    await fake_dingtalk.stream_frames.put(frame)
    await fake_dingtalk.stream_frames.put(stream_frame(data))  # redelivery of the same msgId
    await eventually(lambda: len(fake_dingtalk.stream_acks) == 2 and len(fake_dingtalk.deliveries) == 1)
    ack = fake_dingtalk.stream_acks[0]
    assert ack["code"] == 200 and ack["headers"]["messageId"] == frame["headers"]["messageId"]
    assert fake_dingtalk.deliveries[0].api == "sendBySession"
    assert fake_dingtalk.deliveries[0].body["text"]["content"] == "收到：你好"
    assert len(probe.seen) == 1


async def test_stream_reconnects_after_disconnect(
    make_settings: Callable[..., Settings],
    fake_dingtalk: FakeDingTalk,
    app_client: Any,
    probe: Probe,
    clock: ManualClock,
) -> None:
    """After the gateway's SYSTEM disconnect the stream reconnects and keeps receiving messages."""
    settings = make_settings(
        dingtalk_app_key=fake_dingtalk.app_key,
        dingtalk_app_secret=fake_dingtalk.app_secret,
        dingtalk_robot_code=fake_dingtalk.robot_code,
        dingtalk_api_base=fake_dingtalk.url,
        dingtalk_oapi_base=fake_dingtalk.url,
        dingtalk_stream=True,
    )
    client = await app_client(settings)
    client.server.app[ADAPTERS]["dingtalk"].stream_backoff = (0.01, 0.05)
    await eventually(lambda: len(fake_dingtalk.stream_opens) == 1)
    disconnect = {
        "specVersion": "1.0",
        "type": "SYSTEM",
        "headers": {"topic": "disconnect", "messageId": "sys1", "contentType": "application/json"},
        "data": json.dumps({"reason": "persistent connection is timeout"}),
    }
    await fake_dingtalk.stream_frames.put(disconnect)
    await eventually(lambda: len(fake_dingtalk.stream_opens) == 2)
    now = int(clock.now().timestamp() * 1000)
    data = robot_message("还在吗", session_webhook=fake_dingtalk.session_webhook(), now_ms=now)
    await fake_dingtalk.stream_frames.put(stream_frame(data))
    await eventually(lambda: len(fake_dingtalk.deliveries) == 1)
    assert fake_dingtalk.deliveries[0].body["text"]["content"] == "收到：还在吗"

"""WeCom API client against the fake: token caching and expiry, bounded retry, errcode mapping, sending."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.adapters._wecom_api import WeComClient
from bot.adapters.wecom import WeComAdapter, WeComConfig
from bot.clock import ManualClock
from bot.errors import PlatformAuthError, PlatformError, RateLimited
from bot.model import GroupTarget, OutgoingMessage, PersonTarget, TextFormat
from bot.store.engine import Database
from tests.adapters.conftest import WECOM_AES_KEY, WECOM_TOKEN
from tests.fakes.wecom import FakeWeCom


class Ticker:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticker() -> Ticker:
    """The client's monotonic clock."""
    return Ticker()


@pytest.fixture
async def client(fake_wecom: FakeWeCom, ticker: Ticker) -> AsyncIterator[WeComClient]:
    """A client for the fake, with a short timeout."""
    c = WeComClient(
        fake_wecom.url,
        fake_wecom.corp_id,
        fake_wecom.secret,
        1000002,
        timeout=aiohttp.ClientTimeout(total=0.3),
        monotonic=ticker,
    )
    await c.start()
    yield c
    await c.close()


async def test_token_is_cached(client: WeComClient, fake_wecom: FakeWeCom) -> None:
    """Several sends share one gettoken call."""
    for i in range(3):
        await client.send_to_users(["wangfang"], f"通知{i}")
    assert fake_wecom.gettoken_calls == 1
    assert [d.body["text"]["content"] for d in fake_wecom.deliveries] == ["通知0", "通知1", "通知2"]


async def test_token_refetched_when_it_expires(client: WeComClient, fake_wecom: FakeWeCom, ticker: Ticker) -> None:
    """Once expires_in (less a margin) has passed, the next call fetches a new token first."""
    await client.send_to_users(["wangfang"], "一")
    ticker.now += 6899
    await client.send_to_users(["wangfang"], "二")
    assert fake_wecom.gettoken_calls == 1
    ticker.now += 2
    await client.send_to_users(["wangfang"], "三")
    assert fake_wecom.gettoken_calls == 2
    assert len(fake_wecom.deliveries) == 3


async def test_token_expired_early_refetched_once(client: WeComClient, fake_wecom: FakeWeCom) -> None:
    """42001 (token revoked before its time) leads to one new token and one retry that succeeds."""
    await client.send_to_users(["wangfang"], "一")
    fake_wecom.expire_tokens()
    await client.send_to_users(["wangfang"], "二")
    assert fake_wecom.gettoken_calls == 2
    assert len(fake_wecom.deliveries) == 2


@pytest.mark.parametrize("mode", ["42001", "40014"])
async def test_token_errors_retry_is_bounded(client: WeComClient, fake_wecom: FakeWeCom, mode: str) -> None:
    """A platform answering token errors forever costs two gettoken and two sends, then a PlatformAuthError
    the outbox retries later (a fresh token refused is the platform's trouble, not a wrong secret)."""
    fake_wecom.always = mode
    with pytest.raises(PlatformAuthError) as info:
        await client.send_to_users(["wangfang"], "x")
    assert info.value.code == int(mode) and info.value.retryable
    assert fake_wecom.gettoken_calls == 2
    assert fake_wecom.send_calls == 2


async def test_rate_limit_is_rate_limited(client: WeComClient, fake_wecom: FakeWeCom) -> None:
    """45009 becomes RateLimited (the outbox retries it later)."""
    fake_wecom.fail_next("45009")
    with pytest.raises(RateLimited) as info:
        await client.send_to_users(["wangfang"], "x")
    assert info.value.code == 45009 and info.value.retryable


async def test_untrusted_ip_is_auth_error(client: WeComClient, fake_wecom: FakeWeCom) -> None:
    """60020 (server IP not in the app's trusted IPs) is a non-retryable PlatformAuthError."""
    fake_wecom.fail_next("60020")
    with pytest.raises(PlatformAuthError) as info:
        await client.send_to_users(["wangfang"], "x")
    assert not info.value.retryable


async def test_http_500_is_retryable_error(client: WeComClient, fake_wecom: FakeWeCom) -> None:
    """HTTP 500 is a retryable PlatformError."""
    fake_wecom.fail_next("http500")
    with pytest.raises(PlatformError) as info:
        await client.send_to_users(["wangfang"], "x")
    assert info.value.retryable and not isinstance(info.value, RateLimited)


async def test_timeout_is_retryable_error(client: WeComClient, fake_wecom: FakeWeCom) -> None:
    """A platform that does not answer within the client timeout gives a retryable PlatformError."""
    await client.token()
    fake_wecom.hang_seconds = 2.0
    fake_wecom.fail_next("timeout")
    with pytest.raises(PlatformError) as info:
        await client.send_to_users(["wangfang"], "x")
    assert info.value.retryable
    assert "network" in str(info.value)


async def test_wrong_secret_is_auth_error(fake_wecom: FakeWeCom) -> None:
    """gettoken refusing the secret (40001) is a PlatformAuthError, and the secret is not in the message."""
    c = WeComClient(fake_wecom.url, fake_wecom.corp_id, "wrong-secret-value", 1)
    try:
        with pytest.raises(PlatformAuthError) as info:
            await c.send_to_users(["a"], "x")
        assert "wrong-secret-value" not in str(info.value)
    finally:
        await c.close()


async def test_long_text_split_by_bytes(client: WeComClient, fake_wecom: FakeWeCom) -> None:
    """A text over 2048 UTF-8 bytes goes out in pieces, each within the limit, nothing lost."""
    text = "\n".join(f"第{i}行：考场情况正常，无缺考。" for i in range(200))
    await client.send_to_users(["wangfang"], text)
    pieces = [d.body["text"]["content"] for d in fake_wecom.deliveries]
    assert len(pieces) > 1
    assert all(len(p.encode()) <= 2048 for p in pieces)
    assert "\n".join(pieces) == text


async def test_appchat_markdown(client: WeComClient, fake_wecom: FakeWeCom) -> None:
    """Group chats of the app get markdown through appchat/send."""
    await client.send_to_chat("room1", "**注意**", markdown=True)
    d = fake_wecom.deliveries[0]
    assert d.api == "appchat/send"
    assert d.body == {"chatid": "room1", "safe": 0, "msgtype": "markdown", "markdown": {"content": "**注意**"}}


async def test_webhook_text_with_mentions(client: WeComClient, fake_wecom: FakeWeCom) -> None:
    """A group robot text message @-mentions staff by userid; the full webhook URL is accepted."""
    await client.send_webhook(
        f"{fake_wecom.url}/cgi-bin/webhook/send?key=robot-key-1", "请回复", mentions=["wangfang", "liqiang"]
    )
    d = fake_wecom.deliveries[0]
    assert d.api == "webhook/send" and d.key == "robot-key-1"
    assert d.body == {"msgtype": "text", "text": {"content": "请回复", "mentioned_list": ["wangfang", "liqiang"]}}
    assert fake_wecom.gettoken_calls == 0


async def test_webhook_markdown_mentions_inline(client: WeComClient, fake_wecom: FakeWeCom) -> None:
    """Markdown robot messages mention with <@userid> in the content; a bare key is accepted."""
    await client.send_webhook("robot-key-1", "# 提醒", markdown=True, mentions=["wangfang"])
    assert fake_wecom.deliveries[0].body == {"msgtype": "markdown", "markdown": {"content": "<@wangfang>\n# 提醒"}}


async def test_webhook_bad_key_is_auth_error(client: WeComClient) -> None:
    """An unknown robot key (93000) is a PlatformAuthError."""
    with pytest.raises(PlatformAuthError):
        await client.send_webhook("no-such-key", "x")


async def test_adapter_send_routes_targets(fake_wecom: FakeWeCom, settings_db: Database, clock: ManualClock) -> None:
    """The adapter sends persons by message/send, wecom:<id> groups by appchat/send, robots by webhook."""
    config = WeComConfig(fake_wecom.corp_id, 1000002, fake_wecom.secret, WECOM_TOKEN, WECOM_AES_KEY, fake_wecom.url)
    adapter = WeComAdapter(config, settings_db, clock)
    await adapter.start()
    try:
        msgid = await adapter.send(OutgoingMessage(PersonTarget("wecom", "wangfang"), "一"))
        await adapter.send(OutgoingMessage(GroupTarget("wecom", chat_id="wecom:room1"), "二", TextFormat.MARKDOWN))
        await adapter.send(OutgoingMessage(GroupTarget("wecom", webhook="robot-key-1"), "三", mentions=("zhaomin",)))
        with pytest.raises(PlatformError):
            await adapter.send(OutgoingMessage(GroupTarget("wecom"), "四"))
    finally:
        await adapter.close()
    assert msgid == "msg-1"
    assert [d.api for d in fake_wecom.deliveries] == ["message/send", "appchat/send", "webhook/send"]
    assert repr(config).count(fake_wecom.secret) == 0 and WECOM_AES_KEY not in repr(config)


@pytest.fixture
async def settings_db(tmp_path: object) -> AsyncIterator[Database]:
    """A database object (the adapter's send path does not touch it)."""
    db = Database(f"sqlite:///{tmp_path}/x.db")
    yield db
    await db.dispose()

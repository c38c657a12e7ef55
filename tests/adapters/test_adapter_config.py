"""Channel configuration (off / partly set / complete) and the callback dedupe table on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from bot.adapters.dingtalk import DingTalkAdapter
from bot.adapters.inbound import InboundLedger, claim, prune
from bot.adapters.registry import build_adapters
from bot.adapters.wecom import WeComAdapter
from bot.clock import ManualClock
from bot.settings import ConfigError, Settings
from bot.store.engine import Database
from bot.store.migrate import upgrade
from tests.adapters.conftest import WECOM_AES_KEY

WECOM = {
    "wecom_corp_id": "ww1",
    "wecom_agent_id": "1000002",
    "wecom_secret": "wecom-secret-value",
    "wecom_token": "t",
    "wecom_aes_key": WECOM_AES_KEY,
}
DINGTALK = {"dingtalk_app_key": "k", "dingtalk_app_secret": "s", "dingtalk_robot_code": "r"}


def _build(settings: Settings, clock: ManualClock) -> dict[str, object]:
    return dict(build_adapters(settings, Database(settings.database_url), clock, console=False))


def test_no_credentials_channels_off(make_settings: Callable[..., Settings], clock: ManualClock) -> None:
    """Without credentials both channels are off, each with one log line saying which variables are unset."""
    with capture_logs() as logs:
        adapters = _build(make_settings(), clock)
    assert adapters == {}
    off = [e for e in logs if e["event"] == "channel_off"]
    assert sorted(e["channel"] for e in off) == ["dingtalk", "wecom", "wecom_aibot"]
    assert "EXAMBOT_WECOM_CORP_ID" in next(e["reason"] for e in off if e["channel"] == "wecom")


def test_complete_credentials_enable_channels(make_settings: Callable[..., Settings], clock: ManualClock) -> None:
    """Complete credentials build the WeCom and DingTalk adapters."""
    adapters = _build(make_settings(**WECOM, **DINGTALK), clock)
    assert isinstance(adapters["wecom"], WeComAdapter)
    assert isinstance(adapters["dingtalk"], DingTalkAdapter)


@pytest.mark.parametrize("unset", sorted(WECOM))
def test_wecom_partly_set_refuses(make_settings: Callable[..., Settings], clock: ManualClock, unset: str) -> None:
    """A WeCom configuration missing one value refuses to start and names the missing variable."""
    values = {k: v for k, v in WECOM.items() if k != unset}
    with pytest.raises(ConfigError) as info:
        _build(make_settings(**values), clock)
    assert f"EXAMBOT_{unset.upper()}" in str(info.value)
    assert "wecom-secret-value" not in str(info.value)  # the message names variables, not values


@pytest.mark.parametrize("unset", sorted(DINGTALK))
def test_dingtalk_partly_set_refuses(make_settings: Callable[..., Settings], clock: ManualClock, unset: str) -> None:
    """A DingTalk configuration missing one value refuses to start and names the missing variable."""
    values = {k: v for k, v in DINGTALK.items() if k != unset}
    with pytest.raises(ConfigError, match=f"EXAMBOT_{unset.upper()}"):
        _build(make_settings(**values), clock)


@pytest.mark.parametrize(
    ("override", "variable"),
    [({"wecom_aes_key": "short"}, "EXAMBOT_WECOM_AES_KEY"), ({"wecom_agent_id": "abc"}, "EXAMBOT_WECOM_AGENT_ID")],
)
def test_wecom_bad_values_refused(
    make_settings: Callable[..., Settings], clock: ManualClock, override: dict[str, str], variable: str
) -> None:
    """A malformed EncodingAESKey or AgentId is refused at start with the variable named."""
    with pytest.raises(ConfigError, match=variable):
        _build(make_settings(**{**WECOM, **override}), clock)


async def test_dedupe_table_on_both_databases(db_url: str) -> None:
    """After migration, a message id is claimed once per channel; pruning forgets old claims (SQLite and PG)."""
    db = Database(db_url)
    try:
        await upgrade(db)
        t0 = datetime(2026, 12, 5, tzinfo=UTC)
        assert await claim(db, "wecom", "m1", t0)
        assert not await claim(db, "wecom", "m1", t0)
        assert await claim(db, "dingtalk", "m1", t0)
        long_id = "x" * 500
        assert await claim(db, "dingtalk", long_id, t0)
        assert not await claim(db, "dingtalk", long_id, t0)
        assert await prune(db, t0 + timedelta(seconds=1)) == 3
        assert await claim(db, "wecom", "m1", t0 + timedelta(days=3))
        ledger = InboundLedger(db, "wecom", retention=timedelta(days=2))
        assert not await ledger.first("m1", t0 + timedelta(days=3))
        assert await ledger.first("m2", t0 + timedelta(days=3))
    finally:
        await db.dispose()


async def test_claims_batched_under_load(settings: Settings) -> None:
    """Many concurrent claims (with repeats) each learn correctly whether they came first."""
    import asyncio

    from bot.adapters.inbound import claim_many

    db = Database(settings.database_url)
    try:
        await upgrade(db)
        t0 = datetime(2026, 12, 5, tzinfo=UTC)
        assert await claim_many(db, [("wecom", "a", t0), ("wecom", "a", t0), ("wecom", "b", t0)]) == [True, False, True]
        ledger = InboundLedger(db, "wecom")
        ids = [f"m{i % 30}" for i in range(90)]
        results = await asyncio.gather(*(ledger.first(i, t0) for i in ids))
        firsts = [i for i, first in zip(ids, results, strict=True) if first]
        assert sorted(firsts) == sorted({f"m{i}" for i in range(30)})
    finally:
        await db.dispose()

"""The AI bot's parts: frames read and refused, error codes, the registry switch, the heartbeat and take-over,
and the table of groups that have @-mentioned the bot (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from bot.adapters import _wecom_aibot_proto as proto
from bot.adapters import _wecom_aibot_store as store
from bot.adapters._wecom_aibot_ws import Backoff
from bot.adapters.registry import build_adapters
from bot.adapters.wecom import WeComAdapter
from bot.adapters.wecom_aibot import WeComAiBotAdapter
from bot.app import ADAPTERS, create_app
from bot.clock import ManualClock
from bot.directory import person_targets
from bot.errors import PlatformAuthError, PlatformError, RateLimited
from bot.model import OutgoingMessage, PersonTarget
from bot.settings import ConfigError, Settings
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.tables import Staff
from scheduler.planner import group_target_of
from tests.adapters.conftest import WECOM_AES_KEY
from tests.fakes.wecom_aibot import BOT_ID, SECRET, FakeAiBot

WECOM = {
    "wecom_corp_id": "ww1",
    "wecom_agent_id": "1000002",
    "wecom_secret": "s",
    "wecom_token": "t",
    "wecom_aes_key": WECOM_AES_KEY,
}


def _ack(**raw: Any) -> proto.Frame:
    return proto.parse(json.dumps({"headers": {"req_id": "r"}, **raw}))


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("{", "JSONDecodeError"),
        ("[]", "not an object"),
        ('{"cmd": 1}', "not a string"),
        ('{"headers": {"req_id": 7}}', "not a string"),
        ("x" * (proto.MAX_FRAME + 1), "frame of"),
        ("[" * 100_000 + "]" * 100_000, "RecursionError"),  # deep nesting within the size limit
    ],
)
def test_frames_that_cannot_be_read_are_refused_by_kind(data: str, why: str) -> None:
    """Each unreadable frame is a BadFrame naming what was wrong, never another exception."""
    with pytest.raises(proto.BadFrame, match=why):
        proto.parse(data)


def test_error_codes_become_the_platform_errors() -> None:
    """0 is accepted; rate codes retry later, credential codes are auth errors, other codes are final."""
    assert proto.error_of(_ack(errcode=0), "x") is None
    assert isinstance(proto.error_of(_ack(errcode=45009), "x"), RateLimited)
    auth = proto.error_of(_ack(errcode=40058, errmsg="invalid secret"), "x")
    assert isinstance(auth, PlatformAuthError) and not auth.retryable
    final = proto.error_of(_ack(errcode=93006), "x")
    assert isinstance(final, PlatformError) and not final.retryable and final.code == 93006
    system = proto.error_of(_ack(errcode=-1), "x")
    assert isinstance(system, PlatformError) and system.retryable
    assert proto.error_of(_ack(errcode=True), "x") is not None  # a boolean is no errcode


def test_group_text_loses_the_mention_of_the_bot() -> None:
    """In a group the text starts with “@机器人”; the command behind it is what is dispatched."""
    group = {"chattype": "group", "text": {"content": "@考务助手 /提醒状态"}}
    single = {"chattype": "single", "text": {"content": "@不是提及 收到"}}
    assert proto.text_of(group) == "/提醒状态"
    assert proto.text_of(single) == "@不是提及 收到"
    assert proto.text_of({"chattype": "group", "text": {"content": 5}}) == ""


def test_registry_builds_the_ai_bot_only_with_both_credentials(
    make_settings: Callable[..., Settings], clock: ManualClock, tmp_path: Any
) -> None:
    """Off by default; a Bot ID without its Secret refuses to start; both build it, beside the self-built app."""
    db = Database(f"sqlite:///{tmp_path / 'r.db'}")
    assert "wecom_aibot" not in build_adapters(make_settings(), db, clock, console=False)
    with pytest.raises(ConfigError, match="EXAMBOT_WECOM_BOT_SECRET"):
        build_adapters(make_settings(wecom_bot_id="b"), db, clock, console=False)
    both = build_adapters(
        make_settings(wecom_bot_id="b", wecom_bot_secret="Top-Secret-9", **WECOM), db, clock, console=False
    )
    assert isinstance(both["wecom_aibot"], WeComAiBotAdapter) and isinstance(both["wecom"], WeComAdapter)
    assert both["wecom_aibot"].socket.url == proto.DEFAULT_URL
    bot = both["wecom_aibot"]
    assert isinstance(bot, WeComAiBotAdapter)
    assert "Top-Secret-9" not in repr(bot.config) + repr(bot.socket)


def test_people_are_reached_by_the_app_first_then_the_ai_bot() -> None:
    """The same WeCom userid on both channels: the self-built app when it is on, else the AI bot."""
    staff = Staff(id=3, name="王芳", wecom_userid="wangfang")
    assert person_targets(staff, ("wecom", "wecom_aibot", "console"))[0] == PersonTarget("wecom", "wangfang")
    assert person_targets(staff, ("console", "wecom_aibot"))[0] == PersonTarget("wecom_aibot", "wangfang")


@pytest.fixture
async def fake() -> AsyncIterator[FakeAiBot]:
    """The fake long-connection server, listening."""
    async with FakeAiBot() as server:
        yield server


@pytest.fixture
async def adapter(make_settings: Callable[..., Settings], fake: FakeAiBot) -> AsyncIterator[WeComAiBotAdapter]:
    """The app with only the AI bot (fast heartbeat and backoff), subscribed to the fake."""
    settings = make_settings(wecom_bot_id=BOT_ID, wecom_bot_secret=SECRET, wecom_bot_ws_url=fake.url)
    app = create_app(settings, clock=ManualClock(datetime(2026, 12, 5, tzinfo=UTC)), console=False, components=[])
    bot: WeComAiBotAdapter = app[ADAPTERS]["wecom_aibot"]
    bot.socket.heartbeat = 0.02
    bot.socket.backoff = Backoff(base=0.01, cap=0.02)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    await asyncio.wait_for(bot.socket.subscribed.wait(), 5)
    yield bot
    await client.close()


async def test_unanswered_pings_count_the_connection_dead(adapter: WeComAiBotAdapter, fake: FakeAiBot) -> None:
    """The server stops answering: after two unanswered pings the bot closes the connection and subscribes anew."""
    fake.answer = False
    await fake.wait_for(lambda: fake.subscribes == 2)
    fake.answer = True
    assert fake.pings >= 2


async def test_a_take_over_closes_this_connection_and_reconnects(adapter: WeComAiBotAdapter, fake: FakeAiBot) -> None:
    """WeCom's disconnected_event (another connection of the bot subscribed): this one closes, then reconnects."""
    await fake.push(proto.EVENT_CALLBACK, {"event": {"eventtype": proto.DISCONNECTED_EVENT}, "from": {}})
    await fake.wait_for(lambda: fake.subscribes == 2)
    await asyncio.wait_for(adapter.socket.subscribed.wait(), 5)
    assert adapter.socket.connects == 2


async def test_pushing_while_disconnected_fails_retryably(adapter: WeComAiBotAdapter, fake: FakeAiBot) -> None:
    """No subscribed connection: a push fails, retryable, so the outbox keeps the row for after the reconnect."""
    adapter.socket.sleep = _never
    await fake.drop()
    with pytest.raises(PlatformError) as lost:
        await adapter.send(OutgoingMessage(PersonTarget("wecom_aibot", "wangfang"), "你好"))
    assert lost.value.retryable
    assert fake.frames("aibot_send_msg") == []


async def _never(delay: float) -> None:
    await asyncio.Event().wait()


def test_a_rooms_group_names_the_channel_that_reaches_it() -> None:
    """A room whose 群聊 is ``wecom_aibot:<chatid>`` is reached through the AI bot, ``wecom:<chatid>`` by the app."""
    assert group_target_of("wecom_aibot:grp-1", None, None)["channel"] == "wecom_aibot"
    assert group_target_of("wecom:wrk-1", None, None)["channel"] == "wecom"


@pytest.fixture
async def migrated(db_url: str) -> AsyncIterator[Database]:
    """A database after every migration, on SQLite and PostgreSQL."""
    database = Database(db_url)
    await upgrade(database)
    yield database
    await database.dispose()


async def test_chat_table_matches_its_migration_and_records_a_group_once(migrated: Database) -> None:
    """After the migrations the wecom_aibot_chat table is what the model declares; a group is recorded once, its
    first sender kept, and only recorded groups count as known."""

    def diff(conn: object) -> list[object]:
        ctx = MigrationContext.configure(conn)  # type: ignore[arg-type]
        return [d for d in compare_metadata(ctx, SQLModel.metadata) if "wecom_aibot_chat" in repr(d)]

    async with migrated.engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    t0 = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)
    assert await store.record_chat(migrated, "grp-1", "wangfang", t0) is True
    assert await store.record_chat(migrated, "grp-1", "liqiang", t0.replace(hour=1)) is False
    assert [(c, who) for c, _, who in await store.known_chats(migrated)] == [("grp-1", "wangfang")]
    assert await store.chat_known(migrated, "grp-1") and not await store.chat_known(migrated, "grp-2")

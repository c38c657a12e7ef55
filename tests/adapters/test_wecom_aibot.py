"""The WeCom AI bot over its long connection, end to end against the fake server (SQLite and PostgreSQL).

The whole app (every handler) runs with the AI bot pointed at :class:`~tests.fakes.wecom_aibot.FakeAiBot` and the
console on, on the demo day: subscribe and heartbeat, a group message answered on its req_id, a critical reminder
card pushed through the outbox and tapped through the fake, the tapper's card updated and /提醒状态 showing ✓.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from bot.adapters import _wecom_aibot_store as store
from bot.adapters._wecom_aibot_ws import Backoff
from bot.adapters.wecom_aibot import WeComAiBotAdapter
from bot.app import ADAPTERS, SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.errors import PlatformError
from bot.model import GroupTarget, OutgoingMessage
from bot.settings import Settings
from bot.store.tables import ReminderAck
from tests.conftest import Chat
from tests.fakes.wecom_aibot import BOT_ID, SECRET, FakeAiBot

GROUP = "grp-room1"


@pytest.fixture
async def fake() -> AsyncIterator[FakeAiBot]:
    """The fake long-connection server, listening."""
    async with FakeAiBot() as server:
        yield server


@pytest.fixture
def aibot_settings(make_settings: Callable[..., Settings], fake: FakeAiBot, db_url: str) -> Settings:
    """Settings with the AI bot on (pointing at the fake), on SQLite and on PostgreSQL."""
    return make_settings(database_url=db_url, wecom_bot_id=BOT_ID, wecom_bot_secret=SECRET, wecom_bot_ws_url=fake.url)


@pytest.fixture
async def client(aibot_settings: Settings, clock: ManualClock, fake: FakeAiBot) -> AsyncIterator[TestClient[Any, Any]]:
    """The app with every handler, the AI bot (fast heartbeat and backoff) and the console; subscribed."""
    app = create_app(aibot_settings, clock=clock, console=True, components=[])
    adapter: WeComAiBotAdapter = app[ADAPTERS]["wecom_aibot"]
    adapter.socket.heartbeat = 0.05
    adapter.socket.backoff = Backoff(base=0.01, cap=0.05)
    c: TestClient[Any, Any] = TestClient(TestServer(app))
    await c.start_server()
    await seed_demo(app[SERVICES].db, clock.now(), aibot_settings.tz)
    await fake.wait_for(lambda: fake.connected)
    yield c
    await c.close()


def _adapter(client: TestClient[Any, Any]) -> WeComAiBotAdapter:
    return client.server.app[ADAPTERS]["wecom_aibot"]  # type: ignore[no-any-return]


def _services(client: TestClient[Any, Any]) -> Any:
    return client.server.app[SERVICES]


async def _settle(client: TestClient[Any, Any], fake: FakeAiBot) -> None:
    """Let every callback pushed so far be handled: a private /帮助 after them is answered, then all is done."""
    rid = await fake.say("zhaomin", "/帮助")
    await fake.wait_for(lambda: any(r.req_id == rid for r in fake.frames("aibot_respond_msg")))
    await _adapter(client).socket.settle()
    await _adapter(client).flow.tasks.wait()
    await _services(client).notifier.settle()
    await _services(client).notifier.outbox.drain()


async def _card(client: TestClient[Any, Any], clock: ManualClock, fake: FakeAiBot) -> dict[str, Any]:
    """Advance to 08:03 (启封试卷, a critical step), send what is due; the card 王芳 got privately."""
    clock.advance(timedelta(minutes=3, seconds=5))
    await _services(client).notifier.outbox.drain()
    cards = [r.body for r in fake.sent_cards()
             if r.body["chatid"] == "wangfang" and "-open_papers-" in r.body["template_card"]["task_id"]]  # fmt: skip
    assert len(cards) == 1
    return cards[0]


async def _acks(client: TestClient[Any, Any]) -> list[ReminderAck]:
    async with _services(client).db.session() as s:
        return list((await s.exec(select(ReminderAck).where(ReminderAck.step == "open_papers"))).all())


async def _status_line(client: TestClient[Any, Any], room: str) -> str:
    status = await Chat(client.server.app).say("钱进", "/提醒状态") or ""
    return next(x for x in status.splitlines() if x.strip().startswith(room))


async def test_subscribes_with_its_secret_and_keeps_the_heartbeat(
    client: TestClient[Any, Any], fake: FakeAiBot
) -> None:
    """The first frame is aibot_subscribe (bot id + secret); pings follow and are answered on one connection."""
    await fake.wait_for(lambda: fake.pings >= 3)
    assert fake.subscribes == 1 and fake.refused == 0
    assert _adapter(client).socket.connects == 1


async def test_group_message_is_answered_on_its_req_id_and_the_group_recorded(
    client: TestClient[Any, Any], fake: FakeAiBot
) -> None:
    """王芳 @-mentions the bot in a group with /我: a finished stream answers it on its req_id (she is known by her
    WeCom userid), the group's chat id is recorded, and from then on (only) the group can be pushed to."""
    adapter = _adapter(client)
    push = OutgoingMessage(GroupTarget("wecom_aibot", chat_id=f"wecom_aibot:{GROUP}"), "考场群通知")
    with pytest.raises(PlatformError) as refused:
        await adapter.send(push)
    assert not refused.value.retryable and "还没有 @ 过机器人" in str(refused.value)
    rid = await fake.say("wangfang", "/我", chat=GROUP)
    await fake.wait_for(lambda: any(r.req_id == rid for r in fake.frames("aibot_respond_msg")))
    answer = next(r for r in fake.frames("aibot_respond_msg") if r.req_id == rid).body
    assert answer["msgtype"] == "stream" and answer["stream"]["finish"] is True
    assert "王芳" in answer["stream"]["content"]
    chats = await store.known_chats(_services(client).db)
    assert [(c, who) for c, _, who in chats] == [(GROUP, "wangfang")]
    await adapter.send(push)
    assert fake.sent_texts(GROUP) == ["考场群通知"]


async def test_tap_acknowledges_once_updates_the_card_and_shows_in_status(
    client: TestClient[Any, Any], clock: ManualClock, fake: FakeAiBot
) -> None:
    """The chief's tap on the pushed card: recorded once (a second tap and a redelivered event count once), her
    card updated on the event's req_id to “已收到 08:03”, the answer private, /提醒状态 shows ✓."""
    card = await _card(client, clock, fake)
    tc = card["template_card"]
    assert tc["card_type"] == "button_interaction" and [b["key"] for b in tc["button_list"]] == ["ack", "issue"]
    rid = await fake.tap("wangfang", tc["task_id"], "ack")
    await fake.wait_for(lambda: bool(fake.frames("aibot_respond_update_msg")))
    update = fake.frames("aibot_respond_update_msg")[0]
    assert update.req_id == rid and update.body["userids"] == ["wangfang"]
    assert update.body["template_card"]["task_id"] == tc["task_id"]
    assert update.body["template_card"]["main_title"] == tc["main_title"]
    assert [b["text"] for b in update.body["template_card"]["button_list"]] == ["已收到 08:03"]
    await fake.tap("wangfang", tc["task_id"], "ack")  # a second tap
    await fake.push("aibot_event_callback", _tap_event(tc["task_id"], "wangfang", "ack"))  # delivered again
    await _settle(client, fake)
    assert len(fake.frames("aibot_respond_update_msg")) == 1
    assert fake.sent_texts("wangfang").count("已记录确认（08:03）：第1考场「启封试卷」。") == 1
    acks = await _acks(client)
    assert len(acks) == 1 and acks[0].channel == "wecom_aibot"
    assert "✓启封试卷（王芳 08:03）" in await _status_line(client, "第1考场")


def _tap_event(task_id: str, user: str, key: str) -> dict[str, Any]:
    """The body of a tap as WeCom delivers it (what the fake's ``tap`` sends), with a msgid of its own."""
    return {
        "msgid": "redelivered",
        "chattype": "single",
        "from": {"userid": user},
        "msgtype": "event",
        "event": {
            "eventtype": "template_card_event",
            "template_card_event": {"card_type": "button_interaction", "event_key": key, "task_id": task_id},
        },
    }


async def test_wrong_person_tap_changes_nothing_and_is_refused_privately(
    client: TestClient[Any, Any], clock: ManualClock, fake: FakeAiBot
) -> None:
    """李强 (副监考) taps the chief's card: nothing recorded, no card update, a private “只有主监考…”."""
    card = await _card(client, clock, fake)
    await fake.tap("liqiang", card["template_card"]["task_id"], "ack", chat=GROUP)
    await _settle(client, fake)
    assert fake.frames("aibot_respond_update_msg") == []
    assert await _acks(client) == []
    refusals = fake.sent_texts("liqiang")
    assert len(refusals) == 1 and refusals[0].startswith("只有主监考（王芳）可以确认第1考场「启封试卷」")
    assert fake.sent_texts(GROUP) == []
    assert "✗启封试卷" in await _status_line(client, "第1考场")


async def test_refused_card_goes_as_text_asking_for_shou_dao(
    client: TestClient[Any, Any], clock: ManualClock, fake: FakeAiBot
) -> None:
    """WeCom refuses the template card (errcode 40008): the chief gets the reminder as text, 回复“收到”."""
    fake.refuse_cards = True
    clock.advance(timedelta(minutes=3, seconds=5))
    await _services(client).notifier.outbox.drain()
    opening = [t for t in fake.sent_texts("wangfang") if "启封试卷" in t]
    assert len(opening) == 1 and "收到" in opening[0] and "card:" not in opening[0]


async def test_slow_answer_still_updates_the_card_and_answers_privately(
    client: TestClient[Any, Any], clock: ManualClock, fake: FakeAiBot
) -> None:
    """The acknowledgement takes longer than the reply wait: the card is still updated on the event's req_id and the
    answer still reaches the tapper privately, once."""
    card = await _card(client, clock, fake)
    _adapter(client).flow.wait = 0.0
    rid = await fake.tap("wangfang", card["template_card"]["task_id"], "ack")
    await fake.wait_for(lambda: bool(fake.frames("aibot_respond_update_msg")))
    assert fake.frames("aibot_respond_update_msg")[0].req_id == rid
    await _settle(client, fake)
    assert fake.sent_texts("wangfang").count("已记录确认（08:03）：第1考场「启封试卷」。") == 1
    assert len(await _acks(client)) == 1


async def test_a_claimed_message_whose_handling_died_is_replayed_through_the_outbox(
    client: TestClient[Any, Any], fake: FakeAiBot
) -> None:
    """The recovery loop hands back a group message claimed but never handled: it is handled, and the answer goes
    to the group by aibot_send_msg (the old req_id is gone with its connection)."""
    await _settle(client, fake)
    body = {
        "msgid": "lost-1",
        "chatid": GROUP,
        "chattype": "group",
        "from": {"userid": "wangfang"},
        "msgtype": "text",
        "text": {"content": "@考务助手 /我"},
    }
    fake.spoken.add(GROUP)
    await store.record_chat(_services(client).db, GROUP, "wangfang", _services(client).clock.now())
    await _adapter(client).replay({"key": "lost-1", "req_id": "aibot_msg_callback_old", "body": body})
    await _services(client).notifier.settle()
    await _services(client).notifier.outbox.drain()
    answers = fake.sent_texts(GROUP)
    assert len(answers) == 1 and "王芳" in answers[0]
    assert not [r for r in fake.frames("aibot_respond_msg") if r.req_id == "aibot_msg_callback_old"]


async def test_opening_the_private_chat_is_greeted_with_the_help_once(
    client: TestClient[Any, Any], fake: FakeAiBot
) -> None:
    """enter_chat: a welcome (the help text) on the event's req_id; the same event again is not greeted twice."""
    body = {"msgid": "enter-1", "chattype": "single", "from": {"userid": "wangfang"}, "msgtype": "event"}
    body["event"] = {"eventtype": "enter_chat"}
    rid = await fake.push("aibot_event_callback", body)
    await fake.wait_for(lambda: bool(fake.frames("aibot_respond_welcome_msg")))
    await fake.push("aibot_event_callback", body)
    await _settle(client, fake)
    welcomes = fake.frames("aibot_respond_welcome_msg")
    assert [w.req_id for w in welcomes] == [rid]
    assert welcomes[0].body["msgtype"] == "text" and "/帮助" in welcomes[0].body["text"]["content"]

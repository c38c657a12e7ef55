"""DingTalk interactive cards for a critical reminder: sent with our outTrackId, tapped, acknowledged once, updated.

A demo exam day runs on the console channel and on the real DingTalk adapter pointed at the fake DingTalk; the
taps are the wire JSON the Stream pushes on ``/v1.0/card/instances/callback`` (handed to the adapter's callback
handler, and once through the fake Stream gateway's websocket), and /提醒状态 is asked on the console.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.adapters._dingtalk_cards import AckCard, _wire, out_track_id, parse_card_callback
from bot.adapters.dingtalk import DingTalkAdapter
from bot.app import ADAPTERS
from bot.clock import ManualClock
from bot.errors import PlatformError
from bot.model import GroupTarget, PersonTarget
from bot.settings import Settings
from bot.store.tables import ReminderAck, Room, Staff
from tests.adapters.conftest import eventually
from tests.conftest import Chat, demo_app
from tests.fakes.dingtalk import FakeDingTalk, card_callback, card_frame

TEMPLATE = "tpl-ack.schema"
GROUP = GroupTarget("dingtalk", chat_id="dingtalk:cidGroup123==")
CHIEF = PersonTarget("dingtalk", "wangfang")


def _settings(make_settings: Callable[..., Settings], fake: FakeDingTalk, **more: Any) -> Settings:
    values: dict[str, Any] = {
        "dingtalk_app_key": fake.app_key,
        "dingtalk_app_secret": fake.app_secret,
        "dingtalk_robot_code": fake.robot_code,
        "dingtalk_api_base": fake.url,
        "dingtalk_oapi_base": fake.url,
        "dingtalk_card_template_id": TEMPLATE,
    }
    return make_settings(**{**values, **more})


async def _day(chat: Chat, clock: ManualClock) -> int:
    """王芳 (chief of 第1考场) and 李强 (its second invigilator) on DingTalk; 08:03, 启封 is due. The room's id."""
    async with chat.services.db.session() as s:
        for name, uid in (("王芳", "wangfang"), ("李强", "liqiang")):
            staff = (await s.exec(select(Staff).where(Staff.name == name))).one()
            staff.dingtalk_userid = uid
            s.add(staff)
        room_id = (await s.exec(select(Room.id).where(Room.room_no == "第1考场"))).one()
    clock.advance(timedelta(minutes=3, seconds=5))
    await chat.services.notifier.outbox.drain()
    assert room_id is not None
    return room_id


def _card(room_id: int) -> AckCard:
    return AckCard(
        room_id,
        "open_papers",
        "第1考场 启封试卷",
        "请两名监考当众启封试卷袋",
        "【关键提醒】第1考场 启封试卷。请主监考回复“收到”。",
    )


@pytest.fixture
async def day(
    make_settings: Callable[..., Settings], fake_dingtalk: FakeDingTalk, clock: ManualClock
) -> AsyncIterator[tuple[Chat, DingTalkAdapter, int]]:
    """The demo day with DingTalk cards on, at 08:03."""
    async with demo_app(_settings(make_settings, fake_dingtalk), clock) as chat:
        adapter = chat.app[ADAPTERS]["dingtalk"]
        assert isinstance(adapter, DingTalkAdapter)
        yield chat, adapter, await _day(chat, clock)


async def _status(chat: Chat) -> str:
    status = await chat.say("钱进", "/提醒状态") or ""
    return next(x for x in status.splitlines() if x.strip().startswith("第1考场"))


async def _acks(chat: Chat, room_id: int) -> list[ReminderAck]:
    async with chat.services.db.session() as s:
        return list((await s.exec(select(ReminderAck).where(ReminderAck.room_id == room_id))).all())


async def test_chief_taps_the_card_acknowledged_once_and_every_card_updated(
    day: tuple[Chat, DingTalkAdapter, int], fake_dingtalk: FakeDingTalk
) -> None:
    """Cards to the chief and the room group (STREAM callbacks, our outTrackIds); the deputy's tap is refused
    privately and changes nothing; the chief's tap records the acknowledgement once, answers 已确认 to the tapper
    only, then shows 王芳 已收到 08:03 on both cards by key (the title stays); repeats count once."""
    chat, adapter, room_id = day
    personal = await adapter.send_card(CHIEF, _card(room_id))
    group = await adapter.send_card(GROUP, _card(room_id))
    assert personal and group and personal != group
    assert fake_dingtalk.cards[personal].space == "dtv1.card//IM_ROBOT.wangfang"
    assert fake_dingtalk.cards[group].space == "dtv1.card//IM_GROUP.cidGroup123=="
    assert {c.callback_type for c in fake_dingtalk.cards.values()} == {"STREAM"}
    assert fake_dingtalk.cards[group].data["title"] == "第1考场 启封试卷"

    refused = await adapter.cards.on_callback(card_callback(group, "liqiang"))
    status = refused["userPrivateData"]["cardParamMap"]["my_status"]
    assert status.startswith("只有主监考（王芳）可以确认第1考场「启封试卷」")
    assert "cardData" not in refused and fake_dingtalk.card_updates == []
    assert await _acks(chat, room_id) == [] and "✗启封试卷" in await _status(chat)

    answer = await adapter.cards.on_callback(json.dumps(card_callback(personal, "wangfang")))
    assert answer == {
        "userPrivateData": {"cardParamMap": {"my_status": "已确认"}},
        "cardUpdateOptions": {"updatePrivateDataByKey": True},
    }
    await eventually(lambda: len(fake_dingtalk.card_updates) == 2)
    for track in (personal, group):
        assert fake_dingtalk.cards[track].data["ack_summary"] == "王芳 已收到 08:03"
        assert fake_dingtalk.cards[track].data["title"] == "第1考场 启封试卷"
    assert all(u["cardUpdateOptions"]["updateCardDataByKey"] is True for u in fake_dingtalk.card_updates)
    (ack,) = await _acks(chat, room_id)
    assert (ack.step, ack.channel) == ("open_papers", "dingtalk")
    assert "✓启封试卷（王芳 08:03）" in await _status(chat)

    # The platform delivering the same tap again, or a second tap on the same card: nothing happens.
    assert await adapter.cards.on_callback(card_callback(personal, "wangfang")) == {}
    # The chief tapping the group card too: told it is done, still one acknowledgement.
    again = await adapter.cards.on_callback(card_callback(group, "wangfang"))
    assert again["userPrivateData"]["cardParamMap"]["my_status"] == "已确认"
    assert len(await _acks(chat, room_id)) == 1


async def test_a_foreign_or_broken_callback_changes_nothing(day: tuple[Chat, DingTalkAdapter, int]) -> None:
    """A card that is not ours, or a body without a user, is answered with nothing and records nothing."""
    chat, adapter, room_id = day
    assert await adapter.cards.on_callback(card_callback("someone-elses-card", "wangfang")) == {}
    assert await adapter.cards.on_callback({"outTrackId": "exambot.ack.1.open_papers.0123456789ab"}) == {}
    assert await adapter.cards.on_callback("not json") == {}
    assert await _acks(chat, room_id) == []


async def test_a_refused_card_falls_back_to_text(
    day: tuple[Chat, DingTalkAdapter, int], fake_dingtalk: FakeDingTalk
) -> None:
    """Without Card.Instance.Write (403) the chief gets the reminder as a text message with the typed form."""
    _chat, adapter, room_id = day
    fake_dingtalk.refuse_cards = True
    before, planned = len(fake_dingtalk.deliveries), dict(fake_dingtalk.cards)  # the day's planned cards
    assert await adapter.send_card(CHIEF, _card(room_id)) is None
    assert fake_dingtalk.cards == planned
    (delivery,) = fake_dingtalk.deliveries[before:]
    assert delivery.api == "oToMessages/batchSend" and delivery.body["userIds"] == ["wangfang"]
    assert "请主监考回复“收到”" in json.loads(delivery.body["msgParam"])["content"]


async def test_custom_robot_groups_keep_text_and_a_failing_platform_is_retried(
    day: tuple[Chat, DingTalkAdapter, int], fake_dingtalk: FakeDingTalk
) -> None:
    """A custom webhook robot group gets text (its buttons only open links); a 500 raises for the outbox."""
    _chat, adapter, room_id = day
    webhook = f"{fake_dingtalk.url}/robot/send?access_token=robot-token-1"
    target = GroupTarget("dingtalk", webhook=webhook, secret="SECrobotsecret1")
    before, planned = len(fake_dingtalk.deliveries), dict(fake_dingtalk.cards)
    assert await adapter.send_card(target, _card(room_id)) is None
    (delivery,) = fake_dingtalk.deliveries[before:]
    assert delivery.api == "robot/send" and "请主监考回复“收到”" in delivery.body["text"]["content"]
    fake_dingtalk.fail_next("http500")
    with pytest.raises(PlatformError):
        await adapter.send_card(CHIEF, _card(room_id))
    assert fake_dingtalk.cards == planned and len(fake_dingtalk.deliveries) == before + 1


async def test_no_template_sends_text(
    make_settings: Callable[..., Settings], fake_dingtalk: FakeDingTalk, clock: ManualClock
) -> None:
    """No EXAMBOT_DINGTALK_CARD_TEMPLATE_ID: the reminder goes as text, and no stream is opened for cards."""
    settings = _settings(make_settings, fake_dingtalk, dingtalk_card_template_id="")
    async with demo_app(settings, clock) as chat:
        adapter = chat.app[ADAPTERS]["dingtalk"]
        room_id = await _day(chat, clock)
        before = len(fake_dingtalk.deliveries)
        assert await adapter.send_card(CHIEF, _card(room_id)) is None
    assert fake_dingtalk.cards == {} and fake_dingtalk.stream_opens == []
    (delivery,) = fake_dingtalk.deliveries[before:]
    assert delivery.api == "oToMessages/batchSend" and "请主监考回复“收到”" in delivery.body["msgParam"]


async def test_a_tap_through_the_stream_gateway(
    make_settings: Callable[..., Settings], fake_dingtalk: FakeDingTalk, clock: ManualClock
) -> None:
    """Over the real websocket: the card topic is subscribed, the tap's ACK carries userPrivateData, the card is
    updated and a redelivered frame changes nothing."""
    settings = _settings(make_settings, fake_dingtalk, dingtalk_stream=True)
    async with demo_app(settings, clock) as chat:
        adapter = chat.app[ADAPTERS]["dingtalk"]
        room_id = await _day(chat, clock)
        await eventually(lambda: len(fake_dingtalk.stream_opens) == 1)
        topics = [s["topic"] for s in fake_dingtalk.stream_opens[0]["subscriptions"]]
        assert topics == ["/v1.0/im/bot/messages/get", "/v1.0/card/instances/callback"]
        track = await adapter.send_card(CHIEF, _card(room_id))
        frame = card_frame(card_callback(track, "wangfang"), message_id="tap-1")
        await fake_dingtalk.stream_frames.put(frame)
        await fake_dingtalk.stream_frames.put(frame)
        await eventually(lambda: len(fake_dingtalk.stream_acks) == 2 and len(fake_dingtalk.card_updates) == 1)
        first, second = fake_dingtalk.stream_acks
        assert first["code"] == 200 and first["headers"]["messageId"] == "tap-1"
        response = json.loads(first["data"])["response"]
        assert response["userPrivateData"]["cardParamMap"]["my_status"] == "已确认"
        assert json.loads(second["data"])["response"] == {}
        assert fake_dingtalk.cards[track].data["ack_summary"] == "王芳 已收到 08:03"
        assert len(await _acks(chat, room_id)) == 1
        assert "✓启封试卷（王芳 08:03）" in await _status(chat)


async def test_a_slow_tap_is_answered_in_time_and_finished_by_update(
    day: tuple[Chat, DingTalkAdapter, int], fake_dingtalk: FakeDingTalk
) -> None:
    """Handling that misses the Stream answer's budget: the tapper sees 处理中… at once; the acknowledgement still
    lands, and the card is then updated, privately (已确认) and for everyone."""
    chat, adapter, room_id = day
    track = await adapter.send_card(CHIEF, _card(room_id))
    adapter.cards.wait = 0.0
    answer = await adapter.cards.on_callback(card_callback(track, "wangfang"))
    assert answer["userPrivateData"]["cardParamMap"]["my_status"] == "处理中…"
    await eventually(lambda: fake_dingtalk.cards[track].data.get("ack_summary") == "王芳 已收到 08:03")
    assert fake_dingtalk.cards[track].private["wangfang"] == {"my_status": "已确认"}
    assert len(await _acks(chat, room_id)) == 1


async def test_a_claimed_tap_is_replayed_after_a_crash(
    day: tuple[Chat, DingTalkAdapter, int], fake_dingtalk: FakeDingTalk
) -> None:
    """A tap claimed but never handled (the process died) is handled by the recovery loop's replay, once."""
    chat, adapter, room_id = day
    track = await adapter.send_card(CHIEF, _card(room_id))
    wire = card_callback(track, "wangfang")
    assert await adapter.flow.claim(f"card:{track}:wangfang", {"card": wire})
    assert await adapter.cards.on_callback(wire) == {}  # the redelivery finds it claimed
    assert await _acks(chat, room_id) == []
    await adapter.replay({"card": wire})
    assert len(await _acks(chat, room_id)) == 1
    assert fake_dingtalk.cards[track].data["ack_summary"] == "王芳 已收到 08:03"


def test_what_a_claim_keeps_reads_back_as_the_same_tap() -> None:
    """The payload kept with a tap's claim (for the replay) parses back into the same tap."""
    track = out_track_id(7, "open_papers", CHIEF)
    tap = parse_card_callback(card_callback(track, "wangfang"))
    assert (tap.room_id, tap.step, tap.user_id, tap.action) == (7, "open_papers", "wangfang", "ack")
    assert parse_card_callback(json.loads(json.dumps(_wire(tap)))) == tap
    assert out_track_id(7, "open_papers", GROUP) != track == out_track_id(7, "open_papers", CHIEF)


async def test_a_planned_critical_reminder_reaches_the_chief_as_a_card_and_a_tap_acknowledges_it(
    day: tuple[Chat, DingTalkAdapter, int], fake_dingtalk: FakeDingTalk
) -> None:
    """The outbox's card row for 启封 (planned for each chief) goes out as a DingTalk card, not text; its tap counts."""
    chat, adapter, room_id = day
    ours = [t for t, c in fake_dingtalk.cards.items() if t.startswith(f"exambot.ack.{room_id}.open_papers.")]
    assert len(ours) == 1 and fake_dingtalk.cards[ours[0]].space.endswith(".wangfang")
    await adapter.cards.on_callback(card_callback(ours[0], "wangfang"))
    async with chat.services.db.session() as s:
        acks = (await s.exec(select(ReminderAck).where(ReminderAck.room_id == room_id))).all()
    assert [a.step for a in acks] == ["open_papers"]
    status = await chat.say("钱进", "/提醒状态") or ""
    assert "✓启封试卷（王芳" in next(x for x in status.splitlines() if x.strip().startswith("第1考场"))

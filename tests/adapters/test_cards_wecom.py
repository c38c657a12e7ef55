"""Reminder cards on WeCom: a critical step goes privately to the chief as a template card, and a tap comes back.

End to end on the demo day: the planner's card row is sent by the outbox through the real adapter to the fake
WeCom (``message/send`` ``template_card``); the fake signs and encrypts a ``template_card_event`` as WeCom does
and the callback records the acknowledgement once, answers the tapper privately and greys the button out with the
tap's single-use ResponseCode (``message/update_template_card``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from bot.app import ADAPTERS, SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import Settings
from bot.store.tables import OutboxMessage, ReminderAck
from tests.conftest import Chat
from tests.fakes.wecom import FakeWeCom, WeComPlatform

CARD_TEXT_MARK = "card:"


@pytest.fixture
async def client(wecom_settings: Settings, clock: ManualClock) -> AsyncIterator[TestClient[Any, Any]]:
    """The whole app (every handler) with WeCom on the fake and the console, on the demo day (08:00)."""
    app = create_app(wecom_settings, clock=clock, console=True, components=[])
    c: TestClient[Any, Any] = TestClient(TestServer(app))
    await c.start_server()
    await seed_demo(app[SERVICES].db, clock.now(), wecom_settings.tz)
    yield c
    await c.close()


def _services(client: TestClient[Any, Any]) -> Any:
    return client.server.app[SERVICES]


async def _open_papers_card(client: TestClient[Any, Any], clock: ManualClock, fake: FakeWeCom) -> dict[str, Any]:
    """Advance to 08:03 (启封试卷, a critical step) and send what is due; the card 王芳 got."""
    clock.advance(timedelta(minutes=3, seconds=5))
    await _services(client).notifier.outbox.drain()
    cards = [c for c in fake.cards_sent()
             if c["touser"] == "wangfang" and c["template_card"]["task_id"].split("-")[1] == "open_papers"]  # fmt: skip
    assert len(cards) == 1
    return cards[0]


async def _settle(client: TestClient[Any, Any]) -> None:
    """Let the adapter's background work (the card update after the response) finish."""
    await client.server.app[ADAPTERS]["wecom"].flow.tasks.wait()


async def _tap(
    client: TestClient[Any, Any], platform: WeComPlatform, user: str, task: str, key: str, code: str
) -> tuple[int, str]:
    query, body = platform.post(platform.card_event_xml(user, task, key, code))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    text = await resp.text()
    await _settle(client)
    return resp.status, text


async def _acks(client: TestClient[Any, Any]) -> list[ReminderAck]:
    async with _services(client).db.session() as s:
        return list((await s.exec(select(ReminderAck).where(ReminderAck.step == "open_papers"))).all())


async def _status_line(client: TestClient[Any, Any], room: str) -> str:
    status = await Chat(client.server.app).say("钱进", "/提醒状态") or ""
    return next(x for x in status.splitlines() if x.strip().startswith(room))


async def test_critical_reminder_goes_to_the_chief_as_a_card(
    client: TestClient[Any, Any], clock: ManualClock, fake_wecom: FakeWeCom
) -> None:
    """启封试卷 reaches 王芳 privately as a button_interaction card: 收到 and 有问题, a task id naming room and step."""
    sent = await _open_papers_card(client, clock, fake_wecom)
    assert sent["touser"] == "wangfang" and sent["msgtype"] == "template_card"
    card = sent["template_card"]
    assert card["card_type"] == "button_interaction"
    assert "启封试卷" in card["main_title"]["title"] and len(card["main_title"]["title"]) <= 36
    assert [(b["text"], b["key"], b["type"]) for b in card["button_list"]] == [
        ("收到", "ack", 0),
        ("有问题", "issue", 0),
    ]
    assert CARD_TEXT_MARK not in card["sub_title_text"]
    async with _services(client).db.session() as s:
        row = (await s.exec(select(OutboxMessage).where(OutboxMessage.kind == "card"))).first()
    assert row is not None and row.platform_message_id == card["task_id"]  # the task id is stored with the row


async def test_tap_acknowledges_once_updates_the_card_and_shows_in_status(
    client: TestClient[Any, Any], clock: ManualClock, fake_wecom: FakeWeCom, wecom_platform: WeComPlatform
) -> None:
    """The chief's tap: recorded once (WeCom's retry and a second tap count once), the button greyed out as
    “已收到 08:03” with the tap's ResponseCode, the tapper answered privately, /提醒状态 shows ✓."""
    task = (await _open_papers_card(client, clock, fake_wecom))["template_card"]["task_id"]
    code = fake_wecom.click_code(task)
    query, body = wecom_platform.post(wecom_platform.card_event_xml("wangfang", task, "ack", code))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 200
    assert wecom_platform.open_reply(await resp.text())["Content"] == "已记录确认（08:03）：第1考场「启封试卷」。"
    await _settle(client)
    assert [(u.userids, u.body["button"]["replace_name"]) for u in fake_wecom.card_updates] == [
        (["wangfang"], "已收到 08:03")
    ]
    assert fake_wecom.card_updates[0].response_code == code
    # WeCom delivers the same callback again (no answer within 5 s): handled once.
    again = await client.post(f"/wecom/callback?{query}", data=body)
    assert again.status == 200 and await again.text() == ""
    # A second tap of the same button: the same stable id (TaskId+FromUserName+EventKey), counted once.
    status, text = await _tap(client, wecom_platform, "wangfang", task, "ack", fake_wecom.click_code(task))
    assert status == 200 and text == ""
    acks = await _acks(client)
    assert len(acks) == 1 and acks[0].channel == "wecom"
    assert len(fake_wecom.card_updates) == 1
    assert "✓启封试卷（王芳 08:03）" in await _status_line(client, "第1考场")


async def test_wrong_person_is_refused_privately_and_the_card_stays(
    client: TestClient[Any, Any], clock: ManualClock, fake_wecom: FakeWeCom, wecom_platform: WeComPlatform
) -> None:
    """李强 (副监考) taps the chief's card (forwarded): nothing recorded, a private refusal, no card update."""
    task = (await _open_papers_card(client, clock, fake_wecom))["template_card"]["task_id"]
    status, text = await _tap(client, wecom_platform, "liqiang", task, "ack", fake_wecom.click_code(task))
    assert status == 200
    reply = wecom_platform.open_reply(text)
    assert reply["ToUserName"] == "liqiang" and reply["Content"].startswith(
        "只有主监考（王芳）可以确认第1考场「启封试卷」"
    )
    assert await _acks(client) == [] and fake_wecom.card_updates == []
    assert "✗启封试卷" in await _status_line(client, "第1考场")


async def test_tap_after_a_typed_shou_dao_says_who_and_updates_the_card(
    client: TestClient[Any, Any], clock: ManualClock, fake_wecom: FakeWeCom, wecom_platform: WeComPlatform
) -> None:
    """王芳 typed 收到 in the group first; her later tap says who confirmed when, and the card shows it."""
    task = (await _open_papers_card(client, clock, fake_wecom))["template_card"]["task_id"]
    chat = Chat(client.server.app)
    assert "已记录确认" in (await chat.say("王芳", "收到", chat="console:第1考场") or "")
    clock.advance(timedelta(minutes=1))
    status, text = await _tap(client, wecom_platform, "wangfang", task, "ack", fake_wecom.click_code(task))
    assert status == 200
    assert wecom_platform.open_reply(text)["Content"] == "第1考场「启封试卷」已由王芳于 08:03 确认。"
    assert [u.body["button"]["replace_name"] for u in fake_wecom.card_updates] == ["已收到 08:03"]
    assert len(await _acks(client)) == 1


async def test_issue_button_tells_the_office(
    client: TestClient[Any, Any], clock: ManualClock, fake_wecom: FakeWeCom, wecom_platform: WeComPlatform
) -> None:
    """有问题: the office and supervisors get a keyed alert (once, even when tapped twice), 王芳 a private answer."""
    task = (await _open_papers_card(client, clock, fake_wecom))["template_card"]["task_id"]
    status, text = await _tap(client, wecom_platform, "wangfang", task, "issue", fake_wecom.click_code(task))
    assert status == 200
    assert wecom_platform.open_reply(text)["Content"].startswith("已通知考务办公室和督导（")
    async with _services(client).db.session() as s:
        alerts = (await s.exec(select(OutboxMessage).where(OutboxMessage.key.like("alert:card_issue:%")))).all()
    assert alerts and all("王芳在第1考场「启封试卷」" in a.text and "有问题" in a.text for a in alerts)
    assert await _acks(client) == [] and fake_wecom.card_updates == []


async def test_refused_card_falls_back_to_the_text_asking_for_shou_dao(
    client: TestClient[Any, Any], clock: ManualClock, fake_wecom: FakeWeCom
) -> None:
    """An app WeCom will not send cards for (errcode 40008): the chief gets the reminder as text, 回复“收到”."""
    fake_wecom.refuse_cards = True
    clock.advance(timedelta(minutes=3, seconds=5))
    await _services(client).notifier.outbox.drain()
    assert fake_wecom.cards_sent() == []
    texts = [d.body["text"]["content"] for d in fake_wecom.deliveries
             if d.body.get("msgtype") == "text" and d.body.get("touser") == "wangfang"]  # fmt: skip
    opening = [t for t in texts if "启封试卷" in t]
    assert len(opening) == 1 and "回复“收到”确认" in opening[0] and CARD_TEXT_MARK not in opening[0]
    async with _services(client).db.session() as s:
        row = (await s.exec(select(OutboxMessage).where(OutboxMessage.kind == "card"))).first()
    assert row is not None and row.status == "sent"


async def test_slow_answer_still_updates_the_card_and_replies_by_the_api(
    client: TestClient[Any, Any], clock: ManualClock, fake_wecom: FakeWeCom, wecom_platform: WeComPlatform
) -> None:
    """An answer that misses the callback's response: the card is updated and the reply goes by message/send."""
    task = (await _open_papers_card(client, clock, fake_wecom))["template_card"]["task_id"]
    client.server.app[ADAPTERS]["wecom"].flow.wait = 0.0
    status, text = await _tap(client, wecom_platform, "wangfang", task, "ack", fake_wecom.click_code(task))
    assert status == 200 and text == ""
    await _services(client).notifier.settle()
    await _services(client).notifier.outbox.drain()
    assert [u.body["button"]["replace_name"] for u in fake_wecom.card_updates] == ["已收到 08:03"]
    replies = [d.body["text"]["content"] for d in fake_wecom.deliveries
               if d.body.get("msgtype") == "text" and d.body.get("touser") == "wangfang"]  # fmt: skip
    assert "已记录确认（08:03）：第1考场「启封试卷」。" in replies
    assert len(await _acks(client)) == 1


async def test_a_refused_card_update_keeps_the_acknowledgement(
    client: TestClient[Any, Any], clock: ManualClock, fake_wecom: FakeWeCom, wecom_platform: WeComPlatform
) -> None:
    """A ResponseCode WeCom no longer takes (used or past 72 h): the update fails quietly, the ack stands."""
    task = (await _open_papers_card(client, clock, fake_wecom))["template_card"]["task_id"]
    status, text = await _tap(client, wecom_platform, "wangfang", task, "ack", "never-issued-code")
    assert status == 200 and wecom_platform.open_reply(text)["Content"].startswith("已记录确认（08:03）")
    assert fake_wecom.card_updates == [] and len(await _acks(client)) == 1

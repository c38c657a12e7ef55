"""WeCom cards, every copy: recorded with its send's response_code, updated however the subject is settled.

On the demo day with WeCom on the fake (SQLite and PostgreSQL): a typed 收到 updates the chief's untapped card
with the code its send returned; an update WeCom cannot take now stays pending and goes out from a new app
instance; a serious violation reported on WeCom sends the second invigilator a 确认 / 有异议 card whose tap is
``/确认 <编号>``; a 领取 count sends the other invigilator a 确认 / 数量不符 card; a refused card falls back to
text naming the typed form.
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
from bot.store.cards import copies
from bot.store.tables import AuditLog, OutboxMessage, Report
from tests.adapters.conftest import eventually
from tests.conftest import Chat
from tests.fakes.wecom import FakeWeCom, WeComPlatform


@pytest.fixture
def settings_db(wecom_settings: Settings, db_url: str) -> Settings:
    """WeCom on the fake, on SQLite or PostgreSQL."""
    return wecom_settings.model_copy(update={"database_url": db_url})


async def _start(settings: Settings, clock: ManualClock, *, seed: bool) -> TestClient[Any, Any]:
    app = create_app(settings, clock=clock, console=True, components=[])
    c: TestClient[Any, Any] = TestClient(TestServer(app))
    await c.start_server()
    if seed:
        await seed_demo(app[SERVICES].db, clock.now(), settings.tz)
    return c


@pytest.fixture
async def client(settings_db: Settings, clock: ManualClock) -> AsyncIterator[TestClient[Any, Any]]:
    """The whole app with WeCom and the console, on the demo day (08:00)."""
    c = await _start(settings_db, clock, seed=True)
    yield c
    await c.close()


def _services(client: TestClient[Any, Any]) -> Any:
    return client.server.app[SERVICES]


def _adapter(client: TestClient[Any, Any]) -> Any:
    return client.server.app[ADAPTERS]["wecom"]


async def _drain(client: TestClient[Any, Any]) -> None:
    await _services(client).notifier.settle()
    await _services(client).notifier.outbox.drain()


def _cards(fake: FakeWeCom, user: str, step: str) -> list[dict[str, Any]]:
    return [c for c in fake.cards_sent() if c["touser"] == user and c["template_card"]["task_id"].split("-")[1] == step]


async def _say(client: TestClient[Any, Any], platform: WeComPlatform, user: str, text: str, mid: str) -> str:
    query, body = platform.post(platform.message_xml(user, text, mid))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 200
    reply = platform.open_reply(await resp.text())["Content"]
    await _drain(client)
    return reply


async def _tap(client: TestClient[Any, Any], platform: WeComPlatform, fake: FakeWeCom, user: str, task: str,
               key: str) -> str:  # fmt: skip
    query, body = platform.post(platform.card_event_xml(user, task, key, fake.click_code(task)))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 200
    text = await resp.text()
    await _adapter(client).flow.tasks.wait()
    await _drain(client)
    return platform.open_reply(text)["Content"] if text else ""


async def test_typed_shou_dao_updates_the_untapped_card_with_its_send_code(
    client: TestClient[Any, Any], clock: ManualClock, fake_wecom: FakeWeCom
) -> None:
    """The card is recorded with the send's response_code; 王芳 types 收到 in the group instead of tapping: her
    card still turns into “已收到 08:03”, spending that code (WeCom takes it once)."""
    clock.advance(timedelta(minutes=3, seconds=5))
    await _drain(client)
    (card,) = _cards(fake_wecom, "wangfang", "open_papers")
    task = card["template_card"]["task_id"]
    room_id = int(task.split("-")[0][1:])
    (copy,) = await copies(_services(client).db, room_id, "open_papers")
    assert copy["card_id"] == task and copy["recipient"] == "wangfang" and copy["response_code"].startswith("send-")
    assert "已记录确认" in (await Chat(client.server.app).say("王芳", "收到", chat="console:第1考场") or "")
    assert fake_wecom.card_updates == []  # nothing is sent from inside the handler
    assert await _adapter(client).cards.run_once() == 1
    (update,) = fake_wecom.card_updates
    assert update.response_code == copy["response_code"] and update.userids == ["wangfang"]
    assert update.body["button"]["replace_name"] == "已收到 08:03"
    (after,) = await copies(_services(client).db, room_id, "open_papers")
    assert after["shown"] == "王芳 已收到 08:03" and after["response_code"] is None
    assert await _adapter(client).cards.run_once() == 0  # done: nothing is updated twice


async def test_update_while_wecom_is_down_goes_out_from_a_new_instance(
    settings_db: Settings, clock: ManualClock, fake_wecom: FakeWeCom, wecom_platform: WeComPlatform
) -> None:
    """WeCom is down when 王芳 taps: the acknowledgement is recorded all the same and the update stays pending;
    after a restart (a new app on the same database) the update goes out with the tap's code."""
    first = await _start(settings_db, clock, seed=True)
    clock.advance(timedelta(minutes=3, seconds=5))
    await _drain(first)
    task = _cards(fake_wecom, "wangfang", "open_papers")[0]["template_card"]["task_id"]
    fake_wecom.always = "http500"
    reply = await _tap(first, wecom_platform, fake_wecom, "wangfang", task, "ack")
    assert reply == "已记录确认（08:03）：第1考场「启封试卷」。"
    room_id = int(task.split("-")[0][1:])
    (copy,) = await copies(_services(first).db, room_id, "open_papers")
    assert copy["state"] == "王芳 已收到 08:03" and copy["shown"] is None and copy["attempts"] >= 1
    assert copy["response_code"].startswith("click-") and fake_wecom.card_updates == []
    await first.close()
    fake_wecom.always = None
    second = await _start(settings_db, clock, seed=False)
    try:
        await eventually(lambda: bool(fake_wecom.card_updates))  # the new instance's first round of updates
        assert [u.body["button"]["replace_name"] for u in fake_wecom.card_updates] == ["已收到 08:03"]
        status = await Chat(second.server.app).say("钱进", "/提醒状态") or ""
        assert "✓启封试卷（王芳 08:03）" in status
    finally:
        await second.close()


async def test_violation_card_tap_confirms_once_and_refuses_the_wrong_person(
    client: TestClient[Any, Any], clock: ManualClock, fake_wecom: FakeWeCom, wecom_platform: WeComPlatform
) -> None:
    """王芳 reports 替考 on WeCom: 李强 gets a 确认 / 有异议 card; 王芳 tapping it is refused privately with who
    may, 赵敏 (another room) learns nothing about it; 李强's tap confirms like /确认 (once, a second tap changes
    nothing) and the card turns into “已确认 08:40”."""
    clock.advance(timedelta(minutes=40))
    reply = await _say(client, wecom_platform, "wangfang", "/违纪 1 2026000003 替考", "m-1")
    assert "请本考场另一名监考员发送 /确认" in reply
    (card,) = _cards(fake_wecom, "liqiang", "vconfirm")
    buttons = [(b["text"], b["key"]) for b in card["template_card"]["button_list"]]
    assert buttons == [("确认", "ack"), ("有异议", "issue")]
    assert "严重违纪待确认" in card["template_card"]["main_title"]["title"]
    task = card["template_card"]["task_id"]
    rid = int(task.split("-")[0][1:])
    wrong = await _tap(client, wecom_platform, fake_wecom, "wangfang", task, "ack")  # the reporter herself
    assert wrong.startswith(f"编号 {rid} 是您自己报告的，需要本考场另一名监考员（李强）确认")
    stranger = await _tap(client, wecom_platform, fake_wecom, "zhaomin", task, "ack")  # not told what it is
    assert stranger.startswith(f"没有找到您可以查看的编号 {rid} 的报告")
    assert await _adapter(client).cards.run_once() == 0
    ok = await _tap(client, wecom_platform, fake_wecom, "liqiang", task, "ack")
    assert ok.startswith(f"已确认编号 {rid}") and "王芳、李强两人记录" in ok
    again = await _tap(client, wecom_platform, fake_wecom, "liqiang", task, "ack")
    assert again == ""  # WeCom's retry and a second tap of the same button are one tap
    async with _services(client).db.session() as s:
        confirms = (await s.exec(select(Report).where(Report.kind == "confirm"))).all()
    assert len(confirms) == 1
    assert [(u.userids, u.body["button"]["replace_name"]) for u in fake_wecom.card_updates] == [
        (["liqiang"], "已确认 08:40")
    ]


async def test_handover_card_quantity_dispute_tells_the_office(
    client: TestClient[Any, Any], clock: ManualClock, fake_wecom: FakeWeCom, wecom_platform: WeComPlatform
) -> None:
    """王芳 reports 领取 30 on WeCom: 李强 gets a 确认 / 数量不符 card; 数量不符 is /确认 N 数量不符: kept once,
    the office alerted, the card shows it; 王芳 herself cannot confirm her own count."""
    clock.advance(timedelta(minutes=40))
    await _say(client, wecom_platform, "wangfang", "/试卷 1 领取 30", "m-2")
    (card,) = _cards(fake_wecom, "liqiang", "handover")
    assert [b["text"] for b in card["template_card"]["button_list"]] == ["确认", "数量不符"]
    task = card["template_card"]["task_id"]
    rid = int(task.split("-")[0][1:])
    own = await _say(client, wecom_platform, "wangfang", f"/确认 {rid}", "m-3")
    assert own.startswith(f"编号 {rid} 的领取份数是您报告的，需要本考场另一名监考员（李强）核对确认")
    reply = await _tap(client, wecom_platform, fake_wecom, "liqiang", task, "issue")
    assert reply.startswith(f"已记录您对编号 {rid}（领取 30 份）数量不符")
    async with _services(client).db.session() as s:
        logged = (await s.exec(select(AuditLog).where(AuditLog.entity == "papers_handover"))).all()
        alerts = (
            await s.exec(select(OutboxMessage).where(OutboxMessage.key.like(f"alert:handover_dispute:{rid}:%")))
        ).all()
    assert [(a.action, a.entity_id) for a in logged] == [("dispute", str(rid))]
    assert alerts and all("数量不符" in a.text for a in alerts)
    assert [u.body["button"]["replace_name"] for u in fake_wecom.card_updates] == ["数量不符 08:40"]
    later = await _say(client, wecom_platform, "liqiang", f"/确认 {rid}", "m-4")
    assert later.startswith(f"编号 {rid} 的领取份数（30 份）已由李强于 08:40 提出数量不符")


async def test_refused_cards_fall_back_to_the_typed_form(
    client: TestClient[Any, Any], clock: ManualClock, fake_wecom: FakeWeCom, wecom_platform: WeComPlatform
) -> None:
    """An app WeCom sends no cards for: 李强 gets the violation and handover cards as text naming /确认."""
    fake_wecom.refuse_cards = True
    clock.advance(timedelta(minutes=40))
    await _say(client, wecom_platform, "wangfang", "/违纪 1 2026000003 替考", "m-5")
    await _say(client, wecom_platform, "wangfang", "/试卷 1 领取 30", "m-6")
    texts = [d.body["text"]["content"] for d in fake_wecom.deliveries
             if d.body.get("msgtype") == "text" and d.body.get("touser") == "liqiang"]  # fmt: skip
    violation = [t for t in texts if "严重违纪待确认" in t]
    handover = [t for t in texts if "试卷领取待核对" in t]
    assert len(violation) == 1 and "有异议请回复“/确认 " in violation[0] and "card:" not in violation[0]
    assert len(handover) == 1 and "数量不符”" in handover[0] and "card:" not in handover[0]
    assert fake_wecom.cards_sent() == [] or all(c["touser"] != "liqiang" for c in fake_wecom.cards_sent())


async def test_a_copy_whose_code_wecom_no_longer_takes_is_updated_at_its_next_tap(
    client: TestClient[Any, Any], clock: ManualClock, fake_wecom: FakeWeCom, wecom_platform: WeComPlatform
) -> None:
    """The send's code is gone (past 72 h, or spent): the typed 收到's update is refused and given up, kept with
    its reason; when 王芳 later taps that card, her tap's fresh code updates it after all."""
    clock.advance(timedelta(minutes=3, seconds=5))
    await _drain(client)
    task = _cards(fake_wecom, "wangfang", "open_papers")[0]["template_card"]["task_id"]
    room_id = int(task.split("-")[0][1:])
    (copy,) = await copies(_services(client).db, room_id, "open_papers")
    del fake_wecom.response_codes[copy["response_code"]]  # WeCom no longer takes it
    assert "已记录确认" in (await Chat(client.server.app).say("王芳", "收到", chat="console:第1考场") or "")
    assert await _adapter(client).cards.run_once() == 0
    (given_up,) = await copies(_services(client).db, room_id, "open_papers")
    assert given_up["shown"] is None and "40142" in (given_up["last_error"] or "")
    assert await _adapter(client).cards.run_once() == 0 and fake_wecom.card_updates == []  # not retried blindly
    reply = await _tap(client, wecom_platform, fake_wecom, "wangfang", task, "ack")
    assert reply == "第1考场「启封试卷」已由王芳于 08:03 确认。"
    assert [u.body["button"]["replace_name"] for u in fake_wecom.card_updates] == ["已收到 08:03"]
    assert fake_wecom.card_updates[0].response_code.startswith("click-")

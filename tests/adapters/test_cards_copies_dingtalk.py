"""DingTalk cards, every copy: recorded in the database, so every copy shows the outcome, after a restart too.

On the demo day with DingTalk cards on the fake (SQLite and PostgreSQL): copies sent by one app instance are
updated when a new instance gets the tap; a typed 收到 updates every copy; a PUT DingTalk refuses for now is
tried again; violation (确认 / 有异议) and handover (确认 / 数量不符) cards mean the typed /确认.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.adapters.dingtalk import DingTalkAdapter
from bot.app import ADAPTERS
from bot.clock import ManualClock
from bot.model import CONFIRM_STEP, HANDOVER_STEP, OutgoingMessage, PersonTarget, TextFormat, card_text
from bot.settings import Settings
from bot.store.cards import copies
from bot.store.tables import AuditLog, Report, Room
from tests.adapters.conftest import eventually
from tests.adapters.test_cards_dingtalk import CHIEF, GROUP, _card, _day, _settings
from tests.conftest import Chat, demo_app
from tests.fakes.dingtalk import FakeDingTalk, card_callback

DEPUTY = PersonTarget("dingtalk", "liqiang")


@pytest.fixture
def settings_db(make_settings: Callable[..., Settings], fake_dingtalk: FakeDingTalk, db_url: str) -> Settings:
    """DingTalk with a card template on the fake, on SQLite or PostgreSQL."""
    return _settings(make_settings, fake_dingtalk, database_url=db_url)


@pytest.fixture
async def day(settings_db: Settings, clock: ManualClock) -> AsyncIterator[tuple[Chat, DingTalkAdapter, int]]:
    """The demo day with DingTalk cards on, at 08:03."""
    async with demo_app(settings_db, clock) as chat:
        adapter = chat.app[ADAPTERS]["dingtalk"]
        assert isinstance(adapter, DingTalkAdapter)
        yield chat, adapter, await _day(chat, clock)


def _summary(fake: FakeDingTalk, track: str) -> str:
    return fake.cards[track].data.get("ack_summary", "")


async def test_a_new_instance_updates_the_copies_an_old_one_sent(
    settings_db: Settings, clock: ManualClock, fake_dingtalk: FakeDingTalk
) -> None:
    """Cards to 王芳 and the room group sent by one instance; after a restart the tap reaches a new instance,
    which still updates both copies (they are in the database, not in memory)."""
    async with demo_app(settings_db, clock) as chat:
        room_id = await _day(chat, clock)
        adapter = chat.app[ADAPTERS]["dingtalk"]
        personal = await adapter.send_card(CHIEF, _card(room_id))
        group = await adapter.send_card(GROUP, _card(room_id))
    assert personal and group
    async with demo_app(settings_db, clock, seed=False) as chat:
        adapter = chat.app[ADAPTERS]["dingtalk"]
        answer = await adapter.cards.on_callback(card_callback(group, "wangfang"))
        assert answer["userPrivateData"]["cardParamMap"]["my_status"] == "已确认"
        await eventually(lambda: all(_summary(fake_dingtalk, t) == "王芳 已收到 08:03" for t in (personal, group)))
        # The copy is marked shown after DingTalk took the PUT, in a transaction of its own: wait for it too.
        for _ in range(200):
            rows = await copies(chat.services.db, room_id, "open_papers")
            if all(r["shown"] == "王芳 已收到 08:03" for r in rows):
                break
            await asyncio.sleep(0.01)
        assert {r["card_id"] for r in rows} >= {personal, group}
        assert all(r["shown"] == "王芳 已收到 08:03" for r in rows)


async def test_a_typed_shou_dao_updates_every_copy_and_a_failing_put_is_retried(
    day: tuple[Chat, DingTalkAdapter, int], fake_dingtalk: FakeDingTalk
) -> None:
    """王芳 types 收到 (no tap): every copy is to show it; DingTalk failing the PUT (HTTP 500) leaves it pending,
    the next round makes it; nothing is updated twice."""
    chat, adapter, room_id = day
    group = await adapter.send_card(GROUP, _card(room_id))
    assert group is not None
    assert "已记录确认" in (await chat.say("王芳", "收到") or "")
    tracks = [str(r["card_id"]) for r in await copies(chat.services.db, room_id, "open_papers")]
    assert group in tracks and len(tracks) == 2  # the planned card to 王芳 and the group's
    fake_dingtalk.always = "http500"  # DingTalk down
    assert await adapter.cards.updates.run_once() == 0
    assert all(_summary(fake_dingtalk, t) == "" for t in tracks)
    pending = await copies(chat.services.db, room_id, "open_papers")
    assert all(r["shown"] is None and r["attempts"] >= 1 and r["last_error"] for r in pending)
    fake_dingtalk.always = None  # DingTalk is back
    assert await adapter.cards.updates.run_once() == 2
    assert all(_summary(fake_dingtalk, t) == "王芳 已收到 08:03" for t in tracks)
    assert await adapter.cards.updates.run_once() == 0


async def _report(chat: Chat, clock: ManualClock, text: str, kind: str) -> Report:
    clock.advance(timedelta(minutes=37))  # 08:40, inside the first session
    assert "已记录" in (await chat.say("王芳", text) or "")
    async with chat.services.db.session() as s:
        room = (await s.exec(select(Room.id).where(Room.room_no == "第1考场"))).one()
        rows = (await s.exec(select(Report).where(Report.kind == kind, Report.room_id == room))).all()
    return rows[-1]


async def test_violation_card_tap_is_the_typed_confirmation(
    day: tuple[Chat, DingTalkAdapter, int], clock: ManualClock, fake_dingtalk: FakeDingTalk
) -> None:
    """The 确认 / 有异议 card about a 替考 (sent as the outbox sends it) to 李强: the labels are card variables;
    王芳's tap is refused naming 李强; 李强's tap confirms once; every copy shows 李强 已确认 08:40."""
    chat, adapter, _room = day
    row = await _report(chat, clock, "/违纪 1 2026000003 替考", "violation")
    assert row.id is not None
    text = card_text("【严重违纪待确认·编号 1】\n…\n回复“/确认 1”", row.id, CONFIRM_STEP)
    track = await adapter.send(OutgoingMessage(DEPUTY, text, TextFormat.CARD))
    assert track is not None
    assert fake_dingtalk.cards[track].data["ok_label"] == "确认"
    assert fake_dingtalk.cards[track].data["no_label"] == "有异议"
    refused = await adapter.cards.on_callback(card_callback(track, "wangfang"))
    assert "需要本考场另一名监考员（李强）确认" in refused["userPrivateData"]["cardParamMap"]["my_status"]
    ok = await adapter.cards.on_callback(card_callback(track, "liqiang"))
    assert ok["userPrivateData"]["cardParamMap"]["my_status"] == "已确认"
    assert await adapter.cards.on_callback(json.dumps(card_callback(track, "liqiang"))) == {}  # redelivered
    await eventually(lambda: _summary(fake_dingtalk, track) == "李强 已确认 08:40")
    async with chat.services.db.session() as s:
        assert len((await s.exec(select(Report).where(Report.kind == "confirm"))).all()) == 1


async def test_handover_card_confirm_and_a_late_typed_dispute(
    day: tuple[Chat, DingTalkAdapter, int], clock: ManualClock, fake_dingtalk: FakeDingTalk
) -> None:
    """The 确认 / 数量不符 card about 领取 30: 李强's 确认 is kept once and shows on the card; a later typed
    “/确认 N 数量不符” says it was confirmed already and changes nothing."""
    chat, adapter, _room = day
    row = await _report(chat, clock, "/试卷 1 领取 30", "papers")
    assert row.id is not None
    track = await adapter.send(OutgoingMessage(DEPUTY, card_text("领取 30 份", row.id, HANDOVER_STEP), TextFormat.CARD))
    assert track is not None and fake_dingtalk.cards[track].data["no_label"] == "数量不符"
    ok = await adapter.cards.on_callback(card_callback(track, "liqiang", action="ack"))
    assert ok["userPrivateData"]["cardParamMap"]["my_status"] == "已确认"
    await eventually(lambda: _summary(fake_dingtalk, track) == "李强 已确认 08:40")
    later = await chat.say("李强", f"/确认 {row.id} 数量不符") or ""
    assert later.startswith(f"编号 {row.id} 的领取份数（30 份）已由李强于 08:40 确认无误")
    async with chat.services.db.session() as s:
        logged = (await s.exec(select(AuditLog).where(AuditLog.entity == "papers_handover"))).all()
    assert [a.action for a in logged] == ["confirm"]


async def test_a_refused_violation_card_goes_as_text_with_the_typed_form(
    day: tuple[Chat, DingTalkAdapter, int], clock: ManualClock, fake_dingtalk: FakeDingTalk
) -> None:
    """Without Card.Instance.Write the violation card reaches 李强 as text naming “/确认 N” and “有异议”."""
    chat, adapter, _room = day
    row = await _report(chat, clock, "/违纪 1 2026000003 替考", "violation")
    assert row.id is not None
    fake_dingtalk.refuse_cards = True
    before = len(fake_dingtalk.deliveries)
    text = card_text(f"【严重违纪待确认·编号 {row.id}】\n有异议请回复“/确认 {row.id} 有异议”。", row.id, CONFIRM_STEP)
    assert await adapter.send(OutgoingMessage(DEPUTY, text, TextFormat.CARD)) is None
    (delivery,) = fake_dingtalk.deliveries[before:]
    content = json.loads(delivery.body["msgParam"])["content"]
    assert delivery.body["userIds"] == ["liqiang"] and f"/确认 {row.id} 有异议" in content and "card:" not in content

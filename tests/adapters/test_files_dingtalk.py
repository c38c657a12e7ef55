"""A file to a person on DingTalk: oapi media/upload (type=file), then oToMessages/batchSend with sampleFile.

Driven end to end: a signed HTTP callback runs a handler that stores a real openpyxl workbook and writes the
file message to the outbox in its transaction; the outbox sends it through the real adapter to the fake
DingTalk, and the test opens the bytes the fake received as a workbook.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from bot.app import SERVICES, create_app
from bot.clock import ManualClock
from bot.model import GroupTarget, file_message
from bot.settings import Settings
from bot.store.files import store_file
from bot.store.tables import OutboxMessage
from tests.adapters.conftest import eventually
from tests.fakes.dingtalk import FakeDingTalk, callback_headers, robot_message
from tests.fakes.files import ROWS, WORKBOOK_NAME, file_table, workbook_bytes, workbook_rows


def _now_ms(clock: ManualClock) -> int:
    return int(clock.now().timestamp() * 1000)


@pytest.fixture
async def client(dingtalk_settings: Settings, clock: ManualClock) -> AsyncIterator[TestClient[Any, Any]]:
    """The app with the /文件 handler, on the fake DingTalk."""
    app = create_app(dingtalk_settings, clock=clock, tables=[file_table()], components=[])
    c: TestClient[Any, Any] = TestClient(TestServer(app))
    await c.start_server()
    yield c
    await c.close()


def _app(client: TestClient[Any, Any]) -> web.Application:
    return client.server.app  # type: ignore[return-value]


async def _ask_for_file(client: TestClient[Any, Any], settings: Settings, clock: ManualClock, msg_id: str) -> None:
    body = robot_message("/文件", staff_id="user001", msg_id=msg_id, now_ms=_now_ms(clock))
    headers = callback_headers(settings.dingtalk_app_secret.get_secret_value(), _now_ms(clock))
    resp = await client.post("/dingtalk/callback", data=json.dumps(body, ensure_ascii=False).encode(), headers=headers)
    assert resp.status == 200
    assert (await resp.json())["text"]["content"] == "工作簿已私信发送"
    await _app(client)[SERVICES].notifier.settle()


async def test_workbook_reaches_the_person_as_a_sample_file(
    client: TestClient[Any, Any], dingtalk_settings: Settings, fake_dingtalk: FakeDingTalk, clock: ManualClock
) -> None:
    """The person who asked gets a robot 1:1 sampleFile message naming the uploaded workbook, its name and xlsx."""
    await _ask_for_file(client, dingtalk_settings, clock, "dmsg1")
    await eventually(lambda: len(fake_dingtalk.files_sent()) == 1)
    ((api, param, upload),) = fake_dingtalk.files_sent()
    assert api == "oToMessages/batchSend"
    delivery = fake_dingtalk.deliveries[-1]
    assert delivery.body["userIds"] == ["user001"] and delivery.body["robotCode"] == fake_dingtalk.robot_code
    assert param == {"mediaId": upload.media_id, "fileName": WORKBOOK_NAME, "fileType": "xlsx"}
    assert upload.filename == WORKBOOK_NAME
    assert workbook_rows(upload.data) == ROWS
    async with _app(client)[SERVICES].db.read() as s:
        row = (await s.exec(select(OutboxMessage).where(OutboxMessage.key == "file:dmsg1"))).one()
    assert (row.status, row.format) == ("sent", "file")


@pytest.mark.parametrize("mode", ["http500", "throttle", "token_expired"])
async def test_a_failed_upload_is_retried_and_the_file_still_arrives(
    client: TestClient[Any, Any],
    dingtalk_settings: Settings,
    fake_dingtalk: FakeDingTalk,
    clock: ManualClock,
    mode: str,
) -> None:
    """DingTalk down, throttling or refusing the token at upload: the file arrives once, on this pass (a fresh
    token) or on the next one after the backoff, from the bytes kept in the database."""
    fake_dingtalk.fail_next(mode)
    await _ask_for_file(client, dingtalk_settings, clock, f"dmsg-{mode}")
    if mode != "token_expired":
        assert fake_dingtalk.files_sent() == []
        clock.advance(timedelta(minutes=5))
        await _app(client)[SERVICES].notifier.outbox.run_once()
    assert len(fake_dingtalk.files_sent()) == 1
    assert workbook_rows(fake_dingtalk.files_sent()[0][2].data) == ROWS


async def test_custom_robot_gets_a_signed_link_that_downloads_the_workbook(
    client: TestClient[Any, Any], fake_dingtalk: FakeDingTalk, clock: ManualClock
) -> None:
    """A custom group robot (webhook, 加签) has no file messages: it gets the signed, expiring link as text."""
    services = _app(client)[SERVICES]
    async with services.db.session() as s:
        file_id = await store_file(s, WORKBOOK_NAME, workbook_bytes(), clock.now())
    webhook = f"{fake_dingtalk.url}/robot/send?access_token=robot-token-1"
    target = GroupTarget("dingtalk", webhook=webhook, secret="SECrobotsecret1")
    await services.notifier.notify([file_message(target, file_id, WORKBOOK_NAME, key="file:dgroup")])
    assert fake_dingtalk.upload_calls == 0
    (delivery,) = fake_dingtalk.deliveries
    assert delivery.api == "robot/send" and delivery.body["msgtype"] == "text"
    text = delivery.body["text"]["content"]
    assert f"文件：{WORKBOOK_NAME}" in text
    link = urlsplit(next(line for line in text.splitlines() if "/files/" in line))
    resp = await client.get(f"{link.path}?{link.query}")
    assert resp.status == 200
    assert workbook_rows(await resp.read()) == ROWS


async def test_robot_group_gets_the_file(
    client: TestClient[Any, Any], fake_dingtalk: FakeDingTalk, clock: ManualClock
) -> None:
    """A group the enterprise robot is in (openConversationId) gets the file as a sampleFile group message."""
    services = _app(client)[SERVICES]
    async with services.db.session() as s:
        file_id = await store_file(s, WORKBOOK_NAME, workbook_bytes(), clock.now())
    target = GroupTarget("dingtalk", chat_id="dingtalk:cidGroup123==")
    await services.notifier.notify([file_message(target, file_id, WORKBOOK_NAME, key="file:dconv")])
    ((api, param, upload),) = fake_dingtalk.files_sent()
    assert api == "groupMessages/send" and param["fileName"] == WORKBOOK_NAME
    assert fake_dingtalk.deliveries[-1].body["openConversationId"] == "cidGroup123=="
    assert workbook_rows(upload.data) == ROWS

"""A file to a person on WeCom: media/upload with the raw UTF-8 name, then message/send msgtype file.

Driven end to end: a WeCom callback runs a handler that stores a real openpyxl workbook and writes the file
message to the outbox in its transaction; the outbox sends it through the real adapter to the fake WeCom,
and the test opens the bytes the fake received as a workbook.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from bot.adapters import _files
from bot.app import SERVICES, create_app
from bot.clock import ManualClock
from bot.model import GroupTarget, PersonTarget, file_message
from bot.settings import Settings
from bot.store.files import store_file
from bot.store.tables import OutboxMessage
from tests.adapters.conftest import eventually
from tests.fakes.files import ROWS, WORKBOOK_NAME, file_table, workbook_bytes, workbook_rows
from tests.fakes.wecom import FakeWeCom, WeComPlatform


@pytest.fixture
async def client(wecom_settings: Settings, clock: ManualClock) -> AsyncIterator[TestClient[Any, Any]]:
    """The app with the /文件 handler, on the fake WeCom."""
    app = create_app(wecom_settings, clock=clock, tables=[file_table()], components=[])
    c: TestClient[Any, Any] = TestClient(TestServer(app))
    await c.start_server()
    yield c
    await c.close()


def _app(client: TestClient[Any, Any]) -> web.Application:
    return client.server.app  # type: ignore[return-value]


async def _ask_for_file(client: TestClient[Any, Any], platform: WeComPlatform, msg_id: str = "7001") -> None:
    query, body = platform.post(platform.message_xml("wangfang", "/文件", msg_id))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 200
    assert platform.open_reply(await resp.text())["Content"] == "工作簿已私信发送"
    await _app(client)[SERVICES].notifier.settle()


async def test_workbook_reaches_the_person_as_a_file_with_its_chinese_name(
    client: TestClient[Any, Any], wecom_platform: WeComPlatform, fake_wecom: FakeWeCom
) -> None:
    """The person who asked gets a msgtype file message whose upload is the workbook, named exactly
    考场情况记录表-2026-12-05.xlsx (raw UTF-8 in the Content-Disposition, never percent-encoded)."""
    await _ask_for_file(client, wecom_platform)
    await eventually(lambda: len(fake_wecom.files_sent()) == 1)
    ((api, upload),) = fake_wecom.files_sent()
    assert api == "message/send"
    delivery = fake_wecom.deliveries[-1]
    assert delivery.body["touser"] == "wangfang"
    assert delivery.body["agentid"] == 1000002
    assert delivery.body["file"] == {"media_id": upload.media_id}
    assert upload.filename == WORKBOOK_NAME
    assert f'filename="{WORKBOOK_NAME}"' in upload.disposition
    assert "%E8" not in upload.disposition and "filename*" not in upload.disposition
    assert workbook_rows(upload.data) == ROWS
    async with _app(client)[SERVICES].db.read() as s:
        row = (await s.exec(select(OutboxMessage).where(OutboxMessage.key == "file:7001"))).one()
    assert (row.status, row.format) == ("sent", "file")


async def test_aiohttp_default_form_would_send_an_encoded_name(fake_wecom: FakeWeCom) -> None:
    """The fake keeps the name as sent: aiohttp's default FormData percent-encodes it (what WeCom would show),
    which is why the adapter builds the multipart body itself."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake_wecom.url}/cgi-bin/gettoken",
                            params={"corpid": fake_wecom.corp_id, "corpsecret": fake_wecom.secret}) as r:  # fmt: skip
            token = (await r.json())["access_token"]
        form = aiohttp.FormData()
        form.add_field("media", workbook_bytes(), filename=WORKBOOK_NAME)
        async with http.post(f"{fake_wecom.url}/cgi-bin/media/upload",
                             params={"access_token": token, "type": "file"}, data=form) as r:  # fmt: skip
            media_id = (await r.json())["media_id"]
    assert fake_wecom.uploads[media_id].filename != WORKBOOK_NAME
    assert fake_wecom.uploads[media_id].filename.startswith("%E8%80%83")
    body, content_type = _files.multipart("media", WORKBOOK_NAME, b"0123456789")
    assert f'filename="{WORKBOOK_NAME}"'.encode() in body and content_type.startswith("multipart/form-data")


@pytest.mark.parametrize("mode", ["http500", "45009", "-1"])
async def test_a_failed_upload_is_retried_and_the_file_still_arrives(
    client: TestClient[Any, Any], wecom_platform: WeComPlatform, fake_wecom: FakeWeCom, clock: ManualClock, mode: str
) -> None:
    """WeCom down (HTTP 500), rate-limited (45009) or busy (-1) at upload: the row goes back to pending with the
    error, and the next pass, after the backoff, uploads the same stored bytes and sends the file."""
    fake_wecom.fail_next(mode)
    await _ask_for_file(client, wecom_platform, "7002")
    assert fake_wecom.files_sent() == []
    outbox = _app(client)[SERVICES].notifier.outbox
    async with outbox.db.read() as s:
        row = (await s.exec(select(OutboxMessage).where(OutboxMessage.key == "file:7002"))).one()
    assert row.status == "pending" and row.last_error
    clock.advance(timedelta(minutes=5))
    await outbox.run_once()
    assert len(fake_wecom.files_sent()) == 1
    assert workbook_rows(fake_wecom.files_sent()[0][1].data) == ROWS


async def test_a_failed_send_after_the_upload_is_retried(
    client: TestClient[Any, Any], wecom_platform: WeComPlatform, fake_wecom: FakeWeCom, clock: ManualClock
) -> None:
    """The upload succeeds and message/send fails: the retry uploads again (a fresh media_id) and sends once."""
    fake_wecom.fail_next("pass")  # the upload works
    fake_wecom.fail_next("-1")  # message/send: system busy
    await _ask_for_file(client, wecom_platform, "7003")
    assert fake_wecom.upload_calls == 1 and fake_wecom.files_sent() == []
    clock.advance(timedelta(minutes=5))
    await _app(client)[SERVICES].notifier.outbox.run_once()
    assert fake_wecom.upload_calls == 2
    assert len(fake_wecom.files_sent()) == 1


async def test_group_robot_gets_a_signed_link_that_downloads_the_workbook(
    client: TestClient[Any, Any], fake_wecom: FakeWeCom, clock: ManualClock
) -> None:
    """A WeCom group robot cannot take the app's files: it gets a text with the signed, expiring link, and the
    link downloads the same workbook."""
    services = _app(client)[SERVICES]
    async with services.db.session() as s:
        file_id = await store_file(s, WORKBOOK_NAME, workbook_bytes(), clock.now())
    await services.notifier.notify([file_message(GroupTarget("wecom", webhook="robot-key-1"), file_id, WORKBOOK_NAME,
                                                 key="file:group")])  # fmt: skip
    assert fake_wecom.upload_calls == 0
    (delivery,) = fake_wecom.deliveries
    assert delivery.api == "webhook/send" and delivery.body["msgtype"] == "text"
    text = delivery.body["text"]["content"]
    assert f"文件：{WORKBOOK_NAME}" in text and "有效" in text
    link = next(line for line in text.splitlines() if "/files/" in line)
    parts = urlsplit(link)
    resp = await client.get(f"{parts.path}?{parts.query}")
    assert resp.status == 200
    assert workbook_rows(await resp.read()) == ROWS
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]


async def test_a_file_past_the_upload_limit_goes_to_the_person_as_a_link(
    client: TestClient[Any, Any], fake_wecom: FakeWeCom, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file larger than WeCom's 20 MB upload limit is not uploaded: the person gets the download link."""
    monkeypatch.setattr(_files, "MAX_UPLOAD_BYTES", 100)
    services = _app(client)[SERVICES]
    async with services.db.session() as s:
        file_id = await store_file(s, WORKBOOK_NAME, workbook_bytes(), clock.now())
    await services.notifier.notify([file_message(PersonTarget("wecom", "wangfang"), file_id, WORKBOOK_NAME,
                                                 key="file:big")])  # fmt: skip
    assert fake_wecom.upload_calls == 0
    (delivery,) = fake_wecom.deliveries
    assert delivery.body["msgtype"] == "text" and "/files/" in delivery.body["text"]["content"]

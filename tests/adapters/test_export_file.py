"""/导出 from the office's phone: the day's 考场情况记录表 arrives as an Excel file on WeCom and on DingTalk.

The real command table, the real adapters and the fake platforms: the test opens the bytes each fake received
as a workbook and checks its sheets against the demo day.
"""

from __future__ import annotations

import io
import json
from typing import Any

import openpyxl
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import col, select

from bot.app import SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import Settings
from bot.store.tables import AuditLog
from tests.adapters.conftest import eventually
from tests.fakes.dingtalk import FakeDingTalk, callback_headers, robot_message
from tests.fakes.wecom import FakeWeCom, WeComPlatform


async def _client(settings: Settings, clock: ManualClock) -> TestClient[Any, Any]:
    app = create_app(settings, clock=clock, components=[])
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    await seed_demo(app[SERVICES].db, clock.now(), settings.tz)
    return client


def _sheets(data: bytes) -> list[str]:
    return openpyxl.load_workbook(io.BytesIO(data), read_only=True).sheetnames


async def _audited(client: TestClient[Any, Any]) -> int:
    async with client.server.app[SERVICES].db.read() as s:
        return len((await s.exec(select(AuditLog).where(col(AuditLog.action) == "export"))).all())


async def test_export_on_wecom_sends_the_workbook_file(
    wecom_settings: Settings, wecom_platform: WeComPlatform, fake_wecom: FakeWeCom, clock: ManualClock
) -> None:
    client = await _client(wecom_settings, clock)
    try:
        query, body = wecom_platform.post(wecom_platform.message_xml("qianjin", "/导出 今天", "8101"))
        resp = await client.post(f"/wecom/callback?{query}", data=body)
        assert "考场情况记录表" in wecom_platform.open_reply(await resp.text())["Content"]
        await client.server.app[SERVICES].notifier.settle()
        await eventually(lambda: len(fake_wecom.files_sent()) == 1)
        ((_api, upload),) = fake_wecom.files_sent()
        assert fake_wecom.deliveries[-1].body["touser"] == "qianjin"
        assert upload.filename.startswith("考场情况记录表_") and upload.filename.endswith(".xlsx")
        sheets = _sheets(upload.data)
        assert sheets[:3] == ["汇总", "违纪", "缺考"] and "演示第1场-第1考场" in sheets
        assert await _audited(client) == 1
    finally:
        await client.close()


async def test_export_on_dingtalk_sends_the_workbook_file(
    dingtalk_settings: Settings, fake_dingtalk: FakeDingTalk, clock: ManualClock
) -> None:
    client = await _client(dingtalk_settings, clock)
    try:
        now_ms = int(clock.now().timestamp() * 1000)
        body = robot_message("/导出", staff_id="dd_qianjin", msg_id="dexp1", now_ms=now_ms)
        headers = callback_headers(dingtalk_settings.dingtalk_app_secret.get_secret_value(), now_ms)
        resp = await client.post(
            "/dingtalk/callback", data=json.dumps(body, ensure_ascii=False).encode(), headers=headers
        )
        assert "考场情况记录表" in (await resp.json())["text"]["content"]
        await client.server.app[SERVICES].notifier.settle()
        await eventually(lambda: len(fake_dingtalk.files_sent()) == 1)
        ((_api, param, upload),) = fake_dingtalk.files_sent()
        assert param["fileType"] == "xlsx" and param["fileName"] == upload.filename
        assert "演示第1场-第1考场" in _sheets(upload.data)
    finally:
        await client.close()

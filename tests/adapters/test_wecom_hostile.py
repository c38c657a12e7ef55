"""WeCom callbacks with hostile but correctly signed content: NUL, over-long ids, replayed verification."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from bot.app import ADAPTERS, SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import Settings
from bot.store.tables import Report
from tests.fakes.wecom import WeComPlatform


@pytest.fixture
async def demo_client(db_url: str, wecom_settings: Settings, clock: ManualClock) -> AsyncIterator[TestClient[Any, Any]]:
    """The full app (every handler) with WeCom on, on SQLite or PostgreSQL, seeded with the demo day."""
    settings = wecom_settings.model_copy(update={"database_url": db_url})
    app = create_app(settings, clock=clock, components=[])
    app[ADAPTERS]["wecom"].flow.wait = 60.0  # the reply always goes into the response
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    await seed_demo(app[SERVICES].db, clock.now(), settings.tz)
    yield client
    await client.close()


async def _reports(client: TestClient[Any, Any]) -> list[Report]:
    async with client.server.app[SERVICES].db.read() as s:  # type: ignore[union-attr]
        return list((await s.exec(select(Report))).all())


INCIDENT_REPLY = "已记录第1考场突发事件（编号 1）：考生晕倒。已通知考务办公室和督导（3 人）；请按突发事件应急预案处置。"


@pytest.mark.parametrize("nul", ["\x00", ""], ids=["nul", "no-nul"])
async def test_nul_and_long_msgid_recorded_on_both_databases(
    demo_client: TestClient[Any, Any], wecom_platform: WeComPlatform, nul: str
) -> None:
    """NUL in the text and a 300-character MsgId: the report is recorded once, with the same reply, on both DBs."""
    msg_id = "7" + nul + "1" * 298
    xml = wecom_platform.message_xml("wangfang", f"/突发 1 考生{nul}晕倒", msg_id)
    query, body = wecom_platform.post(xml)
    resp = await demo_client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 200
    reply = wecom_platform.open_reply(await resp.text())["Content"]
    assert (
        reply == "已记录第1考场突发事件（编号 1）：考生晕倒。已通知考务办公室和督导（3 人）；请按突发事件应急预案处置。"
    )
    reports = await _reports(demo_client)
    assert len(reports) == 1
    # NUL dropped, then hashed past the column's 128 characters, as the dedupe ledger keys it
    assert reports[0].message_id == "sha256:" + hashlib.sha256(("7" + "1" * 298).encode()).hexdigest()
    assert "\x00" not in str(reports[0].payload) and "考生晕倒" in str(reports[0].payload)
    query, body = wecom_platform.post(xml)  # WeCom's retry of the same message
    again = await demo_client.post(f"/wecom/callback?{query}", data=body)
    assert again.status == 200 and await again.read() == b""
    assert len(await _reports(demo_client)) == 1

"""WeCom callbacks with hostile but correctly signed content: NUL, over-long ids, replayed verification."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from bot.adapters.wecom import signature
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


def _verification(platform: WeComPlatform, echo_plain: str, timestamp: int | None = None) -> str:
    """The query of WeCom's URL-check GET whose echostr decrypts to ``echo_plain``."""
    ts = str(int(platform.now()) if timestamp is None else timestamp)
    echostr = platform.encrypt(echo_plain)
    sig = signature(platform.token, ts, "1234567", echostr)
    return urlencode({"msg_signature": sig, "timestamp": ts, "nonce": "1234567", "echostr": echostr})


async def test_fresh_verification_answered(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform
) -> None:
    """A genuine URL check with a current timestamp is answered with the decrypted echostr, as is."""
    client = await app_client(wecom_settings)
    resp = await client.get("/wecom/callback?" + _verification(wecom_platform, "6125834771290384712"))
    assert resp.status == 200
    assert await resp.read() == b"6125834771290384712"


async def test_stale_verification_refused_like_a_stale_post(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform
) -> None:
    """A URL check signed over an hour ago is refused with 403, the status of a stale POST."""
    client = await app_client(wecom_settings)
    old = int(wecom_platform.now()) - 3601
    resp = await client.get("/wecom/callback?" + _verification(wecom_platform, "6125834771290384712", old))
    query, body = wecom_platform.post(wecom_platform.message_xml("wangfang", "hi", "41"), timestamp=old)
    post = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == post.status == 403
    assert await resp.read() != b"6125834771290384712"


async def test_captured_message_replayed_as_echostr_refused(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform
) -> None:
    """A captured message's signed <Encrypt> replayed as echostr is refused; its plaintext is never answered."""
    client = await app_client(wecom_settings)
    secret = "考生 110101199001011234 身份证号"
    query, body = wecom_platform.post(wecom_platform.message_xml("wangfang", secret, "42"))
    params = dict(parse_qsl(query))
    encrypt = body.decode().split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    resp = await client.get("/wecom/callback?" + urlencode({**params, "echostr": encrypt}))
    assert resp.status == 403
    assert "110101199001011234" not in await resp.text()

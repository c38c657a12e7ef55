"""DingTalk robot HTTP callback: signatures, round trip, replay, hostile bodies, late replies."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from bot.adapters._dingtalk_api import sign, signed_webhook_url, verify_sign
from bot.app import ADAPTERS, SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import Settings
from bot.store.tables import Report
from tests.adapters.conftest import Probe, eventually
from tests.fakes.dingtalk import FakeDingTalk, callback_headers, robot_message


def now_ms(clock: ManualClock) -> int:
    """The test clock in milliseconds."""
    return int(clock.now().timestamp() * 1000)


@pytest.mark.parametrize(
    ("timestamp", "secret", "expected", "quoted"),
    [
        (
            "1577262236757",
            "this is secret",
            "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=",
            "hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D",
        ),
        (
            "1700000000000",
            "SEC000000000000000000000",
            "1zJ/w34EOSVAYr7cu7Vo8LnebmK2/GrCgegtr8mQrqM=",
            "1zJ%2Fw34EOSVAYr7cu7Vo8LnebmK2%2FGrCgegtr8mQrqM%3D",
        ),
    ],
)
def test_sign_vectors(timestamp: str, secret: str, expected: str, quoted: str) -> None:
    """The HMAC-SHA256 sign matches the cross-checked vectors, URL-encoded with quote_plus for webhooks."""
    assert sign(timestamp, secret) == expected
    url = signed_webhook_url("https://oapi.dingtalk.com/robot/send?access_token=t", secret, int(timestamp))
    assert url == f"https://oapi.dingtalk.com/robot/send?access_token=t&timestamp={timestamp}&sign={quoted}"


def test_verify_sign_window() -> None:
    """A sign is good within one hour either way and refused outside it or when altered."""
    ts = 1577262236757
    good = sign(str(ts), "this is secret")
    assert verify_sign(str(ts), good, "this is secret", ts + 3_600_000) is None
    assert verify_sign(str(ts), good, "this is secret", ts - 3_600_000) is None
    assert verify_sign(str(ts), good, "this is secret", ts + 3_600_001) == "stale_timestamp"
    assert verify_sign(str(ts), good[:-2] + "A=", "this is secret", ts) == "bad_signature"
    assert verify_sign("abc", good, "this is secret", ts) == "bad_timestamp"
    assert verify_sign(str(ts), "中文", "this is secret", ts) == "bad_signature"


async def _post(client: Any, settings: Settings, clock: ManualClock, body: Any, **kw: Any) -> Any:
    secret = kw.pop("secret", settings.dingtalk_app_secret.get_secret_value())
    headers = callback_headers(secret, kw.pop("ts", now_ms(clock)))
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return await client.post("/dingtalk/callback", data=data, headers=headers)


async def test_round_trip_private(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, probe: Probe
) -> None:
    """A signed private message reaches the handler and the reply is a text robot message in the response."""
    client = await app_client(dingtalk_settings)
    resp = await _post(client, dingtalk_settings, clock, robot_message("几点开考", now_ms=now_ms(clock)))
    assert resp.status == 200
    body = await resp.json()
    assert body["msgtype"] == "text" and body["text"]["content"] == "收到：几点开考"
    msg = probe.seen[0]
    assert (msg.channel, msg.sender_id, msg.chat_id, msg.sender_name) == ("dingtalk", "user001", None, "王芳")


async def test_round_trip_group_mentions_sender(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, probe: Probe
) -> None:
    """In a group the message has chat_id 'dingtalk:<conversationId>' and the reply @-mentions the sender."""
    client = await app_client(dingtalk_settings)
    resp = await _post(client, dingtalk_settings, clock, robot_message("你好", group=True, now_ms=now_ms(clock)))
    body = await resp.json()
    assert probe.seen[0].chat_id == "dingtalk:cidGroup123=="
    assert probe.seen[0].text == "你好"
    assert body["at"]["atUserIds"] == ["user001"]
    assert body["text"]["content"] == "@user001\n收到：你好"


async def test_help_through_dingtalk(dingtalk_settings: Settings, app_client: Any, clock: ManualClock) -> None:
    """/帮助 over DingTalk answers the help text."""
    client = await app_client(dingtalk_settings)
    resp = await _post(client, dingtalk_settings, clock, robot_message("/帮助", now_ms=now_ms(clock)))
    assert "您可以使用以下命令" in (await resp.json())["text"]["content"]


async def test_forged_sign_refused(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, probe: Probe
) -> None:
    """A callback signed with another secret is refused with 403 and not handled."""
    client = await app_client(dingtalk_settings)
    resp = await _post(client, dingtalk_settings, clock, robot_message("x"), secret="guessed")
    assert resp.status == 403
    assert probe.seen == []


async def test_missing_headers_refused(dingtalk_settings: Settings, app_client: Any) -> None:
    """A callback without timestamp/sign headers is refused with 403."""
    client = await app_client(dingtalk_settings)
    resp = await client.post("/dingtalk/callback", json=robot_message("x"))
    assert resp.status == 403


@pytest.mark.parametrize("offset_ms", [-3_600_001, 3_600_001, -86_400_000])
async def test_stale_timestamp_refused(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, offset_ms: int
) -> None:
    """A correctly signed callback whose timestamp is more than an hour off is refused with 403."""
    client = await app_client(dingtalk_settings)
    resp = await _post(client, dingtalk_settings, clock, robot_message("x"), ts=now_ms(clock) + offset_ms)
    assert resp.status == 403


async def test_replay_handled_once(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, probe: Probe
) -> None:
    """The same msgId delivered again (freshly signed) is acknowledged empty and not handled again."""
    client = await app_client(dingtalk_settings)
    message = robot_message("缺考 2 人", msg_id="msgREPLAY1", now_ms=now_ms(clock))
    await _post(client, dingtalk_settings, clock, message)
    clock.advance(timedelta(seconds=10))
    again = await _post(client, dingtalk_settings, clock, message)
    assert again.status == 200
    assert await again.json() == {"msgtype": "empty"}
    assert len(probe.seen) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b"[1, 2]",
        b'"text"',
        b"\xff\xfe{}",
        json.dumps({"msgtype": "text", "text": {"content": "no ids"}}).encode(),
        json.dumps({**robot_message("x"), "text": "not an object"}).encode(),
        json.dumps({**robot_message("x"), "msgId": ["list"]}).encode(),
        json.dumps({**robot_message("x"), "senderStaffId": {"a": 1}}).encode(),
    ],
    ids=["empty", "broken", "array", "string", "bad-utf8", "no-ids", "text-string", "msgid-list", "staff-dict"],
)
async def test_malformed_body_is_400(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, body: bytes, probe: Probe
) -> None:
    """Correctly signed but malformed bodies get 400 with no stack trace, never 500."""
    client = await app_client(dingtalk_settings)
    resp = await _post(client, dingtalk_settings, clock, body)
    assert resp.status == 400
    assert "Traceback" not in await resp.text()
    assert probe.seen == []


async def test_oversized_body_is_413(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, probe: Probe
) -> None:
    """A signed body over 64 KiB gets 413, with or without a Content-Length (chunked)."""
    client = await app_client(dingtalk_settings)
    resp = await _post(client, dingtalk_settings, clock, robot_message("长" * 30000))
    assert resp.status == 413
    data = json.dumps(robot_message("长" * 30000, now_ms=now_ms(clock)), ensure_ascii=False).encode()

    async def chunks() -> Any:
        for i in range(0, len(data), 8192):
            yield data[i : i + 8192]

    headers = callback_headers(dingtalk_settings.dingtalk_app_secret.get_secret_value(), now_ms(clock))
    resp = await client.post("/dingtalk/callback", data=chunks(), headers=headers)
    assert resp.status == 413
    assert probe.seen == []


async def test_non_text_message_gets_hint(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, probe: Probe
) -> None:
    """A picture message is answered with a hint to type text; no handler runs."""
    client = await app_client(dingtalk_settings)
    resp = await _post(client, dingtalk_settings, clock, robot_message("", msgtype="picture"))
    assert "只能处理文字消息" in (await resp.json())["text"]["content"]
    assert probe.seen == []


async def test_slow_reply_goes_to_session_webhook(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, probe: Probe, fake_dingtalk: FakeDingTalk
) -> None:
    """A reply not ready in time is acknowledged empty, then POSTed to the sessionWebhook."""
    client = await app_client(dingtalk_settings, reply_wait=0.01)
    hook = fake_dingtalk.session_webhook()
    message = robot_message("/慢", group=True, session_webhook=hook, now_ms=now_ms(clock))
    resp = await _post(client, dingtalk_settings, clock, message)
    assert await resp.json() == {"msgtype": "empty"}
    probe.gate.set()
    await eventually(lambda: len(fake_dingtalk.deliveries) == 1)
    d = fake_dingtalk.deliveries[0]
    assert d.api == "sendBySession"
    assert d.body["text"]["content"] == "@user001\n久等了"
    assert d.body["at"]["atUserIds"] == ["user001"]


async def test_slow_reply_after_session_expiry_uses_openapi(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, probe: Probe, fake_dingtalk: FakeDingTalk
) -> None:
    """With the sessionWebhook expired, the late reply goes to the person through oToMessages/batchSend."""
    client = await app_client(dingtalk_settings, reply_wait=0.01)
    message = robot_message("/慢", session_webhook=fake_dingtalk.session_webhook(), now_ms=now_ms(clock))
    message["sessionWebhookExpiredTime"] = now_ms(clock) - 1
    await _post(client, dingtalk_settings, clock, message)
    probe.gate.set()
    await eventually(lambda: len(fake_dingtalk.deliveries) == 1)
    d = fake_dingtalk.deliveries[0]
    assert d.api == "oToMessages/batchSend"
    assert d.body["userIds"] == ["user001"]
    assert json.loads(d.body["msgParam"]) == {"content": "久等了"}


async def test_session_webhook_on_foreign_host_not_used(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, probe: Probe, fake_dingtalk: FakeDingTalk
) -> None:
    """A sessionWebhook outside DingTalk's API host is never called (no request forgery); OpenAPI is used."""
    client = await app_client(dingtalk_settings, reply_wait=0.01)
    message = robot_message("/慢", session_webhook="http://169.254.169.254/latest", now_ms=now_ms(clock))
    await _post(client, dingtalk_settings, clock, message)
    probe.gate.set()
    await eventually(lambda: len(fake_dingtalk.deliveries) == 1)
    assert fake_dingtalk.deliveries[0].api == "oToMessages/batchSend"


async def test_markdown_reply_in_response(dingtalk_settings: Settings, app_client: Any, clock: ManualClock) -> None:
    """A markdown answer is returned as a markdown robot message."""
    client = await app_client(dingtalk_settings)
    body = await (await _post(client, dingtalk_settings, clock, robot_message("/格式", now_ms=now_ms(clock)))).json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["text"] == "**加粗**"


async def test_nothing_secret_is_logged(
    dingtalk_settings: Settings, app_client: Any, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Message text, the app secret and signatures stay out of the logs, also for rejected callbacks."""
    client = await app_client(dingtalk_settings)
    text = "考生李四准考证号 20261205001 作弊"
    await _post(client, dingtalk_settings, clock, robot_message(text, now_ms=now_ms(clock)))
    await _post(client, dingtalk_settings, clock, robot_message(text), secret="forged")
    await _post(client, dingtalk_settings, clock, b"{" + text.encode())
    out = capsys.readouterr()
    logs = out.out + out.err
    assert "callback_rejected" in logs
    for secret in (text, "20261205001", dingtalk_settings.dingtalk_app_secret.get_secret_value()):
        assert secret not in logs


async def test_nul_and_long_msgid_recorded_on_both_databases(
    db_url: str, dingtalk_settings: Settings, clock: ManualClock
) -> None:
    """DingTalk too: NUL in the text and a 300-character msgId record one report, the same on SQLite and PostgreSQL."""
    settings = dingtalk_settings.model_copy(update={"database_url": db_url})
    app = create_app(settings, clock=clock, components=[])
    app[ADAPTERS]["dingtalk"].flow.wait = 60.0  # the reply always goes into the response
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        await seed_demo(app[SERVICES].db, clock.now(), settings.tz)
        msg_id = "m\x00" + "5" * 298
        body = robot_message("/突发 1 考生\x00晕倒", staff_id="dd_wangfang", msg_id=msg_id, now_ms=now_ms(clock))
        resp = await _post(client, settings, clock, body)
        assert resp.status == 200
        reply = (await resp.json())["text"]["content"]
        assert reply.startswith("已记录第1考场突发事件（编号 1）：考生晕倒。已通知考务办公室")
        again = await _post(client, settings, clock, body)  # DingTalk's redelivery
        assert again.status == 200
        async with app[SERVICES].db.read() as s:
            reports = list((await s.exec(select(Report))).all())
        assert len(reports) == 1
        assert reports[0].message_id == "sha256:" + hashlib.sha256(("m" + "5" * 298).encode()).hexdigest()
    finally:
        await client.close()

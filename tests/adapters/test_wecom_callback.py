"""WeCom callback: URL verification, encrypted round trip, and everything hostile the internet may send."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.adapters.wecom import signature
from bot.clock import ManualClock
from bot.settings import Settings
from tests.adapters.conftest import Probe, adapter_of, eventually
from tests.fakes.wecom import FakeWeCom, WeComPlatform

# Official Tencent sample (path/91144, callback/Sample.py): protocols.md §2.2
OFFICIAL = {"token": "QDG6eK", "aes": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "corp": "wx5823bf96d3bd56c7"}
B2_BODY = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK"
    "1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8"
    "dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r"
    "+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/u"
    "h9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CD"
    "ATA[218]]></AgentID></xml>"
)
# wechatpy 1.8.18 tests/test_crypto.py: protocols.md §2.1
WECHATPY = {"token": "123456", "aes": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "corp": "wx49f0ab532d5d035a"}
A1_ECHO = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="


def _settings(make_settings: Callable[..., Settings], sample: dict[str, str], agent: str = "218") -> Settings:
    return make_settings(
        wecom_corp_id=sample["corp"],
        wecom_agent_id=agent,
        wecom_secret="unused",
        wecom_token=sample["token"],
        wecom_aes_key=sample["aes"],
        wecom_api_base="http://127.0.0.1:9",
    )


async def test_url_verification_official_sample(
    make_settings: Callable[..., Settings], app_client: Any, clock: ManualClock
) -> None:
    """The official VerifyURL sample (percent-encoded echostr) answers the plaintext exactly, nothing added."""
    clock.set(datetime.fromtimestamp(1409659589, UTC))  # the GET has the POST's timestamp window
    client = await app_client(_settings(make_settings, OFFICIAL))
    echostr = "P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D"
    resp = await client.get(
        "/wecom/callback?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
        f"&timestamp=1409659589&nonce=263014780&echostr={echostr}"
    )
    assert resp.status == 200
    assert await resp.read() == b"1616140317555161061"


async def test_url_verification_wechatpy_vector(
    make_settings: Callable[..., Settings], app_client: Any, clock: ManualClock
) -> None:
    """wechatpy's check_signature vector verifies; the same values with another nonce are refused with 403."""
    clock.set(datetime.fromtimestamp(1411443780, UTC))
    client = await app_client(_settings(make_settings, WECHATPY, agent="1"))
    query = {
        "msg_signature": "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
        "timestamp": "1411443780",
        "nonce": "437374425",
        "echostr": A1_ECHO,
    }
    resp = await client.get("/wecom/callback?" + urlencode(query))
    assert resp.status == 200
    assert await resp.text() == "5927782489442352469"
    resp = await client.get("/wecom/callback?" + urlencode({**query, "nonce": "437374424"}))
    assert resp.status == 403


async def test_url_verification_unencoded_plus(
    make_settings: Callable[..., Settings], app_client: Any, clock: ManualClock
) -> None:
    """An echostr whose '+' arrived unencoded (decoded to a space) still verifies."""
    clock.set(datetime.fromtimestamp(1411443780, UTC))
    client = await app_client(_settings(make_settings, WECHATPY, agent="1"))
    raw = (
        "/wecom/callback?msg_signature=dd6b9c95b495b3f7e2901bfbc76c664930ffdb96&timestamp=1411443780"
        f"&nonce=437374425&echostr={A1_ECHO.replace('=', '%3D')}"
    )
    resp = await client.get(raw)
    assert resp.status == 200
    assert await resp.text() == "5927782489442352469"


async def test_url_verification_missing_parameters(make_settings: Callable[..., Settings], app_client: Any) -> None:
    """A GET without the four parameters is a 400, not a 500."""
    client = await app_client(_settings(make_settings, OFFICIAL))
    resp = await client.get("/wecom/callback?msg_signature=abc")
    assert resp.status == 400


async def test_official_message_vector_round_trip(
    make_settings: Callable[..., Settings], app_client: Any, clock: ManualClock, probe: Probe
) -> None:
    """The official DecryptMsg sample reaches the handler as 'hello' from 'mycreate'; the reply decrypts."""
    clock.set(datetime.fromtimestamp(1409659813, UTC))
    client = await app_client(_settings(make_settings, OFFICIAL))
    resp = await client.post(
        "/wecom/callback?msg_signature=477715d11cdb4164915debcba66cb864d751f3e6&timestamp=1409659813&nonce=1372623149",
        data=B2_BODY.encode(),
    )
    assert resp.status == 200
    msg = probe.seen[0]
    assert (msg.channel, msg.sender_id, msg.text, msg.chat_id) == ("wecom", "mycreate", "hello", None)
    assert msg.message_id == "4561255354251345929"
    platform = WeComPlatform(OFFICIAL["token"], OFFICIAL["aes"], OFFICIAL["corp"], 218)
    reply = platform.open_reply(await resp.text())
    assert reply["Content"] == "收到：hello"
    assert reply["ToUserName"] == "mycreate"
    assert reply["FromUserName"] == OFFICIAL["corp"]
    assert reply["AgentID"] == "218"
    assert reply["MsgType"] == "text"


async def test_round_trip_passive_reply(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform, probe: Probe
) -> None:
    """A text message is decrypted, handled, and answered with an encrypted passive reply WeCom can verify."""
    client = await app_client(wecom_settings)
    query, body = wecom_platform.post(wecom_platform.message_xml("wangfang", "几点开考？]]> <b>", "1001"))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 200
    reply = wecom_platform.open_reply(await resp.text())
    assert reply["Content"] == "收到：几点开考？]]> <b>"
    assert reply["ToUserName"] == "wangfang"
    assert probe.seen[0].sender_id == "wangfang"


async def test_help_command_through_wecom(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform
) -> None:
    """/帮助 sent from WeCom comes back as the help text."""
    client = await app_client(wecom_settings)
    query, body = wecom_platform.post(wecom_platform.message_xml("wangfang", "/帮助", "1002"))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert "您可以使用以下命令" in wecom_platform.open_reply(await resp.text())["Content"]


async def test_enter_agent_greets_with_help(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform
) -> None:
    """Opening the app (enter_agent event) is answered with the help text, once per event."""
    client = await app_client(wecom_settings)
    query, body = wecom_platform.post(wecom_platform.event_xml("wangfang", "enter_agent"))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert "您可以使用以下命令" in wecom_platform.open_reply(await resp.text())["Content"]
    again = await client.post(f"/wecom/callback?{query}", data=body)
    assert again.status == 200 and await again.read() == b""


async def test_other_events_ignored(wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform) -> None:
    """Events other than enter_agent get an empty 200 and reach no handler."""
    client = await app_client(wecom_settings)
    query, body = wecom_platform.post(wecom_platform.event_xml("wangfang", "click"))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 200 and await resp.read() == b""


async def test_non_text_message_gets_hint(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform, probe: Probe
) -> None:
    """An image message is answered with a hint to type text; no handler runs."""
    client = await app_client(wecom_settings)
    xml = wecom_platform.message_xml("wangfang", "x", "1003").replace("<![CDATA[text]]>", "<![CDATA[image]]>")
    query, body = wecom_platform.post(xml)
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert "只能处理文字消息" in wecom_platform.open_reply(await resp.text())["Content"]
    assert probe.seen == []


async def test_replayed_message_handled_once(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform, probe: Probe
) -> None:
    """WeCom's retry of the same MsgId (even with a new nonce and signature) reaches the handler once."""
    client = await app_client(wecom_settings)
    xml = wecom_platform.message_xml("wangfang", "缺考 3 人", "424242")
    query, body = wecom_platform.post(xml)
    first = await client.post(f"/wecom/callback?{query}", data=body)
    assert first.status == 200
    assert wecom_platform.open_reply(await first.text())["Content"] == "收到：缺考 3 人"
    for _ in range(3):
        query, body = wecom_platform.post(xml)
        resp = await client.post(f"/wecom/callback?{query}", data=body)
        assert resp.status == 200 and await resp.read() == b""
    assert len(probe.seen) == 1


async def test_dedupe_shared_between_instances(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform, probe: Probe
) -> None:
    """Two app instances on one database handle a retried MsgId once between them."""
    one = await app_client(wecom_settings)
    two = await app_client(wecom_settings)
    xml = wecom_platform.message_xml("wangfang", "你好", "777")
    for client in (one, two):
        query, body = wecom_platform.post(xml)
        assert (await client.post(f"/wecom/callback?{query}", data=body)).status == 200
    assert len(probe.seen) == 1


async def test_forged_signature_refused(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform, probe: Probe
) -> None:
    """A message signed with another token is refused with 403 and never decrypted or handled."""
    client = await app_client(wecom_settings)
    query, body = wecom_platform.post(wecom_platform.message_xml("wangfang", "hi", "1"), token="not-the-token")
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 403
    assert probe.seen == []


async def test_stale_timestamp_refused(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform, clock: ManualClock
) -> None:
    """A correctly signed message whose timestamp is over an hour old is refused with 403 (replay window)."""
    client = await app_client(wecom_settings)
    old = int(clock.now().timestamp()) - 3601
    query, body = wecom_platform.post(wecom_platform.message_xml("wangfang", "hi", "2"), timestamp=old)
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 403


async def test_message_for_another_corp_refused(wecom_settings: Settings, app_client: Any, clock: ManualClock) -> None:
    """A message encrypted for another CorpID (right token and key) is refused with 403."""
    from tests.adapters.conftest import WECOM_AES_KEY, WECOM_TOKEN

    client = await app_client(wecom_settings)
    other = WeComPlatform(WECOM_TOKEN, WECOM_AES_KEY, "wwsomeothercorp", now=lambda: clock.now().timestamp())
    query, body = other.post(other.message_xml("x", "hi", "3"))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 403


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><Encrypt>&lol3;</Encrypt></xml>'
)
XXE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml at all",
        b"<xml><ToUserName>x</ToUserName></xml>",
        b"<xml><Encrypt>",
        b"<other><Encrypt>abc</Encrypt></other>",
        BILLION_LAUGHS,
        XXE,
        b"<xml><Encrypt>\xff\xfe\xfa</Encrypt></xml>",
        b"\x00\x01\x02",
    ],
    ids=["empty", "text", "no-encrypt", "truncated", "wrong-root", "billion-laughs", "xxe", "bad-utf8", "binary"],
)
async def test_malformed_outer_body_is_400(
    wecom_settings: Settings, app_client: Any, clock: ManualClock, body: bytes
) -> None:
    """Bodies that are not WeCom's XML (including entity expansion and XXE) get 400, never 500."""
    client = await app_client(wecom_settings)
    ts = str(int(clock.now().timestamp()))
    resp = await client.post(f"/wecom/callback?msg_signature=00&timestamp={ts}&nonce=1", data=body)
    assert resp.status == 400
    assert "Traceback" not in await resp.text()


@pytest.mark.parametrize(
    "plaintext",
    [
        b"not xml",
        b"<xml><FromUserName>x</FromUserName>",
        b"<xml><FromUserName>\xff\xfe</FromUserName><MsgType>text</MsgType></xml>",
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><FromUserName>&a;</FromUserName><MsgType>text</MsgType></xml>',
        b"<xml><Content>no sender</Content></xml>",
    ],
    ids=["not-xml", "truncated", "bad-utf8", "doctype", "no-sender"],
)
async def test_malformed_plaintext_inside_valid_encryption_is_400(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform, plaintext: bytes, probe: Probe
) -> None:
    """A correctly signed and encrypted payload whose plaintext is bad gets 400 and no handler runs."""
    client = await app_client(wecom_settings)
    query, body = wecom_platform.post(plaintext)
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 400
    assert probe.seen == []


async def test_garbage_ciphertext_with_valid_signature_is_400(
    wecom_settings: Settings, app_client: Any, clock: ManualClock
) -> None:
    """Random bytes as Encrypt, correctly signed, get 400 (wechatpy's struct.error is not a 500)."""
    from tests.adapters.conftest import WECOM_TOKEN

    client = await app_client(wecom_settings)
    for raw in (os.urandom(64), os.urandom(3), b""):
        encrypt = base64.b64encode(raw).decode() or "AAAA"
        ts, nonce = str(int(clock.now().timestamp())), "99"
        sig = signature(WECOM_TOKEN, ts, nonce, encrypt)
        body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
        resp = await client.post(f"/wecom/callback?msg_signature={sig}&timestamp={ts}&nonce={nonce}", data=body)
        assert resp.status == 400


@pytest.mark.parametrize("query", ["", "msg_signature=a&timestamp=x&nonce=1", "msg_signature=a&nonce=1"])
async def test_bad_query_is_400(wecom_settings: Settings, app_client: Any, query: str) -> None:
    """Missing parameters or a non-numeric timestamp get 400."""
    client = await app_client(wecom_settings)
    resp = await client.post(f"/wecom/callback?{query}", data=b"<xml><Encrypt>a</Encrypt></xml>")
    assert resp.status == 400


async def test_oversized_body_is_413(wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform) -> None:
    """A body over 64 KiB gets 413, with or without a Content-Length."""
    client = await app_client(wecom_settings)
    query, _ = wecom_platform.post("<xml/>")
    big = b"<xml><Encrypt>" + b"A" * (65 * 1024) + b"</Encrypt></xml>"
    resp = await client.post(f"/wecom/callback?{query}", data=big)
    assert resp.status == 413

    async def chunks() -> Any:
        for _ in range(70):
            yield b"A" * 1024

    resp = await client.post(f"/wecom/callback?{query}", data=chunks())
    assert resp.status == 413


async def test_slow_handler_answers_empty_then_sends_through_api(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform, probe: Probe, fake_wecom: FakeWeCom
) -> None:
    """When the answer is not ready in time the response is empty and the reply goes out via message/send."""
    client = await app_client(wecom_settings, reply_wait=0.01)
    query, body = wecom_platform.post(wecom_platform.message_xml("wangfang", "/慢", "5001"))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert resp.status == 200 and await resp.read() == b""
    assert fake_wecom.deliveries == []
    probe.gate.set()
    await eventually(lambda: len(fake_wecom.deliveries) == 1)
    sent = fake_wecom.deliveries[0]
    assert sent.api == "message/send"
    assert sent.body["touser"] == "wangfang"
    assert sent.body["text"]["content"] == "久等了"
    assert sent.body["agentid"] == 1000002


async def test_markdown_reply_goes_through_api(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform, fake_wecom: FakeWeCom
) -> None:
    """A markdown answer (passive replies cannot carry markdown) is sent as a markdown app message."""
    client = await app_client(wecom_settings)
    query, body = wecom_platform.post(wecom_platform.message_xml("wangfang", "/格式", "5002"))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert await resp.read() == b""
    await eventually(lambda: len(fake_wecom.deliveries) == 1)
    assert fake_wecom.deliveries[0].body["msgtype"] == "markdown"
    assert fake_wecom.deliveries[0].body["markdown"]["content"] == "**加粗**"


async def test_group_message_answered_in_group(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform, probe: Probe, fake_wecom: FakeWeCom
) -> None:
    """A message carrying a ChatId is a group message: chat_id 'wecom:<id>', reply via appchat/send."""
    client = await app_client(wecom_settings)
    query, body = wecom_platform.post(wecom_platform.message_xml("wangfang", "你好", "5003", chat_id="room1chat"))
    resp = await client.post(f"/wecom/callback?{query}", data=body)
    assert await resp.read() == b""
    assert probe.seen[0].chat_id == "wecom:room1chat"
    await eventually(lambda: len(fake_wecom.deliveries) == 1)
    assert fake_wecom.deliveries[0].api == "appchat/send"
    assert fake_wecom.deliveries[0].body["chatid"] == "room1chat"


async def test_nothing_secret_is_logged(
    wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    """Neither the message text, the token, the key nor the ciphertext appears in the logs."""
    from tests.adapters.conftest import WECOM_AES_KEY, WECOM_TOKEN

    client = await app_client(wecom_settings)
    secret_text = "考生张三身份证110101199001011234"
    query, body = wecom_platform.post(wecom_platform.message_xml("wangfang", secret_text, "6001"))
    await client.post(f"/wecom/callback?{query}", data=body)
    await client.post(f"/wecom/callback?{query}", data=body)
    forged_q, forged_b = wecom_platform.post(wecom_platform.message_xml("wangfang", secret_text, "6002"), token="x")
    await client.post(f"/wecom/callback?{forged_q}", data=forged_b)
    out = capsys.readouterr()
    logs = out.out + out.err
    assert "callback_rejected" in logs
    for secret in (secret_text, "110101199001011234", WECOM_TOKEN + "&", WECOM_AES_KEY, body.decode()[40:80]):
        assert secret not in logs
    assert adapter_of(client, "wecom") is not None


async def test_round_trip_and_dedupe_on_both_databases(
    db_url: str, wecom_settings: Settings, app_client: Any, wecom_platform: WeComPlatform, probe: Probe
) -> None:
    """On SQLite and PostgreSQL: two instances, one retried MsgId, one handling and one verified reply."""
    settings = wecom_settings.model_copy(update={"database_url": db_url})
    one = await app_client(settings)
    two = await app_client(settings)
    xml = wecom_platform.message_xml("zhaomin", "第2考场 试卷已分发", "880088")
    query, body = wecom_platform.post(xml)
    resp = await one.post(f"/wecom/callback?{query}", data=body)
    assert wecom_platform.open_reply(await resp.text())["Content"] == "收到：第2考场 试卷已分发"
    query, body = wecom_platform.post(xml)
    again = await two.post(f"/wecom/callback?{query}", data=body)
    assert again.status == 200 and await again.read() == b""
    assert len(probe.seen) == 1

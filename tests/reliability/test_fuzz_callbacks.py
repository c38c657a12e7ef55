"""Property-based fuzzing of both callback endpoints: no 500, no unhandled exception, no stored garbage.

Inputs: raw bytes and broken XML/JSON with valid and forged signatures, correctly encrypted WeCom
payloads of arbitrary (also non-UTF-8) plaintext, DingTalk bodies of arbitrary JSON shape, and odd
query strings and headers. 5,000 per endpoint in CI (EXAMBOT_FUZZ_EXAMPLES scales it). Then signed and
encrypted WeCom plaintext of hostile shape (long ids, missing fields, unknown events, NUL, huge
lists) on SQLite and on PostgreSQL, 1,000 per database in CI: no 5xx, no handler error, nothing
stored that one database keeps and the other refuses.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.app import SERVICES, create_app
from bot.demo import seed_demo
from bot.settings import Settings
from bot.store.tables import Report
from tests.conftest import create_pg_database, drop_pg_database
from tests.fakes.dingtalk import callback_headers, robot_message
from tests.fakes.wecom import WeComPlatform

EXAMPLES = max(1, int(os.environ.get("EXAMBOT_FUZZ_EXAMPLES", "10000")) // 2)
TOKEN = "fuzz-token"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP = "wwfuzz0000000001"
AGENT = 1000002
DT_SECRET = "fuzz-ding-secret"
ALLOWED = {200, 400, 403, 404, 405, 413}
COMMANDS = ["/突发 1 ", "/缺考 1 ", "/试卷 1 领取 ", "/违纪 1 ", "/帮助", "/问 ", "", "收到", "/更正 ", "/撤销 "]


class _Runner:
    """The app with both platforms enabled, served on its own loop (API bases point nowhere: sends fail fast)."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.database_url = database_url
        settings = Settings(
            database_url=database_url,
            wecom_corp_id=CORP,
            wecom_agent_id=str(AGENT),
            wecom_secret="s",
            wecom_token=TOKEN,
            wecom_aes_key=AES_KEY,
            wecom_api_base="http://127.0.0.1:9",
            dingtalk_app_key="k",
            dingtalk_app_secret=DT_SECRET,
            dingtalk_robot_code="ding-robot-code",
            dingtalk_api_base="http://127.0.0.1:9",
            dingtalk_oapi_base="http://127.0.0.1:9",
        )
        self.app = create_app(settings, components=[])
        self.client = TestClient(TestServer(self.app), loop=self.loop)
        self.loop.run_until_complete(self.client.start_server())
        self.loop.run_until_complete(seed_demo(self.app[SERVICES].db, self.app[SERVICES].clock.now(), settings.tz))
        self.platform = WeComPlatform(TOKEN, AES_KEY, CORP, AGENT)
        self.seq = 0

    def post(self, path: str, data: bytes, headers: dict[str, str] | None = None) -> int:
        async def go() -> int:
            async with self.client.post(path, data=data, headers=headers or {}) as r:
                await r.read()
                return r.status

        return self.loop.run_until_complete(go())

    def reports(self) -> list[Report]:
        async def q() -> list[Report]:
            async with self.app[SERVICES].db.session() as s:
                return list((await s.exec(select(Report))).all())

        return self.loop.run_until_complete(q())

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        if self.database_url.startswith("postgresql"):
            self.loop.run_until_complete(drop_pg_database(self.database_url))
        self.loop.close()

    def errors(self) -> list[str]:
        """The errors metric's lines of handler and internal (500) errors."""
        metrics = self.app[SERVICES].metrics.render().decode()
        return [ln for ln in metrics.splitlines() if 'kind="handler"' in ln or 'kind="internal"' in ln]


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Runner]:
    """One app for every generated request."""
    r = _Runner(f"sqlite:///{Path(tmp_path_factory.mktemp('fuzzcb')) / 'fuzz.db'}")
    yield r
    r.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hostile_runner(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Runner]:
    """One app per database for the hostile-plaintext fuzzer (a fresh PostgreSQL database of its own)."""
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('fuzzhostile')) / 'fuzz.db'}"
    else:
        url = asyncio.run(create_pg_database())
    r = _Runner(url)
    yield r
    r.close()


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

xml_text = st.one_of(
    st.text(max_size=200),
    st.sampled_from(COMMANDS).flatmap(lambda c: st.text(max_size=40).map(lambda t: c + t)),
)
users = st.sampled_from(["wangfang", "liqiang", "qianjin", "nobody", "", "x" * 300, "<a>", "]]>"])


def _plain(user: str, text: str, kind: str, msg_id: str) -> str | bytes:
    if kind == "text":
        return WeComPlatform(TOKEN, AES_KEY, CORP, AGENT).message_xml(user, text, msg_id)
    if kind == "event":
        return WeComPlatform(TOKEN, AES_KEY, CORP, AGENT).event_xml(user, text[:20] or "enter_agent")
    if kind == "raw":
        return text
    return text.encode("utf-8", "surrogatepass")[:100] + b"\xff\xfe<xml>"


@FUZZ
@given(
    user=users,
    text=xml_text,
    kind=st.sampled_from(["text", "text", "event", "raw", "bytes"]),
    mode=st.sampled_from(["valid", "valid", "forged", "garbage", "no_query", "old"]),
    junk=st.binary(max_size=300),
)
def test_wecom_callback_never_500(runner: _Runner, user: str, text: str, kind: str, mode: str, junk: bytes) -> None:
    """Whatever reaches /wecom/callback is answered 200/400/403/413, never 500."""
    runner.seq += 1
    plain = _plain(user, text, kind, str(900_000_000 + runner.seq))
    if mode == "garbage":
        query, body = "msg_signature=x&timestamp=1&nonce=1", junk
    else:
        ts = int(time.time()) - (7200 if mode == "old" else 0)
        query, body = runner.platform.post(plain, timestamp=ts, token="forged" if mode == "forged" else None)
        if mode == "no_query":
            query = ""
    status = runner.post(f"/wecom/callback?{query}", body)
    assert status in ALLOWED, (mode, kind, status)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(
    text=xml_text,
    staff=st.sampled_from(["dd_wangfang", "dd_qianjin", "nobody", ""]),
    mutate=st.dictionaries(
        st.sampled_from(["msgId", "text", "senderStaffId", "msgtype", "createAt", "conversationType", "robotCode"]),
        json_values,
        max_size=3,
    ),
    mode=st.sampled_from(["valid", "valid", "forged", "stale", "garbage", "not_object"]),
    junk=st.binary(max_size=200),
)
def test_dingtalk_callback_never_500(
    runner: _Runner, text: str, staff: str, mutate: dict[str, Any], mode: str, junk: bytes
) -> None:
    """Whatever reaches /dingtalk/callback is answered 200/400/403/413, never 500."""
    now_ms = int(time.time() * 1000)
    body_obj: Any = robot_message(text, staff_id=staff, now_ms=now_ms)
    body_obj.update(mutate)
    if mode == "not_object":
        body_obj = [body_obj]
    body = junk if mode == "garbage" else json.dumps(body_obj, ensure_ascii=False).encode()
    ts = now_ms - (2 * 3600 * 1000 if mode == "stale" else 0)
    headers = callback_headers("forged" if mode == "forged" else DT_SECRET, ts)
    status = runner.post("/dingtalk/callback", body, headers)
    assert status in ALLOWED, (mode, status)


HOSTILE_EXAMPLES = max(1, EXAMPLES // 5)  # per database; each example runs the real handlers
HOSTILE = settings(FUZZ, max_examples=HOSTILE_EXAMPLES)
hostile_text = st.one_of(
    xml_text,
    st.text(alphabet=st.sampled_from("\x00\x01\x1f考场a1 /]]><&"), max_size=60),
    st.sampled_from(COMMANDS).map(lambda c: c + "考生\x00晕倒"),
    st.integers(min_value=129, max_value=2000).map(lambda n: "9" * n),
)
FIELDS = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event", "ChatId", "AgentID"]


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@st.composite
def hostile_plaintext(draw: st.DrawFn, seq: int) -> str:
    """A WeCom plaintext of hostile shape: fields missing, long or with NUL, unknown kinds, huge lists."""
    values = {
        "ToUserName": CORP,
        "FromUserName": draw(users | st.sampled_from(["wang\x00fang", "wangfang\x00", "\x00"])),
        "CreateTime": draw(st.sampled_from([str(int(time.time())), "", "-1", "9" * 40, "abc"])),
        "MsgType": draw(st.sampled_from(["text", "text", "event", "image", "voice", "", "x" * 200, "te\x00xt"])),
        "Content": draw(hostile_text),
        "MsgId": draw(
            st.sampled_from([str(900_000_000 + seq), "", "\x00", f"{seq}\x00{seq}"])
            | st.integers(min_value=129, max_value=400).map(lambda n: f"{seq}-" + "7" * n)
        ),
        "Event": draw(st.sampled_from(["enter_agent", "subscribe", "LOCATION", "click", "", "enter_agent\x00"])),
        "ChatId": draw(st.sampled_from(["", "wrchat1", "c" * 300, "chat\x00id"])),
        "AgentID": str(AGENT),
    }
    if draw(st.booleans()):  # half the time a report by a staff member, so hostile content reaches storage
        values.update(FromUserName=draw(st.sampled_from(["wangfang", "liqiang"])), MsgType="text")
        values["Content"] = draw(st.sampled_from(COMMANDS[:4])) + values["Content"]
        present: Collection[str] = FIELDS
    else:
        present = draw(st.sets(st.sampled_from(FIELDS), max_size=len(FIELDS)))
    parts = [f"<{f}>{_cdata(values[f])}</{f}>" for f in FIELDS if f in present]
    # a huge list of repeated or unknown elements (kept under the 64 KiB body limit once encrypted)
    repeat = draw(st.integers(min_value=0, max_value=1000))
    tag = draw(st.sampled_from(["Item", "Content", "MsgId", "FromUserName"]))
    parts += [f"<{tag}>{i}</{tag}>" for i in range(repeat)]
    return "<xml>" + "".join(parts) + "</xml>"


@HOSTILE
@given(data=st.data())
def test_wecom_hostile_plaintext_no_5xx(hostile_runner: _Runner, data: st.DataObject) -> None:
    """Correctly signed and encrypted hostile plaintext: never a 5xx, never a handler error, on both databases."""
    hostile_runner.seq += 1
    plain = data.draw(hostile_plaintext(hostile_runner.seq))
    query, body = hostile_runner.platform.post(plain)
    before = hostile_runner.errors()
    status = hostile_runner.post(f"/wecom/callback?{query}", body)
    assert status in {200, 400}, status
    assert hostile_runner.errors() == before  # no handler error from this example (the end test checks none at all)


def test_hostile_run_stored_clean(hostile_runner: _Runner) -> None:
    """After the hostile run: no NUL and no over-long message id stored; every report is a staff member's."""
    for r in hostile_runner.reports():
        assert r.staff_id is not None and r.room_id is not None, r
        assert r.message_id is None or (len(r.message_id) <= 128 and "\x00" not in r.message_id)
        assert "\x00" not in json.dumps(r.payload, ensure_ascii=False)
    assert hostile_runner.errors() == []


def test_no_garbage_stored(runner: _Runner) -> None:
    """After both fuzz runs every stored report was made by a known staff member for a room."""
    for r in runner.reports():
        assert r.staff_id is not None and r.room_id is not None, r
        assert isinstance(r.payload, dict)
    metrics = runner.app[SERVICES].metrics.render().decode()
    assert 'kind="handler"' not in metrics
    assert 'kind="internal"' not in metrics

"""Property-based fuzzing of the whole command set: whatever staff type, no crash and no garbage stored."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.app import SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import Settings
from bot.store.tables import Report
from tests.conftest import Chat

# At least 10,000 generated inputs in CI; the benchmark and a developer can ask for more.
EXAMPLES = int(os.environ.get("EXAMBOT_FUZZ_EXAMPLES", "10000"))

PIECES = [
    " ",
    "　",
    "/",
    "／",
    "、",
    "，",
    ",",
    "。",
    "：",
    ":",
    "—",
    "-",
    "~",
    "（",
    "）",
    "(",
    ")",
    "\n",
    "\t",
    "0",
    "1",
    "3",
    "03",
    "３",
    "十",
    "三",
    "两",
    "第",
    "号",
    "考场",
    "第3考场",
    "无",
    "none",
    "取消",
    "收到",
    "领取",
    "回收",
    "答题卡",
    "空白",
    "损坏",
    "警告",
    "劝告",
    "终止考试",
    "宣布成绩无效",
    "替考",
    "抄袭",
    "携带手机等电子设备",
    "today",
    "yesterday",
    "2026-12-05",
    "2026000001",
    "2026000031",
    "9" * 40,
    "\u200b",
    "\ufeff",
    "\x00",
    "😀",
    "<xml>",
    "'; DROP TABLE report; --",
    "%s",
    "{}",
    "\\",
]


class _Runner:
    """The demo app on its own event loop, so hypothesis can drive it from a plain test function."""

    def __init__(self, settings: Settings, clock: ManualClock) -> None:
        self.loop = asyncio.new_event_loop()
        self.clock = clock
        self.app = create_app(settings, clock=clock, console=True, components=[])
        self.runner = web.AppRunner(self.app)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(seed_demo(self.app[SERVICES].db, clock.now(), settings.tz))
        clock.advance(timedelta(minutes=15))  # inside the demo's first theory session
        self.chat = Chat(self.app)

    def say(self, who: str, text: str, chat: str | None) -> str | None:
        return self.loop.run_until_complete(self.chat.say(who, text, chat))

    def reports(self) -> list[Report]:
        async def q() -> list[Report]:
            async with self.app[SERVICES].db.session() as s:
                return list((await s.exec(select(Report))).all())

        return self.loop.run_until_complete(q())

    def close(self) -> None:
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Runner]:
    """One app for all generated inputs (a fresh app per example would test start-up, not parsing)."""
    db = Path(tmp_path_factory.mktemp("fuzz")) / "fuzz.db"
    r = _Runner(Settings(database_url=f"sqlite:///{db}"), ManualClock(datetime(2026, 12, 5, 0, 0, tzinfo=UTC)))
    yield r
    r.close()


def _command_names() -> list[str]:
    from handlers import command_tables

    return sorted({n for t in command_tables() for c in t.commands for n in c.names})


NAMES = _command_names()
SENDERS = ["王芳", "李强", "周杰", "孙丽", "钱进", "马文", "路人甲"]
CHATS = [None, "console:第1考场", "console:第3考场"]

texts = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
    st.tuples(
        st.sampled_from(["/", "／", "、", ""]),
        st.sampled_from(NAMES),
        st.lists(st.sampled_from(PIECES), max_size=8).map("".join),
    ).map("".join),
    st.text(max_size=60),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(who=st.sampled_from(SENDERS), text=texts, chat=st.sampled_from(CHATS))
def test_no_input_crashes_a_handler(runner: _Runner, who: str, text: str, chat: str | None) -> None:
    """Any text from anyone in any chat gets a handled answer: never the generic internal-error reply."""
    reply = runner.say(who, text, chat)
    if reply is not None:
        assert "错误编号" not in reply, (who, text, chat, reply)
        assert reply.strip()


def test_no_handler_errors_and_no_garbage_stored(runner: _Runner) -> None:
    """After the fuzz run the error counter is zero and every stored report was made by staff, for a room."""
    metrics = runner.app[SERVICES].metrics.render().decode()
    assert 'exambot_errors_total{channel="console",kind="handler"}' not in metrics
    for r in runner.reports():
        assert r.staff_id is not None, r
        assert r.room_id is not None or r.supersedes_id is not None, r
        assert isinstance(r.payload, dict)
        assert r.created_at.tzinfo is not None

"""Signed board links: HMAC over staff id and expiry; /看板 in a private chat; ``exambot board-link``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.board_links import BoardPass, LinkProblem, sign, verify
from bot.clock import ManualClock
from bot.settings import Settings
from tests.conftest import demo_app

NOW = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


def test_sign_and_verify() -> None:
    """A link verifies until its expiry; a changed id, expiry or secret is forged; later it is expired."""
    token = sign("k1", 7, NOW + timedelta(hours=12))
    assert verify("k1", token, NOW) == BoardPass(7, NOW + timedelta(hours=12))
    staff, exp, mac = token.split(".")
    assert verify("k1", f"8.{exp}.{mac}", NOW) is LinkProblem.FORGED
    assert verify("k1", f"{staff}.{int(exp) + 3600}.{mac}", NOW) is LinkProblem.FORGED
    assert verify("k2", token, NOW) is LinkProblem.FORGED
    assert verify("", token, NOW) is LinkProblem.FORGED
    assert verify("k1", "garbage", NOW) is LinkProblem.FORGED
    assert verify("k1", "", NOW) is LinkProblem.MISSING
    assert verify("k1", token, NOW + timedelta(hours=12)) is LinkProblem.EXPIRED


async def test_board_command_gives_a_working_link_in_private_only(
    make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """/看板 in a private chat gives office and supervisors a link for them; not in a group, not to invigilators."""
    settings = make_settings(board_token="s3", public_url="https://exam.example.cn/")
    async with demo_app(settings, clock) as chat:
        reply = await chat.say("钱进", "/看板 8") or ""
        assert "钱进，您的考务看板链接" in reply and "https://exam.example.cn/board?k=" in reply
        token = parse_qs(urlsplit(reply.split("\n")[-1]).query)["k"][0]
        checked = verify("s3", token, clock.now())
        assert isinstance(checked, BoardPass) and checked.staff_id == await _id(chat, "钱进")
        assert checked.expires_at == clock.now().replace(microsecond=0) + timedelta(hours=8)
        assert "board?k=" in (await chat.say("孙丽", "/看板") or "")
        assert "board?k=" not in (await chat.say("王芳", "/看板") or "")
        group = await chat.say("钱进", "/看板", chat="console:第1考场")
        assert group is None or "board?k=" not in group
        assert "小时数" in (await chat.say("钱进", "/看板 999") or "")


async def _id(chat: Any, name: str) -> int:
    from bot.directory import find_staff_by_name_or_id  # test-only helper

    async with chat.services.db.read() as s:
        staff = await find_staff_by_name_or_id(s, name)
    assert staff is not None and staff.id is not None
    return staff.id


async def test_cli_board_link(
    make_settings: Callable[..., Settings],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """``exambot board-link --as 钱进 --hours 12`` prints a link that verifies; an invigilator gets none."""
    from bot import board_link_cli

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    settings = make_settings(database_url=url, board_token="cli-secret")
    async with demo_app(settings, clock):
        pass
    args: Any = type("A", (), {"who": "钱进", "hours": 12.0})()
    code = await _in_thread(board_link_cli.run, args, settings)
    out = capsys.readouterr()
    assert code == 0, out.err
    token = parse_qs(urlsplit(out.out.strip()).query)["k"][0]
    assert isinstance(verify("cli-secret", token, datetime.now(UTC)), BoardPass)
    args.who = "王芳"
    assert await _in_thread(board_link_cli.run, args, settings) == 2
    assert "不能打开看板" in capsys.readouterr().err
    no_secret = make_settings(database_url=url)
    assert await _in_thread(board_link_cli.run, args, no_secret) == 2


async def _in_thread(func: Any, *args: Any) -> int:
    import asyncio  # test-only: the CLI runs its own event loop, so it runs off this one

    return int(await asyncio.to_thread(func, *args))

"""The dispatcher: parsing as typed on phones, lookup, suggestions, permissions and errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.dispatch import CommandTable, Context, Dispatcher, normalize
from bot.errors import UserFacingError
from bot.model import IncomingMessage, Reply
from bot.permissions import OFFICE, STAFF
from tests.conftest import Chat


def _table() -> CommandTable:
    t = CommandTable()

    @t.command("缺考", "absent", summary="报告缺考", usage="/缺考 考场 准考证号…", permission=STAFF)
    async def absent(ctx: Context, args: str) -> str:
        return f"absent:{args}"

    @t.command("缺考统计", summary="缺考统计", permission=OFFICE)
    async def stats(ctx: Context, args: str) -> str:
        return f"stats:{args}"

    @t.command("坏", summary="出错", hidden=True)
    async def broken(ctx: Context, args: str) -> str:
        raise RuntimeError("secret internal detail 身份证 150603200407268283")

    @t.command("拒绝", summary="拒绝", hidden=True)
    async def refuse(ctx: Context, args: str) -> str:
        raise UserFacingError("考场编号不存在。", usage="/拒绝 考场")

    @t.fallback()
    async def echo(ctx: Context) -> Reply:
        return Reply(f"text:{normalize(ctx.message.text)}")

    return t


@pytest.fixture
def dispatcher(demo_chat: Chat) -> Dispatcher:
    """A dispatcher over the test table on the demo day's services."""
    return Dispatcher(demo_chat.services, [_table()])


async def _send(d: Dispatcher, sender: str, text: str) -> str:
    msg = IncomingMessage(
        channel="console", sender_id=sender, text=text, message_id="m1", received_at=datetime.now(UTC)
    )
    reply = await d.dispatch(msg)
    assert reply is not None
    return reply.text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("/缺考 3 2026000001", "absent:3 2026000001"),
        ("／缺考　３　２０２６０００００１", "absent:3 2026000001"),  # full-width slash, space and digits
        ("、缺考 3", "absent:3"),  # what the "/" key types in a Chinese IME
        ("/缺考3考场 无", "absent:3考场 无"),  # no space between command and argument
        ("  /缺考   3   ", "absent:3"),
        ("/ABSENT 3", "absent:3"),
        ("/absent", "absent:"),
    ],
)
async def test_commands_as_typed_on_phones(dispatcher: Dispatcher, typed: str, expected: str) -> None:
    """Full-width characters, IME slashes, glued arguments and stray spaces reach the right command."""
    assert await _send(dispatcher, "1", typed) == expected


async def test_longest_name_wins(dispatcher: Dispatcher) -> None:
    """/缺考统计 is its own command, not /缺考 with an argument."""
    assert await _send(dispatcher, "11", "/缺考统计 今天") == "stats:今天"


async def test_unknown_command_suggests_close_ones(dispatcher: Dispatcher) -> None:
    """A typo gets 'did you mean' with the closest commands the sender may use."""
    text = await _send(dispatcher, "1", "/缺靠 3")
    assert "没有“/缺靠”这个命令" in text
    assert "/缺考" in text


async def test_permission_refusal_is_one_sentence(dispatcher: Dispatcher) -> None:
    """An invigilator asking for office statistics is told who may."""
    text = await _send(dispatcher, "1", "/缺考统计")
    assert "没有使用 /缺考统计 的权限" in text
    assert "考务办公室" in text


async def test_unknown_sender_is_told_to_register(dispatcher: Dispatcher) -> None:
    """A stranger gets a clear refusal for staff commands."""
    text = await _send(dispatcher, "unknown:x", "/缺考 3")
    assert "不在考务人员名单中" in text


async def test_user_facing_error_is_rendered_with_usage(dispatcher: Dispatcher) -> None:
    """An expected refusal is shown with the right form of the command."""
    assert await _send(dispatcher, "1", "/拒绝") == "考场编号不存在。\n用法：/拒绝 考场"


async def test_internal_error_hides_details(dispatcher: Dispatcher, demo_chat: Chat) -> None:
    """A crash answers with a request id and never the exception text; it is counted."""
    text = await _send(dispatcher, "1", "/坏")
    assert "错误编号" in text
    assert "secret" not in text and "150603" not in text
    metrics = demo_chat.services.metrics.render().decode()
    assert 'exambot_errors_total{channel="console",kind="handler"} 1.0' in metrics


async def test_plain_text_goes_to_fallback(dispatcher: Dispatcher) -> None:
    """Text that is not a command goes to the lowest-priority fallback."""
    assert await _send(dispatcher, "1", "开考多久不能进场？") == "text:开考多久不能进场?"


async def test_hooks_run_first_in_priority_order(demo_chat: Chat) -> None:
    """Hooks may claim a message before commands; lower priority numbers run first."""
    t = CommandTable()
    seen: list[str] = []

    @t.hook(priority=5)
    async def late(ctx: Context) -> str | None:
        seen.append("late")
        return "late" if ctx.message.text == "收到" else None

    @t.hook(priority=1)
    async def early(ctx: Context) -> str | None:
        seen.append("early")
        return None

    d = Dispatcher(demo_chat.services, [t, _table()])
    assert await _send(d, "1", "收到") == "late"
    assert seen == ["early", "late"]
    assert await _send(d, "1", "/缺考 1") == "absent:1"


def test_duplicate_names_are_rejected(demo_chat: Chat) -> None:
    """Registering one name twice across tables is an error at start."""
    with pytest.raises(ValueError, match="twice"):
        Dispatcher(demo_chat.services, [_table(), _table()])


def test_bad_command_names_are_rejected() -> None:
    """Names with slashes or spaces are refused when registering."""
    t = CommandTable()
    with pytest.raises(ValueError):
        t.command("/x", summary="x")
    with pytest.raises(ValueError):
        t.command("a b", summary="x")


async def test_help_lists_only_permitted_commands(demo_chat: Chat) -> None:
    """/帮助 shows an invigilator the commands they may use, by name."""
    text = await demo_chat.say("王芳", "/帮助")
    assert text is not None
    assert text.startswith("王芳，您可以使用以下命令")
    assert "/帮助" in text and "/我" in text


async def test_whoami_shows_todays_duty(demo_chat: Chat) -> None:
    """/我 shows the demo chief invigilator's room today."""
    text = await demo_chat.say("王芳", "/我")
    assert text is not None
    assert "第1考场" in text and "主监考" in text


@pytest.mark.parametrize("typed", ["/xyz", "/abc", "/hello", "/q", "/你好"])
async def test_nonsense_gets_no_suggestion(demo_chat: Chat, typed: str) -> None:
    """A made-up command name is pointed to /帮助 without guessing a command."""
    text = await demo_chat.say("王芳", typed)
    assert text == f"没有“{typed}”这个命令。发送 /帮助 查看全部命令。"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("/缺靠", "/缺考"), ("/vilation", "/违纪"), ("/帮主", "/帮助"), ("/违记", "/违纪"), ("/帮", "/帮助")],
)
async def test_real_typos_get_suggestions(demo_chat: Chat, typed: str, meant: str) -> None:
    """A one-character slip or the start of a name still suggests the command."""
    text = await demo_chat.say("王芳", typed)
    assert text is not None
    assert f"您是不是要用：{meant}" in text


async def test_replies_are_counted_by_channel_and_command(demo_chat: Chat) -> None:
    """exambot_messages_out_total carries the command the reply answers."""
    await demo_chat.say("王芳", "/帮助")
    await demo_chat.say("王芳", "/xyz")
    text = demo_chat.services.metrics.render().decode()
    assert 'exambot_messages_out_total{channel="console",command="帮助",kind="reply"} 1.0' in text
    assert 'exambot_messages_out_total{channel="console",command="unknown",kind="reply"} 1.0' in text


def test_duplicate_dialogs_and_report_kinds_are_rejected(demo_chat: Chat) -> None:
    """A dialog or a report kind registered on two tables is an error at start, like a command name."""

    @dataclass(frozen=True)
    class Spec:
        command: str

    def tables(register: Callable[[CommandTable], object]) -> list[CommandTable]:
        out = [CommandTable(), CommandTable()]
        for t in out:
            register(t)
        return out

    with pytest.raises(ValueError, match="twice"):
        Dispatcher(demo_chat.services, tables(lambda t: t.dialog(Spec("缺考"))))
    with pytest.raises(ValueError, match="twice"):
        Dispatcher(demo_chat.services, tables(lambda t: t.report_kind("absent", object())))
    one = CommandTable()
    one.dialog(Spec("缺考"))
    with pytest.raises(ValueError, match="twice"):
        one.dialog(Spec("缺考"))
    rules = object()
    one.report_kind("absent", rules)
    d = Dispatcher(demo_chat.services, [one])
    assert d.report_kinds == {"absent": rules} and list(d.dialogs) == ["缺考"]

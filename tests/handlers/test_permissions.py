"""Every role against every command: deny by default, strangers learn nothing."""

from __future__ import annotations

import pytest

from tests.handlers.conftest import ROOM1, Day

ROLES = ("王芳", "周杰", "孙丽", "钱进", "马文", "陌生人")  # invigilator, evaluator, supervisor, office, admin+office
ALLOWED: dict[str, set[str]] = {
    "/缺考": {"王芳", "周杰", "钱进", "马文"},
    "/absent": {"王芳", "周杰", "钱进", "马文"},
    "/违纪": {"王芳", "周杰", "孙丽", "钱进", "马文"},
    "/确认": {"王芳", "周杰", "钱进", "马文"},
    "/认定": {"钱进", "马文"},
    "/试卷": {"王芳", "周杰", "钱进", "马文"},
    "/备注": {"钱进", "马文"},
    "/突发": {"王芳", "周杰", "孙丽", "钱进", "马文"},
    "/更正": {"王芳", "周杰", "孙丽", "钱进", "马文"},
    "/撤销": {"王芳", "周杰", "孙丽", "钱进", "马文"},
    "/历史": {"王芳", "周杰", "孙丽", "钱进", "马文"},
    "/违纪记录": {"孙丽", "钱进", "马文"},
    "/violations": {"孙丽", "钱进", "马文"},
    "/缺考统计": {"孙丽", "钱进", "马文"},
    "/试卷状态": {"孙丽", "钱进", "马文"},
    "/考场状态": {"孙丽", "钱进", "马文"},
    "/导出": {"钱进", "马文"},
}


@pytest.mark.parametrize("command", sorted(ALLOWED))
async def test_role_matrix(day: Day, command: str) -> None:
    """Each role is let in or refused with one sentence naming who may use the command."""
    for who in ROLES:
        reply = await day.say(who, command)
        if who in ALLOWED[command]:
            assert "权限" not in reply and "名单" not in reply, (who, reply)
            await day.say(who, "取消")
        elif who == "陌生人":
            assert reply == "您还不在考务人员名单中，无法使用该命令。请联系考务办公室登记您的账号。"
        else:
            assert reply.startswith("您没有使用 /") and "的权限（仅限" in reply, (who, reply)


async def test_stranger_learns_nothing_about_reports(day: Day) -> None:
    """A stranger asking for an existing and a missing report gets the same answer."""
    await day.say("王芳", "/缺考 无")
    (row,) = await day.reports("absent")
    assert await day.say("陌生人", f"/历史 {row.id}") == await day.say("陌生人", "/历史 999")


async def test_export_only_in_private(day: Day) -> None:
    """The export (full data) is refused in a group chat even to the office."""
    assert "权限" in await day.say("钱进", "/导出", chat=ROOM1)
    assert "报告导出" in await day.say("钱进", "/导出")


async def test_invigilator_history_only_own_rooms(day: Day) -> None:
    """An invigilator sees the history of their own room's report but not another room's."""
    await day.say("王芳", "/缺考 无")
    (row,) = await day.reports("absent")
    assert "的历史" in await day.say("李强", f"/历史 {row.id}")
    assert "只能查看自己负责考场" in await day.say("赵敏", f"/历史 {row.id}")


async def test_unknown_command_suggests(day: Day) -> None:
    """A mistyped command gets the closest commands."""
    reply = await day.say("王芳", "/缺靠 1 无")
    assert "您是不是要用" in reply and "/缺考" in reply


@pytest.mark.parametrize(
    ("text", "suggested"),
    [
        ("/缺考统记", "/缺考统计"),
        ("/试卷装态", "/试卷状态"),
        ("/突法 停电", "/突发"),
        ("/更改 3", "/更正"),
        ("/违记 1", "/违纪"),
    ],
)
async def test_did_you_mean(day: Day, text: str, suggested: str) -> None:
    """Mistyped names, also when glued to a shorter command's name, get the closest command."""
    reply = await day.say("钱进", text)
    assert reply.startswith("没有“/") and "您是不是要用" in reply and suggested in reply


async def test_glued_room_is_not_a_typo(day: Day) -> None:
    """“/缺考1 张三” is /缺考 with bad arguments, not a mistyped command."""
    reply = await day.say("王芳", "/缺考1 张三")
    assert "没有看懂“张三”" in reply

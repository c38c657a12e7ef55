"""Every role against every command: deny by default, strangers learn nothing."""

from __future__ import annotations

import pytest

from tests.handlers.conftest import ROOM1, Day

ROLES = ("王芳", "周杰", "孙丽", "钱进", "马文", "陌生人")  # invigilator, evaluator, supervisor, office, admin+office
EVERYONE = set(ROLES)
STAFF = {"王芳", "周杰", "孙丽", "钱进", "马文"}
REPORTER = {"王芳", "周杰", "钱进", "马文"}
WATCHER = {"王芳", "周杰", "孙丽", "钱进", "马文"}
SUPERVISOR_OR_OFFICE = {"孙丽", "钱进", "马文"}
OFFICE = {"钱进", "马文"}
ADMIN = {"马文"}
ALLOWED: dict[str, set[str]] = {
    "/帮助": EVERYONE,
    "/help": EVERYONE,
    "/问": EVERYONE,
    "/ask": EVERYONE,
    "/规定": EVERYONE,
    "/我": STAFF,
    "/我是谁": STAFF,
    "/我的考场": STAFF,
    "/whoami": STAFF,
    "/收到": STAFF,
    "/ack": STAFF,
    "/缺考": REPORTER,
    "/absent": REPORTER,
    "/违纪": WATCHER,
    "/violation": WATCHER,
    "/违规": WATCHER,
    "/确认": REPORTER,
    "/confirm": REPORTER,
    "/认定": OFFICE,
    "/determine": OFFICE,
    "/试卷": REPORTER,
    "/papers": REPORTER,
    "/备注": OFFICE,
    "/note": OFFICE,
    "/突发": WATCHER,
    "/incident": WATCHER,
    "/督导意见": {"孙丽", "马文"},  # supervisors (and the admin, who holds every role)
    "/finding": {"孙丽", "马文"},
    "/更正": WATCHER,
    "/correct": WATCHER,
    "/撤销": WATCHER,
    "/revoke": WATCHER,
    "/历史": WATCHER,
    "/history": WATCHER,
    "/违纪记录": SUPERVISOR_OR_OFFICE,
    "/violations": SUPERVISOR_OR_OFFICE,
    "/缺考统计": SUPERVISOR_OR_OFFICE,
    "/absences": SUPERVISOR_OR_OFFICE,
    "/缺考状态": SUPERVISOR_OR_OFFICE,
    "/缺考情况": SUPERVISOR_OR_OFFICE,
    "/试卷状态": SUPERVISOR_OR_OFFICE,
    "/paperstatus": SUPERVISOR_OR_OFFICE,
    "/考场状态": SUPERVISOR_OR_OFFICE,
    "/roomstatus": SUPERVISOR_OR_OFFICE,
    "/提醒状态": SUPERVISOR_OR_OFFICE,
    "/reminders": SUPERVISOR_OR_OFFICE,
    "/补录": SUPERVISOR_OR_OFFICE,
    "/已处理": OFFICE,
    "/handled": OFFICE,
    "/backfill": SUPERVISOR_OR_OFFICE,
    "/导出": OFFICE,
    "/export": OFFICE,
    "/看板": SUPERVISOR_OR_OFFICE,
    "/board": SUPERVISOR_OR_OFFICE,
    "/未答问题": OFFICE,
    "/unanswered": OFFICE,
    "/知识库": ADMIN,
    "/kb": ADMIN,
    "/场次": OFFICE,
    "/session": OFFICE,
    "/换人": OFFICE,
    "/swap": OFFICE,
    "/检查": OFFICE,
    "/check": OFFICE,
    "/答辩": {"周杰", "钱进", "马文"},  # evaluators and the office
    "/defense": {"周杰", "钱进", "马文"},
    "/回避": OFFICE,
    "/avoid": OFFICE,
    "/答错了": EVERYONE,
    "/回答错了": EVERYONE,
    "/答错": EVERYONE,
    "/不对": EVERYONE,
    "/wrong": EVERYONE,
    "/钉住": OFFICE,
    "/固定答复": OFFICE,
    "/pin": OFFICE,
}
# Queries sent in a room's group chat: the same roles, except the export (full data) is private only.
QUERIES = ("/违纪记录", "/violations", "/缺考统计", "/absences", "/试卷状态", "/paperstatus", "/考场状态",
           "/roomstatus", "/提醒状态", "/reminders", "/未答问题", "/unanswered", "/历史", "/history", "/我",
           "/whoami", "/帮助", "/导出", "/export")  # fmt: skip
ALLOWED_IN_GROUP: dict[str, set[str]] = {c: (set() if c in ("/导出", "/export") else ALLOWED[c]) for c in QUERIES}
STRANGER = "您还不在考务人员名单中，无法使用该命令。请联系考务办公室登记您的账号。"


async def _check_matrix(day: Day, allowed: dict[str, set[str]], chat: str | None) -> None:
    for command, who_may in allowed.items():
        for who in ROLES:
            reply = await day.say(who, command, chat=chat)
            if who in who_may:
                assert not reply.startswith("您没有使用") and reply != STRANGER, (command, who, reply)
                await day.say(who, "/取消", chat=chat)  # leave any dialog the bare command opened
            elif who == "陌生人":
                assert reply == STRANGER, (command, reply)
            else:
                assert reply.startswith("您没有使用 /") and "的权限（仅限" in reply, (command, who, reply)


def test_matrix_names_every_command() -> None:
    """The matrix covers every visible command under each of its names."""
    from handlers import command_tables

    names = {f"/{n}" for t in command_tables() for c in t.commands if not c.hidden for n in c.names}
    missing = names - set(ALLOWED) - {"/h", "/?"}
    assert not missing, missing


async def test_role_matrix(day: Day) -> None:
    """Each role against each command (Chinese and English names): let in, or one sentence naming who may use it."""
    await _check_matrix(day, ALLOWED, None)


async def test_role_matrix_in_group_chat(day: Day) -> None:
    """Each query command sent in a group chat: the same roles, the export refused to everyone."""
    await _check_matrix(day, ALLOWED_IN_GROUP, ROOM1)


async def test_stranger_learns_nothing_about_reports(day: Day) -> None:
    """A stranger asking for an existing and a missing report gets the same answer."""
    await day.say("王芳", "/缺考 无")
    (row,) = await day.reports("absent")
    assert await day.say("陌生人", f"/历史 {row.id}") == await day.say("陌生人", "/历史 999")


async def test_export_only_in_private(day: Day) -> None:
    """The export (full data) is refused in a group chat even to the office."""
    assert "权限" in await day.say("钱进", "/导出", chat=ROOM1)
    assert "正在以文件发送给您" in await day.say("钱进", "/导出")
    assert "报告导出" in await day.say("钱进", "/导出 明细")


async def test_invigilator_history_only_own_rooms(day: Day) -> None:
    """An invigilator sees the history of their own room's report but not another room's."""
    await day.say("王芳", "/缺考 无")
    (row,) = await day.reports("absent")
    assert "的历史" in await day.say("李强", f"/历史 {row.id}")
    assert "没有找到您可以查看的编号" in await day.say("赵敏", f"/历史 {row.id}")


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
    assert "的考生名单中没有“张三”" in reply

"""Guided dialogs: one question at a time, 取消, survives a restart, expires after 10 minutes."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.settings import Settings
from tests.conftest import demo_app
from tests.handlers.conftest import ROOM1, Day


async def test_violation_dialog_step_by_step(day: Day) -> None:
    """/违纪 alone asks ticket, type, action, note in turn (room left out: the sender has one) and records."""
    q1 = await day.say("王芳", "/违纪")
    assert q1.startswith("违纪考生的准考证号？") and "取消" in q1
    q2 = await day.say("王芳", "２０２６０００００３")
    assert "违纪类型？" in q2 and "3.抄袭" in q2
    q3 = await day.say("王芳", "3")
    assert "现场处理？" in q3 and "跳过" in q3
    q4 = await day.say("王芳", "警告")
    assert "补充说明？" in q4
    done = await day.say("王芳", "偷看邻座")
    (row,) = await day.reports("violation")
    assert row.payload == {
        "ticket": "2026000003",
        "type": "抄袭",
        "action": "警告",
        "note": "偷看邻座",
        "serious": False,
    }
    assert f"编号 {row.id}" in done


async def test_bad_answer_is_asked_again(day: Day) -> None:
    """An answer that fits no choice repeats the question with the choices."""
    await day.say("王芳", "/违纪")
    await day.say("王芳", "2026000003")
    again = await day.say("王芳", "11")
    assert "没有看懂“11”" in again and "违纪类型？" in again
    assert await day.reports("violation") == []


async def test_cancel_leaves_dialog(day: Day) -> None:
    """取消 ends the dialog without recording; later plain text is not taken as an answer."""
    await day.say("王芳", "/缺考")
    assert "已取消 /缺考" in await day.say("王芳", "取消")
    assert await day.reports("absent") == []


async def test_absent_dialog(day: Day) -> None:
    """/缺考 alone asks for the tickets (room known) and records."""
    q = await day.say("王芳", "/缺考")
    assert "准考证号" in q and "无" in q
    reply = await day.say("王芳", "2026000003 2026000005")
    assert "缺考 2" in reply
    assert len(await day.reports("absent")) == 1


async def test_room_question_for_office(day: Day) -> None:
    """Someone without a room right now is asked which room."""
    q = await day.say("钱进", "/突发")
    assert q.startswith("哪个考场？")
    q2 = await day.say("钱进", "2号")
    assert "发生了什么" in q2
    reply = await day.say("钱进", "走廊有人喧哗")
    assert "已记录第2考场突发事件" in reply


async def test_papers_handout_dialog_skips_collection_counts(day: Day) -> None:
    """领取 asks only the count; 回收 also asks 答题卡, 空白, 损坏."""
    await day.say("王芳", "/试卷")
    await day.say("王芳", "1")
    reply = await day.say("王芳", "30份")
    assert "领取试卷 30 份" in reply
    await day.say("王芳", "/试卷")
    await day.say("王芳", "回收")
    await day.say("王芳", "30")
    assert "空白几份" in await day.say("王芳", "跳过")
    assert "损坏几份" in await day.say("王芳", "2")
    reply = await day.say("王芳", "0")
    assert "答题卡 28，空白 2，损坏 0" in reply


async def test_new_command_replaces_dialog(day: Day) -> None:
    """A command sent during a dialog runs and ends the dialog."""
    await day.say("王芳", "/违纪")
    reply = await day.say("王芳", "/缺考 无")
    assert "已记录第1考场缺考" in reply
    assert await day.reports("violation") == []


async def test_dialog_expires_after_ten_minutes(day: Day) -> None:
    """An answer more than 10 minutes after the question is not taken; the sender is told."""
    await day.say("王芳", "/缺考")
    day.clock.advance(timedelta(minutes=11))
    reply = await day.say("王芳", "无")
    assert "已超过10分钟" in reply
    assert await day.reports("absent") == []


async def test_dialogs_are_per_chat(day: Day) -> None:
    """A dialog in the group chat does not capture the same person's private messages."""
    await day.say("王芳", "/缺考", chat=ROOM1)
    reply = await day.say("王芳", "/缺考 无")
    assert "已记录" in reply
    reply = await day.say("王芳", "2026000003", chat=ROOM1)
    assert "追加 2026**0003" in reply  # the group dialog got the answer, added to the private 无


async def test_dialog_survives_restart(day: Day, settings: Settings, clock: ManualClock) -> None:
    """The state is in the database: a new app on the same database continues the dialog."""
    await day.say("王芳", "/违纪")
    await day.say("王芳", "2026000003")
    async with demo_app(settings, clock, seed=False) as other:
        assert other.services is not day.services
        assert "现场处理？" in (await other.say("王芳", "交头接耳") or "")
        await other.say("王芳", "跳过")
        reply = await other.say("王芳", "跳过")
        assert reply is not None and "交头接耳" in reply


async def test_slash_cancel(day: Day) -> None:
    """/取消 ends an open dialog; without one it says there is nothing to cancel."""
    await day.say("王芳", "/违纪")
    assert "已取消 /违纪" in await day.say("王芳", "／取消")
    assert await day.say("王芳", "/取消") == "当前没有进行中的操作。"


async def test_expired_dialog_lets_the_next_message_through(day: Day) -> None:
    """After 11 minutes a rule question is answered, with the expiry notice in front; nothing is recorded."""
    await day.say("王芳", "/缺考")
    day.clock.advance(timedelta(minutes=11))
    reply = await day.say("王芳", "开考多久后不准进场")
    first, rest = reply.split("\n", 1)
    assert "刚才的 /缺考 已超过10分钟没有回复，已自动取消" in first
    assert "《" in rest
    assert await day.reports("absent") == []
    assert "已超过10分钟" not in await day.say("王芳", "开考多久后不准进场")  # told once


async def test_expired_dialog_then_a_command_runs_it(day: Day) -> None:
    """A command sent after the dialog expired runs (notice in front); a refusal keeps the notice too."""
    await day.say("王芳", "/违纪")
    day.clock.advance(timedelta(minutes=11))
    reply = await day.say("王芳", "/缺考 无")
    assert reply.startswith("（刚才的 /违纪 已超过10分钟") and "已记录第1考场缺考" in reply
    await day.say("王芳", "/违纪")
    day.clock.advance(timedelta(minutes=11))
    refused = await day.say("王芳", "/缺考 张三")
    assert refused.startswith("（刚才的 /违纪 已超过10分钟")
    assert "的考生名单中没有“张三”" in refused and "用法：/缺考" in refused


async def test_expired_dialog_and_cancel(day: Day) -> None:
    """“取消” after expiry just says the dialog was already cancelled."""
    await day.say("王芳", "/试卷")
    day.clock.advance(timedelta(minutes=11))
    reply = await day.say("王芳", "取消")
    assert "已超过10分钟" in reply and "没有记录任何内容" in reply


async def test_office_room_question_lists_running_rooms(day: Day) -> None:
    """钱进 (office, no room of his own) is offered the rooms running now."""
    q = await day.say("钱进", "/试卷")
    assert q.startswith("哪个考场？")
    offered = q.splitlines()[1]
    assert offered.startswith("可选：") and all(f"第{n}考场" in offered for n in (1, 2, 3, 4))
    assert "领取还是回收" in await day.say("钱进", "第2考场")


ASIDE = "有个考生手机响了咋办"


async def test_rule_question_while_absent_dialog_waits(day: Day) -> None:
    """A rule question typed while /缺考 waits for the tickets (in the room's group) is answered as plain text is,
    with one line saying the dialog still waits; the dialog is kept and the next answer records."""
    await day.say("王芳", "/缺考", chat=ROOM1)
    reply = await day.say("王芳", ASIDE, chat=ROOM1)
    assert "没有看懂" not in reply and "《监考人员守则》" in reply, reply
    assert reply.endswith(
        "\n（/缺考 还在等您回复：缺考考生的准考证号或座号？多个用空格隔开，没有缺考回复“无”。发“取消”退出。）"
    )
    assert await day.reports("absent") == []
    done = await day.say("王芳", "3号座", chat=ROOM1)
    assert done.startswith("已记录第1考场缺考") and "2026**0003（3号座）" in done, done


async def test_rule_question_while_a_choice_is_asked(day: Day) -> None:
    """Privately, a question at /违纪's type question is answered aside and the type question still waits; answers
    (a number, a choice, a note that reads like a question at a free-text step) work as before."""
    await day.say("王芳", "/违纪")
    await day.say("王芳", "2026000003")
    reply = await day.say("王芳", "考生能不能带计算器？")
    assert "没有看懂" not in reply and reply.endswith("（/违纪 还在等您回复：违纪类型？发“取消”退出。）"), reply
    assert "现场处理？" in await day.say("王芳", "3")
    assert "补充说明？" in await day.say("王芳", "警告")
    done = await day.say("王芳", "考生问能不能再看一眼吗")  # a free-text answer stays the answer
    (row,) = await day.reports("violation")
    assert row.payload["note"] == "考生问能不能再看一眼吗" and f"编号 {row.id}" in done


async def test_question_like_answers_stay_answers(day: Day) -> None:
    """Data in the text (a seat, a ticket), or a short 确定吗-like reply, is taken by the dialog as before."""
    await day.say("王芳", "/缺考")
    reply = await day.say("王芳", "3号座怎么没来")  # read as the tickets, as before (and not understood)
    assert "还在等您回复" not in reply and reply.startswith("没有看懂“3号座怎么”"), reply
    await day.say("王芳", "/违纪")
    await day.say("王芳", "2026000005")
    again = await day.say("王芳", "是抄袭吗")  # the type step takes 抄袭 from it
    assert "还在等您回复" not in again and again.startswith("现场处理？"), again


async def test_plain_question_in_group_with_zha(day: Day) -> None:
    """Without a dialog, “…咋办” in a room's group reads as a question and is answered (咋 like 怎么)."""
    reply = await day.say("王芳", ASIDE, chat=ROOM1)
    assert "《监考人员守则》" in reply

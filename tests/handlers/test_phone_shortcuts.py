"""What staff type on a phone before they know the commands: /领取 and /回收 for /试卷, “/缺考 3号” meaning seat 3
of one's own room, and a command name without its slash (both databases)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from handlers.papers import COLLECT, HANDOUT
from tests.handlers.conftest import ROOM1, Day


@pytest.fixture
def day(db_day: Day) -> Day:
    """The demo day at 08:40 (theory 第1考场: 王芳 and 李强; 第2考场: 赵敏 and 陈刚) on SQLite and PostgreSQL."""
    return db_day


async def test_handout_and_collection_as_commands(day: Day) -> None:
    """/领取 30 is /试卷 领取 30; /回收 1 30 答题卡 30 keeps 1 as the room; each answers as /试卷 does."""
    reply = await day.say("王芳", "/领取 30份")
    assert reply.startswith("已记录第1考场试卷") and "领取试卷 30 份" in reply
    reply = await day.say("王芳", "/回收 1 30 答题卡 30")
    assert "回收 30 份（答题卡 30，空白 0，损坏 0）" in reply
    rows = await day.reports("papers")
    assert [(r.payload["action"], r.payload["count"]) for r in rows] == [(HANDOUT, 30), (COLLECT, 30)]
    assert {r.room_id for r in rows} == {rows[0].room_id}
    reply = await day.say("王芳", "/收卷30 答题卡 29 空白 1")  # the other name, glued
    assert "回收 30 份（答题卡 29，空白 1，损坏 0）" in reply


async def test_handout_command_refuses_what_papers_refuses(day: Day) -> None:
    """The shortcut's errors are /试卷's (and nothing is stored); an evaluator of another room is refused."""
    reply = await day.say("王芳", "/领取 30 答题卡 28")
    assert "答题卡、空白、损坏份数请在回收时填写" in reply
    reply = await day.say("王芳", "/领取 3 30")
    assert "第3考场" in reply
    assert await day.reports("papers") == []


async def test_lone_hao_is_a_seat_of_ones_own_room(day: Day) -> None:
    """王芳 (第1考场 only) typing “/缺考 3号” means seat 3 of 第1考场, not 第3考场."""
    reply = await day.say("王芳", "/缺考 3号")
    assert reply.startswith("已记录第1考场缺考"), reply
    (row,) = await day.reports("absent")
    assert row.payload["tickets"] == ["2026000003"]


async def test_lone_room_of_ones_own_asks_the_rest(day: Day) -> None:
    """“/缺考 2号” from 赵敏 (第2考场) names her room: the dialog asks for the candidates, then records."""
    reply = await day.say("赵敏", "/缺考 2号")
    assert reply.startswith("缺考考生的准考证号或座号？"), reply
    reply = await day.say("赵敏", "5号座")
    assert reply.startswith("已记录第2考场缺考"), reply
    assert [r.payload["tickets"] for r in await day.reports("absent")] == [["2026000035"]]


async def test_own_room_number_with_did_not_come_is_a_seat(day: Day) -> None:
    """周杰's room is 第3考场: “/缺考 3号 没来” says seat 3 did not come (not the room, which would open the dialog);
    “/缺考 3号” alone is still his room."""
    reply = await day.say("周杰", "/缺考 3号 没来")
    assert reply.startswith("已记录第3考场缺考"), reply
    (row,) = await day.reports("absent")
    assert len(row.payload["tickets"]) == 1 and row.payload["tickets"][0] in reply
    assert (await day.say("周杰", "/缺考 3号")).startswith("缺考考生的准考证号或座号？")


async def test_removing_a_candidate_who_was_kept_out_asks_first(day: Day) -> None:
    """周杰 removes seat 3 “迟到6分钟按规定不能进”: in a practical room late past 5 minutes is disqualified, so the
    candidate did not sit the exam and stays absent unless he says 确定; 10 minutes late in theory is let in."""
    await day.say("周杰", "/缺考 3号 没来")
    reply = await day.say("周杰", "/缺考 删 3号 迟到6分钟按规定不能进")
    assert reply.startswith("删除原因是“迟到6分钟按规定不能进”：实操考场迟到 5 分钟即取消该项考核资格"), reply
    assert (await day.say("周杰", "取消")).startswith("已取消")
    assert len((await day.reports("absent"))[-1].payload["tickets"]) == 1
    await day.say("周杰", "/缺考 删 3号 拒绝入场")
    assert "删除" in await day.say("周杰", "确定")
    assert (await day.reports("absent"))[-1].payload["tickets"] == []
    await day.say("王芳", "/缺考 赵静")
    reply = await day.say("王芳", "/缺考 删 赵静 迟到10分钟 已进场")
    assert reply.startswith("已记录第1考场缺考"), reply


async def test_lone_bare_number_of_another_room_is_still_refused(day: Day) -> None:
    """“/缺考 3” (no 号) from 王芳 stays the room, and she is told it is not hers; nothing is stored."""
    reply = await day.say("王芳", "/缺考 3")
    assert "第3考场" in reply and "只能报告自己负责的考场" in reply
    assert await day.reports("absent") == []


async def test_correction_with_only_a_room_is_refused(day: Day) -> None:
    """/更正 of an absentee list needs candidates: a room alone is refused as before."""
    await day.say("王芳", "/缺考 2026000003")
    (row,) = await day.reports("absent")
    reply = await day.say("王芳", f"/更正 {row.id} 3号")
    assert "请写缺考考生的准考证号" in reply
    assert len(await day.reports("absent")) == 1


async def test_command_name_without_slash(day: Day) -> None:
    """“帮助” alone is /帮助 and “缺考” alone starts /缺考's dialog; “缺考 3号” is answered as a question with a
    line saying nothing was recorded and what to send (and, when it also asks something, the answer); “违纪 怎么处理”
    gets no such line."""
    assert (await day.say("王芳", "帮助")).startswith("王芳，您可以使用以下命令")
    assert (await day.say("王芳", "缺考")).startswith("缺考考生的准考证号或座号？")
    assert (await day.say("王芳", "取消")).startswith("已取消")
    reply = await day.say("王芳", "缺考 3号")
    assert reply == "这条没有记录：命令前要加 /，请发：/缺考 3号", reply  # a report, not a question: no answer
    reply = await day.say("王芳", "缺考 3号 要写准考证号吗")
    assert reply.startswith("这条没有记录：命令前要加 /，请发：/缺考 3号 要写准考证号吗\n以下按问题回答：\n"), reply
    assert await day.reports("absent") == []
    assert "这条没有记录" not in await day.say("王芳", "违纪 怎么处理")


async def test_command_name_without_slash_respects_permissions(day: Day) -> None:
    """A name the sender may not use (“导出” for an invigilator) is not run: it goes to the knowledge base."""
    reply = await day.say("王芳", "导出")
    assert "权限" not in reply and not reply.startswith("用法")


async def test_collection_before_the_start_is_refused(day: Day) -> None:
    """刘洋's computer exam (第4考场) has not begun at 08:40: a 回收 is refused with the start time and the 领取
    command, nothing is stored and nobody is alerted; his 领取 is taken. 王芳's running exam takes a 回收."""
    office_before = await day.inbox("钱进")
    reply = await day.say("刘洋", "/回收 30")
    assert "才开考，现在还不能报回收" in reply and "/领取 30" in reply, reply
    assert await day.reports("papers") == []
    assert await day.inbox("钱进") == office_before
    assert (await day.say("刘洋", "/领取 30")).startswith("已记录第4考场试卷")
    assert "回收 30 份" in await day.say("王芳", "/试卷 回收 30 答题卡 30")


async def test_practical_type_as_evaluators_say_it(day: Day) -> None:
    """周杰 in the practical room: “违反操作规程” (安全 left out) is 违反安全操作规程; the rest is the note."""
    reply = await day.say("周杰", "/违纪 5号 违反操作规程 警告 未戴护目镜")
    assert reply.startswith("已记录第3考场违纪"), reply
    (row,) = await day.reports("violation")
    p = row.payload
    assert (p["type"], p["action"], p["note"]) == ("违反安全操作规程", "警告", "未戴护目镜")


async def test_several_hao_are_seats_of_ones_own_room(day: Day) -> None:
    """“/缺考 3号 7号” from 王芳 (not in 第3考场) means seats 3 and 7 of 第1考场; from 赵敏 in 第2考场, “/缺考 2号 7号”
    keeps its reading: room 2 (hers), seat 7."""
    reply = await day.say("王芳", "/缺考 3号 7号")
    assert reply.startswith("已记录第1考场缺考"), reply
    reply = await day.say("赵敏", "/缺考 2号 7号")
    assert reply.startswith("已记录第2考场缺考"), reply
    assert sorted(r.payload["tickets"] for r in await day.reports("absent")) == [
        ["2026000003", "2026000007"],
        ["2026000037"],
    ]


async def test_office_alerts_name_the_candidate_seat_and_note(day: Day) -> None:
    """The office's alerts of a serious violation, its 确认 and its 有异议 all read the same: ticket (name) (seat)
    type, action (note), whoever's chat caused them (李强's private 有异议 used to leave the name out)."""
    await day.say("王芳", "/违纪 5号 使用手机 终止考试 手机藏在袖子里")
    (row,) = await day.reports("violation")
    await day.say("李强", f"/确认 {row.id} 有异议")
    line = "2026000005（陈秀英）（5号座）使用手机，现场处理：终止考试（手机藏在袖子里）"
    alerts = [t for t in await day.inbox("钱进") if t.startswith(("【违纪·需关注】", "【违纪记录有异议】"))]
    assert len(alerts) == 2 and all(line in t for t in alerts), alerts


async def test_command_without_slash_in_a_group(day: Day) -> None:
    """In 第1考场's group “缺考 12号座” is not run and not ignored either: the answer says nothing was recorded and
    what to send; “缺考” alone there is talk and gets no answer."""
    reply = await day.chat.say("王芳", "缺考 12号座", chat=ROOM1)
    assert reply == "这条没有记录：命令前要加 /，请发：/缺考 12号座"
    assert await day.chat.say("王芳", "缺考", chat=ROOM1) is None
    assert await day.reports("absent") == []


async def test_absentee_with_name_and_said(day: Day) -> None:
    """“/缺考 2026000003 赵静没来” records 赵静 (her name, from the roster, and 没来 are what people add); another
    candidate's name beside the ticket is refused with that name's ticket, before anything is recorded."""
    reply = await day.say("王芳", "/缺考 2026000008 赵静")
    assert "赵静的准考证号是 2026000003" in reply, reply
    assert await day.reports("absent") == []
    reply = await day.say("王芳", "/缺考 2026000003 赵静没来")
    assert reply.startswith("已记录第1考场缺考"), reply
    reply = await day.say("王芳", "/缺考 8号座 周娜 未到")
    assert "追加" in reply, reply
    reply = await day.say("王芳", "/缺考 2026000012 不知道")
    assert "没有看懂“不知道”" in reply
    assert [r.payload["tickets"] for r in await day.reports("absent")] == [
        ["2026000003"],
        ["2026000003", "2026000008"],
    ]


async def test_confirm_typed_without_number(day: Day) -> None:
    """李强 types “确认” (his card says 点“确认”): with one open card it is confirmed as the tap would; with two,
    both are listed with their typed forms and nothing is confirmed; with none he is told so. “/确认” alone too."""
    assert (await day.say("李强", "确认")).startswith("目前没有待您核对或确认的记录")
    await day.say("王芳", "/领取 30")
    (handout,) = await day.reports("papers")
    reply = await day.say("李强", "确认")
    assert reply.startswith(f"已确认第1考场试卷领取 30 份（编号 {handout.id}）"), reply
    await day.say("王芳", "/违纪 5号 使用手机 终止考试")
    await day.say("王芳", "/违纪 6号 替考")
    reply = await day.say("李强", "/确认")
    assert reply.startswith("您有 2 项待核对或确认，请写明编号") and reply.count("· 编号") == 2, reply
    assert [r for r in await day.reports("confirm")] == []
    first, second = await day.reports("violation")
    await day.say("李强", f"/确认 {first.id}")
    assert (await day.say("李强", "确认无误")).startswith(f"已确认编号 {second.id}")
    assert len(await day.reports("confirm")) == 2


async def test_confirm_typed_in_the_room_group(day: Day) -> None:
    """In 第1考场's group “确认” confirms 李强's one open card (what he means by it there); with no card, or with two,
    it is talk between colleagues and gets no reply."""
    assert await day.chat.say("李强", "确认", chat=ROOM1) is None
    await day.say("王芳", "/领取 30")
    reply = await day.chat.say("李强", "确认", chat=ROOM1)
    assert reply is not None and reply.startswith("已确认第1考场试卷领取 30 份"), reply
    await day.say("王芳", "/违纪 5号 使用手机 终止考试")
    await day.say("王芳", "/违纪 6号 替考")
    assert await day.chat.say("李强", "确认", chat=ROOM1) is None
    assert await day.reports("confirm") == []


async def test_confirm_word_answers_an_open_dialog_first(day: Day) -> None:
    """With /缺考's question “确定记录吗？” open, “确认” answers it (the dialog comes before the card)."""
    day.clock.advance(-timedelta(minutes=20))  # 08:20: absence is not final yet
    assert "确定现在就记录" in await day.say("王芳", "/缺考 2026000003")
    assert (await day.say("王芳", "确认")).startswith("已记录第1考场缺考")


async def test_collection_with_answer_sheets_only_reads_the_rest_as_blank(day: Day) -> None:
    """“/回收 30 答题卡 29” with one absentee: the other paper is blank (as the fill-in question reads a bare count),
    so it reconciles and nobody is alerted; 答题卡 above the count still does not."""
    await day.say("王芳", "/缺考 3号座")
    await day.say("王芳", "/领取 30")
    office_before = len(await day.inbox("钱进"))
    reply = await day.say("王芳", "/回收 30 答题卡 29")
    assert "回收 30 份（答题卡 29，空白 1，损坏 0），核对无误" in reply, reply
    assert len(await day.inbox("钱进")) == office_before
    reply = await day.say("赵敏", "/回收 28 答题卡 29")
    assert "核对不符" in reply, reply


async def test_violation_note_keeps_its_punctuation_without_the_marker(day: Day) -> None:
    """The note after the type and action, with no 说明：, keeps the comma it was typed with."""
    await day.say("王芳", "/违纪 5号 使用手机 终止考试 手机藏在袖子里，已收缴")
    (row,) = await day.reports("violation")
    assert row.payload["note"] == "手机藏在袖子里，已收缴"


async def test_incident_starting_with_a_numbered_thing(day: Day) -> None:
    """“/突发 12号机死机…” is about machine 12 in her own room, not 第12考场; “/突发 1号 停电” still names room 1."""
    reply = await day.say("王芳", "/突发 12号机死机，已换到备用机31号")
    assert reply.startswith("已记录第1考场突发事件") and "12号机死机，已换到备用机31号" in reply, reply
    assert (await day.say("王芳", "/突发 1号 停电")).startswith("已记录第1考场突发事件")
    assert [r.payload["text"] for r in await day.reports("incident")] == ["12号机死机，已换到备用机31号", "停电"]


async def test_absentees_by_name(day: Day) -> None:
    """“/缺考 赵静 胡杰没来”: names looked up in 第1考场's roster; a name not on it is refused and nothing stored."""
    reply = await day.say("王芳", "/缺考 赵静 张三")
    assert "的考生名单中没有“张三”" in reply, reply
    assert await day.reports("absent") == []
    reply = await day.say("王芳", "/缺考 赵静 胡杰没来")
    assert reply.startswith("已记录第1考场缺考"), reply
    assert [r.payload["tickets"] for r in await day.reports("absent")] == [["2026000003", "2026000012"]]


def test_a_name_twice_on_the_roster_needs_the_ticket() -> None:
    """Two candidates of one room with the same name: the name alone is refused, naming both tickets."""
    from bot.errors import UserFacingError
    from handlers._absent_args import names_to_tickets

    names = {"2026000001": "王伟", "2026000002": "王伟", "2026000003": "赵静"}
    assert names_to_tickets(["赵静"], names, "第1考场") == ["2026000003"]
    with pytest.raises(UserFacingError, match="第1考场有 2 名考生叫王伟（2026000001、2026000002），请写准考证号"):
        names_to_tickets(["王伟"], names, "第1考场")


async def test_number_questions_list_the_recent_reports(day: Day) -> None:
    """/撤销 alone lists the reports in force in her rooms today, newest first (not another room's), then asks;
    in the room's group the list is masked like every group reply."""
    await day.say("王芳", "/缺考 3号座")
    await day.say("王芳", "/突发 空调漏水")
    await day.say("赵敏", "/突发 停电")
    (absent,) = await day.reports("absent")
    incident = (await day.reports("incident"))[0]
    reply = await day.say("王芳", "/撤销")
    head, first, second, question = reply.split("\n")[:4]
    assert head == "今天您负责的考场最近的报告："
    assert first.startswith(f"· 编号 {incident.id} ") and first.endswith("第1考场突发事件：空调漏水"), first
    assert second.startswith(f"· 编号 {absent.id} ") and "2026000003" in second
    assert question == "要撤销的报告编号？" and "停电" not in reply
    assert (await day.say("王芳", "取消")).startswith("已取消")
    group = await day.say("王芳", "/历史", chat=ROOM1)
    assert "2026**0003" in group and "2026000003" not in group


async def test_violation_and_removal_by_name(day: Day) -> None:
    """“/违纪 赵静 使用手机 警告” finds 2026000003 on the roster; “/违纪 3号座 赵静 …” drops the matching name from
    the note, “/违纪 3号座 周娜 …” is refused; “/缺考 删 赵静 到了” takes her off the list with the reason."""
    assert (await day.say("王芳", "/违纪 赵静 使用手机 警告")).startswith("已记录第1考场违纪")
    assert (await day.say("王芳", "/违纪 3号座 赵静 交头接耳 劝告")).startswith("已记录第1考场违纪")
    assert "周娜的准考证号是 2026000008" in await day.say("王芳", "/违纪 3号座 周娜 交头接耳 劝告")
    assert [(r.payload["ticket"], r.payload["note"]) for r in await day.reports("violation")] == [
        ("2026000003", ""),
        ("2026000003", ""),
    ]
    await day.say("王芳", "/缺考 赵静 胡杰")
    reply = await day.say("王芳", "/缺考 删 赵静 到了")
    assert "删除 2026000003（原因：到了）" in reply, reply
    assert (await day.reports("absent"))[-1].payload["tickets"] == ["2026000012"]


async def test_the_same_record_twice_is_kept_and_pointed_out(day: Day) -> None:
    """The same violation (or incident) again within minutes — typed twice on a weak signal, or by both
    invigilators — is recorded (it may be real) and the reply names the earlier one and the /撤销 to undo it."""
    await day.say("李强", "/违纪 1 5号 交头接耳 劝告")
    reply = await day.say("李强", "/违纪 5号 交头接耳 劝告")
    first, second = await day.reports("violation")
    assert f"已有相同的违纪记录（编号 {first.id}）。如是重复发送，请 /撤销 {second.id} 重复。" in reply, reply
    assert "相同" not in await day.say("李强", "/违纪 5号 交头接耳 警告")  # another action: another record
    await day.say("王芳", "/突发 停电")
    assert "几分钟前已报过相同的突发事件" in await day.say("李强", "/突发 停电")
    day.clock.advance(timedelta(minutes=11))
    assert "相同" not in await day.say("王芳", "/突发 停电")


async def test_a_revoked_record_is_not_the_same_record(day: Day) -> None:
    """Only records in force count: after the first 停电 was revoked, the next one is not called a repeat; an
    incident with other words is not either."""
    await day.say("王芳", "/突发 停电")
    first = (await day.reports("incident"))[-1]
    assert (await day.say("王芳", f"/撤销 {first.id} 报错了")).startswith("已撤销"), "revoke"
    assert "相同" not in await day.say("李强", "/突发 停电")
    assert "相同" not in await day.say("王芳", "/突发 停电了 空调也停了")


async def test_second_invigilator_typing_the_same_serious_violation_confirms_it(day: Day) -> None:
    """李强 types the 终止考试 王芳 just recorded: no second record and no second alert to the office; it is his
    confirmation (the office hears 违纪已确认 once). Typed again, or redelivered, nothing more is stored; 王芳 typing
    her own again is kept with the usual note."""
    await day.say("王芳", "/违纪 1 3号 抄袭 终止考试")
    (first,) = await day.reports("violation")
    reply = await day.send("李强", "/违纪 3号 抄袭 终止考试", "mid-li")
    assert reply is not None
    head = f"几分钟前已有相同的严重违纪记录（编号 {first.id}），这条没有重复记录，记为您的确认。"
    assert reply.startswith(head), reply
    assert await day.send("李强", "/违纪 3号 抄袭 终止考试", "mid-li") == reply  # redelivered: the same, once
    assert "王芳、李强两人记录" in reply, reply
    assert len(await day.reports("violation")) == 1
    (confirmed,) = await day.reports("confirm")
    assert confirmed.payload["ref"] == first.id
    office = await day.inbox("钱进")
    assert [m[:7] for m in office] == ["【违纪·需关注", "【违纪已确认】"], office
    reply = await day.send("李强", "/违纪 3号 抄袭 终止考试", "mid-again")
    assert reply is not None and f"编号 {first.id} 已由李强确认过" in reply, reply
    assert await day.send("李强", "/违纪 3号 抄袭 终止考试", "mid-again") == reply  # a redelivery: the same answer
    assert len(await day.reports("confirm")) == 1 and len(await day.reports("violation")) == 1
    reply = await day.say("王芳", "/违纪 1 3号 抄袭 终止考试")
    assert f"已有相同的违纪记录（编号 {first.id}）" in reply, reply
    assert len(await day.reports("violation")) == 2
    day.clock.advance(timedelta(minutes=11))  # later, the same words are another record (and another alert)
    reply = await day.say("李强", "/违纪 3号 抄袭 终止考试")
    assert reply.startswith("已记录第1考场违纪"), reply


async def test_count_typed_against_the_open_card_is_its_dispute(day: Day) -> None:
    """李强's card asks him to check 王芳's 领取 30: “不对 是31份” is 数量不符 with his count, passed to the office and
    into the typed fix; the count of the card itself is not a dispute; without an open card nothing is recorded."""
    assert (await day.say("李强", "数量不符")).startswith("目前没有待您核对或确认的记录。")
    await day.say("王芳", "/领取 30")
    (handout,) = await day.reports("papers")
    reply = await day.say("李强", "不对，是30份")
    assert reply == f"您说的 30 份与编号 {handout.id} 报告的领取份数一致；核对无误请回复“确认”。", reply
    reply = await day.say("李强", "不对 是３１份")
    assert reply.startswith(f"已记录您对编号 {handout.id}（领取 30 份）数量不符（李强清点为 31 份）；"), reply
    assert f"/更正 {handout.id} 领取 31" in reply, reply
    assert any("李强核对认为数量不符（李强清点为 31 份）" in m for m in await day.inbox("钱进"))
    assert (await day.say("李强", "数量不符")).startswith("目前没有待您核对或确认的记录。")  # recorded once
    assert (await day.say("王芳", f"/更正 {handout.id} 领取 31")).startswith("已更正第1考场试卷")
    assert (await day.say("李强", "确认")).startswith("已确认第1考场试卷领取 31 份")


async def test_objection_typed_against_the_open_violation_card(day: Day) -> None:
    """“有异议” typed by 李强 with one serious-violation card open is the card's 有异议: recorded, the office told."""
    await day.say("王芳", "/违纪 5号 替考")
    (row,) = await day.reports("violation")
    assert (await day.say("李强", "有异议")).startswith(f"已记录您对编号 {row.id} 有异议（未确认）")
    assert any("【违纪记录有异议】" in m for m in await day.inbox("钱进"))


async def test_the_same_minor_violation_from_a_colleague_is_not_recorded_twice(day: Day) -> None:
    """Two evaluators of the practical room deduct the same 10 points for the same thing: the second message is
    not a second record (the candidate would lose 20); a note telling another event is recorded; 扣5分 is another."""
    await day.say("吴婷", "/违纪 3 8号 违反安全操作规程 扣10分 没戴护目镜")
    (first,) = await day.reports("violation")
    reply = await day.say("郑凯", "/违纪 8号 违反安全操作规程 扣10分")
    assert reply.startswith(f"第3考场几分钟前吴婷已记录相同的违纪（编号 {first.id}）：") and "这条没有重复记录" in reply
    assert len(await day.reports("violation")) == 1
    assert reply == await day.say("郑凯", "/违纪 8号 违反安全操作规程 扣10分 没戴护目镜")  # the same note
    assert (await day.say("郑凯", "/违纪 8号 违反安全操作规程 扣10分 第二次 又摘了")).startswith("已记录第3考场违纪")
    assert (await day.say("周杰", "/违纪 8号 违反安全操作规程 扣5分")).startswith("已记录第3考场违纪")
    assert len(await day.reports("violation")) == 3


async def test_glued_command_without_slash(day: Day) -> None:
    """Voice input writes “缺考三号座” glued and without the slash: the note says what to send, and that does work."""
    reply = await day.say("王芳", "缺考三号座")
    assert reply == "这条没有记录：命令前要加 /，请发：/缺考三号座", reply
    assert (await day.say("王芳", "/缺考三号座")).startswith("已记录第1考场缺考")
    assert "这条没有记录" not in await day.say("王芳", "缺考名单怎么填")


async def test_shortcut_alone_asks_only_the_count(day: Day) -> None:
    """“/领取” alone (one room today) asks 多少份？ — not 领取还是回收？ — and records the answer."""
    assert (await day.say("王芳", "/领取")).startswith("多少份？")
    assert (await day.say("王芳", "30")).startswith("已记录第1考场试卷")
    (row,) = await day.reports("papers")
    assert (row.payload["action"], row.payload["count"]) == (HANDOUT, 30)


async def test_practical_collection_has_no_answer_cards(day: Day) -> None:
    """A practical room hands out 实操考单, not answer cards: /回收 15 checks against the 领取 at once, asks nothing
    about 答题卡, and the 考场情况记录表 shows — there; a short count is a mismatch as in any room."""
    from bot.records.export import day_workbook
    from tests.records.conftest import SHANGHAI

    await day.say("周杰", "/领取 15")
    reply = await day.say("周杰", "/回收 15")
    assert reply.startswith("已记录第3考场试卷"), reply
    assert "回收 15 份（空白 0，损坏 0），核对无误。" in reply and "答题卡" not in reply, reply
    status = await day.say("钱进", "/试卷状态")
    assert "第3考场：领取 15" in status and "待补报" not in status, status
    _name, data = await day_workbook(day.services.db, day.clock.now().astimezone(SHANGHAI).date(), SHANGHAI)
    cells = [c for row in load_workbook(io.BytesIO(data))["演示第2场-第3考场"].iter_rows(values_only=True) for c in row]
    assert "—" in cells and "未报" not in cells[cells.index("—") - 3 : cells.index("—") + 3], cells
    assert "三、实操考单（领取与回收核对）" in cells and "三、试卷、答题卡（领取与回收核对）" not in cells
    reply = await day.say("周杰", "/回收 15 作废1")  # a spoiled 考单 is not read as 14 answer cards
    assert "回收 15 份（空白 0，损坏 1），核对无误。" in reply and "答题卡" not in reply.split("这是重新清点")[0], reply
    reply = await day.say("周杰", "/回收 14")
    assert "核对不符：领取 15 ≠ 回收 14" in reply and "答题卡" not in reply, reply
    assert any("【试卷核对不符】第3考场" in m for m in await day.inbox("钱进"))


STATION_REFUSED = (
    "第3考场是实操考场，工位按抽签确定（《实际操作考核考场规则》2.），不能由工位号查到考生。"
    "请写准考证号或姓名，例：/违纪 准考证号 5号工位 违反安全操作规程 警告\n用法：/违纪 考场 准考证号"
)


@pytest.mark.parametrize("seat", ["5号工位", "工位5", "5工位", "工位号5"])
async def test_practical_seat_said_as_workstation(day: Day, seat: str) -> None:
    """In the practical room the 工位 is drawn by lot at check-in (实际操作考核考场规则 2.): “/违纪 5号工位 …” names
    nobody (seat 5 of the roster, 2026000063, is not the candidate at 工位 5) and records nothing; written with the
    准考证号 or the name, the record is that candidate's and keeps the 工位 in its note."""
    reply = await day.say("周杰", f"/违纪 {seat} 违反操作规程 警告")
    assert reply.startswith(STATION_REFUSED), reply
    assert await day.reports("violation") == []
    reply = await day.say("周杰", f"/违纪 2026000070 {seat} 违反操作规程 警告")
    assert reply.startswith("已记录第3考场违纪"), reply
    reply = await day.say("周杰", f"/违纪 徐静 {seat} 违反操作规程 扣5分")  # 徐静: 2026000070, seat 12 on the roster
    assert reply.startswith("已记录第3考场违纪") and "现场处理：扣5分（5号工位）" in reply, reply
    by_ticket, by_name = await day.reports("violation")
    assert (by_ticket.payload["ticket"], by_ticket.payload["note"]) == ("2026000070", seat)  # as typed
    assert (by_name.payload["ticket"], by_name.payload["note"]) == ("2026000070", "5号工位")
    assert "seat" not in by_ticket.payload and "seat" not in by_name.payload


@pytest.mark.parametrize("act", ["未戴护目镜", "没戴安全帽", "不戴手套"])
async def test_protective_equipment_left_off_is_a_safety_breach(day: Day, act: str) -> None:
    """“/违纪 2026000070 5号工位 未戴护目镜 警告”: the act names the type (违反安全操作规程) and stays in the note
    with the 工位; without the candidate the example to send keeps the act."""
    reply = await day.say("周杰", f"/违纪 5号工位 {act} 警告")
    assert f"例：/违纪 准考证号 5号工位 违反安全操作规程 警告 {act}\n" in reply, reply
    reply = await day.say("周杰", f"/违纪 2026000070 5号工位 {act} 警告")
    assert reply.startswith("已记录第3考场违纪"), reply
    (row,) = await day.reports("violation")
    p = row.payload
    assert (p["ticket"], p["type"], p["action"], p["note"]) == (
        "2026000070",
        "违反安全操作规程",
        "警告",
        f"5号工位 {act}",
    )


async def test_first_hao_in_ones_own_rooms_group_is_a_seat(day: Day) -> None:
    """In 第1考场's group “/缺考 1号 3号” from 王芳 means seats 1 and 3 (the group names the room); the same words from
    the office in that group too, and “1号 3号” there never drops seat 1."""
    reply = await day.say("王芳", "/缺考 1号 3号", chat=ROOM1)
    assert reply.startswith("已记录第1考场缺考"), reply
    assert "缺考 2：2026**0001（1号座）、2026**0003（3号座）" in reply
    reply = await day.say("赵敏", "/缺考 2号 7号", chat="console:第2考场")
    assert "缺考 2：2026**0032（2号座）、2026**0037（7号座）" in reply, reply
    reply = await day.say("钱进", "/缺考 1号 5号", chat=ROOM1)
    assert "追加 2026**0005（5号座）" in reply and "（1号座）" in reply, reply
    assert sorted(r.payload["tickets"] for r in await day.reports("absent")) == [
        ["2026000001", "2026000003"],
        ["2026000001", "2026000003", "2026000005"],
        ["2026000032", "2026000037"],
    ]


async def test_first_hao_privately_is_the_room_and_says_so(day: Day) -> None:
    """Privately “/缺考 2号 7号” from 赵敏 (her only room is 第2考场) keeps its reading, room 2 and seat 7, and adds one
    line on how to mean seat 2; once seat 2 is on the list the line is left out."""
    reply = await day.say("赵敏", "/缺考 2号 7号")
    assert reply.startswith("已记录第2考场缺考"), reply
    assert reply.endswith("\n（“2号”按第2考场读；若是2号座，请再发 /缺考 2号座）"), reply
    assert (await day.say("赵敏", "/缺考 2号座")).startswith("已记录第2考场缺考")
    assert "2号座" not in await day.say("赵敏", "/缺考 2号 8号")
    assert "按第2考场读" not in await day.say("钱进", "/缺考 2号 9号")  # not the office's own room


async def test_seats_joined_by_a_word_are_two_seats(day: Day) -> None:
    """Session 22: “/缺考两个 12号和15号” (两个, then seats joined by 和) records seats 12 and 15 of her room; it said
    the count and the seats did not agree."""
    reply = await day.say("王芳", "/缺考两个 12号和15号")
    assert reply.startswith("已记录第1考场缺考"), reply
    (row,) = await day.reports("absent")
    assert row.payload["tickets"] == ["2026000012", "2026000015"]


async def test_a_violation_note_is_not_left_in_pieces(day: Day) -> None:
    """Session 22: “手机响了 已警告” gives the type (手机) and the action (警告) from inside its words; the note is what
    was said, not the pieces left (“响了 已”)."""
    reply = await day.say("王芳", "/违纪 5号 手机响了 已警告")
    assert "现场处理：警告（手机响了 已警告）" in reply, reply
    (row,) = await day.reports("violation")
    assert row.payload["note"] == "手机响了 已警告"


async def test_the_collect_word_said_twice_is_one_collection(day: Day) -> None:
    """Session 22: “收卷了 收回30份 答题卡30” (收卷 glued to 了, then 收回 with the count) was hinted as a command that
    then said “没有看懂“了 收回30””: it is /回收 30 with 30 answer cards."""
    from handlers.papers import COLLECT, parse

    args = parse("回收 了 收回30份 答题卡30")
    assert (args.action, args.count, args.answered) == (COLLECT, 30, 30)
    hint = await day.say("王芳", "收卷了 收回30份 答题卡30", chat=ROOM1)
    assert hint == "这条没有记录：命令前要加 /，请发：/收卷了 收回30份 答题卡30", hint
    await day.say("王芳", "/领取 30")
    reply = await day.say("王芳", "/收卷了 收回30份 答题卡30")
    assert "回收 30" in reply and "没有看懂" not in reply, reply

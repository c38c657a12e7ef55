"""/违纪 /violation, /确认 and /认定: phrasings, refusals, alerts and the second invigilator's confirmation."""

from __future__ import annotations

import pytest

from tests.handlers.conftest import ROOM1, Day

# (text, ticket, type, action)
PHRASINGS: list[tuple[str, str, str, str | None]] = [
    ("/违纪 1 2026000003 抄袭 警告", "2026000003", "抄袭", "警告"),
    ("／违纪　１　２０２６０００００３　抄袭　警告", "2026000003", "抄袭", "警告"),
    ("、违纪 1 2026000003 抄袭", "2026000003", "抄袭", None),
    ("/违纪1 2026000003 交头接耳 劝告", "2026000003", "交头接耳", "劝告"),
    ("/违纪 2026000003 手机 警告", "2026000003", "携带手机等电子设备", "警告"),
    ("/违纪 第1考场 2026000003 携带手机等电子设备", "2026000003", "携带手机等电子设备", None),
    ("/违纪 2026000003，传纸条，警告", "2026000003", "传递物品", "警告"),
    ("/违纪 警告 抄袭 2026000003", "2026000003", "抄袭", "警告"),
    ("/违纪 抄袭 2026000003 1号", "2026000003", "抄袭", None),
    ("/违纪 一考场 2026000003 扰乱考场秩序 警告 大声喧哗", "2026000003", "扰乱考场秩序", "警告"),
    ("/违纪 01 2026000003 不服从 劝告", "2026000003", "不服从管理", "劝告"),
    ("/violation 1 2026000003 抄袭 警告", "2026000003", "抄袭", "警告"),
    ("/VIOLATION 2026000003 其他", "2026000003", "其他", None),
    ("/违规 2026000003 代考 终止考试", "2026000003", "替考", "终止考试"),
    ("/违纪 1考场 2026000003 抄袭 成绩无效", "2026000003", "抄袭", "宣布成绩无效"),
    ("/违纪  2026000003   抄袭  终止 ", "2026000003", "抄袭", "终止考试"),
    ("/违纪 2026000003 抄袭 警告 说明：偷看邻座", "2026000003", "抄袭", "警告"),
    ("/违纪 2026000003 携带手机 警告", "2026000003", "携带手机等电子设备", "警告"),
    ("/违纪 2026000003 携带电子设备 劝告", "2026000003", "携带手机等电子设备", "劝告"),
    ("/违纪 2026000003 携带 警告", "2026000003", "携带手机等电子设备", "警告"),
    ("/违纪 2026000003 交头接耳 劝告 说明：劝告后仍说话，警告", "2026000003", "交头接耳", "劝告"),
]


@pytest.mark.parametrize(("text", "ticket", "vtype", "action"), PHRASINGS)
async def test_violation_phrasings(day: Day, text: str, ticket: str, vtype: str, action: str | None) -> None:
    """Each phrasing records one violation in 第1考场 and repeats what was recorded with its 编号."""
    reply = await day.say("王芳", text)
    rows = await day.reports("violation")
    assert len(rows) == 1, reply
    p = rows[0].payload
    assert (p["ticket"], p["type"], p["action"]) == (ticket, vtype, action)
    assert f"已记录第1考场违纪（编号 {rows[0].id}）" in reply
    assert vtype in reply and ticket in reply
    assert (action or "未填") in reply


MALFORMED: list[tuple[str, str]] = [
    ("/违纪 1 抄袭 警告", "请写违纪考生的准考证号。"),
    ("/违纪 1 2026000003 警告", "请写违纪类型"),
    ("/违纪 1 2026000003 2026000004 抄袭", "一条违纪记录只写一名考生"),
    ("/违纪 1 2026000099 抄袭", "不在第1考场的考生名单中"),
    ("/违纪 9 2026000003 抄袭", "今天没有第9考场"),
    ("/违纪 1 2026000003 抄袭 警告 终止考试", "处理只能写一种：劝告、警告、终止考试、宣布成绩无效。"),
    ("/违纪 1 2026000003 抄袭 劝告 宣布成绩无效", "处理只能写一种"),
    ("/违纪 1 2026000003 替考 终止 警告", "处理只能写一种"),
    ("/违纪 1 2026000003 抄袭 替考", "违纪类型只能写一种"),
    ("/违纪 1 2026000003 代考 抄袭 终止考试", "违纪类型只能写一种"),
    ("/违纪 1 2026000003 抄袭替考", "违纪类型只能写一种"),
    ("/违纪 1 2026000003 交头接耳 传递物品", "违纪类型只能写一种"),
]


@pytest.mark.parametrize(("text", "error"), MALFORMED)
async def test_violation_refusals(day: Day, text: str, error: str) -> None:
    """A malformed /违纪 records nothing and shows the right form."""
    reply = await day.say("王芳", text)
    assert error in reply
    assert "用法：/违纪 考场 准考证号 类型" in reply
    assert await day.reports("violation") == []


async def test_words_that_are_no_type_get_the_same_record_typed_with_qita(day: Day) -> None:
    """睡觉 is no type of the list: the refusal says so and shows the record with 其他 (the words as its note),
    which then records."""
    reply = await day.say("王芳", "/违纪 1 3号 睡觉 警告")
    assert "“睡觉”不是可选的违纪类型" in reply and "抄袭" in reply
    assert "例：/违纪 1 3号 其他 警告 睡觉" in reply
    assert await day.reports("violation") == []
    done = await day.say("王芳", "/违纪 1 3号 其他 警告 睡觉")
    assert "已记录第1考场违纪" in done and "其他" in done and "睡觉" in done


async def test_other_room_refused(day: Day) -> None:
    """An invigilator cannot report for a room they are not assigned to."""
    reply = await day.say("王芳", "/违纪 2 2026000031 抄袭")
    assert "只能报告自己负责的考场" in reply


@pytest.mark.parametrize(
    "text", ["/违纪 1 2026000003 抄袭 终止考试", "/违纪 1 2026000003 抄袭 宣布成绩无效", "/违纪 1 2026000003 替考"]
)
async def test_serious_violation_alerts_office_and_supervisors(day: Day, text: str) -> None:
    """终止考试, 宣布成绩无效 and 替考 alert the office and supervisors at once, with full data in private."""
    reply = await day.say("王芳", text)
    assert "已通知考务办公室和督导" in reply
    for name in ("钱进", "马文", "孙丽"):
        inbox = await day.inbox(name)
        assert len(inbox) == 1 and "2026000003" in inbox[0] and "【违纪" in inbox[0]
    (card,) = await day.inbox("李强")  # the second invigilator: only the card asking for /确认 (确认 / 有异议)
    assert card.startswith("【严重违纪待确认") and card.endswith(":vconfirm") and "回复“/确认 1”" in card


async def test_minor_violation_does_not_alert(day: Day) -> None:
    """A 警告 is recorded without an alert."""
    await day.say("王芳", "/违纪 1 2026000003 抄袭 警告")
    assert await day.inbox("钱进") == []


async def test_confirmation_by_second_invigilator(day: Day) -> None:
    """/确认 by the room's other invigilator makes it recorded by two; the reporter cannot confirm."""
    await day.say("王芳", "/违纪 1 2026000003 抄袭 终止考试")
    (row,) = await day.reports("violation")
    assert "自己报告的" in await day.say("王芳", f"/确认 {row.id}")
    assert "没有找到您可以查看的编号" in await day.say("赵敏", f"/确认 {row.id}")
    reply = await day.say("李强", f"/确认 {row.id}")
    assert "王芳、李强两人记录" in reply
    assert "已由李强确认过" in await day.say("李强", f"/确认 {row.id}")
    assert len(await day.reports("confirm")) == 1


async def test_confirm_refusals(day: Day) -> None:
    """/确认 of a minor violation, of something else or without a number is refused."""
    await day.say("王芳", "/违纪 1 2026000003 抄袭 警告")
    (row,) = await day.reports("violation")
    assert "不需要确认" in await day.say("李强", f"/确认 {row.id}")
    assert "没有找到您可以查看的编号 999 的报告" in await day.say("李强", "/确认 999")
    assert "请写要确认的报告编号" in await day.say("李强", "/确认 abc")


async def test_office_determination_keeps_both(day: Day) -> None:
    """/认定 adds the office's ruling; the on-the-spot action stays as recorded."""
    await day.say("王芳", "/违纪 1 2026000003 抄袭 警告")
    (row,) = await day.reports("violation")
    reply = await day.say("钱进", f"/认定 {row.id} 宣布成绩无效 复核监控")
    assert "宣布成绩无效" in reply and "现场处理与认定都已保留" in reply
    (det,) = await day.reports("determination")
    assert det.payload["action"] == "宣布成绩无效" and det.payload["ref"] == row.id
    assert (await day.reports("violation"))[0].payload["action"] == "警告"
    assert "请写认定的处理" in await day.say("钱进", f"/认定 {row.id}")
    assert "请先写违纪记录的编号" in await day.say("钱进", "/认定 宣布成绩无效")


async def test_office_upholds_the_action_taken_on_the_spot(day: Day) -> None:
    """“/认定 编号 维持” (维持原处理, 同意, 属实) rules what was done on the spot, points included, with a note; in the
    dialog too. A typed action after 维持 is that action; a papers report cannot be ruled on."""
    await day.say("王芳", "/违纪 1 2026000003 抄袭 终止考试")
    (row,) = await day.reports("violation")
    reply = await day.say("钱进", f"/认定 {row.id} 维持 监控已核实")
    assert f"已认定编号 {row.id}" in reply and "：终止考试。" in reply, reply
    assert [(d.payload["action"], d.payload["note"]) for d in await day.reports("determination")] == [
        ("终止考试", "监控已核实")
    ]
    assert "：警告。" in await day.say("钱进", f"/认定 {row.id} 维持原处理 改为警告")  # an action typed wins
    assert (await day.say("钱进", "/认定")).startswith("要认定的违纪记录编号？")
    assert (await day.say("钱进", str(row.id))).startswith("认定的处理？")
    assert (await day.say("钱进", "同意")).startswith("说明？")
    assert "：终止考试。" in await day.say("钱进", "无")
    await day.say("周杰", "/违纪 3 2026000061 违反操作规程 扣5分")
    deduct = (await day.reports("violation"))[-1]
    assert "：扣5分。" in await day.say("钱进", f"/认定 {deduct.id} 属实"), "points kept"
    await day.say("王芳", "/领取 30")
    papers = (await day.reports("papers"))[-1]
    assert "不是违纪记录" in await day.say("钱进", f"/认定 {papers.id} 维持")


async def test_group_chat_reply_masks_ticket(day: Day) -> None:
    """The reply in the room's group masks the candidate number."""
    reply = await day.say("王芳", "/违纪 2026000003 抄袭 警告", chat=ROOM1)
    assert "2026**0003" in reply and "2026000003" not in reply


async def test_seat_number_in_note_is_not_a_room(day: Day) -> None:
    """“3号” inside the note is not read as the room."""
    reply = await day.say("王芳", "/违纪 2026000003 抄袭 警告 偷看 3号 座位")
    assert "已记录第1考场违纪" in reply
    (row,) = await day.reports("violation")
    assert row.payload["note"] == "偷看 3号 座位"


async def test_carrying_phone_keeps_the_note_whole(day: Day) -> None:
    """“携带手机” is the type, and the note after 说明： is stored as written (no stray “携”)."""
    reply = await day.say("王芳", "/违纪 1 2026000003 携带手机 警告 说明：手机在桌肚")
    (row,) = await day.reports("violation")
    assert row.payload["type"] == "携带手机等电子设备" and row.payload["action"] == "警告"
    assert row.payload["note"] == "手机在桌肚"
    assert "（手机在桌肚）" in reply


async def test_two_actions_never_record_the_milder_one(day: Day) -> None:
    """“警告 终止考试” and “抄袭 替考” are refused: nothing recorded, nobody wrongly left unalerted."""
    assert "处理只能写一种" in await day.say("王芳", "/违纪 1 2026000003 抄袭 警告 终止考试")
    assert "违纪类型只能写一种" in await day.say("王芳", "/违纪 1 2026000003 抄袭 替考")
    assert await day.reports("violation") == []
    reply = await day.say("王芳", "/违纪 1 2026000003 替考 说明：与准考证照片不符")
    assert "已通知考务办公室和督导（3 人）" in reply and "/确认" in reply


async def test_refusals_carry_the_usage(day: Day) -> None:
    """Room and confirmation refusals end with the right form of the command."""
    reply = await day.say("王芳", "/违纪 2 2026000031 抄袭")
    assert "只能报告自己负责的考场" in reply and "用法：/违纪" in reply
    await day.say("王芳", "/违纪 1 2026000003 抄袭 警告")
    await day.say("王芳", "/违纪 1 2026000004 抄袭 终止考试")
    minor, serious = await day.reports("violation")
    assert "不需要确认" in (r := await day.say("李强", f"/确认 {minor.id}")) and "用法：/确认 编号" in r
    await day.say("李强", f"/确认 {serious.id}")
    assert "已由李强确认过" in (r := await day.say("李强", f"/确认 {serious.id}")) and "用法：/确认" in r


async def test_on_the_spot_action_unfilled_reads_clearly(day: Day) -> None:
    """A violation without an action says 现场处理：未填写."""
    assert "现场处理：未填写" in await day.say("王芳", "/违纪 1 2026000003 抄袭")

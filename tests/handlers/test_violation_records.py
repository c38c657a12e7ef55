"""Violation records as staff type them: 使用手机 and 夹带 as their own types, seats, several /确认 numbers,
absentees, the dialog after a room alone, and practical rooms' actions and 考评员 (both databases)."""

from __future__ import annotations

import pytest

from tests.handlers.conftest import ROOM1, Day

ROOM3 = "console:第3考场"  # the practical room: 周杰 (考评组长), 吴婷 and 郑凯 (考评员); tickets 2026000059-73


@pytest.fixture
def day(db_day: Day) -> Day:
    """The demo day at 08:40 (theory 第1考场 and practical 第3考场 running) on SQLite and on PostgreSQL."""
    return db_day


# (text, type, action, note)
PHONE_TYPING: list[tuple[str, str, str | None, str]] = [
    ("/违纪 1 2026000003 使用手机 终止考试", "使用手机", "终止考试", ""),
    ("/违纪1 2026000003使用手机终止考试", "使用手机", "终止考试", ""),
    ("／违纪　１　２０２６０００００３　使用手机　终止考试", "使用手机", "终止考试", ""),
    ("/违纪 2026000003 用手机 警告", "使用手机", "警告", ""),
    ("/违纪 2026000003 终止考试 使用手机", "使用手机", "终止考试", ""),
    ("/违纪 2026000003 带手机 劝告", "携带手机等电子设备", "劝告", ""),
    ("/违纪 2026000003 手机 警告", "携带手机等电子设备", "警告", ""),
    ("/违纪 2026000003 玩手机终止", "使用手机", "终止考试", ""),
    ("/违纪 2026000003 夹带 警告", "夹带", "警告", ""),
    ("/违纪 2026000003 带小抄 终止考试", "夹带", "终止考试", ""),
    ("/违纪 2026000003 携带资料 警告", "夹带", "警告", ""),
    ("/违纪 2026000003 交头结耳 劝告", "交头接耳", "劝告", ""),
    ("/违纪 2026000003 使用手机 终止考试 说明：考试中拍题", "使用手机", "终止考试", "考试中拍题"),
    # 偷看 and 手机 overlap 看手机: one act, not two types (met playing the day, session 20).
    ("/违纪 2026000003 偷看手机 警告", "使用手机", "警告", ""),
    ("/违纪 2026000003 偷看 警告", "抄袭", "警告", ""),
]


@pytest.mark.parametrize(("text", "vtype", "action", "note"), PHONE_TYPING)
async def test_type_and_action_words(day: Day, text: str, vtype: str, action: str | None, note: str) -> None:
    """使用手机 with 终止考试 is that type and that action (no “终止考试（使用）”); 夹带 is not 抄袭; 偷看手机 is
    使用手机, with nothing of it left as a note."""
    reply = await day.say("王芳", text)
    (row,) = await day.reports("violation")
    p = row.payload
    assert (p["type"], p["action"], p["note"]) == (vtype, action, note), reply
    assert f"{vtype}，现场处理：{action}" in reply


async def test_several_confirmations_each_answered(day: Day) -> None:
    """/确认 9 10 confirms both; with a minor one among them, that number says why it was not confirmed."""
    await day.say("王芳", "/违纪 1 2026000003 抄袭 终止考试")
    await day.say("王芳", "/违纪 1 2026000004 替考")
    await day.say("王芳", "/违纪 1 2026000005 交头接耳 警告")
    a, b, minor = (r.id for r in await day.reports("violation"))
    reply = await day.say("李强", f"/确认 {a} {b}")
    assert f"已确认编号 {a}" in reply and f"已确认编号 {b}" in reply
    assert sorted(r.payload["ref"] for r in await day.reports("confirm")) == [a, b]
    reply = await day.say("李强", f"/确认 {a}、{minor}")
    assert f"编号 {a} 未确认：编号 {a} 已由李强确认过" in reply
    assert f"编号 {minor} 未确认：编号 {minor} 不是终止考试、宣布成绩无效或替考，不需要确认。" in reply
    assert len(await day.reports("confirm")) == 2


async def test_several_confirmations_record_once_on_redelivery(day: Day) -> None:
    """A redelivered “/确认 9 10” adds no row (each number has its own key) and gives the same answer."""
    await day.say("王芳", "/违纪 1 2026000003 抄袭 终止考试")
    await day.say("王芳", "/违纪 1 2026000004 替考")
    a, b = (r.id for r in await day.reports("violation"))
    first = await day.send("李强", f"/确认 {a} {b}", "m-confirm-2")
    again = await day.send("李强", f"/确认 {a} {b}", "m-confirm-2")
    assert first == again and first is not None and f"已确认编号 {b}" in first
    assert len(await day.reports("confirm")) == 2


async def test_several_confirmations_refuse_unknown_words(day: Day) -> None:
    """Words that are no number are not silently ignored when several numbers are written."""
    reply = await day.say("李强", "/确认 9 10 好的")
    assert "没有看懂“好的”" in reply and await day.reports("confirm") == []


async def test_violation_of_absent_candidate_is_named(day: Day) -> None:
    """A violation against a candidate reported absent is recorded, and the reply says the two disagree."""
    await day.say("李强", "/缺考 1 2026000005")
    (absent,) = await day.reports("absent")
    reply = await day.say("王芳", "/违纪 1 2026000005 抄袭 警告")
    (row,) = await day.reports("violation")
    assert row.payload["absent_report"] == absent.id
    assert f"该考生在第1考场的缺考记录（编号 {absent.id}）中记为缺考" in reply and "违纪已照记" in reply
    other = await day.say("王芳", "/违纪 1 2026000006 抄袭 警告")
    assert "缺考" not in other


async def test_serious_violation_of_absent_candidate_alert_says_so(day: Day) -> None:
    """The office's alert of a serious violation names the absentee record too."""
    await day.say("李强", "/缺考 1 2026000005")
    await day.say("王芳", "/违纪 1 2026000005 替考")
    (alert,) = await day.inbox("钱进")
    assert "记为缺考" in alert


async def test_room_only_asks_for_the_rest(day: Day) -> None:
    """/违纪 1 asks for the candidate, then the type and the action, and records."""
    q = await day.say("王芳", "/违纪 1")
    assert q.startswith("违纪考生的准考证号？") and "用法" not in q
    q = await day.say("王芳", "5号")
    assert "违纪类型？" in q and "8.使用手机" in q
    q = await day.say("王芳", "8")
    assert "现场处理？" in q and "3.终止考试" in q
    q = await day.say("王芳", "3")
    assert "补充说明？" in q
    done = await day.say("王芳", "跳过")
    (row,) = await day.reports("violation")
    assert (row.payload["ticket"], row.payload["type"], row.payload["action"]) == ("2026000005", "使用手机", "终止考试")
    assert f"编号 {row.id}" in done


async def test_room_and_ticket_ask_for_the_type(day: Day) -> None:
    """/违纪 1 2026000003 goes straight to the type; a wrong ticket is refused at once."""
    q = await day.say("王芳", "/违纪 1 2026000003")
    assert q.startswith("违纪类型？")
    assert "不在第1考场的考生名单中" in await day.say("王芳", "/违纪 1 2026000099")


async def test_practical_deduction_and_evaluators(day: Day) -> None:
    """In the practical room 扣分 is recorded with its points; replies say 考评员, never 监考员."""
    reply = await day.say("吴婷", "/违纪 3 2026000059 串位 扣5分")
    (row,) = await day.reports("violation")
    assert (row.payload["type"], row.payload["action"], row.payload["points"]) == ("串位换位", "扣分", 5)
    assert "现场处理：扣5分" in reply and not row.payload["serious"]
    reply = await day.say("吴婷", "/违纪 2026000060 替考 考件作废")
    assert "请本考场另一名考评员发送 /确认" in reply and "监考员" not in reply
    serious = (await day.reports("violation"))[-1]
    assert serious.payload["serious"] and serious.payload["action"] == "考件作废"
    (alert,) = await day.inbox("钱进")
    assert "待第二名考评员 /确认" in alert and "监考员" not in alert
    own = await day.say("吴婷", f"/确认 {serious.id}")
    assert "需要本考场另一名考评员（周杰、郑凯）确认" in own and "监考员" not in own
    minor = await day.say("郑凯", f"/确认 {row.id}")
    assert "不是考件作废、取消参考资格或替考" in minor and "监考员" not in minor
    done = await day.say("郑凯", f"/确认 {serious.id}")
    assert "吴婷、郑凯两人记录" in done and "监考员" not in done


@pytest.mark.parametrize(
    ("who", "text", "error"),
    [
        ("吴婷", "/违纪 3 2026000061 抄袭 终止考试", "“终止考试”是理论考场的处理，对应的处理是“取消参考资格”"),
        ("吴婷", "/违纪 3 2026000061 抄袭 宣布成绩无效", "对应的处理是“考件作废”"),
        ("吴婷", "/违纪 3 2026000061 串位 扣分", "扣分请写扣几分"),
        ("吴婷", "/违纪 3 2026000061 串位 扣500分", "扣分应在 1 到 100 分之间"),
        (
            "王芳",
            "/违纪 1 2026000003 抄袭 扣5分",
            "“扣分”是实操考场的处理。理论考场的处理为：劝告、警告、终止考试、宣布成绩无效。",
        ),
        ("王芳", "/违纪 1 2026000003 抄袭 取消参考资格", "是实操考场的处理"),
        ("王芳", "/违纪 1 2026000003 抄袭 扣5分 警告", "处理只能写一种"),
    ],
)
async def test_actions_of_the_other_room_kind_refused(day: Day, who: str, text: str, error: str) -> None:
    """A theory action in the practical room (or the reverse) is refused with the room's own actions."""
    reply = await day.say(who, text)
    assert error in reply and await day.reports("violation") == []
    if who == "吴婷":
        assert "监考员" not in reply


async def test_practical_rooms_keep_advice_and_warning(day: Day) -> None:
    """劝告 and 警告 (考评人员管理办法 第五条) stay available to 考评员; 取消参考资格 is serious."""
    await day.say("吴婷", "/违纪 3 2026000061 吸烟 警告")
    reply = await day.say("吴婷", "/违纪 3 2026000062 不服从 取消资格")
    warned, out = await day.reports("violation")
    assert (warned.payload["type"], warned.payload["action"]) == ("吸烟进食", "警告")
    assert out.payload["action"] == "取消参考资格" and out.payload["serious"]
    assert "已通知考务办公室和督导" in reply


async def test_practical_ruling_with_points(day: Day) -> None:
    """/认定 in a practical room takes 扣分 with points; a theory action there is refused."""
    await day.say("吴婷", "/违纪 3 2026000059 串位 扣5分")
    (row,) = await day.reports("violation")
    assert "理论考场的处理" in await day.say("钱进", f"/认定 {row.id} 宣布成绩无效")
    reply = await day.say("钱进", f"/认定 {row.id} 扣10分 复核录像")
    assert "：扣10分。" in reply
    (det,) = await day.reports("determination")
    assert (det.payload["action"], det.payload["points"], det.payload["note"]) == ("扣分", 10, "复核录像")


async def test_practical_dialog_offers_practical_actions(day: Day) -> None:
    """The dialog in the practical room lists its types and actions and asks for the points of a 扣分."""
    q = await day.say("吴婷", "/违纪 3 2026000059")
    assert "1.串位换位" in q and "使用手机" in q
    q = await day.say("吴婷", "1")
    assert "3.扣分" in q and "终止考试" not in q
    assert "扣几分" in await day.say("吴婷", "3")
    await day.say("吴婷", "5")
    await day.say("吴婷", "跳过")
    (row,) = await day.reports("violation")
    assert (row.payload["action"], row.payload["points"]) == ("扣分", 5)


SEATS: list[tuple[str, str]] = [
    ("/违纪 1 5号 使用手机", "2026000005"),
    ("/违纪 5号 使用手机 终止考试", "2026000005"),
    ("/违纪 1号 7号 抄袭", "2026000007"),
    ("/违纪 1 座号7 抄袭", "2026000007"),
    ("/违纪 第1考场 12号座 夹带 警告", "2026000012"),
    ("/违纪 1 ０５号 抄袭", "2026000005"),
]


@pytest.mark.parametrize(("text", "ticket"), SEATS)
async def test_candidate_by_seat(day: Day, text: str, ticket: str) -> None:
    """Where the roster has 座号, the seat finds the candidate; the reply shows the ticket and the seat."""
    reply = await day.say("王芳", text)
    (row,) = await day.reports("violation")
    assert row.payload["ticket"] == ticket and "已记录第1考场违纪" in reply
    assert f"{ticket}（{int(ticket[-2:])}号座）" in reply


async def test_seat_in_group_is_masked(day: Day) -> None:
    """In the room's group the ticket found by seat is masked like any other."""
    reply = await day.say("王芳", "/违纪 5号 抄袭 警告", chat=ROOM1)
    assert "2026**0005（5号座）抄袭" in reply and "2026000005" not in reply


async def test_unknown_seat_refused(day: Day) -> None:
    """A seat not on the roster records nothing and says so."""
    reply = await day.say("王芳", "/违纪 1 99号 抄袭")
    assert "没有99号座" in reply and await day.reports("violation") == []


async def test_correction_by_seat_and_new_words(day: Day) -> None:
    """/更正 of a violation reads seats and the new words; the serious correction alerts."""
    await day.say("王芳", "/违纪 1 2026000003 抄袭 警告")
    (row,) = await day.reports("violation")
    reply = await day.say("王芳", f"/更正 {row.id} 6号 使用手机 终止考试")
    new = (await day.reports("violation"))[-1]
    assert (new.payload["ticket"], new.payload["type"], new.payload["action"]) == ("2026000006", "使用手机", "终止考试")
    assert new.supersedes_id == row.id and "请本考场另一名监考员发送 /确认" in reply


async def test_practical_group_reply_uses_evaluator(day: Day) -> None:
    """In the practical room's group too, the serious record asks the other 考评员."""
    reply = await day.say("吴婷", "/违纪 2026000063 替考 取消参考资格", chat=ROOM3)
    assert "另一名考评员" in reply and "监考员" not in reply and "2026**0063" in reply


async def test_room_alone_with_hao_is_the_room(day: Day) -> None:
    """“/违纪 2号” alone names the room (as “/违纪 2” does); “/违纪 1 5号” names the room and the seat."""
    q = await day.say("赵敏", "/违纪 2号")
    assert q.startswith("违纪考生的准考证号？")
    assert (await day.say("赵敏", "2026000031")).startswith("违纪类型？")
    q = await day.say("王芳", "/违纪 1 5号")
    assert q.startswith("违纪类型？")
    await day.say("王芳", "9")
    await day.say("王芳", "2")
    await day.say("王芳", "桌肚里的纸条")
    (row,) = await day.reports("violation")
    p = row.payload
    assert (p["ticket"], p["seat"], p["type"], p["action"], p["note"]) == (
        "2026000005",
        "5",
        "夹带",
        "警告",
        "桌肚里的纸条",
    )


async def test_ruling_dialog_asks_points(day: Day) -> None:
    """/认定 alone: 扣分 picked from the list asks for the points; the note is kept as written."""
    await day.say("吴婷", "/违纪 3 2026000059 串位 扣5分")
    (row,) = await day.reports("violation")
    await day.say("钱进", "/认定")
    await day.say("钱进", str(row.id))
    assert "扣几分" in await day.say("钱进", "扣分")
    assert "说明" in await day.say("钱进", "10")
    done = await day.say("钱进", "复核后警告不足")
    (det,) = await day.reports("determination")
    assert (det.payload["action"], det.payload["points"], det.payload["note"]) == ("扣分", 10, "复核后警告不足")
    assert "扣10分" in done


async def test_a_dispute_is_recorded_once_and_shown_where_the_office_looks(day: Day) -> None:
    """李强's 有异议 to a serious violation is an audit row (once, also when delivered again), and /违纪记录 and the
    考场情况记录表 say who disputed it instead of 待第二人确认; a later /确认 makes it 已双人确认; /历史 lists the
    dispute, the confirmation and the office's ruling after the report's own rows."""
    import io

    from openpyxl import load_workbook
    from sqlmodel import col, select

    from bot.records.export import day_workbook
    from bot.store.reports import VIOLATION_DISPUTE
    from bot.store.tables import AuditLog

    await day.say("王芳", "/违纪 1 2026000003 替考")
    (row,) = await day.reports("violation")
    assert "待第二人确认" in await day.say("孙丽", "/违纪记录")
    for _ in range(2):
        await day.send("李强", f"/确认 {row.id} 有异议", "m-dispute")
    await day.say("李强", f"/确认 {row.id} 有异议")
    async with day.services.db.read() as s:
        audit = (await s.exec(select(AuditLog).where(col(AuditLog.entity) == VIOLATION_DISPUTE))).all()
    assert [(a.entity_id, a.actor, a.detail["by"]) for a in audit] == [(str(row.id), audit[0].actor, "李强")]
    assert "李强有异议（未确认）" in await day.say("孙丽", "/违纪记录")

    tz = day.services.settings.tz
    _, data = await day_workbook(day.services.db, day.clock.now().astimezone(tz).date(), tz, actor="staff:11")
    sheet = load_workbook(io.BytesIO(data))["违纪"]
    cells = {str(c.value) for r in sheet.iter_rows() for c in r if c.value is not None}
    assert "李强 有异议 08:40（未确认）" in cells

    await day.say("李强", f"/确认 {row.id}")
    assert "已双人确认" in await day.say("孙丽", "/违纪记录")
    await day.say("钱进", f"/认定 {row.id} 宣布成绩无效")
    history = (await day.say("孙丽", f"/历史 {row.id}")).splitlines()
    assert history[2].endswith("李强 有异议（未确认）")
    assert history[3].endswith("李强 确认") and history[4].endswith("钱进 认定：宣布成绩无效")

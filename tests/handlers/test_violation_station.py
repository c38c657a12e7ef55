"""A practical room's 工位 is drawn by lot at check-in (实际操作考核考场规则 2.): never read as the roster's seat,
in the dialog and in /更正 as in /违纪; a theory room's 座号 and a computer room's 机位 stay seats."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from bot.records.export import day_workbook
from tests.handlers.conftest import Day, at
from tests.records.conftest import SHANGHAI

DRAWN = "第3考场是实操考场，工位按抽签确定（《实际操作考核考场规则》2.），不能由工位号查到考生。"


async def test_a_workstation_alone_starts_no_dialog(day: Day) -> None:
    """“/违纪 5号工位” (too little to record) asked the type for seat 5 of the roster; it is refused instead."""
    reply = await day.say("周杰", "/违纪 5号工位")
    assert reply.startswith(f"{DRAWN}请写准考证号或姓名，例：/违纪 准考证号 5号工位\n用法：/违纪"), reply
    assert "违纪类型？" not in reply
    reply = await day.say("周杰", "/违纪 3 工位5 违反操作规程 扣10分")  # the room written: the example keeps it
    assert f"{DRAWN}请写准考证号或姓名，例：/违纪 3 准考证号 5号工位 违反安全操作规程 扣10分\n" in reply, reply
    assert await day.reports("violation") == []


async def test_dialog_answered_with_a_workstation(day: Day) -> None:
    """Asked for the candidate, “5号工位” gets why it names nobody and the same question; the 准考证号 with the 工位
    records that candidate with the 工位 leading the note."""
    assert (await day.say("周杰", "/违纪")).startswith("违纪考生的准考证号？")
    reply = await day.say("周杰", "5号工位")
    assert reply.startswith(f"{DRAWN}请回复考生的准考证号。\n违纪考生的准考证号？"), reply
    assert "违纪类型？" in await day.say("周杰", "2026000070 5号工位")
    assert "现场处理？" in await day.say("周杰", "违反操作规程")
    assert "补充说明？" in await day.say("周杰", "警告")
    reply = await day.say("周杰", "未戴护目镜")
    assert reply.startswith("已记录第3考场违纪"), reply
    (row,) = await day.reports("violation")
    p = row.payload
    assert (p["ticket"], p["type"], p["note"]) == ("2026000070", "违反安全操作规程", "5号工位 未戴护目镜"), p
    assert "seat" not in p


async def test_theory_dialog_reads_the_answer_as_before(day: Day) -> None:
    """In a theory room nothing changed: “5号工位” is not understood there, “5号” is seat 5."""
    await day.say("王芳", "/违纪")
    assert (await day.say("王芳", "5号工位")).startswith("没有看懂“5号工位”")
    assert "违纪类型？" in await day.say("王芳", "5号")


async def test_correction_with_a_workstation(day: Day) -> None:
    """/更正 with only a 工位 is refused (the candidate stays); with the 准考证号 it changes the candidate."""
    await day.say("周杰", "/违纪 2026000063 违反操作规程 警告")
    (v,) = await day.reports("violation")
    reply = await day.say("周杰", f"/更正 {v.id} 5号工位")
    assert reply.startswith(f"{DRAWN}请写准考证号，例：/更正 {v.id} 准考证号 5号工位\n用法：/更正"), reply
    reply = await day.say("周杰", f"/更正 {v.id} 工位5 违反操作规程 扣5分")
    assert reply.startswith(DRAWN), reply
    assert len(await day.reports("violation")) == 1
    reply = await day.say("周杰", f"/更正 {v.id} 2026000070 5号工位")
    assert reply.startswith("已更正第3考场违纪"), reply
    new = (await day.reports("violation"))[-1]
    assert new.supersedes_id == v.id
    assert (new.payload["ticket"], new.payload["note"], new.payload["action"]) == ("2026000070", "5号工位", "警告")


async def test_computer_rooms_machine_is_a_seat(day: Day) -> None:
    """In the computer room 机位12 is seat 12 of the roster (第4考场: 2026000085)."""
    at(day.clock, 8, 50)
    reply = await day.say("刘洋", "/违纪 机位12 使用手机 警告")
    assert reply.startswith("已记录第4考场违纪"), reply
    (row,) = await day.reports("violation")
    assert (row.payload["ticket"], row.payload["seat"]) == ("2026000085", "12")


async def test_theory_rooms_seat_unchanged(day: Day) -> None:
    """In the theory room 5号座 is seat 5 (2026000005), and so is a 工位 (as before)."""
    reply = await day.say("王芳", "/违纪 5号座 抄袭 警告")
    assert "2026000005（5号座）抄袭，现场处理：警告" in reply, reply
    reply = await day.say("王芳", "/违纪 6号工位 交头接耳 劝告")
    assert "2026000006（6号座）交头接耳，现场处理：劝告" in reply, reply
    assert [(r.payload["ticket"], r.payload["seat"]) for r in await day.reports("violation")] == [
        ("2026000005", "5"),
        ("2026000006", "6"),
    ]


async def test_practical_rooms_plain_seat_unchanged(day: Day) -> None:
    """Only the word 工位 means the drawn station: “5号座” in the practical room stays seat 5 of the roster."""
    reply = await day.say("周杰", "/违纪 5号座 违反操作规程 警告")
    assert reply.startswith("已记录第3考场违纪"), reply
    (row,) = await day.reports("violation")
    assert (row.payload["ticket"], row.payload["seat"]) == ("2026000063", "5")


async def test_the_room_record_keeps_the_workstation_and_no_roster_seat(day: Day) -> None:
    """In the practical room's 考场情况记录表 the note shows the 工位 reported, not the roster's seat of that candidate
    (2026000070 is seat 12 of the roster; the station was drawn)."""
    reply = await day.say("周杰", "/违纪 2026000070 5号工位 违反操作规程 警告")
    assert reply.startswith("已记录第3考场违纪"), reply
    _name, data = await day_workbook(day.services.db, day.clock.now().astimezone(SHANGHAI).date(), SHANGHAI)
    sheet = load_workbook(io.BytesIO(data))["演示第2场-第3考场"]
    cells = [str(c) for c in next(r for r in sheet.iter_rows(values_only=True) if "2026000070" in r) if c]
    assert any("5号工位" in c for c in cells) and not any("号座" in c for c in cells), cells


async def test_one_workstation_said_for_two_candidates_is_flagged(day: Day) -> None:
    """Two records in force putting two candidates on 5号工位: the second is recorded and the reply names the first
    (masked in the room's group); the same candidate again or another 工位 flag nothing."""
    first = await day.say("周杰", "/违纪 2026000070 5号工位 违反操作规程 警告")
    assert first.startswith("已记录第3考场违纪") and "注意" not in first, first
    (v1,) = await day.reports("violation")
    again = await day.say("周杰", "/违纪 2026000070 工位5 未戴护目镜 警告")
    assert "同一工位" not in again, again
    other = await day.say("周杰", "/违纪 2026000071 7号工位 未戴护目镜 警告")
    assert "同一工位" not in other, other
    clash = await day.say("周杰", "/违纪 2026000063 工位5 违反操作规程 警告")
    assert clash.startswith("已记录第3考场违纪"), clash
    assert f"注意：编号 {v1.id} 把 5号工位记为 2026000070，同一工位记了两名考生，请对照抽签记录核对。" in clash, clash
    group = await day.say("吴婷", "/违纪 2026000064 5号工位 违反操作规程 警告", chat="console:第3考场")
    assert f"编号 {v1.id} 把 5号工位记为 2026**0070" in group, group

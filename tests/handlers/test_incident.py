"""/突发 /incident: phrasings, refusals and the immediate alert."""

from __future__ import annotations

import pytest

from tests.handlers.conftest import Day

# (who, text, room label, description)
PHRASINGS: list[tuple[str, str, str, str]] = [
    ("王芳", "/突发 1 考生晕倒，已送医务室", "第1考场", "考生晕倒，已送医务室"),
    ("王芳", "／突发　１　考生晕倒", "第1考场", "考生晕倒"),
    ("王芳", "、突发 考生晕倒", "第1考场", "考生晕倒"),
    ("王芳", "/突发考生晕倒", "第1考场", "考生晕倒"),
    ("王芳", "/突发 第1考场 停电", "第1考场", "停电"),
    ("王芳", "/突发 1号 停电", "第1考场", "停电"),
    ("王芳", "/突发 01 停电", "第1考场", "停电"),
    ("王芳", "/突发 一考场 停电", "第1考场", "停电"),
    ("王芳", "/突发 停电 1考场", "第1考场", "停电"),
    ("王芳", "/incident 1 power cut", "第1考场", "power cut"),
    ("王芳", "/INCIDENT power cut", "第1考场", "power cut"),
    ("周杰", "/突发 3 工位漏电，已断电", "第3考场", "工位漏电，已断电"),
    ("周杰", "/突发 考生手指划伤，送3号楼医务室", "第3考场", "考生手指划伤，送3号楼医务室"),
    ("周杰", "/突发 三考场 设备冒烟", "第3考场", "设备冒烟"),
    ("刘洋", "/突发 4 两台电脑死机，已换机", "第4考场", "两台电脑死机，已换机"),
    ("孙丽", "/突发 2 走廊喧哗", "第2考场", "走廊喧哗"),
    ("王芳", "/突发 1 空调漏水,已换座位!", "第1考场", "空调漏水，已换座位！"),  # typed in ASCII: reads as Chinese
    ("王芳", "/突发 1 PC3 crashed, rebooted", "第1考场", "PC3 crashed, rebooted"),
]


@pytest.mark.parametrize(("who", "text", "room", "desc"), PHRASINGS)
async def test_incident_phrasings(day: Day, who: str, text: str, room: str, desc: str) -> None:
    """Each phrasing records the incident of the right room and alerts the office at once."""
    reply = await day.say(who, text)
    (row,) = await day.reports("incident")
    assert row.payload["text"] == desc
    assert f"已记录{room}突发事件（编号 {row.id}）" in reply
    office = await day.inbox("钱进")
    assert len(office) == 1 and desc in office[0] and room in office[0]


MALFORMED: list[tuple[str, str, str]] = [
    ("王芳", "/突发 1", "请写清发生了什么。"),
    ("王芳", "/突发 2 停电", "只能报告自己负责的考场"),
    ("钱进", "/突发 停电", "请写明考场号"),
    ("王芳", "/突发 9 停电", "今天没有第9考场"),
]


@pytest.mark.parametrize(("who", "text", "error"), MALFORMED)
async def test_incident_refusals(day: Day, who: str, text: str, error: str) -> None:
    """A malformed /突发 records nothing."""
    reply = await day.say(who, text)
    assert error in reply
    assert await day.reports("incident") == []


async def test_nobody_to_alert_says_to_phone_the_office(day: Day) -> None:
    """With no active office or supervisor on the channel the reply says to phone the office (no “（0 人）”)."""
    from sqlmodel import col, select

    from bot.store.tables import Staff

    async with day.services.db.session() as s:
        for st in (await s.exec(select(Staff).where(col(Staff.name).in_(["孙丽", "钱进", "马文"])))).all():
            st.active = False
            s.add(st)
    reply = await day.say("王芳", "/突发 停电")
    assert "未找到可通知的办公室或督导人员，请直接电话联系考务办公室" in reply and "0 人" not in reply
    reply = await day.say("王芳", "/违纪 2026000003 替考")
    assert "未找到可通知的办公室或督导人员" in reply and "/确认" in reply


async def test_correction_reads_as_typed(day: Day) -> None:
    """/更正 of an incident keeps the full-width punctuation a phone types (NFKC alone would make it ASCII)."""
    await day.say("王芳", "/突发 1 停电")
    (row,) = await day.reports("incident")
    await day.say("王芳", f"/更正 {row.id} 停电，已启用应急灯！")
    assert (await day.reports("incident"))[-1].payload["text"] == "停电，已启用应急灯！"


async def test_correction_alert_names_who_corrected(day: Day) -> None:
    """The office's alert of a correction carries one tag and says who corrected it: "王芳 更正为：…" (it read
    "【突发事件·更正】【突发事件】…王芳 报告：…", as if the first report had been sent again)."""
    await day.say("王芳", "/突发 1 停电")
    (row,) = await day.reports("incident")
    await day.say("王芳", f"/更正 {row.id} 停电，已启用应急灯")
    alert = (await day.inbox("钱进"))[-1]
    assert alert.startswith("【突发事件·更正】第1考场") and alert.count("【") == 1
    assert "王芳 更正为：停电，已启用应急灯" in alert and "报告" not in alert

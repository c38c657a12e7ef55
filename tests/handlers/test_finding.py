"""/督导意见 /finding: a supervisor's finding is recorded, told to the office, correctable, kept out of groups and
printed in the room's 考场情况记录表 and the day's digest."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from bot.records.export import day_workbook
from scheduler.digest import render_digest
from tests.handlers.conftest import ROOM1, Day
from tests.records.conftest import DAY, SHANGHAI, at

# (text, room label, finding as stored)
PHRASINGS: list[tuple[str, str, str]] = [
    ("/督导意见 2 监考员离开考场10分钟，已提醒，建议通报批评", "第2考场", "监考员离开考场10分钟，已提醒，建议通报批评"),
    ("／督导意见　３　工位间距不足,建议整改!", "第3考场", "工位间距不足，建议整改！"),
    ("/督导意见 第1考场 考生座位未按准考证号排列，请整改", "第1考场", "考生座位未按准考证号排列，请整改"),
    ("/finding 4 two PCs without sealed disks", "第4考场", "two PCs without sealed disks"),
]


@pytest.mark.parametrize(("text", "room", "stored"), PHRASINGS)
async def test_finding_is_recorded_and_told_to_the_office(day: Day, text: str, room: str, stored: str) -> None:
    reply = await day.say("孙丽", text)
    (row,) = await day.reports("finding")
    assert row.payload["text"] == stored
    assert f"已记录{room}督导意见（编号 {row.id}）" in reply and "考场情况记录表" in reply
    office = await day.inbox("钱进")
    assert len(office) == 1 and office[0].startswith("【督导意见】") and stored in office[0] and room in office[0]
    assert await day.inbox("孙丽") == []  # the writer is not alerted of her own finding


@pytest.mark.parametrize(
    ("who", "text", "error"),
    [
        ("孙丽", "/督导意见 2", "请写督导意见"),
        ("孙丽", "/督导意见 9 监考员迟到", "今天没有第9考场"),
        ("王芳", "/督导意见 1 李强离开考场", "督导"),  # invigilators may not write findings
    ],
)
async def test_refusals_record_nothing(day: Day, who: str, text: str, error: str) -> None:
    reply = await day.say(who, text)
    assert error in reply
    assert await day.reports("finding") == []


async def test_dialog_asks_for_the_finding(day: Day) -> None:
    """孙丽 supervises one room now (第1考场): the dialog asks only for the finding."""
    assert "请写督导意见" in await day.say("孙丽", "/督导意见")
    reply = await day.say("孙丽", "监考员聊天，已当场提醒")
    assert "已记录第1考场督导意见" in reply
    (row,) = await day.reports("finding")
    assert row.payload["text"] == "监考员聊天，已当场提醒"


async def test_correction_is_signed_and_told(day: Day) -> None:
    await day.say("孙丽", "/督导意见 2 监考员离开考场10分钟")
    (first,) = await day.reports("finding")
    reply = await day.say("孙丽", f"/更正 {first.id} 监考员离开考场15分钟，建议通报批评")
    assert f"已更正第2考场督导意见：编号 {first.id} → 新编号" in reply
    assert "：监考员离开考场15分钟，建议通报批评。原记录保留" in reply and "督导意见：督导意见" not in reply
    rows = await day.reports("finding")
    assert len(rows) == 2 and rows[1].supersedes_id == first.id  # append-only: the first row stays
    assert rows[1].payload["text"] == "监考员离开考场15分钟，建议通报批评"
    office = await day.inbox("钱进")
    assert office[-1].startswith("【督导意见·更正】") and office[-1].count("【") == 1
    assert "孙丽 更正为：监考员离开考场15分钟" in office[-1]
    history = await day.say("钱进", f"/历史 {first.id}")
    assert "孙丽" in history and "15分钟" in history


async def test_group_history_hides_the_words(day: Day) -> None:
    """A finding may name staff: a /历史 in the room's group does not republish it."""
    await day.say("孙丽", "/督导意见 1 李强考试中看手机，已提醒")
    (row,) = await day.reports("finding")
    shown = await day.say("孙丽", f"/历史 {row.id}", chat=ROOM1)
    assert "李强考试中看手机" not in shown and "隐藏" in shown


async def test_form_and_digest_show_the_finding(day: Day) -> None:
    await day.say("孙丽", "/督导意见 1 试卷袋开启前未当众展示密封情况，建议整改")
    _name, data = await day_workbook(day.services.db, DAY, SHANGHAI)
    wb = load_workbook(io.BytesIO(data))
    ws = wb[next(n for n in wb.sheetnames if "第1考场" in n)]
    cells = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "五、督导意见" in cells and "六、考务人员签名" in cells
    assert "试卷袋开启前未当众展示密封情况，建议整改" in cells and "孙丽" in cells
    sheet2 = wb[next(n for n in wb.sheetnames if "第2考场" in n)]
    texts2 = [c.value for row in sheet2.iter_rows() for c in row if isinstance(c.value, str)]
    assert texts2[texts2.index("五、督导意见") + 6] == "无"  # header cells, then 无 for a room without findings
    async with day.services.db.sessions() as s:
        digest = await render_digest(await s.connection(), DAY, SHANGHAI)
    line1 = next(x for x in digest.splitlines() if "第1考场" in x)
    assert "督导意见 1" in line1
    assert "督导意见" not in next(x for x in digest.splitlines() if "第2考场" in x)


async def test_finding_written_after_the_day_is_backfilled(day: Day) -> None:
    """A supervisor writing up her round after the reports closed uses /补录; the form marks it 补录."""
    at(day.clock, 16, 20)
    reply = await day.say("孙丽", "/补录 今天 演示第1场 2 /督导意见 监考员未核对考生身份证件，建议通报批评")
    assert "补录（孙丽 12-05 16:20）" in reply and "已记录第2考场督导意见" in reply
    (row,) = await day.reports("finding")
    assert row.payload["backfill"]["by"] == "孙丽"
    _name, data = await day_workbook(day.services.db, DAY, SHANGHAI)
    wb = load_workbook(io.BytesIO(data))
    cells = [c.value for row in wb[next(n for n in wb.sheetnames if "第2考场" in n)].iter_rows() for c in row]
    assert "监考员未核对考生身份证件，建议通报批评" in cells and "补录（孙丽 12-05 16:20）" in cells

"""A whole exam day typed the way staff type on phones (the shortcuts of this round), ending in the office's
考场情况记录表: what they meant is what the records say, and nobody was alerted about what was not wrong
(both databases)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from bot.records.export import day_workbook
from tests.handlers.conftest import ROOM1, Day, at
from tests.records.conftest import DAY, SHANGHAI


@pytest.fixture
def day(db_day: Day) -> Day:
    """The demo day at 08:40 on SQLite and on PostgreSQL."""
    return db_day


async def test_a_day_typed_on_phones(day: Day) -> None:
    # 07:40, before the theory start (08:08): papers fetched; a slip of 回收 for 领取 is refused, not alerted.
    at(day.clock, 7, 40)
    assert "现在还不能报回收" in await day.say("王芳", "/回收 30")
    assert (await day.say("王芳", "领取 30")).startswith("这条没有记录：命令前要加 /，请发：/领取 30")
    assert (await day.say("王芳", "/领取 30")).startswith("已记录第1考场试卷")
    assert (await day.say("李强", "确认")).startswith("已确认第1考场试卷领取 30 份")
    assert (await day.say("赵敏", "/领取 28")).startswith("已记录第2考场试卷")
    assert (await day.say("周杰", "/领取 15")).startswith("已记录第3考场试卷")  # practical: 实操考单

    # 08:40: absentees by name and by seat, one arrives after all (by name again).
    at(day.clock, 8, 40)
    assert (await day.say("王芳", "/缺考 赵静 胡杰没来")).startswith("已记录第1考场缺考")
    assert "追加" in await day.say("李强", "/缺考 7号")  # 李强 (第1考场 only): seat 7
    assert "删除 2026000012（原因：在厕所）" in await day.say("王芳", "/缺考 删 胡杰 在厕所")
    assert (await day.say("赵敏", "缺考", chat=None)).startswith("缺考考生的准考证号或座号？")
    assert (await day.say("赵敏", "无")).startswith("已记录第2考场缺考")
    assert (await day.say("周杰", "/缺考 3号 没来")).startswith("已记录第3考场缺考")  # his room is 第3: seat 3
    assert "应留在缺考名单中" in await day.say("周杰", "/缺考 删 3号 迟到6分钟 不让进")  # disqualified: stays
    assert (await day.say("周杰", "取消")).startswith("已取消")

    # 09:00: a serious violation with a note typed with a comma, confirmed by typing 确认; a machine incident.
    at(day.clock, 9, 0)
    reply = await day.say("王芳", "/违纪 5号 使用手机 终止考试 手机藏在袖子里，已收缴")
    assert reply.startswith("已记录第1考场违纪"), reply
    assert (await day.say("李强", "确认")).startswith("已确认编号")
    ruled = (await day.reports("violation"))[-1]
    assert "：终止考试。" in await day.say("钱进", f"/认定 {ruled.id} 维持 已调监控")  # the office upholds it
    assert (await day.say("王芳", "/突发 12号机旁的灯管闪烁，已报后勤")).startswith("已记录第1考场突发事件")
    assert await day.chat.say("王芳", "缺考 12号座", chat=ROOM1) == "这条没有记录：命令前要加 /，请发：/缺考 12号座"
    # In 第2考场 both invigilators type the same 替考: one record, one alert, 陈刚's message is his confirmation.
    alerts_before = len(await day.inbox("钱进"))
    assert (await day.say("赵敏", "/违纪 6号 替考 终止考试")).startswith("已记录第2考场违纪")
    reply = await day.say("陈刚", "/违纪 6号 替考 终止考试")
    assert "这条没有重复记录，记为您的确认" in reply and "赵敏、陈刚两人记录" in reply, reply
    new_alerts = (await day.inbox("钱进"))[alerts_before:]
    assert [a[:7] for a in new_alerts] == ["【违纪·需关注", "【违纪已确认】"], new_alerts

    # 09:40: collection with the answer sheets only: the rest are the absentees' blank papers.
    at(day.clock, 9, 40)
    office_alerts = len(await day.inbox("钱进"))
    assert "核对无误" in await day.say("王芳", "/回收 30 答题卡 28")
    assert "核对无误" in await day.say("赵敏", "/回收 28 答题卡 28")
    assert "回收 15 份（空白 0，损坏 0），核对无误。" in await day.say("周杰", "/回收 15")  # no answer cards asked
    assert len(await day.inbox("钱进")) == office_alerts  # nothing was wrong: nobody alerted

    # The office's /撤销 without a number lists what it may mean; then the form.
    listing = await day.say("钱进", "/撤销")
    assert listing.startswith("今天各考场最近的报告：") and "第2考场试卷" in listing
    await day.say("钱进", "取消")
    _name, data = await day_workbook(day.services.db, DAY, SHANGHAI)
    wb = load_workbook(io.BytesIO(data))
    summary = {row[5]: row for row in wb["汇总"].iter_rows(min_row=3, values_only=True) if row[5]}
    assert summary["第1考场"][7:10] == (30, 28, 2) and summary["第1考场"][15] == "已核对"
    assert summary["第2考场"][7:10] == (28, 28, 0) and summary["第2考场"][15] == "已核对"
    assert summary["第3考场"][7:10] == (15, 14, 1) and summary["第3考场"][15] == "已核对", summary["第3考场"]
    assert summary["第4考场"][8:10] == ("未报", "未报")  # the computer room never reported absentees
    absentees = {(r[2], r[3]) for r in wb["缺考"].iter_rows(min_row=3, values_only=True)}
    assert absentees == {("2026000003", "赵静"), ("2026000007", "黄娟"), ("2026000061", "王娟")}
    violation, substitute = list(wb["违纪"].iter_rows(min_row=3, values_only=True))
    assert substitute[1] == "第2考场" and substitute[11].startswith("陈刚 "), substitute
    assert (violation[4], violation[5], violation[9]) == ("2026000005", "陈秀英", "手机藏在袖子里，已收缴")
    assert violation[11].startswith("李强 ")
    assert any("终止考试" in str(c) and "已调监控" in str(c) for c in violation[12:]), violation  # the ruling

"""/更正, /撤销 and /历史: append-only corrections with who and when."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from bot.store.tables import AuditLog
from tests.handlers.conftest import Day


async def test_correct_appends_and_keeps_old(day: Day) -> None:
    """A correction is a new row superseding the old one; the old row is untouched."""
    await day.say("王芳", "/缺考 2026000003")
    (old,) = await day.reports("absent")
    reply = await day.say("王芳", f"/更正 {old.id} 2026000003 2026000004")
    first, new = await day.reports("absent")
    assert first.payload == old.payload
    assert new.supersedes_id == old.id and new.payload["count"] == 2
    assert f"编号 {old.id} → 新编号 {new.id}" in reply and "原记录保留" in reply
    async with day.services.db.session() as s:
        audit = (await s.exec(select(AuditLog).where(col(AuditLog.entity) == "report"))).all()
    assert [a.action for a in audit] == ["create", "correct"]


@pytest.mark.parametrize(
    "text",
    [
        "/更正 {id} 2026000004",
        "／更正　{id}　２０２６０００００４",
        "/correct #{id} 2026000004",
        "/更正 编号{id} 2026000004",
        "、更正 {id}，2026000004",
    ],
)
async def test_correct_phrasings(day: Day, text: str) -> None:
    """Full-width, #, 编号 and punctuation all reach the same correction."""
    await day.say("王芳", "/缺考 2026000003")
    (old,) = await day.reports("absent")
    reply = await day.say("王芳", text.format(id=old.id))
    assert "已更正第1考场缺考" in reply
    assert (await day.reports("absent"))[-1].payload["tickets"] == ["2026000004"]


async def test_revoke_and_history(day: Day) -> None:
    """/撤销 adds a revocation row; /历史 shows every step with who and when."""
    await day.say("王芳", "/违纪 2026000003 抄袭 警告")
    (v,) = await day.reports("violation")
    await day.say("李强", f"/更正 {v.id} 2026000003 抄袭 劝告")
    corrected = (await day.reports("violation"))[-1]
    reply = await day.say("王芳", f"/撤销 {corrected.id} 看错了")
    assert f"已撤销第1考场违纪编号 {corrected.id}" in reply and "看错了" in reply
    rows = await day.reports("violation")
    assert len(rows) == 3 and rows[-1].revoked and rows[-1].supersedes_id == corrected.id
    history = await day.say("孙丽", f"/历史 {v.id}")
    assert "王芳 新报" in history and "李强 更正" in history and "撤销（看错了）" in history
    assert "当前状态：已撤销" in history
    assert "没有违纪记录" in await day.say("孙丽", "/violations today")


async def test_only_latest_can_change(day: Day) -> None:
    """Correcting a superseded 编号 names the newer one."""
    await day.say("王芳", "/缺考 2026000003")
    (old,) = await day.reports("absent")
    await day.say("王芳", f"/更正 {old.id} 无")
    reply = await day.say("王芳", f"/更正 {old.id} 2026000004")
    assert f"编号 {old.id} 已被编号" in reply and "更正" in reply


@pytest.mark.parametrize(
    ("who", "text", "error"),
    [
        ("王芳", "/更正 abc", "请先写报告编号"),
        ("王芳", "/更正 999 无", "没有找到您可以查看的编号 999 的报告"),
        ("王芳", "/撤销 999", "没有找到您可以查看的编号 999 的报告"),
        ("王芳", "/更正 {id}", "请写更正后的内容"),
        ("王芳", "/更正 {id} 张三", "的考生名单中没有“张三”"),
        ("赵敏", "/更正 {id} 无", "没有找到您可以查看的编号"),
        ("赵敏", "/撤销 {id}", "没有找到您可以查看的编号"),
        ("赵敏", "/历史 {id}", "没有找到您可以查看的编号"),
    ],
)
async def test_correction_refusals(day: Day, who: str, text: str, error: str) -> None:
    """Malformed or unauthorised corrections change nothing."""
    await day.say("王芳", "/缺考 2026000003")
    (old,) = await day.reports("absent")
    reply = await day.say(who, text.format(id=old.id))
    assert error in reply
    assert len(await day.reports("absent")) == 1


async def test_office_may_correct_any_room(day: Day) -> None:
    """The office corrects a room it is not assigned to."""
    await day.say("王芳", "/缺考 2026000003")
    (old,) = await day.reports("absent")
    assert "已更正" in await day.say("钱进", f"/更正 {old.id} 无")


async def test_serious_correction_alerts(day: Day) -> None:
    """Correcting a violation to 终止考试 alerts the office."""
    await day.say("王芳", "/违纪 2026000003 抄袭 警告")
    (v,) = await day.reports("violation")
    reply = await day.say("王芳", f"/更正 {v.id} 2026000003 抄袭 终止考试")
    assert "/确认" in reply
    assert len(await day.inbox("钱进")) == 1


async def test_a_violation_correction_changes_only_what_it_writes(day: Day) -> None:
    """Session 22: /更正 12 夹带 changes the type and keeps the candidate, the action and the note (it asked for the
    candidate again); a new candidate or action written replaces the old one."""
    await day.say("王芳", "/违纪 5号 使用手机 警告 说明：手机藏在袖子里")
    (v,) = await day.reports("violation")
    reply = await day.say("王芳", f"/更正 {v.id} 夹带")
    assert "已更正第1考场违纪" in reply and "2026000005（5号座）夹带，现场处理：警告（手机藏在袖子里）" in reply, reply
    first = (await day.reports("violation"))[-1]
    assert first.supersedes_id == v.id and first.payload["type"] == "夹带" and first.payload["ticket"] == "2026000005"
    reply = await day.say("王芳", f"/更正 {first.id} 6号 劝告")
    assert "2026000006（6号座）夹带，现场处理：劝告（手机藏在袖子里）" in reply, reply
    assert len(await day.reports("violation")) == 3

"""Who may change and who may see a report: role ranks, confirmed serious violations, other rooms (both databases)."""

from __future__ import annotations

import pytest

from tests.handlers.conftest import Day


@pytest.fixture
def day(db_day: Day) -> Day:
    """The demo day at 08:40 on SQLite and on PostgreSQL."""
    return db_day


async def _last_id(day: Day, kind: str) -> int:
    rid = (await day.reports(kind))[-1].id
    assert rid is not None
    return rid


async def test_invigilator_cannot_revoke_office_ruling(day: Day) -> None:
    """The office's /认定 (and the violation it ruled on) is revoked only by the office; the refusal says so."""
    await day.say("王芳", "/违纪 2026000003 抄袭 警告")
    vid = await _last_id(day, "violation")
    await day.say("钱进", f"/认定 {vid} 宣布成绩无效")
    rid = await _last_id(day, "determination")
    reply = await day.say("李强", f"/撤销 {rid} 看错了")
    assert reply.startswith(f"编号 {rid} 含有更高权限人员记录的内容，只有考务办公室或管理员可以撤销。")
    assert "只有考务办公室或管理员可以撤销" in await day.say("王芳", f"/撤销 {vid}")
    assert "只有考务办公室或管理员可以更正" in await day.say("王芳", f"/更正 {vid} 2026000003 抄袭 劝告")
    assert "认定：宣布成绩无效" in await day.say("孙丽", "/违纪记录")
    assert len(await day.reports("determination")) == 1 and len(await day.reports("violation")) == 1
    assert "已撤销" in await day.say("钱进", f"/撤销 {rid} 认定有误")
    assert "认定：" not in await day.say("孙丽", "/违纪记录")


async def test_invigilator_cannot_revoke_office_note(day: Day) -> None:
    """The office's /备注 closing a paper mismatch cannot be revoked by the invigilator on duty."""
    await day.say("王芳", "/缺考 无")
    await day.say("王芳", "/试卷 领取 30")
    await day.say("王芳", "/试卷 回收 29 答题卡 29")
    collect = await _last_id(day, "papers")
    await day.say("钱进", f"/备注 {collect} 缺1份在讲台找到，核对无误")
    note = await _last_id(day, "note")
    assert "只有考务办公室或管理员可以撤销" in await day.say("李强", f"/撤销 {note}")
    assert "办公室已备注关闭" in await day.say("钱进", "/试卷状态")


async def test_confirmed_serious_violation_revoked_only_by_office(day: Day) -> None:
    """A confirmed 替考 is revoked only by the office, and its revocation alerts office and supervisors."""
    await day.say("王芳", "/违纪 2026000004 替考")
    vid = await _last_id(day, "violation")
    await day.say("李强", f"/确认 {vid}")
    cid = await _last_id(day, "confirm")
    before = {n: len(await day.inbox(n)) for n in ("孙丽", "马文", "钱进")}
    reply = await day.say("王芳", f"/撤销 {vid} 误报")
    assert reply.startswith(f"编号 {vid} 是已经确认或认定的严重违纪，只有考务办公室可以撤销。")
    assert "只有考务办公室可以撤销" in await day.say("李强", f"/撤销 {cid}")
    assert "只有考务办公室可以更正" in await day.say("王芳", f"/更正 {vid} 2026000004 抄袭 劝告")
    assert "替考" in await day.say("孙丽", "/违纪记录")
    reply = await day.say("钱进", f"/撤销 {vid} 核实为误报")
    assert "已撤销" in reply and "已通知考务办公室和督导" in reply
    for name in ("孙丽", "马文"):
        (new,) = (await day.inbox(name))[before[name] :]
        assert new.startswith("【违纪·撤销】第1考场") and f"严重违纪编号 {vid}" in new and "核实为误报" in new
    assert len(await day.inbox("钱进")) == before["钱进"]  # the sender is not alerted


async def test_unconfirmed_serious_revocation_alerts(day: Day) -> None:
    """The reporter may still revoke an unconfirmed serious violation, and the office and supervisors are told."""
    await day.say("王芳", "/违纪 2026000004 抄袭 终止考试")
    vid = await _last_id(day, "violation")
    before = len(await day.inbox("孙丽"))
    reply = await day.say("王芳", f"/撤销 {vid} 考场号写错")
    assert "已撤销" in reply and "已通知考务办公室和督导" in reply
    assert "【违纪·撤销】" in (await day.inbox("孙丽"))[before]


async def test_supervisor_report_needs_supervisor_or_above(day: Day) -> None:
    """A violation a supervisor recorded is not revoked by the invigilator on duty, but by the supervisor."""
    await day.say("孙丽", "/违纪 1 2026000003 交头接耳 劝告")
    vid = await _last_id(day, "violation")
    reply = await day.say("王芳", f"/撤销 {vid}")
    assert "只有内部质量督导员、考务办公室或管理员可以撤销" in reply
    assert "已撤销" in await day.say("孙丽", f"/撤销 {vid}")


async def test_several_roles_count_as_the_highest(day: Day) -> None:
    """马文 (admin and office) counts as admin: the office alone cannot revoke what he recorded."""
    await day.say("马文", "/违纪 1 2026000003 交头接耳 劝告")
    vid = await _last_id(day, "violation")
    assert "只有管理员可以撤销" in await day.say("钱进", f"/撤销 {vid}")
    assert "已撤销" in await day.say("马文", f"/撤销 {vid}")


async def test_other_room_reports_look_like_missing_ones(day: Day) -> None:
    """/确认, /更正, /撤销 and /历史 on another room's report answer exactly as for a number that does not exist."""
    await day.say("王芳", "/违纪 2026000004 替考")
    vid = await _last_id(day, "violation")
    await day.say("王芳", "/缺考 2026000003")
    aid = await _last_id(day, "absent")
    await day.say("王芳", f"/更正 {aid} 无")  # aid is now superseded
    for text in ("/确认 {}", "/更正 {} 无", "/撤销 {}", "/历史 {}"):
        missing = await day.say("赵敏", text.format(999))
        first, usage = missing.split("\n", 1)
        assert first.startswith("没有找到您可以查看的编号 999 的报告")
        for rid in (vid, aid):
            assert await day.say("赵敏", text.format(rid)) == first.replace("999", str(rid)) + "\n" + usage, text


async def test_office_and_supervisors_keep_precise_messages(day: Day) -> None:
    """Who sees every room still learns that a number does not exist or was superseded."""
    await day.say("王芳", "/缺考 2026000003")
    aid = await _last_id(day, "absent")
    await day.say("王芳", f"/更正 {aid} 无")
    assert "没有编号为 999 的报告" in await day.say("孙丽", "/历史 999")
    assert f"编号 {aid} 已被编号" in await day.say("钱进", f"/撤销 {aid}")
    assert f"{aid} 的历史" in await day.say("孙丽", f"/历史 {aid}")

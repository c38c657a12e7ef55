"""Queries: /violations on a seeded day (time order, masking by chat and role), 缺考统计, 试卷状态, 考场状态."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.store.tables import ExamSession, Report, Room, SessionKind
from tests.handlers.conftest import ROOM1, Day


async def _seed(day: Day) -> None:
    """Violations across rooms and times, one revoked, and one on the previous day."""
    await day.say("王芳", "/违纪 2026000003 抄袭 警告")
    day.clock.advance(timedelta(minutes=3))
    await day.say("赵敏", "/违纪 2 2026000031 交头接耳 劝告")
    day.clock.advance(timedelta(minutes=3))
    await day.say("王芳", "/违纪 2026000005 携带手机 终止考试")
    await day.say("王芳", "/违纪 2026000007 其他")
    wrong = (await day.reports("violation"))[-1]
    await day.say("王芳", f"/撤销 {wrong.id} 报错了")
    yesterday = day.clock.now() - timedelta(days=1)
    async with day.services.db.session() as s:
        sess = ExamSession(
            code="昨天场",
            occupation="电工",
            kind=SessionKind.THEORY,
            day=yesterday.astimezone(day.services.settings.tz).date(),
            starts_at=yesterday,
            ends_at=yesterday + timedelta(hours=1),
        )
        s.add(sess)
        await s.flush()
        assert sess.id is not None
        room = Room(session_id=sess.id, room_no="第1考场", expected=10)
        s.add(room)
        await s.flush()
        s.add(
            Report(
                kind="violation",
                room_id=room.id,
                session_id=sess.id,
                created_at=yesterday,
                payload={"ticket": "2025000001", "type": "抄袭", "action": "警告", "note": ""},
            )
        )


def _lines(reply: str) -> list[str]:
    return reply.splitlines()[1:]


async def test_violations_today_private_supervisor_unmasked(day: Day) -> None:
    """In a private chat a supervisor gets exactly today's active violations, in time order, with names."""
    await _seed(day)
    reply = await day.say("孙丽", "/violations today")
    assert reply.splitlines()[0] == "12月05日 违纪记录 3 条："
    lines = _lines(reply)
    assert len(lines) == 3
    assert lines[0].startswith("08:40 第1考场 2026000003（") and "抄袭" in lines[0]
    assert lines[1].startswith("08:43 第2考场 2026000031（") and "交头接耳" in lines[1]
    assert lines[2].startswith("08:46 第1考场 2026000005（") and "待第二人确认" in lines[2]
    assert "2026000007" not in reply and "2025000001" not in reply


async def test_violations_today_group_masked(day: Day) -> None:
    """In a group chat the same list masks numbers and shows no names."""
    await _seed(day)
    reply = await day.say("孙丽", "/违纪记录 今天", chat=ROOM1)
    lines = _lines(reply)
    assert [ln.split()[2] for ln in lines] == ["2026**0003", "2026**0031", "2026**0005"]
    assert "（" not in " ".join(ln.split()[2] for ln in lines)
    for ticket in ("2026000003", "2026000031", "2026000005"):
        assert ticket not in reply


async def test_violations_refused_to_invigilator(day: Day) -> None:
    """An invigilator may not list violations."""
    await _seed(day)
    reply = await day.say("王芳", "/violations today")
    assert reply == "您没有使用 /违纪记录 的权限（仅限内部质量督导员/考务办公室）。"


@pytest.mark.parametrize(
    ("args", "count"),
    [
        ("", 3),
        ("today", 3),
        ("今天", 3),
        ("yesterday", 1),
        ("昨天", 1),
        ("2", 1),
        ("today 1", 2),
        ("第1考场 今天", 2),
        ("一考场", 2),
        ("2026-12-05", 3),
        ("2026-12-04", 1),
        ("12月5日", 3),
        ("2026-12-03", 0),
    ],
)
async def test_violations_day_and_room(day: Day, args: str, count: int) -> None:
    """Day words and room forms in any order pick the right violations."""
    await _seed(day)
    reply = await day.say("钱进", f"/violations {args}")
    if count == 0:
        assert "没有违纪记录" in reply
    else:
        assert f"违纪记录 {count} 条" in reply


async def test_violations_bad_argument(day: Day) -> None:
    """An argument that is neither a day nor a room is refused with the form."""
    reply = await day.say("钱进", "/violations 上周")
    assert "没有看懂“上周”" in reply and "用法：/违纪记录" in reply


async def test_absence_stats(day: Day) -> None:
    """/缺考统计 lists each room, the reported absentees, and who has not reported."""
    await day.say("王芳", "/缺考 2026000003 2026000004")
    await day.say("赵敏", "/缺考 无")
    reply = await day.say("钱进", "/缺考统计")
    assert "第1考场：应考 30，实考 28，缺考 2" in reply
    assert "第2考场：应考 28，实考 28，缺考 0" in reply
    assert "第3考场：应考 15，缺考待报" in reply  # its session started; absence is final, not yet overdue
    assert "第4考场：应考 30，缺考未到报告时间（09:15 起）" in reply  # nothing is due before the session
    assert "1 个考场到时未报" in reply
    assert "合计：应考 103，缺考 2，1 个考场到时未报" in reply
    assert await day.say("钱进", "/缺考状态") == reply == await day.say("钱进", "缺考情况")  # named like /试卷状态


async def test_paper_status_not_reconciled_first(day: Day) -> None:
    """/试卷状态 lists rooms that do not reconcile first."""
    await day.say("王芳", "/缺考 无")
    await day.say("王芳", "/试卷 领取 30")
    await day.say("王芳", "/试卷 回收 30 答题卡 30")
    await day.say("赵敏", "/缺考 无")
    await day.say("赵敏", "/试卷 领取 28")
    await day.say("赵敏", "/试卷 回收 27")
    reply = await day.say("孙丽", "/试卷状态")
    lines = _lines(reply)
    assert "1 个考场核对不符" in reply
    assert "第2考场" in lines[0] and "核对不符" in lines[0]
    assert any("第1考场：领取 30（待第二人核对），回收 30，已核对" in ln for ln in lines)


async def test_room_status(day: Day) -> None:
    """/考场状态 shows 应考, 实考, 缺考, papers, violations and incidents per room."""
    await day.say("王芳", "/缺考 2026000003")
    await day.say("王芳", "/试卷 领取 30")
    await day.say("王芳", "/违纪 2026000004 抄袭 警告")
    await day.say("王芳", "/突发 停电")
    reply = await day.say("钱进", "/考场状态")
    line = next(ln for ln in reply.splitlines() if "第1考场" in ln)
    assert "应考 30，实考 29，缺考 1" in line and "领 30 收 -" in line and "违纪 1，突发 1" in line


async def test_export_csv(day: Day) -> None:
    """/导出 gives every row of the day, corrected and revoked ones included, with full data."""
    await day.say("王芳", "/缺考 2026000003")
    (row,) = await day.reports("absent")
    await day.say("王芳", f"/更正 {row.id} 无")
    reply = await day.say("马文", "/导出 明细 今天")
    assert "（2 行）" in reply
    assert f"已被编号 {row.id + 1} 更正" in reply and "有效" in reply and "2026000003（" in reply
    await day.say("李强", "/缺考 2026000004")  # an addition is named as one in the export
    assert f"已被编号 {row.id + 2} 追加" in await day.say("马文", "/导出 明细 今天")


async def test_export_writes_formulas_as_text(day: Day) -> None:
    """/导出 writes typed text that starts like a formula with a leading apostrophe, so it stays text."""
    await day.say("王芳", '/突发 1 =HYPERLINK("http://evil.example","点我")')
    await day.say("王芳", "/突发 1 @SUM(A1:A9)")
    await day.say("王芳", "/突发 1 -2+3 考生晕倒")
    reply = await day.say("马文", "/导出 明细 今天")
    rows = list(csv.reader(io.StringIO(reply.split("\n", 1)[1])))
    contents = [r[5] for r in rows[1:]]
    assert '\'=HYPERLINK("http://evil.example","点我")' in contents
    assert "'@SUM(A1:A9)" in contents and "'-2+3 考生晕倒" in contents
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for c in r)

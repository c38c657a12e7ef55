"""/补录: the office and supervisors enter or correct a past session's records, marked 补录 with who and when.

The demo day (see tests/handlers/conftest.py): 演示第1场 08:08–09:38 (rooms 1 and 2), 演示第2场 08:20–10:20
(room 3), 演示第3场 08:45–10:45 (room 4); invigilators report until 12:45.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.settings import Settings
from bot.store.tables import AuditLog, ExamSession, Room
from tests.conftest import demo_app
from tests.handlers.conftest import Day, at


@pytest.fixture
async def any_day(make_settings: Callable[..., Settings], clock: ManualClock, db_url: str) -> AsyncIterator[Day]:
    """The demo day at 08:40 on SQLite and on PostgreSQL."""
    async with demo_app(make_settings(database_url=db_url), clock) as chat:
        clock.advance(timedelta(minutes=40))
        yield Day(chat, clock)


async def test_office_backfills_absentees_and_the_mark_is_stored(any_day: Day) -> None:
    """After the window the office's /补录 runs /缺考 on that session's room; payload and audit say who and when."""
    day = any_day
    at(day.clock, 16, 20)
    reply = await day.say("钱进", "/补录 12月5日 演示第1场 1 /缺考 2026000003")
    assert reply.startswith("【补录（钱进 12-05 16:20）】演示第1场（08:08–09:38）\n已记录第1考场缺考")
    (row,) = await day.reports("absent")
    mark = row.payload["backfill"]
    assert mark["by"] == "钱进" and mark["staff_id"] == await day.staff_id("钱进")
    assert datetime.fromisoformat(mark["at"]) == day.clock.now()
    async with day.services.db.session() as s:
        audit = (await s.exec(select(AuditLog).where(col(AuditLog.entity_id) == str(row.id)))).one()
    assert audit.detail["backfill"] == mark
    history = await day.say("钱进", f"/历史 {row.id}")
    assert "补录（钱进 12-05 16:20）" in history
    assert "补录（钱进 12-05 16:20）" in await day.say("钱进", "/缺考统计 今天")


async def test_backfill_takes_the_papers_shortcuts(any_day: Day) -> None:
    """/领取 and /回收 (/试卷's shortcuts) can be backfilled as /试卷 can: the office types what staff type."""
    day = any_day
    at(day.clock, 16, 20)
    reply = await day.say("钱进", "/补录 演示第1场 2 /领取 28")
    assert reply.startswith("【补录（钱进 12-05 16:20）】演示第1场（08:08–09:38）\n已记录第2考场试卷"), reply
    reply = await day.say("钱进", "/补录 第1场 2 /回收 28 答题卡 28")
    assert "回收 28 份（答题卡 28，空白 0，损坏 0）" in reply, reply
    assert [r.payload["backfill"]["by"] for r in await day.reports("papers")] == ["钱进", "钱进"]
    reply = await day.say("钱进", "/补录 第1场 1 /回收 30")  # no 领取, no 答题卡: both forms suggested
    assert "请补录：/补录 /更正 " in reply and " 回收 30 答题卡 N 空白 N 损坏 N，或 /补录 … /试卷 领取 N。" in reply
    reply = await day.say("钱进", "/补录 第2场 3 /回收 15")  # practical: no answer cards, only the 领取 is missing
    assert reply.endswith("领取份数未报，补报后再完整核对。请补录：/补录 … /试卷 领取 N。"), reply


async def test_revocation_carries_its_own_mark(any_day: Day) -> None:
    """A revocation after the window is marked with who revoked and when, not the mark of the row it copies."""
    day = any_day
    at(day.clock, 16, 20)
    await day.say("孙丽", "/补录 演示第1场 1 /缺考 2026000003")
    (row,) = await day.reports("absent")
    at(day.clock, 17, 5)
    reply = await day.say("钱进", f"/补录 /撤销 {row.id} 重复")
    assert reply.startswith("【补录（钱进 12-05 17:05）】") and "已撤销第1考场缺考" in reply
    revocation = (await day.reports("absent"))[-1]
    assert revocation.revoked and revocation.payload["backfill"]["by"] == "钱进"
    assert "补录（孙丽 12-05 16:20）" in await day.say("钱进", f"/历史 {row.id}")


@pytest.mark.parametrize(
    "text",
    [
        "/补录 12月5日 第1场 1 /缺考 2026000003",
        "/补录 2026-12-05 08:08 第1考场 缺考 2026000003",
        "/补录 1 /缺考 2026000003",
        "/补录 今天 演示第1场 /缺考 1 2026000003",
        "/补录 12-05 1号 、缺考 2026000003",
        "／补录　１２月５日　１　／缺考　２０２６０００００３",
    ],
)
async def test_phrasings(day: Day, text: str) -> None:
    """Date, 第N场 / code / start time and room in any of the ways staff type them (or the room in the command)."""
    at(day.clock, 13, 0)
    reply = await day.say("钱进", text)
    assert "已记录第1考场缺考" in reply and "补录（钱进 12-05 13:00）" in reply


async def test_yesterday(day: Day) -> None:
    """The next morning, 昨天 names the past day; the session is shown with its date."""
    at(day.clock, 9, 0, day=6)
    reply = await day.say("孙丽", "/补录 昨天 2 /违纪 2026000031 抄袭 警告")
    assert reply.startswith("【补录（孙丽 12-06 09:00）】演示第1场（12月05日 08:08–09:38）")
    assert "第2考场" in reply
    assert (await day.reports("violation"))[0].payload["backfill"]["by"] == "孙丽"


async def test_invigilators_cannot_backfill(day: Day) -> None:
    """An invigilator's /补录 is refused, saying who may."""
    at(day.clock, 13, 0)
    reply = await day.say("王芳", "/补录 1 /缺考 2026000003")
    assert "没有使用 /补录 的权限" in reply and "仅限内部质量督导员/考务办公室" in reply
    assert await day.reports() == []


async def test_alert_of_a_backfill_says_so(day: Day) -> None:
    """A 补录 violation serious enough to alert still alerts the office, marked 补录."""
    at(day.clock, 13, 0)
    reply = await day.say("孙丽", "/补录 1 /违纪 2026000003 抄袭 终止考试")
    assert "已通知考务办公室和督导" in reply
    for name in ("钱进", "马文"):
        (text,) = await day.inbox(name)
        assert text.startswith("【补录（孙丽 12-05 13:00）】") and "2026000003" in text


async def test_supervisor_corrects_a_past_report(day: Day) -> None:
    """A supervisor corrects an invigilator's report of an ended session through /补录 (not directly)."""
    await day.say("赵敏", "/缺考 2 2026000031")
    (old,) = await day.reports("absent")
    at(day.clock, 15, 0)
    assert "只有报告人" in await day.say("孙丽", f"/更正 {old.id} 2026000032")
    reply = await day.say("孙丽", f"/补录 /更正 {old.id} 2026000032")
    assert "已更正第2考场缺考" in reply and "补录（孙丽 12-05 15:00）" in reply
    new = (await day.reports("absent"))[-1]
    assert new.supersedes_id == old.id and new.payload["tickets"] == ["2026000032"]
    assert new.payload["backfill"]["by"] == "孙丽" and "backfill" not in old.payload


async def test_reports_within_the_window_are_not_marked(day: Day) -> None:
    """A report and an office correction inside the window carry no 补录 mark."""
    await day.say("王芳", "/缺考 1 2026000003")
    (old,) = await day.reports("absent")
    reply = await day.say("钱进", f"/更正 {old.id} 2026000004")
    assert "补录" not in reply
    assert all("backfill" not in r.payload for r in await day.reports("absent"))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("/补录 12月6日 1 /缺考 2026000003", "12月6日还没到，不能补录"),
        ("/补录 第5场 1 /缺考 2026000003", "12月5日没有“第5场”这个场次"),
        ("/补录 演示第1场 9 /缺考 2026000003", "12月5日 演示第1场 没有第9考场"),
        ("/补录 1 /缺考统计", "/补录 只能用于"),
        ("/补录 1 /缺考", "补录请把 /缺考 的内容写全"),
        ("/补录 12月5日 1", "请在场次和考场后面写要补录的命令"),
        ("/补录 演示第1场 /缺考 2026000003", "补录请写明考场号"),
        ("/补录 2 /缺考 1 2026000003", "补录写的是第2考场，命令里又写了第1考场"),
        ("/补录 abc 1 /缺考 2026000003", "没有看懂“abc”"),
    ],
)
async def test_refusals(day: Day, text: str, error: str) -> None:
    """A /补录 that cannot be placed records nothing and says why."""
    at(day.clock, 13, 0)
    reply = await day.say("钱进", text)
    assert error in reply
    assert await day.reports() == []


async def test_usage_without_arguments(day: Day) -> None:
    """/补录 alone explains the form."""
    reply = await day.say("钱进", "/补录")
    assert "/补录 日期 [场次] 考场 /命令 内容" in reply and "/补录 /更正 12" in reply


async def test_cancelled_session_cannot_be_backfilled(day: Day) -> None:
    """A cancelled session refuses a 补录 too."""
    async with day.services.db.session() as s:
        sess = (await s.exec(select(ExamSession).where(col(ExamSession.code) == "演示第1场"))).one()
        sess.cancelled_at = day.clock.now()
        s.add(sess)
    at(day.clock, 13, 0)
    assert "已取消，不能补录" in await day.say("钱进", "/补录 演示第1场 1 /缺考 2026000003")
    assert "已取消，不能补录" in await day.say("钱进", "/补录 1 /缺考 2026000003")


async def test_same_room_number_in_two_sessions_asks_which(day: Day) -> None:
    """When two sessions of the day have a room 1, /补录 without a session lists them."""
    async with day.services.db.session() as s:
        sess = (await s.exec(select(ExamSession).where(col(ExamSession.code) == "演示第3场"))).one()
        assert sess.id is not None
        s.add(Room(session_id=sess.id, room_no="1", expected=10))
    at(day.clock, 13, 0)
    reply = await day.say("钱进", "/补录 1 /缺考 2026000003")
    assert "有 2 个场次都有第1考场：演示第1场（08:08–09:38）、演示第3场（08:45–10:45）" in reply
    assert "已记录第1考场缺考" in await day.say("钱进", "/补录 演示第1场 1 /缺考 2026000003")


async def test_rulings_after_the_session_are_not_backfills(day: Day) -> None:
    """The office's /认定 the next day is its ruling, not a late entry: no 补录 mark."""
    await day.say("王芳", "/违纪 1 2026000003 抄袭 终止考试")
    (row,) = await day.reports("violation")
    at(day.clock, 10, 0, day=6)
    assert "补录" not in await day.say("钱进", f"/认定 {row.id} 宣布成绩无效 复核监控")
    assert all("backfill" not in r.payload for r in await day.reports())


async def test_sessions_coded_by_number(day: Day) -> None:
    """Sessions coded 1, 2 …: the first bare number is the room, a second one the session."""
    async with day.services.db.session() as s:
        for code, new in (("演示第1场", "1"), ("演示第3场", "3")):
            sess = (await s.exec(select(ExamSession).where(col(ExamSession.code) == code))).one()
            sess.code = new
            s.add(sess)
    at(day.clock, 13, 0)
    reply = await day.say("钱进", "/补录 2 1 /缺考 2026000031")
    assert "】1（08:08–09:38）" in reply and "已记录第2考场缺考" in reply
    assert "12月5日 3 没有第1考场" in await day.say("钱进", "/补录 1 3 /缺考 2026000003")


async def test_backfill_never_opens_a_dialog(day: Day) -> None:
    """/补录 … /违纪 1 (room only) would ask questions whose answers lose the 补录 target: it asks for it all."""
    at(day.clock, 16, 20)
    reply = await day.say("钱进", "/补录 今天 演示第1场 1 /违纪 1")
    assert "一条消息里写全" in reply
    reply = await day.say("钱进", "/补录 今天 演示第1场 1 /试卷 回收 30")  # recorded; the rest asked for in words
    assert "已记录" in reply and "/补录 /更正" in reply and "多少份" not in reply

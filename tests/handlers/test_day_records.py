"""A whole exam day as people type it (issue 13): the records at the end equal what happened.

Two invigilators per theory room add absentees one by one, by ticket and by seat; a supervisor files a
violation on his round; the office moves the computer session and swaps its deputy; a late absentee
is refused for the invigilator after the window and entered by the office as 补录. The end state is
compared with a table written from the story, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.delivery.rows import T
from bot.settings import Settings
from bot.store.papers import papers_state
from bot.store.reports import AbsentPayload, PapersPayload, ViolationPayload, reports_in_force
from bot.store.tables import Assignment, ExamSession, Room, Staff
from tests.conftest import Chat, demo_app


@pytest.fixture
async def chat(make_settings: Any, db_url: str, clock: ManualClock) -> AsyncIterator[Chat]:
    """The demo day on the given database (SQLite or PostgreSQL), at 08:00 (first session 08:08–09:38)."""
    settings: Settings = make_settings(database_url=db_url)
    async with demo_app(settings, clock) as c:
        yield c


async def _table(chat: Chat) -> dict[str, dict[str, Any]]:
    """Per room: the absentee list in force, 实考, violations (ticket, type, action), papers handed out and in."""
    out: dict[str, dict[str, Any]] = {}
    async with chat.services.db.session() as s:
        rooms = (await s.exec(select(Room).order_by(col(Room.id)))).all()
        ids = [r.id for r in rooms if r.id is not None]
        papers = await papers_state(s, ids)
        violations = await reports_in_force(s, ["violation"], ids)
        for room in rooms:
            rid = room.id or 0
            absent = papers.absent.get(rid)
            ap = AbsentPayload.from_payload(absent.payload) if absent else None
            h, c = papers.handout.get(rid), papers.collect.get(rid)
            out[room.room_no] = {
                "absent": sorted(ap.tickets) if ap else None,
                "present": ap.present if ap else None,
                "violations": sorted(
                    (v.payload.get("ticket"), v.payload.get("type"), v.payload.get("action"))
                    for v in violations
                    if v.room_id == rid and ViolationPayload.from_payload(v.payload)
                ),
                "papers": (
                    PapersPayload.from_payload(h.payload).count if h else None,
                    PapersPayload.from_payload(c.payload).count if c else None,
                ),
                "backfilled": bool(absent and absent.payload.get("backfill")),
            }
    return out


async def test_a_whole_day_ends_with_the_records_that_happened(chat: Chat, clock: ManualClock) -> None:
    outbox = chat.services.notifier.outbox
    say = chat.say

    # 08:00 — the office moves the computer session (08:45–10:45) to 10:00–12:00, then swaps its deputy
    # 黄磊 for 陈刚, who is free once 演示第1场 ends at 09:38.
    reply = await say("钱进", "/场次 改时间 演示第3场 10:00-12:00 机房调试") or ""
    assert "10:00" in reply and "已通知" in reply
    reply = await say("钱进", "/换人 演示第3场 4 黄磊 陈刚") or ""
    assert "陈刚" in reply and "已通知" in reply
    await outbox.drain()

    # 08:05 — 王芳 reports the papers fetched; 08:40 — absentees, added by both invigilators of 第1考场.
    clock.advance(timedelta(minutes=5))
    assert "已记录" in (await say("王芳", "/试卷 1 领取 30") or "")
    clock.advance(timedelta(minutes=35))
    assert "2026000003" in (await say("王芳", "/缺考 1 2026000003") or "")
    reply = await say("李强", "／缺考　１　５号") or ""  # full-width, by seat: 2026000005
    assert "2026000003" in reply and "2026000005" in reply  # the whole current list
    assert "无" not in (await say("赵敏", "/缺考 2 无") or "")[:2]

    # A violation, confirmed by the second invigilator; a supervisor on his round files one in 第2考场.
    await say("王芳", "/违纪 1 2026000007 使用手机 终止考试")
    (serious,) = [r for r in await _violations(chat) if r.payload.get("ticket") == "2026000007"]
    assert "已确认" in (await say("李强", f"/确认 {serious.id}") or "")
    await say("孙丽", "/违纪 2 2026000040 夹带 警告")

    # 09:38 — 第1考场 collects 27 (30 − 2 absent − 1 terminated still hands in: 28 in all).
    clock.advance(timedelta(minutes=58))
    assert "已记录" in (await say("王芳", "/试卷 1 回收 28") or "")
    await outbox.drain()

    # 14:30 — after the window (the day's last session now ends at 12:00, two hours' grace): 王芳 remembers
    # another absentee; she is told why not and by whom; the office enters it as 补录.
    clock.advance(timedelta(hours=4, minutes=52))
    refusal = await say("王芳", "/缺考 1 2026000009") or ""
    assert "补录" in refusal and "14:00" in refusal
    reply = await say("钱进", "/补录 今天 演示第1场 1 /缺考 2026000009") or ""
    assert "补录" in reply and "2026000009" in reply
    await outbox.drain()

    table = await _table(chat)
    assert table["第1考场"] == {
        "absent": ["2026000003", "2026000005", "2026000009"],
        "present": 27,
        "violations": [("2026000007", "使用手机", "终止考试")],
        "papers": (30, 28),
        "backfilled": True,
    }
    assert table["第2考场"] == {
        "absent": [],
        "present": 28,
        "violations": [("2026000040", "夹带", "警告")],
        "papers": (None, None),
        "backfilled": False,
    }

    # The moved session is the same session (no duplicate), and its deputy's reminders went to 陈刚.
    async with chat.services.db.session() as s:
        sessions = (await s.exec(select(ExamSession).where(ExamSession.occupation == "计算机程序设计员"))).all()
        assert len(sessions) == 1
        assert sessions[0].starts_at.astimezone(chat.services.settings.tz).strftime("%H:%M") == "10:00"
        staff = {p.name: p.id for p in (await s.exec(select(Staff))).all()}
        duty = (await s.exec(select(Assignment).where(Assignment.staff_id == staff["陈刚"]))).all()
        assert len(duty) == 2  # 第2考场 in 演示第1场 and 第4考场 in 演示第3场
        conn = await s.connection()
        targets = (
            await conn.execute(
                select(T.c.target, T.c.status).where(T.c.session_id == sessions[0].id, T.c.kind == "reminder")
            )
        ).all()
    huang = [st for t, st in targets if t.get("staff_id") == staff["黄磊"]]
    chen = [st for t, st in targets if t.get("staff_id") == staff["陈刚"]]
    assert huang and all(st == "cancelled" for st in huang)
    assert chen and all(st in ("sent", "expired") for st in chen)


async def _violations(chat: Chat) -> list[Any]:
    async with chat.services.db.session() as s:
        rooms = [r.id for r in (await s.exec(select(Room))).all() if r.id is not None]
        return await reports_in_force(s, ["violation"], rooms)

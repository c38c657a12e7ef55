"""The report read model (bot/store/reports.py) and the report kinds registered on command tables."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from bot.clock import ManualClock
from bot.dispatch import CommandTable, Context, Dispatcher
from bot.model import IncomingMessage
from bot.store.reports import (
    ABSENT_REPORT,
    PAPERS_COLLECT,
    follow_up_of,
    has_report_in_force,
    office_staff,
    payload_of,
    reports_in_force,
)
from bot.store.tables import Report, Staff
from handlers import corrections
from handlers._reports import KindRules
from handlers._rooms import RoomNow
from tests.conftest import Chat


async def _say(chat: Chat, who: str, text: str) -> str:
    reply = await chat.say(who, text)
    assert reply is not None, text
    return reply


async def _rows(chat: Chat, kind: str) -> list[Report]:
    async with chat.services.db.read() as s:
        return list((await s.exec(select(Report).where(col(Report.kind) == kind).order_by(col(Report.id)))).all())


def _as_read(value: Any) -> Any:
    """A JSON value as the typed payloads hold it (lists become tuples)."""
    return tuple(value) if isinstance(value, list) else value


async def test_typed_payloads_read_what_the_commands_write(demo_chat: Chat, clock: ManualClock) -> None:
    """Every key each command writes is a field of its kind's payload type, read back unchanged."""
    clock.advance(timedelta(minutes=40))  # inside the first theory session
    await _say(demo_chat, "王芳", "/缺考 1 2026000003")
    await _say(demo_chat, "王芳", "/试卷 1 领取 31")
    await _say(demo_chat, "王芳", "/试卷 1 回收 31 答题卡 29 空白 1")
    await _say(demo_chat, "王芳", "/违纪 1 2026000004 替考 终止考试 说明：核对身份证")
    (violation,) = await _rows(demo_chat, "violation")
    await _say(demo_chat, "李强", f"/确认 {violation.id}")
    await _say(demo_chat, "钱进", f"/认定 {violation.id} 宣布成绩无效 复核监控")
    collect = [r for r in await _rows(demo_chat, "papers") if r.payload["action"] == "collect"][-1]
    await _say(demo_chat, "钱进", f"/备注 {collect.id} 缺1份在讲台找到")
    await _say(demo_chat, "王芳", "/突发 1 考生晕倒，已送医务室")
    await _say(demo_chat, "王芳", "/更正 " + str((await _rows(demo_chat, "absent"))[0].id) + " 无")

    kinds = ("absent", "papers", "violation", "incident", "confirm", "determination", "note")
    seen = set()
    for kind in kinds:
        for row in await _rows(demo_chat, kind):
            typed = payload_of(row)
            assert typed is not None, kind
            names = {f.name for f in fields(typed)}
            for key, value in row.payload.items():
                if key == "root":  # the chain's first row, kept by every correction
                    continue
                assert key in names, (kind, key)
                assert getattr(typed, key) == _as_read(value), (kind, key)
            seen.add(kind)
    assert seen == set(kinds)


async def test_in_force_and_follow_ups_on_a_connection(demo_chat: Chat, clock: ManualClock) -> None:
    """What the outbox asks on a plain connection: a 缺考 report / a collection in force; who the office is."""
    clock.advance(timedelta(minutes=40))
    await _say(demo_chat, "王芳", "/缺考 1 无")
    (absent,) = await _rows(demo_chat, "absent")
    room_id = absent.room_id
    assert room_id is not None
    db = demo_chat.services.db
    async with db.begin() as conn:
        assert await has_report_in_force(conn, room_id, ABSENT_REPORT)
        assert not await has_report_in_force(conn, room_id, PAPERS_COLLECT)
        office = await office_staff(conn)
    assert {st.name for st in office} == {"钱进", "马文"}

    await _say(demo_chat, "王芳", "/试卷 1 领取 31")
    async with db.begin() as conn:
        assert not await has_report_in_force(conn, room_id, PAPERS_COLLECT)  # a handout is not a collection
    await _say(demo_chat, "王芳", "/试卷 1 回收 31 答题卡 31")
    collect = (await _rows(demo_chat, "papers"))[-1]
    async with db.begin() as conn:
        assert await has_report_in_force(conn, room_id, PAPERS_COLLECT)
    await _say(demo_chat, "王芳", f"/撤销 {collect.id} 报错")
    await _say(demo_chat, "王芳", f"/撤销 {absent.id} 报错")
    async with db.begin() as conn:
        assert not await has_report_in_force(conn, room_id, PAPERS_COLLECT)
        assert not await has_report_in_force(conn, room_id, ABSENT_REPORT)
        on_conn = await reports_in_force(conn, ["papers"], [room_id])
    async with db.read() as s:
        in_session = await reports_in_force(s, ["papers"], [room_id])
    assert [r.id for r in on_conn] == [r.id for r in in_session] and len(in_session) == 1  # the handout

    assert follow_up_of({"type": "report", "room_id": room_id, "report": "absent"}) == ABSENT_REPORT
    assert follow_up_of({"type": "ack", "room_id": room_id, "step": "open"}) is None


def _drill_table() -> CommandTable:
    """A table registering a report kind no handlers module knows."""
    t = CommandTable()

    async def rebuild(ctx: Context, s: Any, old: Report, where: RoomNow, text: str) -> dict[str, Any]:
        return {"text": text}

    def describe(ctx: Context, report: Report, names: dict[str, str]) -> str:
        return f"演练：{report.payload.get('text')}"

    t.report_kind("drill", KindRules("/更正 编号 内容", rebuild, describe))
    return t


async def test_correct_finds_report_kinds_from_the_dispatchers_tables(demo_chat: Chat, clock: ManualClock) -> None:
    """/更正 knows exactly the report kinds registered on the tables its dispatcher was given."""
    clock.advance(timedelta(minutes=40))
    await _say(demo_chat, "王芳", "/缺考 1 无")
    (absent,) = await _rows(demo_chat, "absent")
    async with demo_chat.services.db.session() as s:
        wang = (await s.exec(select(Staff).where(col(Staff.name) == "王芳"))).one()
        drill = Report(
            kind="drill",
            room_id=absent.room_id,
            session_id=absent.session_id,
            staff_id=wang.id,
            payload={"text": "旧"},
            channel="console",
            created_at=clock.now(),
        )
        s.add(drill)
    assert drill.id is not None and wang.id is not None

    async def send(d: Dispatcher, text: str) -> str:
        msg = IncomingMessage(
            channel="console",
            sender_id=str(wang.id),
            text=text,
            message_id=uuid.uuid4().hex,
            received_at=clock.now(),
        )
        reply = await d.dispatch(msg)
        assert reply is not None
        return reply.text

    with_drill = Dispatcher(demo_chat.services, [corrections.table, _drill_table()])
    reply = await send(with_drill, f"/更正 {drill.id} 新")
    assert "已更正第1考场" in reply and "演练：新" in reply, reply
    # The absent module's table is not among this dispatcher's: its kind is unknown here, imported or not.
    assert "不能更正" in await send(with_drill, f"/更正 {absent.id} 2026000003")

    without = Dispatcher(demo_chat.services, [corrections.table])
    newest = (await _rows(demo_chat, "drill"))[-1]
    assert "不能更正" in await send(without, f"/更正 {newest.id} 再改")

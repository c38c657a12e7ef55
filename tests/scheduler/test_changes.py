"""The office changes the day (scheduler/changes.py): cancel, move, swap, on SQLite and PostgreSQL.

Each change is checked on what it leaves in the database: the outbox rows of the session before and after
(reminders cancelled, moved, handed to the new person), the audit row, the announcements written to the
outbox, and for a refusal that nothing changed at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sched_helpers import SHANGHAI
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.delivery.rows import CANCELLED, EXPIRED, PENDING, T
from bot.demo import seed_demo
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.tables import Assignment, AuditLog, Duty, ExamSession, Role, Room, SessionKind, Staff
from scheduler.changes import (
    ChangeRefused,
    Planning,
    cancel_session,
    move_session,
    swap_staff,
)
from scheduler.changes_find import find_room, find_session, find_staff
from scheduler.changes_text import take_day, take_times
from scheduler.planner import plan_sessions

PLAN = Planning(tz=SHANGHAI)
TODAY = date(2026, 12, 5)


@pytest.fixture
async def db(db_url: str, clock: ManualClock) -> AsyncIterator[Database]:
    """The demo day (first session 08:08 Shanghai) planned at the clock's time, plus a free invigilator 新人."""
    database = Database(db_url)
    await upgrade(database)
    await seed_demo(database, clock.now(), SHANGHAI)
    async with database.session() as s:
        s.add(Staff(name="新人", roles=Role.INVIGILATOR.value, wecom_userid="xinren"))
    yield database
    await database.dispose()


async def staff_id(db: Database, name: str) -> int:
    async with db.read() as s:
        st = (await s.exec(select(Staff).where(col(Staff.name) == name))).one()
        assert st.id is not None
        return st.id


async def outbox(db: Database, session_id: int) -> list[dict[str, Any]]:
    """Every outbox row of a session (reminders and announcements)."""
    async with db.read() as s:
        conn = await s.connection()
        rows = await conn.execute(sa_select(T).where(T.c.session_id == session_id).order_by(T.c.id))
        return [dict(r) for r in rows.mappings()]


async def audit(db: Database, action: str) -> list[AuditLog]:
    async with db.read() as s:
        return list((await s.exec(select(AuditLog).where(col(AuditLog.action) == action))).all())


async def session_named(db: Database, ref: str, day: date | None = None) -> ExamSession:
    async with db.read() as s:
        return await find_session(s, ref, day=day, today=TODAY, tz=SHANGHAI)


def reminders_of(rows: list[dict[str, Any]], who: str, status: str) -> list[dict[str, Any]]:
    """Reminder rows (keys r:…) addressed to ``who`` (a target key such as staff:3) in ``status``."""
    return [r for r in rows if r["key"].startswith("r:") and r["target_key"] == who and r["status"] == status]


async def test_swap_hands_the_remaining_reminders_to_the_new_person(db: Database, clock: ManualClock) -> None:
    """Swapping the chief of 第1考场: the old chief's pending reminders are cancelled, the new one gets the same steps,
    the assignment row changes, one audit row says before/after, and both people and the room's group are told."""
    sess = await session_named(db, "第1场")
    assert sess.id is not None
    old, new = await staff_id(db, "王芳"), await staff_id(db, "新人")
    before = await outbox(db, sess.id)
    old_pending = reminders_of(before, f"staff:{old}", PENDING)
    assert old_pending, "the demo plans personal reminders for the chief"
    assert not reminders_of(before, f"staff:{new}", PENDING)

    async with db.session() as s:
        room = await find_room(s, sess, "1", SHANGHAI)
        change = await swap_staff(
            s,
            sess,
            room,
            await find_staff(s, "王芳"),
            await find_staff(s, "新人"),
            actor="staff:11",
            now=clock.now(),
            planning=PLAN,
            reason="身体不适",
        )

    after = await outbox(db, sess.id)
    assert not reminders_of(after, f"staff:{old}", PENDING)
    cancelled = {r["id"] for r in reminders_of(after, f"staff:{old}", CANCELLED)}
    assert cancelled == {r["id"] for r in old_pending}
    handed = reminders_of(after, f"staff:{new}", PENDING)
    assert sorted((r["step"], r["due_at"], r["kind"]) for r in handed) == sorted(
        (r["step"], r["due_at"], r["kind"]) for r in old_pending
    )
    assert change.plan.cancelled == len(old_pending) and change.plan.created == len(handed)
    async with db.read() as s:
        duties = {
            a.staff_id: a.duty for a in (await s.exec(select(Assignment).where(col(Assignment.room_id) == room.id)))
        }
    assert duties.get(new) is Duty.CHIEF and old not in duties
    [row] = await audit(db, "swap")
    assert row.actor == "staff:11" and row.entity == "assignment"
    assert row.detail["before"] == {"staff_id": old, "name": "王芳"}
    assert row.detail["after"] == {"staff_id": new, "name": "新人"}
    assert row.detail["reason"] == "身体不适" and row.detail["room"] == "第1考场"
    text = (
        "【场次调整】12月5日 演示第1场 电工 四级/中级工 理论（08:08–09:38）第1考场 主监考由 王芳 改为 新人。"
        "原因：身体不适。此后的提醒发给 新人。"
    )
    notices = {r["target_key"]: r for r in after if r["key"].startswith("change:")}
    assert set(notices) == {f"staff:{old}", f"staff:{new}", "group:console:第1考场"}
    assert all(r["text"] == text and r["status"] == PENDING for r in notices.values())
    assert change.keys == [r["key"] for r in after if r["key"].startswith("change:")]
    assert change.people == ["王芳", "新人"] and change.groups == ["第1考场"]


async def test_a_swap_after_an_outage_leaves_unsent_overdue_reminders_expired(db: Database, clock: ManualClock) -> None:
    """Session 22: with nothing sent (the service down), a swap 40 minutes into the session marked the overdue rows
    “日程已变更，提醒取消”. They expired unsent before the change: they are settled as the sender would (expired,
    “超过宽限时间，未发送”), so that they were not delivered stays visible; the later ones are handed over."""
    sess = await session_named(db, "第1场")
    assert sess.id is not None
    old = await staff_id(db, "王芳")
    clock.advance(sess.starts_at + timedelta(minutes=40) - clock.now())
    overdue = [
        r
        for r in reminders_of(await outbox(db, sess.id), f"staff:{old}", PENDING)
        if r["expires_at"] is not None and r["expires_at"] <= clock.now()
    ]
    assert overdue, "the demo has reminders of the chief that expire within the first 40 minutes"
    async with db.session() as s:
        room = await find_room(s, sess, "1", SHANGHAI)
        change = await swap_staff(
            s, sess, room, await find_staff(s, "王芳"), await find_staff(s, "新人"),
            actor="staff:11", now=clock.now(), planning=PLAN,
        )  # fmt: skip
    rows = {r["id"]: r for r in await outbox(db, sess.id)}
    assert all(rows[r["id"]]["status"] == EXPIRED for r in overdue)
    assert {rows[r["id"]]["last_error"] for r in overdue} == {"超过宽限时间，未发送"}
    # The office is told which reminders were missed, as the sender tells it.
    async with db.read() as s:
        conn = await s.connection()
        notices = (await conn.execute(sa_select(T.c.text).where(T.c.kind == "system"))).scalars().all()
    missed = [r for r in rows.values() if r["kind"] == "reminder" and r["status"] == EXPIRED]
    assert notices and all(t.startswith(f"以下 {len(missed)} 条考务提醒错过了发送时间") for t in notices)
    # The plan counts what it cancelled, not the rows it settled as expired.
    assert change.plan.cancelled == sum(r["status"] == CANCELLED and r["key"].startswith("r:") for r in rows.values())


async def test_cancel_stops_every_pending_reminder_and_tells_everyone(db: Database, clock: ManualClock) -> None:
    """A cancelled session keeps its rows but none stays pending; its five staff and two room groups are told."""
    sess = await session_named(db, "演示第1场")
    assert sess.id is not None
    assert any(r["status"] == PENDING for r in await outbox(db, sess.id))
    async with db.session() as s:
        own = await s.get(ExamSession, sess.id)
        assert own is not None
        change = await cancel_session(s, own, reason="考点停电", actor="cli", now=clock.now(), planning=PLAN)
    rows = await outbox(db, sess.id)
    assert not [r for r in rows if r["key"].startswith("r:") and r["status"] == PENDING]
    assert change.plan.cancelled > 0
    async with db.read() as s:
        stored = await s.get(ExamSession, sess.id)
        assert stored is not None and stored.cancelled_at == clock.now()
    [row] = await audit(db, "cancel")
    assert (row.actor, row.entity, row.entity_id) == ("cli", "exam_session", str(sess.id))
    assert row.detail["reason"] == "考点停电" and row.detail["after"] == {"cancelled": True}
    notices = [r for r in rows if r["key"].startswith("change:")]
    people = [await staff_id(db, n) for n in ("王芳", "李强", "孙丽", "赵敏", "陈刚")]
    assert {r["target_key"] for r in notices} == {
        *(f"staff:{i}" for i in people),
        "group:console:第1考场",
        "group:console:第2考场",
    }
    assert notices[0]["text"] == (
        "【场次调整】12月5日 演示第1场 电工 四级/中级工 理论 已取消（原定 08:08–09:38）。"
        "原因：考点停电。该场次的提醒不再发送。"
    )
    with pytest.raises(ChangeRefused, match="已经取消"):
        async with db.session() as s:
            again = await s.get(ExamSession, sess.id)
            assert again is not None
            await cancel_session(s, again, reason="x", actor="cli", now=clock.now(), planning=PLAN)


async def test_move_moves_pending_reminders_with_the_session(db: Database, clock: ManualClock) -> None:
    """Moving 演示第3场 from 08:45 to 10:00: every pending reminder keeps its step and moves by the same 75 minutes."""
    sess = await session_named(db, "第3场")
    assert sess.id is not None
    pending = {r["key"]: r["due_at"] for r in await outbox(db, sess.id) if r["status"] == PENDING}
    new_start = datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)
    async with db.session() as s:
        own = await s.get(ExamSession, sess.id)
        assert own is not None
        change = await move_session(
            s, own, starts_at=new_start, ends_at=new_start + timedelta(hours=2), actor="staff:11",
            now=clock.now(), planning=PLAN, reason="机房故障",
        )  # fmt: skip
    after = {r["key"]: r for r in await outbox(db, sess.id)}
    for key, due in pending.items():
        assert after[key]["status"] == PENDING
        assert after[key]["due_at"] - due == timedelta(minutes=75), key
    assert change.plan.moved == len(pending)
    [row] = await audit(db, "move")
    assert row.detail["before"]["starts_at"] == sess.starts_at.isoformat()
    assert row.detail["after"]["starts_at"] == new_start.isoformat()
    text = (
        "【场次调整】12月5日 演示第3场 计算机程序设计员 三级/高级工 上机 改为 10:00–12:00（原 08:45–10:45）。"
        "原因：机房故障。提醒按新时间发送。"
    )
    notices = [r for r in after.values() if r["key"].startswith("change:")]
    assert len(notices) == 3 and all(r["text"] == text for r in notices)  # 刘洋, 黄磊, the 第4考场 group


async def test_move_to_another_day_changes_the_day(db: Database, clock: ManualClock) -> None:
    """A session moved to the next day is found under that day, and its reminders fall due then."""
    sess = await session_named(db, "第3场")
    assert sess.id is not None
    start = datetime(2026, 12, 6, 9, 0, tzinfo=SHANGHAI)
    async with db.session() as s:
        own = await s.get(ExamSession, sess.id)
        assert own is not None
        change = await move_session(
            s, own, starts_at=start, ends_at=start + timedelta(hours=2), actor="cli", now=clock.now(), planning=PLAN
        )
    assert "改为 12月6日 09:00–11:00（原 12月5日 08:45–10:45）" in change.announcement
    moved = await session_named(db, "第3场", date(2026, 12, 6))
    assert moved.id == sess.id and moved.day == date(2026, 12, 6)
    due = [r["due_at"] for r in await outbox(db, sess.id) if r["key"].startswith("r:") and r["status"] == PENDING]
    assert due and min(due).astimezone(SHANGHAI).date() == date(2026, 12, 6)


async def _unchanged(db: Database, session_id: int, before: list[dict[str, Any]]) -> None:
    assert await outbox(db, session_id) == before
    async with db.read() as s:
        assert not [a for a in (await s.exec(select(AuditLog))).all() if a.action in ("cancel", "move", "swap")]


async def test_refusals_change_nothing(db: Database, clock: ManualClock) -> None:
    """Over, clashing, unknown and ambiguous: each refusal says why in Chinese and leaves every row as it was."""
    first = await session_named(db, "第1场")
    assert first.id is not None
    before = await outbox(db, first.id)
    # Another session coded 第1场, 10:00-11:00, with 王芳 on duty: moving 演示第1场 onto it clashes, and a bare “1”
    # is ambiguous. 刘洋 is busy in 演示第3场 during 演示第1场.
    async with db.session() as s:
        other = ExamSession(
            code="第1场", occupation="焊工", kind=SessionKind.THEORY, day=TODAY,
            starts_at=datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI),
            ends_at=datetime(2026, 12, 5, 11, 0, tzinfo=SHANGHAI),
        )  # fmt: skip
        s.add(other)
        await s.flush()
        room = Room(session_id=other.id or 0, room_no="第9考场")
        s.add(room)
        await s.flush()
        s.add(Assignment(room_id=room.id or 0, staff_id=await staff_id(db, "王芳"), duty=Duty.CHIEF))

    async def attempt(op: str, **kw: Any) -> str:
        with pytest.raises(ChangeRefused) as info:
            async with db.session() as s:
                sess = await s.get(ExamSession, first.id)
                assert sess is not None
                now = kw.pop("now", clock.now())
                if op == "move":
                    await move_session(s, sess, actor="cli", now=now, planning=PLAN, **kw)
                elif op == "swap":
                    room = await find_room(s, sess, "第1考场", SHANGHAI)
                    await swap_staff(
                        s, sess, room, await find_staff(s, kw["old"]), await find_staff(s, kw["new"]),
                        actor="cli", now=now, planning=PLAN,
                    )  # fmt: skip
                else:
                    await cancel_session(s, sess, reason="x", actor="cli", now=now, planning=PLAN)
        return info.value.message

    at = datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)
    assert "王芳 在 12月5日 第1场 焊工 理论（10:00–11:00）第9考场 已有安排" in await attempt(
        "move", starts_at=at, ends_at=at + timedelta(minutes=90)
    )
    assert "刘洋 在 12月5日 演示第3场" in await attempt("swap", old="李强", new="刘洋")
    assert "已于 09:38 结束，不能再取消" in await attempt("cancel", now=clock.now() + timedelta(hours=3))
    assert "结束时间要晚于开始时间" in await attempt("move", starts_at=at, ends_at=at)
    assert "新人 不在" in await attempt("swap", old="新人", new="李强")
    assert "人员名单中没有“张三”" in await attempt("swap", old="张三", new="李强")
    await _unchanged(db, first.id, before)
    async with db.read() as s:
        with pytest.raises(ChangeRefused, match="没有找到场次“第7场”"):
            await find_session(s, "第7场", day=None, today=TODAY, tz=SHANGHAI)
        with pytest.raises(ChangeRefused, match="“1”有 2 个场次"):
            await find_session(s, "1", day=None, today=TODAY, tz=SHANGHAI)
        assert (await find_session(s, "第1场", day=None, today=TODAY, tz=SHANGHAI)).code == "第1场"  # exact first
        assert (await find_session(s, "演示第1场", day=None, today=TODAY, tz=SHANGHAI)).id == first.id


@pytest.mark.parametrize(
    ("typed", "day", "start", "end", "rest"),
    [
        ("10:00-12:00", None, "10:00", "12:00", ""),
        ("10：00～12：00 原因 停电", None, "10:00", "12:00", "原因 停电"),
        ("１２月６日 10点-12点", date(2026, 12, 6), "10:00", "12:00", ""),
        ("明天 10点半", date(2026, 12, 6), "10:30", None, ""),
        ("2026-12-07 下午2点到4点", date(2026, 12, 7), "14:00", "16:00", ""),
        ("12月5日 9:30–11:00", date(2026, 12, 5), "09:30", "11:00", ""),
    ],
)
def test_phone_typed_days_and_times(typed: str, day: date | None, start: str, end: str | None, rest: str) -> None:
    """Full-width digits and colons, 10点 / 10点半 / 下午2点, 12月6日, 明天 and ranges with -, ～, 到 or – all read."""
    found, text = take_day(typed, TODAY)
    assert found == day
    times = take_times(text, found or TODAY, SHANGHAI)
    assert times is not None
    assert f"{times.start:%H:%M}" == start
    assert (f"{times.end:%H:%M}" if times.end else None) == end
    assert times.rest == rest


def test_cli_moves_swaps_and_cancels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``exambot session move|cancel`` and ``exambot swap`` print what changed; ``--dry-run`` changes nothing;
    a refusal exits 1 and bad input 2."""
    from bot.cli import main

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("EXAMBOT_DATABASE_URL", url)
    monkeypatch.setenv("EXAMBOT_CLOCK_ORIGIN", "2026-12-05T08:00:00+08:00")

    async def seed() -> None:
        database = Database(url)
        await upgrade(database)
        await seed_demo(database, datetime(2026, 12, 5, 8, 0, tzinfo=SHANGHAI), SHANGHAI)
        await database.dispose()

    async def state() -> tuple[list[str], datetime, str]:
        database = Database(url)
        async with database.read() as s:
            actions = [f"{a.actor}:{a.action}" for a in (await s.exec(select(AuditLog).order_by(col(AuditLog.id))))]
            third = (await s.exec(select(ExamSession).where(col(ExamSession.code) == "演示第3场"))).one()
            rows = await (await s.connection()).execute(sa_select(T.c.text).where(T.c.key.like("change:%")))
            texts = "\n".join(t for (t,) in rows.all())
        await database.dispose()
        return [a for a in actions if not a.startswith("demo")], third.starts_at.astimezone(SHANGHAI), texts

    asyncio.run(seed())
    assert main(["session", "move", "第3场", "10:00-12:00", "--reason", "机房故障", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("试运行（没有写入数据库，也没有发送通知），将执行：\n")
    assert "改为 10:00–12:00（原 08:45–10:45）" in out and "已通知：刘洋、黄磊（私聊）；第4考场群。" in out
    assert asyncio.run(state()) == ([], datetime(2026, 12, 5, 8, 45, tzinfo=SHANGHAI), "")

    assert main(["session", "move", "第3场", "10：00－12：00", "--reason", "机房故障"]) == 0
    assert "通知已放入发送队列" in capsys.readouterr().out
    assert main(["swap", "第1场", "李强", "黄磊", "--room", "1"]) == 0  # 黄磊 is free once 第3场 moved
    assert "已把 12月5日 演示第1场 电工 四级/中级工 理论 第1考场 的副监考由 李强 换为 黄磊。" in capsys.readouterr().out
    assert main(["session", "cancel", "第2场", "--reason", "考评员不足"]) == 0
    assert "已取消 12月5日 演示第2场" in capsys.readouterr().out
    actions, start, texts = asyncio.run(state())
    assert actions == ["cli:move", "cli:swap", "cli:cancel"]
    assert start == datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)
    assert "原因：机房故障。" in texts and "原因：考评员不足。" in texts

    assert main(["session", "cancel", "第7场", "--reason", "x"]) == 1
    assert capsys.readouterr().out.startswith("未执行：没有找到场次“第7场”")
    assert main(["session", "move", "第1场", "10:00", "--day", "12月40日"]) == 2
    assert "日期“12月40日”不存在" in capsys.readouterr().out


async def test_deliveries_follow_the_changes(day: Any) -> None:
    """Sending the day after a swap and a cancel: the new chief is reminded and the old one only hears of the swap;
    the cancelled session's people and group get the announcement and no reminder at all."""
    db, now = day.db, day.clock.now()
    async with db.session() as s:
        s.add(Staff(name="新人", roles=Role.INVIGILATOR.value))
    async with db.session() as s:
        first = await find_session(s, "第1场", day=None, today=TODAY, tz=SHANGHAI)
        room = await find_room(s, first, "1", SHANGHAI)
        old, new = await find_staff(s, "王芳"), await find_staff(s, "新人")
        await swap_staff(s, first, room, old, new, actor="cli", now=now, planning=PLAN)
    async with db.session() as s:
        second = await find_session(s, "第2场", day=None, today=TODAY, tz=SHANGHAI)
        await cancel_session(s, second, reason="考评员不足", actor="cli", now=now, planning=PLAN)
    await day.run_until(now + timedelta(hours=3))
    got: dict[str, list[str]] = {}
    for (addr, text), _n in day.ledger.pieces().items():
        got.setdefault(addr, []).append(text)
    old_texts, new_texts = got[f"person:console:{old.id}"], got[f"person:console:{new.id}"]
    assert [t for t in old_texts if "场次调整" not in t] == [], old_texts
    assert any("场次调整" in t for t in new_texts) and any("场次调整" not in t for t in new_texts), new_texts
    third_group = got["group:console:第3考场"]
    assert len(third_group) == 1 and third_group[0].startswith(
        "【场次调整】12月5日 演示第2场 电工 四级/中级工 实操 已取消"
    )
    async with db.read() as s:
        evaluator = await find_staff(s, "吴婷")
    assert [t[:6] for t in got[f"person:console:{evaluator.id}"]] == ["【场次调整】"]


async def test_a_robot_keeps_its_platform_when_the_chat_changes_the_session(db: Database, clock: ManualClock) -> None:
    """A room reached by a robot webhook (platform named by the import): a change made without the adapters (the
    chat) keeps that platform on the moved reminders and on the announcement."""
    hook = "https://oapi.dingtalk.com/robot/send?access_token=t"
    sess = await session_named(db, "第3场")
    assert sess.id is not None
    async with db.session() as s:
        room = await find_room(s, sess, "4", SHANGHAI)
        room.group_chat, room.robot_webhook = None, hook
        s.add(room)
        await s.flush()
        await plan_sessions(s, [sess.id], clock.now(), tz=SHANGHAI, webhook_channel=lambda _url: "dingtalk")
    start = datetime(2026, 12, 5, 11, 0, tzinfo=SHANGHAI)
    async with db.session() as s:
        await move_session(
            s,
            sess,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            actor="staff:11",
            now=clock.now(),
            planning=PLAN,
        )
    robot = [r for r in await outbox(db, sess.id) if r["target"].get("webhook") == hook and r["status"] == PENDING]
    assert any(r["key"].startswith("change:") for r in robot) and any(r["key"].startswith("r:") for r in robot)
    assert {r["target"]["channel"] for r in robot} == {"dingtalk"}

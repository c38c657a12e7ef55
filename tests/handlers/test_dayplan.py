"""/场次 and /换人 through the dispatcher: the office cancels, moves and swaps; everyone affected hears of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.delivery.rows import PENDING, T
from bot.settings import Settings
from bot.store.tables import AuditLog, ConsoleMessage, ExamSession, Role, SessionKind, Staff
from tests.conftest import demo_app
from tests.handlers.conftest import Day


async def group_messages(day: Day, chat: str) -> list[str]:
    """What the bot posted in a console group chat."""
    async with day.services.db.read() as s:
        rows = await s.exec(
            select(ConsoleMessage.text).where(col(ConsoleMessage.chat) == chat, col(ConsoleMessage.direction) == "out")
        )
        return list(rows.all())


async def pending_reminders(day: Day, code: str, *, useful: bool = False) -> dict[str, list[str]]:
    """The session's pending reminder rows by target key (step ids); with ``useful`` only those not yet expired."""
    async with day.services.db.read() as s:
        sess = (await s.exec(select(ExamSession).where(col(ExamSession.code) == code))).one()
        conn = await s.connection()
        q = sa_select(T.c.target_key, T.c.step).where(
            T.c.session_id == sess.id, T.c.status == PENDING, T.c.key.like("r:%")
        )
        if useful:
            q = q.where(or_(T.c.expires_at.is_(None), T.c.expires_at >= day.clock.now()))
        rows = await conn.execute(q)
    out: dict[str, list[str]] = {}
    for target, step in rows.all():
        out.setdefault(target, []).append(step)
    return out


class Timers:
    """Records what a change arms (the reminder service's ``wake_at_all``)."""

    def __init__(self, armed: list[datetime]) -> None:
        self.armed = armed

    def wake_at_all(self, times: list[datetime]) -> None:
        self.armed.extend(times)


async def add_person(day: Day, name: str) -> int:
    async with day.services.db.session() as s:
        st = Staff(name=name, roles=Role.INVIGILATOR.value)
        s.add(st)
        await s.flush()
        assert st.id is not None
        return st.id


async def test_cancel_from_chat(day: Day) -> None:
    """/场次 取消: the reply says what was done and who was told; staff and groups get the announcement."""
    reply = await day.say("钱进", "/场次 取消 第1场 原因：考点停电")
    assert reply.startswith("已取消 12月5日 演示第1场 电工 四级/中级工 理论（原定 08:08–09:38）。")
    assert "已通知：王芳、李强、孙丽、赵敏、陈刚（私聊）；第1考场群、第2考场群。" in reply
    text = "【场次调整】12月5日 演示第1场 电工 四级/中级工 理论 已取消（原定 08:08–09:38）。原因：考点停电。"
    for name in ("王芳", "赵敏", "孙丽"):
        assert any(m.startswith(text) for m in await day.inbox(name)), name
    assert any(m.startswith(text) for m in await group_messages(day, "console:第2考场"))
    assert await pending_reminders(day, "演示第1场") == {}
    assert not any("场次调整" in m for m in await day.inbox("刘洋"))  # not in that session
    assert "已经取消" in await day.say("钱进", "/场次 取消 第1场 再来一次")


async def test_move_with_phone_typing(day: Day) -> None:
    """Full-width slash, digits, spaces and colons, 10点: the session moves and its reminders follow."""
    before = await pending_reminders(day, "演示第3场")
    armed: list[datetime] = []
    day.services.reminders = Timers(armed)  # as while the reminder service runs
    reply = await day.say("钱进", "／场次　改时间　第３场　１０：００－１２：００　机房故障")
    async with day.services.db.read() as s:
        due = (
            await (await s.connection()).execute(
                sa_select(T.c.due_at).where(T.c.key.like("r:%"), T.c.status == PENDING)
            )
        ).all()
    assert armed and set(armed) <= {d for (d,) in due}  # the moved reminders' new times are armed at once
    assert min(armed) >= datetime(2026, 12, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")) - timedelta(hours=1)
    assert "已把 12月5日 演示第3场 计算机程序设计员 三级/高级工 上机 改为 10:00–12:00（原 08:45–10:45）。" in reply
    assert "已通知：刘洋、黄磊（私聊）；第4考场群。" in reply
    assert "改期" in reply
    inbox = await day.inbox("刘洋")
    assert any("改为 10:00–12:00（原 08:45–10:45）。原因：机房故障。" in m for m in inbox)
    assert await pending_reminders(day, "演示第3场") == before  # the same steps for the same people, later
    reply = await day.say("钱进", "/场次 改期 12月5日 第3场 12月6日 9点")  # only a start: the length stays
    assert "改为 12月6日 09:00–11:00（原 12月5日 10:00–12:00）" in reply
    async with day.services.db.read() as s:
        sess = (await s.exec(select(ExamSession).where(col(ExamSession.code) == "演示第3场"))).one()
        assert f"{sess.day}" == "2026-12-06"


async def test_swap_hands_reminders_over(day: Day) -> None:
    """/换人: the new chief gets the chief's remaining reminders, the old chief's stop; both and the group are told."""
    new = await add_person(day, "新人")
    old = await day.staff_id("王芳")
    before = await pending_reminders(day, "演示第1场", useful=True)
    assert before.get(f"staff:{old}")
    reply = await day.say("钱进", "/换人 第1场 第1考场 王芳 → 新人 身体不适")
    assert reply.startswith("已把 12月5日 演示第1场 电工 四级/中级工 理论 第1考场 的主监考由 王芳 换为 新人。")
    assert "已通知：王芳、新人（私聊）；第1考场群。" in reply
    assert f"staff:{old}" not in await pending_reminders(day, "演示第1场")  # expired ones too: none is left
    after = await pending_reminders(day, "演示第1场", useful=True)
    assert sorted(after[f"staff:{new}"]) == sorted(before[f"staff:{old}"])  # what was still to come
    text = "主监考由 王芳 改为 新人。原因：身体不适。此后的提醒发给 新人。"
    assert any(text in m for m in await day.inbox("王芳"))
    assert any(text in m for m in await day.inbox("新人"))
    assert any(text in m for m in await group_messages(day, "console:第1考场"))
    async with day.services.db.read() as s:
        [row] = (await s.exec(select(AuditLog).where(col(AuditLog.action) == "swap"))).all()
    assert row.actor == f"staff:{await day.staff_id('钱进')}"
    busy = await day.say("钱进", "/换人 第1场 新人 赵敏")  # no room written: 新人's own room, where 赵敏 cannot go
    assert busy.startswith("赵敏 在 12月5日 演示第1场 电工 四级/中级工 理论（08:08–09:38）第2考场 已有安排，时间冲突。")
    assert "演示第1场 电工理论 第1考场（实训楼302）主监考" in await day.say("新人", "/我")


async def test_swap_by_room_without_the_session(day: Day) -> None:
    """The office names the room and the people (/换人 第4考场 黄磊 换成 陈刚): the session is the one where 黄磊 is
    on duty in 第4考场 that day; a person not in that room is told so, and nothing changes."""
    reply = await day.say("钱进", "/换人 第4考场 黄磊 换成 新来的")
    assert "人员名单中没有“新来的”" in reply, reply
    await add_person(day, "新来的")
    reply = await day.say("钱进", "/换人 第4考场 黄磊 换成 新来的 临时有事")
    assert reply.startswith(
        "已把 12月5日 演示第3场 计算机程序设计员 三级/高级工 上机 第4考场 的副监考由 黄磊 换为 新来的。"
    ), reply
    reply = await day.say("钱进", "/换人 第4考场 王芳 李强")
    assert "12月5日王芳 不在第4考场的名单中，请核对姓名，或写明场次（如 第1场）。" in reply, reply


async def test_swap_typed_without_spaces(day: Day) -> None:
    """Session 22: “/换人 第4考场黄磊换成新来的”, as a phone types it (the room glued to the name), asked for the
    names again."""
    await add_person(day, "新来的")
    reply = await day.say("钱进", "第4考场黄磊换成新来的")  # without the command: nothing changes, the command is given
    assert reply == "这条没有执行。要换人，请发：/换人 第4考场黄磊换成新来的", reply
    reply = await day.say("钱进", "/换人 第4考场黄磊换成新来的")
    assert reply.startswith("已把 12月5日 演示第3场") and "第4考场 的副监考由 黄磊 换为 新来的。" in reply, reply


@pytest.mark.parametrize(
    ("who", "text", "expected"),
    [
        ("王芳", "/场次 取消 第1场 停电", "您没有使用 /场次 的权限（仅限考务办公室）。"),
        ("孙丽", "/换人 第1场 1 王芳 李强", "您没有使用 /换人 的权限（仅限考务办公室）。"),
        ("钱进", "/场次 第1场", "请写要做什么：取消 或 改时间。"),
        ("钱进", "/场次 取消 第1场", "取消场次请写明原因。"),
        ("钱进", "/场次 改时间 第1场 明天", "请写新的开始和结束时间"),
        ("钱进", "/场次 改时间 第1场 12:00-11:00", "结束时间要晚于开始时间。"),
        ("钱进", "/场次 取消 第7场 停电", "没有找到场次“第7场”"),
        ("钱进", "/场次 取消 2月30日 第1场 停电", "日期“2月30日”不存在"),
        ("钱进", "/换人 第1场 1 张三 李四", "人员名单中没有“张三”"),
        ("钱进", "/换人 第1场 1 王芳 刘洋", "刘洋 在 12月5日 演示第3场"),
        ("钱进", "/换人 第1场 王芳", "请写原人员和新人员的姓名。"),
    ],
)
async def test_refusals(day: Day, who: str, text: str, expected: str) -> None:
    """Others than the office are told who may; the office is told what is wrong, and nothing changes."""
    before = await pending_reminders(day, "演示第1场")
    assert expected in await day.say(who, text)
    assert await pending_reminders(day, "演示第1场") == before
    assert not [m for m in await day.inbox("王芳") if "场次调整" in m]


async def test_ambiguous_session_asks_which(day: Day) -> None:
    """Two sessions numbered 1 the same day: the reply lists both and asks for the exact one; exact codes work."""
    start = datetime(2026, 12, 5, 14, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    async with day.services.db.session() as s:
        s.add(
            ExamSession(
                code="A第1场", occupation="焊工", kind=SessionKind.THEORY, day=start.date(), starts_at=start,
                ends_at=start + timedelta(hours=1),
            )
        )  # fmt: skip
    reply = await day.say("钱进", "/场次 取消 1 停电")
    assert "“1”有 2 个场次" in reply and "演示第1场" in reply and "A第1场" in reply and "14:00–15:00" in reply
    assert "已取消 12月5日 A第1场 焊工 理论" in await day.say("钱进", "/场次取消A第1场 停电")


async def test_help_lists_the_commands_for_the_office_only(day: Day) -> None:
    """/帮助 shows /场次 and /换人 to the office, with their usage under /帮助 场次; invigilators do not see them."""
    office = await day.say("钱进", "/帮助")
    assert "/场次　取消场次或调整场次时间" in office and "/换人　更换某考场的监考或考评人员" in office
    assert "/场次 改时间 第1场 10:00-12:00" in await day.say("钱进", "/帮助 场次")
    assert "/场次" not in await day.say("王芳", "/帮助")


async def test_chat_changes_on_both_backends(
    db_url: str, make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """Cancel, move and swap from the chat behave the same on SQLite and PostgreSQL."""
    async with demo_app(make_settings(database_url=db_url), clock) as chat:
        clock.advance(timedelta(minutes=5))
        assert "已把" in (await chat.say("钱进", "/场次 改时间 第3场 10:00-12:00") or "")
        assert "换为 黄磊" in (await chat.say("钱进", "/换人 第1场 1 李强 黄磊") or "")
        assert "已取消" in (await chat.say("钱进", "/场次 取消 第2场 考评员不足") or "")
        async with chat.services.db.read() as s:
            actions = [a.action for a in (await s.exec(select(AuditLog).order_by(col(AuditLog.id)))).all()]
        assert actions[-3:] == ["move", "swap", "cancel"]


async def test_verb_after_the_session_and_cancelled_duty_in_me(day: Day) -> None:
    """“/场次 第3场 改到 10点到12点” moves (the verb after the session, as people say it); after “/场次 第2场 取消
    考评员不足”, 周杰's /我 still lists the session, marked 已取消."""
    reply = await day.say("钱进", "/场次 第3场 改到 10点到12点")
    assert reply.startswith("已把 12月5日 演示第3场") and "改为 10:00–12:00" in reply, reply
    reply = await day.say("钱进", "/场次 第2场 取消 考评员不足")
    assert reply.startswith("已取消 12月5日 演示第2场"), reply
    me = await day.say("周杰", "/我")
    assert "演示第2场" in me and me.rstrip().endswith("考评组长（已取消）"), me
    assert "已取消" not in await day.say("王芳", "/我")


async def test_shift_by_minutes_as_the_office_says_it(day: Day) -> None:
    """“推迟半小时”, “提前 15 分钟”, “延后到9点15” move the session (its length kept) and notify as 改时间 does."""
    reply = await day.say("钱进", "/场次 第3场 推迟半小时 机房网络故障")
    assert "改为 09:15–11:15（原 08:45–10:45）" in reply and "已通知" in reply, reply
    assert "改为 09:00–11:00（原 09:15–11:15）" in await day.say("钱进", "/场次 第3场 提前15分钟")
    assert "改为 09:15–11:15（原 09:00–11:00）" in await day.say("钱进", "/场次 第3场 延后到9点15")
    assert any("原因：机房网络故障" in m for m in await day.inbox("刘洋"))


async def test_an_exam_under_way_is_extended_not_restarted(day: Day) -> None:
    """At 08:40 演示第1场 (08:08–09:38) is under way: 延后/推迟 10 分钟 and 延长考试10分钟 move only its end (no 开考
    reminder is planned again for 08:18); 提前 or a new start time is refused, saying how to extend; a session not
    started yet may be 延长 too (its start kept)."""
    reply = await day.say("钱进", "/场次 第1场 延后10分钟 停电")
    assert "改为 08:08–09:48（原 08:08–09:38）" in reply, reply
    assert "改为 08:08–09:58（原 08:08–09:48）" in await day.say("钱进", "/场次 第1场 延长考试10分钟")
    for text in ("/场次 第1场 提前10分钟", "/场次 第1场 改到 9点"):
        reply = await day.say("钱进", text)
        assert reply.startswith("该场次 08:08 已开考，开始时间不能再改；延长考试请写 延长10分钟"), reply
    assert "改为 08:08–10:00（原 08:08–09:58）" in await day.say("钱进", "/场次 第1场 改时间 08:08-10:00")
    assert "改为 08:45–11:15（原 08:45–10:45）" in await day.say("钱进", "/场次 第3场 延长半小时")

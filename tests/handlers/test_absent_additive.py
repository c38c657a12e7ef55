"""/缺考 adds up: a second report adds names, 删 removes one, 无 over recorded names asks first; every reply shows
the room's whole list, /历史 says 追加 / 删除, and the papers check reads the whole list (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.store.papers import reconcile
from bot.store.reports import AbsentPayload, reports_in_force
from bot.store.tables import Report, Room
from tests.conftest import demo_app
from tests.handlers.conftest import ROOM1, Day


@pytest.fixture
async def bday(db_url: str, make_settings: Any, clock: ManualClock) -> AsyncIterator[Day]:
    """The demo day at 08:40 on SQLite and on PostgreSQL."""
    async with demo_app(make_settings(database_url=db_url), clock) as chat:
        clock.advance(timedelta(minutes=40))
        yield Day(chat, clock)


async def in_force(day: Day, room_no: str = "第1考场") -> AbsentPayload:
    """The room's absent report in force, as every reader sees it."""
    async with day.services.db.session() as s:
        room = (await s.exec(select(Room).where(col(Room.room_no) == room_no))).one()
        assert room.id is not None
        (row,) = await reports_in_force(s, ["absent"], [room.id])
        return AbsentPayload.from_payload(row.payload)


async def test_second_absent_report_adds(bday: Day) -> None:
    """/缺考 3 T2 then /缺考 3 T1 leaves both absent; the reply says 追加 and lists the whole list."""
    await bday.say("王芳", "/缺考 1 2026000002")
    reply = await bday.say("李强", "/缺考 1 2026000001")
    first, second = await bday.reports("absent")
    assert second.supersedes_id == first.id
    assert f"已记录第1考场缺考（编号 {second.id}）：追加 2026000001" in reply
    assert "第1考场当前：应考 30，实考 28，缺考 2：2026000002、2026000001" in reply
    assert "替代之前的编号" not in reply
    p = await in_force(bday)
    assert (p.tickets, p.count, p.present) == (("2026000002", "2026000001"), 2, 28)
    assert (p.op, p.added) == ("add", ("2026000001",))


async def test_adding_one_already_absent_changes_nothing(bday: Day) -> None:
    """Naming an absentee already on the list says so and records nothing."""
    await bday.say("王芳", "/缺考 2026000003 2026000004")
    reply = await bday.say("李强", "/缺考 2026000003")
    assert "准考证号 2026000003 已记录为缺考，未作更改。" in reply
    assert "应考 30，实考 28，缺考 2：2026000003、2026000004" in reply
    assert len(await bday.reports("absent")) == 1


async def test_adding_some_already_absent_adds_the_others(day: Day) -> None:
    """Names partly on the list: the new ones are added, the others named as already there."""
    await day.say("王芳", "/缺考 2026000003")
    reply = await day.say("王芳", "/缺考 2026000003 2026000004")
    assert "追加 2026000004（2026000003 已在名单中）" in reply
    assert "缺考 2：2026000003、2026000004" in reply


@pytest.mark.parametrize("word", ["删", "删除", "移除"])
async def test_remove_one_keeps_the_reason(bday: Day, word: str) -> None:
    """/缺考 删 准考证号 原因 takes one name off, keeps the others and the reason."""
    await bday.say("王芳", "/缺考 2026000003 2026000004")
    reply = await bday.say("王芳", f"/缺考 {word} 2026000004 迟到已入场")
    rows = await bday.reports("absent")
    assert len(rows) == 2 and rows[1].supersedes_id == rows[0].id
    assert f"已记录第1考场缺考（编号 {rows[1].id}）：删除 2026000004（原因：迟到已入场）" in reply
    assert "第1考场当前：应考 30，实考 29，缺考 1：2026000003" in reply
    p = await in_force(bday)
    assert (p.tickets, p.op, p.removed, p.reason) == (("2026000003",), "remove", ("2026000004",), "迟到已入场")


async def test_remove_with_room_first(day: Day) -> None:
    """/缺考 1 删除 T (the room first) works the same."""
    await day.say("王芳", "/缺考 2026000003 2026000004")
    reply = await day.say("王芳", "/缺考 1 删除 2026000003")
    assert "删除 2026000003" in reply and "缺考 1：2026000004" in reply


async def test_remove_one_not_on_the_list_says_so(bday: Day) -> None:
    """Removing someone not recorded absent says so and changes nothing."""
    await bday.say("王芳", "/缺考 2026000003")
    reply = await bday.say("王芳", "/缺考 删 2026000005")
    assert "准考证号 2026000005 不在第1考场的缺考名单中，未作更改。" in reply
    assert "缺考 1：2026000003" in reply
    assert len(await bday.reports("absent")) == 1


async def test_remove_before_any_report(day: Day) -> None:
    """Removing when nothing was reported says so."""
    reply = await day.say("王芳", "/缺考 删 2026000005")
    assert "不在第1考场的缺考名单中，未作更改" in reply and "第1考场尚未报告缺考（应考 30）" in reply
    assert await day.reports("absent") == []


async def test_remove_needs_a_ticket(day: Day) -> None:
    """/缺考 删 without a ticket or seat is refused with the usage."""
    reply = await day.say("王芳", "/缺考 删")
    assert "请写要从缺考名单中删除的准考证号或座号" in reply and "用法：/缺考" in reply


async def test_none_over_names_asks_then_records(bday: Day) -> None:
    """/缺考 无 when names are recorded asks first; 确定 records 无 over the names."""
    await bday.say("王芳", "/缺考 2026000003 2026000004")
    ask = await bday.say("王芳", "/缺考 无")
    assert ask == "第1考场已记录缺考 2 人：2026000003、2026000004。确定改为无人缺考吗？回复“确定”或“取消”"
    assert len(await bday.reports("absent")) == 1
    reply = await bday.say("王芳", "确定")
    rows = await bday.reports("absent")
    assert len(rows) == 2
    assert f"已记录第1考场缺考（编号 {rows[1].id}）：改为无人缺考" in reply
    assert "应考 30，实考 30，缺考 0" in reply
    p = await in_force(bday)
    assert (p.tickets, p.none, p.count, p.op, p.removed) == ((), True, 0, "none", ("2026000003", "2026000004"))


async def test_none_over_names_cancelled_records_nothing(day: Day) -> None:
    """取消 after the question keeps the names."""
    await day.say("王芳", "/缺考 2026000003")
    await day.say("王芳", "/缺考 无")
    assert "没有记录任何内容" in await day.say("王芳", "取消")
    assert len(await day.reports("absent")) == 1
    assert (await in_force(day)).tickets == ("2026000003",)


async def test_none_without_names_records_at_once(day: Day) -> None:
    """/缺考 无 with nothing recorded records at once; a second 无 changes nothing."""
    assert "已记录第1考场缺考" in await day.say("王芳", "/缺考 无")
    again = await day.say("王芳", "/缺考 无")
    assert "第1考场已记录无人缺考，未作更改。" in again
    assert len(await day.reports("absent")) == 1


async def test_none_then_names_adds(day: Day) -> None:
    """After 无, a name is added (no question: adding loses nothing)."""
    await day.say("王芳", "/缺考 无")
    reply = await day.say("王芳", "/缺考 2026000007")
    assert "追加 2026000007" in reply and "缺考 1：2026000007" in reply


async def test_group_reply_masks_the_whole_list(day: Day) -> None:
    """In the room's group every ticket of the list is masked, with its seat (no personal data) so that the room's
    staff can tell whom the list names; in private the ticket is whole and needs no seat."""
    await day.say("王芳", "/缺考 2026000003", chat=ROOM1)
    reply = await day.say("李强", "/缺考 2026000004", chat=ROOM1)
    assert "追加 2026**0004（4号座）" in reply
    assert "缺考 2：2026**0003（3号座）、2026**0004（4号座）" in reply
    assert "2026000003" not in reply and "2026000004" not in reply
    ask = await day.say("李强", "/缺考 无", chat=ROOM1)
    assert "已记录缺考 2 人：2026**0003（3号座）、2026**0004（4号座）。" in ask and "2026000003" not in ask
    private = await day.say("李强", "/缺考 2026000005")
    assert "追加 2026000005。" in private and "号座" not in private


async def test_history_says_added_and_removed(bday: Day) -> None:
    """/历史 names an addition 追加 and a removal 删除, never 更正; a stale 编号 is refused naming the addition."""
    await bday.say("王芳", "/缺考 2026000003")
    await bday.say("王芳", "/缺考 2026000004")
    await bday.say("王芳", "/缺考 删 2026000003 已到场")
    first, added, removed = await bday.reports("absent")
    history = await bday.say("孙丽", f"/历史 {removed.id}")
    lines = history.splitlines()
    assert f"编号 {first.id}" in lines[1] and "新报：应考 30，实考 29，缺考 1：2026000003" in lines[1]
    assert f"编号 {added.id}" in lines[2] and "追加：应考 30，实考 28，缺考 2" in lines[2]
    assert "（追加 2026000004" in lines[2]
    assert f"编号 {removed.id}" in lines[3] and "删除：应考 30，实考 29，缺考 1：2026000004" in lines[3]
    assert "（删除 2026000003（赵静）（原因：已到场））" in lines[3]  # names privately, for a supervisor
    assert "更正" not in "\n".join(lines[1:])
    stale = await bday.say("王芳", f"/更正 {first.id} 无")
    assert f"编号 {first.id} 已被编号 {added.id} 追加" in stale


async def test_correction_still_sets_the_whole_list(day: Day) -> None:
    """/更正 replaces the list (a correction, named so in /历史)."""
    await day.say("王芳", "/缺考 2026000003")
    await day.say("王芳", "/缺考 2026000004")
    latest = (await day.reports("absent"))[-1]
    reply = await day.say("王芳", f"/更正 {latest.id} 2026000005")
    assert "应考 30，实考 29，缺考 1：2026000005" in reply
    assert (await in_force(day)).tickets == ("2026000005",)
    assert "更正：应考 30，实考 29，缺考 1" in await day.say("孙丽", f"/历史 {latest.id}")


@pytest.mark.parametrize(
    ("setup", "text"),
    [("/缺考 2026000005", "/缺考 2026000003 2026000004"), ("/缺考 2026000003 2026000004", "/缺考 删 2026000003 到了")],
    ids=["add", "remove"],
)
async def test_redelivery_records_once(bday: Day, setup: str, text: str) -> None:
    """The same platform message delivered twice records one addition or removal, with the same reply."""
    await bday.say("王芳", setup)
    first = await bday.send("王芳", text, "platform-absent-1")
    second = await bday.send("王芳", text, "platform-absent-1")
    assert first == second and first is not None and "已记录第1考场缺考" in first
    assert len(await bday.reports("absent")) == 2


async def _check(day: Day) -> tuple[str, ...]:
    async with day.services.db.session() as s:
        room = (await s.exec(select(Room).where(col(Room.room_no) == "第1考场"))).one()
        rec = await reconcile(s, room)
        assert rec is not None
        return rec.problems


async def test_papers_check_reads_the_whole_list(bday: Day) -> None:
    """实考 = 应考 − 缺考 of the whole list: an addition makes the collection check, a removal breaks it again."""
    await bday.say("王芳", "/缺考 2026000003")
    await bday.say("王芳", "/试卷 领取 30")
    bad = await bday.say("王芳", "/试卷 回收 30 答题卡 28 空白 2")
    assert "答题卡 28 ≠ 实考 29" in bad
    added = await bday.say("李强", "/缺考 2026000004")
    assert "现在核对无误" in added
    assert await _check(bday) == ()
    removed = await bday.say("李强", "/缺考 删 2026000004 在洗手间")
    assert "现在核对不符：答题卡 28 ≠ 实考 29" in removed
    assert await _check(bday) == ("答题卡 28 ≠ 实考 29",)


async def test_head_counts_add_up_without_a_roster(day: Day) -> None:
    """A room without a candidate list: 缺考两人 then 缺考一人 is three absentees."""
    from sqlmodel import delete

    from bot.store.tables import Candidate

    async with day.services.db.session() as s:
        room = (await s.exec(select(Room).where(col(Room.room_no) == "第2考场"))).one()
        await s.exec(delete(Candidate).where(col(Candidate.room_id) == room.id))  # type: ignore[call-overload]
    await day.say("赵敏", "/缺考两人")
    reply = await day.say("赵敏", "/缺考 一人")
    assert "追加 1 人" in reply and "应考 28，实考 25，缺考 3" in reply


async def test_rows_are_append_only(day: Day) -> None:
    """Adding and removing never updates an earlier row."""
    await day.say("王芳", "/缺考 2026000003")
    (first,) = await day.reports("absent")
    await day.say("王芳", "/缺考 2026000004")
    await day.say("王芳", "/缺考 删 2026000003")
    async with day.services.db.session() as s:
        again = await s.get(Report, first.id)
        assert again is not None and again.payload["tickets"] == ["2026000003"]


async def test_none_confirmed_after_the_list_changed_asks_again(day: Day) -> None:
    """确定 to 无 after someone else added a name meanwhile asks again about the list as it is now."""
    await day.say("王芳", "/缺考 2026000003")
    await day.say("王芳", "/缺考 无")
    await day.say("李强", "/缺考 2026000004")
    again = await day.say("王芳", "确定")
    assert again.startswith("第1考场已记录缺考 2 人：2026000003、2026000004。确定改为无人缺考吗？")
    assert len(await day.reports("absent")) == 2
    assert "改为无人缺考" in await day.say("王芳", "确定")
    assert (await in_force(day)).none


@pytest.fixture
async def pg_day(pg_url: str, make_settings: Any, clock: ManualClock) -> AsyncIterator[Day]:
    """The demo day at 08:40 on a fresh PostgreSQL database."""
    async with demo_app(make_settings(database_url=pg_url), clock) as chat:
        clock.advance(timedelta(minutes=40))
        yield Day(chat, clock)


async def test_concurrent_additions_on_postgresql_both_count(pg_day: Day, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two people adding different names at the same moment, both reading the same list: the unique
    supersedes_id index lets one chain on, the other's retry adds to it, and both names are listed."""
    import asyncio

    import handlers.absent

    await pg_day.say("王芳", "/缺考 2026000003")
    real = handlers.absent.reports_in_force
    together = asyncio.Barrier(2)
    first_reads = {"left": 2}

    async def read_together(*args: Any) -> list[Report]:
        rows = await real(*args)
        if first_reads["left"]:
            first_reads["left"] -= 1
            await together.wait()  # both deliveries have read the same list before either writes
        return rows

    monkeypatch.setattr(handlers.absent, "reports_in_force", read_together)
    a, b = await asyncio.gather(
        pg_day.send("王芳", "/缺考 2026000004", "platform-a"), pg_day.send("李强", "/缺考 2026000005", "platform-b")
    )
    assert a is not None and b is not None and "追加" in a and "追加" in b
    assert first_reads["left"] == 0
    assert sorted((await in_force(pg_day)).tickets) == ["2026000003", "2026000004", "2026000005"]
    assert len(await pg_day.reports("absent")) == 3


async def test_concurrent_deliveries_of_one_addition_on_postgresql(pg_day: Day) -> None:
    """The same addition delivered twice at the same moment: one row, the same reply."""
    import asyncio

    await pg_day.say("王芳", "/缺考 2026000003")
    a, b = await asyncio.gather(
        pg_day.send("王芳", "/缺考 2026000004", "platform-c"), pg_day.send("王芳", "/缺考 2026000004", "platform-c")
    )
    assert a == b and a is not None and "追加 2026000004" in a
    assert len(await pg_day.reports("absent")) == 2


async def test_revoking_one_addition_undoes_only_that_addition(day: Day) -> None:
    """/撤销 of the second /缺考 takes its name off; the first stays; /撤销 of a removal puts the name back."""
    await day.say("王芳", "/缺考 1 2026000003")
    await day.say("李强", "/缺考 1 2026000004")
    first, second = sorted(r.id for r in await day.reports("absent"))
    reply = await day.say("王芳", f"/撤销 {second} 报错了")
    assert f"已撤销编号 {second} 对缺考名单的改动" in reply
    assert "缺考 1：2026000003" in reply and "2026000004" not in reply.split("当前")[-1]
    await day.say("王芳", "/缺考 1 删 2026000003 已到场")
    removal = max(r.id for r in await day.reports("absent"))
    reply = await day.say("王芳", f"/撤销 {removal}")
    assert "缺考 1：2026000003" in reply
    del first

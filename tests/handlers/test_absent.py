"""/缺考 /absent: phrasings typed on phones, and the refusal for each malformed form."""

from __future__ import annotations

import pytest

from tests.handlers.conftest import ROOM1, Day

# (text, absent tickets recorded, none)
PHRASINGS: list[tuple[str, list[str], bool]] = [
    ("/缺考 1 2026000003", ["2026000003"], False),
    ("／缺考　１　２０２６０００００３", ["2026000003"], False),
    ("、缺考 1 2026000003", ["2026000003"], False),
    ("/缺考1 2026000003 2026000005", ["2026000003", "2026000005"], False),
    ("/缺考 01 2026000003，2026000005", ["2026000003", "2026000005"], False),
    ("/缺考 1号 2026000003、2026000005", ["2026000003", "2026000005"], False),
    ("/缺考 第1考场 2026000003", ["2026000003"], False),
    ("/缺考 1考场 2026000003", ["2026000003"], False),
    ("/缺考 一考场 2026000003", ["2026000003"], False),
    ("/缺考 2026000003", ["2026000003"], False),
    ("/缺考 2026000003 第1考场", ["2026000003"], False),
    ("/缺考  2026000003   2026000005  ", ["2026000003", "2026000005"], False),
    ("/absent 1 2026000003", ["2026000003"], False),
    ("/ABSENT 2026000003", ["2026000003"], False),
    ("/缺考 1 无", [], True),
    ("/缺考 无", [], True),
    ("/absent 1 none", [], True),
    ("/缺考 第一考场 没有", [], True),
    ("/缺考 1 缺考2人 2026000003 2026000005", ["2026000003", "2026000005"], False),
    ("/缺考 2026000003 2026000003", ["2026000003"], False),
]


@pytest.mark.parametrize(("text", "tickets", "none"), PHRASINGS)
async def test_absent_phrasings(day: Day, text: str, tickets: list[str], none: bool) -> None:
    """Each phone phrasing records exactly the absentees of 第1考场 and says 应考/实考/缺考 and the 编号."""
    reply = await day.say("王芳", text)
    rows = await day.reports("absent")
    assert len(rows) == 1, reply
    row = rows[0]
    assert row.payload["tickets"] == tickets
    assert row.payload["none"] is none
    n = len(tickets)
    assert f"编号 {row.id}" in reply
    assert f"应考 30，实考 {30 - n}，缺考 {n}" in reply
    assert "第1考场" in reply
    for t in tickets:
        assert t in reply


MALFORMED: list[tuple[str, str]] = [
    ("/缺考 第9考场", "今天没有第9考场"),  # a room alone that is no room (one of hers opens the dialog)
    ("/缺考 1 张三", "第1考场的考生名单中没有“张三”；请写准考证号或座号"),
    # a name beside a ticket is checked against the roster too (it is nobody's there: said so, not “没有看懂”)
    ("/缺考 1 2026000003 张大伟", "第1考场的考生名单中没有“张大伟”；请写准考证号或座号"),
    ("/缺考 1 2026000003 3x", "没有看懂“3x”，请写准考证号或座号"),
    ("/缺考 1 无 2026000003", "写了“无”又写了缺考考生"),
    ("/缺考 1 2026000099", "准考证号 2026000099 不在第1考场的考生名单中"),
    ("/缺考 2 2026000031", "您不是第2考场本场次的监考或考评人员"),
    ("/缺考 9 2026000003", "今天没有第9考场"),
    ("/缺考 1 两人", "第1考场有考生名单，请写出缺考考生的准考证号。"),
    ("/缺考 1 3人 2026000003", "写了缺考 3 人，却给了 1 个准考证号"),
]


@pytest.mark.parametrize(("text", "error"), MALFORMED)
async def test_absent_refusals(day: Day, text: str, error: str) -> None:
    """A malformed /缺考 records nothing and answers one sentence with the right form of the command."""
    reply = await day.say("王芳", text)
    assert error in reply
    assert "用法：/缺考 考场 准考证号" in reply or "只能报告自己负责的考场" in reply
    assert await day.reports("absent") == []


async def test_absent_group_chat_masks_tickets(day: Day) -> None:
    """In the room's group chat the reply masks the 准考证号."""
    reply = await day.say("王芳", "/缺考 2026000003", chat=ROOM1)
    assert "2026**0003" in reply
    assert "2026000003" not in reply


async def test_second_report_supersedes_first(day: Day) -> None:
    """A second /缺考 for the same room adds to the first (both kept, the new one supersedes with the whole list)."""
    await day.say("王芳", "/缺考 2026000003")
    reply = await day.say("李强", "/缺考 2026000003 2026000004")
    first, second = await day.reports("absent")
    assert second.supersedes_id == first.id
    assert "替代之前的编号" not in reply
    assert "追加 2026000004" in reply
    assert "缺考 2：2026000003、2026000004" in reply


async def test_absent_without_room_when_several_rooms(day: Day) -> None:
    """An office member without a room of their own must name the room."""
    reply = await day.say("钱进", "/缺考 2026000003")
    assert "请写明考场号" in reply
    reply = await day.say("钱进", "/缺考 1 2026000003")
    assert "已记录第1考场缺考" in reply


async def test_room_without_candidate_list_accepts_head_count(day: Day) -> None:
    """Without a candidate list, 缺考两人 is recorded as a count."""
    from sqlmodel import col, delete, select

    from bot.store.tables import Candidate, Room

    async with day.services.db.session() as s:
        room = (await s.exec(select(Room).where(col(Room.room_no) == "第2考场"))).one()
        await s.exec(delete(Candidate).where(col(Candidate.room_id) == room.id))  # type: ignore[call-overload]
    reply = await day.say("赵敏", "/缺考两人")
    assert "应考 28，实考 26，缺考 2" in reply


async def test_redelivered_message_records_once(day: Day) -> None:
    """The same platform message id processed twice records one report."""
    a = await day.send("王芳", "/缺考 2026000003", "m-1")
    b = await day.send("王芳", "/缺考 2026000003", "m-1")
    assert len(await day.reports("absent")) == 1
    assert a == b


async def test_room_left_out_prefers_the_running_session(day: Day) -> None:
    """With a next session coming up in another room, the room of the session running now is meant."""
    from datetime import timedelta

    from sqlmodel import col, select

    from bot.store.tables import Assignment, Duty, ExamSession, Room, SessionKind, Staff

    now = day.clock.now()
    async with day.services.db.session() as s:
        sess = ExamSession(
            code="下一场",
            occupation="电工",
            kind=SessionKind.THEORY,
            day=now.date(),
            starts_at=now + timedelta(minutes=40),
            ends_at=now + timedelta(minutes=130),
        )
        s.add(sess)
        await s.flush()
        assert sess.id is not None
        room = Room(session_id=sess.id, room_no="第5考场", expected=20)
        s.add(room)
        await s.flush()
        assert room.id is not None
        wang = (await s.exec(select(Staff).where(col(Staff.name) == "王芳"))).one()
        assert wang.id is not None
        s.add(Assignment(room_id=room.id, staff_id=wang.id, duty=Duty.CHIEF))
    assert "已记录第1考场缺考" in await day.say("王芳", "/缺考 无")
    day.clock.advance(timedelta(minutes=70))  # 09:50: session 1 over, 第5考场 running
    assert "已记录第5考场缺考" in await day.say("王芳", "/缺考 无")


@pytest.mark.parametrize("text", ["/缺考 一 无", "/缺考 一 没有缺考", "/缺考 一 2026000003"])
async def test_bare_chinese_numeral_beside_none_or_tickets_is_the_room(day: Day, text: str) -> None:
    """“一” next to 无 or a 准考证号 is the room, not a head count."""
    reply = await day.say("王芳", text)
    assert reply.startswith("已记录第1考场缺考"), reply


def test_a_name_off_the_roster_is_said_so() -> None:
    """A name not on the room's roster is named as such; without a roster the reply says names cannot be looked up;
    a word that is no name stays “没有看懂”."""
    from bot.errors import UserFacingError
    from handlers._absent_args import names_to_tickets

    roster = {"2026000003": "赵静"}
    assert names_to_tickets(["赵静"], roster, "第1考场") == ["2026000003"]
    cases = [
        (["赵磊"], roster, "第1考场的考生名单中没有“赵磊”；请写准考证号或座号"),
        (["赵磊"], {}, "第1考场没有导入考生名单，不能按姓名查找“赵磊”；请写准考证号或座号"),
        (["abc"], roster, "没有看懂“abc”，请写准考证号或座号"),
    ]
    for words, names, expected in cases:
        with pytest.raises(UserFacingError) as exc:
            names_to_tickets(words, names, "第1考场")
        assert exc.value.message.startswith(expected), exc.value.message

"""“第2考场谁监考”: the room's staff today, from the assignments (handlers/room_staff.py, session 22)."""

from __future__ import annotations

import pytest

from handlers.room_staff import asked_room
from tests.handlers.conftest import ROOM1, Day
from tests.knowledge.kb_golden import rule_questions


@pytest.mark.parametrize(
    ("text", "room"),
    [("第2考场谁监考", 2), ("3考场今天是谁考评", 3), ("谁监考第1考场", 1), ("第三考场是哪几位监考？", 3)],
)
def test_who_is_on_duty_names_the_room(text: str, room: int) -> None:
    assert asked_room(text) == room


def test_no_rule_question_is_read_as_who_is_on_duty() -> None:
    assert [q for q in rule_questions() if asked_room(q) is not None] == []


async def test_the_office_and_a_room_group_get_the_rooms_staff(day: Day) -> None:
    reply = await day.say("钱进", "第2考场谁监考")
    assert reply.startswith("今天（12月05日）第2考场的人员安排：") and "主监考 赵敏，副监考 陈刚" in reply, reply
    assert "《" not in reply
    reply = await day.say("王芳", "3考场今天是谁考评", chat=ROOM1)
    assert "考评组长 周杰，考评员 吴婷，考评员 郑凯" in reply, reply
    assert await day.say("钱进", "第9考场谁监考") == "今天（12月05日）第9考场没有考试安排。"
    assert "《监考人员守则》1." in await day.say("钱进", "一个考场要几个监考")  # the rule question stays one

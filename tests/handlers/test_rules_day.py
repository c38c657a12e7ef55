"""Rule questions asked through the chat during an exam day (issue 17): each asker gets the rule of their own kind of
exam, a question in a room's group is answered there, a reply cites document and clause, a question no rule answers
gets "don't know" with where to ask, and nobody is alerted for a question. The questions were written for this test
(none is a question of a tuning, development or held-out set)."""

from __future__ import annotations

import pytest

from tests.handlers.conftest import ROOM1, Day, at


@pytest.fixture
def day(db_day: Day) -> Day:
    """The demo day on SQLite and on PostgreSQL."""
    return db_day


async def test_rule_questions_through_an_exam_day(day: Day) -> None:
    office_before = len(await day.inbox("钱进"))
    # 07:35, the theory invigilator before the meeting: when she must be at the office.
    at(day.clock, 7, 35)
    reply = await day.say("王芳", "考前会我得提前多久到")
    assert "《监考人员守则》2.(2)" in reply and "40 分钟" in reply, reply
    # 08:30 in the theory room: a latecomer 20 minutes in may still enter (30 minutes is the theory rule) ...
    at(day.clock, 8, 30)
    reply = await day.say("王芳", "有个考生迟到快二十分钟了 还能放进来不")
    assert "《监考人员守则》3.(3)" in reply, reply
    # ... while the practical chief evaluator gets the practical room's 5 minutes first.
    reply = await day.say("周杰", "实操考生迟到了 几分钟以内还能进")
    assert "《实际操作考核考场规则》2." in reply and "迟到 5 分钟" in reply and "监考人员守则" not in reply, reply
    # In the room's group a question is answered in the group.
    reply = await day.say("李强", "结束前多久要提醒考生", chat=ROOM1)
    assert "《监考人员守则》3.(4)" in reply and "15 分钟" in reply, reply
    # The computer room: a machine that does not start is the invigilator's to swap (上机考试, 2.(6)).
    reply = await day.say("刘洋", "机房里有台电脑死活开不了机 考生着急")
    assert "《监考人员守则》2.(6)" in reply and "更换计算机" in reply, reply
    # The supervisor asks about lunch: no rule says; the reply says so and where to ask.
    reply = await day.say("孙丽", "今天中午的盒饭几点送到")
    assert reply.startswith("抱歉，我不确定") and "考务办公室" in reply, reply
    assert len(await day.inbox("钱进")) == office_before  # questions alert nobody

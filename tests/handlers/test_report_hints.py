"""A report said as a sentence in a private chat records nothing and gets the command that would."""

from __future__ import annotations

import pytest

from handlers.report_hints import hint, narrative
from tests.handlers.conftest import ROOM1, Day
from tests.knowledge.kb_golden import rule_questions

SENTENCES = [
    ("3号没来", "/缺考 3号座"),
    ("2026000005没到", "/缺考 2026000005"),
    ("三号座位的没来", "/缺考 3号座"),
    ("5号座位考生在玩手机", "/违纪 5号座 使用手机"),
    ("5号工位抽烟", "/违纪 5号工位 吸烟进食"),
    ("5号工位没来", "/缺考 准考证号"),
    ("领了30份", "/领取 30"),
    ("试卷领了30份", "/领取 30"),
    ("卷子领了30份", "/领取 30"),
    ("领了30份卷子", "/领取 30"),
    ("收回卷子28份 答题卡28", "/回收 28 答题卡 28"),
    ("收了28份 答题卡28", "/回收 28 答题卡 28"),
    ("回收了30份 空白2", "/回收 30 空白 2"),
    ("收齐了30份", "/回收 30"),
    ("第1考场副监考在玩手机 已提醒", "/督导意见 1 副监考在玩手机 已提醒"),
    ("第3考场考评员没按评分表打分", "/督导意见 3 考评员没按评分表打分"),
]
NOT_REPORTS = [
    *("收卷30份了吗", "发了30份"),
    *("第3考场没来", "3点开会没到", "考生迟到了没来得及", "3号考场缺考2人", "3号没来怎么办", "5号玩手机咋处理"),
]


@pytest.mark.parametrize(("text", "command"), SENTENCES)
def test_sentences_mean_a_command(text: str, command: str) -> None:
    assert hint(text) == command


@pytest.mark.parametrize("text", NOT_REPORTS)
def test_other_sentences_are_no_reports(text: str) -> None:
    assert hint(text) is None


def test_no_question_of_the_tuning_and_dev_sets_is_taken_for_a_report() -> None:
    """A rule question is never answered with a hint alone: one read as a report is told as a story, and the reply
    also answers it (report_sentence)."""
    taken = [q for q in rule_questions() if hint(q) and not narrative(q)]
    assert taken == []


async def test_a_report_told_as_a_story_also_gets_the_rule(day: Day) -> None:
    """Session 22: 3号考生被我提醒两次了还偷看… is a report (the hint) and asks what to do now (the rule)."""
    reply = await day.say("王芳", "3号考生被我提醒两次了还偷看，还跟我顶嘴 闹得挺凶")
    head, _, rest = reply.partition("\n以下按问题回答：\n")
    assert head == "这条没有记录。要记录违纪（可在后面加处理，如 警告），请发：/违纪 3号座 抄袭"
    assert "《监考人员守则》3.(5)" in "\n".join(rest.splitlines()[:3]), reply
    assert await day.reports("violation") == []
    assert narrative("3号考生被我提醒两次了还偷看，还跟我顶嘴") and not narrative("5号座位考生在玩手机")


async def test_the_hint_is_sent_and_its_command_works(day: Day) -> None:
    reply = await day.say("王芳", "3号没来")
    assert reply == "这条没有记录。要登记缺考，请发：/缺考 3号座"
    assert await day.reports("absent") == []
    assert (await day.say("王芳", "/缺考 3号座")).startswith(("已记录第1考场缺考", "开考 30 分钟后才能确定缺考"))
    reply = await day.say("王芳", "5号座位考生在玩手机")
    assert reply.startswith("这条没有记录。要记录违纪") and reply.endswith("请发：/违纪 5号座 使用手机")
    assert await day.reports("violation") == []
    assert await day.say("王芳", "领了30份") == "这条没有记录。要记录试卷份数，请发：/领取 30"
    assert await day.reports("papers") == []


async def test_groups_and_questions_are_left_alone(day: Day) -> None:
    """In a group people talk to each other: no hint. A question about it is a rule question."""
    assert await day.chat.say("王芳", "3号没来", chat=ROOM1) is None
    assert "这条没有记录" not in await day.say("王芳", "3号没来怎么办")


async def test_what_a_supervisor_saw_staff_do_is_a_finding(day: Day) -> None:
    """Session 22: a supervisor's “第1考场副监考在玩手机 已提醒” went to the knowledge base (the candidates' phone
    rule first). It gets the /督导意见 to send, and nothing is recorded; an invigilator saying it gets no such hint."""
    reply = await day.say("孙丽", "第1考场副监考在玩手机 已提醒")
    assert reply == "这条没有记录。要记录督导意见，请发：/督导意见 1 副监考在玩手机 已提醒", reply
    assert await day.reports("finding") == []
    assert "督导意见" not in await day.say("王芳", "第2考场监考员迟到了")
    reply = await day.say("孙丽", "/督导意见 1 副监考在玩手机 已提醒")
    assert reply.startswith("已记录第1考场督导意见"), reply

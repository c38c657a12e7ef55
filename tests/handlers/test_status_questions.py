"""Questions about the day's records typed as questions are answered from the records, not the rules."""

from __future__ import annotations

import pytest

from handlers.status_questions import asks_my_day, schedule_day, status_query
from tests.handlers.conftest import ROOM1, Day, at
from tests.knowledge.kb_golden import rule_questions

# (question, query it means, its arguments)
RECORD_QUESTIONS: list[tuple[str, str, str]] = [
    ("第2考场今天几个人缺考", "absences", "今天 2"),
    ("今天一共缺考多少人", "absences", "今天"),
    ("第三考场现在来了几个人", "absences", "3"),
    ("各考场缺考报了没", "absences", ""),
    ("试卷都收齐了吗", "paper_status", ""),
    ("3考场试卷收齐没", "paper_status", "3"),
    ("今天有几起违纪", "violations", "今天"),
    ("昨天违纪情况", "violations", "昨天"),
    ("今天有突发情况吗", "room_status", "今天"),
    ("哪些考场还没报缺考", "absences", ""),
    ("哪个考场试卷还没交", "paper_status", ""),
    ("第1考场今天有违纪吗", "violations", "今天 1"),
    ("违纪的都确认了吗", "violations", ""),
    ("今天有人缺考么？", "absences", "今天"),
    ("今天谁缺考了 有几个", "absences", "今天"),
]
RULE_QUESTIONS = [
    "迟到几分钟算缺考",
    "考生违纪了怎么办",
    "试卷少了几份怎么处理",
    "缺考的考生要不要登记",
    "开考多少分钟后不能进场",
    "违纪考生有几种处理",
    "一个考场有几个监考",
    "监考老师有几个",
    "缺考没报会怎样",
    "试卷没交怎么办",
    "今天机房断网了 这种突发情况谁负责上报",
]


@pytest.mark.parametrize(("text", "query", "args"), RECORD_QUESTIONS)
def test_record_questions_mean_a_query(text: str, query: str, args: str) -> None:
    found = status_query(text)
    assert found is not None and (found[0].__name__, found[1]) == (query, args)


@pytest.mark.parametrize("text", RULE_QUESTIONS)
def test_rule_questions_stay_rule_questions(text: str) -> None:
    assert status_query(text) is None


def test_no_rule_question_of_the_tuning_and_dev_sets_is_read_as_a_records_question() -> None:
    taken = [q for q in rule_questions() if status_query(q) or asks_my_day(q)]
    assert taken == []


async def test_office_gets_the_records(day: Day) -> None:
    await day.say("赵敏", "/缺考 2 2026000031 2026000032")
    reply = await day.say("钱进", "第2考场今天几个人缺考")
    assert "缺考统计" in reply and "第2考场" in reply and "第1考场" not in reply
    assert "缺考 2" in reply and "《" not in reply and "不是规定条款" in reply


async def test_in_a_group_tickets_stay_masked(day: Day) -> None:
    await day.say("王芳", "/缺考 1 2026000003")
    reply = await day.say("孙丽", "第1考场今天几个人缺考？", chat=ROOM1)
    assert "第1考场" in reply and "2026000003" not in reply and "群聊中考生信息已打码" in reply


async def test_invigilators_and_rule_questions_get_the_rules(day: Day) -> None:
    """The records query is the office's and supervisors'; an invigilator's question goes to the knowledge base."""
    assert "缺考统计" not in await day.say("王芳", "第2考场今天几个人缺考")
    assert "《" in await day.say("钱进", "开考多少分钟后不能进场")


async def test_queries_take_a_room(day: Day) -> None:
    """/缺考统计, /试卷状态 and /考场状态 take a room as /违纪记录 always did."""
    for command in ("/缺考统计 3", "/试卷状态 3", "/考场状态 今天 3"):
        reply = await day.say("钱进", command)
        assert "第3考场" in reply and "第1考场" not in reply, command


@pytest.mark.parametrize(
    "text",
    ["我的考场", "我今天在哪个考场？", "我几点到", "我今天的安排", "今天我监考哪场", "我今天有监考吗", "今天我啥安排"],
)
async def test_my_duties_asked_without_the_slash(day: Day, text: str) -> None:
    """“我的考场” typed as phones type it is /我的考场, for every member of staff."""
    reply = await day.say("王芳", text)
    assert reply.startswith("王芳（监考员）") and "第1考场" in reply, reply


async def test_a_rule_question_about_my_room_stays_a_rule_question(day: Day) -> None:
    assert "《" in await day.say("王芳", "我能不能换考场监考")


async def test_the_evening_before_my_duties_are_tomorrows(day: Day) -> None:
    """With no duty today, /我的考场 shows the next day's duties, not only “没有安排”."""
    from datetime import timedelta

    day.clock.advance(timedelta(days=-1))  # the evening before: the demo day is tomorrow
    reply = await day.say("王芳", "我的考场")
    assert "没有您的监考或考评安排" in reply and "下一次安排在明天" in reply and "第1考场" in reply, reply
    day.clock.advance(timedelta(days=-10))
    reply = await day.say("王芳", "/我")
    assert "下一次安排在12月05日：" in reply and "第1考场" in reply, reply
    day.clock.advance(timedelta(days=-30))
    assert "下一次安排" not in await day.say("王芳", "/我")  # more than two weeks ahead: not looked for


@pytest.mark.parametrize(
    ("text", "days"),
    [("几点开考", 0), ("今天几点考试", 0), ("考试几点开始？", 0), ("第2考场几点开考", 0), ("明天几点开考来着", 1)],
)
def test_timetable_questions(text: str, days: int) -> None:
    assert schedule_day(text) == days


@pytest.mark.parametrize("text", ["开考多久后不能进场", "考试时间到了怎么收卷", "驾校考试几点开始", "我几点到"])
def test_rule_and_other_questions_are_not_timetable_questions(text: str) -> None:
    assert schedule_day(text) is None


def test_no_in_domain_question_of_the_tuning_and_dev_sets_is_read_as_a_timetable_question() -> None:
    from tests.knowledge.kb_golden import DEV_SETS, QUESTIONS_TSV, read_questions

    questions = [q for path in (QUESTIONS_TSV, *DEV_SETS) for q in read_questions(path) if q.in_domain]
    assert [q.question for q in questions if schedule_day(q.question) is not None] == []


async def test_the_office_asks_when_the_exams_start(day: Day) -> None:
    """“几点开考” is the timetable: the office gets the day's rooms with their start times, not the late-entry rule;
    “明天” asks for tomorrow's; an invigilator gets their own duties."""
    reply = await day.say("钱进", "今天几点开考")
    assert "考场状态" in reply and "第1考场" in reply and "第4考场" in reply and "《" not in reply, reply
    assert "按当前考试安排回答" in reply
    tomorrow = await day.say("孙丽", "明天几点开考来着")
    assert "没有考试安排" in tomorrow and "《" not in tomorrow, tomorrow
    mine = await day.say("王芳", "几点开考？", chat=ROOM1)
    assert mine.startswith("王芳（监考员）") and "第1考场" in mine, mine
    assert "《" in await day.say("钱进", "开考多久后不能进场")


async def test_a_phone_question_ending_in_bu_is_answered_in_a_group(day: Day) -> None:
    """In a group only questions are answered; 让他考不 / 到了没 ask as 吗 does, 考生急得不行 and 还没 do not."""
    assert "《" in await day.say("周杰", "实操有个考生没穿工作服 让他考不", chat=ROOM1)
    assert await day.chat.say("王芳", "考生急得不行", chat=ROOM1) is None
    assert await day.chat.say("王芳", "我们都还没", chat=ROOM1) is None


async def test_how_long_until_the_exam_is_read_off_the_timetable(day: Day) -> None:
    """Session 22: “还有多久开考” asked by an invigilator on duty gets the minutes to her session's start, then to its
    end; the knowledge base cited the late-entry rule. A rule question with 多久 stays a rule question."""
    from handlers.status_questions import asks_countdown

    at(day.clock, 7, 58)
    reply = await day.say("王芳", "还有多久开考")
    assert reply == "距第1考场开考还有 10 分钟（08:08 开考）。", reply
    at(day.clock, 8, 38)
    reply = await day.say("王芳", "离结束还有几分钟")
    assert reply == "第1考场已开考 30 分钟，距结束还有 60 分钟（09:38 结束）。", reply
    assert "《" in await day.say("王芳", "开考多久后不能进场")
    assert [q for q in rule_questions() if asks_countdown(q)] == []


async def test_an_export_said_in_words_gets_the_command(day: Day) -> None:
    """Session 22: “导出今天的违纪” went to the knowledge base. The office gets the /导出 to send (not run: the file
    carries candidates' full data), a supervisor the query she may run; 明天有考试吗 is the timetable."""
    from handlers.status_questions import export_command, schedule_day

    reply = await day.say("钱进", "导出今天的违纪")
    assert reply == "这条没有执行。导出考场情况记录表（缺考、违纪、试卷、突发都在表内）请发：/导出 今天", reply
    assert export_command("帮我导一下昨天的记录表") == "/导出 昨天" and export_command("导出明细") == "/导出 明细"
    assert await day.say("孙丽", "导出今天的违纪") == "导出考场情况记录表由考务办公室办理。您可以查看：/违纪记录 今天"
    assert [q for q in rule_questions() if export_command(q)] == []
    assert schedule_day("明天有考试吗") == 1 and schedule_day("今天有考试没") == 0
    assert await day.say("钱进", "明天有考试吗") == "12月06日 没有考试安排。\n（按当前考试安排回答，不是规定条款）"


async def test_a_report_command_with_only_a_day_gets_the_query(day: Day) -> None:
    """Session 24, the office on a phone: “/违纪 今天” asked which room (or for a ticket). It wants the day's records:
    nothing is recorded and the reply gives the query; an invigilator, who may not query, still gets the report's
    own questions, and a room number is still a report."""
    reply = await day.say("钱进", "/违纪 今天")
    assert reply == "这条没有记录。查看今天的违纪情况请发：/违纪记录 今天；报告违纪请写明考场。", reply
    reply = await day.say("孙丽", "缺考 昨天")
    assert reply == "这条没有记录。查看昨天的缺考情况请发：/缺考统计 昨天；报告缺考请写明考场。", reply
    assert "/试卷状态 12月5日" in await day.say("钱进", "/回收 12月5日")
    assert await day.reports("violation") == [] and await day.reports("absent") == []
    assert "这条没有记录" not in await day.say("王芳", "/违纪 今天")
    assert "这条没有记录" not in await day.say("钱进", "/违纪 3")

"""The knowledge base in chat: /问, plain text, unanswered questions and reloading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Chat


@pytest.mark.parametrize(
    ("typed", "cited"),
    [
        ("/问 开考多久后不准进场", "3.(3)"),
        ("／问　监考员考前多少分钟到考务办公室开会", "2.(2)"),
        ("实操迟到几分钟不让考了？", "实际操作考核考场规则"),
        ("/ask 考评员证有效期几年", "第三条"),
    ],
)
async def test_questions_are_answered_with_citation(demo_chat: Chat, typed: str, cited: str) -> None:
    """A rule question, as a command or plain text, is answered with document and clause."""
    reply = await demo_chat.say("王芳", typed)
    assert reply is not None
    assert "《" in reply and cited in reply


async def test_unknown_question_is_logged_for_the_office(demo_chat: Chat) -> None:
    """An out-of-domain question gets "don't know", and the office sees it in /未答问题."""
    reply = await demo_chat.say("王芳", "今天食堂中午吃什么")
    assert reply is not None and reply.startswith("抱歉，我不确定")
    assert "考务办公室" in reply
    listing = await demo_chat.say("钱进", "/未答问题")
    assert listing is not None
    assert "王芳：今天食堂中午吃什么" in listing


async def test_unanswered_list_is_office_only(demo_chat: Chat) -> None:
    """An invigilator cannot read the unanswered-question log."""
    reply = await demo_chat.say("王芳", "/未答问题")
    assert reply is not None and "没有使用 /未答问题 的权限" in reply


async def test_empty_and_overlong_questions(demo_chat: Chat) -> None:
    """/问 without a question shows the usage; a very long one is refused."""
    assert "用法：/问" in (await demo_chat.say("王芳", "/问") or "")
    assert "太长" in (await demo_chat.say("王芳", "/问 " + "考" * 300) or "")


async def test_reload_reads_new_files(demo_chat: Chat, tmp_path: Path, monkeypatch: Any) -> None:
    """An admin's /知识库 重载 picks up a clause file added to EXAMBOT_KB_DIR; a broken file keeps the old base."""
    extra = tmp_path / "kb"
    extra.mkdir()
    settings = demo_chat.services.settings
    demo_chat.services.settings = settings.model_copy(update={"kb_dir": str(extra)})
    before = await demo_chat.say("马文", "/知识库 重载")
    assert before is not None and before.startswith("知识库已重新加载")
    (extra / "broken.txt").write_text("没有标题行\n", encoding="utf-8")
    reply = await demo_chat.say("马文", "/知识库 重载")
    assert reply is not None and "条款文件有错误" in reply and "broken.txt" in reply
    assert "仍使用原来的知识库" in reply


async def test_reload_is_admin_only(demo_chat: Chat) -> None:
    """Only an admin may reload the knowledge base."""
    reply = await demo_chat.say("钱进", "/知识库 重载")
    assert reply is not None and "没有使用 /知识库 的权限" in reply


# (typed, a clause the answer cites): as people type on phones.
ASK_PHRASINGS: list[tuple[str, str]] = [
    ("/问 开考多久后不准进场", "3.(3)"),
    ("／问　开考多久后不准进场", "3.(3)"),
    ("、问 开考多久后不准进场", "3.(3)"),
    ("/问开考多久后不准进场", "3.(3)"),
    ("/问   开考多久后不准进场？", "3.(3)"),
    ("/ask 开考多久后不准进场", "3.(3)"),
    ("/ASK 开考多久后不准进场?", "3.(3)"),
    ("/规定 开考多久后不准进场", "3.(3)"),
    ("/问 开考后多久不能进考场", "3.(3)"),
    ("/问 监考员考前多少分钟到考务办公室开会", "2.(2)"),
    ("/问 监考员考前多少分钟到考务办公室开会？？", "2.(2)"),
    ("/问 考评员证有效期几年", "第三条"),
    ("/问：考评员证有效期几年", "第三条"),
    ("/问 实操迟到几分钟不让考了", "实际操作考核考场规则"),
    ("/问 实操迟到几分钟不让考了？", "实际操作考核考场规则"),
    ("开考多久后不准进场", "3.(3)"),
]


async def test_ask_phrasings(demo_chat: Chat) -> None:
    """Each phrasing of /问 (full-width, glued, aliases, punctuation) is answered with document and clause."""
    for typed, cited in ASK_PHRASINGS:
        reply = await demo_chat.say("王芳", typed)
        assert reply is not None and "《" in reply and cited in reply, (typed, reply)


ASK_MALFORMED: list[tuple[str, str]] = [
    ("/问", "请在 /问 后面写上您的问题。"),
    ("/问    ", "请在 /问 后面写上您的问题。"),
    ("／问", "请在 /问 后面写上您的问题。"),
    ("/ask", "请在 /问 后面写上您的问题。"),
    ("/问 " + "考" * 201, "问题太长了，请控制在 200 字以内。"),
]


async def test_ask_malformed(demo_chat: Chat) -> None:
    """/问 without a question shows the form with an example; an overlong one is refused."""
    for typed, error in ASK_MALFORMED:
        reply = await demo_chat.say("王芳", typed)
        assert reply is not None and reply.startswith(error), (typed, reply)
        if "请在" in error:
            assert "用法：/问 问题，例：/问 开考多久后不准进场" in reply


GROUP = "console:第1考场"


CHATTER = [
    *("好的", "收到", "收到！", "嗯", "嗯嗯", "ok", "OK", "谢谢", "好的，谢谢", "我去一下洗手间", "李老师在302"),
    "不不不 我来",  # 不 between two of the same characters is not a verb-不-verb question
    "我先去领卷 行不行",  # nor are 行不行, 好不好, 对不对, 是不是 between colleagues
    "好不好",
    "李强你来不来",
    "你们去不去食堂",
]
GROUP_QUESTIONS = [
    "开考多久后不准进场？",
    "开考多久后不准进场?",
    "开考以后还能进场吗",
    "迟到多少分钟不能进考场",
    "考生迟到怎么处理",
    "实操迟到几分钟不让考了",
    "手机可以带进考场么",
    "监考员是否可以看手机",
    "考生要去厕所 放不放",  # session 23: a verb, 不 and the verb again asks
    "迟到的让不让进",
    "我们让不让他进",  # 们 of 我们 is no 你们
]


async def test_group_chat_answers_questions_not_chatter(demo_chat: Chat) -> None:
    """In a group chat question-like text is answered from the rules; acknowledgements and remarks get no answer."""
    for text in CHATTER:
        assert await demo_chat.say("李强", text, chat=GROUP) is None, text
    for text in GROUP_QUESTIONS:
        reply = await demo_chat.say("李强", text, chat=GROUP)
        assert reply is not None and ("《" in reply or reply.startswith("抱歉，我不确定")), (text, reply)


async def test_group_chat_explicit_ask_and_private_chat_answer_everything(demo_chat: Chat) -> None:
    """/问 in a group and any text in a private chat are answered."""
    assert "《" in (await demo_chat.say("李强", "/问 开考多久后不准进场", chat=GROUP) or "")
    assert await demo_chat.say("李强", "开考多久后不准进场") is not None
    assert await demo_chat.say("李强", "迟到的考生") is not None


async def test_the_askers_session_kind_orders_the_lateness_rules(demo_chat: Chat) -> None:
    """王芳 (theory session next) gets the theory lateness rule first, 周杰 (practical session next) the
    practical one; both see the other kind's rule, labelled."""
    theory = await demo_chat.say("王芳", "有考生迟到了咋整")
    assert theory is not None
    assert theory.index("理论考试：") < theory.index("30 分钟") < theory.index("实操考试：") < theory.index("5 分钟")
    practical = await demo_chat.say("周杰", "有考生迟到了咋整")
    assert practical is not None
    assert practical.index("实操考试：") < practical.index("5 分钟") < practical.index("理论考试：")
    assert practical.index("理论考试：") < practical.index("30 分钟")


async def test_no_session_and_no_staff_record_still_answer(demo_chat: Chat) -> None:
    """The office (no session assigned) and an unknown sender are answered; lateness defaults to theory first."""
    office = await demo_chat.say("钱进", "有考生迟到了咋整")
    assert office is not None and office.index("理论考试：") < office.index("实操考试：")
    visitor = await demo_chat.say("路人甲", "有考生迟到了咋整")
    assert visitor is not None and "《监考人员守则》3.(3)" in visitor

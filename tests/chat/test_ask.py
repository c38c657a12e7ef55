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

"""Loader: data format, numbering, error reporting."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import KnowledgeBase, KnowledgeFileError
from knowledge.loader import load_documents, load_related, load_synonyms, parse_document, parse_pinned


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        ("1.\t没有标题\n", 1, "title"),
        ("# 标题\n1.\t正文\n2. 没有制表符\n", 3, "no TAB"),
        ("# 标题\n1.\t正文\nx1\t编号不对\n", 3, "malformed clause number"),
        ("# 标题\n1.\t正文\n1.\t重复\n", 3, "duplicate clause number"),
        ("# 标题\n1.\t正文\n2.(1)\t子项在父项之前\n", 3, "before its parent"),
        ("# 标题\n1.\t正文\n2.\t\n", 3, "has no text"),
        ("# 标题\n@1.\t考前：\n2.\t正文\n", 2, "has no sub-items"),
        ("\n\n", 1, "missing title"),
        ("# 标题\n# 只有注释\n", 1, "no clauses"),
    ],
)
def test_malformed_document_names_file_line_and_reason(tmp_path: Path, content: str, line: int, reason: str) -> None:
    """A malformed regulation file raises KnowledgeFileError naming file, line and reason."""
    path = _write(tmp_path, "bad.txt", content)
    with pytest.raises(KnowledgeFileError) as info:
        parse_document(path)
    assert info.value.path == str(path)
    assert info.value.line == line
    assert reason in info.value.reason
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_non_utf8_file_reports_line(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are reported with the line they are on."""
    path = tmp_path / "bad.txt"
    path.write_bytes("# 标题\n1.\t正文\n".encode() + "2.\t坏字节\n".encode("gbk"))
    with pytest.raises(KnowledgeFileError) as info:
        parse_document(path)
    assert info.value.line == 3
    assert "UTF-8" in info.value.reason


def test_malformed_file_in_extra_dir_fails_load(tmp_path: Path) -> None:
    """KnowledgeBase.load propagates the error of a bad file in an extra directory."""
    _write(tmp_path, "extra.txt", "# 新规定\n1.\t正文\n1)\t坏编号\n")
    with pytest.raises(KnowledgeFileError, match=r"extra\.txt:3: malformed clause number"):
        KnowledgeBase.load([tmp_path])


def test_missing_extra_dir_is_an_error(tmp_path: Path) -> None:
    """A configured knowledge directory that does not exist is reported, not ignored."""
    with pytest.raises(KnowledgeFileError, match="does not exist"):
        KnowledgeBase.load([tmp_path / "nope"])


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("监考\t回答\n", "3 TAB-separated fields"),
        ("监考(\t回答\t《监考人员守则》1.\n", "invalid regular expression"),
        ("监考\t回答\t监考人员守则1.\n", "malformed citation"),
        ("监考\t回答\t《监考人员守则》99.\n", "names no loaded clause"),
        ("监考\t回答\t;\n", "no citation"),
    ],
)
def test_malformed_pinned_file(tmp_path: Path, content: str, reason: str) -> None:
    """Pinned-answer errors name file, line and reason."""
    path = _write(tmp_path, "pinned.txt", "# 注释\n" + content)
    with pytest.raises(KnowledgeFileError) as info:
        parse_pinned(path, [("监考人员守则", "1.")])
    assert info.value.line == 2
    assert reason in info.value.reason


def test_synonym_word_in_two_groups_is_an_error(tmp_path: Path) -> None:
    """A word listed in two synonym groups is rejected with both line numbers."""
    path = _write(tmp_path, "synonyms.txt", "试卷 卷子\n手机 电话\n答卷 卷子\n")
    with pytest.raises(KnowledgeFileError, match=r"synonyms\.txt:3: .*卷子.*line 1"):
        load_synonyms(path)


def test_related_rule_without_related_word_is_an_error(tmp_path: Path) -> None:
    """A related-word rule needs a word and at least one related word; the error names file and line."""
    path = _write(tmp_path, "related.txt", "# 注释\n舞弊 违纪\n替考\n")
    with pytest.raises(KnowledgeFileError, match=r"related\.txt:3: "):
        load_related(path)


def test_all_documents_loaded() -> None:
    """Every regulation of the seed is bundled, with its clauses."""
    counts = {d.title: len(d.clauses) for d in load_documents()}
    assert counts == {
        "阅卷评分守则": 9,
        "考评人员管理办法": 36,
        "考评人员守则": 9,
        "监考人员守则": 20,
        "实际操作考场安全工作规则": 8,
        "实际操作考核考场规则": 8,
        "试题管理岗位职责": 7,
        "试卷管理制度": 7,
        "廉政风险防控制度": 7,
        "内部质量督导员守则": 7,
        "考务管理岗位职责": 14,
    }


def test_numbering_and_context_preserved(kb: KnowledgeBase) -> None:
    """Numbers are kept as written, sub-items carry the parent's number and heading as context."""
    c = kb.clause("监考人员守则", "2.(2)")
    assert c is not None
    assert c.context == "考前"
    assert c.text.startswith("考前 40 分钟，监考人员到达考务办公室参加考前会")
    c = kb.clause("考评人员管理办法", "第七条(四)")
    assert c is not None
    assert c.context == "考评人员的工作要求"
    assert c.text.startswith("考务要求。考评组长负责")
    c = kb.clause("考评人员管理办法", "第八条(七)")
    assert c is not None
    assert c.text == "接受任何机构或考生非正当利益，徇私舞弊；"
    assert c.context.startswith("考评人员有以下（一）至（五）情形之一的")
    assert kb.clause("考评人员管理办法", "第八条") is not None
    assert kb.clause("试题管理岗位职责", "3、") is not None
    assert kb.clause("廉政风险防控制度", "4.[2]") is not None
    assert kb.clause("考评人员守则", "前言") is not None
    # heading-only items are context, not answers
    assert kb.clause("监考人员守则", "2.") is None
    assert kb.clause("考评人员管理办法", "第五条") is None


def test_broken_lines_rejoined(kb: KnowledgeBase) -> None:
    """Clauses broken over two lines in the source are one clause."""
    c = kb.clause("监考人员守则", "1.")
    assert c is not None
    assert c.text == (
        "每标准考场应配备 2 名监考人员，其中 1 名为主监考员，1名为副监考员。监考员须佩戴监考员证卡，持证上岗。"
    )
    c = kb.clause("监考人员守则", "2.(3)")
    assert c is not None
    assert "检查职业（工种）名称、等级" in c.text
    c = kb.clause("试卷管理制度", "7.")
    assert c is not None
    assert c.text == "任何人或组织不得以任何理由私自拆启试卷或解释答案，违者追究其法律责任。"


def test_extra_dir_document_is_searchable(tmp_path: Path) -> None:
    """A document in an extra directory is loaded next to the bundled ones and answers questions."""
    _write(tmp_path, "parking.txt", "# 考点停车管理规定\n1.\t考试当天考生车辆一律停放在东门外临时停车场。\n")
    kb = KnowledgeBase.load([tmp_path])
    assert kb.clause("考点停车管理规定", "1.") is not None
    assert kb.clause("监考人员守则", "1.") is not None
    ans = kb.ask("考试当天考生的车停哪")
    assert ans.answer is not None
    assert (ans.answer.doc, ans.answer.clause) == ("考点停车管理规定", "1.")


def test_extra_dir_document_replaces_same_title(tmp_path: Path) -> None:
    """A document with the title of a bundled one replaces it."""
    _write(tmp_path, "new.txt", "# 试卷管理制度\n1.\t试卷由考务办公室统一保管。\n")
    kb = KnowledgeBase.load([tmp_path])
    docs = [c for c in kb.clauses if c.doc == "试卷管理制度"]
    assert [(c.clause, c.text) for c in docs] == [("1.", "试卷由考务办公室统一保管。")]

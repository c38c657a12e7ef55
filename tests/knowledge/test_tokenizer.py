"""Each lexicon segments with a jieba tokenizer of its own words (wt-kb8): knowledge bases built earlier in the process
do not change how a later one segments, and building one again leaves the segmentation as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from knowledge.loader import LEXICON_DIR
from knowledge.text import Analyzer, normalize


def test_building_a_knowledge_base_again_leaves_the_tokenizer_as_it_was(kb: KnowledgeBase) -> None:
    """The same lexicon shares one tokenizer; loading again neither grows its total frequency (the removed phrases of
    userdict.txt used to be added again and deleted on every load) nor changes an answer."""
    total = kb.analyzer.tokenizer.total
    again = KnowledgeBase.load()
    assert again.analyzer.tokenizer is kb.analyzer.tokenizer
    assert again.analyzer.tokenizer.total == total
    question = "考生偷看旁边的咋办"
    assert kb.scored(question) == again.scored(question)


def test_another_lexicons_words_do_not_change_how_the_bundled_one_segments(kb: KnowledgeBase, tmp_path: Path) -> None:
    """An analyzer whose userdict.txt has one more word keeps it whole; the bundled analyzer, built before and after
    it, still cuts the phrase into its parts."""
    phrase = "考场门口"
    before = kb.analyzer.tokens(phrase)
    lexicon = tmp_path / "lexicon"
    shutil.copytree(LEXICON_DIR, lexicon)
    with (lexicon / "userdict.txt").open("a", encoding="utf-8") as f:
        f.write(f"\n{phrase}\n")
    other = Analyzer(lexicon)
    assert [surface for surface, _ in other.tokens(phrase)] == [phrase]
    assert other.tokenizer is not kb.analyzer.tokenizer
    assert kb.analyzer.tokens(phrase) == before
    assert len(before) > 1
    assert Analyzer().tokens(phrase) == before


def test_numbers_apart_stay_apart() -> None:
    # Full-width digits, then a space before a Chinese count: not one number 651.
    assert normalize("两个给６５ 一个给４０") == "2个给65，1个给40"
    assert "651" not in normalize("两个给65 一个给40")
    # Whitespace elsewhere still goes.
    assert normalize("考场 30 分钟") == "考场30分钟"
    assert normalize("一 个人") == "1名"


def test_a_question_is_cut_once_however_often_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 23: judging one question cut it about fifty times (its words, cues, scope checks, the reply's order);
    the analyzer now cuts each text once and gives jieba's own words, as jieba cuts them."""
    kb = KnowledgeBase.load()
    question = "考生作弊被抓了 以后几年不让报考（写给分词缓存的测试）"
    calls: list[str] = []
    original = kb.analyzer.tokenizer.lcut

    def counting(text: str, *args: object, **kwargs: object) -> list[str]:
        calls.append(text)
        return original(text, *args, **kwargs)

    monkeypatch.setattr(kb.analyzer.tokenizer, "lcut", counting)
    kb.ask(question)
    assert calls.count(normalize(question)) == 1, calls
    assert kb.analyzer.cut(question) == tuple(original(normalize(question), HMM=False))
    kb.ask(question)
    assert calls.count(normalize(question)) == 1  # asked again: cut from the cache

"""A clause's example questions taken as one document (features.Examples.profile, session 20)."""

from __future__ import annotations

import pytest

from knowledge import KnowledgeBase
from knowledge.features import FEATURE_NAMES, Examples, best_of

# Clause 0: its examples name the bribe and the plea in different questions; clause 1: one example with both words,
# among others; clause 2: nothing shared.
PER_CLAUSE = [
    [("托关系", "考生"), ("手下留情", "考评员"), ("说情", "打分")],
    [("托关系", "手下留情", "监考员", "试卷", "领取", "时间", "签字", "份数", "装订")],
    [("断电", "设备"), ("考后", "清理")],
]


@pytest.fixture()
def examples() -> Examples:
    return Examples(PER_CLAUSE)


def _profile(examples: Examples, words: list[str], i: int, exclude: str | None = None) -> float:
    return examples.nearness(words, exclude).profile.get(i, 0.0)


def _nearest(examples: Examples, words: list[str], limit: int, exclude: str | None = None) -> list[int]:
    return best_of(examples.nearness(words, exclude).profile, limit)


def test_words_spread_over_several_examples_reach_their_clause(examples: Examples) -> None:
    """A question whose words each occur in one example of a clause scores on that clause's profile; a clause
    none of whose examples shares a word scores 0."""
    words = ["托关系", "手下留情"]
    assert _profile(examples, words, 0) > 0.0
    assert _profile(examples, words, 2) == 0.0
    assert _nearest(examples, words, 3)[:2] == sorted([0, 1], key=lambda i: -_profile(examples, words, i))
    assert 2 not in _nearest(examples, words, 3)


def test_a_longer_profile_weighs_each_word_less(examples: Examples) -> None:
    """BM25's length normalisation: the same two words count for less in clause 1's single long example than in
    clause 0's short ones, so clause 0 leads."""
    words = ["托关系", "手下留情"]
    assert _profile(examples, words, 0) > _profile(examples, words, 1)
    assert _nearest(examples, words, 1) == [0]


def test_an_example_left_out_does_not_count_for_its_clause(examples: Examples) -> None:
    """`exclude` (the training query's own text) removes that example's words from its clause's profile, and only
    from its clause."""
    words = ["托关系", "考生"]
    assert _profile(examples, words, 0) > 0.0
    assert _profile(examples, words, 0, exclude="托关系考生") == 0.0
    assert _profile(examples, words, 1, exclude="托关系考生") == _profile(examples, words, 1)
    assert 0 not in _nearest(examples, words, 3, exclude="托关系考生")


def test_unknown_words_lower_the_profile_score(examples: Examples) -> None:
    """Words no example uses still count in the divisor: a question that is mostly unknown words scores less."""
    assert _profile(examples, ["托关系", "火锅", "停车"], 0) < _profile(examples, ["托关系"], 0)


def test_the_profile_is_a_ranker_feature(kb: KnowledgeBase) -> None:
    """The features carry each candidate's profile and its gap to the best candidate's."""
    at, gap = FEATURE_NAMES.index("example_profile"), FEATURE_NAMES.index("example_profile_gap")
    _, rows = kb.features("考前多少分钟到考务办公室开会")
    best = max(row[at] for row in rows)
    assert best > 0.0
    assert all(row[gap] == pytest.approx(best - row[at]) for row in rows)

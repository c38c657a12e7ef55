"""The second opinion (knowledge/second.py): gradient-boosted trees answer, hedged, a question the rule refuses when
they are sure; they never change a reply the regression gives, and never commit."""

from __future__ import annotations

import dataclasses
import math

import pytest
from kb_golden import read_questions

from knowledge import KnowledgeBase, second
from knowledge.features import FEATURE_NAMES, read_examples
from knowledge.fit_ranker import EXAMPLES_OOD
from knowledge.ranker import Trees

TUNING = read_questions()


def _constant(p: float) -> Trees:
    """Trees that give every candidate probability p (one leaf)."""
    leaf = {"feature": [-1], "threshold": [0.0], "left": [0], "right": [0], "value": [0.0]}
    return Trees.from_dict({"baseline": math.log(p / (1 - p)), "trees": [leaf]}, len(FEATURE_NAMES))


def _prefer_not_first() -> Trees:
    """Trees that prefer a candidate the lexical search does not rank first (reciprocal rank 1/2 or less)."""
    rank = FEATURE_NAMES.index("reciprocal_rank")
    tree = {"feature": [rank, -1, -1], "threshold": [0.75, 0.0, 0.0], "left": [1, 0, 0], "right": [2, 0, 0]}
    return Trees.from_dict({"baseline": 0.0, "trees": [{**tree, "value": [0.0, 2.0, -2.0]}]}, len(FEATURE_NAMES))


def _with(kb: KnowledgeBase, trees: Trees | None, threshold: float = 1.01) -> KnowledgeBase:
    return KnowledgeBase.load(ranker=dataclasses.replace(kb.ranker, second=trees, second_threshold=threshold))


@pytest.fixture(scope="module")
def first(kb: KnowledgeBase) -> KnowledgeBase:
    """The knowledge base with the regression alone."""
    return _with(kb, None)


def test_the_shipped_second_opinion() -> None:
    """The shipped ranker has a second opinion whose threshold answers something and is above one half."""
    ranker = KnowledgeBase.load().ranker
    assert ranker.second is not None and len(ranker.second.trees) >= 10
    assert 0.5 < ranker.second_threshold < 1.0


def test_sure_trees_answer_a_refused_question_hedged(kb: KnowledgeBase, first: KnowledgeBase) -> None:
    """A question the rule refuses and the scope checks let through is answered when the trees reach the threshold,
    with two or three clauses and a commit probability of 0; below the threshold it stays refused."""
    refused = [q.question for q in TUNING if first.ask(q.question).answer is None]
    # Two candidates at least: a hedged reply shows two or three clauses.
    refused = [
        q
        for q in refused
        if len(first.probabilities(q)) > 1 and first.out_of_scope(q, first.probabilities(q)[0][0]) is None
    ]
    assert refused
    question = refused[0]
    assert _with(kb, _constant(0.8), threshold=0.85).ask(question).answer is None
    sure = _with(kb, _constant(0.9), threshold=0.85)
    ans = sure.ask(question)
    assert ans.answer is not None and ans.alternatives
    assert sure.commit_probability(question) == 0.0


def test_a_vetoed_question_is_never_rescued(kb: KnowledgeBase) -> None:
    """The scope checks win over the trees: 考场厕所在几楼 asks for a place no clause names."""
    assert _with(kb, _constant(0.99), threshold=0.5).ask("考场厕所在几楼").answer is None


def test_trees_that_disagree_do_not_change_an_answered_reply(kb: KnowledgeBase, first: KnowledgeBase) -> None:
    """Where the trees' best clause is not the regression's, a question the regression answers gets the same reply
    as without the trees (session 20: leading with the trees' clause took more right answers away than it gave)."""
    other = _with(kb, _prefer_not_first())
    disagreed = 0
    for q in TUNING[:80]:
        if not q.in_domain:
            continue
        before, after = first.ask(q.question), other.ask(q.question)
        if before.answer is None:
            continue
        ranked = first.probabilities(q.question)
        opinion = {i: other.ranker.second.decision(r) for i, r in _rows(first, q.question)}  # type: ignore[union-attr]
        disagreed += second.best(opinion, ranked) != ranked[0][0]
        assert after == before, q.question
    assert disagreed >= 5


def _rows(kb: KnowledgeBase, question: str) -> list[tuple[int, list[float]]]:
    candidates, rows = kb.features(question)
    return [(c.index, r) for c, r in zip(candidates, rows, strict=True)]


def test_out_of_domain_training_questions_stay_refused(kb: KnowledgeBase) -> None:
    """No out-of-domain training question (tuning set, out-of-domain examples) is answered with the second opinion
    on: its threshold is fitted above them (knowledge/fit_ranker.py)."""
    questions = [q.question for q in TUNING if not q.in_domain]
    questions += [q for _, _, q in read_examples(EXAMPLES_OOD)]
    assert kb.ranker.second is not None
    assert [q for q in questions if kb.ask(q).answer is not None] == []


@pytest.mark.parametrize(
    "tree",
    [
        {"feature": [0, -1, -1], "threshold": [float("inf"), 0.0, 0.0], "left": [1, 0, 0], "right": [2, 0, 0]},
        {"feature": [0, -1, -1], "threshold": [0.5, 0.0, 0.0], "left": [0, 0, 0], "right": [2, 0, 0]},
        {"feature": [len(FEATURE_NAMES), -1, -1], "threshold": [0.5, 0.0, 0.0], "left": [1, 0, 0], "right": [2, 0, 0]},
        {"feature": [0, -1], "threshold": [0.5, 0.0, 0.0], "left": [1, 0, 0], "right": [2, 0, 0]},
    ],
    ids=["infinite threshold", "a node its own child", "unknown feature", "columns of different lengths"],
)
def test_malformed_trees_are_refused(tree: dict[str, list[float]]) -> None:
    """The trees are compiled into code: a file with anything but a well-formed tree of finite numbers is refused
    (Ranker.load turns the error into a KnowledgeFileError naming the file)."""
    with pytest.raises(ValueError, match="malformed tree"):
        Trees.from_dict({"baseline": 0.0, "trees": [{**tree, "value": [0.0, 1.0, -1.0]}]}, len(FEATURE_NAMES))


def test_compiled_trees_walk_the_nodes() -> None:
    """A row goes left when its feature is at most the threshold, right otherwise; leaves and baseline add up."""
    tree = {"feature": [1, -1, -1], "threshold": [0.5, 0.0, 0.0], "left": [1, 0, 0], "right": [2, 0, 0]}
    trees = Trees.from_dict({"baseline": 0.25, "trees": [{**tree, "value": [0.0, 1.0, -1.0]}] * 2}, 3)
    assert trees.decision([9.0, 0.5, 9.0]) == pytest.approx(2.25)
    assert trees.decision([9.0, 0.51, 9.0]) == pytest.approx(-1.75)

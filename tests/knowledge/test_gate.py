"""The gate (knowledge/fit_gate.py, Ranker.admits): a logistic regression fitted on the development sets' phone
questions answers, hedged, some questions the answer rule refuses; it never takes an answer away, never commits,
and answers no out-of-domain training question."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from kb_golden import read_questions

from knowledge import AskContext, KnowledgeBase, KnowledgeFileError, format_answer
from knowledge.features import read_examples
from knowledge.fit_gate import GATE_THRESHOLD, GateRow, admitted, dev_sets, leave_one_set_out
from knowledge.fit_ranker import EXAMPLES_OOD
from knowledge.ranker import GATE_FEATURES, RANKER_FILE, Ranker


@pytest.fixture(scope="module")
def ungated(kb: KnowledgeBase) -> KnowledgeBase:
    """The knowledge base with the answer rule alone (no gate)."""
    return KnowledgeBase.load(ranker=dataclasses.replace(kb.ranker, gate=None))


@pytest.mark.parametrize(
    ("question", "role", "kind", "expected"),
    [
        # Both use words the regulations do not (家长 and 车间 for 非本场考核人员 and 考场, 考务办 for 考务办公室):
        # the rule refuses them, the gate answers. (考场能放汽油桶吗 was one until session 22 raised the threshold to
        # 0.8, 我想上厕所 能把考场扔给副监考一会吗 until session 23's near misses made the gate more careful,
        # 俩人打的分不一样吵起来了 谁定 until session 24's near-miss pairs did again: see knowledge/fit_gate.py.)
        ("考生家长想进车间看看 让不让", "evaluator", "practical", ("实际操作考核考场规则", "1.")),
        ("考务办日常听谁的", "office", "", ("考务管理岗位职责", "前言")),
    ],
)
def test_the_gate_answers_hedged_what_the_rule_refuses(
    kb: KnowledgeBase, ungated: KnowledgeBase, question: str, role: str, kind: str, expected: tuple[str, str]
) -> None:
    context = AskContext(roles=frozenset({role}), kind=kind)
    assert ungated.ask(question, context).answer is None
    ans = kb.ask(question, context)
    assert ans.answer is not None and (ans.answer.doc, ans.answer.clause) == expected
    assert not ans.committed and "也可能是" in format_answer(ans)


def test_the_gate_never_takes_an_answer_away_nor_changes_one(kb: KnowledgeBase, ungated: KnowledgeBase) -> None:
    """Over the tuning set and the first development set, every question the rule answers gets the same reply."""
    from kb_golden import DEV_TSV

    for q in read_questions() + read_questions(DEV_TSV):
        before = ungated.ask(q.question)
        if before.answer is not None:
            assert kb.ask(q.question) == before, q.question


def test_no_out_of_domain_training_question_passes_the_gate(kb: KnowledgeBase) -> None:
    """The threshold is above every out-of-domain question of the tuning set and examples_ood.tsv (it is raised
    when one reaches it): all are refused."""
    assert kb.ranker.gate is not None and kb.ranker.gate_threshold >= GATE_THRESHOLD
    questions = [q.question for q in read_questions() if not q.in_domain]
    questions += [q for _, _, q in read_examples(EXAMPLES_OOD)]
    answered = [q for q in questions if kb.ask(q).answer is not None]
    assert answered == []


def test_the_gate_is_fitted_on_the_development_sets_only() -> None:
    """The sets the shipped gate was fitted on are the development sets; no held-out set is among them."""
    gate = json.loads(RANKER_FILE.read_text(encoding="utf-8"))["gate"]
    assert gate["sets"] == [p.name for p in dev_sets()] and len(gate["sets"]) >= 13
    assert not any("heldout" in name for name in gate["sets"])
    figures = gate["leave_one_set_out_not_a_result"]
    assert figures["gate_right"] >= figures["rule_right"] and figures["gate_ood"] <= figures["rule_ood"]


def test_a_ranker_without_a_gate_or_trees_admits_nothing(kb: KnowledgeBase) -> None:
    row = [0.0] * (len(GATE_FEATURES) - 3)
    assert dataclasses.replace(kb.ranker, gate=None).gate_probability(row, 0.9, 0.9) == 0.0
    assert dataclasses.replace(kb.ranker, second=None).gate_probability(row, 0.9, 0.9) == 0.0
    assert not dataclasses.replace(kb.ranker, gate=None).admits(row, 0.9, 0.9, lambda: True)


def test_the_gate_defers_to_the_scope_checks(kb: KnowledgeBase) -> None:
    """A gate sure of every clause still does not answer what the scope checks veto."""
    assert kb.ranker.gate is not None
    sure = dataclasses.replace(kb.ranker, gate_threshold=0.0)
    row = [0.0] * (len(GATE_FEATURES) - 3)
    assert sure.admits(row, 0.5, 0.5, lambda: True)
    assert not sure.admits(row, 0.5, 0.5, lambda: False)


def test_a_gate_with_other_features_is_refused(tmp_path: Path) -> None:
    data = json.loads(RANKER_FILE.read_text(encoding="utf-8"))
    data["gate"]["features"] = data["gate"]["features"][:-1]
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(KnowledgeFileError, match="gate features"):
        Ranker.load(path)
    assert Ranker.load(RANKER_FILE).gate is not None
    del data["gate"]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert Ranker.load(path).gate is None


def _row(x: float, *, right: bool, in_domain: bool = True, answered: bool = False, in_scope: bool = True) -> GateRow:
    return GateRow([x, 1.0 - x], right, in_domain, answered, in_scope)


def test_admitted_is_the_rule_or_the_gate_within_scope() -> None:
    assert admitted(_row(0.0, right=True, answered=True), 0.0, 0.75)
    assert admitted(_row(0.0, right=True), 0.8, 0.75)
    assert not admitted(_row(0.0, right=True), 0.7, 0.75)
    assert not admitted(_row(0.0, right=True, in_scope=False), 0.99, 0.75)


def test_leave_one_set_out_counts_each_set_with_a_gate_fitted_on_the_others() -> None:
    """A feature that separates right best clauses from the rest in every set: each set's refused right questions
    are answered by a gate fitted on the other sets, and its out-of-domain ones are not."""
    sets = [
        [
            _row(1.0, right=True),
            _row(1.0, right=True, answered=True),
            _row(0.0, right=False),
            _row(0.0, right=False, in_domain=False),
            _row(0.0, right=False, in_domain=False, answered=True),
        ]
        for _ in range(3)
    ]
    figures = leave_one_set_out(sets, 0.5)
    assert figures == {
        "in_domain": 9,
        "out_of_domain": 6,
        "rule_right": 3,
        "rule_ood": 3,
        "gate_right": 6,
        "gate_ood": 3,
    }

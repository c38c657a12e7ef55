"""Golden question table: accuracy on tests/data/kb_questions.tsv."""

from __future__ import annotations

import pytest
from kb_golden import GoldenQuestion, read_questions

from knowledge import Answer, KnowledgeBase

QUESTIONS = read_questions()
IN_DOMAIN = [q for q in QUESTIONS if q.in_domain]
OUT_OF_DOMAIN = [q for q in QUESTIONS if not q.in_domain]


def _top1_ok(ans: Answer, q: GoldenQuestion) -> bool:
    if ans.answer is None:
        return False
    if ans.pinned:
        return any((m.doc, m.clause) in q.accepted for m in ans.matches)
    return (ans.answer.doc, ans.answer.clause) in q.accepted


def _top3_ok(ans: Answer, q: GoldenQuestion) -> bool:
    return any((m.doc, m.clause) in q.accepted for m in ans.matches[:3])


def test_question_set_size_and_spread(kb: KnowledgeBase) -> None:
    """The set has >= 100 in-domain questions covering every document and >= 20 out-of-domain ones."""
    assert len(IN_DOMAIN) >= 100
    assert len(OUT_OF_DOMAIN) >= 20
    covered = {doc for q in IN_DOMAIN for doc, _ in q.accepted}
    assert covered >= {c.doc for c in kb.clauses}
    for q in IN_DOMAIN:
        for doc, clause in q.accepted:
            assert kb.clause(doc, clause) is not None, (q.question, doc, clause)


@pytest.mark.parametrize("q", OUT_OF_DOMAIN, ids=[q.question for q in OUT_OF_DOMAIN])
def test_out_of_domain_question_gets_dont_know(kb: KnowledgeBase, q: GoldenQuestion) -> None:
    """An out-of-domain question gets "don't know"."""
    ans = kb.ask(q.question)
    assert ans.answer is None, ans.answer


def test_accuracy_thresholds(kb: KnowledgeBase) -> None:
    """Top-1 (answered and right) >= 95 % and top-3 >= 99 % over the in-domain questions."""
    answers = [(q, kb.ask(q.question)) for q in IN_DOMAIN]
    top1 = sum(_top1_ok(a, q) for q, a in answers) / len(answers)
    top3 = sum(_top3_ok(a, q) for q, a in answers) / len(answers)
    misses = [q.question for q, a in answers if not _top1_ok(a, q)]
    assert top1 >= 0.95, (top1, misses)
    assert top3 >= 0.99, (top3, [q.question for q, a in answers if not _top3_ok(a, q)])

"""When to commit to one clause: context steering, hedging between close clauses, rules that differ by kind.

Works on the candidates of ``KnowledgeBase`` ranked by the fitted ranker (clause index, probability that the
clause answers the question). Whether to commit comes from the ranker's commit model (``sure``: its calibrated
probability that the best clause is right reached the threshold that knowledge/fit_ranker.py chose on
cross-validated answers); without it (``sure=None``) the margins below decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.context import KIND_LABELS, PRACTICAL, THEORY, AskContext, counterparts, doc_bonus, named_kind
from knowledge.models import Clause

# Defaults for callers without a ranker: the best two closer than this (after context steering) are both shown
# ("最可能是…；也可能是…"); two clauses from different documents are a different answer, not a nuance, so they
# are hedged up to the wider margin.
CLOSE_MARGIN = 0.08
CROSS_DOC_MARGIN = 0.12
MAX_SHOWN = 3
# A hedged reply shows a third clause only when its probability is at least this share of the best one's (0.25
# before wt-kb2; 0.15 shows the right third clause of 2 more example questions out of fold and hedges no more replies).
THIRD_SHARE = 0.15
# Even when the commit model is sure, the reply hedges when the runner-up has at least this share of the best one's
# probability (wt-kb2; knowledge/fit_ranker.py then chooses the commit threshold with this rule in place).
SECOND_SHARE = 0.4


@dataclass(frozen=True)
class Decision:
    """Ranked candidates and what to show: `lead` first, then `others` (each with a label when by kind)."""

    ranked: list[tuple[int, float]]  # steered order, raw scores
    lead: int
    others: list[int]
    labels: tuple[str, ...] = ()


def steer(
    clauses: Sequence[Clause], ranked: Sequence[tuple[int, float]], question: str, context: AskContext
) -> list[tuple[int, float, float]]:
    """(clause index, raw score, steered score), best steered first: the asker's role and kind of exam
    (or the kind the question names) add a small bonus to the clauses of their documents."""
    named = named_kind(question)
    out = [(i, s, s + doc_bonus(clauses[i].doc, context, named)) for i, s in ranked]
    out.sort(key=lambda t: (-t[2], t[0]))
    return out


def decide(
    clauses: Sequence[Clause],
    ranked: Sequence[tuple[int, float]],
    question: str,
    context: AskContext,
    *,
    sure: bool | None = None,
    margin: float = CLOSE_MARGIN,
    cross_doc_margin: float = CROSS_DOC_MARGIN,
) -> Decision:
    """Order the candidates for this asker and decide which clauses the reply shows.

    With `sure` (the commit model's verdict on the unsteered best clause): one clause when sure, the asker's
    context did not change the best clause and the runner-up is below SECOND_SHARE of it, else the two or three
    best. Without it: one clause when the next is at least `margin` behind (`cross_doc_margin` when it is from
    another document), else the two or three best."""
    steered = steer(clauses, ranked, question, context)
    order = [(i, s) for i, s, _ in steered]
    lead, lead_raw, lead_steered = steered[0]
    by_kind = _by_kind(clauses, steered, question, context)
    if by_kind is not None:
        return Decision(order, *by_kind)
    if sure is not None:
        if sure and lead == ranked[0][0] and (len(steered) < 2 or steered[1][1] < SECOND_SHARE * lead_raw):
            return Decision(order, lead, [])
        rest = steered[1:MAX_SHOWN]
        others = [i for k, (i, s, _) in enumerate(rest) if k == 0 or s >= THIRD_SHARE * lead_raw]
        return Decision(order, lead, others)
    others: list[int] = []
    for i, _, v in steered[1:MAX_SHOWN]:
        other_doc = clauses[i].doc != clauses[lead].doc
        if lead_steered - v < (cross_doc_margin if other_doc else margin):
            others.append(i)
        else:
            break
    return Decision(order, lead, others)


def _by_kind(
    clauses: Sequence[Clause], steered: list[tuple[int, float, float]], question: str, context: AskContext
) -> tuple[int, list[int], tuple[str, ...]] | None:
    """Both kinds' clauses, labelled, the asker's kind first (theory when unknown), when the question
    names no kind and is about a rule that differs by kind whose clause is the best one (a better clause
    of neither kind is never pushed aside)."""
    if named_kind(question):
        return None
    lead = steered[0][0]
    pair = counterparts(question, [(clauses[lead].doc, clauses[lead].clause)])
    if pair is None:
        return None
    where = {(clauses[i].doc, clauses[i].clause): i for i, _, _ in steered}
    index = {key: where.get(key, _find(clauses, key)) for key in pair}
    if None in index.values():
        return None
    theory, practical = (index[key] for key in pair)
    assert theory is not None and practical is not None
    if context.exam_kind == PRACTICAL:
        return practical, [theory], (KIND_LABELS[PRACTICAL], KIND_LABELS[THEORY])
    return theory, [practical], (KIND_LABELS[THEORY], KIND_LABELS[PRACTICAL])


def _find(clauses: Sequence[Clause], key: tuple[str, str]) -> int | None:
    """Index of the clause with this (doc, clause), None when the knowledge base lacks it."""
    return next((i for i, c in enumerate(clauses) if (c.doc, c.clause) == key), None)

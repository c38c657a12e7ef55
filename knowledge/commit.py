"""When to commit to one clause: context steering, hedging between close clauses, rules that differ by kind.

Works on the candidates of ``KnowledgeBase`` ranked by the fitted ranker (clause index, probability that the
clause answers the question). Whether to commit comes from the ranker's commit model (``sure``: its calibrated
probability that the best clause is right reached the threshold that knowledge/fit_ranker.py chose on
cross-validated answers); without it (``sure=None``) the margins below decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.context import (
    KIND_LABELS,
    PRACTICAL,
    THEORY,
    AskContext,
    counterparts,
    doc_bonus,
    named_kind,
    other_room,
    role_docs,
)
from knowledge.models import Clause
from knowledge.scope import DOC_STAFF, STAFF_WORDS

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
# A clause of the asker's own room rules (or of no room's) is shown first in place of a best clause from the other
# kind's room rules when its probability is at least this; without one the reply is "don't know" (wt-kb9).
OWN_ROOM_FLOOR = 0.05
# The staff each asker's role is (knowledge/scope.py DOC_STAFF): whose own rules are theirs.
ROLE_STAFF = {"invigilator": "监考人员", "evaluator": "考评人员", "supervisor": "内部质量督导员"}


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
    (or the kind the question names) add a small bonus to the clauses of their documents, in proportion to each
    clause's share of the best score, so that it reorders near-equals and never lifts a clause at half the best's
    probability over it (session 23: 有考生中暑了 asked by a theory invigilator led with the 15-minute warning)."""
    named = named_kind(question)
    top = max((s for _, s in ranked), default=0.0) or 1.0
    out = [(i, s, s + doc_bonus(clauses[i].doc, context, named) * min(1.0, s / top)) for i, s in ranked]
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
    context did not change the best clause and the runner-up is below SECOND_SHARE of it (unless it holds another
    staff's own rules: the asker's own nearest rule then leads, see _asker_own), else the two or three best.
    Without it: one clause when the next is at least `margin` behind (`cross_doc_margin` when it is from
    another document), else the two or three best."""
    steered = steer(clauses, ranked, question, context)
    order = [(i, s) for i, s, _ in steered]
    lead, lead_raw, lead_steered = steered[0]
    by_kind = _by_kind(clauses, steered, question, context)
    if by_kind is not None:
        return Decision(order, *by_kind)
    if sure is not None:
        if sure and lead == ranked[0][0] and (len(steered) < 2 or steered[1][1] < SECOND_SHARE * lead_raw):
            own = _asker_own(clauses, steered, question, context)
            return Decision(order, lead, []) if own is None else Decision(order, own, [lead])
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


def _asker_own(
    clauses: Sequence[Clause], steered: list[tuple[int, float, float]], question: str, context: AskContext
) -> int | None:
    """The asker's own rule to show beside a best clause that holds another staff's own rules, for a question that
    names no staff (session 25: a theory invigilator's 考前要检查什么 got the evaluators' 考前检查 alone): the best of
    the asker's role's documents with OWN_ROOM_FLOOR or more, None when there is none or the lead is theirs too. It
    leads, hedged, with the other staff's rule second: the question asked of no one else is about the asker's duty."""
    staff = {ROLE_STAFF[r] for r in context.roles if r in ROLE_STAFF}
    lead = clauses[steered[0][0]]
    if len(staff) != 1 or any(rx.search(question) for rx in STAFF_WORDS.values()):  # names some staff
        return None
    (mine,) = staff
    if DOC_STAFF.get(lead.doc, mine) == mine or STAFF_WORDS[mine].search(lead.text):
        return None
    docs = role_docs(context)
    return next((i for i, p, _ in steered[1:] if p >= OWN_ROOM_FLOOR and clauses[i].doc in docs), None)


def own_room(
    clauses: Sequence[Clause], ranked: Sequence[tuple[int, float]], question: str, context: AskContext
) -> list[int] | None:
    """What to show when the best clause holds the room rules of the other kind of exam than the asker's
    (context.other_room), None when it does not or the rule differs by kind (both are shown, labelled). The rules of
    one room are not the other's: the best clause from neither that room's rules with probability OWN_ROOM_FLOOR or
    more leads, the best clause follows (hedged); without one, [] (the reply is "don't know", with the clause among
    the nearest)."""
    lead = clauses[ranked[0][0]]
    if not other_room(lead.doc, question, context) or counterparts(question, [(lead.doc, lead.clause)]):
        return None
    own = [i for i, p in ranked[1:] if p >= OWN_ROOM_FLOOR and not other_room(clauses[i].doc, question, context)]
    return [own[0], ranked[0][0]] if own else []


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

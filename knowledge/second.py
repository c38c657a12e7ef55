"""The second opinion: gradient-boosted trees over the same candidate features as the ranker (session 19).

On the development sets the trees put the right clause first more often than the logistic regression (93.6 % against
91.9 % of 1,565 questions none of them was fitted on), but they are less calibrated: fed to the answer rule and the
commit model in its place they answered more out-of-domain questions and committed to more wrong clauses
(knowledge/EVAL.md). So the regression still decides whether to answer and whether to commit, and the trees have
one say only, which gives a hedged reply (two or three clauses, each cited), never a committed one: **a question the
rule refuses** is answered when the trees give their best candidate ``second_threshold`` or more and the scope
checks let both best clauses through. knowledge/fit_ranker.py holds the threshold fixed and raises it where the
trees' out-of-fold probability of an out-of-domain training question the rule refuses reaches it.

Session 19 also let the trees' best clause lead where it was not the regression's. Once the regression had the
examples' profile (knowledge/profile.py, session 20) that put the right clause first for 9 development questions and
took it away from 15, so it was dropped (knowledge/EVAL.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from knowledge.ranker import Ranker, sigmoid


def opinion(ranker: Ranker, indices: Sequence[int], rows: Sequence[Sequence[float]]) -> dict[int, float]:
    """The trees' probability per candidate clause index (empty without a second opinion)."""
    if ranker.second is None:
        return {}
    return {i: sigmoid(ranker.second.decision(row)) for i, row in zip(indices, rows, strict=True)}


def best(second: dict[int, float], ranked: Sequence[tuple[int, float]]) -> int:
    """The trees' best candidate; on equal probabilities the regression's order decides."""
    position = {i: k for k, (i, _) in enumerate(ranked)}
    return min(second, key=lambda i: (-second[i], position.get(i, len(position))))


def rescues(
    ranker: Ranker,
    second: dict[int, float],
    ranked: Sequence[tuple[int, float]],
    out_of_scope: Callable[[int], str | None],
) -> bool:
    """Whether a question the answer rule refuses is answered (hedged) on the trees' word: their best candidate has
    ``second_threshold`` or more, and the scope checks (`out_of_scope`: why clause i cannot answer, None when it
    may) let both best clauses through."""
    if not second or not ranked:
        return False
    lead = best(second, ranked)
    if second[lead] < ranker.second_threshold:
        return False
    return out_of_scope(ranked[0][0]) is None and out_of_scope(lead) is None

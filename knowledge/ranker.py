"""The fitted ranker at runtime: two logistic regressions and a second opinion of gradient-boosted trees, scored
with plain arithmetic (no scikit-learn).

The ranker proper scores each candidate clause of a question (is it a right clause?) and orders them; the commit
model scores the best candidate (is it the right clause?) from both best candidates' log-odds and how they compare,
and the reply commits to it from ``commit_threshold`` on.

Whether to answer at all is the hand-set rule of the lexical search, applied to the ranker's best clause (the
``hand_gate`` feature, knowledge/features.py), with one exception: a question very close to one of the best clause's
example questions (bigram Dice ``example_threshold`` or more) is answered even when it uses too few of the clause's
own words (staff ask in words the regulations do not use), and a best clause the ranker itself gives probability
``probability_threshold`` or more is answered too (the hand-set rule refuses questions in everyday words, 还是 / 觉得 /
年纪, although the ranker is sure of the clause). knowledge/fit_ranker.py sets both thresholds above every out-of-domain
training question (out of fold). A fitted gate was tried and dropped: out of fold it rescued none of the in-domain
questions that rule refuses, and it could not refuse the out-of-domain examples that rule lets through without
refusing as many in-domain questions (knowledge/EVAL.md).

The second opinion (``Trees``, session 19) is less calibrated than the regression: it does not replace it, it answers
(hedged) some questions the regression refuses (knowledge/second.py).

The gate (session 21, knowledge/fit_gate.py) is a third logistic regression, over the best candidate's row and the
three models' log-odds for it, fitted on phone questions none of the others was fitted on: it too answers (hedged)
some questions all of the above refuse, and takes no answer away.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from knowledge.features import FEATURE_NAMES
from knowledge.loader import DATA_DIR, KnowledgeFileError

RANKER_FILE = DATA_DIR / "ranker.json"
_HAND_GATE = FEATURE_NAMES.index("hand_gate")
# The commit model: is the best candidate the right clause? From both best candidates' log-odds and how they compare.
COMMIT_FEATURES: tuple[str, ...] = (
    "logit",
    "second_logit",
    "lead",
    "score_lead",
    "example_lead",
    "same_doc",
    "coverage",
    "example_dice",
    "q_unknown_words",
)
# The gate (session 21): is the best candidate right? From its feature row and the log-odds of the ranker, the second
# opinion and the commit model for it. Fitted on the development sets' phone questions (knowledge/fit_gate.py).
GATE_FEATURES: tuple[str, ...] = (*FEATURE_NAMES, "logit", "trees_logit", "commit_logit")
_SCORE = FEATURE_NAMES.index("score")
_EXAMPLE = FEATURE_NAMES.index("example_dice")
_COVERAGE = FEATURE_NAMES.index("coverage")
_UNKNOWN = FEATURE_NAMES.index("q_unknown_words")
_DOMAIN = FEATURE_NAMES.index("q_domain")


@dataclass(frozen=True)
class Linear:
    """Standardised linear model: log-odds = intercept + sum(coef * (x - mean) / scale)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    @classmethod
    def from_dict(cls, data: dict[str, Any], size: int) -> Linear:
        """Read the mean, scale, coef and intercept of a model with `size` features."""
        model = cls(
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            coef=tuple(float(v) for v in data["coef"]),
            intercept=float(data["intercept"]),
        )
        if not len(model.mean) == len(model.scale) == len(model.coef) == size:
            raise ValueError("wrong number of coefficients")
        return model

    def decision(self, row: Sequence[float]) -> float:
        """The log-odds of one feature row; equals scikit-learn's decision_function on the standardised row."""
        total = self.intercept
        for x, m, s, w in zip(row, self.mean, self.scale, self.coef, strict=True):
            total += w * (x - m) / s
        return total


# One tree as (feature, threshold, left, right, value) per node.
Tree = tuple[tuple[int, ...], tuple[float, ...], tuple[int, ...], tuple[int, ...], tuple[float, ...]]


@dataclass(frozen=True)
class Trees:
    """Gradient-boosted regression trees (scikit-learn's HistGradientBoostingClassifier), flattened: log-odds =
    baseline + the value of the leaf each tree sends the row to. Node k of a tree is a leaf when feature[k] < 0;
    otherwise the row goes to left[k] when row[feature[k]] <= threshold[k], else to right[k] (scikit-learn's rule
    for rows without missing values).

    The trees are compiled once into one Python expression of nested conditionals (`_compile`): walking 150 trees
    node by node took about 0.6 ms per question, a sixth of the whole answer."""

    baseline: float
    trees: tuple[Tree, ...]
    _score: Callable[[Sequence[float]], float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_score", _compile(self.baseline, self.trees))

    @classmethod
    def from_dict(cls, data: dict[str, Any], size: int) -> Trees:
        """Read the baseline and the trees (feature, threshold, left, right, value per node) of a model."""
        trees = []
        for tree in data["trees"]:
            feature = tuple(int(v) for v in tree["feature"])
            threshold = tuple(float(v) for v in tree["threshold"])
            left = tuple(int(v) for v in tree["left"])
            right = tuple(int(v) for v in tree["right"])
            value = tuple(float(v) for v in tree["value"])
            if not feature or any(len(c) != len(feature) for c in (threshold, left, right, value)):
                raise ValueError("malformed tree")
            for k, f in enumerate(feature):
                if f >= size or not (math.isfinite(threshold[k]) and math.isfinite(value[k])):
                    raise ValueError("malformed tree")
                if f >= 0 and not (k < left[k] < len(feature) and k < right[k] < len(feature)):
                    raise ValueError("malformed tree")  # children come after their node: no cycle
            trees.append((feature, threshold, left, right, value))
        return cls(float(data["baseline"]), tuple(trees))

    def decision(self, row: Sequence[float]) -> float:
        """The log-odds of one feature row; equals scikit-learn's decision_function."""
        return self._score(row)


def _compile(baseline: float, trees: Sequence[Tree]) -> Callable[[Sequence[float]], float]:
    """One function computing baseline + every tree's leaf value for a row. The source holds nothing but the
    numbers of the trees (ints and finite floats, checked by Trees.from_dict), so compiling it runs no data."""

    def node(tree: Tree, k: int) -> str:
        feature, threshold, left, right, value = tree
        if feature[k] < 0:
            return repr(value[k])
        return f"({node(tree, left[k])} if r[{feature[k]}] <= {threshold[k]!r} else {node(tree, right[k])})"

    source = " + ".join([repr(float(baseline)), *(node(tree, 0) for tree in trees)])
    return eval(compile(f"lambda r: {source}", "<ranker trees>", "eval"), {"__builtins__": {}})


def _second_opinion(data: dict[str, Any] | None) -> dict[str, Any]:
    """The Ranker fields of a ranker file's second opinion (none when the file has none)."""
    if data is None:
        return {}
    return {"second": Trees.from_dict(data, len(FEATURE_NAMES)), "second_threshold": float(data["threshold"])}


def _gate(data: dict[str, Any] | None) -> dict[str, Any]:
    """The Ranker fields of a ranker file's gate (none when the file has none)."""
    if data is None:
        return {}
    if tuple(data["features"]) != GATE_FEATURES:
        raise ValueError("gate features differ from knowledge/ranker.py: run python -m knowledge.fit_ranker")
    return {"gate": Linear.from_dict(data, len(GATE_FEATURES)), "gate_threshold": float(data["threshold"])}


def gate_row(trees: Trees, best_row: Sequence[float], probability: float, sure: float) -> list[float]:
    """The gate's features (GATE_FEATURES) of the best candidate: its row and the log-odds of the ranker's
    `probability`, of the second opinion's `trees` and of the commit model's `sure` for it."""
    return [*best_row, _logit(probability), trees.decision(best_row), _logit(sure)]


def sigmoid(z: float) -> float:
    """Logistic function, without overflow."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Ranking:
    """The candidates of a question ranked: (clause index, probability) most probable first, the best one's
    feature row and the commit model's probability that it is right."""

    ranked: list[tuple[int, float]]
    best_row: Sequence[float]
    sure: float


class Judged(NamedTuple):
    """What the knowledge base makes of a question (KnowledgeBase.judge): the candidates ranked, whether to answer,
    the commit model's probability when the rule answers (0 otherwise: the reply hedges) and the ranking itself
    (None without candidates), for the fits that read its rows."""

    ranked: list[tuple[int, float]]
    answer: bool
    sure: float
    ranking: Ranking | None
    # Why the best clause cannot answer (knowledge/scope.py; "" when it may), None when the checks were not asked.
    veto: str | None = None


@dataclass(frozen=True)
class Ranker:
    """The candidate model, the commit model and its threshold.

    ``commit_threshold``: the reply commits to one clause only when the commit model's probability that the best
    clause is right reaches it; otherwise it shows the two or three best (knowledge/commit.py).
    ``example_threshold``: a best clause with an example question at least this similar to the question (bigram
    Dice) is answered even when the hand-set rule would refuse it.
    ``probability_threshold``: so is a best clause whose ranker probability reaches it.
    ``hedge_threshold``: a question that names an exam word, refused by all of the above, whose best clause has
    at least this ranker probability gets the two or three best clauses, each cited (Ranker.hedges; one alone only
    when it is the only candidate).
    ``second`` and ``second_threshold``: the second opinion's trees and the probability from which they answer a
    question the rule refuses (knowledge/second.py).
    ``gate`` and ``gate_threshold``: the gate (knowledge/fit_gate.py) answers, hedged, a question all of the above
    refuse when its probability that the best clause is right reaches the threshold (Ranker.admits).
    """

    model: Linear
    commit: Linear
    commit_threshold: float
    example_threshold: float = 1.01
    probability_threshold: float = 1.01
    hedge_threshold: float = 1.01
    second: Trees | None = None
    second_threshold: float = 1.01
    gate: Linear | None = None
    gate_threshold: float = 1.01

    @classmethod
    def load(cls, path: Path = RANKER_FILE) -> Ranker:
        """Read a ranker file; its feature names must be those of knowledge/features.py."""
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KnowledgeFileError(path, 0, f"unreadable ranker file: {exc}") from exc

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ranker:
        """The ranker of a ranker file's content (ValueError, KeyError or TypeError when it is malformed)."""
        if tuple(data["features"]) != FEATURE_NAMES or tuple(data["commit"]["features"]) != COMMIT_FEATURES:
            raise ValueError("features differ from knowledge/features.py: run python -m knowledge.fit_ranker")
        return cls(
            model=Linear.from_dict(data, len(FEATURE_NAMES)),
            commit=Linear.from_dict(data["commit"], len(COMMIT_FEATURES)),
            commit_threshold=float(data["commit_threshold"]),
            example_threshold=float(data["example_threshold"]),
            probability_threshold=float(data["probability_threshold"]),
            hedge_threshold=float(data["hedge_threshold"]),
            **_second_opinion(data.get("second_opinion")),
            **_gate(data.get("gate")),
        )

    def rank(self, indices: Sequence[int], rows: Sequence[Sequence[float]], docs: Sequence[str]) -> Ranking:
        """Rank the candidates (clause `indices`, their feature `rows` and documents) by probability, clause index
        on ties, and ask the commit model about the best."""
        probs = [self.probability(row) for row in rows]
        order = sorted(range(len(indices)), key=lambda k: (-probs[k], indices[k]))
        first, second = order[0], (order[1] if len(order) > 1 else None)
        second_row = rows[second] if second is not None else None
        runner_up = probs[second] if second is not None else 0.0
        same_doc = second is not None and docs[first] == docs[second]
        sure = self.sure(rows[first], second_row, probs[first], runner_up, same_doc)
        return Ranking([(indices[k], probs[k]) for k in order], rows[first], sure)

    def probability(self, row: Sequence[float]) -> float:
        """Probability that the candidate is a right clause for the question."""
        return sigmoid(self.model.decision(row))

    def sure(
        self, best_row: Sequence[float], second_row: Sequence[float] | None, best: float, second: float, same_doc: bool
    ) -> float:
        """Commit-model probability that the best candidate is a right clause."""
        return sigmoid(self.commit.decision(commit_row(best_row, second_row, best, second, same_doc)))

    def answers(self, best_row: Sequence[float], probability: float = 0.0) -> bool:
        """Whether to answer: the best clause clears the hand-set rule, or one of its example questions is very
        close to the question, or its ranker `probability` reaches the probability threshold."""
        return answers(best_row, self.example_threshold, probability, self.probability_threshold)

    def hedges(self, best_row: Sequence[float], probability: float) -> bool:
        """Whether a question the answer rule refuses gets a hedged reply instead (see `hedges`)."""
        return hedges(best_row, probability, self.hedge_threshold)

    def admits(self, best_row: Sequence[float], probability: float, sure: float, in_scope: Callable[[], bool]) -> bool:
        """Whether the gate answers a question the answer rule and its fallbacks refuse: its probability that the
        best candidate is right (gate_probability) reaches ``gate_threshold`` and the scope checks let the clause
        through (`in_scope`)."""
        return self.gate_probability(best_row, probability, sure) >= self.gate_threshold and in_scope()

    def gate_probability(self, best_row: Sequence[float], probability: float, sure: float) -> float:
        """The gate's probability that the best candidate (its feature row, ranker `probability` and commit-model
        `sure`) is right; 0 without a gate, or without the second opinion it reads."""
        if self.gate is None or self.second is None:
            return 0.0
        return sigmoid(self.gate.decision(gate_row(self.second, best_row, probability, sure)))


def hedges(best_row: Sequence[float], probability: float, hedge_threshold: float) -> bool:
    """The hedge fallback: the question names an exam word (so it is about exams, and the stricter rule for
    questions without one does not apply) and the ranker gives its best clause `hedge_threshold` or more.
    knowledge/fit_ranker.py sets the threshold above every out-of-domain training question that names an exam
    word and that the answer rule refuses (out of fold); questions without an exam word are never hedged this way
    (out-of-domain ones, 手机丢了怎么办, reach the probabilities of in-domain ones)."""
    return best_row[_DOMAIN] > 0.0 and probability >= hedge_threshold


def answers(
    best_row: Sequence[float], example_threshold: float, probability: float = 0.0, probability_threshold: float = 1.01
) -> bool:
    """The answer rule on the best candidate's feature row and ranker probability (see Ranker.answers)."""
    return (
        best_row[_HAND_GATE] >= 0.0 or best_row[_EXAMPLE] >= example_threshold or probability >= probability_threshold
    )


def _logit(p: float) -> float:
    clipped = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(clipped / (1.0 - clipped))


def commit_row(
    best_row: Sequence[float], second_row: Sequence[float] | None, best: float, second: float, same_doc: bool
) -> list[float]:
    """The commit model's features (COMMIT_FEATURES); `second_row` is None when there is one candidate only."""
    other = second_row if second_row is not None else [0.0] * len(best_row)
    return [
        _logit(best),
        _logit(second) if second_row is not None else _logit(0.0),
        best - second,
        best_row[_SCORE] - other[_SCORE],
        best_row[_EXAMPLE] - other[_EXAMPLE],
        float(same_doc),
        best_row[_COVERAGE],
        best_row[_EXAMPLE],
        best_row[_UNKNOWN],
    ]

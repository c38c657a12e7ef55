"""The second opinion's part of knowledge/fit_ranker.py: fit the gradient-boosted trees (knowledge/second.py), their
out-of-fold probabilities, the least their rescue threshold may be, and the trees as ranker.json holds them.

A development tool like fit_ranker (it needs scikit-learn); the bot only reads the JSON (knowledge/ranker.py Trees).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold

from knowledge.index import KnowledgeBase, rivals
from knowledge.training import DIGITS

if TYPE_CHECKING:
    from knowledge.fit_ranker import Data

# Shared with knowledge/fit_ranker.py: the folds of every cross-validation.
FOLDS = 5
# The second opinion (knowledge/second.py): gradient-boosted trees on the same rows. Every size tried (100-800 trees,
# depth 3-6) ordered the dev sets' candidates about as well; 150 of depth 4 did best over the whole reply (EVAL.md).
# No early stopping (it would hold out a random tenth of the rows): the fit stays deterministic.
TREES = {"max_iter": 150, "learning_rate": 0.1, "max_depth": 4, "l2_regularization": 1.0, "min_samples_leaf": 20}
# The least its threshold to answer a question the rule refuses may be: the lowest SECOND_GRID value above the trees'
# out-of-fold best probability of every out-of-domain training question that the rule refuses and the scope checks
# let through (1.01, never, when that passes the grid).
SECOND_GRID = tuple(round(0.5 + 0.05 * k, 2) for k in range(0, 10))


def fit_trees(x: np.ndarray, y: np.ndarray) -> HistGradientBoostingClassifier:
    model = HistGradientBoostingClassifier(**TREES, early_stopping=False, random_state=0)
    model.fit(x, y)
    return model


def trees_out_of_fold(data: Data) -> np.ndarray:
    """The second opinion's probabilities of every row from trees fitted without the row's question (GroupKFold)."""
    probs = np.zeros(len(data.y))
    for train, test in GroupKFold(n_splits=FOLDS).split(data.x, data.y, data.groups):
        probs[test] = fit_trees(data.x[train], data.y[train]).predict_proba(data.x[test])[:, 1]
    return probs


def lowest_above(grid: Sequence[float], values: Iterable[float], beyond: float = 1.01) -> float:
    """The lowest grid value above every value (`beyond` when none is): the least a threshold may be so that none of
    these out-of-domain training questions reaches it. Shared with knowledge/fit_ranker.py."""
    highest = max(values, default=0.0)
    return next((t for t in grid if t > highest), beyond)


def choose_second_threshold(
    kb: KnowledgeBase,
    data: Data,
    ranked: dict[int, list[tuple[int, float]]],
    answered: dict[int, bool],
    vetoed: set[int],
) -> float:
    """The lowest SECOND_GRID value above the trees' out-of-fold best probability (`ranked`: per query, the trees'
    candidates most probable first) of every out-of-domain training question that the answer rule (`answered`, with
    its fallback) refuses and the scope checks let through (the regression's best clause, `vetoed`, and the trees'
    own)."""
    return lowest_above(
        SECOND_GRID,
        (
            r[0][1]
            for g, r in ranked.items()
            if not data.queries[g].accepted
            and not answered[g]
            and g not in vetoed
            and kb.out_of_scope(data.queries[g].question, r[0][0], rivals(r)) is None
        ),
    )


def trees_json(model: HistGradientBoostingClassifier) -> dict[str, object]:
    """The fitted trees as knowledge/ranker.py's Trees reads them (leaf values carry the learning rate)."""
    trees = []
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        leaf = nodes["is_leaf"].astype(bool).tolist()
        trees.append(
            {
                "feature": [-1 if lf else int(f) for lf, f in zip(leaf, nodes["feature_idx"], strict=True)],
                "threshold": [0.0 if lf else float(t) for lf, t in zip(leaf, nodes["num_threshold"], strict=True)],
                "left": [int(v) for v in nodes["left"]],
                "right": [int(v) for v in nodes["right"]],
                "value": [round(float(v), DIGITS) if lf else 0.0 for lf, v in zip(leaf, nodes["value"], strict=True)],
            }
        )
    return {"baseline": round(float(np.ravel(model._baseline_prediction)[0]), DIGITS), "trees": trees}

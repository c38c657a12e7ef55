"""The gate's part of knowledge/fit_ranker.py (session 21): whether to answer at all, fitted on phone questions.

The answer rule (Ranker.answers with its fallbacks: the hedge, the trees' rescue) was set by hand and by thresholds
held above every out-of-domain training question. Its training questions are the tuning set and the example
questions, written from the clause texts: the ranker's probabilities on them are in-sample or nearly so, and few
in-domain ones are refused. Questions staff type on a phone are refused far more often (a tenth of dev13), mostly with
the right clause first.

The gate is a logistic regression over the best candidate's feature row and the three models' log-odds for it
(GATE_FEATURES), fitted on the development sets' questions (tests/knowledge/data/kb_dev*.tsv: blind phone questions
with their out-of-domain ones, on which the ranker, the commit model and the trees were never fitted); the label is
whether the best candidate is a right clause. The held-out sets are never read.

The gate only adds answers: a question the rule refuses is answered, hedged (two or three clauses, each cited), when
the gate's probability reaches its threshold and the scope checks let the best clause through (Ranker.admits). The
threshold is held fixed like the rule's (knowledge/fit_ranker.py): GATE_THRESHOLD, raised when an out-of-domain
training question (the tuning set's and examples_ood.tsv's) that the rule refuses and the scope checks let through
reaches it, or when a development set's out-of-domain question does out of fold (session 22: dev20's 0.752, with
dev19's near misses among the sets). Leave-one-set-out figures (each development set's questions gated by a gate
fitted on the other sets) are printed and written to ranker.json (knowledge/EVAL.md, sessions 21 and 22).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.fit_trees import lowest_above
from knowledge.index import KnowledgeBase, rivals
from knowledge.ranker import GATE_FEATURES, Ranker, gate_row
from knowledge.training import TrainingQuery, fit_linear, linear_json, read_tuning

DEV_DIR = Path(__file__).resolve().parents[1] / "tests" / "knowledge" / "data"
GATE_C = 0.1
# Leave-one-set-out over dev..dev13 (1,882 in-domain and 360 out-of-domain questions): the rule alone answered 1,757
# with the right clause first and 8 out-of-domain questions; with the gate from 0.45, 1,776 and 9; from 0.75, 1,769
# and 8. An out-of-domain tuning question (证书丢了能补吗, 0.70) needs 0.75: the threshold and its grid.
GATE_THRESHOLD = 0.75
GATE_GRID = tuple(round(0.3 + 0.05 * k, 2) for k in range(0, 14))


@dataclass(frozen=True)
class GateRow:
    """One question's gate features and what became of it: its best candidate is right, it is in domain, the rule
    (without the gate) answers it, the scope checks let its best clause through."""

    x: list[float]
    right: bool
    in_domain: bool
    answered: bool
    in_scope: bool


def dev_sets(directory: Path = DEV_DIR) -> list[Path]:
    """The development sets' files."""
    return sorted(directory.glob("kb_dev*.tsv"))


def gate_rows(kb: KnowledgeBase, queries: Sequence[TrainingQuery]) -> list[GateRow]:
    """The gate rows of the questions that have candidates, as `kb` (whose ranker has no gate) ranks them."""
    out: list[GateRow] = []
    assert kb.ranker.second is not None, "the gate reads the second opinion"
    for q in queries:
        judged = kb.judge(q.question)
        if judged.ranking is None:
            continue
        best, p_best = judged.ranked[0]
        key = (kb.clauses[best].doc, kb.clauses[best].clause)
        row = gate_row(kb.ranker.second, judged.ranking.best_row, p_best, judged.ranking.sure)
        in_scope = kb.out_of_scope(q.question, best, rivals(judged.ranked)) is None
        out.append(GateRow(row, key in q.accepted, bool(q.accepted), judged.answer, in_scope))
    return out


def _arrays(rows: Sequence[GateRow]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([r.x for r in rows]), np.array([int(r.right) for r in rows])


def admitted(row: GateRow, probability: float, threshold: float) -> bool:
    """Whether the question is answered, the rule's answer or the gate's (Ranker.admits)."""
    return row.answered or (probability >= threshold and row.in_scope)


def out_of_fold(sets: Sequence[Sequence[GateRow]]) -> list[list[float]]:
    """Each set's gate probabilities by a gate fitted on the other sets."""
    out: list[list[float]] = []
    for k, held in enumerate(sets):
        x, y = _arrays([r for j, rows in enumerate(sets) if j != k for r in rows])
        mean, scale, model = fit_linear(x, y, GATE_C)
        out.append(model.predict_proba((_arrays(held)[0] - mean) / scale)[:, 1].tolist())
    return out


def leave_one_set_out(
    sets: Sequence[Sequence[GateRow]], threshold: float, probabilities: Sequence[Sequence[float]] | None = None
) -> dict[str, int]:
    """Each set gated by a gate fitted on the others (`probabilities`: out_of_fold's, computed when not given):
    answered with the right clause first and out-of-domain questions answered, by the rule alone and with the
    gate."""
    figures = {"in_domain": 0, "out_of_domain": 0, "rule_right": 0, "rule_ood": 0, "gate_right": 0, "gate_ood": 0}
    for held, probs in zip(sets, probabilities or out_of_fold(sets), strict=True):
        for row, p in zip(held, probs, strict=True):
            tag = "right" if row.in_domain else "ood"
            figures["in_domain" if row.in_domain else "out_of_domain"] += 1
            counts = row.right or not row.in_domain
            figures[f"rule_{tag}"] += counts and row.answered
            figures[f"gate_{tag}"] += counts and admitted(row, p, threshold)
    return figures


def fit_gate(
    ranker_file: dict[str, Any], out_of_domain: Sequence[TrainingQuery], directory: Path = DEV_DIR
) -> dict[str, object]:
    """The gate of a ranker file's content (without one), as ranker.json holds it: fitted on the development sets,
    its threshold checked on the `out_of_domain` training questions, with its leave-one-set-out figures."""
    kb = KnowledgeBase.load(ranker=Ranker.from_dict({k: v for k, v in ranker_file.items() if k != "gate"}))
    paths = dev_sets(directory)
    sets = [gate_rows(kb, read_tuning(path, tuning=False)) for path in paths]
    mean, scale, model = fit_linear(*_arrays([r for rows in sets for r in rows]), GATE_C)
    ood = [r for r in gate_rows(kb, out_of_domain) if not r.answered and r.in_scope]
    needed = lowest_above(GATE_GRID, model.predict_proba((_arrays(ood)[0] - mean) / scale)[:, 1].tolist()) if ood else 0
    # Also above every development set's out-of-domain question that its own gate would let through out of fold.
    held = out_of_fold(sets)
    held_ood = [p for rows, ps in zip(sets, held, strict=True) for r, p in zip(rows, ps, strict=True) if gated(r)]
    threshold = max(GATE_THRESHOLD, needed, lowest_above(GATE_GRID, held_ood))
    return {
        "features": list(GATE_FEATURES),
        **linear_json(mean, scale, model),
        "threshold": threshold,
        "raised": threshold > GATE_THRESHOLD,
        "sets": [path.name for path in paths],
        "leave_one_set_out_not_a_result": leave_one_set_out(sets, threshold, held),
    }


def gated(row: GateRow) -> bool:
    """An out-of-domain question only the gate could answer: the rule refuses it and the scope checks let it by."""
    return not row.in_domain and not row.answered and row.in_scope

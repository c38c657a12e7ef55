"""What the fits share (knowledge/fit_ranker.py, fit_gate.py): reading a question table into training queries,
fitting a standardised logistic regression, and writing one as ranker.json holds it (knowledge/ranker.py Linear).

A development tool (it needs scikit-learn); the bot only reads the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from knowledge.fit_trees import DIGITS

TUNING_TSV = Path(__file__).resolve().parents[1] / "tests" / "data" / "kb_questions.tsv"


@dataclass(frozen=True)
class TrainingQuery:
    """A question, its accepted clauses (empty when out of domain), and an example to leave out."""

    question: str
    accepted: frozenset[tuple[str, str]]
    tuning: bool
    exclude: str | None = None


def read_tuning(path: Path = TUNING_TSV, *, tuning: bool = True) -> list[TrainingQuery]:
    """A question table (the tuning set's columns: question, doc, clause, other accepted clauses as 《文档》编号;…,
    then anything): doc "-" when out of domain."""
    rows: list[TrainingQuery] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("question\t"):
            continue
        question, doc, clause, also = [*line.split("\t"), ""][:4]
        accepted: set[tuple[str, str]] = set()
        if doc != "-":
            accepted.add((doc, clause))
            for alt in filter(None, (a.strip() for a in also.split(";"))):
                alt_doc, alt_clause = alt.removeprefix("《").split("》", 1)
                accepted.add((alt_doc, alt_clause))
        rows.append(TrainingQuery(question, frozenset(accepted), tuning=tuning))
    return rows


def fit_linear(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray, LogisticRegression]:
    """A logistic regression of strength `c` on the standardised rows, with the mean and scale it standardises by."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000, tol=1e-10)
    model.fit((x - mean) / scale, y)
    return mean, scale, model


def linear_json(mean: np.ndarray, scale: np.ndarray, model: LogisticRegression) -> dict[str, object]:
    """A fitted regression as ranker.json holds it."""
    return {
        "mean": [round(float(v), DIGITS) for v in mean],
        "scale": [round(float(v), DIGITS) for v in scale],
        "coef": [round(float(v), DIGITS) for v in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), DIGITS),
    }

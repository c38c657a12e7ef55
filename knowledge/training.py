"""What the fits share (knowledge/fit_ranker.py, fit_gate.py): reading a question table into training queries,
fitting a standardised logistic regression, and writing one as ranker.json holds it (knowledge/ranker.py Linear).

A development tool (it needs scikit-learn); the bot only reads the JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # scikit-learn is imported by the fits only: reading a question table does not need it
    import numpy as np
    from sklearn.linear_model import LogisticRegression

# The digits ranker.json keeps of each number (shared with knowledge/fit_trees.py).
DIGITS = 8
TUNING_TSV = Path(__file__).resolve().parents[1] / "tests" / "data" / "kb_questions.tsv"


@dataclass(frozen=True)
class TrainingQuery:
    """A question, its accepted clauses (empty when out of domain), and an example to leave out."""

    question: str
    accepted: frozenset[tuple[str, str]]
    tuning: bool
    exclude: str | None = None


def table_rows(path: Path) -> Iterator[list[str]]:
    """The tab-separated fields of each row of a question table (no comments, blank lines or header)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#") and not line.startswith("question\t"):
            yield line.split("\t")


def accepted_clauses(doc: str, clause: str, also: str) -> frozenset[tuple[str, str]]:
    """A row's accepted clauses: (doc, clause) and the others, written 《文档》编号;… (none when doc is "-")."""
    if doc == "-":
        return frozenset()
    accepted = {(doc, clause)}
    for alt in filter(None, (a.strip() for a in also.split(";"))):
        alt_doc, alt_clause = alt.removeprefix("《").split("》", 1)
        accepted.add((alt_doc, alt_clause))
    return frozenset(accepted)


def read_tuning(path: Path = TUNING_TSV, *, tuning: bool = True) -> list[TrainingQuery]:
    """A question table (the tuning set's columns: question, doc, clause, other accepted clauses, then anything)."""
    return [
        TrainingQuery(fields[0], accepted_clauses(*[*fields, "", ""][1:4]), tuning=tuning)
        for fields in table_rows(path)
    ]


def fit_linear(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray, LogisticRegression]:
    """A logistic regression of strength `c` on the standardised rows, with the mean and scale it standardises by."""
    # startup: reading a question table (tests' kb_golden, the bench) must not import scikit-learn, only fitting
    from sklearn.linear_model import LogisticRegression

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

"""Golden question table tests/data/kb_questions.tsv (shared by tests and tests/bench/kb.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

QUESTIONS_TSV = Path(__file__).resolve().parents[1] / "data" / "kb_questions.tsv"
# Held out: written before tuning and never tuned on; reported by tests/bench/kb.py only.
HELDOUT_TSV = Path(__file__).resolve().parents[1] / "data" / "kb_heldout.tsv"


@dataclass(frozen=True)
class GoldenQuestion:
    """One row of tests/data/kb_questions.tsv."""

    question: str
    accepted: frozenset[tuple[str, str]]  # empty for out-of-domain questions

    @property
    def in_domain(self) -> bool:
        return bool(self.accepted)


def read_questions(path: Path = QUESTIONS_TSV) -> list[GoldenQuestion]:
    """Parse the golden question table (question, doc, clause, optional alternatives)."""
    rows: list[GoldenQuestion] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("question\t"):
            continue
        fields = [*line.split("\t"), "", ""]
        question, doc, clause, also = fields[0], fields[1], fields[2], fields[3]
        accepted: set[tuple[str, str]] = set()
        if doc != "-":
            accepted.add((doc, clause))
            for alt in filter(None, (a.strip() for a in also.split(";"))):
                alt_doc, alt_clause = alt.removeprefix("《").split("》", 1)
                accepted.add((alt_doc, alt_clause))
        rows.append(GoldenQuestion(question, frozenset(accepted)))
    return rows

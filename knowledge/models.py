"""Value objects of the rule knowledge base."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Clause:
    """One answerable entry: a numbered item or sub-item of a regulation."""

    doc: str
    clause: str
    text: str
    context: str = ""


@dataclass(frozen=True)
class Match:
    """A clause (or a pinned answer) returned for a question, with its confidence in [0, 1]."""

    doc: str
    clause: str
    text: str
    score: float

    def to_dict(self) -> dict[str, str | float]:
        """Plain-dict form used by the JSON output of the CLI."""
        return {"doc": self.doc, "clause": self.clause, "text": self.text, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Answer:
    """Result of `KnowledgeBase.ask`.

    `answer` is None when the knowledge base does not know; `matches` always holds the
    nearest clauses, best first (at most 3). `ambiguous` is True when the two best clauses
    nearly tie. `pinned` is True when a pinned (hand-written) answer was used; then
    `answer.text` is the written answer and `matches` are the clauses it cites.
    `alternatives` are the other clauses the reply shows beside `answer` when the knowledge base is
    not sure enough to commit to one ("最可能是…；也可能是…") or when the rule differs by kind of
    exam; then `labels` names each of `answer` and `alternatives` (理论考试, 实操考试).
    `office_pinned` is True when the office pinned the question to a clause from chat (/钉住).
    """

    question: str
    answer: Match | None
    matches: list[Match] = field(default_factory=list)
    ambiguous: bool = False
    pinned: bool = False
    alternatives: list[Match] = field(default_factory=list)
    labels: tuple[str, ...] = ()
    # Pinned by the office from chat (/钉住): `answer` is the cited clause itself, quoted whole.
    office_pinned: bool = False
    # With no answer: what the nearest clause does not state, when that is why (knowledge/scope.py: missing).
    missing: str = ""

    @property
    def committed(self) -> bool:
        """Answered with one clause only (not pinned, not hedged, not labelled by kind)."""
        return self.answer is not None and not self.pinned and not self.alternatives


@dataclass(frozen=True)
class PinnedAnswer:
    """A hand-written answer selected by a regular expression on the question."""

    pattern: str
    answer: str
    cites: tuple[tuple[str, str], ...]
    source: str = ""

"""Each clause's example questions taken as one document, searched with BM25 (session 20).

The nearest single example (knowledge/features.py, Examples.similarity) misses a question whose words are spread
over several examples of a clause (托关系 in one, 手下留情 in another). Here each clause is one document whose term
frequency is the number of its examples using a term, so such a question is near that clause although no single
example is. Adding this profile as two ranker features, and its nearest clauses to the candidates, raised top-1 on
every blind development set (knowledge/EVAL.md, session 20).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

# The usual BM25 parameters.
K1 = 1.2
B = 0.75


class Profile:
    """BM25 over each clause's examples as one document; `terms[i][j]` are the terms of clause i's example j (a set)
    and `texts[i][j]` its text, by which a training query leaves its own example out."""

    def __init__(self, terms: Sequence[Sequence[frozenset[str]]], texts: Sequence[Sequence[str]]) -> None:
        self._counts = [Counter(t for example in examples for t in example) for examples in terms]
        n = len(self._counts)
        df = Counter(t for counts in self._counts for t in counts)
        self._idf = {t: math.log(1.0 + (n - k + 0.5) / (k + 0.5)) for t, k in df.items()}
        self._max_idf = math.log(1.0 + (n + 0.5) / 0.5)
        lengths = [sum(1.0 + math.log(k) for k in counts.values()) for counts in self._counts]
        average = (sum(lengths) / n) if n and sum(lengths) else 1.0
        self._norm = [K1 * (1.0 - B + B * length / average) for length in lengths]
        # Each term's value per clause using it, computed once (a query adds them up).
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for i, counts in enumerate(self._counts):
            for t, k in counts.items():
                self._postings.setdefault(t, []).append((i, self._value(t, k, i)))
        self._by_text: dict[str, list[tuple[int, frozenset[str]]]] = {}
        for i, (examples, example_texts) in enumerate(zip(terms, texts, strict=True)):
            for example, text in zip(examples, example_texts, strict=True):
                self._by_text.setdefault(text, []).append((i, example))

    def _value(self, term: str, count: int, i: int) -> float:
        """BM25 value of a term that `count` of clause i's examples use."""
        tf = 1.0 + math.log(count)
        return self._idf[term] * tf * (K1 + 1.0) / (tf + self._norm[i])

    def scores(self, terms: Sequence[str], exclude: str | None = None) -> dict[int, float]:
        """BM25 of the question's `terms` against each clause's profile (clauses sharing no term are left out),
        divided by what a profile of average length using each term once scores (about 1 for a full match: a term
        no example uses still counts in the divisor); `exclude` is an example text left out of its clause."""
        unique = list(dict.fromkeys(terms))
        total = sum(self._idf.get(t, self._max_idf) for t in unique)
        if not total:
            return {}
        scores: dict[int, float] = {}
        for t in unique:
            for i, value in self._postings.get(t, ()):
                scores[i] = scores.get(i, 0.0) + value
        left_out: dict[int, Counter[str]] = {}
        for i, example in self._by_text.get(exclude, ()) if exclude is not None else ():
            left_out.setdefault(i, Counter()).update(example)
        for i, gone in left_out.items():
            left = Counter({t: self._counts[i][t] for t in unique}) - gone
            scores[i] = sum(self._value(t, k, i) for t, k in left.items())
        return {i: v / total for i, v in scores.items()}

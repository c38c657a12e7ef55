"""Okapi BM25 over field-weighted term frequencies (the word and character-bigram indexes of knowledge/index.py)."""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Sequence

# A query word the KB has never seen counts as this fraction of the rarest word's IDF:
# a question full of unknown words is probably out of domain.
UNKNOWN_IDF_FACTOR = 1.0
COMMON_TERM_MIN_POSTINGS = 500
COMMON_TERM_FRACTION = 0.05
COMMON_TERM_CANDIDATES = 300


class BM25:
    """Okapi BM25 with fractional (field-weighted) term frequencies and precomputed postings."""

    def __init__(self, docs: Sequence[dict[str, float]], k1: float = 0.6, b: float = 0.2) -> None:
        self.n_docs = len(docs)
        lengths = [sum(d.values()) for d in docs]
        avgdl = (sum(lengths) / self.n_docs) if self.n_docs else 1.0
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.keys())
        self.idf = {t: math.log(1.0 + (self.n_docs - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        self.max_idf = math.log(1.0 + (self.n_docs + 0.5) / 0.5)
        self.postings: dict[str, list[tuple[int, float]]] = {}
        self.forward: list[dict[str, float]] = []
        for i, d in enumerate(docs):
            norm = k1 * (1.0 - b + b * lengths[i] / (avgdl or 1.0))
            row: dict[str, float] = {}
            for t, tf in d.items():
                # One occurrence in a clause of average length contributes exactly idf(t).
                value = self.idf[t] * tf * (k1 + 1.0) / (tf + norm)
                self.postings.setdefault(t, []).append((i, value))
                row[t] = value
            self.forward.append(row)
        # Terms in more clauses than this are not walked through their postings: they only add
        # to clauses already found by rarer terms (keeps queries fast on large KBs).
        self.common_cutoff = max(COMMON_TERM_MIN_POSTINGS, int(COMMON_TERM_FRACTION * self.n_docs))

    def scores(self, terms: dict[str, float]) -> dict[int, float]:
        """Coverage-normalised BM25 scores of all clauses sharing a term with the query.

        `terms` maps each query term to its weight. The result is divided by the score of a
        clause of average length containing every query term once, so it is about 1 for a
        full match; a query term the index has never seen still counts in the divisor.
        """
        if not terms:
            return {}
        unknown = UNKNOWN_IDF_FACTOR * self.max_idf
        total = sum(self.idf.get(t, unknown) * qw for t, qw in terms.items())
        acc: dict[int, float] = {}
        get = acc.get
        common: list[tuple[str, float]] = []
        for t, qw in terms.items():
            postings = self.postings.get(t, ())
            if len(postings) > self.common_cutoff:
                common.append((t, qw))
                continue
            for i, v in postings:
                acc[i] = get(i, 0.0) + v * qw
        if common and not acc:
            for t, qw in common:
                for i, v in self.postings[t]:
                    acc[i] = get(i, 0.0) + v * qw
        elif common:
            if len(acc) > COMMON_TERM_CANDIDATES:
                acc = dict(heapq.nlargest(COMMON_TERM_CANDIDATES, acc.items(), key=lambda kv: kv[1]))
            forward = self.forward
            for i in acc:
                row = forward[i]
                acc[i] += sum(row.get(t, 0.0) * qw for t, qw in common)
        return {i: v / total for i, v in acc.items()}


def _weighted(parts: Iterable[tuple[list[str], float]]) -> dict[str, float]:
    """Term weights of a clause: sublinear in the count of a term in a field (synonym rewriting
    must not make 手机、移动平板等电子设备 count as three full 电子设备)."""
    out: dict[str, float] = {}
    for terms, weight in parts:
        counts: dict[str, int] = {}
        for t in terms:
            counts[t] = counts.get(t, 0) + 1
        for t, n in counts.items():
            out[t] = out.get(t, 0.0) + weight * (1.0 + math.log(n))
    return out

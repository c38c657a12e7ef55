"""Lexical index and the KnowledgeBase facade.

Scoring of a question against every clause:

1. The question is normalised and segmented by jieba with the domain dictionary; stop words
   are dropped and synonyms rewritten to their canonical word (see knowledge/text.py).
2. Word score W: BM25 over canonical words (clause text, its heading context at half weight,
   the document title), plus dictionary sub-words of long words at half weight.
3. Gram score G: BM25 over character bigrams (and single characters at low weight), which
   absorbs typos and segmentation differences.
   Both are divided by the score of a clause containing every question word once, so they
   behave like an IDF-weighted coverage in [0, ~1]; unknown question words lower them.
4. The best RERANK_DEPTH clauses by 0.5 W + 0.4 G get 0.1 x rapidfuzz partial_ratio and a small
   bonus when the question asks "when" / "how many" and the clause states a time / a count.
5. Below CONFIDENCE_THRESHOLD (OFF_DOMAIN_THRESHOLD when the question names no exam-domain word)
   the answer is "don't know" with the nearest clauses; a pinned answer always wins.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from rapidfuzz import fuzz

from knowledge.commit import decide
from knowledge.context import AskContext
from knowledge.loader import load_documents, load_pinned
from knowledge.models import Answer, Clause, Match, PinnedAnswer
from knowledge.pins import RuntimePin, RuntimePins
from knowledge.text import Analyzer, normalize

# Weights of the fields of a clause in its term frequencies.
TEXT_WEIGHT = 1.0
CONTEXT_WEIGHT = 0.5
TITLE_WEIGHT = 1.0
# Single characters and dictionary sub-words of long words count less than whole words.
UNIGRAM_WEIGHT = 0.3
SUBWORD_WEIGHT = 0.5
UNKNOWN_COMPOUND_WEIGHT = 0.5
# Broader words of a question word (lexicon/related.txt: 作弊 → 违纪) count this much.
RELATED_WEIGHT = 0.5
# Mix of the three signals (they are all roughly in [0, 1]).
WORD_WEIGHT = 0.5
GRAM_WEIGHT = 0.4
FUZZ_WEIGHT = 0.1
# A query word the KB has never seen counts as this fraction of the rarest word's IDF:
# a question full of unknown words is probably out of domain.
UNKNOWN_IDF_FACTOR = 1.0
# Below this combined score the KB answers "don't know". A question that names no domain
# term at all (see Analyzer.is_domain_word) must clear the higher bar.
CONFIDENCE_THRESHOLD = 0.28
UNKNOWN_WORD_PENALTY = 0.1
OFF_DOMAIN_THRESHOLD = 0.45
OFF_DOMAIN_COVERAGE = 0.55
# Nearest clauses below this score are not worth suggesting.
SUGGESTION_FLOOR = 0.12
# Question types: a question asking "when / how long" prefers clauses stating a time, one
# asking "how many" prefers clauses stating a number of people or times.
QUESTION_TYPES: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (
        re.compile(r"什么时候|啥时候|何时|几点|多久|多长时间|几分钟|提前|\d+分钟"),
        re.compile(r"\d+分钟|\d+小时"),
    ),
    (
        re.compile(r"几个|几名|几位|几人|多少人|多少个|几次|配几"),
        re.compile(r"\d+名|\d+人|[两三]名|三分之|\d+次|[三两]次"),
    ),
)
QUESTION_TYPE_BONUS = 0.15
# A clause that contains a question word literally as typed (徇私舞弊, not just its group 舞弊).
LITERAL_BONUS = 0.03
RERANK_DEPTH = 30
COMMON_TERM_MIN_POSTINGS = 500
COMMON_TERM_FRACTION = 0.05
COMMON_TERM_CANDIDATES = 300
MAX_MATCHES = 3


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


class KnowledgeBase:
    """The rule knowledge base: clauses, pinned answers and the search index."""

    def __init__(
        self, clauses: Sequence[Clause], pinned: Sequence[PinnedAnswer] = (), *, cache_dir: Path | None = None
    ) -> None:
        """Build the index; ``cache_dir`` is where jieba caches its dictionary (None: ``~/.cache/exambot``)."""
        self.clauses: list[Clause] = list(clauses)
        self.pinned: list[PinnedAnswer] = list(pinned)
        self._pinned_re = [re.compile(p.pattern) for p in self.pinned]
        # Pins the office set from chat (stored in the database, see knowledge/pins.py); `runtime_version` is
        # the caller's token of the stored pins these were built from (None: none handed over yet).
        self.runtime_pins = RuntimePins()
        self.runtime_version: object | None = None
        self._by_key = {(c.doc, c.clause): c for c in self.clauses}
        self.analyzer = Analyzer(cache_dir=cache_dir)
        word_docs: list[dict[str, float]] = []
        gram_docs: list[dict[str, float]] = []
        self._fuzz_text: list[str] = []
        self._norm_text: list[str] = []
        title_cache: dict[str, list[str]] = {}
        for c in self.clauses:
            text_words = self.analyzer.words(c.text)
            context_words = self.analyzer.words(c.context) if c.context else []
            if c.doc not in title_cache:
                title_cache[c.doc] = self.analyzer.words(c.doc)
            title_words = title_cache[c.doc]
            word_docs.append(
                _weighted(
                    [
                        (self.analyzer.expand(text_words), TEXT_WEIGHT),
                        (self.analyzer.expand(context_words), CONTEXT_WEIGHT),
                        (self.analyzer.expand(title_words), TITLE_WEIGHT),
                    ]
                )
            )
            gram_docs.append(
                _weighted(
                    [
                        (self.analyzer.bigrams(text_words), TEXT_WEIGHT),
                        (self.analyzer.unigrams(text_words), TEXT_WEIGHT * UNIGRAM_WEIGHT),
                        (self.analyzer.bigrams(context_words), CONTEXT_WEIGHT),
                        (self.analyzer.bigrams(title_words), TITLE_WEIGHT),
                    ]
                )
            )
            self._fuzz_text.append("".join(context_words + text_words))
            self._norm_text.append(normalize(c.text))
        self._words = BM25(word_docs)
        self._grams = BM25(gram_docs)

    @classmethod
    def load(cls, extra_dirs: Sequence[Path] = (), *, cache_dir: Path | None = None) -> KnowledgeBase:
        """Load the bundled regulations plus those in `extra_dirs` and build the index.

        `cache_dir` is where jieba caches its dictionary (the settings' `cache_path`; None: `~/.cache/exambot`).
        """
        docs = load_documents(extra_dirs)
        clauses = [c for d in docs for c in d.clauses]
        pinned = load_pinned(((c.doc, c.clause) for c in clauses), extra_dirs)
        return cls(clauses, pinned, cache_dir=cache_dir)

    def clause(self, doc: str, number: str) -> Clause | None:
        """The clause with this document title and number, if any."""
        return self._by_key.get((doc, number))

    def _match(self, i: int, score: float) -> Match:
        """A match for display: the score is capped at 1.0 (only here, after every comparison)."""
        c = self.clauses[i]
        return Match(doc=c.doc, clause=c.clause, text=c.text, score=round(min(score, 1.0), 4))

    def search(self, question: str, limit: int = MAX_MATCHES) -> list[Match]:
        """Best clauses for a question by combined score, best first (no threshold)."""
        ranked = self._ranked(question, limit)
        return [self._match(i, s) for i, s in ranked]

    def _ranked(self, question: str, limit: int) -> list[tuple[int, float]]:
        tokens = self.analyzer.tokens(question)
        typed = [surface for surface, canonical in tokens if surface != canonical and len(surface) > 1]
        return self._search(normalize(question), [c for _, c in tokens], limit, typed)

    def scored(self, question: str, limit: int = MAX_MATCHES) -> list[tuple[Clause, float]]:
        """Best clauses with their uncapped combined scores (what the threshold and tie checks use)."""
        return [(self.clauses[i], s) for i, s in self._ranked(question, limit)]

    def _query_terms(self, words: list[str]) -> dict[str, float]:
        """Query words (weight 1) plus, at lower weight, their dictionary sub-words and, for
        words the index has never seen, the synonyms of their single characters (进考场 → 进入)."""
        known = self._words.idf
        synonyms = self.analyzer.synonyms
        terms: dict[str, float] = {}
        related = self.analyzer.related
        for word in words:
            parts = self.analyzer.expand([word])[1:]
            if word not in known and word in related:
                # A word no clause uses stands for its broader words (东张西望 → 违纪).
                for other in related[word]:
                    terms[other] = max(terms.get(other, 0.0), 1.0)
                terms[word] = UNKNOWN_COMPOUND_WEIGHT
                continue
            if word not in known and len(word) > 1:
                parts += [synonyms[ch] for ch in word if ch in synonyms]
                known_parts = [p for p in parts if p in known]
                if known_parts:
                    # An unknown compound (进考场) stands for its known parts (进入, 考场); the
                    # compound itself still counts, at half weight, as an unmatched word.
                    for part in known_parts:
                        terms[part] = 1.0
                    terms[word] = UNKNOWN_COMPOUND_WEIGHT
                    continue
            terms[word] = 1.0
            for part in parts:
                terms.setdefault(part, SUBWORD_WEIGHT)
        for word in words:
            for other in related.get(word, ()):
                terms.setdefault(other, RELATED_WEIGHT)
        return terms

    def _search(
        self, question: str, words: list[str], limit: int, typed: Sequence[str] = ()
    ) -> list[tuple[int, float]]:
        """(clause index, uncapped combined score) of the best clauses, best first. `typed` are
        question words as typed that differ from their canonical word (徇私舞弊 for 舞弊): a clause
        that has them literally gets LITERAL_BONUS each."""
        if not words:
            return []
        word_terms = self._query_terms(words)
        gram_terms = dict.fromkeys(self.analyzer.unigrams(words), UNIGRAM_WEIGHT)
        gram_terms.update(dict.fromkeys(self.analyzer.bigrams(words), 1.0))
        w = self._words.scores(word_terms)
        g = self._grams.scores(gram_terms)
        lexical: dict[int, float] = {}
        for i, v in w.items():
            lexical[i] = WORD_WEIGHT * min(v, 1.2)
        for i, v in g.items():
            lexical[i] = lexical.get(i, 0.0) + GRAM_WEIGHT * min(v, 1.2)
        top = heapq.nlargest(RERANK_DEPTH, lexical.items(), key=lambda kv: kv[1])
        query = "".join(words)
        wanted = [clause_re for question_re, clause_re in QUESTION_TYPES if question_re.search(question)]
        scored = []
        for i, v in top:
            score = v + FUZZ_WEIGHT * fuzz.partial_ratio(query, self._fuzz_text[i]) / 100.0
            for clause_re in wanted:
                if clause_re.search(self._norm_text[i]):
                    score += QUESTION_TYPE_BONUS
            for word in typed:
                if word in self._norm_text[i]:
                    score += LITERAL_BONUS
            scored.append((i, score))
        scored.sort(key=lambda kv: (-kv[1], kv[0]))
        return scored[:limit]

    def coverage(self, words: list[str], i: int) -> float:
        """IDF-weighted share of the question words found in clause i (text, context or title),
        directly or through a dictionary sub-word; a word the index has never seen is not found.
        Single characters that some clause uses are left out (unless nothing else is left)."""
        idf = self._words.idf
        unknown = UNKNOWN_IDF_FACTOR * self._words.max_idf
        row = self._words.forward[i]
        total = found = 0.0
        # Single characters the clauses also use (来, 做, 定) are mostly light verbs and do not
        # count; one no clause uses (壳, 买) is real unmatched content.
        content = [w for w in dict.fromkeys(words) if len(w) > 1 or w not in idf] or list(dict.fromkeys(words))
        for word in content:
            weight = idf.get(word, unknown)
            total += weight
            if word in row or any(part in row for part in self._query_terms([word])):
                found += weight
        return found / total if total else 0.0

    def set_runtime_pins(self, pins: Iterable[RuntimePin], version: object) -> RuntimePins:
        """Take the office's pins from chat (newest first); pins of clauses this knowledge base lacks are kept
        aside in ``dangling``. ``version`` is the caller's token of what they were read from."""
        self.runtime_pins = RuntimePins(pins, self._by_key)
        self.runtime_version = version
        return self.runtime_pins

    def _runtime_pin_answer(self, question: str) -> Answer | None:
        """The office's pinned clause for this question, quoted (it wins over pinned.txt: it is newer)."""
        pin = self.runtime_pins.match(question)
        if pin is None:
            return None
        c = self._by_key[(pin.doc, pin.clause)]
        m = Match(doc=c.doc, clause=c.clause, text=c.text, score=1.0)
        return Answer(question=question, answer=m, matches=[m], pinned=True, office_pinned=True)

    def _pinned_answer(self, question: str) -> Answer | None:
        runtime = self._runtime_pin_answer(question)
        if runtime is not None:
            return runtime
        normalized = normalize(question)
        for pin, rx in zip(self.pinned, self._pinned_re, strict=True):
            if not rx.search(normalized):
                continue
            cited = [self._by_key[key] for key in pin.cites]
            # The answer carries the first cited clause's real document and number and the
            # written answer as its text; all cited clauses follow as matches.
            answer = Match(doc=cited[0].doc, clause=cited[0].clause, text=pin.answer, score=1.0)
            matches = [Match(doc=c.doc, clause=c.clause, text=c.text, score=1.0) for c in cited]
            return Answer(question=question, answer=answer, matches=matches[:MAX_MATCHES], pinned=True)
        return None

    def domain_markers(self, tokens: list[tuple[str, str]]) -> list[str]:
        """Exam-specific words of a question that the regulations use (see Analyzer.is_domain_word)."""
        known = self._words.idf
        return [c for surface, c in tokens if c in known and self.analyzer.is_domain_word(surface)]

    def unknown_words(self, words: list[str]) -> list[str]:
        """Question words of two or more characters that no clause uses, not even in part."""
        known = self._words.idf
        return [
            w
            for w in dict.fromkeys(words)
            if len(w) > 1 and w not in known and not any(part in known for part in self._query_terms([w]))
        ]

    def _confident(self, tokens: list[tuple[str, str]], words: list[str], i: int, score: float) -> bool:
        """Whether the best clause is good enough to answer with.

        A question naming an exam-specific word needs CONFIDENCE_THRESHOLD, raised by
        UNKNOWN_WORD_PENALTY for each word the regulations never use (考场 + 停车场 is a question
        about parking); any other question needs a high score and a high coverage."""
        if self.domain_markers(tokens):
            return score >= CONFIDENCE_THRESHOLD + UNKNOWN_WORD_PENALTY * len(self.unknown_words(words))
        return score >= OFF_DOMAIN_THRESHOLD and self.coverage(words, i) >= OFF_DOMAIN_COVERAGE

    def ask(self, question: str, context: AskContext | None = None) -> Answer:
        """Answer a question: pinned answer, best clause(s), or "don't know" with nearest clauses.

        `context` (the asker's roles and kind of exam) steers the order of near-equal clauses. Whether
        to answer at all is judged on the best clause before steering. The reply commits to one clause
        only when no other is close (see knowledge/commit.py); otherwise `alternatives` holds the other
        two or one, and a rule that differs between theory and practical exams comes with both, labelled.
        """
        pinned = self._pinned_answer(question)
        if pinned is not None:
            return pinned
        tokens = self.analyzer.tokens(question)
        words = [canonical for _, canonical in tokens]
        typed = [surface for surface, canonical in tokens if surface != canonical and len(surface) > 1]
        normalized = normalize(question)
        ranked = self._search(normalized, words, RERANK_DEPTH, typed)
        if not ranked or not self._confident(tokens, words, *ranked[0]):
            matches = [self._match(i, s) for i, s in ranked[:MAX_MATCHES]]
            near = [m for m, (_, s) in zip(matches, ranked, strict=False) if s >= SUGGESTION_FLOOR]
            return Answer(question=question, answer=None, matches=near)
        decision = decide(self.clauses, ranked, normalized, context or AskContext())
        raw = dict(ranked)
        shown = [decision.lead, *decision.others]
        # What the reply shows first, then the rest of the steered order.
        order = shown + [i for i, _ in decision.ranked if i not in shown]
        matches = [self._match(i, raw.get(i, 0.0)) for i in order[:MAX_MATCHES]]
        alternatives = [self._match(i, raw.get(i, 0.0)) for i in decision.others]
        return Answer(
            question=question,
            answer=matches[0],
            matches=matches,
            ambiguous=bool(alternatives) and not decision.labels,
            alternatives=alternatives,
            labels=decision.labels,
        )

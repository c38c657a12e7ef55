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
   bonus when the question asks "when" / "how many" and the clause states a time / a count: the
   hand-set combined score.
5. The RANKER_DEPTH best by that score, and the EXAMPLE_DEPTH clauses whose example questions are nearest (one
   by one, and taken together: features.Nearness), are described by features (knowledge/features.py) and scored
   by the fitted ranker (knowledge/ranker.py): the probability that the clause answers the question. They are
   ranked by it; when the best of them does not clear the answer rule (Ranker.answers) the answer is "don't know"
   with the nearest clauses, unless the second opinion is sure (knowledge/second.py: the reply hedges); the gate
   (Ranker.admits) may answer what they refuse (hedged). A pinned answer always wins.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from functools import cache, partial
from pathlib import Path

from rapidfuzz import fuzz

from knowledge import incidental, second
from knowledge.actor import ACTOR_PENALTY, candidate_subject, staff_prohibition
from knowledge.bm25 import BM25, UNKNOWN_IDF_FACTOR, _weighted
from knowledge.commit import Decision, decide, own_room
from knowledge.context import AskContext, foreign, kind_parts_first, named_kind, names_session
from knowledge.features import (
    EXAMPLE_DEPTH,
    QUESTION_TYPE_BONUS,
    QUESTION_TYPES,
    Candidate,
    Examples,
    Query,
    feature_rows,
    read_examples,
)
from knowledge.loader import load_documents, load_pinned
from knowledge.models import Answer, Clause, Match, PinnedAnswer
from knowledge.pins import RuntimePin, RuntimePins
from knowledge.ranker import Judged, Ranker
from knowledge.scope import COLLECT_VERBS, SOURCE_RE, Scope, collects, focus_word, missing, only_for
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
# Nearest clauses of a "don't know" below this ranker probability are not worth suggesting.
SUGGESTION_FLOOR = 0.02
# A clause with this share of the best one's probability is its rival (see rivals).
RIVAL_SHARE = 0.5
# A clause that contains a question word literally as typed (徇私舞弊, not just its group 舞弊).
LITERAL_BONUS = 0.03
RERANK_DEPTH = 30
# Candidates the fitted ranker scores (the right clause is among the best ten by the hand-set score for
# almost every question of the tuning set).
RANKER_DEPTH = 10
MAX_MATCHES = 3


def rivals(ranked: Sequence[tuple[int, float]]) -> list[int]:
    """The clauses shown beside the best (ranker order) that have RIVAL_SHARE of its probability."""
    return [i for i, p in ranked[1:MAX_MATCHES] if p >= max(SUGGESTION_FLOOR, RIVAL_SHARE * ranked[0][1])]


class KnowledgeBase:
    """The rule knowledge base: clauses, pinned answers and the search index."""

    def __init__(
        self,
        clauses: Sequence[Clause],
        pinned: Sequence[PinnedAnswer] = (),
        *,
        cache_dir: Path | None = None,
        examples: Sequence[tuple[str, str, str]] | None = None,
        ranker: Ranker | None = None,
    ) -> None:
        """Build the index; ``cache_dir`` is where jieba caches its dictionary (None: ``~/.cache/exambot``).

        ``examples`` are (document, clause, question) example questions (None: knowledge/data/examples.tsv; rows
        naming no clause of this knowledge base are ignored); ``ranker`` the fitted ranker (None: the bundled one).
        """
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
        # Clauses about what staff must not do (knowledge/actor.py), by index.
        self._staff_rule: list[bool] = []
        title_cache: dict[str, list[str]] = {}
        # Words the clauses use as words of their own (not only inside a longer word: 计算 of 计算机).
        self._whole_words: set[str] = set()
        for c in self.clauses:
            text_words = self.analyzer.words(c.text)
            context_words = self.analyzer.words(c.context) if c.context else []
            if c.doc not in title_cache:
                title_cache[c.doc] = self.analyzer.words(c.doc)
            title_words = title_cache[c.doc]
            self._whole_words.update(text_words, context_words, title_words)
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
            self._staff_rule.append(staff_prohibition(normalize(c.context), normalize(c.text)))
        self._words = BM25(word_docs)
        self._grams = BM25(gram_docs)
        self.scope = Scope([normalize(c.context + c.text) for c in self.clauses])
        self._position = position = {(c.doc, c.clause): i for i, c in enumerate(self.clauses)}
        per_clause: list[list[tuple[str, ...]]] = [[] for _ in self.clauses]
        for doc, number, question in read_examples() if examples is None else examples:
            if (doc, number) in position:
                per_clause[position[(doc, number)]].append(tuple(self.analyzer.words(question)))
        self.examples = Examples(per_clause)
        self.ranker = ranker if ranker is not None else Ranker.load()

    @classmethod
    def load(
        cls, extra_dirs: Sequence[Path] = (), *, cache_dir: Path | None = None, ranker: Ranker | None = None
    ) -> KnowledgeBase:
        """Load the bundled regulations plus those in `extra_dirs` and build the index.

        `cache_dir` is where jieba caches its dictionary (the settings' `cache_path`; None: `~/.cache/exambot`);
        `ranker` replaces the bundled fitted ranker (knowledge/fit_ranker.py fits a new one).
        """
        docs = load_documents(extra_dirs)
        clauses = [c for d in docs for c in d.clauses]
        pinned = load_pinned(((c.doc, c.clause) for c in clauses), extra_dirs)
        return cls(clauses, pinned, cache_dir=cache_dir, ranker=ranker)

    def clause(self, doc: str, number: str) -> Clause | None:
        """The clause with this document title and number, if any."""
        return self._by_key.get((doc, number))

    def _match(self, i: int, score: float) -> Match:
        """A match for display: the score is capped at 1.0 (only here, after every comparison)."""
        c = self.clauses[i]
        return Match(doc=c.doc, clause=c.clause, text=c.text, score=round(min(score, 1.0), 4))

    def search(self, question: str, limit: int = MAX_MATCHES) -> list[Match]:
        """Best clauses for a question by the ranker's probability, best first (no threshold)."""
        return [self._match(i, p) for i, p in self.probabilities(question)[:limit]]

    def scored(self, question: str, limit: int = MAX_MATCHES) -> list[tuple[Clause, float]]:
        """Best clauses with the ranker's probabilities, most probable first (the order replies follow)."""
        return [(self.clauses[i], p) for i, p in self.probabilities(question)[:limit]]

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
                # An unknown compound (进考场) stands for its known parts (进入, 考场); the compound itself
                # still counts, at half weight, as an unmatched word. A part the clauses use only inside
                # another word (计算 of 计算机, for 计算器) is not one: that would be a different thing.
                known_parts = [p for p in parts if p in self._whole_words]
                if known_parts:
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

    def _candidates(
        self, question: str, words: list[str], limit: int, typed: Sequence[str] = (), extra: Sequence[int] = ()
    ) -> list[Candidate]:
        """The best clauses by the hand-set combined score, best first, with the parts of that score, plus the
        clauses `extra` wherever they rank. `question` is the normalised question; `typed` are question words as
        typed that differ from their canonical word (徇私舞弊 for 舞弊): a clause that has them gets LITERAL_BONUS."""
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
        top += [(i, lexical.get(i, 0.0)) for i in extra if i not in {j for j, _ in top}]
        query = "".join(words)
        wanted = [clause_re for question_re, clause_re in QUESTION_TYPES if question_re.search(question)]
        other_actor = candidate_subject(question)
        out: list[Candidate] = []
        for i, v in top:
            fz = fuzz.partial_ratio(query, self._fuzz_text[i]) / 100.0
            score = v + FUZZ_WEIGHT * fz
            for clause_re in wanted:
                if clause_re.search(self._norm_text[i]):
                    score += QUESTION_TYPE_BONUS
            literal = sum(word in self._norm_text[i] for word in typed)
            score += LITERAL_BONUS * literal
            if other_actor and self._staff_rule[i]:
                score -= ACTOR_PENALTY
            out.append(Candidate(i, score, min(w.get(i, 0.0), 1.2), min(g.get(i, 0.0), 1.2), fz, float(literal)))
        out.sort(key=lambda c: (-c.score, c.index))
        return out[:limit] + [c for c in out[limit:] if c.index in extra]

    def features(self, question: str, exclude: str | None = None) -> tuple[list[Candidate], list[list[float]]]:
        """The RANKER_DEPTH best clauses by the hand-set score and their ranker features (knowledge/features.py).

        `exclude` leaves one example question out of the example similarity (used by knowledge/fit_ranker.py
        when an example question is itself a training query)."""
        tokens = self.analyzer.tokens(question)
        words = [canonical for _, canonical in tokens]
        typed = [surface for surface, canonical in tokens if surface != canonical and len(surface) > 1]
        # Cues (几分钟, 能不能 …) are looked for in the question without its fillers (好几个 is not "how many").
        normalized = self.analyzer.without_fillers(question)
        nearness = self.examples.nearness(words, exclude)
        candidates = self._candidates(normalized, words, RANKER_DEPTH, typed, nearness.nearest(EXAMPLE_DEPTH))
        if not candidates:
            return [], []
        query = Query(
            normalized=normalized,
            words=tuple(words),
            domain=bool(self.domain_markers(tokens)),
            unknown_words=len(self.unknown_words(words)),
        )
        coverages = [self.coverage(words, c.index) for c in candidates]
        rows = feature_rows(
            query,
            candidates,
            self.clauses,
            self._norm_text,
            coverages,
            self.examples,
            nearness,
            named_kind(normalized),
            exclude,
        )
        return candidates, rows

    def judge(self, question: str) -> Judged:
        """The candidates' (clause index, ranker probability), most probable first; whether to answer (Ranker.answers,
        .hedges, second, .admits); the commit model's probability that the best is right (0: hedge); the ranking."""
        candidates, rows = self.features(question)
        if not candidates:
            return Judged([], False, 0.0, None)
        indices = [c.index for c in candidates]
        ranking = self.ranker.rank(indices, rows, [self.clauses[i].doc for i in indices])
        ranked, best_row, sure = ranking.ranked, ranking.best_row, ranking.sure
        rule, p_best = self.ranker.answers(best_row, ranked[0][1]), ranked[0][1]  # else hedged (sure 0)
        near = rivals(ranked)
        veto = cache(lambda: self.out_of_scope(question, ranked[0][0], near))
        answer = (rule or self.ranker.hedges(best_row, p_best)) and veto() is None
        if not answer:  # the trees are asked only then
            opinions = second.opinion(self.ranker, indices, rows)
            answer = second.rescues(self.ranker, opinions, ranked, partial(self.out_of_scope, question, near=near))
        answer = answer or self.ranker.admits(best_row, p_best, sure, lambda: veto() is None)
        asked = (veto() or "") if veto.cache_info().currsize else None
        return Judged(ranked, answer, sure if rule else 0.0, ranking, asked)

    def out_of_scope(self, question: str, i: int, near: Sequence[int] = ()) -> str | None:
        """Why clause i cannot answer the question (knowledge/scope.py), None when it may (`near`: its rivals)."""
        text = self.analyzer.scope_text(question)
        veto = self._scope_veto(text, i, near)
        # An incidental word alone reaches clause i (监考能穿拖鞋吗 → the dress rule; knowledge/incidental.py).
        if veto is None and incidental.refuses(self, question, i):
            return "incidental"
        if veto is None and collects(text) and (not SOURCE_RE.search(self.scope.texts[i]) or self._uncovered(text, i)):
            return "collect"
        return veto

    def _scope_veto(self, text: str, i: int, near: Sequence[int] = ()) -> str | None:
        """Scope.veto of clause i for the question's scope text (Analyzer.scope_text): answer types, staff, focus."""
        docs, parts = [self.clauses[j].doc for j in near if j != i], self.analyzer.canonical_parts(text)
        return self.scope.veto(text, self.scope.texts[i], *parts, doc=self.clauses[i].doc, near=docs)

    def _uncovered(self, text: str, i: int) -> list[str]:
        """The question's content words (canonical, but the verbs of collecting) that clause i does not use (covers)."""
        words = dict.fromkeys(c for _, c in self.analyzer.tokens(text) if c not in COLLECT_VERBS)
        return [w for w in words if not self.covers(w, i)]

    def covers(self, word: str, i: int) -> bool:
        """Whether clause i uses the canonical ``word``, directly or through what it searches for (its parts, broader
        and related words)."""
        row = self._words.forward[i]
        return word in row or any(t in row for t in self._query_terms([word]))

    def commit_probability(self, question: str) -> float:
        """The commit model's probability that the best clause is right (the reply commits to it from the
        ranker's commit threshold on, unless the rule differs by kind or the asker's context changes the order)."""
        return self.judge(question).sure

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
            terms = self._query_terms([word])
            if word not in idf:
                # A word no clause uses is found only through what stands for it at full weight (its whole-word
                # parts, its broader words), not through a part the clauses use only inside another word.
                terms = {t: v for t, v in terms.items() if v >= 1.0 and t != word}
            if word in row or any(part in row for part in terms):
                found += weight
        return found / total if total else 0.0

    def incidental_alternatives(self, question: str, lead: int) -> list[tuple[int, float]]:
        """Clauses to show beside `lead` when an incidental word may have pulled it first (knowledge/incidental.py)."""
        return incidental.alternatives(self, question, lead)

    def word_row(self, i: int) -> dict[str, float]:
        """Clause i's canonical words (text, heading, title, sub-words) with their weights."""
        return self._words.forward[i]

    @property
    def word_idf(self) -> dict[str, float]:
        """IDF of every word some clause has."""
        return self._words.idf

    def probabilities(self, question: str) -> list[tuple[int, float]]:
        """(clause index, ranker probability) of the candidates, most probable first."""
        return self.judge(question).ranked

    def answers(self, question: str) -> bool:
        """Whether the question is answered (not "don't know"), pinned answers aside."""
        return self.judge(question).answer

    def set_runtime_pins(self, pins: Iterable[RuntimePin], version: object) -> RuntimePins:
        """Take the office's pins from chat (newest first); pins of clauses this knowledge base lacks are kept
        aside in ``dangling``. ``version`` is the caller's token of what they were read from."""
        self.runtime_pins = RuntimePins(pins, self._by_key)
        self.runtime_version = version
        return self.runtime_pins

    def _pinned_answer(self, question: str, kind: str = "") -> Answer | None:
        """The office's pin or the first matching line of pinned.txt; parts that differ by kind of exam are
        ordered for the asker's `kind` (context.kind_parts_first)."""
        runtime = self.runtime_pins.answer(question)
        if runtime is not None:
            return runtime
        normalized, scope_text = normalize(question), self.analyzer.scope_text(question)
        for pin, rx in zip(self.pinned, self._pinned_re, strict=True):
            # A written answer states no more than its first clause's scope (补考 is not lateness).
            if not rx.search(normalized) or focus_word(self._scope_veto(scope_text, self._position[pin.cites[0]])):
                continue
            text, cites = kind_parts_first(pin.answer, pin.cites, kind)
            cited = [self._by_key[key] for key in cites]
            # The answer carries the first cited clause's real document and number and the
            # written answer as its text; all cited clauses follow as matches.
            answer = Match(doc=cited[0].doc, clause=cited[0].clause, text=text, score=1.0)
            matches = [Match(doc=c.doc, clause=c.clause, text=c.text, score=1.0) for c in cited]
            return Answer(question=question, answer=answer, matches=matches[:MAX_MATCHES], pinned=True)
        return None

    def domain_markers(self, tokens: list[tuple[str, str]]) -> list[str]:
        """Exam-specific words of a question that the regulations use (see Analyzer.is_domain_word)."""
        known = self._words.idf
        return [c for surface, c in tokens if c in known and self.analyzer.is_domain_word(surface)]

    def unknown_words(self, words: list[str]) -> list[str]:
        """Question words of 2+ characters that no clause uses, even in part, and not grammatical (Analyzer)."""
        known, grammatical = self._words.idf, self.analyzer.grammatical
        out = [w for w in dict.fromkeys(words) if len(w) > 1 and w not in known and w not in grammatical]
        whole = self._whole_words
        return [w for w in out if not any(part in whole for part in self._query_terms([w]))]

    def ask(self, question: str, context: AskContext | None = None) -> Answer:
        """Answer a question: pinned answer, best clause(s), or "don't know" with nearest clauses.

        `context` (the asker's roles and kind of exam) steers the order of near-equal clauses. Whether
        to answer at all is judged on the best clause before steering. The reply commits to one clause
        only when no other is close (see knowledge/commit.py); otherwise `alternatives` holds the other
        two or one, and a rule that differs between theory and practical exams comes with both, labelled.
        """
        context = context or AskContext()
        pinned = self._pinned_answer(question, context.exam_kind)
        if pinned is not None:
            return pinned
        ranked, answer, sure, _, vetoed = self.judge(question)
        # Why the best clause cannot answer ("" when it may): judge's verdict when it asked, else asked once here.
        veto = cache(
            lambda: vetoed if vetoed is not None else self.out_of_scope(question, ranked[0][0], rivals(ranked))
        )
        if not answer and ranked and ranked[0][1] >= self.ranker.hedge_threshold:
            # The asker's session names the exam (a computer in a computer exam): the hedge fallback applies.
            words = [c for _, c in self.analyzer.tokens(question)]
            answer = names_session(words, context) and not veto()
        room = own_room(self.clauses, ranked, self.analyzer.without_fillers(question), context) if answer else None
        answer = answer and room != []
        aside_p = self.incidental_alternatives(question, ranked[0][0]) if ranked else []
        aside = [i for i, _ in aside_p]
        if not answer:  # the nearest clauses, and why when plain: the other exam's room rules, or a scope check
            suggested = [i for i, p in ranked[:MAX_MATCHES] if p >= SUGGESTION_FLOOR]
            suggested = incidental.with_aside(suggested, aside, MAX_MATCHES)
            raw = dict(ranked)
            why = only_for(self.clauses[ranked[0][0]].doc) if room == [] else missing(veto()) if ranked else ""
            matches = [self._match(i, raw.get(i, 0.0)) for i in suggested]
            return Answer(question=question, answer=None, matches=matches, missing=why)
        decision = decide(
            self.clauses,
            ranked,
            self.analyzer.without_fillers(question),
            context,
            sure=sure >= self.ranker.commit_threshold,
        )
        if room:
            decision = Decision(decision.ranked, room[0], room[1:])
        if aside and not decision.labels:
            shown = incidental.with_aside([decision.lead, *decision.others], aside, MAX_MATCHES)
            lead_doc, aside_doc = self.clauses[decision.lead].doc, self.clauses[aside[0]].doc
            if aside_p[0][1] > dict(ranked)[decision.lead] and not foreign(aside_doc, lead_doc, context):
                # Without the incidental word the question is answered more surely by another clause: it leads.
                shown = list(dict.fromkeys([aside[0], decision.lead, *shown]))  # the lead may be aside[0]
            decision = Decision(decision.ranked, shown[0], shown[1:MAX_MATCHES])
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

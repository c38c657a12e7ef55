"""Features of a (question, candidate clause) pair for the fitted ranker (knowledge/ranker.py).

Every feature is a plain float computed from what the lexical search already has (word and character-bigram
BM25, rapidfuzz, the hand-set combined score), from the example questions stored per clause
(knowledge/data/examples.tsv: the nearest one, and all of a clause's examples taken as one document), from
cues of the question (几分钟, 谁, 能不能, 怎么办, 会怎样) matched to the kind of content of the clause (a time, a
count, an actor, a permission, a procedure, a sanction), from words that point at one document, and from the
kind of exam the question names. The q_* features describe the question only and the off_domain_* ones are the
score and coverage of a question that names no exam-specific word: they let the model say how sure it is (a
question about a phone or a computer but not about an exam, or with words no clause uses, is less likely to be
answerable), which is what the refusal threshold uses.

The asker's role and session kind are not features: the tuning set records no asker, so their weight cannot be
fitted; knowledge/commit.py adds them as a small fixed bonus after the model.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path

from rapidfuzz import fuzz, process

from knowledge.context import KIND_DOCS, PRACTICAL, THEORY
from knowledge.loader import DATA_DIR, KnowledgeFileError, _read_lines
from knowledge.models import Clause
from knowledge.profile import Profile

EXAMPLES_FILE = DATA_DIR / "examples.tsv"

FEATURE_NAMES: tuple[str, ...] = (
    "score",
    "word_bm25",
    "gram_bm25",
    "fuzz",
    "gap_to_best",
    "reciprocal_rank",
    "coverage",
    "example_dice",
    "example_gap",
    "example_ratio",
    "example_words",
    "example_profile",
    "example_profile_gap",
    "time_match",
    "time_miss",
    "count_match",
    "count_miss",
    "who_match",
    "permission_match",
    "procedure_match",
    "sanction_match",
    "doc_cue",
    "doc_cue_elsewhere",
    "named_kind_match",
    "named_kind_other",
    "literal",
    "q_domain",
    "q_unknown_words",
    "q_length",
    "off_domain_score",
    "off_domain_coverage",
    "hand_gate",
)
# The hand-set answer rule that the ranker replaced (a question naming an exam-specific word needed a combined
# score of 0.28, plus 0.1 for each word no clause uses; any other question 0.45 and a coverage of 0.55): how far
# a candidate is above that bar is a feature of the gate.
HAND_THRESHOLD = 0.28
HAND_UNKNOWN_PENALTY = 0.1
HAND_OFF_DOMAIN_THRESHOLD = 0.45
HAND_OFF_DOMAIN_COVERAGE = 0.55

# (what the question asks, what a clause that answers it states).
_TIME = (
    re.compile(r"什么时候|啥时候|何时|几点|多久|多长时间|几分钟|多少分钟|提前|\d+分钟|几年|有效期|多长"),
    re.compile(r"\d+分钟|\d+小时|\d+年|三十分钟|按月|定期"),
)
# 好几个 / 好几次 is a filler ("several"), not a question about a number.
_COUNT = (
    re.compile(r"(?<!好)(?:几个|几名|几位|几人|几次)|多少人|多少个|多少名|多少次|配几"),
    re.compile(r"\d+名|\d+人|[两三]名|三分之|\d+次|[三两]次|份数"),
)
_WHO = (
    re.compile(r"谁|哪个部门|哪个岗位|哪个人|什么人|哪些人"),
    re.compile(r"负责|主监考|副监考|组长|负责人|督导员|考务部门|考务办公室|专人|由"),
)
_PERMISSION = (
    re.compile(r"能不能|能否|可以|可不可|允许|准不准|行不行|让不让|可否|能.{0,12}吗|许不许"),
    re.compile(r"不得|不准|禁止|不能|可以|只可|有权|一律|允许|方可|必须|应"),
)
_PROCEDURE = (
    re.compile(r"怎么办|咋办|咋整|怎么处理|如何处理|怎么弄|怎么搞|发现"),
    re.compile(r"报告|处理|立即|及时|制止|追查|纠正|处置|上报|更换|调试"),
)
_SANCTION = (
    re.compile(r"会怎样|会怎么样|后果|处罚|处分|怎么罚|会被|算不算|什么下场|会不会"),
    re.compile(r"取消|警告|通报|作废|零分|追究|批评|无效|扣分|终止|放弃"),
)
_CUES = (_TIME, _COUNT, _WHO, _PERMISSION, _PROCEDURE, _SANCTION)
# Words that point at one document (its subject, its people or its objects), matched in the question.
DOC_CUES: dict[str, re.Pattern[str]] = {
    "阅卷评分守则": re.compile(r"阅卷|评分|改卷|批阅|判卷|打分|评卷"),
    "考评人员管理办法": re.compile(r"考评员|考评人员|考评证|证卡|津贴|换证|回避|答辩|劳务费"),
    "考评人员守则": re.compile(r"考评员|考评人员"),
    "监考人员守则": re.compile(r"监考|主监|副监"),
    "实际操作考场安全工作规则": re.compile(r"安全|事故|消防|断电|易燃|易爆|隐患"),
    "实际操作考核考场规则": re.compile(r"实操|实际操作|工位|工件|考件|工卡量具|检录|操作考"),
    "试题管理岗位职责": re.compile(r"试题|题库|台账|台帐|档案|资格证书"),
    "试卷管理制度": re.compile(r"试卷|卷子|印制|印刷|泄密|运送|交接|监印"),
    "廉政风险防控制度": re.compile(r"廉政|投诉|造假|信息泄露|滥用|干预"),
    "内部质量督导员守则": re.compile(r"督导"),
    "考务管理岗位职责": re.compile(r"考务|报名|准考证|公告|申报|平台|报表"),
}
MAX_QUERY_WORDS = 10
# Clauses whose example questions are nearest to the question (Examples.nearest) join the ranker's candidates even
# when their text shares few words with it: the examples hold staff's words (wt-kb5).
EXAMPLE_DEPTH = 3
# Question types of the hand-set score (knowledge/index.py): a question asking "when / how long" prefers clauses
# stating a time, one asking "how many" prefers clauses stating a number of people or times.
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


@dataclass(frozen=True)
class Candidate:
    """One clause found by the lexical search, with the parts of its hand-set score."""

    index: int
    score: float
    word: float
    gram: float
    fuzz: float
    literal: float


@dataclass(frozen=True)
class Query:
    """What the features need to know of a question."""

    normalized: str  # knowledge.text.normalize(question)
    words: tuple[str, ...]  # canonical content words (no stop words, no fillers)
    domain: bool  # names an exam-specific word
    unknown_words: int  # words of two or more characters that no clause uses


def bigram_set(text: str) -> frozenset[str]:
    """Character bigrams of a string (the string itself when shorter than two)."""
    if len(text) < 2:
        return frozenset((text,)) if text else frozenset()
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def read_examples(path: Path = EXAMPLES_FILE) -> list[tuple[str, str, str]]:
    """(document title, clause number, question) rows of an example-question file."""
    rows: list[tuple[str, str, str]] = []
    for lineno, line in enumerate(_read_lines(path), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise KnowledgeFileError(path, lineno, "expected 文档<TAB>编号<TAB>问题")
        rows.append((parts[0].strip(), parts[1].strip(), parts[2].strip()))
    return rows


class Examples:
    """Example questions per clause, as canonical strings and bigram sets."""

    def __init__(self, per_clause: Sequence[Sequence[tuple[str, ...]]]) -> None:
        """`per_clause[i]` are the canonical words of each of clause i's example questions."""
        self.texts = [["".join(words) for words in examples] for examples in per_clause]
        self.grams = [[bigram_set(t) for t in texts] for texts in self.texts]
        self.words = [[frozenset(words) for words in examples] for examples in per_clause]
        # Bigram -> (clause, example) postings, to find the clauses whose examples are nearest to a question.
        self._postings: dict[str, list[tuple[int, int]]] = {}
        for i, example_grams in enumerate(self.grams):
            for j, gram_set in enumerate(example_grams):
                for gram in gram_set:
                    self._postings.setdefault(gram, []).append((i, j))
        # Each clause's examples as one document (knowledge/profile.py).
        self.word_profile = Profile(self.words, self.texts)

    def nearness(self, words: Sequence[str], exclude: str | None = None) -> Nearness:
        """How near the question's canonical `words` are to each clause's examples; `exclude` is an example left
        out (the query itself, when an example question is a training query)."""
        return Nearness(self.best_dice(bigram_set("".join(words)), exclude), self.word_profile.scores(words, exclude))

    def best_dice(self, grams: frozenset[str], exclude: str | None = None) -> dict[int, float]:
        """The Dice similarity of each clause's nearest example question to the question's bigrams (clauses without
        a shared bigram are left out); `exclude` is an example left out."""
        shared = Counter(chain.from_iterable(self._postings.get(gram, ()) for gram in grams))
        best: dict[int, float] = {}
        for (i, j), n in shared.items():
            if self.texts[i][j] == exclude:
                continue
            value = 2.0 * n / (len(grams) + len(self.grams[i][j]))
            if value > best.get(i, 0.0):
                best[i] = value
        return best

    def similarity(self, query: str, words: frozenset[str], i: int, exclude: str | None = None) -> tuple[float, float]:
        """(best rapidfuzz ratio / 100, best Jaccard of words) of the query to clause i's examples; `exclude` is an
        example left out (the query itself, when an example question is a training query)."""
        texts = self.texts[i] if exclude is None else [t for t in self.texts[i] if t != exclude]
        found = process.extractOne(query, texts, scorer=fuzz.ratio)  # the best ratio in one call
        best_ratio = found[1] / 100.0 if found is not None else 0.0
        best_words = 0.0
        for text, example_words in zip(self.texts[i], self.words[i], strict=True):
            if text != exclude and words and example_words:
                best_words = max(best_words, len(words & example_words) / len(words | example_words))
        return best_ratio, best_words


@lru_cache(maxsize=16384)
def _states(clause_text: str) -> tuple[bool, ...]:
    """Which cues (_CUES) a clause's normalised text states; the texts never change, so each is read once."""
    return tuple(bool(c_re.search(clause_text)) for _, c_re in _CUES)


def best_of(scores: dict[int, float], limit: int) -> list[int]:
    """The `limit` clauses with the highest positive scores, best first (the lower index on a tie)."""
    return sorted((i for i in scores if scores[i] > 0.0), key=lambda i: (-scores[i], i))[:limit]


@dataclass(frozen=True)
class Nearness:
    """How near one question is to each clause's examples (Examples.nearness; clauses sharing nothing left out),
    computed once per question for the candidate search and the features."""

    dice: dict[int, float]  # the nearest single example's bigram Dice
    profile: dict[int, float]  # all of the clause's examples taken as one document (knowledge/profile.py)

    def nearest(self, limit: int) -> list[int]:
        """The `limit` nearest clauses by each measure, the nearest single examples' first."""
        return list(dict.fromkeys([*best_of(self.dice, limit), *best_of(self.profile, limit)]))


def _doc_kind(doc: str) -> str:
    return next((kind for kind, docs in KIND_DOCS.items() if doc in docs), "")


def _hand_gate(query: Query, score: float, coverage: float) -> float:
    """How far a candidate clears the hand-set answer rule (negative: it would have been refused)."""
    if query.domain:
        return score - HAND_THRESHOLD - HAND_UNKNOWN_PENALTY * query.unknown_words
    return min(score - HAND_OFF_DOMAIN_THRESHOLD, coverage - HAND_OFF_DOMAIN_COVERAGE)


def feature_rows(
    query: Query,
    candidates: Sequence[Candidate],
    clauses: Sequence[Clause],
    norm_texts: Sequence[str],
    coverages: Sequence[float],
    examples: Examples,
    nearness: Nearness,
    named: str,
    exclude: str | None = None,
) -> list[list[float]]:
    """One row of FEATURE_NAMES per candidate (in the given order, best lexical score first).

    `norm_texts[i]` is the normalised text of clause i, `coverages` the question's coverage of each candidate,
    `nearness` the question's to the examples (computed with the same `exclude`, an example question to leave out),
    `named` the kind of exam the question names ("" when none).
    """
    if not candidates:
        return []
    joined = "".join(query.words)
    word_set = frozenset(query.words)
    sims = [
        (nearness.dice.get(c.index, 0.0), *examples.similarity(joined, word_set, c.index, exclude)) for c in candidates
    ]
    best_dice = max(d for d, _, _ in sims)
    profiles = [nearness.profile.get(c.index, 0.0) for c in candidates]
    best_profile = max(profiles)
    best_score = candidates[0].score
    asks = [bool(q_re.search(query.normalized)) for q_re, _ in _CUES]
    cue_text = query.normalized + "|" + joined
    cued = {doc for doc, rx in DOC_CUES.items() if rx.search(cue_text)}
    other_kind = {THEORY: PRACTICAL, PRACTICAL: THEORY}.get(named, "")
    query_part = [
        float(query.domain),
        float(query.unknown_words),
        min(len(query.words), MAX_QUERY_WORDS) / MAX_QUERY_WORDS,
    ]
    rows: list[list[float]] = []
    scores = [c.score for c in candidates]
    for c, (ex_dice, ex_ratio, ex_words), cov, profile in zip(candidates, sims, coverages, profiles, strict=True):
        # Clauses with equal scores share a rank: identical clauses must get identical features.
        rank = sum(other > c.score for other in scores)
        text = norm_texts[c.index]
        doc = clauses[c.index].doc
        states = _states(text)
        kind = _doc_kind(doc)
        row = [
            c.score,
            c.word,
            c.gram,
            c.fuzz,
            best_score - c.score,
            1.0 / (rank + 1),
            cov,
            ex_dice,
            best_dice - ex_dice,
            ex_ratio,
            ex_words,
            profile,
            best_profile - profile,
            float(asks[0] and states[0]),
            float(asks[0] and not states[0]),
            float(asks[1] and states[1]),
            float(asks[1] and not states[1]),
            float(asks[2] and states[2]),
            float(asks[3] and states[3]),
            float(asks[4] and states[4]),
            float(asks[5] and states[5]),
            float(doc in cued),
            float(bool(cued) and doc not in cued),
            float(bool(named) and kind == named),
            float(bool(other_kind) and kind == other_kind),
            c.literal,
            *query_part,
            0.0 if query.domain else c.score,
            0.0 if query.domain else cov,
            _hand_gate(query, c.score, cov),
        ]
        rows.append(row)
    return rows

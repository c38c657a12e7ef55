"""Incidental words: things a question names only in passing (issue 17, wt-kb8).

考生打电话问我他过没过 asks whether a candidate may be told the result (考评人员管理办法 第七条(十)), but 电话 weighs so
much in 监考人员守则 3.(8) (手机 … 不得在考场内接听电话) that the phone rule leads. The words of lexicon/incidental.txt
(手机, 电话, 穿) are checked against the best clause: when it has one the question names but misses another content word
of the question, the question is ranked again without them, and that ranking's best clause is shown too (it leads when
it is surer than the best clause of the whole question). When the best clause has none of the other content words and
the question without the incidental words is not answered either (监考能穿拖鞋吗 → the candidates' dress rule), or when
it lacks the incidental word and shares only who the question is about (督导能穿裙子吗 → 督导员守则 2.), the question is
refused (KnowledgeBase.out_of_scope).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the knowledge base calls these functions; no import at run time (it would be circular)
    from knowledge.index import KnowledgeBase

# The best clause of a question ranked without its incidental words is shown beside the best clause of the whole
# question when its probability is at least this.
INCIDENTAL_FLOOR = 0.2
# Who a question is about (canonical words): a clause that shares only these with a question about an incidental word
# it lacks (督导能穿裙子吗 → 内部质量督导员守则 2.) does not answer it.
ROLE_WORDS = frozenset(
    {"考生", "监考员", "考评员", "质量督导员", "主监考", "副监考", "考务办公室", "考评组长", "工作人员"}
)


def _parts(kb: KnowledgeBase, question: str, i: int) -> tuple[set[str], list[str], list[str], dict[str, float]]:
    """The incidental words the question names (canonical), its other content words, those of them clause i has
    (directly or through what stands for them), and clause i's word row."""
    incidental = kb.analyzer.incidental
    tokens = kb.analyzer.tokens(question)
    row = kb.word_row(i)
    named = {c for _, c in tokens if c in incidental}
    idf, grammatical = kb.word_idf, kb.analyzer.grammatical
    rest = [c for _, c in tokens if c not in incidental and len(c) > 1 and c in idf and c not in grammatical]
    covered = [w for w in rest if kb.covers(w, i)]
    return named, rest, covered, row


def without_incidental(kb: KnowledgeBase, question: str, lead: int) -> tuple[str, bool] | None:
    """The question without its incidental words and whether clause `lead` has any of its other content words, when
    the lead has an incidental word the question names but misses another content word of it (考生打电话问我他过没过:
    3.(8) has 电话, not 过没过); None otherwise."""
    return _without(kb, question, _parts(kb, question, lead))


def _without(
    kb: KnowledgeBase, question: str, parts: tuple[set[str], list[str], list[str], dict[str, float]]
) -> tuple[str, bool] | None:
    """without_incidental on the question's parts (_parts) for the lead."""
    named, rest, covered, row = parts
    if not named & row.keys() or len(covered) == len(rest):
        return None
    incidental, synonyms = kb.analyzer.incidental, kb.analyzer.synonyms
    kept = kb.analyzer.cut(question)
    return "".join(t for t in kept if synonyms.get(t, t) not in incidental), bool(covered)


def refuses(kb: KnowledgeBase, question: str, i: int) -> bool:
    """Whether clause i, the best one, is reached only through an incidental word and the question without it is not
    answered or names a word no clause uses, or lacks the incidental word the question names and shares with it only
    who it is about."""
    parts = _parts(kb, question, i)
    named, rest, covered, row = parts
    reduced = _without(kb, question, parts)
    if reduced is not None:
        if covered:
            return False
        # The clause shares only the incidental word with the question, and besides who it is about the question
        # names only things no clause knows (监考能穿拖鞋吗: 拖鞋): what is left (监考能吗) says nothing, whatever it
        # happens to reach.
        unknown = kb.unknown_words([c for _, c in kb.analyzer.tokens(question)])
        return (bool(unknown) and all(w in ROLE_WORDS for w in rest)) or not kb.answers(reduced[0])
    return bool(named) and not named & row.keys() and all(w in ROLE_WORDS for w in covered)


def alternatives(kb: KnowledgeBase, question: str, lead: int) -> list[tuple[int, float]]:
    """Clauses to show beside `lead` when an incidental word may have pulled it first (see without_incidental): the
    best clause of the question ranked without the incidental words when it is not the lead (and its runner-up when
    close), with probability at least INCIDENTAL_FLOOR, best first, with their probabilities in that ranking; []
    otherwise."""
    reduced = without_incidental(kb, question, lead)
    ranked = kb.probabilities(reduced[0]) if reduced else []
    if not ranked or ranked[0][1] < INCIDENTAL_FLOOR or ranked[0][0] == lead:
        return []
    out = ranked[:1]
    if len(ranked) > 1 and ranked[1][0] != lead and ranked[1][1] >= max(INCIDENTAL_FLOOR, 0.5 * ranked[0][1]):
        out.append(ranked[1])
    return out


def with_aside(shown: list[int], aside: list[int], limit: int) -> list[int]:
    """What a reply shows (clause indexes, best first) with the clauses of `alternatives`: the first two shown, then
    those (in place of a third), at most `limit`."""
    out = shown[:2] + [i for i in aside if i not in shown[:2]]
    out += [i for i in shown[2:] if i not in out]
    return out[:limit]

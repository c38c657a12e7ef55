"""Who asks and for which kind of exam: how that steers the ranking and when a rule differs by kind.

The knowledge package stays free of the bot: roles and session kinds are the plain string values of
``bot.store.tables.Role`` and ``SessionKind`` (``"invigilator"``, ``"practical"`` …).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Documents each role works by: a clause from one of them gets ROLE_BONUS when that role asks.
ROLE_DOCS: dict[str, frozenset[str]] = {
    "invigilator": frozenset({"监考人员守则", "试卷管理制度"}),
    "evaluator": frozenset(
        {"考评人员管理办法", "考评人员守则", "阅卷评分守则", "实际操作考核考场规则", "实际操作考场安全工作规则"}
    ),
    "supervisor": frozenset({"内部质量督导员守则", "廉政风险防控制度"}),
    "office": frozenset({"考务管理岗位职责", "试题管理岗位职责", "试卷管理制度"}),
}
THEORY, PRACTICAL = "theory", "practical"
# Documents of each kind of exam (a computer-based exam is run like a theory one: 监考人员守则 2.(6)).
# 试卷管理制度 is about papers of every kind, not the theory room.
KIND_DOCS: dict[str, frozenset[str]] = {
    THEORY: frozenset({"监考人员守则"}),
    PRACTICAL: frozenset({"实际操作考核考场规则", "实际操作考场安全工作规则"}),
}
KIND_LABELS = {THEORY: "理论考试", PRACTICAL: "实操考试"}
# The rules of one kind of exam room (wt-kb9): what candidates and staff do in a theory (or computer) room and in a
# practical one. The safety rules and the papers' rules are not here: a power cut in a computer room is an
# emergency of the safety rules too (实际操作考场安全工作规则 8.).
ROOM_DOCS: dict[str, str] = {THEORY: "监考人员守则", PRACTICAL: "实际操作考核考场规则"}
# Small next to the hedging margins: context reorders near-equals, it does not overrule the text.
ROLE_BONUS = 0.04
KIND_BONUS = 0.06
# A kind the question names itself counts instead of the asker's session.
NAMED_KIND_BONUS = 0.06
NAMED_KIND = {
    PRACTICAL: re.compile(r"实操|实际操作|操作技能|操作考|技能考|工位|工件|工卡量具"),
    THEORY: re.compile(r"理论|笔试|机考|上机|答题卡"),
}
# The same question answered by one rule in theory (and computer) exams and another in practical ones:
# (theory clause, practical clause, what the question must be about). Both are shown, labelled, when
# the question is about that and one of the two is among the best clauses.
KIND_COUNTERPARTS: tuple[tuple[tuple[str, str], tuple[str, str], re.Pattern[str]], ...] = (
    # lateness: 开考 30 分钟后不准进场 vs 迟到 5 分钟取消资格
    (("监考人员守则", "3.(3)"), ("实际操作考核考场规则", "2."), re.compile(r"迟到|晚到|来晚|来迟|晚来|迟了|晚了")),
    # a candidate breaking the rules
    (("监考人员守则", "3.(5)"), ("实际操作考核考场规则", "8."), re.compile(r"违纪|违规|作弊|舞弊|抄袭|偷看|夹带")),
    # the end of the exam
    (("监考人员守则", "4.(1)"), ("实际操作考核考场规则", "5."), re.compile(r"结束|时间到|停止|退场")),
    # the candidate's identity papers: 五对照 in the theory room vs 持身份证、准考证 at the practical check-in (wt-kb9)
    (("监考人员守则", "3.(1)"), ("实际操作考核考场规则", "2."), re.compile(r"身份证|证件|准考证")),
    # people who may enter the room
    (("监考人员守则", "3.(6)"), ("实际操作考核考场规则", "1."), re.compile(r"外人|无关|闲杂|其他人|别人.*进")),
)


@dataclass(frozen=True)
class AskContext:
    """The asker: their roles and the kind of their current or next session ("" when unknown)."""

    roles: frozenset[str] = frozenset()
    kind: str = ""

    @property
    def exam_kind(self) -> str:
        """THEORY, PRACTICAL or "" (a computer-based session counts as theory)."""
        if self.kind == PRACTICAL:
            return PRACTICAL
        return THEORY if self.kind in (THEORY, "computer") else ""


def named_kind(question: str) -> str:
    """The kind of exam the question names itself (实操…, 理论…), or ""."""
    found = [kind for kind, rx in NAMED_KIND.items() if rx.search(question)]
    return found[0] if len(found) == 1 else ""


# Staff of one kind of room, named in a question asked without a session kind: invigilators work the theory (and
# computer) rooms (监考人员守则). Evaluators are not taken for the practical room: they also mark theory papers
# (阅卷评分守则), and that direction changed nothing on the development and tuning sets (wt-kb9).
INVIGILATOR_WORD = re.compile(r"监考")
EVALUATOR_WORD = re.compile(r"考评")


def staff_kind(question: str) -> str:
    """THEORY when the question names invigilators and not evaluators, else ""."""
    return THEORY if INVIGILATOR_WORD.search(question) and not EVALUATOR_WORD.search(question) else ""


# Words that name the exam itself for an asker in that kind of session (wt-kb9): in a computer exam, the computer is
# the candidate's (电脑死机了怎么办 → 监考人员守则 2.(6)); asked with no session it may be any computer (an office one).
SESSION_WORDS: dict[str, frozenset[str]] = {"computer": frozenset({"计算机"})}


def names_session(words: list[str], context: AskContext) -> bool:
    """Whether the question's canonical `words` name what the asker's session is about (SESSION_WORDS)."""
    return bool(SESSION_WORDS.get(context.kind, frozenset()) & set(words))


def other_room(doc: str, question: str, context: AskContext) -> bool:
    """Whether `doc` holds the room rules of the other kind of exam than the asker's, for a question that names no
    kind (a theory invigilator answered by the practical room's rules: 考生要上厕所怎么办 → 实操考场规则 4.)."""
    if named_kind(question):
        return False
    kind = context.exam_kind or staff_kind(question)
    if not kind:
        return False
    return doc == ROOM_DOCS[PRACTICAL if kind == THEORY else THEORY]


def role_docs(context: AskContext) -> frozenset[str]:
    """The documents the asker's roles work by (ROLE_DOCS)."""
    return frozenset().union(*(ROLE_DOCS.get(r, frozenset()) for r in context.roles))


def foreign(doc: str, lead_doc: str, context: AskContext) -> bool:
    """Whether `doc` is none of the asker's roles' documents while `lead_doc` is one of them (an invigilator's
    question led by the invigilators' rules is not handed to the evaluators' rules on a weaker cue)."""
    docs = role_docs(context)
    return doc not in docs and lead_doc in docs


def doc_bonus(doc: str, context: AskContext, named: str) -> float:
    """How much the asker's role and exam kind (or the kind the question names) favour a document."""
    bonus = ROLE_BONUS if any(doc in ROLE_DOCS.get(r, ()) for r in context.roles) else 0.0
    if named:
        return bonus + (NAMED_KIND_BONUS if doc in KIND_DOCS[named] else 0.0)
    if context.exam_kind and doc in KIND_DOCS[context.exam_kind]:
        bonus += KIND_BONUS
    return bonus


def counterparts(question: str, keys: list[tuple[str, str]]) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """(theory clause, practical clause) of the first pair the question is about with a clause in `keys`."""
    for theory, practical, topic in KIND_COUNTERPARTS:
        if (theory in keys or practical in keys) and topic.search(question):
            return theory, practical
    return None


# The documents of each part of a pinned answer split by kind: the practical room is the evaluators' (a theory room
# has invigilators; evaluators also mark theory papers, so KIND_DOCS leaves their documents out).
PART_DOCS: dict[str, frozenset[str]] = {
    THEORY: KIND_DOCS[THEORY],
    PRACTICAL: KIND_DOCS[PRACTICAL] | {"考评人员管理办法", "考评人员守则"},
}
# Separates the parts of a pinned answer that differ by kind of exam (pinned.txt): each part starts with its
# label (理论考试：…｜实操考试：…).
KIND_PART_SEPARATOR = "｜"


def kind_parts_first(
    answer: str, cites: tuple[tuple[str, str], ...], kind: str
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A pinned answer with the asker's kind of exam first: the labelled parts of `answer` (KIND_PART_SEPARATOR)
    whose label names `kind` (THEORY or PRACTICAL, see named_kind) move to the front, and so do the cited clauses
    of that kind's documents (PART_DOCS); otherwise the file's order is kept. The parts are joined one per line."""
    parts = [p.strip() for p in answer.split(KIND_PART_SEPARATOR) if p.strip()]
    if kind and len(parts) > 1:
        parts.sort(key=lambda part: named_kind(part.split("：", 1)[0]) != kind)
        cites = tuple(sorted(cites, key=lambda key: key[0] not in PART_DOCS[kind]))
    return "\n".join(parts), cites

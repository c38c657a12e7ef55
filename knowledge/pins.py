"""Pins the office sets from chat (/钉住): a question answered with a chosen clause, quoted.

Pure and synchronous like the rest of ``knowledge/``: the pins are stored in the database by the handlers
(``handlers/ask_feedback.py``) and handed to the knowledge base with ``KnowledgeBase.set_runtime_pins``. This
module says which questions count as the same (``pin_key``) and reads a clause reference typed on a phone
(``resolve_clause``: 监考人员守则 3.(8), 监考守则 第3条第8项, 《考评人员管理办法》第七条(九) …).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from knowledge.models import Answer, Clause, Match
from knowledge.text import normalize

# Words around a question that do not change it: 请问 in front; 吗/呢/啊 … at the end.
_LEAD = re.compile(r"^(?:请问一下|请问|问一下|问下|想问一下|想问)")
_TAIL = re.compile(r"(?:吗|呢|啊|呀|吧|么|嘛|哈|哦)+$")
_CN = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_CHARS = "零〇一二两三四五六七八九十"
# A clause number as the knowledge files write it: 3. / 3、 / 第七条 / 前言, then an optional sub-item (8) / (九).
_CLAUSE_RE = re.compile(
    rf"^(?:(?P<n>\d+)[.、]|第(?P<cn>[{_CN_CHARS}百]+)条|(?P<pre>前言))(?:\[\d+\])?"
    rf"(?:\((?P<sub>\d+|[{_CN_CHARS}]+)\))?$"
)
# A clause number as staff type it, at the end of the reference: 3.(8), 3(8), 3.8, 第3条第8项, 第三条(九), 3, 前言.
_TYPED_RE = re.compile(
    rf"(?:第?(?P<top>\d+|[{_CN_CHARS}]+)(?:条|[.、])?"
    rf"(?:第?\(?(?P<sub>\d+|[{_CN_CHARS}]+)\)?(?:项|款|点)?)?|(?P<pre>前言))$"
)


@dataclass(frozen=True)
class RuntimePin:
    """A pinned question (as the office saw it) and the clause it is answered with."""

    id: int
    question: str
    doc: str
    clause: str


class ClauseRefError(ValueError):
    """A clause reference that names no clause; the message (Simplified Chinese) says why."""


def pin_key(question: str) -> str:
    """What two questions must share to get the same pin: the text without width, case, spaces, punctuation,
    a leading 请问 or trailing particles (吗, 呢, 啊 …); Chinese counts as digits (三十分钟 = 30分钟)."""
    bare = "".join(ch for ch in normalize(question) if ch.isalnum())
    bare = _LEAD.sub("", bare)
    return _TAIL.sub("", bare) or bare


def _to_int(s: str) -> int | None:
    """3, 三, 十二, 二十 → int; None for anything else."""
    if s.isdigit():
        return int(s)
    if "十" not in s:
        return _CN.get(s) if len(s) == 1 else None
    tens, _, ones = s.partition("十")
    if len(tens) > 1 or len(ones) > 1 or (tens and tens not in _CN) or (ones and ones not in _CN):
        return None
    return (_CN[tens] if tens else 1) * 10 + (_CN[ones] if ones else 0)


def clause_number(number: str) -> tuple[int, int | None] | None:
    """(top, sub-item) of a clause number of the knowledge files (前言 is 0); None when it has another form."""
    m = _CLAUSE_RE.match(number)
    if m is None:
        return None
    top = 0 if m.group("pre") else _to_int(m.group("n") or m.group("cn"))
    sub = _to_int(m.group("sub")) if m.group("sub") else None
    if top is None or (m.group("sub") and sub is None):
        return None
    return top, sub


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _documents(titles: Sequence[str], typed: str) -> list[str]:
    """Titles a typed document name stands for: the exact title, titles containing it, or (监考守则 for
    监考人员守则) titles holding its characters in order."""
    if typed in titles:
        return [typed]
    containing = [t for t in titles if typed in t]
    if containing:
        return containing
    return [t for t in titles if len(typed) >= 2 and _is_subsequence(typed, t)]


def resolve_clause(clauses: Iterable[Clause], reference: str) -> Clause:
    """The clause a typed reference names: a document (its title, part of it, or its characters in order)
    then a clause number; raise ClauseRefError with a sentence for the chat when it names none or several."""
    text = unicodedata.normalize("NFKC", reference)
    text = re.sub(r"[\s《》<>“”\"'：:，,]", "", text)
    m = _TYPED_RE.search(text)
    if m is None or not text[: m.start()]:
        raise ClauseRefError("请写明文件和条款号，例如：监考人员守则 3.(8)。")
    typed_doc = text[: m.start()]
    all_clauses = list(clauses)
    titles = list(dict.fromkeys(c.doc for c in all_clauses))
    docs = _documents(titles, typed_doc)
    if not docs:
        raise ClauseRefError(
            f"没有找到名为“{typed_doc}”的文件。文件有：" + "、".join(f"《{t}》" for t in titles) + "。"
        )
    if len(docs) > 1:
        raise ClauseRefError(f"“{typed_doc}”可以指：" + "、".join(f"《{t}》" for t in docs) + "，请写全文件名。")
    doc = docs[0]
    if m.group("pre"):
        top, sub = 0, None
    else:
        top = _to_int(m.group("top"))
        sub = _to_int(m.group("sub")) if m.group("sub") else None
        if top is None or (m.group("sub") and sub is None):
            raise ClauseRefError("条款号写得不对，例如：3.(8)、第3条第8项、第七条(九)。")
    numbered = {clause_number(c.clause): c for c in all_clauses if c.doc == doc}
    found = numbered.get((top, sub))
    if found is not None:
        return found
    subs = sorted((k[1], c.clause) for k, c in numbered.items() if k is not None and k[0] == top and k[1] is not None)
    if sub is None and subs:
        raise ClauseRefError(f"《{doc}》这一条分为 {len(subs)} 项，请写明第几项，例如：{doc} {subs[0][1]}。")
    label = "前言" if top == 0 else f"第 {top} 条" + (f"第 {sub} 项" if sub is not None else "")
    raise ClauseRefError(f"《{doc}》没有{label}。")


_FILLER = re.compile(r"^(?:应该是|应当是|应是|正确的是|正确是|应该按|应按|按照|参照|参考|是|按|看)+")


def suggested_clause(clauses: Iterable[Clause], note: str) -> Clause | None:
    """The clause a dispute's note names (应该是监考人员守则 3.(8)), the last part naming exactly one; else None."""
    known = list(clauses)
    for part in reversed(re.split(r"[;,。!?]", re.sub(r"\s", "", unicodedata.normalize("NFKC", note)))):
        text = _FILLER.sub("", part)
        if not text:
            continue
        try:
            return resolve_clause(known, text)
        except ClauseRefError:
            continue
    return None


class RuntimePins:
    """The pins in force, by ``pin_key``; a pin whose clause the knowledge base lacks is left out."""

    def __init__(self, pins: Iterable[RuntimePin] = (), known: Mapping[tuple[str, str], Clause] | None = None) -> None:
        self._clauses: Mapping[tuple[str, str], Clause] = known if known is not None else {}
        self.by_key: dict[str, RuntimePin] = {}
        self.dangling: list[RuntimePin] = []
        for pin in pins:
            if (pin.doc, pin.clause) not in self._clauses:
                self.dangling.append(pin)
                continue
            self.by_key.setdefault(pin_key(pin.question), pin)  # callers pass the newest first

    def match(self, question: str) -> RuntimePin | None:
        """The pin of this question (same question up to width, punctuation, spaces and particles)."""
        if not self.by_key:
            return None
        return self.by_key.get(pin_key(question))

    def answer(self, question: str) -> Answer | None:
        """The pinned clause of this question, quoted (it wins over pinned.txt: it is newer), or None."""
        pin = self.match(question)
        if pin is None:
            return None
        c = self._clauses[(pin.doc, pin.clause)]
        m = Match(doc=c.doc, clause=c.clause, text=c.text, score=1.0)
        return Answer(question=question, answer=m, matches=[m], pinned=True, office_pinned=True)

    def __len__(self) -> int:
        return len(self.by_key)

"""Whether the best clause can answer what the question asks for (issue 17, wt-ood).

A question full of exam words (考场, 监考, 考评员) can still ask for something no regulation states: where the toilets
are, what the wifi password is, when the office closes, whether pay is taxed. The lexical search then finds a clause
that shares the exam words and mentions the rest in passing (考场厕所在几楼 → the practical-exam clause about going
to the 卫生间). Two checks veto such an answer, whatever its score:

* the answer type: a question asking WHERE needs a clause that names a place (an office, a department, a spot);
  asking how much something costs needs one about fees; asking for a password, a phone number, opening hours, tax or
  reimbursement needs a clause that states one, and none of the regulations does;
* the focus: a facility, money or personal-life word of lexicon/logistics.txt (食堂, 停车, 工资, wifi, 喝水 …)
  must be used by the clause itself;
* what is collected (session 17): a question asking where or from whom to collect something (马甲在哪领, 喝的水去哪里
  拿) needs a clause that names the thing: the rules say where the papers are collected, not the vests
  (KnowledgeBase.out_of_scope, with ``collects`` and ``COLLECT_VERBS`` below).

Both were chosen on training questions only (tuning set, examples, examples_ood.tsv, the first dev set): they refuse
none of their in-domain questions that were answered before (tests/knowledge/test_scope.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from knowledge.loader import LEXICON_DIR, load_word_list
from knowledge.text import normalize

LOGISTICS_FILE = LEXICON_DIR / "logistics.txt"

# A number as the regulations write one (3 名, 三分之一, 半小时), how often something is done, and what may precede
# 几 in a question that asks for a number (not 劝了几次, 那几天, 好几个).
_NUMBER = r"[0-9一二两三四五六七八九十百半]+"
_OFTEN = r"每|定期|按月|经常|随时|轮换"
_ASKED = r"(?<![了过好那这])"

# (name, what the question asks for, what a clause that answers it states; None: no regulation states it).
ANSWER_TYPES: tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...] = (
    (
        "place",
        # 在哪规定 / 写在哪条 ask which rule says so, 在哪签名 on which form to sign: not for a place (在哪签到 is).
        re.compile(
            r"(?:在哪|哪里|哪儿|什么地方|啥地方)(?!规定|有规定|写|一?条|签名|签字)|几楼|哪个楼|哪层|什么位置|去哪"
        ),
        # A place, or where something is written or kept (在评分表上签字, 记入记录表, 专柜存放).
        re.compile(
            r"办公室|部门|机构|中心|门口|位置|地点|区域|存放|专柜|讲台|后面|场外|上网|记入|填入|记录表|[在到][^,，。；]{1,16}[上中内外里处场室楼]"
        ),
    ),
    ("cost", re.compile(r"多少钱|收费|交钱|要钱|付费|免费|花钱"), re.compile(r"费|津贴|元")),
    # The pass mark (session 17: 理论考试多少分及格 reached the office's duty to arrange theory exams): only a clause
    # that states a mark answers it (综合评审面试答辩: 60 分). 几分钟 asks for minutes, and 扣几分 for a deduction,
    # which the practical room's rules leave to the evaluator (实际操作考核考场规则 8.), not for a mark.
    (
        "mark",
        re.compile(r"(?<!扣)(?:多少|几)分(?!钟)|及格线|分数线|合格线|及格分|(?:及格|合格)(?:是|要)?多少"),
        re.compile(r"\d+\s*分(?!钟)"),
    ),
    # How many, how long, how old (session 22, near misses: 督导一个月要去考点几次, 理论试卷要保存几年才能销毁): only a
    # clause that states a number of that unit, or how often (每, 定期, 按月) for a frequency, answers it. 劝了几次,
    # 那几天, 好几个 count nothing.
    ("times", re.compile(_ASKED + r"(?:几|多少)(?:次|遍|回)"), re.compile(_NUMBER + r"\s*(?:次|遍|回)|" + _OFTEN)),
    ("years", re.compile(_ASKED + r"(?:几|多少)个?年(?!级)"), re.compile(_NUMBER + r"\s*年")),
    (
        "days",
        re.compile(_ASKED + r"(?:几|多少)(?:个工作)?[天日]"),
        re.compile(_NUMBER + r"\s*(?:个工作)?[天日]|当[天日]"),
    ),
    ("age", re.compile(r"(?:几|多少)岁|多大(?:年纪|岁数)"), re.compile(_NUMBER + r"\s*周?岁")),
    (
        "duration",
        re.compile(r"多久|多长时间|" + _ASKED + r"(?:几|多少)个?(?:小时|钟头)"),
        re.compile(_NUMBER + r"\s*(?:分钟|小时|[天日年周]|个?月)|半小时|当[天日场]|立即|及时|" + _OFTEN),
    ),
    (
        "headcount",
        re.compile(_ASKED + r"(?<!的)(?:几|多少)(?:个|名|位)?(?:人|考生|监考|考评|督导|老师)"),
        re.compile(_NUMBER + r"\s*(?:名|人|个|位)|分之|至少|不少于"),
    ),
    ("pay, tax or reimbursement", re.compile(r"扣税|交税|个税|纳税|报销|发票|到账|打到卡|发钱"), None),
    # Asking for the value (密码多少), not who manages the accounts (平台密码谁管, 考务管理岗位职责 2.).
    # A phone number also when the question is only whose (机房管理员电话, 督导的联系方式), not when it is about phones
    # (监考时能接电话).
    (
        "password or number",
        re.compile(
            r"(?:密码|账号|电话|号码|wifi)(?:号码?)?(?:是)?(?:多少|啥|什么|几)|(?<![接打听回等来个通])电话(?:号码?)?[?.!]*$|联系方式"
        ),
        None,
    ),
    (
        "opening hours",
        re.compile(r"几点(?:开门|关门|下班|上班|开饭|吃饭)|(?:开门|关门|下班|上班|营业)(?:时间|吗|了)"),
        None,
    ),
)


# Whether the asker may ask someone something (答辩时能不能问考生在哪上班、收入多少), or what someone asked a candidate
# (有个考评员问考生一个月挣多少钱 这种问题能问吗): what follows is the question put to them, not what they ask the
# knowledge base, so it names no answer type (the rule on what may be asked does).
MAY_ASK_RE = re.compile(
    r"(?:能|可以|可不可以|准|许|让)(?:不(?:能|可以|准|许|让))?\s*(?:问问?|打听|询问|过问)|问(?:考生|他|她|人家|对方)"
)


# Asking where, or from whom, to collect, fetch or borrow something.
COLLECT_RE = re.compile(r"(?:在哪|去哪|到哪|哪里|哪儿|什么地方|找谁|跟谁|向谁|谁那)儿?里?(?:领|拿|取|借|要)")
# The verbs of such a question (canonical words as the synonym table writes them): not the thing collected.
COLLECT_VERBS = frozenset({"领取", "领", "拿", "取", "借用", "借", "要", "找", "用", "去"})


# An errand the asker would run instead of their duty (送卷路上能先去吃个饭吗, 想去买个水, 去趟超市): the question is
# about leaving the duty, not the meal, the drink or the shop, so the focus words of the errand do not count (吃透, to
# master, is no errand).
ERRAND_RE = re.compile(
    r"(?:先|去|想去|出去|跑去|顺便)(?:吃|买|喝|抽)(?!透)[^\s,，。？?!！]{0,2}|(?:去|跑)一?[趟下][^\s,，。？?!！吗]{0,3}"
)


def collects(question: str) -> bool:
    """Whether the (normalised) question asks where or from whom to collect something."""
    return COLLECT_RE.search(question) is not None


class Scope:
    """The answer-type and focus checks over normalised question and clause texts (`texts[i]`: clause i's heading
    context and text, normalised)."""

    def __init__(
        self, texts: list[str] | None = None, logistics: list[str] | None = None, path: Path = LOGISTICS_FILE
    ) -> None:
        self.texts = texts or []
        words = logistics if logistics is not None else load_word_list(path)
        self.logistics = tuple(dict.fromkeys(normalize(w) for w in words))

    def veto(
        self, question: str, clause: str, canonical: str | None = None, rewritten: Sequence[str] = ()
    ) -> str | None:
        """Why the clause cannot answer the question (an answer type or a focus word), None when it may.

        Both texts are normalised (knowledge.text.normalize); `clause` should include its heading context.
        `canonical` is the question with its words rewritten through the synonym table and `rewritten` the words
        as typed that were rewritten: a focus word inside one of them, which the lexicon maps to a regulation
        word (吃饭 → 吃食物), is not a focus word; one that only overlaps a rewritten word (监考费: 监考 → 监考员,
        费) still is."""
        may_ask = MAY_ASK_RE.search(question)
        asked = question[: may_ask.start()] if may_ask else question
        for name, asks, states in ANSWER_TYPES:
            if asks.search(asked) and (states is None or not states.search(clause)):
                return name
        focus = ERRAND_RE.sub("", question if canonical is None else canonical)
        question = ERRAND_RE.sub("", question)
        for word in self.logistics:
            if word in clause:
                continue
            if word in focus or (word in question and not any(word in typed for typed in rewritten)):
                return word
        return None

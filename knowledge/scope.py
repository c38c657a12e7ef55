"""Whether the best clause can answer what the question asks for (issue 17, wt-ood).

A question full of exam words (考场, 监考, 考评员) can still ask for something no regulation states: where the toilets
are, what the wifi password is, when the office closes, whether pay is taxed. The lexical search then finds a clause
that shares the exam words and mentions the rest in passing (考场厕所在几楼 → the practical-exam clause about going
to the 卫生间). These checks veto such an answer, whatever its score:

* the answer type: a question asking WHERE needs a clause that names a place (an office, a department, a spot);
  asking how much something costs needs one about fees; asking for a password, a phone number, opening hours, tax or
  reimbursement needs a clause that states one, and none of the regulations does;
* the focus: a facility, money or personal-life word of lexicon/logistics.txt (食堂, 停车, 工资, wifi, 喝水 …)
  must be used by the clause itself;
* what is collected (session 17): a question asking where or from whom to collect something (马甲在哪领, 喝的水去哪里
  拿) needs a clause that names the thing: the rules say where the papers are collected, not the vests
  (KnowledgeBase.out_of_scope, with ``collects`` and ``COLLECT_VERBS`` below);
* what the question needs stated (sessions 22 and 23, near misses in the center's own words): a number of the unit
  asked (how many times, years, days, things, candidates; how long something is kept), who provides something, who
  answers for a loss, which system, which certificate: a clause on the topic that does not state it does not answer;
* the kind of exam (session 23): a question about a theory exam by name is not answered by the practical room's
  rules (``doc``, THEORY_EXAM_RE);
* whose rules (session 24): a question that names one kind of staff only is not answered by another staff's own
  rules (DOC_STAFF); session 24 also added a dozen answer types (a share, a form, a date, who appoints, a sanction,
  which department …), session 25 an amount of money, a day, something lost, a number to call (dev31, dev33).

``missing`` and ``only_for`` say in the reply what the nearest clause leaves out (Answer.missing).

They were chosen on training questions and the development sets that were read (never on a held-out set or a blind
set kept unread): they refuse none of the tuning set's in-domain questions that were answered before
(tests/knowledge/test_scope.py), and each new one was kept only when it cost no development set's in-domain answer
(one exception: where something is kept, 放哪, costs dev13's 考试卷子谁去提 放哪保管, whose clause answers who only).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from knowledge.context import KIND_DOCS, KIND_LABELS, PRACTICAL
from knowledge.loader import LEXICON_DIR, load_word_list
from knowledge.text import normalize

LOGISTICS_FILE = LEXICON_DIR / "logistics.txt"

# A number as the regulations write one (3 名, 三分之一, 半小时), how often something is done, and what may precede
# 几 in a question that asks for a number (not 劝了几次, 那几天, 好几个).
_NUMBER = r"[0-9一二两三四五六七八九十百半]+"
_OFTEN = r"每|定期|按月|经常|随时|轮换"
_ASKED = r"(?<![了过好那这])"
# Measure words of things counted (几个灭火器, 几台电脑).
_THINGS = r"个|台|把|张|套|只|支|本|间|排|辆|块|瓶|箱|件|座"

# (name, what the question asks for, what a clause that answers it states; None: no regulation states it).
ANSWER_TYPES: tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...] = (
    (
        "place",
        # 在哪规定 / 写在哪条 ask which rule says so, 在哪签名 on which form to sign: not for a place (在哪签到 is).
        re.compile(
            r"(?<!规定)(?<!条款)(?:在哪|哪里|哪儿|哪有|什么地方|啥地方)(?!规定|有规定|写|一?条|签名|签字|这)|几楼|哪个楼|哪层|什么位置|去哪|[放搁]哪|放在哪"
        ),
        # A place, or where something is written or kept (在评分表上签字, 记入记录表, 专柜存放).
        re.compile(
            r"办公室|部门|机构|中心|门口|位置|地点|区域|存放|专柜|讲台|后面|场外|上网|记入|填入|记录表|[在到][^,，。；]{1,16}[上中内外里处场室楼]"
        ),
    ),
    # An amount of money (考评津贴一天多少钱): no clause states one (第五条(四) says who sets the fee standard).
    ("amount", re.compile(r"多少钱|几块钱?|多少元|给多少(?!分)"), None),
    ("cost", re.compile(r"多少钱|收费|交钱|要钱|付费|免费|花钱|费用谁出|谁出钱|谁掏钱"), re.compile(r"费|津贴|元")),
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
    (
        "times",
        re.compile(_ASKED + r"(?:几|多少)(?:次|遍|回|场)"),
        re.compile(_NUMBER + r"\s*(?:次|遍|回|场)|" + _OFTEN),
    ),
    ("years", re.compile(_ASKED + r"(?:几|多少)个?年(?!级)"), re.compile(_NUMBER + r"\s*年")),
    (
        "days",
        re.compile(_ASKED + r"(?:几|多少)(?:个工作)?[天日]"),
        re.compile(_NUMBER + r"\s*(?:个工作)?[天日]|当[天日]"),
    ),
    (
        "age",
        re.compile(r"(?:几|多少)岁|多大(?:年纪|岁数)|年龄[^,，。？?]{0,2}(?:上限|下限|限制|要求)"),
        re.compile(_NUMBER + r"\s*周?岁"),
    ),
    # What share (督导复检要抽多少比例的卷子): a clause that states one (三分之一, 10%).
    (
        "ratio",
        re.compile(r"(?:多少|几|啥|什么)(?:比例|成(?!绩))|比例是?多少|百分之(?:几|多少)"),
        re.compile(r"分之|%|比例"),
    ),
    # How long something is kept (封存的工件考完留多久): a stated time, not 立即 (which answers how soon).
    (
        "retention",
        re.compile(r"(?:留|保存|保留|存放?|保管)(?:多久|多长时间|几年|几天|几个月)"),
        re.compile(_NUMBER + r"\s*(?:[天日年周]|个?月)"),
    ),
    # How long a process takes (考评证补办下来要多久): a stated time, not 立即 (which says how soon to start it).
    (
        "waiting",
        re.compile(
            r"(?:等|办下来|批下来|下来|出来)[^,，。？?]{0,3}(?:多久|多长时间|几天)"
            r"|(?:多久|多长时间|几天)(?:能|才能|可以|会)?(?:办下来|批下来|下来|出来|拿到|有结果|出结果|回复|答复)"
        ),
        re.compile(_NUMBER + r"\s*(?:分钟|小时|[天日年周]|个?月)|当[天日]|当场(?!次)"),
    ),
    (
        "duration",
        re.compile(r"多久|多长时间|" + _ASKED + r"(?:几|多少)个?(?:小时|钟头)"),
        re.compile(_NUMBER + r"\s*(?:分钟|小时|[天日年周]|个?月)|半小时|当[天日]|当场(?!次)|立即|及时|" + _OFTEN),
    ),
    # How many candidates (一个标准考场最多能排多少个考生, 一个考评员一天最多评多少个考生): a clause that counts
    # candidates, not one that counts staff (每标准考场应配备 2 名监考人员).
    (
        "candidates",
        re.compile(_ASKED + r"(?<!的)(?:几|多少)(?:个|名|位)?考生"),
        re.compile(_NUMBER + r"\s*(?:名|个|位)?[^,，。;；]{0,12}考生"),
    ),
    (
        "headcount",
        re.compile(_ASKED + r"(?<!的)(?:几|多少)(?:个|名|位)?(?:人|考生|监考|考评|督导|老师)"),
        re.compile(_NUMBER + r"\s*(?:名|人|个|位)|分之|至少|不少于"),
    ),
    # How many things (session 23: 实操考场要放几个灭火器, 前后要隔几个座): a clause that states a count of something.
    # Only where the count ends the question: 几台车床精度不行, 几个考生在门口围着看 tell of several, they ask nothing.
    (
        "count",
        re.compile(
            _ASKED + r"(?:几|多少)(?:" + _THINGS + r")[^,，。;；?？!！]{0,6}(?:[?？呢啊呀]|$)|一式(?:几|多少)份"
        ),
        re.compile(_NUMBER + r"\s*(?:" + _THINGS + r"|份|名|人)|分之|至少|不少于"),
    ),
    # Who provides something (session 23: 红笔是自己带还是中心统一发, 劳保鞋考点给提供吗): a clause that says who
    # provides, prepares or brings it.
    (
        "provision",
        re.compile(
            r"(?:统一|给不给|发不发)(?:发(?![令号布])|配|提供)|谁来?(?:提供|准备|配)|自己带还是|自备还是|还是自己带|提供吗|给(?:发|配|提供)吗"
        ),
        re.compile(r"提供|配备|配置|发放|准备|自备|携带|带"),
    ),
    # Who answers for a loss (考生放在存放处的包丢了 谁负责; not 谁负责引导考生入座, who does it): a clause that puts
    # the responsibility on someone.
    (
        "liability",
        re.compile(
            r"(?:丢|坏|损|伤|摔|砸)[^,，。]{0,8}谁来?(?:负责|担责|承担)|谁来?赔|责任(?:算|归)谁|追谁的?责|谁来?担责"
        ),
        re.compile(r"负责|责任|承担"),
    ),
    # Which form to fill in or use (督导提整改意见要用哪个表): a clause that names a form or a register.
    (
        "form",
        re.compile(r"(?:哪个|什么|啥|哪种|哪张|哪一?份)(?:表|单子|单据)"),
        re.compile(r"表|台[帐账]|名册|单|记录(?!员)"),
    ),
    # A day of the month or a deadline (题库台账每月几号前要报上去, session 25: 准考证哪天发): a clause that states a
    # date. 几号 alone may ask for a seat (缺考的是几号).
    (
        "date",
        re.compile(
            r"几号(?:前|之前|以前|截止|发|交|报|上报|开始|考试)|(?:每月|每个月|月底|月初|几月)几号|哪一?天|截止(?:日期|时间)"
            r"|什么日子"
        ),
        re.compile(r"\d+\s*[日号]|月底|月初|截止"),
    ),
    # Who appoints or decides (主监考和副监考谁来定, 答辩小组的考评员由谁来指定): a clause that says who does it.
    (
        "appointer",
        re.compile(
            r"(?:由谁|谁)来?(?:指定|定(?![分])|任命|选|挑|委派|决定|担任|当(?![众场天时着面]))"
            r"|(?:怎么|如何|咋)(?:选|评|挑|产生|聘)(?:的|出来|上)"
        ),
        re.compile(
            r"由[^,，。；]{0,30}(?:负责|指定|确定|安排|决定|审批|组织|召集|委派|选派|同意|给予)"
            r"|负责|安排|指定|确定|召集|委派|选派|审批|裁决"
        ),
    ),
    # Something lost (session 25: 准考证丢了咋办 reached the office's duty to print them): a clause that says what to do
    # when something is lost or missing (证卡遗失, 试卷缺少).
    ("lost", re.compile(r"丢了|丢失|遗失|弄丢|搞丢|掉了"), re.compile(r"遗失|丢失|缺少|丢")),
    # Extra time for a candidate (电脑死机了 能给考生补时间吗): a clause that grants it; none does.
    (
        "extra time",
        re.compile(
            r"补(?:考试)?时间|补时|(?<!参)加时(?!候)|加点?时间|延长(?:考试|答题)?时间|延时|顺延|(?:耽误|耽搁)的?时间[^,，。？?]{0,6}补"
        ),
        re.compile(r"延长|补足|顺延|补时"),
    ),
    # What sanction someone gets (监考员擅离岗位被查到了 会给什么处分): a clause that states one (the evaluators' list
    # under 第八条 does in its heading; 监考人员守则 3.(7) forbids leaving the post and names none).
    (
        "sanction",
        re.compile(
            r"(?:什么|啥|哪些|哪种|怎样的?)(?:处分|处罚|惩罚)|(?:处分|处罚|惩罚)(?:是什么|是啥|有哪些)"
            r"|(?:怎么|咋|如何|怎样)(?:罚|处分|处罚|惩罚)"
        ),
        re.compile(r"处分|处罚|取消|暂停|终止|作废|无效|警告|批评|扣分|追究|解聘|通报"),
    ),
    # Which body something goes to or comes from (题库使用台账上报给哪个部门, 督导证卡是哪个部门发的): a clause that
    # names one (上交考务办公室, 报告评价机构负责人).
    (
        "body",
        re.compile(r"(?:哪个|什么|啥|哪一?个)(?:部门|单位|机构)"),
        re.compile(r"办公室|部门|中心|机构|单位|负责人|主任|校长|巡视员|主考|组长"),
    ),
    # Which certificate someone must hold (专职安全员要持啥证): a clause that names a card or a certificate.
    (
        "certificate",
        re.compile(r"(?:持|要|需要|得有|要有|考)(?:啥|什么|哪种|哪个)(?:资格)?(?:证|资质)"),
        re.compile(r"证|资质|资格"),
    ),
    # Which system or platform the scores go into (复检完分数登到哪个系统): no clause names one.
    ("system", re.compile(r"(?:哪个|什么|啥|哪一?个)(?:系统|平台|软件)"), re.compile(r"系统|平台|软件")),
    # When pay arrives (监考补贴什么时候发), whether it goes on (证卡在办理中 考评津贴还照发吗), tax and expenses: no
    # clause states them (第五条(四) gives the right to an allowance and who sets its standard).
    (
        "pay day",
        re.compile(
            r"到账|打到卡|发钱|(?:补贴|补助|津贴|劳务费|考评费|监考费|酬金|报酬)(?:什么时候|啥时候|几号|哪天)发"
        ),
        None,
    ),
    ("pay", re.compile(r"(?:补贴|补助|津贴|劳务费)[^,，。？?]{0,3}(?:照发|停发|还发|发不发)"), None),
    ("tax or reimbursement", re.compile(r"扣税|交税|个税|纳税|报销|发票"), None),
    # Asking for the value (密码多少), not who manages the accounts (平台密码谁管, 考务管理岗位职责 2.).
    # A phone number also when the question is only whose (机房管理员电话, 督导的联系方式), not when it is about phones
    # (监考时能接电话).
    (
        "password or number",
        re.compile(
            r"(?:密码|账号|电话|号码|wifi)(?:号码?)?(?:是)?(?:多少|啥|什么|几)|(?<![接打听回等来个通])电话(?:号码?)?[?.!]*$|联系方式|(?:打|拨)(?:哪个|什么|啥)(?:电话|号码?)|哪个电话"
        ),
        None,
    ),
    (
        "opening hours",
        re.compile(r"几点(?:开门|关门|下班|上班|开饭|吃饭)|(?:开门|关门|下班|上班|营业)(?:时间|吗|了)"),
        None,
    ),
)


# A question about a theory exam by name (理论考试中间考生要上厕所): the practical room's rules do not answer it (not
# 缠着我理论, arguing; not a question that names the practical exam too).
THEORY_EXAM_RE = re.compile(r"^(?!.*(?:实操|实际操作|操作技能|技能考|工位)).*(?:理论考|笔试|机考|上机考)")

# The staff whose own rules a document holds, and the words that name staff in a question (session 24, someone else's
# rule: 监考证丢了怎么补办 reached the evaluators' card rule, 督导和考生是亲戚 需要回避吗 the evaluators' recusal). A
# question that names one kind of staff only is not answered by another's own rules, unless the clause names that staff
# too (督导能进实操车间查吗: the invigilators' rule on who may enter names 质量督导员) or one of the named staff's own
# rules is a rival of the best clause, with half its probability or more (the context may lead with it: 我当考评的能直接
# 停他考试不; KnowledgeBase's ``rivals``).
DOC_STAFF: dict[str, str] = {
    "监考人员守则": "监考人员",
    "考评人员守则": "考评人员",
    "考评人员管理办法": "考评人员",
    "内部质量督导员守则": "内部质量督导员",
}
STAFF_WORDS: dict[str, re.Pattern[str]] = {
    "监考人员": re.compile(r"监考"),
    "考评人员": re.compile(r"考评"),
    "内部质量督导员": re.compile(r"督导"),
    "考务人员": re.compile(r"考务(?:人员|老师|科)|考务办(?:的|公室的)(?:人|老师|同事)"),
}


def named_staff(question: str) -> str:
    """The one kind of staff the (normalised) question names (a key of STAFF_WORDS), "" for none or several."""
    named = [staff for staff, rx in STAFF_WORDS.items() if rx.search(question)]
    return named[0] if len(named) == 1 else ""


# What the regulations do not state, said to the asker when the nearest clause is vetoed (by the veto's name; a focus
# word is named itself).
MISSING: dict[str, str] = {
    "place": "地点",
    "cost": "费用",
    "amount": "具体金额",
    "mark": "分数",
    "times": "次数",
    "years": "年限",
    "days": "天数",
    "age": "年龄",
    "duration": "时长",
    "waiting": "需要多长时间",
    "headcount": "人数",
    "count": "数量",
    "candidates": "考生人数",
    "retention": "保存期限",
    "provision": "由谁提供",
    "liability": "由谁负责",
    "system": "使用哪个系统",
    "certificate": "需要哪种证件",
    "sanction": "处分",
    "lost": "遗失后怎么办",
    "body": "哪个部门",
    "ratio": "比例",
    "form": "使用哪种表格",
    "date": "日期",
    "appointer": "由谁指定或如何产生",
    "extra time": "能否延长考试时间",
    "pay day": "发放时间",
    "pay": "报酬是否照发",
    "tax or reimbursement": "税款或报销",
    "password or number": "账号、密码或电话",
    "opening hours": "办公时间",
    "collect": "在哪里领取",
}


_ONLY_FOR = "最接近的条款只适用于{}。"
# The reason of a veto by whose rules the clause holds: STAFF_REASON + the staff (DOC_STAFF).
STAFF_REASON = "staff:"


def missing(reason: str | None) -> str:
    """A sentence saying what the nearest clause does not state, for the veto `reason` ("" when there is nothing
    plain to say: an incidental word, no veto, "" or None)."""
    if not reason or reason == "incidental":
        return ""
    if reason == "kind":
        return _ONLY_FOR.format(KIND_LABELS[PRACTICAL])
    if reason.startswith(STAFF_REASON):
        return _ONLY_FOR.format(reason.removeprefix(STAFF_REASON))
    if reason in MISSING:
        return f"最接近的条款没有写明{MISSING[reason]}。"
    return f"最接近的条款没有提到“{reason}”。"


# The answer types no regulation states (a phone number, pay, opening hours).
_UNSTATED = frozenset(name for name, _, states in ANSWER_TYPES if states is None)


def focus_word(reason: str | None) -> bool:
    """Whether the veto `reason` is a focus word (lexicon/logistics.txt) the clause does not use or an answer type no
    regulation states (a phone number), not another answer type, the kind of exam, someone else's rule or an
    incidental word: a written answer (pinned.txt) is kept from a question about something else (迟到 … 能不能改约下一批
    补考) by that alone, its pattern having already read what is asked."""
    if reason in _UNSTATED:
        return True
    return (
        bool(reason)
        and reason not in MISSING
        and reason not in ("incidental", "kind")
        and not reason.startswith(STAFF_REASON)
    )


def only_for(doc: str) -> str:
    """A sentence saying that the nearest clause, of document `doc`, holds one kind of exam's rules ("" for a
    document of no kind)."""
    kind = next((k for k, docs in KIND_DOCS.items() if doc in docs), "")
    return _ONLY_FOR.format(KIND_LABELS[kind]) if kind else ""


# Whether the asker may ask someone something (答辩时能不能问考生在哪上班、收入多少), or what someone asked a candidate
# (有个考评员问考生一个月挣多少钱 这种问题能问吗): what follows is the question put to them, not what they ask the
# knowledge base, so it names no answer type (the rule on what may be asked does).
MAY_ASK_RE = re.compile(
    r"(?:能|可以|可不可以|准|许|让)(?:不(?:能|可以|准|许|让))?\s*(?:问问?|打听|询问|过问)|问(?:考生|他|她|人家|对方)"
)


# Asking where, or from whom, to collect, fetch or borrow something.
# 要 is to ask for (找谁要), not to need to (补办找谁 要写书面申请吗).
COLLECT_RE = re.compile(
    r"(?:在哪|去哪|到哪|哪里|哪儿|什么地方|找谁|跟谁|向谁|谁那)儿?里?(?:领|拿|取|借|要(?![写填交去做办带签提申报是不]))"
)
# The verbs of such a question (canonical words as the synonym table writes them): not the thing collected.
COLLECT_VERBS = frozenset({"领取", "领", "拿", "取", "借用", "借", "要", "找", "用", "去"})


# An errand the asker would run instead of their duty (送卷路上能先去吃个饭吗, 想去买个水, 去趟超市): the question is
# about leaving the duty, not the meal, the drink or the shop, so the focus words of the errand do not count (吃透, to
# master, is no errand).
ERRAND_RE = re.compile(
    r"(?:先|去|想去|出去|跑去|顺便|下车|停车|停下)(?:吃|买|喝|抽)(?!透)[^\s,，。？?!！]{0,2}|(?:去|跑)一?[趟下][^\s,，。？?!！吗]{0,3}"
)


# When the duty is (这周末的考评任务, 周末那场监考): the weekend is the time of the exam asked about, not what the
# question is about (周末手机要开着吗 still is about the weekend).
DUTY_TIME_RE = re.compile(r"[这下本上]个?周末|周末(?=的?[^,，。？?!！]{0,3}(?:考|任务|监考))")


# Where a clause says something is collected from, or who hands it out (领取试卷, 向考务办公室领, 由中心发放): a clause
# that names the thing but no source (认真填写…考评记录表) does not say where to collect it (session 24).
SOURCE_RE = re.compile(r"领|发放|发给|提供|办公室|部门|机构|中心|存放|专柜")


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
        self,
        question: str,
        clause: str,
        canonical: str | None = None,
        rewritten: Sequence[str] = (),
        *,
        doc: str = "",
        near: Sequence[str] = (),
    ) -> str | None:
        """Why the clause cannot answer the question (an answer type or a focus word), None when it may.

        Both texts are normalised (knowledge.text.normalize); `clause` should include its heading context.
        `canonical` is the question with its words rewritten through the synonym table and `rewritten` the words
        as typed that were rewritten: a focus word inside one of them, which the lexicon maps to a regulation
        word (吃饭 → 吃食物), is not a focus word; one that only overlaps a rewritten word (监考费: 监考 → 监考员,
        费) still is. `doc` is the clause's document and `near` those of its rivals (DOC_STAFF)."""
        may_ask = MAY_ASK_RE.search(question)
        asked = question[: may_ask.start()] if may_ask else question
        for name, asks, states in ANSWER_TYPES:
            if asks.search(asked) and (states is None or not states.search(clause)):
                return name
        if doc in KIND_DOCS[PRACTICAL] and THEORY_EXAM_RE.search(question):
            return "kind"
        staff = named_staff(question)
        foreign = staff and DOC_STAFF.get(doc, staff) != staff and not STAFF_WORDS[staff].search(clause)
        if foreign and all(DOC_STAFF.get(other) != staff for other in near):
            return STAFF_REASON + DOC_STAFF[doc]
        focus = DUTY_TIME_RE.sub("", ERRAND_RE.sub("", question if canonical is None else canonical))
        question = DUTY_TIME_RE.sub("", ERRAND_RE.sub("", question))
        for word in self.logistics:
            if word in clause:
                continue
            if word in focus or (word in question and not any(word in typed for typed in rewritten)):
                return word
        return None

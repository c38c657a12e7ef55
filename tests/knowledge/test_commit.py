"""Commit only when sure, and who asks: hedged replies, context steering, rules that differ by kind of exam."""

from __future__ import annotations

import pytest
from kb_golden import read_questions

from knowledge import AskContext, Clause, KnowledgeBase, format_answer
from knowledge.commit import CLOSE_MARGIN, CROSS_DOC_MARGIN, SECOND_SHARE, decide, own_room, steer

THEORY_INVIGILATOR = AskContext(roles=frozenset({"invigilator"}), kind="theory")
COMPUTER_INVIGILATOR = AskContext(roles=frozenset({"invigilator"}), kind="computer")
PRACTICAL_EVALUATOR = AskContext(roles=frozenset({"evaluator"}), kind="practical")
# Questions of the tuning set only: the held-out sets are never looked at by a test.
TUNING = [q.question for q in read_questions() if q.in_domain]


def test_hedges_exactly_when_the_commit_model_is_not_sure(kb: KnowledgeBase) -> None:
    """Without context, an answer shows alternatives exactly when the commit model's probability that the best
    clause is right is below the ranker's commit threshold, the runner-up has SECOND_SHARE of the best clause's
    probability, or an incidental word may have pulled the best clause first (KnowledgeBase.incidental_alternatives,
    wt-kb8: 实操没穿工作服能进吗 shows the rules on entering beside the dress rule), or the best clause is the other
    room's rules (commit.own_room, wt-kb9: 监考中途去厕所行吗 names an invigilator, the toilet rule is the practical
    room's); a committed answer leads with the most probable clause."""
    hedged = committed = 0
    for question in TUNING:
        ans = kb.ask(question)
        if ans.answer is None or ans.pinned or ans.labels:
            continue
        sure = kb.commit_probability(question) >= kb.ranker.commit_threshold
        top = kb.scored(question, 2)
        close = len(top) > 1 and top[1][1] >= SECOND_SHARE * top[0][1]
        aside = kb.incidental_alternatives(question, kb.clauses.index(top[0][0]))
        room = own_room(kb.clauses, kb.probabilities(question), kb.analyzer.without_fillers(question), AskContext())
        assert bool(ans.alternatives) == (not sure or close or bool(aside) or bool(room)), question
        assert ans.committed == (not ans.alternatives)
        if ans.committed:
            (best, _), *_ = kb.scored(question, 1)
            assert (ans.answer.doc, ans.answer.clause) == (best.doc, best.clause)
        hedged += bool(ans.alternatives)
        committed += ans.committed
    assert hedged > 0 and committed > hedged


def test_margins_hedge_when_no_commit_model_is_given() -> None:
    """decide() without the commit model's verdict hedges when the second clause is within the margin (the
    wider one across documents), and commits when it is further behind."""
    clauses = [
        Clause("监考人员守则", "1.", "甲"),
        Clause("监考人员守则", "2.", "乙"),
        Clause("考评人员守则", "1.", "丙"),
    ]
    close = decide(clauses, [(0, 0.5), (1, 0.5 - CLOSE_MARGIN / 2)], "?", AskContext())
    assert close.others == [1]
    apart = decide(clauses, [(0, 0.5), (1, 0.5 - CLOSE_MARGIN * 1.5)], "?", AskContext())
    assert apart.others == []
    other_doc = decide(clauses, [(0, 0.5), (2, 0.5 - (CLOSE_MARGIN + CROSS_DOC_MARGIN) / 2)], "?", AskContext())
    assert other_doc.others == [2]
    assert decide(clauses, [(0, 0.5), (1, 0.5 * SECOND_SHARE * 0.9)], "?", AskContext(), sure=True).others == []
    # Even a sure commit model does not commit when the runner-up is close (SECOND_SHARE).
    assert decide(clauses, [(0, 0.5), (1, 0.49)], "?", AskContext(), sure=True).others == [1]


def test_hedged_reply_cites_every_clause_it_shows(kb: KnowledgeBase) -> None:
    """A hedged reply leads with 最可能是 and the best clause, then 也可能是 with each other clause, all cited."""
    answers = [kb.ask(q) for q in TUNING]
    hedged = [a for a in answers if a.alternatives and not a.labels and not a.pinned]
    assert hedged
    for ans in hedged:
        assert ans.answer is not None
        assert 1 <= len(ans.alternatives) <= 2
        text = format_answer(ans)
        assert text.startswith(f"最可能是《{ans.answer.doc}》{ans.answer.clause}")
        for m in ans.alternatives:
            assert f"也可能是《{m.doc}》{m.clause}\n{m.text}" in text
        assert "考务办公室" in text


def _two_docs() -> KnowledgeBase:
    """A knowledge base where two documents say the same thing: only the asker can tell them apart."""
    text = "考场内手机应关闭并交由工作人员统一保管。"
    # No example questions: the bundled ones of 监考人员守则 1. would tell the two apart.
    return KnowledgeBase([Clause("监考人员守则", "1.", text), Clause("考评人员守则", "1.", text)], examples=[])


@pytest.mark.parametrize(
    ("context", "first"),
    [
        (AskContext(roles=frozenset({"invigilator"})), "监考人员守则"),
        (AskContext(roles=frozenset({"evaluator"})), "考评人员守则"),
        # 监考人员守则 holds the theory room's rules: a practical asker gets the other clause first (wt-kb9, own_room)
        (AskContext(kind="practical"), "考评人员守则"),
    ],
)
def test_role_steers_the_order_of_equal_clauses(context: AskContext, first: str) -> None:
    """Of two equally good clauses, the one from the asker's role's document comes first; both are shown."""
    ans = _two_docs().ask("考场内手机要关闭并统一保管吗", context=context)
    assert ans.answer is not None and ans.answer.doc == first
    assert len(ans.alternatives) == 1


@pytest.mark.parametrize("question", ["有考生迟到了咋整", "考生来迟了怎么处理"])
@pytest.mark.parametrize("context", [THEORY_INVIGILATOR, COMPUTER_INVIGILATOR, None])
def test_lateness_in_a_theory_exam_gets_the_30_minute_rule_first(question: str, context: AskContext | None) -> None:
    """A theory (or computer) invigilator, or someone with no session, asking about lateness gets both rules,
    labelled, the theory one (开考 30 分钟后不准进场) first and the practical one (迟到 5 分钟) second."""
    kb = KnowledgeBase.load()
    ans = kb.ask(question, context=context)
    assert ans.answer is not None and not ans.pinned
    assert ans.labels == ("理论考试", "实操考试")
    assert (ans.answer.doc, ans.answer.clause) == ("监考人员守则", "3.(3)")
    assert [(m.doc, m.clause) for m in ans.alternatives] == [("实际操作考核考场规则", "2.")]
    text = format_answer(ans)
    assert text.index("理论考试：") < text.index("30 分钟") < text.index("实操考试：") < text.index("5 分钟")


def test_lateness_in_a_practical_exam_gets_the_5_minute_rule_first(kb: KnowledgeBase) -> None:
    """A practical evaluator asking about lateness gets the practical rule first, the theory one labelled after."""
    ans = kb.ask("有考生迟到了咋整", context=PRACTICAL_EVALUATOR)
    assert ans.labels == ("实操考试", "理论考试")
    assert ans.answer is not None
    assert (ans.answer.doc, ans.answer.clause) == ("实际操作考核考场规则", "2.")
    text = format_answer(ans)
    assert text.index("实操考试：") < text.index("5 分钟") < text.index("理论考试：") < text.index("30 分钟")


def test_a_question_naming_its_kind_gets_that_rule_only(kb: KnowledgeBase) -> None:
    """A question that names the kind of exam (实操) is not answered with the other kind's rule."""
    for context in (THEORY_INVIGILATOR, None):
        ans = kb.ask("实操考生来迟了怎么处理", context=context)
        assert ans.answer is not None
        assert not ans.labels
        shown = [(m.doc, m.clause) for m in [ans.answer, *ans.alternatives]]
        assert ("实际操作考核考场规则", "2.") in shown
        assert ("监考人员守则", "3.(3)") not in shown


def test_context_never_turns_dont_know_into_an_answer(kb: KnowledgeBase) -> None:
    """Whether to answer is judged before steering: an out-of-domain question is refused for every asker."""
    for context in (THEORY_INVIGILATOR, PRACTICAL_EVALUATOR, AskContext(roles=frozenset({"office"}))):
        assert kb.ask("食堂今天中午吃什么", context=context).answer is None


@pytest.mark.parametrize(
    ("context", "first", "second", "first_cite"),
    [
        (PRACTICAL_EVALUATOR, "实操考试：", "理论考试：", ("实际操作考核考场规则", "2.")),
        (THEORY_INVIGILATOR, "理论考试：", "实操考试：", ("监考人员守则", "3.(3)")),
        (COMPUTER_INVIGILATOR, "理论考试：", "实操考试：", ("监考人员守则", "3.(3)")),
        (None, "理论考试：", "实操考试：", ("监考人员守则", "3.(3)")),
    ],
)
def test_pinned_lateness_answer_leads_with_the_askers_kind(
    kb: KnowledgeBase, context: AskContext | None, first: str, second: str, first_cite: tuple[str, str]
) -> None:
    """The pinned lateness answer (pinned.txt: 理论考试：…｜实操考试：…) puts the part of the asker's kind of exam
    first, both labelled, and cites that kind's clause first; with no kind the file's order (theory first) is kept."""
    ans = kb.ask("考生迟到多少分钟就不能进考场了", context=context)
    assert ans.pinned and ans.answer is not None
    text = ans.answer.text
    assert "｜" not in text
    assert text.startswith(first) and text.index(first) < text.index(second)
    assert (ans.answer.doc, ans.answer.clause) == first_cite
    assert {(m.doc, m.clause) for m in ans.matches} == {("监考人员守则", "3.(3)"), ("实际操作考核考场规则", "2.")}
    assert (ans.matches[0].doc, ans.matches[0].clause) == first_cite
    reply = format_answer(ans)
    assert reply.index(first) < reply.index(second)


def test_a_question_word_sharing_only_a_bigram_with_a_clause_word_is_unknown(kb: KnowledgeBase) -> None:
    """计算器 is in no clause; its part 计算 is used only inside 计算机 (监考人员守则 2.(6)), a different thing. It
    counts as a word no clause uses, so the question is not answered with that clause alone; a compound whose
    part the clauses use as a word of its own (进考场 → 考场) still stands for that part."""
    words = [c for _, c in kb.analyzer.tokens("考生可以带计算器吗")]
    assert kb.unknown_words(words) == ["计算器"]
    assert kb.unknown_words([c for _, c in kb.analyzer.tokens("考生几点能进考场")]) == []
    ans = kb.ask("考生可以带计算器吗")
    assert not ans.committed
    assert kb.commit_probability("考生可以带计算器吗") < kb.ranker.commit_threshold


def test_a_word_no_clause_uses_is_not_covered_through_a_part_of_another_word(kb: KnowledgeBase) -> None:
    """Coverage (a ranker feature and the off-domain gate) found 计算器 in 监考人员守则 2.(6) through 计算, a part of
    计算机 there, so 考生可以带计算器吗 was hedged with that clause by the hedge fallback. Now only 考生 is covered and
    the question is refused with suggestions; 进考场 is still covered through its whole-word part 考场."""
    i = next(n for n, c in enumerate(kb.clauses) if (c.doc, c.clause) == ("监考人员守则", "2.(6)"))
    assert kb.coverage(["考生", "计算器"], i) < 0.5
    assert kb.coverage(["计算机"], i) == 1.0
    j = next(n for n, c in enumerate(kb.clauses) if c.doc == "实际操作考核考场规则" and "考场" in c.text)
    assert kb.coverage(["进考场"], j) == 1.0
    ans = kb.ask("考生可以带计算器吗")
    assert ans.answer is None
    assert ans.matches


def test_a_candidates_act_does_not_lead_with_a_rule_for_staff(kb: KnowledgeBase) -> None:
    """考生作弊被抓怎么处理 (issue 17) is about a candidate: it leads with 监考人员守则 3.(5), not with 考评人员管理办法
    第八条(八) (an evaluator helping cheaters), whose lexical score is lowered before ranking (knowledge/actor.py);
    a question whose subject is the evaluator still gets 第八条(八)."""
    ans = kb.ask("考生作弊被抓怎么处理")
    assert ans.answer is not None
    assert (ans.answer.doc, ans.answer.clause) == ("监考人员守则", "3.(5)")
    helped = kb.ask("考评员帮考生作弊会怎么处理")
    assert helped.answer is not None
    assert (helped.answer.doc, helped.answer.clause) == ("考评人员管理办法", "第八条(八)")


def test_staff_prohibitions_are_clauses_whose_subject_is_staff(kb: KnowledgeBase) -> None:
    """A clause is a staff prohibition when a sentence starting with staff says 不得 / 有以下 (第八条 and its items,
    阅卷评分守则 8., 监考人员守则 3.(7)); a rule for candidates that names staff (尊重考评人员，不得与考评人员无理纠缠)
    is not; a question starting with 考生 and without 我 is about a candidate."""
    from knowledge.actor import candidate_subject, staff_prohibition
    from knowledge.text import normalize

    flagged = {(c.doc, c.clause) for c in kb.clauses if staff_prohibition(normalize(c.context), normalize(c.text))}
    assert {("考评人员管理办法", "第八条(八)"), ("阅卷评分守则", "8."), ("监考人员守则", "3.(7)")} <= flagged
    assert ("实际操作考核考场规则", "7.") not in flagged
    assert ("实际操作考核考场规则", "5.") not in flagged
    assert ("监考人员守则", "3.(5)") not in flagged
    assert candidate_subject("考生作弊被抓怎么处理") and candidate_subject("有考生偷看咋办")
    assert not candidate_subject("考评员帮考生作弊会怎么处理") and not candidate_subject("考生问我分数能说吗")


def test_phone_words_for_wandering_and_passing_answers_reach_their_rules(kb: KnowledgeBase) -> None:
    """lexicon/related.txt (wt-kb7): wandering about (乱走, 溜达 …) also searches 区域 (实际操作考核考场规则 1., wait in
    the set area), passing something to a candidate (递) also searches 协助 (考评人员管理办法 第八条(八))."""
    wander = kb.ask("实操的考生能不能到处乱走")
    assert wander.answer is not None
    assert (wander.answer.doc, wander.answer.clause) == ("实际操作考核考场规则", "1.")
    passing = kb.ask("考评员给考生递纸条怎么处理")
    assert passing.answer is not None
    assert (passing.answer.doc, passing.answer.clause) == ("考评人员管理办法", "第八条(八)")


def test_the_other_rooms_rules_never_answer_alone(kb: KnowledgeBase) -> None:
    """The practical room's rules are not the theory room's (wt-kb9, commit.own_room): a theory invigilator asking about
    a candidate's toilet break gets "don't know" with the practical rule among the nearest clauses, an evaluator of a
    practical exam gets the safety rule on switching off first for a question that reaches the computer check of the
    theory room, and a theory asker's identity-paper question shows the theory rule first, labelled, both kinds."""
    ans = kb.ask("考试中考生想去洗手间 咋弄", context=THEORY_INVIGILATOR)
    assert ans.answer is None
    assert ("实际操作考核考场规则", "4.") in [(m.doc, m.clause) for m in ans.matches]
    practical = kb.ask("考试中考生想去洗手间 咋弄", context=PRACTICAL_EVALUATOR)
    assert practical.answer is not None and (practical.answer.doc, practical.answer.clause) == (
        "实际操作考核考场规则",
        "4.",
    )
    machine = kb.ask("考完以后机器关不关", context=PRACTICAL_EVALUATOR)
    assert machine.answer is not None
    assert (machine.answer.doc, machine.answer.clause) == ("实际操作考场安全工作规则", "6.")
    papers = kb.ask("考生忘带身份证了让进吗", context=THEORY_INVIGILATOR)
    assert papers.answer is not None and papers.labels
    assert [(m.doc, m.clause) for m in [papers.answer, *papers.alternatives]] == [
        ("监考人员守则", "3.(1)"),
        ("实际操作考核考场规则", "2."),
    ]


@pytest.mark.parametrize(
    ("question", "context", "doc", "clause"),
    [
        ("考评时可以提示考生吗", PRACTICAL_EVALUATOR, "考评人员管理办法", "第八条(八)"),
        ("收上来的卷子丢了一张 咋办", THEORY_INVIGILATOR, "监考人员守则", "4.(2)"),
        ("考生没戴安全帽", PRACTICAL_EVALUATOR, "实际操作考核考场规则", "3."),
    ],
)
def test_floor_words_reach_their_rules(
    kb: KnowledgeBase, question: str, context: AskContext, doc: str, clause: str
) -> None:
    """Words met on the floor (wt-kb9): prompting is helping (提示 → 协助), a paper short by one is missing (丢了一张 →
    缺少), a helmet is the protective dress (安全帽 → 着装): the rule is shown, and nothing else is committed to."""
    ans = kb.ask(question, context=context)
    shown = [(m.doc, m.clause) for m in ans.matches]
    assert (doc, clause) in shown
    if ans.committed:
        assert ans.answer is not None and (ans.answer.doc, ans.answer.clause) == (doc, clause)


def test_a_computer_exam_makes_the_computer_an_exam_word(kb: KnowledgeBase) -> None:
    """In a computer exam the computer is the candidate's (wt-kb9, context.SESSION_WORDS): a question about a frozen
    computer is hedged with the computer check (监考人员守则 2.(6)) first; a theory invigilator, or an asker without a
    session, may mean any computer and gets "don't know" with that clause among the nearest."""
    ans = kb.ask("机子死机了怎么办", context=COMPUTER_INVIGILATOR)
    assert ans.answer is not None and (ans.answer.doc, ans.answer.clause) == ("监考人员守则", "2.(6)")
    assert ans.alternatives
    for context in (THEORY_INVIGILATOR, AskContext()):
        other = kb.ask("机子死机了怎么办", context=context)
        assert other.answer is None
        assert ("监考人员守则", "2.(6)") in [(m.doc, m.clause) for m in other.matches]


def test_context_reorders_near_equals_but_does_not_lift_a_far_weaker_clause() -> None:
    """The asker's role and kind add their bonus in proportion to a clause's share of the best probability (session
    23: a theory invigilator's 有考生中暑了 led with the 15-minute warning, at half the probability of the emergency
    rule, because the bonus of the invigilators' rules was added whole)."""
    clauses = [Clause("实际操作考场安全工作规则", "8.", "如发生安全事故"), Clause("监考人员守则", "3.(4)", "提醒考生")]
    theory = AskContext(roles=frozenset({"invigilator"}), kind="theory")
    assert [i for i, _, _ in steer(clauses, [(0, 0.12), (1, 0.06)], "有考生中暑了", theory)] == [0, 1]
    # Near-equal: the asker's own rules still come first.
    assert [i for i, _, _ in steer(clauses, [(0, 0.80), (1, 0.75)], "有考生中暑了", theory)] == [1, 0]
    # The best clause itself gets its whole bonus.
    assert steer(clauses, [(1, 0.5), (0, 0.1)], "有考生中暑了", theory)[0] == (1, 0.5, pytest.approx(0.6))


def test_another_staffs_rule_comes_with_the_askers_own(kb: KnowledgeBase) -> None:
    """Session 25: a theory invigilator's 考前要检查什么 was answered with the evaluators' 考前检查 alone; it now
    comes after the invigilators' own nearest rule (试卷管理制度 5., the sealed paper bag). Asked with no role, by an
    evaluator, or naming the evaluators, the evaluators' rule leads and no invigilators' rule is added."""
    invigilator = AskContext(roles=frozenset({"invigilator"}), kind="theory")
    ans = kb.ask("考前要检查什么", context=invigilator)
    assert ans.answer is not None and (ans.answer.doc, ans.answer.clause) == ("试卷管理制度", "5.")
    assert [(m.doc, m.clause) for m in ans.alternatives] == [("考评人员管理办法", "第七条(二)")]
    for question, context in [
        ("考前要检查什么", AskContext()),
        ("考前要检查什么", AskContext(roles=frozenset({"evaluator"}), kind="practical")),
        ("考评员考前要检查什么", invigilator),
    ]:
        other = kb.ask(question, context=context)
        assert other.answer is not None and other.answer.clause == "第七条(二)", question
        assert ("试卷管理制度", "5.") not in [(m.doc, m.clause) for m in other.alternatives], question

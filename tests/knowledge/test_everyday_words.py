"""Everyday words for the regulations' words (issue 17, wt-kb10): how staff say a clause's concepts on a phone.

The questions are written for this test from the clause texts (none is a question of a development, tuning or
held-out set); each names a thing only in everyday words that no clause uses.
"""

from __future__ import annotations

import pytest

from knowledge import AskContext, KnowledgeBase

THEORY_INVIGILATOR = AskContext(roles=frozenset({"invigilator"}), kind="theory")
PRACTICAL_EVALUATOR = AskContext(roles=frozenset({"evaluator"}), kind="practical")


@pytest.mark.parametrize(
    ("question", "context", "doc", "clause"),
    [
        # 切到手 is an accident (安全事故) of the safety rules.
        ("学员切到手了怎么处理", PRACTICAL_EVALUATOR, "实际操作考场安全工作规则", "8."),
        # A relative by name (表弟) is a 亲属 of the avoidance rule.
        ("我表弟报了这个工种我还能当考评员吗", PRACTICAL_EVALUATOR, "考评人员管理办法", "第七条(四)"),
        # Paint thinner is flammable (易燃).
        ("油漆能放在考场里吗", PRACTICAL_EVALUATOR, "实际操作考场安全工作规则", "3."),
        # Money slipped to an examiner is an improper benefit (非正当利益).
        ("考生塞钱给我怎么办", PRACTICAL_EVALUATOR, "考评人员管理办法", "第八条(七)"),
        # A face that does not match the photo is what the five-point check (五对照) finds.
        ("考生跟照片长得不像怎么办", THEORY_INVIGILATOR, "监考人员守则", "3.(1)"),
        # A hired stand-in (枪手) is 替考.
        ("有人找枪手来考试", THEORY_INVIGILATOR, "监考人员守则", "3.(1)"),
        # Protective glasses are part of the protective dress (着装).
        ("考生不戴防护眼镜可以操作吗", PRACTICAL_EVALUATOR, "实际操作考核考场规则", "3."),
        # Cigarettes as a gift are an improper benefit too (wt-kb12).
        ("学员拿了一条烟送到我家", PRACTICAL_EVALUATOR, "考评人员管理办法", "第八条(七)"),
        # A candidate glancing at a neighbour's paper (偷瞄) breaks discipline (wt-kb12).
        ("考生一直偷瞄前面人的试卷", THEORY_INVIGILATOR, "监考人员守则", "3.(5)"),
        # Trying the paper oneself (做做, 做一做) is the 做题 invigilators may not do (session 19).
        ("闲得慌 我把卷子拿来做做行不", THEORY_INVIGILATOR, "监考人员守则", "3.(7)"),
        ("没事干 我拿张卷子做一做行吗", THEORY_INVIGILATOR, "监考人员守则", "3.(7)"),
    ],
)
def test_everyday_words_reach_their_rules(
    kb: KnowledgeBase, question: str, context: AskContext, doc: str, clause: str
) -> None:
    """The rule is shown, and nothing else is committed to."""
    ans = kb.ask(question, context=context)
    shown = [(m.doc, m.clause) for m in ans.matches]
    assert (doc, clause) in shown
    if ans.committed:
        assert ans.answer is not None and (ans.answer.doc, ans.answer.clause) == (doc, clause)


@pytest.mark.parametrize("question", ["监考证照片用几寸的", "报名照片要几张"])
def test_a_photo_for_a_card_is_still_logistics(kb: KnowledgeBase, question: str) -> None:
    """照片不像 / 和照片 are the identity check (五对照), but a photo for a card or a registration is no rule's."""
    assert kb.ask(question).answer is None

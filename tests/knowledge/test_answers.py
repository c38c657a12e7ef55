"""Answers, formatting, pinned answers and the `ask` CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge import Answer, AskContext, KnowledgeBase, Match, format_answer
from knowledge.cli import answer_to_json, main

ROOT = Path(__file__).resolve().parents[2]


def test_answer_cites_document_clause_and_text(kb: KnowledgeBase) -> None:
    """A confident answer carries title, number and the clause text, and the reply shows them."""
    ans = kb.ask("考评员证卡有效期几年？")
    assert ans.answer is not None
    assert (ans.answer.doc, ans.answer.clause) == ("考评人员管理办法", "第三条")
    assert ans.answer.text.startswith("考评人员证卡的有效期为3年")
    assert 0 < ans.answer.score <= 1
    assert ans.matches[0] == ans.answer
    text = format_answer(ans)
    assert "《考评人员管理办法》第三条" in text
    assert "有效期为3年" in text


def test_full_width_and_spaces_are_normalised(kb: KnowledgeBase) -> None:
    """Full-width characters and stray spaces do not change the answer."""
    a = kb.ask("开考３０分钟后 考生还能进场吗？")
    b = kb.ask("开考30分钟后考生还能进场吗")
    assert a.answer is not None and b.answer is not None
    assert (a.answer.doc, a.answer.clause) == (b.answer.doc, b.answer.clause)


def test_half_an_hour_is_30_minutes_however_it_is_said() -> None:
    """半小时, 半个小时, 半个多小时, 半个钟头 read as the regulations' 30 分钟 (session 23: 笔试迟倒半个多小时了还让进吗
    missed the late-entry rule); the half of 一个半小时 is not half an hour."""
    from knowledge.text import normalize

    for said in ("迟到半小时", "迟到半个小时", "迟到半个多小时", "迟到半个钟头"):
        assert normalize(said) == "迟到30分钟", said
    assert "30分钟" not in normalize("考了一个半小时")


def test_dont_know_reply(kb: KnowledgeBase) -> None:
    """An unrelated question gets "don't know", at most 3 suggestions and the office hint."""
    ans = kb.ask("食堂今天中午吃什么")
    assert ans.answer is None
    assert len(ans.matches) <= 3
    text = format_answer(ans)
    assert text.startswith("抱歉，我不确定")
    assert "请咨询考务办公室" in text


def test_empty_question_is_dont_know(kb: KnowledgeBase) -> None:
    """A question of only punctuation or filler words gets "don't know" with no matches."""
    ans = kb.ask("？？吗")
    assert ans.answer is None
    assert ans.matches == []


def test_dont_know_reply_lists_nearest_clauses() -> None:
    """The don't-know reply lists the nearest clauses with their citations."""
    near = [Match("监考人员守则", "3.(8)", "监考人员监考期间，手机应调为静音或振动，不得在考场内接听电话。", 0.2)]
    text = format_answer(Answer(question="?", answer=None, matches=near))
    assert "《监考人员守则》3.(8)" in text
    assert "请咨询考务办公室" in text


def test_ambiguous_reply_shows_both_cited() -> None:
    """An ambiguous answer shows both clauses, each cited: the most likely first, then the other."""
    m1 = Match("阅卷评分守则", "7.", "发现装订不规范的试卷向考评小组负责人报告……", 0.61)
    m2 = Match("考评人员管理办法", "第七条(七)", "阅卷评分。……", 0.60)
    text = format_answer(Answer(question="?", answer=m1, matches=[m1, m2], ambiguous=True))
    assert "最可能是《阅卷评分守则》7." in text
    assert "也可能是《考评人员管理办法》第七条(七)" in text
    assert text.index("最可能是") < text.index("也可能是")


def test_capped_scores_are_not_a_tie(kb: KnowledgeBase) -> None:
    """Two clauses that both score above 1.0 are compared uncapped: no false "which did you mean?"."""
    ans = kb.ask("监考员要提前多久到")
    assert ans.answer is not None
    assert (ans.answer.doc, ans.answer.clause) == ("监考人员守则", "2.(2)")
    assert not ans.ambiguous
    assert all(0 < m.score <= 1 for m in ans.matches)
    raw = [s for _, s in kb.scored("监考员要提前多久到")]
    assert raw == sorted(raw, reverse=True)


def test_pinned_answer_wins(kb: KnowledgeBase) -> None:
    """The pinned lateness answer without 实操 cites the theory rule first and mentions the practical one."""
    ans = kb.ask("考生迟到几分钟就不让进了")
    assert ans.pinned
    assert ans.answer is not None
    assert (ans.answer.doc, ans.answer.clause) == ("监考人员守则", "3.(3)")
    assert [(m.doc, m.clause) for m in ans.matches] == [
        ("监考人员守则", "3.(3)"),
        ("实际操作考核考场规则", "2."),
    ]
    text = format_answer(ans)
    assert "30 分钟" in text and "5 分钟" in text
    assert "《实际操作考核考场规则》2." in text


@pytest.mark.parametrize(
    "question", ["实操迟到几分钟不让考了？", "实际操作考核迟到5分钟还能考吗", "实操来晚了还能考不"]
)
def test_pinned_practical_lateness(kb: KnowledgeBase, question: str) -> None:
    """A lateness question naming 实操 gets the practical rule only (5 minutes), not the theory one."""
    ans = kb.ask(question)
    assert ans.pinned and ans.answer is not None
    assert (ans.answer.doc, ans.answer.clause) == ("实际操作考核考场规则", "2.")
    assert [(m.doc, m.clause) for m in ans.matches] == [("实际操作考核考场规则", "2.")]
    assert "5 分钟" in ans.answer.text and "30 分钟" not in ans.answer.text


@pytest.mark.parametrize(
    ("question", "cites", "says"),
    [
        ("领卷子一个人去行吗", [("监考人员守则", "2.(3)"), ("监考人员守则", "4.(4)")], "连续考试场次"),
        ("卷子啥时候去领 一个人去领行不", [("监考人员守则", "2.(3)"), ("监考人员守则", "4.(4)")], "考前 30 分钟"),
        ("领试卷要两个人一起去不", [("监考人员守则", "2.(3)"), ("监考人员守则", "4.(4)")], "2 名监考人员须同时"),
        ("准考证谁发", [("考务管理岗位职责", "1."), ("考务管理岗位职责", "4.")], "核发"),
        ("准考证打印找谁", [("考务管理岗位职责", "1."), ("考务管理岗位职责", "4.")], "打印"),
        ("题库归谁管", [("试题管理岗位职责", "2、"), ("考务管理岗位职责", "2.")], "题库管理系统"),
    ],
)
def test_questions_that_reach_two_clauses_get_both_in_one_answer(
    kb: KnowledgeBase, question: str, cites: list[tuple[str, str]], says: str
) -> None:
    """Who fetches the papers (two together, one alone only between consecutive sessions), who issues and prints
    admission tickets, who runs the question bank: each reached two clauses, and the reply led with the one that
    fits the question less half the time. The pinned answer states both, citing both."""
    ans = kb.ask(question, context=AskContext(roles=frozenset({"invigilator"}), kind="theory"))
    assert ans.pinned and ans.answer is not None
    assert [(m.doc, m.clause) for m in ans.matches] == cites
    assert says in ans.answer.text


@pytest.mark.parametrize(
    ("question", "role", "kind", "first", "says"),
    [
        ("刚发现有考生违纪 该报告谁", "invigilator", "theory", ("监考人员守则", "3.(5)"), "报告巡视员"),
        ("刚发现有考生违纪 该报告谁", "evaluator", "practical", ("考评人员守则", "7."), "评价机构负责人"),
        ("下午的监考是谁排的班", "invigilator", "theory", ("考务管理岗位职责", "9."), "考务管理岗"),
        ("考生花名册拍照发工作群可以吗", "invigilator", "theory", ("廉政风险防控制度", "4.[2]"), "个人信息泄露"),
        ("明天批卷子之前要不要大伙先把答案对一遍", "evaluator", "theory", ("阅卷评分守则", "2."), "统一要求"),
        ("我手上这几个工位能请隔壁考评员帮我评吗", "evaluator", "practical", ("考评人员守则", "4."), "独立完成"),
        ("人社局要翻我的评分表 我能不给看吗", "evaluator", "practical", ("考评人员管理办法", "第六条(四)"), "通报批评"),
        ("考评员不让我查他的评分表 咋处理", "supervisor", "", ("考评人员管理办法", "第六条(四)"), "监督检查"),
        ("考生家长托人打招呼让我手松点 咋回", "evaluator", "practical", ("考评人员守则", "6."), "坚决抵制"),
        ("检录前考生都在哪儿等着", "evaluator", "practical", ("实际操作考核考场规则", "1."), "规定区域等候"),
        ("咱考务办的人有啥保密要求", "office", "", ("考务管理岗位职责", "13."), "保密工作"),
    ],
)
def test_recurring_questions_get_the_offices_answer(
    kb: KnowledgeBase, question: str, role: str, kind: str, first: tuple[str, str], says: str
) -> None:
    """Whom a violation is reported to (by room), who draws up the invigilators' rota, candidates' details in a
    group chat: each asked by several blind writers and led by another rule; the pinned answer states the rule."""
    ans = kb.ask(question, context=AskContext(roles=frozenset({role}), kind=kind))
    assert ans.pinned and ans.answer is not None
    assert (ans.answer.doc, ans.answer.clause) == first
    assert says in ans.answer.text.splitlines()[0]


@pytest.mark.parametrize(
    "question",
    [
        "监考排班表在哪看",
        "下周监考排班出来没",
        "监考员可以带手机吗",
        "考生让我帮他打高点分",
        "评分表能让同事帮我代签吗",
        "有考生腿脚不便 进考场要照顾吗",
        "考生家长在哪等",
    ],
)
def test_near_questions_are_not_taken_by_the_office_pins(kb: KnowledgeBase, question: str) -> None:
    """Where to see the rota or whether it is out (no rule's), a phone, a candidate asking for marks, signing for
    someone: no pinned answer."""
    assert not kb.ask(question).pinned


def test_where_a_violation_is_recorded_is_not_whom_it_is_reported_to(kb: KnowledgeBase) -> None:
    ans = kb.ask("考生违纪处理完要记在哪")
    assert ans.pinned and ans.answer is not None
    assert [(m.doc, m.clause) for m in ans.matches] == [
        ("监考人员守则", "3.(5)"),
        ("考评人员管理办法", "第七条(五)"),
        ("考评人员守则", "7."),
    ]


@pytest.mark.parametrize(
    ("role", "kind", "first", "label"),
    [
        ("invigilator", "theory", ("监考人员守则", "3.(5)"), "理论考试"),
        ("evaluator", "practical", ("考评人员管理办法", "第七条(五)"), "实操考试"),
    ],
)
def test_where_a_violation_is_recorded_is_answered_for_the_askers_room(
    kb: KnowledgeBase, role: str, kind: str, first: tuple[str, str], label: str
) -> None:
    """考生违纪处理完要记在哪: the theory room's record (考场情况记录表) for an invigilator, the practical room's for an
    evaluator, each first with its clause; the other room's follows."""
    ans = kb.ask("考生违纪处理完要记在哪", context=AskContext(roles=frozenset({role}), kind=kind))
    assert ans.pinned and ans.answer is not None
    assert (ans.answer.doc, ans.answer.clause) == first
    assert ans.answer.text.startswith(label) and "记录表" in ans.answer.text.splitlines()[0]
    assert len(ans.answer.text.splitlines()) == 2


@pytest.mark.parametrize(
    "question",
    [
        "领卷时要检查啥",
        "领卷子要签字吗",
        "准考证号写哪",
        "准考证丢了咋办",
        "题库台账多久报一次",
        "管题库的说政策不归他管 对吗",
    ],
)
def test_near_questions_are_not_taken_by_those_pins(kb: KnowledgeBase, question: str) -> None:
    """What to check when fetching papers, ticket numbers, a lost ticket, the bank's ledger are other rules."""
    assert not kb.ask(question).pinned


def test_pinned_answers_state_no_number_their_clauses_do_not(kb: KnowledgeBase) -> None:
    """Every number a pinned answer states (30 分钟, 2 名) is in the text of a clause it cites."""
    import re

    for pin in kb.pinned:
        texts = "".join(kb.clause(*key).text for key in pin.cites).replace(" ", "")  # type: ignore[union-attr]
        for number in re.findall(r"\d+\s*\D", pin.answer):
            assert number.replace(" ", "") in texts, (pin.pattern, number)


def test_pinned_json_names_a_real_clause(kb: KnowledgeBase) -> None:
    """In JSON a pinned answer's doc/clause are a real document title and clause; the text is the written answer."""
    for question in ["实操迟到几分钟不让考了？", "开考多久后不准进场"]:
        data = answer_to_json(kb.ask(question))
        answer = data["answer"]
        assert kb.clause(answer["doc"], answer["clause"]) is not None
        assert (answer["doc"], answer["clause"]) == (data["matches"][0]["doc"], data["matches"][0]["clause"])
        assert answer["text"] != kb.clause(answer["doc"], answer["clause"]).text


def test_pinned_answer_from_extra_dir(tmp_path: Path) -> None:
    """A pinned.txt in an extra directory is used before the bundled one."""
    (tmp_path / "pinned.txt").write_text(
        "# 测试\n准考证.*(丢|忘)\t准考证遗失请到考务办公室补打。\t《考务管理岗位职责》4.\n", encoding="utf-8"
    )
    kb = KnowledgeBase.load([tmp_path])
    ans = kb.ask("考生准考证丢了怎么办")
    assert ans.pinned
    assert ans.answer is not None
    assert ans.answer.text == "准考证遗失请到考务办公室补打。"
    assert (ans.answer.doc, ans.answer.clause) == ("考务管理岗位职责", "4.")


def test_cli_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    """`ask "问题"` prints the reply for a person."""
    assert main(["ask", "监考时可以接电话吗"]) == 0
    out = capsys.readouterr().out
    assert "《监考人员守则》3.(8)" in out


def test_cli_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    """`ask --json "问题"` prints one JSON object with answer and at most 3 matches."""
    assert main(["ask", "--json", "一份卷子要几个人评"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["question"] == "一份卷子要几个人评"
    assert set(data["answer"]) == {"doc", "clause", "text", "score"}
    assert (data["answer"]["doc"], data["answer"]["clause"]) == ("考评人员管理办法", "第七条(七)")
    assert 1 <= len(data["matches"]) <= 3
    assert data["matches"][0] == data["answer"]
    scores = [m["score"] for m in data["matches"]]
    assert scores == sorted(scores, reverse=True)


def test_cli_json_dont_know(capsys: pytest.CaptureFixture[str]) -> None:
    """A don't-know answer is null in JSON."""
    assert main(["ask", "--json", "今天天气怎么样"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answer"] is None


def test_cli_batch_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a question, every stdin line gets one JSON line, in order."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("考评员收考生红包\n\n今天天气怎么样\n监考能抽烟吗\n"))
    assert main(["ask"]) == 0
    lines = capsys.readouterr().out.splitlines()
    objs = [json.loads(line) for line in lines]
    assert [o["question"] for o in objs] == ["考评员收考生红包", "今天天气怎么样", "监考能抽烟吗"]
    assert objs[0]["answer"]["clause"] == "第八条(七)"
    assert objs[1]["answer"] is None
    assert objs[2]["answer"]["doc"] == "监考人员守则"


def test_cli_kb_dir_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--kb-dir adds a directory; without the flag EXAMBOT_KB_DIR is used."""
    extra = tmp_path / "kb"
    extra.mkdir()
    (extra / "p.txt").write_text("# 考点停车管理规定\n1.\t考生车辆停放在东门外临时停车场。\n", encoding="utf-8")
    assert main(["ask", "--json", "--kb-dir", str(extra), "考生车辆停放在哪"]) == 0
    assert json.loads(capsys.readouterr().out)["answer"]["doc"] == "考点停车管理规定"
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("EXAMBOT_KB_DIR", os.pathsep.join([str(empty), str(extra)]))
    assert main(["ask", "--json", "考生车辆停放在哪"]) == 0
    assert json.loads(capsys.readouterr().out)["answer"]["doc"] == "考点停车管理规定"


def test_cli_bad_kb_dir_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed file in --kb-dir is reported on stderr with exit code 2."""
    (tmp_path / "bad.txt").write_text("没有标题\n", encoding="utf-8")
    assert main(["ask", "--kb-dir", str(tmp_path), "问题"]) == 2
    err = capsys.readouterr().err
    assert "bad.txt:1:" in err


def test_cli_subprocess_batch() -> None:
    """`python -m knowledge.cli ask` works as a separate process reading stdin."""
    env = {k: v for k, v in os.environ.items() if k != "EXAMBOT_KB_DIR"}
    proc = subprocess.run(
        [sys.executable, "-m", "knowledge.cli", "ask", "--json"],
        input="答题卡什么时候启封\n讲个笑话\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env=env,
        check=True,
    )
    objs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(objs) == 2
    assert objs[1]["answer"] is None
    assert all(len(o["matches"]) <= 3 for o in objs)


@pytest.mark.parametrize(
    ("word", "domain"),
    [
        ("手机", False),
        ("电脑", False),
        ("遗失", False),
        ("学生", False),
        ("监考老师", True),
        ("准考正", True),
        ("卷", True),
        ("考评员", True),
    ],
)
def test_only_exam_specific_words_mark_a_question(kb: KnowledgeBase, word: str, domain: bool) -> None:
    """Everyday words (lexicon/general.txt and their groups) do not lower the bar; exam words and their synonyms do."""
    assert kb.analyzer.is_domain_word(word) is domain


@pytest.mark.parametrize("question", ["手机丢了怎么办", "电脑蓝屏了怎么修", "电脑开不了机", "考场附近有停车场吗"])
def test_near_domain_questions_get_dont_know(kb: KnowledgeBase, question: str) -> None:
    """A question about phones, computers or parking is not answered from an exam rule that mentions them."""
    ans = kb.ask(question)
    assert ans.answer is None
    assert "请咨询考务办公室" in format_answer(ans)


@pytest.mark.parametrize(
    ("question", "doc", "clause"),
    [
        ("开考后主监考站哪", "监考人员守则", "3.(2)"),
        ("报名表谁先审", "考务管理岗位职责", "1."),
        ("实操能换工位吗", "实际操作考核考场规则", "4."),
        ("监考时能看手机吗", "监考人员守则", "3.(8)"),
    ],
)
def test_paraphrases_are_answered_with_the_right_clause(
    kb: KnowledgeBase, question: str, doc: str, clause: str
) -> None:
    """Paraphrases (below the old bar of 0.35, or misled by 换 / 手机) get the clause they ask about."""
    ans = kb.ask(question)
    assert ans.answer is not None
    assert (ans.answer.doc, ans.answer.clause) == (doc, clause)


def test_related_word_reaches_the_broader_rule(kb: KnowledgeBase) -> None:
    """作弊 also searches 违纪 (lexicon/related.txt), so the rule on reporting a breach of discipline is offered."""
    cited = {(m.doc, m.clause) for m in kb.ask("发现考生作弊怎么办").matches}
    assert cited & {("考评人员守则", "7."), ("监考人员守则", "3.(5)")}


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("考生打电话来问成绩过没过我能说吗", {("考评人员管理办法", "第七条(十)")}),
        # How a breach is handled: the evaluators' rule or the invigilators' (the asker's role is not given).
        ("考生拿手机偷看答案被我逮到了怎么处理", {("考评人员管理办法", "第七条(五)"), ("监考人员守则", "3.(5)")}),
    ],
)
def test_an_incidental_word_does_not_hide_what_is_asked(
    kb: KnowledgeBase, question: str, asked: set[tuple[str, str]]
) -> None:
    """手机 / 电话 (lexicon/incidental.txt) may pull the phone clauses first although the question asks whether a
    candidate may be told the result or how cheating is handled: a clause on what the question asks about is among
    what the reply shows, and unless it leads the reply does not commit."""
    ans = kb.ask(question)
    assert ans.answer is not None
    shown = {(m.doc, m.clause) for m in [ans.answer, *ans.alternatives]}
    assert shown & asked
    if (ans.answer.doc, ans.answer.clause) not in asked:
        assert not ans.committed and "也可能是" in format_answer(ans)


@pytest.mark.parametrize("question", ["监考时能接电话吗", "考生手机没关咋办", "监考时手机要静音吗"])
def test_a_question_about_the_incidental_word_itself_still_commits(kb: KnowledgeBase, question: str) -> None:
    """When the phone clause covers every content word of the question, nothing is added beside it."""
    ans = kb.ask(question)
    assert ans.answer is not None and ans.committed


@pytest.mark.parametrize(
    "question", ["监考可以穿凉鞋吗", "考评员能穿短裤吗", "督导员能穿裙子吗", "监考能穿拖鞋吗", "考评员能穿拖鞋吗"]
)
def test_staff_dress_is_not_answered_by_the_candidates_dress_rule(kb: KnowledgeBase, question: str) -> None:
    """穿 (lexicon/incidental.txt) alone pulls 实际操作考核考场规则 3. (candidates dress for safety); no rule says what
    staff wear, and without 穿 the question is not answered, so it is refused. A clause that shares only who is asked
    about (督导) and lacks 穿 does not answer either. Nor does what is left when the garment is a word no clause uses
    (拖鞋: 监考能吗 says nothing, whatever it reaches)."""
    assert kb.ask(question, context=AskContext(roles=frozenset({"invigilator"}), kind="theory")).answer is None
    assert kb.ask(question).answer is None


def test_candidates_dress_is_still_answered(kb: KnowledgeBase) -> None:
    """The same words about a practical candidate reach the rule that is about them."""
    ans = kb.ask("实操考生能穿凉鞋吗")
    assert ans.answer is not None
    assert (ans.answer.doc, ans.answer.clause) == ("实际操作考核考场规则", "3.")


def test_the_clause_asked_about_leads_when_it_is_surer_without_the_incidental_word(kb: KnowledgeBase) -> None:
    """Without 电话 the question is answered more surely by a clause on telling results (阅卷评分守则 8. or
    考评人员管理办法 第七条(十)) than the whole question by the phone rule: the reply leads with it, still shows the
    phone rule and shows no clause twice."""
    question = "家长打电话来问成绩 能说不"
    ranked = kb.probabilities(question)
    aside = kb.incidental_alternatives(question, ranked[0][0])
    assert aside and aside[0][1] > ranked[0][1]
    ans = kb.ask(question)
    assert ans.answer is not None
    assert (ans.answer.doc, ans.answer.clause) in {("阅卷评分守则", "8."), ("考评人员管理办法", "第七条(十)")}
    shown = [(m.doc, m.clause) for m in [ans.answer, *ans.alternatives]]
    assert ("监考人员守则", "3.(8)") in shown[1:]
    assert len(shown) == len(set(shown))


def test_the_clause_without_the_incidental_word_does_not_take_the_lead_from_the_askers_own_rules(
    kb: KnowledgeBase,
) -> None:
    """Without 手机, 考生偷偷用查答案 我咋处理 is answered most surely by the evaluators' rule on helping cheaters
    (考评人员管理办法 第八条(八)). Asked with no role, that rule leads as the surer one; a theory invigilator, whose
    best clause is from the invigilators' rules, keeps it first and is shown the evaluators' rule after it."""
    question = "考生偷偷用手机查答案 我咋处理"
    evaluators = ("考评人员管理办法", "第八条(八)")
    ranked = kb.probabilities(question)
    aside = kb.incidental_alternatives(question, ranked[0][0])
    assert kb.clauses[ranked[0][0]].doc == "监考人员守则"
    assert aside and (kb.clauses[aside[0][0]].doc, kb.clauses[aside[0][0]].clause) == evaluators
    assert aside[0][1] > ranked[0][1]
    anyone = kb.ask(question)
    assert anyone.answer is not None and (anyone.answer.doc, anyone.answer.clause) == evaluators
    invigilator = kb.ask(question, context=AskContext(roles=frozenset({"invigilator"}), kind="theory"))
    assert invigilator.answer is not None and invigilator.answer.doc == "监考人员守则"
    assert not invigilator.committed
    assert evaluators in [(m.doc, m.clause) for m in invigilator.alternatives]


def test_no_reply_shows_a_clause_twice(kb: KnowledgeBase) -> None:
    """Whatever moved the lead (the asker's context, the asker's room, an incidental word), the clauses a reply shows
    are distinct: over the tuning set, the development sets and the example questions."""
    from kb_golden import DEV_SETS, QUESTIONS_TSV, read_questions

    from knowledge.features import read_examples

    questions = [q.question for path in (QUESTIONS_TSV, *DEV_SETS) for q in read_questions(path)]
    questions += [q for _, _, q in read_examples()]
    for question in questions:
        ans = kb.ask(question)
        if ans.answer is not None:
            shown = [(m.doc, m.clause) for m in [ans.answer, *ans.alternatives]]
            assert len(shown) == len(set(shown)), question


@pytest.mark.parametrize(
    ("question", "doc", "clause"),
    [
        ("考生在考场里闹事考评员能让他停考吗", "考评人员管理办法", "第五条(二)"),
        ("实操时考生被设备烫伤了咋办", "实际操作考场安全工作规则", "8."),
    ],
)
def test_phone_words_for_trouble_and_injuries_reach_their_rules(
    kb: KnowledgeBase, question: str, doc: str, clause: str
) -> None:
    """闹事 is a breach of discipline (related.txt) and 烫伤 an accident (synonyms.txt, wt-kb8): the rule is shown."""
    ans = kb.ask(question)
    assert ans.answer is not None
    assert (doc, clause) in {(m.doc, m.clause) for m in [ans.answer, *ans.alternatives]}

"""The fitted ranker (issue 17): shipped coefficients, runtime scoring, example questions, filler words."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kb_golden import read_questions

from knowledge import Answer, KnowledgeBase, KnowledgeFileError
from knowledge import fit_ranker as fit
from knowledge.features import FEATURE_NAMES, read_examples
from knowledge.ranker import RANKER_FILE, Ranker
from knowledge.training import TUNING_TSV

ROOT = Path(__file__).resolve().parents[2]

# Questions of the tuning set only: the held-out sets are never looked at by a test.
TUNING = read_questions()
FILLERS = [("请问", ""), ("", "呢"), ("那个", ""), ("", "啊"), ("我想看看", ""), ("请问一下", ""), ("麻烦问下", "")]
FILLERS += [("", "呢啊"), ("以后", ""), ("好几个", ""), ("看看", "")]


def _signature(ans: Answer) -> tuple[object, ...]:
    """What a reply shows: answered or not, the clause it leads with, the alternatives, the labels."""
    lead = None if ans.answer is None else (ans.answer.doc, ans.answer.clause)
    return lead, [(m.doc, m.clause) for m in ans.alternatives], ans.labels, ans.pinned


@pytest.mark.parametrize(("prefix", "suffix"), FILLERS, ids=[p + "…" + s for p, s in FILLERS])
def test_fillers_do_not_change_the_answer(kb: KnowledgeBase, prefix: str, suffix: str) -> None:
    """A tuning-set question with filler words before or after it gets the same reply as without them: a filler
    neither raises the bar to answer (no in-domain question is refused for it) nor lets an out-of-domain one in."""
    changed = []
    for q in TUNING:
        base = q.question.rstrip("？?")
        if _signature(kb.ask(prefix + base + suffix)) != _signature(kb.ask(base)):
            changed.append(q.question)
    assert changed == []


@pytest.mark.parametrize(
    ("plain", "with_fillers"),
    [
        ("考生迟到怎么办", "考生迟到以后怎么办"),
        ("试卷装订不规范怎么办", "好几个试卷装订不规范怎么办"),
        ("监考员能带手机吗", "请问一下那个监考员能带手机吗啊"),
        ("考评员证卡丢了怎么办", "麻烦问下考评员证卡丢了怎么办呢"),
    ],
)
def test_fillers_inside_a_question(kb: KnowledgeBase, plain: str, with_fillers: str) -> None:
    """Fillers inside a question (以后, 好几个 which is not "how many", 那个) change nothing either."""
    ans = kb.ask(with_fillers)
    assert ans.answer is not None
    assert _signature(ans) == _signature(kb.ask(plain))


def test_filler_words_are_cut_whole_and_dropped(kb: KnowledgeBase) -> None:
    """No character of a filler is left as a content word (麻烦问下 is not 麻烦 / 问 / 下)."""
    assert kb.analyzer.tokens("麻烦问下好几个考生迟到以后咋办") == kb.analyzer.tokens("考生迟到咋办")
    assert kb.analyzer.without_fillers("请问好几个考生迟到") == "考生迟到"


def test_example_questions_cover_every_clause(kb: KnowledgeBase) -> None:
    """Every clause has at least two example questions and every example names a clause of the bundled KB."""
    rows = read_examples()
    keys = {(c.doc, c.clause) for c in kb.clauses}
    counts = {key: 0 for key in keys}
    for doc, clause, _ in rows:
        assert (doc, clause) in keys, (doc, clause)
        counts[(doc, clause)] += 1
    assert min(counts.values()) >= 2, [k for k, n in counts.items() if n < 2]
    assert len(rows) >= 3 * len(keys)


def test_example_questions_are_not_held_out_questions() -> None:
    """The examples are written from the clauses: none is word for word a question of a held-out set (the
    examples feed the ranker, so such a question would no longer be held out)."""
    from kb_golden import HELDOUT3_TSV, HELDOUT_TSV, PHONE_TSV

    held_out = (HELDOUT_TSV, PHONE_TSV, HELDOUT3_TSV)
    asked = {q.question.rstrip("？?") for path in held_out for q in read_questions(path)}
    # Only the number is reported: a failure must not print a held-out question.
    assert len(asked & {q.rstrip("？?") for _, _, q in read_examples()}) == 0


def test_example_questions_are_not_development_or_tuning_questions() -> None:
    """No example equals a question of the development set (kb_dev_phone.tsv, written before the second round of
    examples, so that it stays a fair test of them) or of the tuning set (whose cross-validated figures would
    otherwise see their own question among the examples)."""
    from kb_golden import DEV_SET_TABLE, DEV_SETS

    for d in DEV_SET_TABLE:
        rows = read_questions(d.path)
        n_in, n_ood = sum(q.in_domain for q in rows), sum(not q.in_domain for q in rows)
        assert n_in >= d.min_in and n_ood >= d.min_ood, (d.file, n_in, n_ood)
        assert not d.no_role or {q.role for q in rows} == {""}, f"{d.file} is asked with no role"
    examples = {q.rstrip("？?") for _, _, q in read_examples()}
    for path in (*DEV_SETS, TUNING_TSV):
        asked = {q.question.rstrip("？?") for q in read_questions(path)}
        assert sorted(asked & examples) == [], path.name


@pytest.fixture(scope="module")
def shipped() -> dict[str, object]:
    """The shipped ranker file."""
    return json.loads(RANKER_FILE.read_text(encoding="utf-8"))


# The fit runs in a fresh interpreter so that it sees the shipped documents and lexicon only, whatever other test files
# built earlier in the process. (Until wt-kb8 one process-wide jieba tokenizer changed with every knowledge base built;
# each lexicon now has its own, see tests/knowledge/test_tokenizer.py, but the check stays isolated.)
_SCORER_CHECK = """
import json
import numpy as np
from knowledge import KnowledgeBase
from knowledge import fit_ranker as fit
from knowledge.ranker import RANKER_FILE
shipped = json.loads(RANKER_FILE.read_text(encoding="utf-8"))
kb = KnowledgeBase.load()
data = fit.build(kb, fit.read_tuning()[:120])
full = fit.build(kb, fit.training_queries(kb))
mean, scale, model = fit.fit_linear(full.x, full.y, float(shipped["C"]))
rows = data.x[::3]
expected = model.decision_function((rows - mean) / scale)
probs = model.predict_proba((rows - mean) / scale)[:, 1]
got = np.array([kb.ranker.model.decision(row.tolist()) for row in rows])
got_p = np.array([kb.ranker.probability(row.tolist()) for row in rows])
from knowledge.fit_trees import fit_trees
trees = fit_trees(full.x, full.y).decision_function(rows)
got_trees = np.array([kb.ranker.second.decision(row.tolist()) for row in rows])
print(json.dumps({"rows": len(rows), "decision": float(np.max(np.abs(got - expected))),
                  "probability": float(np.max(np.abs(got_p - probs))),
                  "trees": float(np.max(np.abs(got_trees - trees)))}))
"""


def _fresh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)


def test_shipped_ranker_is_what_the_fit_script_produces() -> None:
    """Fitting again (deterministic: grouped folds without shuffling, lbfgs) gives the shipped file, so the
    coefficients match the code, the lexicon and the example questions."""
    done = _fresh("-m", "knowledge.fit_ranker", "--check")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_runtime_scorer_equals_sklearn() -> None:
    """The plain-Python scorers give scikit-learn's decision_function and predict_proba of the models fitted on the
    same rows (so the shipped coefficients and trees are those models')."""
    done = _fresh("-c", _SCORER_CHECK)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["rows"] > 100
    assert figures["decision"] <= 1e-4 and figures["probability"] <= 1e-5, figures
    assert figures["trees"] <= 1e-5, figures  # the second opinion's trees (knowledge/second.py) too


def test_identical_clauses_get_identical_probabilities() -> None:
    """Two clauses with the same text get the same probability (rank features share ranks on ties)."""
    from knowledge import Clause

    text = "考场内手机应关闭并交由工作人员统一保管。"
    two = KnowledgeBase([Clause("监考人员守则", "1.", text), Clause("监考人员守则", "2.", text)], examples=[])
    (_, p1), (_, p2) = two.scored("考场内手机要关闭吗", 2)
    assert p1 == p2


def test_ranker_file_must_match_the_features(tmp_path: Path, shipped: dict[str, object]) -> None:
    """A ranker file fitted for other features is refused with a message naming the fit script."""
    other = dict(shipped, features=list(FEATURE_NAMES[:-1]))
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps(other), encoding="utf-8")
    with pytest.raises(KnowledgeFileError, match="fit_ranker"):
        Ranker.load(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(KnowledgeFileError):
        Ranker.load(path)


def test_out_of_domain_tuning_questions_stay_refused_with_the_ranker(kb: KnowledgeBase) -> None:
    """Every out-of-domain question of the tuning set is refused: the answer rule is judged on the ranker's best
    clause, whatever its probability."""
    ood = [q.question for q in TUNING if not q.in_domain]
    assert ood
    assert [q for q in ood if kb.ask(q).answer is not None] == []


def test_out_of_domain_examples_are_not_held_out_questions() -> None:
    """The out-of-domain examples (training negatives) are not questions of a held-out or development set either."""
    from kb_golden import DEV_SETS, HELDOUT_TSV, PHONE_TSV

    asked = {q.question.rstrip("？?") for path in (HELDOUT_TSV, PHONE_TSV) for q in read_questions(path)}
    examples = read_examples(fit.EXAMPLES_OOD)
    assert len(examples) >= 50
    assert all(doc == "-" and clause == "-" for doc, clause, _ in examples)
    assert len(asked & {q.rstrip("？?") for _, _, q in examples}) == 0
    dev = {q.question.rstrip("？?") for path in DEV_SETS for q in read_questions(path)}
    assert sorted(dev & {q.rstrip("？?") for _, _, q in examples}) == []


@pytest.mark.parametrize(
    ("question", "doc", "clause"),
    [("假证咋查", "廉政风险防控制度", "5."), ("隐患咋消", "实际操作考场安全工作规则", "7.")],
)
def test_a_close_example_question_lets_the_knowledge_base_answer(question: str, doc: str, clause: str) -> None:
    """A question in words the clause does not use is refused by the hand-set rule; once it is an example question
    of that clause (similarity 1.0, above the shipped example threshold) it is answered with that clause."""
    from knowledge.loader import load_documents

    clauses = [c for d in load_documents() for c in d.clauses]
    assert KnowledgeBase(clauses, examples=[]).ask(question).answer is None
    ans = KnowledgeBase(clauses, examples=[(doc, clause, question)]).ask(question)
    assert ans.answer is not None
    assert (ans.answer.doc, ans.answer.clause) == (doc, clause)


def test_example_threshold_is_above_every_refused_out_of_domain_training_question(
    kb: KnowledgeBase, shipped: dict[str, object]
) -> None:
    """The shipped example threshold answers none of the out-of-domain questions (tuning set, out-of-domain
    examples) that the hand-set rule refuses, and it is the same as Ranker.answers applies."""
    threshold = float(shipped["example_threshold"])  # type: ignore[arg-type]
    assert 0.5 <= threshold < 1.0
    assert kb.ranker.example_threshold == threshold
    questions = [q.question for q in TUNING if not q.in_domain]
    questions += [q for _, _, q in read_examples(fit.EXAMPLES_OOD)]
    for question in questions:
        candidates, rows = kb.features(question)
        if not rows:
            continue
        probs = [kb.ranker.probability(row) for row in rows]
        best = rows[max(range(len(rows)), key=lambda k: (probs[k], -candidates[k].index))]
        if best[FEATURE_NAMES.index("hand_gate")] < 0:
            assert best[FEATURE_NAMES.index("example_dice")] < threshold, question
            assert not kb.ranker.answers(best), question


def test_answer_rule_on_a_feature_row() -> None:
    """Ranker.answers: the hand-set margin or, failing that, a close example question."""
    row = [0.0] * len(FEATURE_NAMES)
    gate, example = FEATURE_NAMES.index("hand_gate"), FEATURE_NAMES.index("example_dice")
    ranker = Ranker.load()
    row[gate], row[example] = -0.1, ranker.example_threshold
    assert ranker.answers(row)
    row[example] = ranker.example_threshold - 0.01
    assert not ranker.answers(row)
    assert not ranker.answers(row, ranker.probability_threshold - 0.01)
    assert ranker.answers(row, ranker.probability_threshold)
    row[gate] = 0.0
    assert ranker.answers(row)


def test_probability_threshold_is_above_every_refused_out_of_domain_training_question(
    kb: KnowledgeBase, shipped: dict[str, object]
) -> None:
    """The shipped probability threshold is the one Ranker.answers applies, below 1 (it answers something), and no
    out-of-domain training question (tuning set, out-of-domain examples) is answered through it."""
    threshold = float(shipped["probability_threshold"])  # type: ignore[arg-type]
    assert 0.5 <= threshold < 1.0
    assert kb.ranker.probability_threshold == threshold
    questions = [q.question for q in TUNING if not q.in_domain]
    questions += [q for _, _, q in read_examples(fit.EXAMPLES_OOD)]
    assert [q for q in questions if kb.ask(q).answer is not None] == []


def test_hedge_fallback_on_a_feature_row() -> None:
    """Ranker.hedges: only a question that names an exam word, from the hedge threshold on (below the probability
    threshold, above every refused out-of-domain training question of that kind: knowledge/fit_ranker.py)."""
    ranker = Ranker.load()
    assert 0.3 < ranker.hedge_threshold < ranker.probability_threshold
    row = [0.0] * len(FEATURE_NAMES)
    row[FEATURE_NAMES.index("hand_gate")] = -0.1
    assert not ranker.hedges(row, 0.99)  # no exam word: never
    row[FEATURE_NAMES.index("q_domain")] = 1.0
    assert not ranker.hedges(row, ranker.hedge_threshold - 0.01)
    assert ranker.hedges(row, ranker.hedge_threshold)


def test_hedge_fallback_replies_are_never_committed(kb: KnowledgeBase) -> None:
    """A tuning or development question that only the hedge fallback answers gets two or three clauses, and its
    commit probability reads 0 (the reply never commits to one clause). The development sets are searched too: which
    questions fall in the fallback's band moves with every refit, and the tuning set alone may have none."""
    from kb_golden import DEV_SETS

    fallback = 0
    dev = [q for path in DEV_SETS for q in read_questions(path)]
    for q in [*TUNING, *dev]:
        if not q.in_domain:
            continue
        candidates, rows = kb.features(q.question)
        if not rows:
            continue
        probs = [kb.ranker.probability(row) for row in rows]
        k = max(range(len(rows)), key=lambda j: (probs[j], -candidates[j].index))
        if kb.ranker.answers(rows[k], probs[k]) or not kb.ranker.hedges(rows[k], probs[k]):
            continue
        ans = kb.ask(q.question)
        if ans.answer is None or ans.pinned or ans.labels:
            continue
        fallback += 1
        assert ans.alternatives, q.question
        assert kb.commit_probability(q.question) == 0.0
    assert fallback >= 1


def test_thresholds_are_held_fixed_unless_the_training_questions_need_more(shipped: dict[str, object]) -> None:
    """The shipped thresholds are knowledge/fit_ranker.py's fixed ones, or, where the fit had to raise one (an
    out-of-domain training question reached it), the raised value, which the file records."""
    raised = shipped["raised"]
    assert isinstance(raised, dict)
    second = shipped["second_opinion"]
    assert isinstance(second, dict)
    values = {
        "example": shipped["example_threshold"],
        "probability": shipped["probability_threshold"],
        "hedge": shipped["hedge_threshold"],
        "commit": shipped["commit_threshold"],
        "second": second["threshold"],
    }
    for name, fixed in fit.FIXED_THRESHOLDS.items():
        assert values[name] == max(fixed, raised.get(name, 0.0)), name

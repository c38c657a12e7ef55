"""Benchmark of the rule knowledge base (run as a script, not collected by pytest).

    .venv/bin/python tests/bench/kb.py            # print the table
    .venv/bin/python tests/bench/kb.py --write    # also update tests/bench/KB_RESULTS.md
    .venv/bin/python tests/bench/kb.py --accuracy-only   # only the accuracy tables (seconds)

Accuracy on tests/data/kb_questions.tsv (the tuning set) and three held-out sets (tests/data/kb_heldout.tsv,
tests/knowledge/data/kb_heldout_phone.tsv, tests/knowledge/data/kb_heldout3_phone.tsv) for our KB and two
baselines (rapidfuzz WRatio over the raw clause text; BM25 over plain jieba words), query latency on the real KB and
on a synthetic 10,000-clause KB, and cold start (import + load + index) in a fresh process.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "knowledge"))

import jieba  # noqa: E402
from eval_heldout import evaluate  # noqa: E402
from kb_golden import HELDOUT3_TSV, HELDOUT_TSV, PHONE_TSV, GoldenQuestion, read_questions  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from knowledge import Clause, KnowledgeBase  # noqa: E402
from knowledge.index import BM25  # noqa: E402

METHOD = """\
The tuning set (tests/data/kb_questions.tsv) is what the lexicon and the weights
were fitted on: it grew in batches, each written before looking at how the knowledge base answered
it, measured, then used to find general fixes (the first-try top-1 of each fresh batch was 66-88 %,
which is the honest estimate of how a new question fares). The held-out set
(tests/data/kb_heldout.tsv) was written before any of that tuning, in one go, and is never used to
tune: only its totals below are looked at. Before the tuning (commit 4e05f17) ours scored on it
76.1 % top-1, 93.2 % top-3 and refused 17 of its 24 out-of-domain questions. The baselines have no
threshold of their own; each gets the best one for each set after the fact, which flatters them.
Since issue 17 ours orders, refuses and commits with the fitted ranker (knowledge/ranker.py, fitted by
knowledge/fit_ranker.py; knowledge/EVAL.md has the history). Two more held-out sets came with issue 17: phone-style
questions with the asker's role and session kind (kb_heldout_phone.tsv, written before any change of that issue)
and a third one written blind in session 17 by a writer who saw no code and no other set (kb_heldout3_phone.tsv);
on every held-out set only the totals are looked at."""

Ranked = list[tuple[tuple[str, str], float]]  # ((doc, clause), score), best first


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


class Row:
    """Accuracy figures of one system on one set (shares of the in-domain questions; OOD as refused / asked)."""

    def __init__(
        self, name: str, top1: float, top3: float, shown: float, wrong: float, ood: tuple[int, int], note: str
    ):
        self.name, self.top1, self.top3, self.shown, self.wrong = name, top1, top3, shown, wrong
        self.ood, self.note = ood, note


def evaluate_ours(kb: KnowledgeBase, questions: list[GoldenQuestion]) -> Row:
    """Counted as tests/knowledge/eval_heldout.py counts (with the asker's role and kind where the set has them):
    top-1 = answered with an accepted clause first; shown = an accepted clause among what the reply shows;
    confidently wrong = one clause only, not an accepted one."""
    f = evaluate(kb, questions, "ours")
    n = f.n_in or 1
    return Row(
        "ours (KnowledgeBase.ask)",
        f.top1 / n,
        f.top3 / n,
        f.shown / n,
        f.confidently_wrong / n,
        (f.ood_refused, f.n_ood),
        "thresholds built in",
    )


def evaluate_baseline(name: str, rank: Callable[[str], Ranked], questions: list[GoldenQuestion]) -> Row:
    """Baselines have no threshold of their own: the one that maximises right answers plus refused out-of-domain
    questions on this set is chosen after the fact (an oracle). Above it they answer with their best clause (right or
    confidently wrong); below it they show their three nearest, like our "don't know"."""
    ranked = [(q, rank(q.question)) for q in questions]
    inside = [(q, r) for q, r in ranked if q.in_domain]
    n_in, ood = len(inside), len(ranked) - len(inside)
    top3 = sum(bool(q.accepted & {k for k, _ in r[:3]}) for q, r in inside) / n_in
    candidates = sorted({r[0][1] for _, r in ranked if r} | {0.0, float("inf")})
    best: tuple[int, float, int] | None = None  # (right answers + refused out of domain, threshold, refused)
    for t in candidates:
        top1 = sum(bool(r) and r[0][1] >= t and r[0][0] in q.accepted for q, r in inside)
        refused = sum(not r or r[0][1] < t for q, r in ranked if not q.in_domain)
        if best is None or top1 + refused > best[0]:
            best = (top1 + refused, t, refused)
    assert best is not None
    _, t, refused = best
    answered = [(q, r) for q, r in inside if r and r[0][1] >= t]
    top1 = sum(r[0][0] in q.accepted for q, r in answered)
    shown = top1 + sum(bool(q.accepted & {k for k, _ in r[:3]}) for q, r in inside if not r or r[0][1] < t)
    return Row(
        name,
        top1 / n_in,
        top3,
        shown / n_in,
        (len(answered) - top1) / n_in,
        (refused, ood),
        f"oracle threshold {t:.3g}",
    )


def rapidfuzz_baseline(clauses: list[Clause]) -> Callable[[str], Ranked]:
    texts = [c.text for c in clauses]

    def rank(question: str) -> Ranked:
        hits = process.extract(question, texts, scorer=fuzz.WRatio, limit=3)
        return [((clauses[i].doc, clauses[i].clause), score / 100) for _, score, i in hits]

    return rank


def bm25_baseline(clauses: list[Clause]) -> Callable[[str], Ranked]:
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = tempfile.gettempdir()

    def words(text: str) -> list[str]:
        return [w for w in tokenizer.lcut(text) if re.search(r"\w", w)]

    docs: list[dict[str, float]] = []
    for c in clauses:
        d: dict[str, float] = {}
        for w in words(c.text):
            d[w] = d.get(w, 0.0) + 1.0
        docs.append(d)
    index = BM25(docs, k1=1.2, b=0.75)

    def rank(question: str) -> Ranked:
        scores = index.scores(dict.fromkeys(words(question), 1.0))
        best = sorted(scores.items(), key=lambda kv: -kv[1])[:3]
        return [((clauses[i].doc, clauses[i].clause), s) for i, s in best]

    return rank


def synthetic_clauses(real: list[Clause], n: int, seed: int = 7) -> list[Clause]:
    """n clauses made of random fragments of the real ones, in documents of 100 clauses."""
    rng = random.Random(seed)
    fragments = [f for c in real for f in re.split(r"[，；。、]", c.text) if len(f) >= 4]
    out: list[Clause] = []
    for i in range(n):
        text = "，".join(rng.sample(fragments, rng.randint(2, 5))) + "。"
        out.append(Clause(doc=f"合成规定{i // 100:03d}", clause=f"{i % 100 + 1}.", text=text, context=""))
    return out


def latency_ms(
    kb: KnowledgeBase, questions: list[str], rounds: int, blocks: int = 7
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(p50, p99) of `ask` in ms, wall clock and thread CPU time: median over `blocks` blocks of
    `rounds` passes over the questions. The machine is shared, so wall-clock tails include time
    the process was not scheduled; CPU time is the work a query costs."""
    for q in questions:  # warm-up
        kb.ask(q)
    wall: list[tuple[float, float]] = []
    cpu: list[tuple[float, float]] = []
    for _ in range(blocks):
        w_samples: list[float] = []
        c_samples: list[float] = []
        for _ in range(rounds):
            for q in questions:
                c0 = time.thread_time()
                t0 = time.perf_counter()
                kb.ask(q)
                w_samples.append((time.perf_counter() - t0) * 1000)
                c_samples.append((time.thread_time() - c0) * 1000)
        wall.append((statistics.median(w_samples), percentile(w_samples, 99)))
        cpu.append((statistics.median(c_samples), percentile(c_samples, 99)))

    def med(rows: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)

    return med(wall), med(cpu)


def cold_start_s(cache_dir: str | None) -> float:
    """Seconds for `import knowledge; KnowledgeBase.load()` in a fresh interpreter."""
    # the knowledge package reads no environment: the cache directory is passed like the app passes it
    code = (
        "import sys, time; t=time.perf_counter(); from pathlib import Path; from knowledge import KnowledgeBase; "
        "KnowledgeBase.load(cache_dir=Path(sys.argv[1]) if len(sys.argv) > 1 else None); "
        "print(time.perf_counter()-t)"
    )
    env = dict(os.environ)
    env.pop("EXAMBOT_KB_DIR", None)
    extra = [cache_dir] if cache_dir is not None else []
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code, *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def accuracy_table(kb: KnowledgeBase, questions: list[GoldenQuestion], name: str) -> list[str]:
    """Markdown table: ours and both baselines on one question set."""
    rows = [
        evaluate_ours(kb, questions),
        evaluate_baseline("rapidfuzz WRatio, raw text", rapidfuzz_baseline(kb.clauses), questions),
        evaluate_baseline("BM25, plain jieba words", bm25_baseline(kb.clauses), questions),
    ]
    n_in = sum(q.in_domain for q in questions)
    lines = [
        f"{n_in} in-domain + {len(questions) - n_in} out-of-domain questions ({name}), "
        f"KB of {len(kb.clauses)} clauses.",
        "",
        "| system | top-1 | top-3 | right clause shown | confidently wrong | OOD refused | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.top1:.1%} | {r.top3:.1%} | {r.shown:.1%} | {r.wrong:.1%} "
            f"| {r.ood[0]} / {r.ood[1]} | {r.note} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update tests/bench/KB_RESULTS.md")
    parser.add_argument("--accuracy-only", action="store_true", help="only the accuracy tables (fast; never writes)")
    args = parser.parse_args(argv)
    logging.getLogger("jieba").setLevel(logging.WARNING)

    questions = read_questions()
    kb = KnowledgeBase.load()
    lines = ["## Tuning set", "", *accuracy_table(kb, questions, "tests/data/kb_questions.tsv"), ""]
    for title, path in (
        ("Held-out set (never used for tuning)", HELDOUT_TSV),
        ("Phone held-out set (issue 17; with the asker's role and session kind)", PHONE_TSV),
        ("Third held-out set (session 17; written blind, sealed, with role and kind)", HELDOUT3_TSV),
    ):
        rel = path.relative_to(ROOT)
        lines += [f"## {title}", "", *accuracy_table(kb, read_questions(path), str(rel)), ""]
    lines += [
        'top-1 counts an in-domain question only when it is answered (not "don\'t know") with an accepted clause',
        "first; top-3 looks at the three nearest clauses whatever the threshold; right clause shown counts an",
        "accepted clause among what the reply shows (one clause, the two or three of a hedged reply, the three",
        'suggestions of a "don\'t know"); confidently wrong is an answer of one clause only that is not accepted.',
        "The baselines get the best threshold for each set after the fact (an oracle), ours has fixed thresholds.",
        "",
    ]
    if args.accuracy_only:
        print("\n".join(lines))
        return 0

    texts = [q.question for q in questions]
    (p50, p99), (cpu50, cpu99) = latency_ms(kb, texts, rounds=10)
    synthetic = synthetic_clauses(kb.clauses, 10_000)
    t0 = time.perf_counter()
    big = KnowledgeBase(synthetic)
    build_big = time.perf_counter() - t0
    (big_p50, big_p99), (big_cpu50, big_cpu99) = latency_ms(big, texts, rounds=1)
    with tempfile.TemporaryDirectory() as empty_cache:
        cold_nocache = cold_start_s(empty_cache)
    cold_start_s(None)  # make sure the regular cache exists
    cold_runs = [cold_start_s(None) for _ in range(3)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines += [
        "## Speed",
        "",
        f"Machine: {os.cpu_count()} CPUs, 1-minute load average {load:.2f} when the latency runs ended.",
        "",
        "| measurement | value |",
        "|---|---|",
        f"| query latency, real KB ({len(kb.clauses)} clauses), p50 / p99 wall clock (median of 7 blocks) "
        f"| {p50:.3f} ms / {p99:.3f} ms |",
        f"| query CPU time, real KB, p50 / p99 (thread CPU time, median of 7 blocks) "
        f"| {cpu50:.3f} ms / {cpu99:.3f} ms |",
        f"| query latency, synthetic KB (10,000 clauses), p50 / p99 wall clock (median of 7 blocks) "
        f"| {big_p50:.2f} ms / {big_p99:.2f} ms |",
        f"| query CPU time, synthetic KB (10,000 clauses), p50 / p99 | {big_cpu50:.2f} ms / {big_cpu99:.2f} ms |",
        f"| index build, synthetic KB (10,000 clauses) | {build_big:.2f} s |",
        f"| cold start (fresh process: import + load + index), jieba cache warm, median of 3 "
        f"| {statistics.median(cold_runs):.2f} s |",
        f"| cold start, first run ever (jieba builds its cache) | {cold_nocache:.2f} s |",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        out = Path(__file__).with_name("KB_RESULTS.md")
        out.write_text(
            "# Knowledge base benchmark\n\nOutput of `.venv/bin/python tests/bench/kb.py --write` "
            f"(Python {sys.version.split()[0]}).\n\n{METHOD}\n\n{text}\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

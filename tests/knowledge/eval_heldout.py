"""Accuracy of the knowledge base on the two held-out sets (run as a script, not collected by pytest).

    .venv/bin/python tests/knowledge/eval_heldout.py            # print the figures
    .venv/bin/python tests/knowledge/eval_heldout.py --misses   # also list the questions it got wrong
    .venv/bin/python tests/knowledge/eval_heldout.py --dev7     # one development set (dev, dev2 .. dev30)
    .venv/bin/python tests/knowledge/eval_heldout.py --dev --dev2 --dev9   # several
    .venv/bin/python tests/knowledge/eval_heldout.py --heldout3 # the sealed third held-out set (once, at the end)

For each set: top-1 (answered, and the clause it leads with is accepted), top-3 (an accepted clause
among the three nearest, whatever the threshold), shown (an accepted clause among what the reply
shows: the single clause, the hedged two or three, the pinned answer's citations, or the "don't
know" suggestions), in-domain refusals, confidently wrong (answered with one clause only, and it is
wrong) and out-of-domain questions refused. The phone set's role and session kind are passed to the
knowledge base as the asker's context (the existing held-out set has none).
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kb_golden import (  # noqa: E402
    DEV_SET_TABLE,
    HELDOUT3_TSV,
    HELDOUT_TSV,
    PHONE_TSV,
    QUESTIONS_TSV,
    GoldenQuestion,
    read_questions,
)

from knowledge import Answer, AskContext, KnowledgeBase  # noqa: E402


@dataclass
class Figures:
    """Counts over one question set."""

    name: str
    n_in: int = 0
    n_ood: int = 0
    top1: int = 0
    top3: int = 0
    shown: int = 0
    refused: int = 0
    confidently_wrong: int = 0
    hedged: int = 0
    ood_refused: int = 0
    misses: list[str] = field(default_factory=list)


def shown_clauses(ans: Answer) -> list[tuple[str, str]]:
    """The clauses a reply puts in front of the asker."""
    alternatives = ans.alternatives
    if ans.answer is None or ans.pinned:
        return [(m.doc, m.clause) for m in ans.matches]
    if alternatives:
        return [(m.doc, m.clause) for m in [ans.answer, *alternatives]]
    if ans.ambiguous:
        return [(m.doc, m.clause) for m in ans.matches[:2]]
    return [(ans.answer.doc, ans.answer.clause)]


def committed(ans: Answer) -> bool:
    """Answered with one clause only (not pinned, not hedged, not an ambiguity question)."""
    return ans.answer is not None and not ans.pinned and not ans.ambiguous and not ans.alternatives


# The sets asked instead of the two held-out sets: flag -> (file, name in the table, help).
OTHER_SETS: dict[str, tuple[Path, str, str]] = {
    **{d.flag: (d.path, d.label, f"{d.file}: {d.about}") for d in DEV_SET_TABLE},
    "heldout3": (HELDOUT3_TSV, "held-out 3", "the sealed third held-out set (session 17): measure once, never tune"),
}

# The role labels of the phone set as the values of bot.store.tables.Role.
ROLE_VALUES = {"监考员": "invigilator", "考评员": "evaluator", "督导": "supervisor", "考务办公室": "office"}


def ask(kb: KnowledgeBase, q: GoldenQuestion, *, with_context: bool) -> Answer:
    """Ask, with the asker's role and session kind unless `with_context` is off."""
    if not with_context:
        return kb.ask(q.question)
    roles = frozenset({ROLE_VALUES[q.role]} if q.role else ())
    return kb.ask(q.question, context=AskContext(roles=roles, kind=q.kind))


def evaluate(kb: KnowledgeBase, questions: list[GoldenQuestion], name: str, *, with_context: bool = True) -> Figures:
    """Count the figures of one set."""
    f = Figures(name)
    for q in questions:
        ans = ask(kb, q, with_context=with_context)
        if not q.in_domain:
            f.n_ood += 1
            f.ood_refused += ans.answer is None
            if ans.answer is not None:
                f.misses.append(f"OOD answered: {q.question} -> {ans.answer.doc} {ans.answer.clause}")
            continue
        f.n_in += 1
        shown = shown_clauses(ans)
        lead = None if ans.answer is None else (ans.answer.doc, ans.answer.clause)
        right = bool(q.accepted & set(shown)) if ans.pinned else lead in q.accepted
        f.top1 += ans.answer is not None and right
        f.top3 += bool(q.accepted & {(m.doc, m.clause) for m in ans.matches[:3]})
        f.shown += bool(q.accepted & set(shown))
        f.refused += ans.answer is None
        f.hedged += ans.answer is not None and not committed(ans) and not ans.pinned
        if committed(ans) and not right:
            f.confidently_wrong += 1
        if ans.answer is None or not right:
            tag = "refused" if ans.answer is None else ("WRONG" if committed(ans) else "hedged")
            f.misses.append(f"{tag}: {q.question} [{q.role}/{q.kind or '-'}] -> {shown[:3]}")
    return f


def table(rows: list[Figures]) -> list[str]:
    """Markdown table of the figures."""
    lines = [
        "| set | in-domain | top-1 | top-3 | right clause shown | refused | hedged (2-3 shown) "
        "| confidently wrong | OOD refused |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in rows:
        n = f.n_in or 1
        lines.append(
            f"| {f.name} | {f.n_in} | {f.top1} ({f.top1 / n:.1%}) | {f.top3} ({f.top3 / n:.1%}) "
            f"| {f.shown} ({f.shown / n:.1%}) | {f.refused} | {f.hedged} "
            f"| {f.confidently_wrong} ({f.confidently_wrong / n:.1%}) | {f.ood_refused} / {f.n_ood} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the questions not answered right")
    parser.add_argument("--no-context", action="store_true", help="ask without the role and session kind")
    parser.add_argument("--tuning", action="store_true", help="also the tuning set (for design checks, not a result)")
    for flag, (_, _, help_text) in OTHER_SETS.items():
        parser.add_argument(f"--{flag}", action="store_true", help=help_text)
    args = parser.parse_args(argv)
    logging.getLogger("jieba").setLevel(logging.WARNING)
    kb = KnowledgeBase.load()
    chosen = [flag for flag in OTHER_SETS if getattr(args, flag)]
    if chosen:
        rows = [
            evaluate(kb, read_questions(OTHER_SETS[flag][0]), OTHER_SETS[flag][1], with_context=not args.no_context)
            for flag in chosen
        ]
    else:
        rows = [
            evaluate(kb, read_questions(PHONE_TSV), "phone", with_context=not args.no_context),
            evaluate(kb, read_questions(HELDOUT_TSV), "held-out", with_context=not args.no_context),
        ]
    if args.tuning:
        rows.append(evaluate(kb, read_questions(QUESTIONS_TSV), "tuning (not a result)", with_context=False))
    print("\n".join(table(rows)))
    if args.misses:
        for f in rows:
            print(f"\n## {f.name}")
            print("\n".join(f.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())

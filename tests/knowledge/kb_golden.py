"""Golden question tables (shared by tests, tests/bench/kb.py and tests/knowledge/eval_heldout.py).

tests/data/kb_questions.tsv is the tuning set; tests/data/kb_heldout.tsv and
tests/knowledge/data/kb_heldout_phone.tsv are held out (never tuned on). The phone set adds two
columns: the asker's role and the kind of their current or next session. tests/knowledge/data/kb_dev_phone.tsv
has the same columns and is a development set (its misses may be looked at and tuned on).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from knowledge.training import accepted_clauses, table_rows

QUESTIONS_TSV = Path(__file__).resolve().parents[1] / "data" / "kb_questions.tsv"
# Held out: written before tuning and never tuned on; reported by tests/bench/kb.py only.
HELDOUT_TSV = Path(__file__).resolve().parents[1] / "data" / "kb_heldout.tsv"
# Held out (issue 17): phone-style questions with the asker's role and session kind.
PHONE_TSV = Path(__file__).resolve().parent / "data" / "kb_heldout_phone.tsv"
_DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class DevSet:
    """One development set: its file, its flag and label in eval_heldout.py, how it was written and used, and the
    least it holds (tests/knowledge/test_ranker.py checks the counts, so a set cannot shrink unnoticed)."""

    flag: str
    file: str
    about: str
    min_in: int
    min_ood: int
    no_role: bool = False  # asked with no role: every row's role is "-"

    @property
    def path(self) -> Path:
        return _DATA / self.file

    @property
    def label(self) -> str:
        return "dev (not held out)" if self.flag == "dev" else "dev8 (floor)" if self.flag == "dev8" else self.flag


# Every development set, in the order they were written. The blind ones named kb_blind*.tsv are kept from the gate's
# fit (fit_gate.py globs kb_dev*.tsv) and their misses were never read.
DEV_SET_TABLE = (
    DevSet("dev", "kb_dev_phone.tsv", "phone-style questions written to look at misses while tuning", 180, 30),
    DevSet("dev2", "kb_dev2_phone.tsv", "wt-ood: written before that round's changes, measured before/after", 128, 40),
    DevSet(
        "dev3", "kb_dev3_phone.tsv", "wt-kb: written before that round; changes chosen on dev / dev2 first", 143, 31
    ),
    DevSet("dev4", "kb_dev4_phone.tsv", "wt-kb2: written before that round; measured only", 100, 20),
    DevSet("dev5", "kb_dev5_phone.tsv", "wt-kb5: written before the changes and any system output", 152, 24),
    DevSet("dev6", "kb_dev6_phone.tsv", "wt-kb6: written without system output or the example questions", 143, 22),
    DevSet("dev7", "kb_dev7_phone.tsv", "wt-kb8: written like dev6; measured mostly", 172, 30),
    DevSet("dev8", "kb_dev8_floor.tsv", "wt-kb9: met playing an exam day, clause judged right; a floor", 28, 6),
    DevSet("dev9", "kb_dev9_phone.tsv", "session 17: blind from the regulation texts, then tuned on", 195, 40),
    DevSet("dev10", "kb_dev10_phone.tsv", "session 17: blind, measured once at its end", 156, 30),
    DevSet("dev11", "kb_dev11_phone.tsv", "session 18: blind, measured on 17's and 18's knowledge base", 168, 30),
    DevSet("dev12", "kb_dev12_phone.tsv", "session 19: blind, totals weighed, no miss read", 162, 29),
    DevSet("dev13", "kb_dev13_phone.tsv", "session 20: blind; session 21 read its misses", 155, 28),
    DevSet("dev14", "kb_dev14_phone.tsv", "session 21: blind, misses read", 152, 30),
    DevSet("dev15", "kb_dev15_phone.tsv", "session 21: situations on an exam day, blind, no miss read", 169, 29),
    DevSet("dev16", "kb_dev16_phone.tsv", "session 21: terse (4-13 characters), blind, misses read", 134, 27),
    DevSet("dev17", "kb_dev17_phone.tsv", "session 21: long messages, blind, misses read", 170, 30),
    DevSet("dev18", "kb_blind18_phone.tsv", "session 22: no role, blind, no miss read", 133, 26, no_role=True),
    DevSet("dev19", "kb_dev19_phone.tsv", "session 22: near misses, blind", 90, 59),
    DevSet("dev20", "kb_dev20_phone.tsv", "session 22: on duty, blind", 147, 29),
    DevSet("dev21", "kb_blind21_phone.tsv", "session 22: a mixed week at the center, blind, no miss read", 119, 32),
    DevSet(
        "dev22", "kb_dev22_phone.tsv", "session 23: out-of-domain questions beside in-domain neighbours, read", 57, 80
    ),
    DevSet("dev23", "kb_blind23_phone.tsv", "session 23: an exam week, blind, no miss read", 98, 33),
    DevSet("dev24", "kb_dev24_phone.tsv", "session 23: what the rules answer, asked indirectly, read", 121, 19),
    DevSet("dev25", "kb_dev25_phone.tsv", "session 24: no asker context, blind, read", 120, 38, no_role=True),
    DevSet("dev26", "kb_blind26_phone.tsv", "session 24: mostly no context, blind, no miss read", 116, 32),
    DevSet("dev27", "kb_dev27_phone.tsv", "session 24: someone else's rule and near misses, blind, read", 94, 58),
    DevSet("dev28", "kb_dev28_phone.tsv", "session 24: near-miss pairs in the same words, blind, read", 58, 70),
    DevSet(
        "dev29", "kb_blind29_phone.tsv", "session 24: plain, no context, blind, no miss read", 110, 25, no_role=True
    ),
    DevSet("dev30", "kb_dev30_phone.tsv", "session 24: short questions, no context, blind, read", 73, 39, no_role=True),
    DevSet(
        "dev31",
        "kb_dev31_phone.tsv",
        "session 25: near the rules, mostly out-of-domain, blind, read",
        44,
        75,
        no_role=True,
    ),
    DevSet(
        "dev32", "kb_blind32_phone.tsv", "session 25: plain, no context, blind, no miss read", 104, 29, no_role=True
    ),
    DevSet("dev33", "kb_dev33_phone.tsv", "session 25: whose duty, which exam, blind, read", 105, 24),
    DevSet("dev34", "kb_dev34_phone.tsv", "session 25: a detail next to the rule, blind, read", 33, 88),
    DevSet("dev35", "kb_blind35_phone.tsv", "session 25: an exam week on the phone, blind, no miss read", 115, 27),
)
DEV_SETS = tuple(d.path for d in DEV_SET_TABLE)
# The first development set, whose out-of-domain questions some tests reuse.
DEV_TSV = DEV_SET_TABLE[0].path
# Third held-out set (session 17): written blind like dev9 by another writer, sealed: measured once at the end of the
# session that wrote it and never tuned on.
HELDOUT3_TSV = _DATA / "kb_heldout3_phone.tsv"


@dataclass(frozen=True)
class GoldenQuestion:
    """One row of a golden question table."""

    question: str
    accepted: frozenset[tuple[str, str]]  # empty for out-of-domain questions
    role: str = ""  # 监考员 / 考评员 / 督导 / 考务办公室, "" when the table has none (or "-")
    kind: str = ""  # theory / computer / practical, "" when none

    @property
    def in_domain(self) -> bool:
        return bool(self.accepted)


def read_questions(path: Path = QUESTIONS_TSV) -> list[GoldenQuestion]:
    """Parse a golden question table (question, doc, clause, optional alternatives, role, kind)."""
    rows: list[GoldenQuestion] = []
    for fields in table_rows(path):
        question, doc, clause, also, role, kind = [*fields, "", "", "", ""][:6]
        accepted = accepted_clauses(doc, clause, also)
        rows.append(GoldenQuestion(question, accepted, role.strip().strip("-"), kind.strip().strip("-")))
    return rows


def rule_questions() -> list[str]:
    """Every question of the tuning set and the development sets (what chat features that take text before the
    knowledge base does must leave to it: tests/handlers/test_status_questions.py, test_report_hints.py)."""
    return [q.question for path in (QUESTIONS_TSV, *DEV_SETS) for q in read_questions(path)]

"""The staff list's 回避声明 and 高级考评员 columns: declared relations and senior evaluators, for the rule checks.

回避声明: ``亲属:张三;师生:2026000003`` (relation : candidate's name or 准考证号; ； ; 、 or a new line between
entries; 无 or blank for none). 高级考评员: the occupations the person is a senior evaluator of (``电工、焊工``).
A file with a column replaces what the previous staff files declared for each person it lists; relations declared
by the office (/回避) stay.
"""

from __future__ import annotations

import re
import unicodedata

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.checks.conflicts import RELATIONS
from bot.importer.apply import Recorder
from bot.importer.parse import ParseError
from bot.store.tables import ConflictRelation, SeniorEvaluator, Staff

FROM_STAFF_FILE = "staff_file"
_ENTRY_SPLIT = re.compile(r"[;；\n]+")
_LIST_SPLIT = re.compile(r"[;；,，、/\n\s]+")
_NONE = frozenset({"", "无", "没有", "否", "-", "—"})


def parse_relations(text: str) -> list[tuple[str, str]]:
    """(relation, candidate) pairs of a 回避声明 cell."""
    t = unicodedata.normalize("NFKC", text).strip()
    if t in _NONE:
        return []
    out: list[tuple[str, str]] = []
    for entry in _ENTRY_SPLIT.split(t):
        entry = entry.strip()
        if not entry:
            continue
        relation, sep, who = entry.partition(":")
        relation, who = relation.strip(), who.strip()
        if not sep or not who:
            raise ParseError(f"回避声明“{entry}”应写成 关系:考生姓名或准考证号，如 亲属:张三")
        if relation not in RELATIONS:
            raise ParseError(f"回避声明中的关系“{relation}”应为{'、'.join(RELATIONS)}之一")
        for one in _LIST_SPLIT.split(who):
            if one and (relation, one) not in out:
                out.append((relation, one))
    return out


def parse_occupations(text: str) -> list[str]:
    """The occupations of a 高级考评员 cell (职业名称 as the schedule writes them)."""
    t = unicodedata.normalize("NFKC", text).strip()
    if t in _NONE:
        return []
    return list(dict.fromkeys(x for x in _LIST_SPLIT.split(t) if x))


async def apply_relations(s: AsyncSession, person: Staff, wanted: list[tuple[str, str]], rec: Recorder) -> None:
    """Make the staff-file relations of ``person`` exactly ``wanted`` (one per candidate; the office's stay)."""
    assert person.id is not None
    rows = (await s.exec(select(ConflictRelation).where(col(ConflictRelation.staff_id) == person.id))).all()
    have = {r.candidate: r for r in rows if r.source == FROM_STAFF_FILE}
    office = {r.candidate for r in rows if r.source != FROM_STAFF_FILE}
    target: dict[str, str] = {}
    for relation, who in wanted:
        if who not in office:
            target.setdefault(who, relation)  # one row per candidate: the first relation named wins
    fields = ["staff_id", "candidate", "relation", "source"]
    for who, row in have.items():
        if target.get(who) != row.relation:
            await rec.delete("回避声明", row, f"{person.name} {row.relation}:{who}", fields)
    for who, relation in target.items():
        if who in have and have[who].relation == relation:
            rec.unchanged("回避声明")
            continue
        row = ConflictRelation(
            staff_id=person.id, candidate=who, relation=relation, source=FROM_STAFF_FILE, created_at=rec.now
        )
        await rec.create("回避声明", row, f"{person.name} {relation}:{who}", fields)


async def apply_seniors(s: AsyncSession, person: Staff, wanted: list[str], rec: Recorder) -> None:
    """Make the occupations ``person`` is a senior evaluator of exactly ``wanted``."""
    assert person.id is not None
    old = {
        r.occupation: r
        for r in (await s.exec(select(SeniorEvaluator).where(col(SeniorEvaluator.staff_id) == person.id))).all()
    }
    for occupation, row in old.items():
        if occupation not in wanted:
            await rec.delete("高级考评员", row, f"{person.name} {occupation}", ["staff_id", "occupation"])
    for occupation in wanted:
        if occupation in old:
            rec.unchanged("高级考评员")
        else:
            row = SeniorEvaluator(staff_id=person.id, occupation=occupation)
            await rec.create("高级考评员", row, f"{person.name} {occupation}", ["staff_id", "occupation"])

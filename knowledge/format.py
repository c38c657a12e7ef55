"""Chat reply text (Simplified Chinese) for an Answer."""

from __future__ import annotations

from knowledge.models import Answer, Match

OFFICE_HINT = "如需确认，请咨询考务办公室。"


def cite(m: Match) -> str:
    """《文档》编号 label of a match."""
    if m.clause.startswith("《"):
        return m.clause
    return f"《{m.doc}》{m.clause}"


def _clause_block(m: Match) -> str:
    return f"{cite(m)}\n{m.text}"


def format_answer(ans: Answer) -> str:
    """Reply text for chat: the clause, a pinned answer, the clauses of each kind of exam (labelled),
    the most likely clause and the other likely ones (each cited), or "don't know" with suggestions."""
    if ans.answer is None:
        lines = [f"抱歉，我不确定这个问题的答案：{ans.missing}" if ans.missing else "抱歉，我不确定这个问题的答案。"]
        if ans.matches:
            lines.append("以下条款可能相关：")
            for n, m in enumerate(ans.matches[:3], start=1):
                lines.append(f"{n}. {_clause_block(m)}")
        lines.append("请咨询考务办公室。")
        return "\n".join(lines)
    if ans.office_pinned:
        # The office pinned this question to a clause from chat: the clause itself, quoted.
        return f"根据{_clause_block(ans.answer)}\n（此问题的答复已由考务办公室核定。）"
    if ans.pinned:
        # A written answer of pinned.txt, then every clause it cites, quoted whole.
        lines = [ans.answer.text, "", "依据："]
        lines.extend(_clause_block(m) for m in ans.matches)
        return "\n".join(lines)
    if ans.labels:
        # The rule differs by kind of exam: each clause under its label, the asker's kind first.
        shown = [ans.answer, *ans.alternatives]
        return "\n".join(f"{label}：根据{_clause_block(m)}" for label, m in zip(ans.labels, shown, strict=False))
    alternatives = ans.alternatives or (ans.matches[1:2] if ans.ambiguous else [])
    if alternatives:
        # Not sure enough to commit to one clause: the most likely first, each cited.
        lines = [f"最可能是{_clause_block(ans.answer)}"]
        lines.extend(f"也可能是{_clause_block(m)}" for m in alternatives)
        lines.append(f"请按实际情况对照条款。{OFFICE_HINT}")
        return "\n".join(lines)
    return f"根据{_clause_block(ans.answer)}"

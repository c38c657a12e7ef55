"""A finding of a rule check: error or warning, in Chinese, with the clause it comes from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Level = Literal["error", "warning"]

# The clauses findings cite (the center's regulations, ../shared/seeds: 考评人员管理办法, 监考人员守则).
STANDARD_ROOM = "监考人员守则 1"
EVALUATION_GROUP = "考评人员管理办法 第七条（四）"
CERTIFICATE = "考评人员管理办法 第三条"
AVOIDANCE = "考评人员管理办法 第七条（四）回避制度"
ROTATION = "考评人员管理办法 第七条（四）每次轮换不得少于三分之一"
CONSECUTIVE = "考评人员管理办法 第七条（四）连续从事考评工作不能超过三次"
DEFENSE = "考评人员管理办法 第七条（九）"
ONE_PLACE = "监考人员守则 1、考评人员管理办法 第七条（四）"  # each room its own staff, present for the whole exam
ROSTER = "监考人员守则 2（3）考生名册"
LOCATION = "考场安排（规章无专门条款）"  # two exams in one place at once: a plain scheduling fault, no clause names it

LEVEL_LABELS: dict[Level, str] = {"error": "错误", "warning": "提醒"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule broken (error: blocks an import) or worth a look (warning: ``--accept-warnings`` lets it through)."""

    level: Level
    text: str
    clause: str

    def render(self) -> str:
        """``【错误】… （依据：…）``."""
        return f"【{LEVEL_LABELS[self.level]}】{self.text}（依据：{self.clause}）"


def error(text: str, clause: str) -> Finding:
    """An error finding."""
    return Finding("error", text, clause)


def warning(text: str, clause: str) -> Finding:
    """A warning finding."""
    return Finding("warning", text, clause)


@dataclass(slots=True)
class CheckReport:
    """Every finding of one run, errors first, in the order the checks found them."""

    scope: str  # what was checked, in words: "2026年12月5日的 3 个场次"
    findings: list[Finding] = field(default_factory=list)

    def extend(self, found: Iterable[Finding]) -> None:
        """Add findings, skipping exact repeats."""
        for f in found:
            if f not in self.findings:
                self.findings.append(f)

    @property
    def errors(self) -> list[Finding]:
        """The errors."""
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """The warnings."""
        return [f for f in self.findings if f.level == "warning"]

    @property
    def clean(self) -> bool:
        """True when nothing was found."""
        return not self.findings

    def render(self) -> str:
        """The report in Chinese: a head line, then errors and warnings one per line."""
        if self.clean:
            return f"规则检查：{self.scope}，未发现问题。"
        lines = [f"规则检查：{self.scope}，发现 {len(self.errors)} 个错误、{len(self.warnings)} 个提醒："]
        lines += [f"  {f.render()}" for f in (*self.errors, *self.warnings)]
        return "\n".join(lines)

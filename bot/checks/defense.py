"""综合评审面试答辩 (考评人员管理办法 第七条（九））: the panel has at least three senior evaluators of the occupation;
a candidate passes when two thirds or more of the panel scored 60 or more and the mean is 60 or more."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.checks.finding import DEFENSE, Finding, error
from bot.checks.snapshot import Snapshot, is_defense

MIN_PANEL = 3
PASS_MARK = Decimal(60)


def check_defense_panels(snap: Snapshot) -> list[Finding]:
    """Each room of a 答辩 session: at least three of its evaluators are senior evaluators of the occupation."""
    out: list[Finding] = []
    for view in snap.rooms:
        if not is_defense(view.session):
            continue
        occupation = view.session.occupation
        seniors = [p.name for p, _ in view.evaluators() if (p.id, occupation) in snap.seniors]
        if len(seniors) < MIN_PANEL:
            named = f"（{'、'.join(seniors)}）" if seniors else ""
            out.append(
                error(
                    f"{view.label}（答辩）的面试答辩小组只有 {len(seniors)} 名{occupation}高级考评员{named}，"
                    f"至少需要 {MIN_PANEL} 名",
                    DEFENSE,
                )
            )
    return out


@dataclass(frozen=True, slots=True)
class DefenseScore:
    """The outcome of one candidate's 答辩 from the panel's scores."""

    scores: tuple[Decimal, ...]

    @property
    def high(self) -> int:
        """How many scored 60 or more."""
        return sum(1 for x in self.scores if x >= PASS_MARK)

    @property
    def mean(self) -> Decimal:
        """The exact mean."""
        return sum(self.scores, Decimal(0)) / len(self.scores)

    @property
    def enough_high(self) -> bool:
        """Two thirds or more of the panel scored 60 or more (exactly two thirds is enough)."""
        return 3 * self.high >= 2 * len(self.scores)

    @property
    def passed(self) -> bool:
        """合格: two thirds or more at 60 or above and a mean of 60 or above."""
        return self.enough_high and self.mean >= PASS_MARK

    def explain(self) -> str:
        """The computation, in Chinese."""
        n = len(self.scores)
        shown = "、".join(_num(x) for x in self.scores)
        mean = self.mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        high = f"{self.high}/{n} 名考评员打分≥60（需≥三分之二）：{'满足' if self.enough_high else '不满足'}"
        ok = "满足" if self.mean >= PASS_MARK else "不满足"
        avg = f"平均分 {_num(sum(self.scores, Decimal(0)))}÷{n}={_num(mean)}（需≥60）：{ok}"
        verdict = "答辩成绩：合格" if self.passed else "答辩成绩：不合格"
        return f"评分：{shown}\n{high}\n{avg}\n{verdict}（{DEFENSE}）"


def _num(x: Decimal) -> str:
    """75, 59.5 (no exponent, no trailing zeros)."""
    return format(x.normalize(), "f")


def score_defense(scores: list[Decimal]) -> DefenseScore:
    """Score a 答辩; at least three scores (the panel has at least three members), each 0–100."""
    if len(scores) < MIN_PANEL:
        raise ValueError(f"面试答辩小组至少 {MIN_PANEL} 名考评员，请给出每位考评员的打分（收到 {len(scores)} 个）")
    for x in scores:
        if not Decimal(0) <= x <= Decimal(100):
            raise ValueError(f"分数 {_num(x)} 不在 0–100 之间")
    return DefenseScore(tuple(scores))

"""Rotation of evaluators (考评人员管理办法 第七条（四））: at least a third of a panel changes each time, and nobody
evaluates at this center more than three times in a row.

An occupation's evaluation “time” (次) is one day on which the center runs 实操 or 答辩 sessions of it; its panel is
everyone who is 考评组长 or 考评员 in those sessions that day. Each checked day is compared with the previous stored
day of the same occupation, and a person's run counts the consecutive days of that occupation they were on.
"""

from __future__ import annotations

from datetime import date

from bot.checks.finding import CONSECUTIVE, ROTATION, Finding, warning
from bot.checks.snapshot import Snapshot, day_words, is_evaluation

MAX_CONSECUTIVE = 3


def changed_enough(panel: set[int], previous: set[int]) -> bool:
    """True when at least a third of ``panel`` is new against ``previous`` (exactly a third is enough)."""
    return 3 * len(panel - previous) >= len(panel)


def run_length(person: int, days: list[date], panels: dict[date, set[int]]) -> int:
    """How many of the last ``days`` (oldest first, the checked day last) in a row had ``person`` on the panel."""
    n = 0
    for d in reversed(days):
        if person not in panels[d]:
            break
        n += 1
    return n


def check_rotation(snap: Snapshot) -> list[Finding]:
    """Each checked day of each occupation's evaluations against the days before it."""
    checked = sorted({(v.session.occupation, v.session.day) for v in snap.rooms if is_evaluation(v.session)})
    out: list[Finding] = []
    for occupation, day in checked:
        panels = snap.panels.get(occupation, {})
        panel = panels.get(day, set())
        if not panel:
            continue
        days = sorted(d for d in panels if d <= day and panels[d])
        before = days[:-1]
        if before:
            previous = panels[before[-1]]
            if not changed_enough(panel, previous):
                new = len(panel - previous)
                out.append(
                    warning(
                        f"{day_words(day)} {occupation}的考评人员与上一次（{day_words(before[-1])}）相比只轮换了 "
                        f"{new}/{len(panel)} 人，少于三分之一",
                        ROTATION,
                    )
                )
        for person in sorted(panel, key=lambda p: snap.names.get(p, "")):
            n = run_length(person, days, panels)
            if n > MAX_CONSECUTIVE:
                out.append(
                    warning(
                        f"{snap.names.get(person, person)} {day_words(day)}将是连续第 {n} 次担任{occupation}考评人员，"
                        f"连续不能超过 {MAX_CONSECUTIVE} 次",
                        CONSECUTIVE,
                    )
                )
    return out

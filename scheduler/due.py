"""When a room's reports are due: a missing report is "not due yet", "due" or "overdue", never just "未报".

The times come from the timeline (the step that asks for the report, and the office escalation after it),
so the board, /考场状态, /缺考统计 and the day digest raise nothing before the regulations ask for it:
absentees are final 30 minutes after a theory start (监考人员守则 3(3)) and 5 minutes after a practical one
(实际操作考核考场规则 2), papers are fetched 30 minutes before the start and collected at the end.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.store.tables import ExamSession
from scheduler.timeline import DEFAULT_TIMELINE, FOLLOW_OFFICE_AFTER, Anchor, FollowUp, Step, Timeline


class DueState(enum.StrEnum):
    """Where a missing report stands."""

    NOT_DUE = "not_due"
    DUE = "due"
    OVERDUE = "overdue"


class Expected(enum.StrEnum):
    """The room reports whose timing is tracked."""

    ABSENT = "absent"  # /缺考
    HANDOUT = "handout"  # /试卷 领取
    COLLECT = "collect"  # /试卷 回收


LABELS: dict[Expected, str] = {Expected.ABSENT: "缺考", Expected.HANDOUT: "领取", Expected.COLLECT: "回收"}


@dataclass(frozen=True)
class ReportWindow:
    """From ``due_at`` the report is expected; from ``overdue_at`` it is late (the office is told)."""

    due_at: datetime
    overdue_at: datetime

    def state(self, now: datetime) -> DueState:
        """Not due, due or overdue at ``now``."""
        if now < self.due_at:
            return DueState.NOT_DUE
        return DueState.DUE if now < self.overdue_at else DueState.OVERDUE


def _at(session: ExamSession, step: Step) -> datetime:
    return (session.starts_at if step.anchor is Anchor.START else session.ends_at) + step.offset


def report_window(session: ExamSession, what: Expected, timeline: Timeline | None = None) -> ReportWindow | None:
    """When ``what`` is due for a room of ``session``; None when its timeline never asks for it."""
    steps = (timeline or DEFAULT_TIMELINE).get(session.kind, ())
    if what is Expected.HANDOUT:
        pickup = next((s for s in steps if s.id == "papers_pickup"), None)
        return ReportWindow(_at(session, pickup), session.starts_at) if pickup else None
    wanted = FollowUp.ABSENT if what is Expected.ABSENT else FollowUp.PAPERS_COLLECT
    step = next((s for s in steps if s.follow_up is wanted), None)
    if step is None and what is Expected.COLLECT:
        step = next((s for s in steps if s.id == "stop"), None)  # practical: collected when the work stops
    if step is None:
        return None
    due = _at(session, step)
    return ReportWindow(due, due + FOLLOW_OFFICE_AFTER)


def missing_state(
    session: ExamSession, what: Expected, now: datetime, timeline: Timeline | None = None
) -> DueState | None:
    """The state of a report that is not in; None when the timeline never asks for it."""
    window = report_window(session, what, timeline)
    return window.state(now) if window is not None else None


def missing_words(
    session: ExamSession, what: Expected, now: datetime, tz: ZoneInfo, timeline: Timeline | None = None
) -> str:
    """未到报告时间（09:30 起）/ 待报 / 逾期未报, for a report that is not in."""
    window = report_window(session, what, timeline)
    label = LABELS[what]
    if window is None:
        return f"{label}未报"
    state = window.state(now)
    if state is DueState.NOT_DUE:
        return f"{label}未到报告时间（{window.due_at.astimezone(tz):%H:%M} 起）"
    if state is DueState.DUE:
        return f"{label}待报"
    return f"{label}逾期未报"


def is_open(state: DueState | None) -> bool:
    """Whether a missing report counts as something to chase (due or overdue)."""
    return state in (DueState.DUE, DueState.OVERDUE)


def papers_missing_words(
    session: ExamSession, has_handout: bool, now: datetime, tz: ZoneInfo, timeline: Timeline | None = None
) -> str:
    """Words for a room whose papers are not collected yet: the handout's state, then the collection's."""
    parts = []
    if not has_handout and report_window(session, Expected.HANDOUT, timeline) is not None:
        parts.append(missing_words(session, Expected.HANDOUT, now, tz, timeline))
    collect = missing_state(session, Expected.COLLECT, now, timeline)
    if has_handout or is_open(collect) or not parts:
        parts.append(missing_words(session, Expected.COLLECT, now, tz, timeline))
    return "，".join(parts)


__all__ = [
    "DueState",
    "Expected",
    "ReportWindow",
    "is_open",
    "missing_state",
    "missing_words",
    "papers_missing_words",
    "report_window",
]

"""Due-aware states: a missing report is not due, due or overdue, from the timeline — never a red 未报 too early."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.board import room_states
from bot.clock import ManualClock
from bot.store.tables import ExamSession, SessionKind
from scheduler.due import DueState, Expected, missing_state, missing_words, papers_missing_words

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 Shanghai
M = timedelta(minutes=1)


def _session(kind: SessionKind) -> ExamSession:
    return ExamSession(
        id=1, code="S", occupation="电工", kind=kind, day=START.date(), starts_at=START, ends_at=START + 120 * M
    )


@pytest.mark.parametrize(
    ("kind", "due_after", "overdue_after"),
    [(SessionKind.THEORY, 30, 50), (SessionKind.COMPUTER, 30, 50), (SessionKind.PRACTICAL, 5, 25)],
)
def test_absentees_are_due_when_absence_is_final(kind: SessionKind, due_after: int, overdue_after: int) -> None:
    """Theory +30 (监考人员守则 3(3)), practical +5 (实际操作考核考场规则 2); overdue when the office is told (+20)."""
    sess = _session(kind)
    assert missing_state(sess, Expected.ABSENT, START - 50 * M) is DueState.NOT_DUE
    assert missing_state(sess, Expected.ABSENT, START + (due_after - 1) * M) is DueState.NOT_DUE
    assert missing_state(sess, Expected.ABSENT, START + due_after * M) is DueState.DUE
    assert missing_state(sess, Expected.ABSENT, START + (overdue_after - 1) * M) is DueState.DUE
    assert missing_state(sess, Expected.ABSENT, START + overdue_after * M) is DueState.OVERDUE


def test_words_and_papers() -> None:
    """The words name the time a report is due; papers show the handout's state, then the collection's."""
    sess = _session(SessionKind.THEORY)
    assert missing_words(sess, Expected.ABSENT, START, SH) == "缺考未到报告时间（09:30 起）"
    assert missing_words(sess, Expected.ABSENT, START + 31 * M, SH) == "缺考待报"
    assert missing_words(sess, Expected.ABSENT, START + 51 * M, SH) == "缺考逾期未报"
    assert papers_missing_words(sess, False, START - 40 * M, SH) == "领取未到报告时间（08:30 起）"
    assert papers_missing_words(sess, False, START - 10 * M, SH) == "领取待报"
    assert papers_missing_words(sess, False, START + 10 * M, SH) == "领取逾期未报"
    assert papers_missing_words(sess, True, START + 10 * M, SH) == "回收未到报告时间（11:00 起）"
    assert papers_missing_words(sess, False, START + 121 * M, SH) == "领取逾期未报，回收待报"
    assert papers_missing_words(sess, True, START + 141 * M, SH) == "回收逾期未报"


async def test_board_and_room_status_follow_the_clock(demo_chat: Any, clock: ManualClock) -> None:
    """Before the first session nothing is 未报; at +30 the room is due (amber), 20 minutes later overdue (red)."""
    services = demo_chat.services
    day = clock.now().astimezone(services.settings.tz).date()

    async def first_room() -> dict[str, Any]:
        rooms = await room_states(services.db, day, services.settings, now=clock.now(), timeline=services.timeline)
        return next(r for r in rooms if r["room"] == "第1考场")

    room = await first_room()
    assert room["absent_state"] == "not_due" and "未到报告时间" in room["absent_words"]
    status = await demo_chat.say("钱进", "/考场状态") or ""
    assert "未报" not in status and "未到报告时间" in status
    clock.advance(timedelta(minutes=8 + 30))  # the demo's first session starts 8 minutes in
    assert (await first_room())["absent_state"] == "due"
    clock.advance(timedelta(minutes=20))
    room = await first_room()
    assert room["absent_state"] == "overdue" and room["absent_words"] == "缺考逾期未报"
    await demo_chat.say("王芳", "/缺考 无")
    room = await first_room()
    assert room["absent_state"] is None and room["absent"] == 0

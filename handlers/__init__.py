"""Chat commands. Each module fills one CommandTable; this list is the whole command set."""

from __future__ import annotations

from bot.dispatch import CommandTable
from handlers import (
    _dialog,
    absent,
    ask,
    ask_feedback,
    backfill,
    basic,
    board_link,
    checks,
    corrections,
    dayplan,
    escalations,
    export,
    finding,
    incident,
    papers,
    papers_note,
    papers_short,
    queries,
    reminders,
    report_hints,
    room_staff,
    status_questions,
    violation,
)


def command_tables() -> list[CommandTable]:
    """Every handlers module's table, in help order."""
    return [
        basic.table,
        _dialog.table,
        absent.table,
        violation.table,
        papers.table,
        papers_note.table,
        papers_short.table,
        incident.table,
        finding.table,
        corrections.table,
        backfill.table,
        queries.table,
        export.table,
        ask.table,
        status_questions.table,
        room_staff.table,
        report_hints.table,
        reminders.table,
        escalations.table,
        dayplan.table,
        board_link.table,
        checks.table,
        ask_feedback.table,
    ]

"""Chat commands. Each module fills one CommandTable; this list is the whole command set."""

from __future__ import annotations

from bot.dispatch import CommandTable


def command_tables() -> list[CommandTable]:
    """Every handlers module's table, in help order."""
    from handlers import ask, basic, reminders

    return [basic.table, ask.table, reminders.table]

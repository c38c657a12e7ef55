"""What a tap on a reminder card's button means, for every channel: the text dispatched as the person who tapped.

A tap is handled exactly like that person typing the command (handlers/reminders.py): 收到 acknowledges the card's
step (only the room's chief may; a repeat says who already did), 有问题 tells the office.
"""

from __future__ import annotations

from bot.model import CARD_BUTTONS
from handlers.reminders import card_command, card_issue_command

ACK, ISSUE = (key for key, _label in CARD_BUTTONS)


def tap_text(button: str, room_id: int, step: str) -> str | None:
    """The command a tap on ``button`` of the card of ``step`` in room ``room_id`` stands for (None: no such button)."""
    if button == ACK:
        return card_command(room_id, step)
    if button == ISSUE:
        return card_issue_command(room_id, step)
    return None


def button_label(state: str) -> str:
    """What a tapped 收到 button turns into: “已收到 08:04” from the card state “王芳 已收到 08:04”.

    WeCom allows about 10 characters on a button; the card's own text still names who asked.
    """
    at = state.find("已收到")
    return state[at:] if at >= 0 else state

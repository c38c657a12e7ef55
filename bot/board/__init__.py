"""The office's board: today's rooms as tiles, a feed, a room's history, two charts, live by server-sent events."""

from __future__ import annotations

from bot.board.data import STATES, room_states
from bot.board.web import Board

__all__ = ["STATES", "Board", "room_states"]

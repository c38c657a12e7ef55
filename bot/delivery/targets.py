"""Targets as stored in the outbox (JSON), and their names for rate limiting and merging.

A stored target is one of ``{"type": "group", "channel", "chat_id", "webhook", "secret"}``,
``{"type": "person", "channel", "user_id"}`` or ``{"type": "staff", "staff_id"}`` (a staff member
reached on the first enabled channel, resolved when sending). Every group and person target names its
platform (``channel``); nothing here guesses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.model import GroupTarget, PersonTarget, Target


def target_to_json(target: Target, mentions: Sequence[str] = ()) -> dict[str, Any]:
    """A neutral target as stored in the outbox, with the user ids to @-mention there."""
    if isinstance(target, PersonTarget):
        data: dict[str, Any] = {"type": "person", "channel": target.channel, "user_id": target.user_id}
    else:
        data = {
            "type": "group",
            "channel": target.channel,
            "chat_id": target.chat_id,
            "webhook": target.webhook,
            "secret": target.secret,
        }
    if mentions:
        data["mentions"] = list(mentions)
    return data


def target_from_json(data: dict[str, Any]) -> Target:
    """The neutral target of a stored person or group target."""
    if data.get("type") == "person":
        return PersonTarget(str(data["channel"]), str(data["user_id"]))
    return GroupTarget(
        str(data.get("channel", "")), str(data.get("chat_id") or ""), data.get("webhook"), data.get("secret")
    )


def mentions_of(data: dict[str, Any]) -> tuple[str, ...]:
    """The @-mentions stored with a target."""
    return tuple(str(m) for m in data.get("mentions") or ())


def target_key(target: dict[str, Any]) -> str:
    """The name of a stored target, for rate limiting and merging."""
    t = target.get("type")
    if t == "staff":
        return f"staff:{target['staff_id']}"
    if t == "person":
        return f"person:{target['channel']}:{target['user_id']}"
    if target.get("webhook"):
        return f"webhook:{target['webhook']}"
    return f"group:{target.get('chat_id') or target.get('channel')}"


def staff_target(staff_id: int) -> dict[str, Any]:
    """A staff member reached on the first enabled channel."""
    return {"type": "staff", "staff_id": staff_id}

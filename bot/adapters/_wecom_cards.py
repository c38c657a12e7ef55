"""WeCom self-built app reminder cards: the ``template_card`` we send, and the ``template_card_event`` tap we get.

A card is a ``button_interaction`` template card sent privately with ``message/send`` (app group chats,
``appchat/send``, cannot carry one: the group keeps the text). Its ``task_id`` is ours, unique for every send
(WeCom refuses a task id used before) and it names the room and step: ``r<room id>-<step id>-<random>``, so a tap
needs nothing stored to be understood. The buttons' keys are ``ack`` (收到) and ``issue`` (有问题).

The tap arrives on the encrypted callback as ``MsgType=event``, ``Event=template_card_event`` with ``TaskId``,
``EventKey``, ``FromUserName`` and a single-use ``ResponseCode`` (wechatpy has no class for it: the raw fields
are read). Events carry no MsgId: the dedupe key is ``card:<TaskId>:<FromUserName>:<EventKey>``, so WeCom's
retries and a second tap of the same button count once.

Updating: ``message/update_template_card`` needs a single-use code (72 h). The send returns one for the card
(each card goes to one person, so it serves that copy), and every tap brings a new one for the tapper's copy;
the newest unused one is kept with the copy (bot/store/cards.py) and spent when the subject is settled, so every
copy of a step shows who acknowledged, the tapped one and the untapped ones alike (``button.replace_name``).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from bot.adapters._cards import tap_text
from bot.model import Card

EVENT = "template_card_event"
TASK_ID = re.compile(r"r(\d{1,12})-([a-z_]{1,64})-[0-9a-f]{8,32}")
TITLE_LIMIT = 36  # characters WeCom recommends for main_title.title
SUB_TITLE_LIMIT = 160  # characters of sub_title_text


def new_task_id(card: Card) -> str:
    """A task id never used before (WeCom: ≤128 bytes of ``[A-Za-z0-9_-@]``) naming the card's room and step."""
    return f"r{card.room_id}-{card.step}-{secrets.token_hex(8)}"


def task_of(task_id: str) -> tuple[int, str] | None:
    """(room id, step id) of one of our task ids; None for anything else."""
    m = TASK_ID.fullmatch(task_id)
    return (int(m.group(1)), m.group(2)) if m else None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def template_card(card: Card, task_id: str) -> dict[str, Any]:
    """The ``template_card`` object of a card with its buttons (收到 / 有问题 on a reminder)."""
    return {
        "card_type": "button_interaction",
        "main_title": {"title": _clip(card.title, TITLE_LIMIT)},
        "sub_title_text": _clip(card.body, SUB_TITLE_LIMIT),
        "task_id": task_id,
        "button_list": [
            {"type": 0, "text": label, "style": 1 if i == 0 else 2, "key": key}
            for i, (key, label) in enumerate(card.buttons)
        ],
    }


def is_tap(fields: dict[str, str]) -> bool:
    """Whether a decrypted callback is a tap on a template card's button."""
    return fields.get("MsgType") == "event" and fields.get("Event") == EVENT


def tap(fields: dict[str, str]) -> tuple[str, str] | None:
    """(dedupe key, text to dispatch as the tapper) of a tap on one of our cards; None for anything else."""
    task = fields.get("TaskId", "")
    found = task_of(task)
    if found is None:
        return None
    text = tap_text(fields.get("EventKey", ""), *found)
    if text is None:
        return None
    return f"card:{task}:{fields.get('FromUserName', '')}:{fields.get('EventKey', '')}", text

"""Small text helpers shared by the platform adapters (``split_utf8`` lives in :mod:`bot.text`).

:func:`bounded_id` and :func:`incoming_message` normalise what arrives from a platform before it
reaches the ledger, the handlers or the database, so the same input is stored the same way on
SQLite and PostgreSQL: PostgreSQL text cannot hold NUL, and its ``varchar(n)`` refuses longer
values where SQLite stores them.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from bot.model import IncomingMessage
from bot.store.tables import INBOUND_ID_MAX
from bot.text import split_utf8

__all__ = ["bounded_id", "cdata", "drop_nul", "incoming_message", "split_utf8"]

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
ID_MAX = INBOUND_ID_MAX  # the ledger's and Report.message_id's column length


def cdata(text: str) -> str:
    """``text`` as an XML CDATA section: characters XML cannot hold dropped, ``]]>`` split across two sections."""
    clean = _XML_ILLEGAL.sub("", text)
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def xml_legal(text: str) -> str:
    """``text`` without the characters an XML document cannot hold (NUL and most C0 controls)."""
    return _XML_ILLEGAL.sub("", text)


def drop_nul(value: Any) -> Any:
    """``value`` (a string or JSON-like data) with every NUL character removed from its strings."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {drop_nul(k): drop_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [drop_nul(v) for v in value]
    return value


def bounded_id(platform_id: str) -> str:
    """A platform id as stored: NUL dropped, and past ``ID_MAX`` characters replaced by its SHA-256."""
    clean = platform_id.replace("\x00", "")
    if len(clean) <= ID_MAX:
        return clean
    return "sha256:" + hashlib.sha256(clean.encode("utf-8", "surrogatepass")).hexdigest()


def incoming_message(
    *,
    channel: str,
    sender_id: str,
    text: str,
    message_id: str,
    received_at: datetime,
    chat_id: str | None = None,
    sender_name: str | None = None,
) -> IncomingMessage:
    """The neutral message for the handlers, normalised the same way for every adapter.

    NUL is dropped from every field; the message id, the sender id and the chat id are bounded by
    :func:`bounded_id` (the ledger keys claims the same way, so its key and the stored
    ``Report.message_id`` agree; no platform issues ids that long, so only hostile input is hashed,
    and a reply addressed by it still fits the outbox's columns).
    """
    return IncomingMessage(
        channel=channel,
        sender_id=bounded_id(sender_id),
        text=drop_nul(text),
        message_id=bounded_id(message_id),
        received_at=received_at,
        chat_id=None if chat_id is None else _bounded_chat(channel, chat_id),
        sender_name=drop_nul(sender_name),
    )


def _bounded_chat(channel: str, chat_id: str) -> str:
    """``"<channel>:<id>"`` with the platform's id bounded (the prefix stays, so replies find the adapter)."""
    prefix = f"{channel}:"
    if chat_id.startswith(prefix):
        return prefix + bounded_id(chat_id.removeprefix(prefix))
    return bounded_id(chat_id)

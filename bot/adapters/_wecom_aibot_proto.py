"""The WeCom AI bot (智能机器人) long-connection protocol: frames we send, frames we read, and what errors mean.

Every frame is one JSON text message ``{"cmd", "headers": {"req_id"}, "body"}``. We send ``aibot_subscribe``
(bot_id + secret) first, then ``ping`` every 30 s; replies to a callback reuse the callback's ``req_id``
(``aibot_respond_msg``, and ``aibot_respond_update_msg`` for a tapped card), a push (``aibot_send_msg``) has a
req_id of its own. WeCom answers each of our frames with a frame of the same req_id and no cmd, carrying
``errcode``/``errmsg``. Source: the official ``wecom-aibot-python-sdk`` 1.0.2 (``aibot/types.py`` ``WsCmd``,
``aibot/ws.py``, ``aibot/client.py``), see deploy/README.md.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from bot.errors import PlatformAuthError, PlatformError, RateLimited

DEFAULT_URL = "wss://openws.work.weixin.qq.com"
SUBSCRIBE = "aibot_subscribe"
PING = "ping"
MSG_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"
RESPOND = "aibot_respond_msg"
RESPOND_UPDATE = "aibot_respond_update_msg"
RESPOND_WELCOME = "aibot_respond_welcome_msg"  # on an enter_chat event's req_id, within 5 s
SEND = "aibot_send_msg"
CARD_EVENT = "template_card_event"
ENTER_CHAT = "enter_chat"  # someone opened the private chat with the bot (the first time that day)
DISCONNECTED_EVENT = "disconnected_event"  # another connection of the same bot took over this one
MAX_FRAME = 256 * 1024  # bytes of one frame we read; longer ones are dropped (the connection stays)
# Error codes that mean "slow down" (WeCom's frequency limits) and "the credentials are wrong".
RATE_CODES = frozenset({45009, 45033, 45047})
AUTH_CODES = frozenset({40001, 40014, 40058, 42001, 93000})


def req_id(prefix: str) -> str:
    """A request id in the SDK's shape ``<cmd>_<ms>_<random>``."""
    return f"{prefix}_{int(time.time() * 1000)}_{secrets.token_hex(4)}"


def frame(cmd: str, rid: str, body: dict[str, Any] | None = None) -> str:
    """One frame as sent on the socket."""
    data: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": rid}}
    if body is not None:
        data["body"] = body
    return json.dumps(data, ensure_ascii=False)


def subscribe_body(bot_id: str, secret: str) -> dict[str, Any]:
    """The body of ``aibot_subscribe``."""
    return {"bot_id": bot_id, "secret": secret}


def markdown_body(text: str) -> dict[str, Any]:
    """A markdown message (what ``aibot_send_msg`` takes for text)."""
    return {"msgtype": "markdown", "markdown": {"content": text}}


def stream_body(text: str, stream_id: str) -> dict[str, Any]:
    """A finished one-piece stream: how ``aibot_respond_msg`` answers a message with text."""
    return {"msgtype": "stream", "stream": {"id": stream_id, "finish": True, "content": text}}


def text_body(text: str) -> dict[str, Any]:
    """A plain text message (what a welcome takes)."""
    return {"msgtype": "text", "text": {"content": text}}


def card_body(template_card: dict[str, Any]) -> dict[str, Any]:
    """A template card message."""
    return {"msgtype": "template_card", "template_card": template_card}


def update_body(template_card: dict[str, Any], userids: list[str]) -> dict[str, Any]:
    """The body of ``aibot_respond_update_msg``: the card shown from now on to ``userids``."""
    return {"response_type": "update_template_card", "userids": userids, "template_card": template_card}


class BadFrame(ValueError):
    """A frame that is not a JSON object with a string cmd / req_id."""


@dataclass(frozen=True)
class Frame:
    """A frame read from the socket."""

    cmd: str
    req_id: str
    body: dict[str, Any]
    errcode: int | None
    errmsg: str


def parse(data: str | bytes) -> Frame:
    """The frame in ``data``; BadFrame for anything else (never another exception)."""
    if len(data) > MAX_FRAME:
        raise BadFrame(f"frame of {len(data)} bytes")
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise BadFrame(type(exc).__name__) from None
    if not isinstance(raw, dict):
        raise BadFrame("not an object")
    headers = raw.get("headers")
    rid = headers.get("req_id", "") if isinstance(headers, dict) else ""
    cmd, body, code = raw.get("cmd", ""), raw.get("body"), raw.get("errcode")
    if not isinstance(cmd, str) or not isinstance(rid, str):
        raise BadFrame("cmd or req_id is not a string")
    return Frame(
        cmd=cmd,
        req_id=rid,
        body=body if isinstance(body, dict) else {},
        errcode=code if isinstance(code, int) and not isinstance(code, bool) else None,
        errmsg=str(raw.get("errmsg", ""))[:200],
    )


def error_of(ack: Frame, what: str) -> PlatformError | None:
    """The error an acknowledgement frame reports (None: accepted). The one place errcodes become exceptions."""
    code = ack.errcode
    if code == 0:
        return None
    message = f"wecom_aibot {what}: errcode={code} {ack.errmsg}"
    if code in RATE_CODES:
        return RateLimited(message, code=code)
    if code in AUTH_CODES:
        return PlatformAuthError(message, code=code, retryable=False)
    if code is None or code < 0:  # no code, or a system error: try again
        return PlatformError(message, code=code)
    return PlatformError(message, code=code, retryable=False)


def text_of(body: dict[str, Any]) -> str:
    """The text of a text message callback, without the leading @-mention of the bot in a group."""
    text = body.get("text")
    content = text.get("content", "") if isinstance(text, dict) else ""
    content = content if isinstance(content, str) else ""
    if body.get("chattype") == "group":
        stripped = content.lstrip()
        if stripped.startswith("@"):
            _, _, rest = stripped.partition(" ")
            return rest.strip()
    return content


def sender_of(body: dict[str, Any]) -> str:
    """The userid of who sent a callback."""
    sender = body.get("from")
    user = sender.get("userid", "") if isinstance(sender, dict) else ""
    return user if isinstance(user, str) else ""


def card_event_of(body: dict[str, Any]) -> tuple[str, str] | None:
    """(task id, button key) of a ``template_card_event`` callback; None for any other event."""
    event = body.get("event")
    if not isinstance(event, dict) or event.get("eventtype") != CARD_EVENT:
        return None
    inner = event.get(CARD_EVENT)
    if not isinstance(inner, dict):
        return None
    task, key = inner.get("task_id", ""), inner.get("event_key", "")
    return (task, key) if isinstance(task, str) and isinstance(key, str) and task and key else None


def event_type_of(body: dict[str, Any]) -> str:
    """The eventtype of an event callback ("" when there is none)."""
    event = body.get("event")
    kind = event.get("eventtype", "") if isinstance(event, dict) else ""
    return kind if isinstance(kind, str) else ""

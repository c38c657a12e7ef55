"""Platform-neutral messages: what adapters produce and consume, and all handlers ever see."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class ChatKind(enum.StrEnum):
    """Where a message was said: privately to the bot, or in a group chat."""

    PRIVATE = "private"
    GROUP = "group"


class TextFormat(enum.StrEnum):
    """How the text of an outgoing message is to be rendered."""

    TEXT = "text"
    MARKDOWN = "markdown"
    FILE = "file"  # the text is a file reference (see :func:`file_message`); sent alone and whole
    CARD = "card"  # the text is a card's fallback text and its reference (see :func:`card_text`); sent alone and whole


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A text message from a person, as any adapter delivers it.

    ``sender_id`` is the platform's own user id (WeCom userid, DingTalk userId, console staff
    id); ``chat_id`` is the group chat's address (``"<channel>:<id>"``) or None in a private chat.
    """

    channel: str
    sender_id: str
    text: str
    message_id: str
    received_at: datetime
    chat_id: str | None = None
    sender_name: str | None = None

    @property
    def chat_kind(self) -> ChatKind:
        """Private or group."""
        return ChatKind.GROUP if self.chat_id else ChatKind.PRIVATE


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler answers: sent back into the chat the message came from."""

    text: str
    format: TextFormat = TextFormat.TEXT
    mentions: tuple[str, ...] = ()  # platform user ids to @-mention where supported
    # For a tapped card: what the card should now show to everyone ("王芳 已收到 08:04"); None leaves it as it is.
    card_state: str | None = None


@dataclass(frozen=True, slots=True)
class PersonTarget:
    """A staff member, reached privately on the given channel."""

    channel: str
    user_id: str


@dataclass(frozen=True, slots=True)
class GroupTarget:
    """A group chat, by its address ``"<channel>:<id>"``, or a robot webhook."""

    channel: str
    chat_id: str = ""
    webhook: str | None = None
    secret: str | None = None


Target = PersonTarget | GroupTarget


@dataclass(frozen=True, slots=True)
class Attachment:
    """A stored file on its way out: its name and bytes, and a signed download link for where files cannot go."""

    name: str
    data: bytes
    link: str  # signed, expiring download URL (group robots, the console, files past the platform's limit)
    link_expires_at: datetime


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message the bot sends on its own initiative (reminders, alerts, delayed replies)."""

    target: Target
    text: str
    format: TextFormat = TextFormat.TEXT
    mentions: tuple[str, ...] = ()
    key: str | None = None  # idempotency key of the outbox row, if any
    extra: dict[str, str] = field(default_factory=dict)
    attachment: Attachment | None = None  # a FILE message's file, filled in just before it is sent


FILE_REF = "file:"  # the last line of a FILE message's text: ``file:<file id>``


def file_message(target: Target, file_id: str, name: str, *, key: str) -> OutgoingMessage:
    """A message that sends the stored file ``file_id`` (see ``bot.store.files.store_file``) to ``target``.

    Its text is ``文件：<name>`` (what the office is told should it fail) and ``file:<file id>`` on the last line;
    the outbox sends it alone and whole, and the file's bytes are read from the database when it goes out.
    """
    return OutgoingMessage(target, f"文件：{name}\n{FILE_REF}{file_id}", TextFormat.FILE, key=key)


def file_id_of(text: str) -> str | None:
    """The file id a FILE message's text refers to (None: not a file reference)."""
    last = text.rsplit("\n", 1)[-1].strip()
    return last.removeprefix(FILE_REF) if last.startswith(FILE_REF) else None


CARD_REF = "card:"  # the last line of a CARD message's text: ``card:<room id>:<step id>``
# The buttons of a reminder card: (key, label). "ack" acknowledges like a typed 收到; "issue" tells the office.
CARD_BUTTONS: tuple[tuple[str, str], ...] = (("ack", "收到"), ("issue", "有问题"))
# Cards that are not about a reminder step: their ``room_id`` is a report id and their step one of these.
CONFIRM_STEP = "vconfirm"  # the second invigilator's /确认 of a serious violation (buttons 确认 / 有异议)
HANDOVER_STEP = "handover"  # the other invigilator confirms the 领取 count (buttons 确认 / 数量不符)
_BUTTONS_OF: dict[str, tuple[tuple[str, str], ...]] = {
    CONFIRM_STEP: (("ack", "确认"), ("issue", "有异议")),
    HANDOVER_STEP: (("ack", "确认"), ("issue", "数量不符")),
}


@dataclass(frozen=True, slots=True)
class Card:
    """A reminder card: what to show, and the room and step a tap on its buttons is about.

    ``text`` is the whole reminder as text (it asks the chief to reply “收到”): what a platform without cards,
    or one that refuses the card, sends instead.
    """

    room_id: int
    step: str
    text: str

    @property
    def title(self) -> str:
        """The reminder's heading (``【12月05日 08:30·领取试卷】`` without the brackets), else its first line."""
        first = self.text.split("\n", 1)[0]
        if first.startswith("【") and "】" in first:
            return first[1 : first.index("】")]
        return first[:36]

    @property
    def body(self) -> str:
        """The text after the heading."""
        first, _, rest = self.text.partition("\n")
        if first.startswith("【") and "】" in first:
            return (first[first.index("】") + 1 :] + "\n" + rest).strip()
        return rest.strip()

    @property
    def buttons(self) -> tuple[tuple[str, str], ...]:
        """(key, label) of the card's buttons: 收到 / 有问题 for a reminder, else those of its kind."""
        return _BUTTONS_OF.get(self.step, CARD_BUTTONS)


def card_text(text: str, room_id: int, step: str) -> str:
    """The text of a CARD message: the fallback ``text`` and, on its last line, ``card:<room id>:<step id>``."""
    return f"{text}\n{CARD_REF}{room_id}:{step}"


def card_of(text: str) -> Card | None:
    """The card a CARD message's text describes (None: no card reference on its last line)."""
    head, _, last = text.rpartition("\n")
    room, sep, step = last.strip().removeprefix(CARD_REF).partition(":")
    if not last.strip().startswith(CARD_REF) or not sep or not room.isdigit() or not step:
        return None
    return Card(int(room), step, head)


METRIC_LABEL = "metric_command"  # key in OutgoingMessage.extra: the `command` label of the messages-out metric

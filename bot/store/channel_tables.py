"""Tables of the channels: group chats that reached the WeCom AI bot, and every interactive card copy sent.

Kept apart from bot/store/tables.py (which imports them, so one import registers the whole schema).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime


class WeComAiBotChat(SQLModel, table=True):
    """A group chat that has @-mentioned the WeCom AI bot: only those can be pushed to (bot/adapters/wecom_aibot.py).

    Recorded when the group's first message reaches the bot; ``chat_id`` is WeCom's chatid (no channel prefix),
    ``first_sender`` the WeCom userid of who spoke first, so the office can tell which group is which.
    """

    __tablename__ = "wecom_aibot_chat"

    chat_id: str = Field(primary_key=True, max_length=128)
    first_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    first_sender: str = Field(max_length=64)


# Every card copy sent (bot/store/cards.py): to show an acknowledgement on all of them, from any instance


class CardCopy(SQLModel, table=True):
    """One interactive card delivered to one person or group, and what it should show.

    ``room_id``/``step`` are the card's subject as in its ``card:<room>:<step>`` line (for a violation or a
    handover card, the report id and ``vconfirm``/``handover``). ``state`` is what every copy of the subject
    should show once it is settled ("王芳 已收到 08:04"); ``shown`` what this copy was last updated to. A copy
    whose ``shown`` differs from ``state`` is an update still to make (retried until it goes or is given up).
    ``response_code`` is WeCom's latest unused single-use code for this copy (from the send or from a tap).
    """

    __tablename__ = "card_copy"
    __table_args__ = (UniqueConstraint("channel", "card_id", name="uq_card_copy_channel_card_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    card_id: str = Field(max_length=128)  # WeCom task_id, DingTalk outTrackId
    room_id: int = Field(index=True)
    step: str = Field(max_length=64)
    recipient: str = Field(max_length=255)
    response_code: str | None = Field(default=None, max_length=512)
    state: str | None = Field(default=None, max_length=255)
    shown: str | None = Field(default=None, max_length=255)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

"""Tables of the outbox: every message the bot sends on its own initiative, and reminder acknowledgements.

The outbox row is the truth about a message (see shared SCHEDULING.md): it is written in the same
transaction as what caused it, under a natural unique ``key``, and walks
``pending → sending → sent | expired | cancelled | failed``. No foreign keys to sessions or rooms:
a session deleted by an import cancels its rows instead of being blocked by them.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime


class OutboxStatus(enum.StrEnum):
    """Where a message is in its life."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"


TERMINAL = frozenset({OutboxStatus.SENT, OutboxStatus.EXPIRED, OutboxStatus.CANCELLED, OutboxStatus.FAILED})


class OutboxKind(enum.StrEnum):
    """Why a message exists."""

    REMINDER = "reminder"  # a step of the exam timeline
    ACK_NUDGE = "ack_nudge"  # the chief has not acknowledged a critical step
    ACK_OFFICE = "ack_office"  # ... and the office is told
    FOLLOW_NUDGE = "follow_nudge"  # a report (/缺考, /试卷 回收) is missing
    FOLLOW_OFFICE = "follow_office"
    NOTICE = "notice"  # handlers' ctx.notify(...) and other alerts
    SYSTEM = "system"  # the outbox's own reports to the office (expired, failed)


class OutboxMessage(SQLModel, table=True):
    """One outgoing message.

    ``target`` is JSON: ``{"type": "group", "channel", "chat_id", "webhook", "secret"}``,
    ``{"type": "person", "channel", "user_id"}`` or ``{"type": "staff", "staff_id"}`` (a staff
    member reached on the first enabled channel, resolved when sending). ``target_key`` names the
    target for rate limiting and merging. ``condition`` (JSON or None) is checked just before
    sending: when it already holds (the room acknowledged, the report arrived) the row is
    cancelled instead of sent.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("key", name="uq_outbox_key"),
        Index("ix_outbox_status_next", "status", "next_try_at"),
        Index("ix_outbox_target_sent", "target_key", "sent_at"),
        Index("ix_outbox_target_reserved", "target_key", "reserved_at"),
        Index("ix_outbox_session", "session_id"),
        Index("ix_outbox_room_step", "room_id", "step"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255)  # natural idempotency key
    kind: str = Field(max_length=32)
    session_id: int | None = None
    room_id: int | None = None
    step: str | None = Field(default=None, max_length=64)
    target_key: str = Field(max_length=255)
    target: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    format: str = Field(default="text", max_length=16)
    condition: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    next_try_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default=OutboxStatus.PENDING.value, max_length=16)
    attempts: int = 0
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    send_batch: str | None = Field(default=None, max_length=64)  # rows merged into one platform message share it
    # Rate window shared by all instances: a send batch is reserved (reserved_at, pieces = the platform messages it
    # takes) in the same write transaction that counts the target's window, before it is sent.
    reserved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    pieces: int | None = None
    pieces_sent: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    failing_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    platform_message_id: str | None = Field(default=None, max_length=128)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ReminderAck(SQLModel, table=True):
    """A room's acknowledgement (收到) of a critical timeline step."""

    __tablename__ = "reminder_ack"
    __table_args__ = (UniqueConstraint("room_id", "step", name="uq_reminder_ack_room_step"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(index=True)
    room_id: int
    step: str = Field(max_length=64)
    staff_id: int | None = None
    channel: str = Field(default="", max_length=32)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

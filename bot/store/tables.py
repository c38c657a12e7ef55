"""The domain model, as SQLModel tables shared by SQLite and PostgreSQL.

Reports and the audit log are append-only: a correction is a new report row whose
``supersedes_id`` points at the row it replaces; nothing is updated in place or deleted.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy import Enum as SAEnum
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime


class Role(enum.StrEnum):
    """What a staff member may do; a person can hold several roles."""

    INVIGILATOR = "invigilator"  # 监考员
    EVALUATOR = "evaluator"  # 考评员
    SUPERVISOR = "supervisor"  # 内部质量督导员
    OFFICE = "office"  # 考务办公室
    ADMIN = "admin"  # 系统管理员


ROLE_LABELS: dict[Role, str] = {
    Role.INVIGILATOR: "监考员",
    Role.EVALUATOR: "考评员",
    Role.SUPERVISOR: "内部质量督导员",
    Role.OFFICE: "考务办公室",
    Role.ADMIN: "管理员",
}


class SessionKind(enum.StrEnum):
    """The kind of exam session; each has its own reminder timeline."""

    THEORY = "theory"  # 理论
    COMPUTER = "computer"  # 上机
    PRACTICAL = "practical"  # 实操


KIND_LABELS: dict[SessionKind, str] = {
    SessionKind.THEORY: "理论",
    SessionKind.COMPUTER: "上机",
    SessionKind.PRACTICAL: "实操",
}


class Duty(enum.StrEnum):
    """A staff member's duty in one room of one session."""

    CHIEF = "chief"  # 主监考 / 考评组长
    DEPUTY = "deputy"  # 副监考
    EVALUATOR = "evaluator"  # 考评员
    SUPERVISOR = "supervisor"  # 督导


DUTY_LABELS: dict[Duty, str] = {
    Duty.CHIEF: "主监考",
    Duty.DEPUTY: "副监考",
    Duty.EVALUATOR: "考评员",
    Duty.SUPERVISOR: "督导",
}


def duty_label(duty: Duty, kind: SessionKind) -> str:
    """主监考 / 副监考 …; in a practical session the chief is the 考评组长 (考评人员管理办法 第七条(四))."""
    if kind is SessionKind.PRACTICAL and duty is Duty.CHIEF:
        return "考评组长"
    return DUTY_LABELS[duty]


def _enum_column(enum_cls: type[enum.StrEnum]) -> Any:
    """Store an enum as its value in a plain string column (no PostgreSQL enum type to migrate)."""
    return Column(
        SAEnum(enum_cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )


class Staff(SQLModel, table=True):
    """A member of the exam staff, with one id per platform."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=64)
    roles: str = Field(default="", max_length=128)  # comma-separated Role values
    wecom_userid: str | None = Field(default=None, unique=True, max_length=64)
    dingtalk_userid: str | None = Field(default=None, unique=True, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    cert_issued: date | None = None  # 考评员证发证日期
    note: str | None = Field(default=None, max_length=255)
    active: bool = True

    @property
    def role_set(self) -> frozenset[Role]:
        """The roles as enum values."""
        return frozenset(Role(r) for r in self.roles.split(",") if r)

    def has_role(self, *roles: Role) -> bool:
        """True when the person holds any of ``roles``."""
        return bool(self.role_set.intersection(roles))


class ExamSession(SQLModel, table=True):
    """One exam session (场次); start and end are aware datetimes stored in UTC."""

    __tablename__ = "exam_session"
    # Offices number sessions per day ("第1场" every day), so a code is unique within its day only.
    __table_args__ = (UniqueConstraint("day", "code", name="uq_exam_session_day_code"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, index=True)  # 场次 code as the office writes it
    occupation: str = Field(max_length=128)  # 职业(工种)
    level: str = Field(default="", max_length=64)  # 等级
    kind: SessionKind = Field(sa_column=_enum_column(SessionKind))
    day: date = Field(index=True)
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # Set when the office cancels the session (from chat, the CLI or an import with --prune): the row stays,
    # with its reports, but it no longer counts as running, gets no reminders and is shown as 已取消.
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class Room(SQLModel, table=True):
    """A room (考场) as used in one session: the unit staff report for."""

    __table_args__ = (UniqueConstraint("session_id", "room_no"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    room_no: str = Field(max_length=32)  # stays text: "01" is not 1
    location: str = Field(default="", max_length=128)
    expected: int = 0  # 应考人数
    group_chat: str | None = Field(default=None, max_length=255)  # "channel:chat-id" of the room's group
    robot_webhook: str | None = Field(default=None, max_length=512)
    robot_secret: str | None = Field(default=None, max_length=255)
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))  # as above


class Assignment(SQLModel, table=True):
    """A staff member on duty in a room of a session."""

    __table_args__ = (UniqueConstraint("room_id", "staff_id"),)

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(foreign_key="room.id", index=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    duty: Duty = Field(sa_column=_enum_column(Duty))


class Candidate(SQLModel, table=True):
    """A candidate of a room (optional data: used to check reported 准考证号)."""

    __table_args__ = (UniqueConstraint("room_id", "ticket_no"),)

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(foreign_key="room.id", index=True)
    ticket_no: str = Field(index=True, max_length=32)  # 准考证号
    name: str = Field(max_length=64)
    id_number: str | None = Field(default=None, max_length=32)  # 身份证号: personal data, never in groups
    seat: str | None = Field(default=None, max_length=16)


class Report(SQLModel, table=True):
    """An append-only report row; a correction or revocation is a new row superseding an old one."""

    __table_args__ = (
        Index("ix_report_room_kind", "room_id", "kind"),
        # One platform message records once (a redelivery, or two deliveries racing, finds the first row).
        Index(
            "ux_report_channel_message",
            "channel",
            "message_id",
            unique=True,
            sqlite_where=sql_text("message_id IS NOT NULL"),
            postgresql_where=sql_text("message_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # absent | violation | papers | incident | ...
    room_id: int | None = Field(default=None, foreign_key="room.id")
    session_id: int | None = Field(default=None, foreign_key="exam_session.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    supersedes_id: int | None = Field(default=None, foreign_key="report.id", unique=True)
    revoked: bool = False  # a revocation row: the superseded report no longer counts
    reason: str | None = Field(default=None, max_length=255)
    channel: str = Field(default="", max_length=32)
    message_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class AuditLog(SQLModel, table=True):
    """Who changed what and when: one row per change, never updated."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor: str = Field(max_length=128)  # "staff:12", "import:schedule.xlsx", "cli"
    action: str = Field(max_length=64)  # create | update | delete | correct | revoke | import
    entity: str = Field(max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ConsoleMessage(SQLModel, table=True):
    """A message shown in the local console (both directions), read by polling so any instance serves it."""

    __tablename__ = "console_message"

    id: int | None = Field(default=None, primary_key=True)
    chat: str = Field(index=True, max_length=128)  # "dm:<staff id>" or a group chat id
    direction: str = Field(max_length=8)  # "in" | "out"
    sender: str = Field(max_length=64)
    text: str
    markdown: bool = False
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class UnansweredQuestion(SQLModel, table=True):
    """A rule question the knowledge base could not answer: the office reads these to add clauses.

    The same question asked again the same day adds to ``count`` instead of a new row; how many rows a
    sender, and all senders not on the staff list together, may add per day is bounded (handlers/ask.py).
    """

    __tablename__ = "unanswered_question"
    __table_args__ = (
        Index("ix_unanswered_question_sender_at", "sender", "at"),
        Index("ix_unanswered_question_key_at", "key", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))  # first asked
    question: str = Field(max_length=500)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    channel: str = Field(default="", max_length=32)
    nearest: str | None = Field(default=None, max_length=255)  # best clause label, for the office's reference
    # Who asked first: "staff:<id>" or "<channel>:<platform sender id>" for someone not on the staff list.
    sender: str = Field(default="", sa_column=Column(String(200), nullable=False, server_default=""))
    # The question as compared for merging (normalized, hashed); "" on rows from before merging.
    key: str = Field(default="", sa_column=Column(String(64), nullable=False, server_default=""))
    count: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    last_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))  # last asked
    # "unanswered" (the knowledge base did not know) or "disputed" (someone said an answer was wrong: /答错了).
    kind: str = Field(default="unanswered", sa_column=Column(String(16), nullable=False, server_default="unanswered"))
    shown: str | None = Field(default=None, max_length=500)  # disputed: the clauses the reply showed
    note: str | None = Field(default=None, max_length=500)  # disputed: what the asker wrote after /答错了
    pin_id: int | None = Field(default=None)  # the kb_pin the office made from this row (/钉住 编号 …)


class KbPin(SQLModel, table=True):
    """A question the office pinned to a clause from chat (/钉住): that question is answered with the clause.

    Never deleted: removal sets ``removed_at``; who pinned and removed what is also in the audit log.
    """

    __tablename__ = "kb_pin"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str = Field(max_length=128)  # actor: "staff:<id>"
    question: str = Field(max_length=500)
    key: str = Field(index=True, max_length=500)  # knowledge.pins.pin_key of the question
    doc: str = Field(max_length=128)
    clause: str = Field(max_length=32)
    source_id: int | None = Field(default=None)  # the unanswered_question row it came from
    removed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    removed_by: str | None = Field(default=None, max_length=128)


class LastAnswer(SQLModel, table=True):
    """The last rule answer each sender got: what /答错了 (or a bare “答错了”) disputes."""

    __tablename__ = "kb_last_answer"
    __table_args__ = (UniqueConstraint("sender", name="uq_kb_last_answer_sender"),)

    id: int | None = Field(default=None, primary_key=True)
    sender: str = Field(max_length=200)  # actor: "staff:<id>" or "<channel>:<sender id>"
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    question: str = Field(max_length=500)
    shown: str = Field(default="", max_length=500)  # the clauses the reply showed, cited, "；"-separated
    chat: str = Field(default="", max_length=255)  # the group chat it was asked in ("" in private)


# ---------------------------------------------------------------------------------------------------------------------
# The outbox: every message the bot sends on its own initiative is a row first (shared SCHEDULING.md). No foreign
# keys to sessions or rooms: a session deleted by an import cancels its rows instead of being blocked by them.


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
    CARD = "card"  # a critical step's card with buttons (收到 / 有问题), privately to the chief
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


# ---------------------------------------------------------------------------------------------------------------------
# Platform callbacks accepted for handling (the dedupe ledger of bot/adapters/inbound.py)

INBOUND_ID_MAX = 128  # longer platform message ids are stored as their SHA-256


class InboundMessage(SQLModel, table=True):
    """One platform callback that was accepted for handling."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("channel", "message_id", name="uq_inbound_message_channel_message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    message_id: str = Field(max_length=INBOUND_ID_MAX)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    handled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The decoded message, for replaying a claim whose handling never finished (None: not replayable).
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))


# ---------------------------------------------------------------------------------------------------------------------
# Guided dialogs of chat commands (handlers/_dialog.py)


class DialogState(SQLModel, table=True):
    """One open guided dialog of one person in one chat."""

    __tablename__ = "dialog_state"
    __table_args__ = (UniqueConstraint("channel", "sender_id", "chat_key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    sender_id: str = Field(max_length=128)
    chat_key: str = Field(default="", max_length=255)  # "" in a private chat
    command: str = Field(max_length=32)
    step: int = 0
    answers: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


# ---------------------------------------------------------------------------------------------------------------------
# Files the bot sends (bot/store/files.py): kept in the database so a retry after a crash still has the bytes


class OutboxFile(SQLModel, table=True):
    """One file to send (an exported workbook): its name and bytes, under an unguessable id.

    An outbox row of format ``file`` refers to it by ``file_id``; the signed download link names it too.
    """

    __tablename__ = "outbox_file"
    __table_args__ = (UniqueConstraint("file_id", name="uq_outbox_file_file_id"),)

    id: int | None = Field(default=None, primary_key=True)
    file_id: str = Field(max_length=64)
    name: str = Field(max_length=255)
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


# Declared conflicts of interest and senior evaluators, for the rule checks (bot/checks/)


class ConflictRelation(SQLModel, table=True):
    """A declared relation (亲属 / 师生 / 师徒) between a staff member and a candidate (考评人员管理办法 第七条(四)).

    ``candidate`` is a 准考证号 or, when the declaration names a person, the candidate's name. ``source`` is
    "staff_file" (the staff list's 回避声明 column, replaced on each staff import) or "office" (/回避).
    """

    __tablename__ = "conflict_relation"
    __table_args__ = (UniqueConstraint("staff_id", "candidate", name="uq_conflict_relation_staff_candidate"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    candidate: str = Field(max_length=64, index=True)
    relation: str = Field(max_length=16)
    source: str = Field(default="office", max_length=16)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SeniorEvaluator(SQLModel, table=True):
    """A staff member is a senior evaluator (高级考评员) of an occupation: the staff list's 高级考评员 column."""

    __tablename__ = "senior_evaluator"
    __table_args__ = (UniqueConstraint("staff_id", "occupation", name="uq_senior_evaluator_staff_occupation"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    occupation: str = Field(max_length=128)


# Platform chats and interactive cards (bot/store/channel_tables.py), registered with the rest of the schema.
from bot.store.channel_tables import CardCopy, WeComAiBotChat  # noqa: E402, F401

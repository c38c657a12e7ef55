"""kb feedback: disputed answers in unanswered_question, office pins (kb_pin), each sender's last answer

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.types

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("unanswered_question", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="unanswered"))
        batch_op.add_column(sa.Column("shown", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
        batch_op.add_column(sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
        batch_op.add_column(sa.Column("pin_id", sa.Integer(), nullable=True))
    op.create_table(
        "kb_pin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("question", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("doc", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("clause", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("removed_at", bot.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("kb_pin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_pin_key"), ["key"], unique=False)
    op.create_table(
        "kb_last_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("question", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("shown", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("chat", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender", name="uq_kb_last_answer_sender"),
    )


def downgrade() -> None:
    op.drop_table("kb_last_answer")
    with op.batch_alter_table("kb_pin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_pin_key"))
    op.drop_table("kb_pin")
    with op.batch_alter_table("unanswered_question", schema=None) as batch_op:
        batch_op.drop_column("pin_id")
        batch_op.drop_column("note")
        batch_op.drop_column("shown")
        batch_op.drop_column("kind")

"""card_copy: every interactive card sent, so an acknowledgement shows on all copies from any instance

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.types

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "card_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("card_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("response_code", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("shown", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("created_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "card_id", name="uq_card_copy_channel_card_id"),
    )
    with op.batch_alter_table("card_copy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_copy_room_id"), ["room_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("card_copy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_copy_room_id"))
    op.drop_table("card_copy")

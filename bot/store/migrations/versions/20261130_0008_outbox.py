"""outbox: shared rate window (reserved_at, pieces), resumable split messages (pieces_sent), retry by time

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reserved_at", bot.store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("pieces", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pieces_sent", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("failing_since", bot.store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_outbox_target_reserved", ["target_key", "reserved_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_target_reserved")
        batch_op.drop_column("failing_since")
        batch_op.drop_column("pieces_sent")
        batch_op.drop_column("pieces")
        batch_op.drop_column("reserved_at")

"""unanswered_question: sender, merge key, count and last time asked, so repeated questions merge and senders are bounded

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("unanswered_question", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("key", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("last_at", bot.store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_unanswered_question_sender_at", ["sender", "at"], unique=False)
        batch_op.create_index("ix_unanswered_question_key_at", ["key", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unanswered_question", schema=None) as batch_op:
        batch_op.drop_index("ix_unanswered_question_key_at")
        batch_op.drop_index("ix_unanswered_question_sender_at")
        batch_op.drop_column("last_at")
        batch_op.drop_column("count")
        batch_op.drop_column("key")
        batch_op.drop_column("sender")

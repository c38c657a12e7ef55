"""exam_session and room: cancelled_at, so a cancelled or pruned session keeps its reports but stops counting

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("exam_session", "room"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("cancelled_at", bot.store.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in ("room", "exam_session"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("cancelled_at")

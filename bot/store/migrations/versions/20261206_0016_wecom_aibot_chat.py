"""wecom_aibot_chat: the group chats that have @-mentioned the WeCom AI bot (only those can be pushed to)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wecom_aibot_chat",
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("first_seen_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_sender", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chat_id"),
    )


def downgrade() -> None:
    op.drop_table("wecom_aibot_chat")

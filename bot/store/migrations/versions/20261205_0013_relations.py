"""conflict_relation and senior_evaluator: declared 回避 relations and senior evaluators, for the rule checks

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conflict_relation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("candidate", sa.String(length=64), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "candidate", name="uq_conflict_relation_staff_candidate"),
    )
    op.create_index("ix_conflict_relation_staff_id", "conflict_relation", ["staff_id"])
    op.create_index("ix_conflict_relation_candidate", "conflict_relation", ["candidate"])
    op.create_table(
        "senior_evaluator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("occupation", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "occupation", name="uq_senior_evaluator_staff_occupation"),
    )
    op.create_index("ix_senior_evaluator_staff_id", "senior_evaluator", ["staff_id"])


def downgrade() -> None:
    op.drop_index("ix_senior_evaluator_staff_id", table_name="senior_evaluator")
    op.drop_table("senior_evaluator")
    op.drop_index("ix_conflict_relation_candidate", table_name="conflict_relation")
    op.drop_index("ix_conflict_relation_staff_id", table_name="conflict_relation")
    op.drop_table("conflict_relation")

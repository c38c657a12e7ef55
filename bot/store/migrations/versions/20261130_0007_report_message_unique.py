"""report: one row per platform message (partial unique index on channel, message_id)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 05:20:00
"""

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    _detach_duplicates()
    op.create_index(
        "ux_report_channel_message",
        "report",
        ["channel", "message_id"],
        unique=True,
        sqlite_where=sa.text("message_id IS NOT NULL"),
        postgresql_where=sa.text("message_id IS NOT NULL"),
    )


def _detach_duplicates() -> None:
    """Rows stored twice for one platform message (a redelivery race before this index existed) stay as they are,
    except that every row after the first gets its message id suffixed with ``#dup<row id>``; each such change is
    in the audit log, and the count is logged, so the office can check them (nothing is deleted)."""
    bind = op.get_bind()
    report = sa.table("report", sa.column("id", sa.Integer), sa.column("channel"), sa.column("message_id"))
    audit = sa.table(
        "audit_log",
        sa.column("at", UTCDateTime()),
        sa.column("actor"),
        sa.column("action"),
        sa.column("entity"),
        sa.column("entity_id"),
        sa.column("detail", sa.JSON()),
    )
    groups = bind.execute(
        sa.select(report.c.channel, report.c.message_id)
        .where(report.c.message_id.is_not(None))
        .group_by(report.c.channel, report.c.message_id)
        .having(sa.func.count() > 1)
    ).all()
    now = datetime.now(UTC)
    changed = 0
    for channel, message_id in groups:
        ids = bind.execute(
            sa.select(report.c.id)
            .where(report.c.channel == channel, report.c.message_id == message_id)
            .order_by(report.c.id)
        ).scalars()
        for rid in list(ids)[1:]:
            renamed = f"{message_id[:100]}#dup{rid}"
            bind.execute(sa.update(report).where(report.c.id == rid).values(message_id=renamed))
            bind.execute(
                sa.insert(audit).values(
                    at=now,
                    actor="migration:0007",
                    action="update",
                    entity="report",
                    entity_id=str(rid),
                    detail={"message_id": [message_id, renamed], "reason": "同一条平台消息重复记录（重复投递）"},
                )
            )
            changed += 1
    if changed:
        log.warning(
            "report: %d rows duplicated a platform message; their message ids got '#dup<id>' (see audit_log)", changed
        )


def downgrade() -> None:
    op.drop_index("ux_report_channel_message", table_name="report")

"""Accepted warnings are kept in the audit log: who accepted which findings, for what."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.checks.finding import Finding
from bot.store.tables import AuditLog


def record_accepted(s: AsyncSession, warnings: list[Finding], *, actor: str, at: datetime, what: str) -> None:
    """One audit row listing the warnings ``actor`` let through for ``what`` (an import file, a day checked)."""
    if not warnings:
        return
    s.add(
        AuditLog(
            at=at,
            actor=actor,
            action="accept_warnings",
            entity="check",
            entity_id=what[:64],
            detail={"warnings": [{"text": f.text, "clause": f.clause} for f in warnings]},
        )
    )

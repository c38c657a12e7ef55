"""What the office is told about the outbox itself: reminders that expired unsent, messages that failed for good."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.delivery.rows import new_row
from bot.delivery.targets import staff_target
from bot.store.tables import OutboxKind, Staff


def notice_texts(expired: list[dict], failed: list[dict], tz: ZoneInfo) -> list[str]:
    """The notices' texts: one listing expired reminders (other expired rows, nudges and the like, are not listed),
    one listing failed messages (never the notices' own)."""
    expired = [r for r in expired if r["kind"] == OutboxKind.REMINDER.value]
    failed = [r for r in failed if r["kind"] != OutboxKind.SYSTEM.value]  # never report the reports
    notes: list[str] = []
    if expired:
        lines = [
            f"· {r['due_at'].astimezone(tz):%m-%d %H:%M} {_first_line(r['text'])}"
            for r in sorted(expired, key=lambda r: r["due_at"])
        ]
        notes.append(
            f"以下 {len(expired)} 条考务提醒错过了发送时间（服务中断），已不再补发，请人工确认：\n" + "\n".join(lines)
        )
    if failed:
        lines = [f"· {_first_line(r['text'])}（{r['target_key']}）" for r in failed]
        notes.append(f"以下 {len(failed)} 条消息多次发送失败，已放弃，请人工通知：\n" + "\n".join(lines))
    return notes


def office_rows(notes: list[str], office: list[Staff], now: datetime) -> list[dict[str, Any]]:
    """One system row per notice and office member, due now."""
    tag = uuid.uuid4().hex[:12]
    rows = []
    for i, text in enumerate(notes):
        for person in office:
            assert person.id is not None
            rows.append(
                new_row(
                    key=f"sys:{tag}:{i}:{person.id}",
                    kind=OutboxKind.SYSTEM,
                    target=staff_target(person.id),
                    text=text,
                    due_at=now,
                    now=now,
                )
            )
    return rows


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0][:80]

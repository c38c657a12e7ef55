"""The one masking step for everything bound for a group chat: candidates' personal data stays out of groups.

Whatever a handler or a reminder writes, a text that goes to a group (a reply in a group chat, an outbox row to a
group or robot) passes :meth:`GroupMask.mask` last, so personal data typed as free text (a violation's note, an
incident description) is masked as well as the fields the handlers already mask:

- 身份证号: 18 characters whose check digit is right (GB 11643), e.g. ``110105199001011234`` → ``110*************34``;
- mobile numbers: 11 digits starting 13–19, e.g. ``13812345678`` → ``138****5678``;
- ticket-like digit runs (准考证号): 8 digits or more, e.g. ``2026000105`` → ``2026**0105``;
- the names of the candidates of the day's sessions, from the roster: ``张三丰`` → ``张**``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import Clock
from bot.store.engine import Database
from bot.store.tables import Candidate, ExamSession, Room

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_DIGITS = re.compile(r"(?<!\d)\d{8,}(?!\d)")
NAMES_TTL = 60.0  # seconds the day's candidate names are kept before they are read again (a roster import)


def valid_id_number(text: str) -> bool:
    """True for an 18-character 身份证号 whose check character is right."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == text[17].upper()


def mask_ticket(ticket: str) -> str:
    """A 准考证号 (or any ticket-like digit run) with its middle hidden: 2026000105 → 2026**0105."""
    if len(ticket) <= 6:
        return ticket[:1] + "*" * (len(ticket) - 2) + ticket[-1:] if len(ticket) > 2 else "*" * len(ticket)
    keep = 4 if len(ticket) > 8 else 2
    return ticket[:keep] + "*" * (len(ticket) - 2 * keep) + ticket[-keep:]


def mask_name(name: str) -> str:
    """张三 → 张*."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else name


def mask_text(text: str, names: Iterable[str] = ()) -> str:
    """``text`` with 身份证号, mobile numbers, ticket-like digit runs and the given names masked."""
    text = _ID.sub(lambda m: m[0][:3] + "*" * 13 + m[0][-2:] if valid_id_number(m[0]) else m[0], text)
    text = _MOBILE.sub(lambda m: m[0][:3] + "****" + m[0][-4:], text)
    text = _DIGITS.sub(lambda m: mask_ticket(m[0]), text)
    for name in sorted({n for n in names if len(n) >= 2}, key=len, reverse=True):  # 欧阳娜娜 before 欧阳娜
        text = text.replace(name, mask_name(name))
    return text


class GroupMask:
    """Masks texts bound for groups with the names of the candidates of the day (read from the roster, cached)."""

    def __init__(self, db: Database, clock: Clock, tz: ZoneInfo) -> None:
        self.db = db
        self.clock = clock
        self.tz = tz
        self._names: tuple[date, float, frozenset[str]] | None = None

    async def names(self, day: date) -> frozenset[str]:
        """The candidates' names of ``day``'s sessions."""
        cached = self._names
        if cached is not None and cached[0] == day and time.monotonic() - cached[1] < NAMES_TTL:
            return cached[2]
        ct, rt, et = Candidate.__table__, Room.__table__, ExamSession.__table__  # type: ignore[attr-defined]
        q = (
            select(ct.c.name)
            .join(rt, rt.c.id == ct.c.room_id)
            .join(et, et.c.id == rt.c.session_id)
            .where(et.c.day == day)
        )
        async with self.db.read() as s:
            conn = await s.connection()
            found = frozenset(str(n) for (n,) in (await conn.execute(q)).all() if n)
        self._names = (day, time.monotonic(), found)
        return found

    async def mask(self, text: str) -> str:
        """``text`` as a group may see it (names of today's candidates, in the service's timezone)."""
        return mask_text(text, await self.names(self.clock.now().astimezone(self.tz).date()))

"""Rows of one target merged into as few platform messages as fit its size limit, and the rate window they use."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery.statements import WINDOWS
from bot.delivery.targets import mentions_of
from bot.model import Target, TextFormat
from bot.text import split_utf8

MERGE_SEPARATOR = "\n——————\n"
# Formats whose rows may be merged with others and cut into pieces; any other kind (a file, a card) is one
# message per row, sent whole.
TEXT_FORMATS = frozenset({TextFormat.TEXT.value, TextFormat.MARKDOWN.value})


@dataclass
class Claimed:
    """A claimed row and the concrete address it goes to (None: the staff member has no account)."""

    row: dict[str, Any]
    concrete: Target | None = None


@dataclass
class Chunk:
    """Rows of one target merged into one message; ``parts`` are the platform messages still to send."""

    items: list[Claimed]
    text: str
    parts: list[str]
    mentions: tuple[str, ...] = ()
    batch: str = ""

    @property
    def pieces(self) -> int:
        """Platform messages this chunk takes."""
        return max(1, len(self.parts))


@dataclass(frozen=True)
class Use:
    """A send batch in a target's rate window."""

    at: datetime
    pieces: int


@dataclass
class Merger:
    """Renders rows and merges one target's rows into messages within the platform's size limit."""

    text_bytes: Mapping[str, int]  # bytes one message may hold, per channel (from the adapters' capabilities)
    default_text_bytes: int
    late_mark: timedelta
    tz: ZoneInfo
    _limits: dict[str, int] = field(default_factory=dict)

    def text_limit(self, channel: str) -> int:
        """Bytes one platform message may hold on ``channel``."""
        limit = self.text_bytes.get(channel)
        return limit if isinstance(limit, int) and limit > 0 else self.default_text_bytes

    def budget(self, channel: str, mentions: Iterable[str]) -> int:
        """Bytes left for the text once the platform has prefixed the @-mentions (``<@id> `` or ``@id ``)."""
        overhead = sum(len(m.encode("utf-8")) + 4 for m in mentions)
        return max(64, self.text_limit(channel) - overhead - (1 if overhead else 0))

    def render(self, row: dict[str, Any], now: datetime) -> str:
        """A row's text as sent now: marked 补发 with its original time when it goes out late."""
        text = str(row["text"])
        if row.get("pieces_sent") or row["format"] not in TEXT_FORMATS:
            return text  # the rest of a split message: exactly the text its first pieces came from
        if now - row["due_at"] > self.late_mark:
            text = f"【补发，原定 {row['due_at'].astimezone(self.tz):%H:%M}】" + text
        return text

    def chunks(self, items: list[Claimed], now: datetime) -> list[Chunk]:
        """Merge the texts of one target's rows into as few messages as fit the platform's size limit.

        A merged message never needs splitting; only a single row longer than the limit is cut into
        pieces (each piece is a platform message and counts in the rate window).
        """
        out: list[Chunk] = []
        cur: list[Claimed] = []
        text = ""
        mentions: dict[str, None] = {}

        def flush() -> None:
            if cur:
                out.append(self._chunk(list(cur), text, tuple(mentions)))

        for c in items:
            assert c.concrete is not None
            piece = self.render(c.row, now)
            ms = dict.fromkeys([*mentions, *mentions_of(c.row["target"] or {})])
            joined = f"{text}{MERGE_SEPARATOR}{piece}" if cur else piece
            resuming = bool(c.row.get("pieces_sent")) or (bool(cur) and bool(cur[0].row.get("pieces_sent")))
            whole = c.row["format"] not in TEXT_FORMATS or (bool(cur) and cur[0].row["format"] not in TEXT_FORMATS)
            if cur and (resuming or whole or len(joined.encode("utf-8")) > self.budget(c.concrete.channel, ms)):
                flush()
                cur, text, mentions = [c], piece, dict.fromkeys(mentions_of(c.row["target"] or {}))
            else:
                cur.append(c)
                text, mentions = joined, ms
        flush()
        return out

    def _chunk(self, items: list[Claimed], text: str, mentions: tuple[str, ...]) -> Chunk:
        first = items[0]
        assert first.concrete is not None
        parts = [text]
        if len(items) == 1 and first.row["format"] in TEXT_FORMATS:
            parts = split_utf8(text, self.budget(first.concrete.channel, mentions))
            parts = parts[int(first.row.get("pieces_sent") or 0) :]
        return Chunk(items, text, parts, mentions)


async def windows(conn: AsyncConnection, tks: list[str], now: datetime, window: timedelta) -> dict[str, list[Use]]:
    """Platform messages each target got, or that were reserved for it, within the rate window.

    Counts every instance's sends: a batch is reserved before it goes out, in a write transaction
    serialised with this one, so the window is the database's, not the process's.
    """
    since = now - window
    out: dict[str, list[Use]] = defaultdict(list)
    for i in range(0, len(tks), 500):
        part = tks[i : i + 500]
        params = {"w_tks": part, "w_tks2": part, "w_since": since}
        for tk, _b, t, pieces in (await conn.execute(WINDOWS, params)).all():
            out[tk].append(Use(t, int(pieces or 1)))
    return out


def free_at(uses: list[Use], need: int, now: datetime, *, limit: int, window: timedelta) -> datetime:
    """When enough of the window has left it for ``need`` more platform messages."""
    room_wanted = limit - need
    total = sum(u.pieces for u in uses)
    for u in sorted(uses, key=lambda u: u.at):
        total -= u.pieces
        if total <= room_wanted:
            return max(now, u.at + window)
    return now + window

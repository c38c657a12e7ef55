"""Merging: rows of one target share a message when they fit; rows that are not text go out alone and whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.delivery.merge import MERGE_SEPARATOR, Claimed, Merger
from bot.model import PersonTarget

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
TO = PersonTarget("wecom", "wangfang")


def _merger(limit: int = 2048) -> Merger:
    return Merger({"wecom": limit}, 2048, timedelta(seconds=60), ZoneInfo("Asia/Shanghai"))


def _row(i: int, text: str, fmt: str = "text") -> Claimed:
    row: dict[str, Any] = {"id": i, "key": f"k{i}", "text": text, "format": fmt, "due_at": NOW, "target": {}}
    return Claimed(row, TO)


def test_text_rows_of_one_target_merge_into_one_message() -> None:
    """Three short reminders to one person become one message joined by the separator."""
    chunks = _merger().chunks([_row(1, "甲"), _row(2, "乙"), _row(3, "丙")], NOW)
    assert [c.text for c in chunks] == [MERGE_SEPARATOR.join(["甲", "乙", "丙"])]
    assert [len(c.items) for c in chunks] == [3]


def test_a_row_that_is_not_text_is_sent_alone_and_never_cut() -> None:
    """A file or card row (a format the merger does not know as text) is its own message, whole, however long."""
    payload = '{"media_id": "' + "x" * 5000 + '"}'
    chunks = _merger(limit=256).chunks([_row(1, "甲"), _row(2, payload, "file"), _row(3, "乙")], NOW)
    assert [[c.row["id"] for c in ch.items] for ch in chunks] == [[1], [2], [3]]
    assert chunks[1].parts == [payload] and chunks[1].pieces == 1


def test_a_long_text_row_alone_is_cut_within_the_limit() -> None:
    """A single text row longer than the platform's limit is cut into pieces that each fit."""
    text = "\n".join(f"第{i}行：请监考员核对准考证。" for i in range(100))
    [chunk] = _merger(limit=512).chunks([_row(1, text)], NOW)
    assert chunk.pieces > 1 and all(len(p.encode("utf-8")) <= 512 for p in chunk.parts)
    assert "".join(chunk.parts).replace("\n", "") == text.replace("\n", "")

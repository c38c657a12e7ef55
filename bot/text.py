"""Splitting text into platform messages by their size in UTF-8 bytes (the adapters and the outbox both cut)."""

from __future__ import annotations


def split_utf8(text: str, limit: int) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` UTF-8 bytes, preferring line breaks."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    if len(text.encode("utf-8")) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    size = 0
    for line in text.splitlines(keepends=True):
        n = len(line.encode("utf-8"))
        if size + n <= limit:
            current += line
            size += n
            continue
        if current:
            pieces.append(current)
            current, size = "", 0
        if n <= limit:
            current, size = line, n
            continue
        for ch in line:  # one line longer than the limit: cut by characters
            c = len(ch.encode("utf-8"))
            if size + c > limit:
                pieces.append(current)
                current, size = "", 0
            current += ch
            size += c
    if current:
        pieces.append(current)
    return [p.rstrip("\n") or p for p in pieces]

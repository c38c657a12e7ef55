"""Two small charts drawn on the server as SVG: the day's attendance and its violations by type.

Plain SVG text, no script and no external font or file, so the page stays self-contained; every label
is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape

WIDTH = 360
_FONT = 'font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif" font-size="13"'


def _svg(height: int, body: Iterable[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}" {_FONT}><title>{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def attendance_svg(rooms: Iterable[Mapping[str, Any]]) -> str:
    """One bar of the day's candidates: 实考, 缺考, and those of rooms whose 缺考 is not reported yet."""
    present = absent = unknown = 0
    for r in rooms:
        if r["absent"] is None:
            unknown += int(r["expected"])
        else:
            present += int(r["present"] if r["present"] is not None else r["expected"] - r["absent"])
            absent += int(r["absent"])
    total = present + absent + unknown
    parts = [("实考", present, "#1e8e3e"), ("缺考", absent, "#d93025"), ("未报", unknown, "#bdc1c6")]
    body = []
    x = 0.0
    for _label, value, colour in parts:
        w = WIDTH * value / total if total else 0
        if w:
            body.append(f'<rect x="{x:.1f}" y="4" width="{w:.1f}" height="26" fill="{colour}"/>')
        x += w
    if not total:
        body.append('<rect x="0" y="4" width="360" height="26" fill="#eee"/>')
    for i, (label, value, colour) in enumerate(parts):
        lx = i * 120
        body.append(f'<rect x="{lx}" y="42" width="12" height="12" fill="{colour}"/>')
        body.append(f'<text x="{lx + 16}" y="53">{escape(label)} {value}</text>')
    return _svg(62, body, f"出勤：应考 {total}，实考 {present}，缺考 {absent}，未报 {unknown}")


def violations_svg(by_type: Mapping[str, int]) -> str:
    """A horizontal bar per violation type, largest first."""
    items = sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    if not items:
        return _svg(30, ['<text x="0" y="20" fill="#666">今天没有违纪记录</text>'], "违纪：无")
    top = max(v for _, v in items)
    body = []
    for i, (label, value) in enumerate(items):
        y = i * 24
        w = (WIDTH - 150) * value / top
        short = label if len(label) <= 9 else label[:8] + "…"
        body.append(f'<text x="0" y="{y + 16}">{escape(short)}</text>')
        body.append(f'<rect x="120" y="{y + 4}" width="{w:.1f}" height="16" fill="#e37400"/>')
        body.append(f'<text x="{120 + w + 4:.1f}" y="{y + 16}">{value}</text>')
    total = sum(by_type.values())
    return _svg(len(items) * 24 + 4, body, f"违纪共 {total} 起，按类型")

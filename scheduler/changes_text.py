"""Reading the dates, times and session names the office types for a change of the day (chat and CLI alike).

Phone typing is the rule: full-width digits and colons (10：00), 10点 / 10点半 / 下午2点, 12月5日, 明天,
ranges with -, –, ~, 至 or 到. Everything is read after NFKC, so full-width forms need no cases of their own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.cn import CN_NUM, cn_number

_SPACES = re.compile(r"\s+")
_NAMED_DAYS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2}
DAY_RE = re.compile(
    r"(?<![\d:])(?:(?P<y>\d{4})\s*[-/年]\s*)?(?P<m>\d{1,2})\s*(?:月|[-/])\s*(?P<d>\d{1,2})(?:\s*[日号]|(?![\d:点时]))"
    r"|(?P<named>今天|今日|明天|明日|后天)"
)
SESSION_RE = re.compile(rf"第?\s*(\d{{1,3}}|[{CN_NUM}]{{1,4}})\s*场次?")
_HALF = {"上午": 0, "早上": 0, "中午": 12, "下午": 12, "晚上": 12}
TIME_RE = re.compile(
    r"(?P<half>上午|早上|中午|下午|晚上)?\s*(?P<h>\d{1,2})\s*"
    r"(?::\s*(?P<m1>\d{2})|[点时]\s*(?:(?P<half_hour>半)|(?P<m2>\d{1,2})\s*分?)?)"
)
_RANGE_SEP = re.compile(r"^\s*(?:-|–|—|~|至|到)\s*$")


def nfkc(text: str) -> str:
    """NFKC (full-width digits, letters, colons and spaces become ASCII), spaces collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def _cut(text: str, start: int, end: int) -> str:
    return _SPACES.sub(" ", f"{text[:start]} {text[end:]}").strip()


def take_day(text: str, today: date) -> tuple[date | None, str]:
    """The first day written in ``text`` (12月5日, 12-05, 2026-12-05, 明天) and the text without it.

    A written day that does not exist (2月30日) is an error, not a missing day.
    """
    t = nfkc(text)
    m = DAY_RE.search(t)
    if m is None:
        return None, t
    if m.group("named"):
        return today + timedelta(days=_NAMED_DAYS[m.group("named")]), _cut(t, m.start(), m.end())
    year = int(m.group("y")) if m.group("y") else today.year
    try:
        if abs(year - today.year) > 5:  # a typo, and far years overflow the arithmetic on times
            raise ValueError(year)
        day = date(year, int(m.group("m")), int(m.group("d")))
    except ValueError as exc:
        raise ValueError(f"日期“{m.group(0).strip()}”不存在，请核对。") from exc
    return day, _cut(t, m.start(), m.end())


def _clock_time(m: re.Match[str]) -> time:
    hour = int(m.group("h"))
    minute = 30 if m.group("half_hour") else int(m.group("m1") or m.group("m2") or 0)
    half = m.group("half")
    if half and hour < 12 and _HALF[half]:
        hour += 12 if half != "中午" or hour <= 2 else 0
    if hour > 23 or minute > 59:
        raise ValueError(f"时间“{m.group(0).strip()}”不对，请写成 10:00 或 10点。")
    return time(hour, minute)


@dataclass(frozen=True)
class TimeRange:
    """A new start (and end, when written), local times on ``day``; ``rest`` is the text around them."""

    start: datetime
    end: datetime | None
    rest: str


def take_times(text: str, day: date, tz: ZoneInfo) -> TimeRange | None:
    """The first time (and a second one joined by -, ~, 至 or 到) in ``text``, on ``day`` in ``tz``."""
    t = nfkc(text)
    found = list(TIME_RE.finditer(t))
    if not found:
        return None
    first = found[0]
    start = datetime.combine(day, _clock_time(first), tz)
    end: datetime | None = None
    span_end = first.end()
    if len(found) > 1 and _RANGE_SEP.match(t[first.end() : found[1].start()]):
        second = found[1]
        end = datetime.combine(day, _clock_time(second), tz)
        if end <= start and first.group("half") and second.group("half") is None and end.hour < 12:
            end += timedelta(hours=12)  # 下午2点-4点: the end is in the afternoon too
        span_end = second.end()
    return TimeRange(start, end, _cut(t, first.start(), span_end))


def session_number(text: str) -> int | None:
    """The number a session name carries: 第1场, 演示第3场, 1, 第一场; None when it has none."""
    t = nfkc(text)
    m = SESSION_RE.search(t)
    if m is not None:
        return cn_number(m.group(1))
    if t.isdigit():
        return int(t)
    digits = re.findall(r"\d+", t)
    return int(digits[-1]) if digits else cn_number(t)


def take_session(text: str) -> tuple[str, str]:
    """The session as typed (第1场, or the first word: a code such as A01) and the rest."""
    t = nfkc(text)
    m = SESSION_RE.search(t)
    if m is not None:
        # A code such as 演示第1场 is one word: take the whole word the match sits in.
        start = t.rfind(" ", 0, m.start()) + 1
        end = t.find(" ", m.end())
        end = len(t) if end < 0 else end
        return t[start:end], _cut(t, start, end)
    first, _, rest = t.partition(" ")
    return first, rest.strip()


def day_label(day: date) -> str:
    """12月5日."""
    return f"{day.month}月{day.day}日"


def span_label(start: datetime, end: datetime, tz: ZoneInfo, *, with_day: bool = False) -> str:
    """10:00–12:00, or 12月6日 10:00–12:00 with ``with_day``."""
    s, e = start.astimezone(tz), end.astimezone(tz)
    text = f"{s:%H:%M}–{e:%H:%M}"
    return f"{day_label(s.date())} {text}" if with_day else text


def strip_reason(text: str) -> str:
    """What follows 原因 / 因为 / 理由, or the text itself; punctuation around it removed."""
    t = nfkc(text).strip(" ,，:：;；。")
    for word in ("原因是", "原因", "理由", "因为"):
        if t.startswith(word):
            t = t[len(word) :].strip(" ,，:：;；")
            break
    return t.strip()

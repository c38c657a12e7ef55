"""Reading what people type on phones: full-width text, Chinese numerals, rooms, tickets, dates."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.cn import CN_NUM, cn_number

_PUNCT = re.compile(r"[，,、；;：:。！!？?（）()【】\[\]“”\"'‘’《》<>|]+")
_SPACES = re.compile(r"\s+")
# 12号和15号, 3号座跟5号座: two numbered items joined by a word, read as two (session 22, typed on a phone).
_JOINED = re.compile(rf"(?<=[号座位\d])\s*[和跟与及]\s*(?=[\d{CN_NUM}]{{1,4}}\s*号|座|\d{{6,}})")

ROOM_RE = re.compile(rf"(?<![\d{CN_NUM}])第?\s*(\d{{1,3}}|[{CN_NUM}]{{1,4}})\s*(?:号考场|号考室|考场|考室|号)")
ROOM_STRICT_RE = re.compile(rf"(?<![\d{CN_NUM}])第?\s*(\d{{1,3}}|[{CN_NUM}]{{1,4}})\s*(?:号考场|号考室|考场|考室)")
ROOM_HAO_RE = re.compile(rf"(?<![^\s])第?\s*(\d{{1,3}}|[{CN_NUM}]{{1,4}})\s*号(?!\S)")
ROOM_FIRST_RE = re.compile(rf"^第\s*(\d{{1,3}}|[{CN_NUM}]{{1,4}})(?=\s|$)")
TICKET_RE = re.compile(r"(?<![\dA-Za-z])[A-Za-z]?\d{6,20}(?![\dA-Za-z])")
NUMBER_RE = re.compile(rf"(?<![\d{CN_NUM}])(\d{{1,5}}|[{CN_NUM}]{{1,5}})\s*(?:份|张|人|个|名)?(?![\d{CN_NUM}])")
NONE_WORDS = (
    *("无", "没有", "none", "没人", "全到", "全到了", "都到了", "全部到齐"),
    *("无缺考", "没有缺考", "没缺考", "无人缺考", "0人", "零人"),
)


def nfkc(text: str) -> str:
    """NFKC (full-width letters, digits and punctuation become ASCII), spaces collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


_CJK = r"[\u3400-\u9fff]"
_ASCII_PUNCT = re.compile(rf"(?<={_CJK})[,;:?!]")
_FULL_WIDTH = str.maketrans({",": "，", ";": "；", ":": "：", "?": "？", "!": "！"})


def cjk_punct(text: str) -> str:
    """Free text as it reads in Chinese: ASCII , ; : ? ! right after a Chinese character become full-width again
    (NFKC made them ASCII; “空调漏水，已换座位” must not come back as “空调漏水,已换座位”)."""
    return _ASCII_PUNCT.sub(lambda m: m.group(0).translate(_FULL_WIDTH), text)


def free_text(text: str) -> str:
    """A note or reason as typed: NFKC, Chinese punctuation kept (see cjk_punct), no punctuation at either end."""
    return cjk_punct(nfkc(text).strip(" ,，;；:：、.。"))


def typed_span(original: str, cleaned: str) -> str:
    """``cleaned`` (words left once the arguments were taken, punctuation gone) as it was typed in ``original``,
    Chinese punctuation and all, when it is one stretch of it (“手机藏在袖子里，已收缴”); else ``cleaned``."""
    words = cleaned.split()
    if not words:
        return ""
    t = nfkc(original)
    start = t.find(words[0])
    end = t.find(words[-1], start) if start >= 0 else -1
    if end < 0:
        return cleaned
    span = t[start : end + len(words[-1])]
    return free_text(span) if clean(span) == cleaned else cleaned


def clean(text: str) -> str:
    """NFKC, and Chinese/ASCII punctuation turned into spaces: for reading arguments, not free text."""
    return _SPACES.sub(" ", _PUNCT.sub(" ", _JOINED.sub(" ", nfkc(text)))).strip()


def room_number(room_no: str) -> int | None:
    """The number inside a stored room name (第3考场 -> 3, "03" -> 3); None when it has none."""
    t = nfkc(room_no)
    m = re.search(r"\d+", t)
    if m:
        return int(m.group())
    m = re.search(rf"[{CN_NUM}]+", t)
    return cn_number(m.group()) if m else None


@dataclass
class Args:
    """Arguments taken apart: an explicit room (if any), tickets, and what is left, in order."""

    room: int | None = None
    tickets: list[str] = field(default_factory=list)
    rest: str = ""

    @property
    def words(self) -> list[str]:
        """The remaining words."""
        return self.rest.split()


def _room_at_edge(text: str) -> re.Match[str] | None:
    """``3号`` as the first or the last word."""
    for m in ROOM_HAO_RE.finditer(text):
        if m.start() == 0 or m.end() == len(text):
            return m
    return None


def split_args(text: str, *, room_from_first_number: bool = True) -> Args:
    """Find the room (3号, 第3考场, 三考场; or a bare short number first), tickets and the rest."""
    t = clean(text)
    out = Args()
    # 第3考场 / 3考场 anywhere; 3号 / 第3 only first or last (3号 inside a note may be a seat or a building).
    m = ROOM_STRICT_RE.search(t) or _room_at_edge(t) or ROOM_FIRST_RE.search(t)
    if m is not None:
        out.room = cn_number(m.group(1))
        t = (t[: m.start()] + " " + t[m.end() :]).strip()
    out.tickets = TICKET_RE.findall(t)
    t = TICKET_RE.sub(" ", t)
    t = _SPACES.sub(" ", t).strip()
    if out.room is None and room_from_first_number:
        first, _, after = t.partition(" ")
        if re.fullmatch(r"\d{1,3}", first):
            out.room = int(first)
            t = after.strip()
    out.rest = t
    return out


def take_number(text: str) -> tuple[int | None, str]:
    """The first number (2, 两, 30份, 两人) in ``text`` and the text without it."""
    m = NUMBER_RE.search(text)
    if m is None:
        return None, text
    return cn_number(m.group(1)), _SPACES.sub(" ", text[: m.start()] + " " + text[m.end() :]).strip()


def take_keyword_number(text: str, keywords: tuple[str, ...]) -> tuple[int | None, str]:
    """The number written after (or before) any of ``keywords``: ``空白 1``, ``空白1张``, ``1张空白``."""
    for kw in keywords:
        num = rf"(\d{{1,5}}|[{CN_NUM}]{{1,5}})"
        m = re.search(rf"{re.escape(kw)}\s*{num}\s*(?:份|张|人|个)?", text)
        if m is None:
            m = re.search(rf"(?<![\d{CN_NUM}]){num}\s*(?:份|张|人|个)?\s*{re.escape(kw)}", text)
        if m is not None:
            return cn_number(m.group(1)), _SPACES.sub(" ", text[: m.start()] + " " + text[m.end() :]).strip()
    return None, text


def parse_day(word: str, today: date) -> date | None:
    """today/今天, yesterday/昨天, 前天, YYYY-MM-DD, MM-DD, 12月5日; None when ``word`` is not a day."""
    w = nfkc(word).lower()
    named = {"today": 0, "今天": 0, "今日": 0, "yesterday": -1, "昨天": -1, "昨日": -1, "前天": -2}
    if w in named:
        return today + timedelta(days=named[w])
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", w)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    m = re.fullmatch(r"(\d{1,2})[-/.月](\d{1,2})日?", w)
    if m:
        try:
            return date(today.year, int(m.group(1)), int(m.group(2)))
        except ValueError:
            return None
    return None


MAX_REPORT_ID = 2**31 - 1


def report_id(word: str) -> int | None:
    """A report number as typed: 12, #12, 编号12, 十二."""
    w = clean(word).lstrip("#").removeprefix("编号").removeprefix("No").removeprefix("no").strip()
    n = cn_number(w)
    # Report ids are database integers: anything beyond a 32-bit id cannot exist (and would overflow SQLite).
    return n if n and 0 < n <= MAX_REPORT_ID else None


_LEADING_ID = re.compile(
    rf"\s*[#:]?\s*(?:编号|[Nn]o\.?)?\s*[#:]?\s*(\d+|[{CN_NUM}]+)(?:[\s,.;:、。；：]+|$)(.*)$", re.S
)


def leading_report_id(text: str) -> tuple[int | None, str | None, str]:
    """The report number a text starts with (12, #12, 编号 12, No.12, 十二) and the rest as typed.

    Returns (id, the number as typed, rest): id is None when there is no number first, or when the
    typed number is too large to be any report (then the typed number is still given, for the reply).
    """
    m = _LEADING_ID.match(nfkc(text))
    if m is None:
        return None, None, nfkc(text)
    return report_id(m.group(1)), m.group(1), m.group(2).strip()


def is_cancel(text: str) -> bool:
    """取消 / cancel / 算了 / 退出."""
    return clean(text).lower() in ("取消", "cancel", "算了", "退出", "不报了", "q", "quit")


def is_skip(text: str) -> bool:
    """跳过 / 无 / skip / 没有 (for optional dialog answers)."""
    return clean(text).lower() in ("跳过", "skip", "无", "没有", "不填", "-", "略")

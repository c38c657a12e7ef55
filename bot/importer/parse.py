"""Parsing the office's cell text: dates, times, names, rooms, kinds, roles, IDs.

Every parser returns a value or raises :class:`ParseError` whose message is the Chinese reason shown
to the office (the caller adds file, sheet, row and column).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time

from openpyxl.utils.datetime import from_excel

from bot.cn import cn_number
from bot.importer.read import Cell
from bot.store.tables import Duty, Role, SessionKind


class ParseError(ValueError):
    """A cell that cannot be understood; the message is the Chinese reason."""


_DASHES = re.compile(r"--+|[—―–〜~至到‐‑−]")


def norm(text: str) -> str:
    """NFKC (full-width colon, digits, tilde…) then every range dash to ``-``; spaces trimmed."""
    text = unicodedata.normalize("NFKC", text)
    text = _DASHES.sub("-", text)
    return re.sub(r"-+", "-", text).strip()


# ---------------------------------------------------------------- dates

_YMD = re.compile(r"(\d{4})\s*(?:年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?|[-/.](\d{1,2})[-/.](\d{1,2}))")
_MD = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*日?")
_WEEKDAY = re.compile(r"[(\[]?\s*(?:星期|周|礼拜)[一二三四五六日天]\s*[)\]]?")
_YEAR = re.compile(r"(20\d{2})\s*年")
_SERIAL_RANGE = (20000, 80000)  # 1954..2119 as Excel serial day numbers


def year_hint(*texts: str | None) -> int | None:
    """A year written in a title or sheet name (``2026年12月…``), if any."""
    for t in texts:
        if t and (m := _YEAR.search(unicodedata.normalize("NFKC", t))):
            return int(m.group(1))
    return None


def _make_date(y: int, m: int, d: int, shown: str) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise ParseError(f"日期“{shown}”不存在") from None


def split_date_prefix(text: str, year: int | None) -> tuple[date | None, str]:
    """A date at the start of ``text`` (normalised) and the rest; (None, text) when there is none."""
    t = _WEEKDAY.sub(" ", norm(text))
    if m := _YMD.match(t):
        y = int(m.group(1))
        mo, d = (m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(5))
        return _make_date(y, int(mo), int(d), m.group(0)), t[m.end() :].strip()
    if m := _MD.match(t):
        if year is None:
            raise ParseError(
                f"日期“{m.group(0)}”没有年份，请写上年份（如“2026年{m.group(1)}月{m.group(2)}日”）或导入时加 --year"
            )
        return _make_date(year, int(m.group(1)), int(m.group(2)), m.group(0)), t[m.end() :].strip()
    return None, t


def parse_date(cell: Cell, *, year: int | None, epoch: datetime | None = None) -> date:
    """A date from a date cell, an Excel serial number, or text in the usual Chinese forms."""
    raw = cell.raw
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if cell.is_number:
        value = float(raw)
        if not (_SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]):
            raise ParseError(f"无法识别的日期“{cell.text}”，应如“2026-12-05”或“2026年12月5日”")
        result = from_excel(value, epoch) if epoch is not None else from_excel(value)
        return result.date() if isinstance(result, datetime) else result  # type: ignore[return-value]
    d, rest = split_date_prefix(cell.text, year)
    if d is None or rest.strip(" ()[]"):
        raise ParseError(f"无法识别的日期“{cell.text}”，应如“2026-12-05”或“2026年12月5日”")
    return d


# ---------------------------------------------------------------- times

_HALF_DAY = re.compile(r"(上午|下午|中午|晚上|早上)")
_CLOCK = re.compile(r"(\d{1,2})\s*(?::\s*(\d{2})(?::\d{2})?|[时点]\s*(?:(\d{1,2})\s*分?)?)")
_TIME_HINT = "应如“8:30-10:00”"


def _clock(text: str, afternoon: bool) -> time:
    m = _CLOCK.fullmatch(text.strip())
    if not m:
        raise ValueError(text)
    h = int(m.group(1))
    mi = int(m.group(2) or m.group(3) or 0)
    if afternoon and h < 12:
        h += 12
    return time(h, mi)


def parse_time_range(text: str) -> tuple[time, time]:
    """``8:30-10:00`` in any of its spellings (full-width colon, em dash, ``--``, ``~``, 至, 上午/下午)."""
    t = norm(text).strip(" ()[]")
    shown = text.strip()
    hints = _HALF_DAY.findall(t)
    t = _HALF_DAY.sub("", t)
    parts = t.split("-")
    if len(parts) != 2:
        raise ParseError(f"无法识别的时间“{shown}”，{_TIME_HINT}")
    afternoon = bool(hints) and hints[0] in ("下午", "晚上")
    try:
        start = _clock(parts[0], afternoon)
        end = _clock(parts[1], afternoon or (start.hour >= 12))
    except ValueError:
        raise ParseError(f"无法识别的时间“{shown}”，{_TIME_HINT}") from None
    if end <= start:
        raise ParseError(f"时间“{shown}”的结束时间不晚于开始时间")
    return start, end


def parse_clock(cell: Cell) -> time:
    """A single time of day from a time cell or text (``8:30``, ``8：30``)."""
    if isinstance(cell.raw, datetime):
        return cell.raw.time()
    if isinstance(cell.raw, time):
        return cell.raw
    if cell.is_number and 0 <= float(cell.raw) < 1:
        minutes = round(float(cell.raw) * 24 * 60)
        return time(minutes // 60, minutes % 60)
    t = _HALF_DAY.sub("", norm(cell.text))
    try:
        return _clock(t, False)
    except ValueError:
        raise ParseError(f"无法识别的时间“{cell.text}”，应如“8:30”") from None


def parse_when(cell: Cell, *, year: int | None) -> tuple[date | None, time, time]:
    """A time range, possibly preceded by a date in the same cell (``2026年01月21日(18:30-20:20)``)."""
    d, rest = split_date_prefix(cell.text, year)
    if not rest:
        raise ParseError(f"“{cell.text}”中没有考试时间，{_TIME_HINT}")
    start, end = parse_time_range(rest)
    return d, start, end


# ---------------------------------------------------------------- names

_NAME_SPLIT = re.compile(r"[、,，/;；\s]+")
_LABELS: dict[str, Duty | None] = {
    "主监考": Duty.CHIEF,
    "主监考员": Duty.CHIEF,
    "主考": Duty.CHIEF,
    "考评组长": Duty.CHIEF,
    "组长": Duty.CHIEF,
    "副监考": Duty.DEPUTY,
    "副监考员": Duty.DEPUTY,
    "监考": None,
    "监考员": None,
    "监考教师": None,
    "监考老师": None,
    "考评员": Duty.EVALUATOR,
    "督导": Duty.SUPERVISOR,
    "督导员": Duty.SUPERVISOR,
    "质量督导员": Duty.SUPERVISOR,
    "内部质量督导员": Duty.SUPERVISOR,
}
_LABEL_RE = re.compile(r"^(" + "|".join(sorted(_LABELS, key=len, reverse=True)) + r")\s*[:]\s*")
_SUFFIX_RE = re.compile(r"\((主|副|组长)\)$")
_SUFFIX_DUTY = {"主": Duty.CHIEF, "副": Duty.DEPUTY, "组长": Duty.CHIEF}
_EMPTY_TOKENS = {"", "/", "-", "无", "—"}


@dataclass(frozen=True, slots=True)
class NamedDuty:
    """A person named in a cell, with the duty a label in the cell gave them (None: the column decides)."""

    name: str
    duty: Duty | None


def split_names(text: str) -> list[NamedDuty]:
    """``主监考：张三；副监考：李四``, ``张三、李四``, ``袁丰/黄丽亚`` → names with label duties."""
    t = unicodedata.normalize("NFKC", text)
    t = re.sub(r"([:])\s+", r"\1", t)  # "主监考: 张三" keeps the label on the name
    out: list[NamedDuty] = []
    current: Duty | None = None
    for token in _NAME_SPLIT.split(t):
        token = token.strip()
        m = _LABEL_RE.match(token)
        if m:
            current = _LABELS[m.group(1)]
            token = token[m.end() :]
        duty = current
        if s := _SUFFIX_RE.search(token):
            duty = _SUFFIX_DUTY[s.group(1)]
            token = token[: s.start()]
        if token in _EMPTY_TOKENS:
            continue
        out.append(NamedDuty(token, duty))
    return out


def name_key(name: str) -> str:
    """A person's name for matching: NFKC, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))


# ---------------------------------------------------------------- rooms

_ROOM_NUMBERED = re.compile(
    r"^(?:第\s*)?([0-9]+|[零〇一二两三四五六七八九十]+)\s*(?:号)?\s*(?:考场|考室)?$|^考场\s*([0-9]+)$"
)


def room_text(cell: Cell) -> str:
    """The room as the office wrote it (a numeric cell 1.0 gives "1")."""
    return unicodedata.normalize("NFKC", cell.text).strip()


def room_key(text: str) -> str:
    """A key for matching rooms: ``第1考场``, ``1``, ``01``, ``1号考场``, ``3考场`` → "1"; others upper-cased."""
    t = re.sub(r"\s+", "", norm(text))
    m = _ROOM_NUMBERED.match(t)
    if m and (m.group(1) or m.group(2)):
        number = cn_number(m.group(1) or m.group(2))
        if number is not None:
            return str(number)
    return t.upper()


# ---------------------------------------------------------------- kinds, roles, numbers, ids


def parse_kind(text: str) -> SessionKind:
    """理论 / 上机 / 机考 / 实操 / 操作技能 → SessionKind."""
    t = norm(text)
    if any(w in t for w in ("上机", "机考", "机试", "计算机考试")):
        return SessionKind.COMPUTER
    if any(w in t for w in ("实操", "操作", "技能", "实训", "实践")):
        return SessionKind.PRACTICAL
    if any(w in t for w in ("理论", "笔试", "知识")):
        return SessionKind.THEORY
    raise ParseError(f"无法识别的考试类型“{text}”，应为“理论”“上机”或“实操”")


_ROLE_WORDS: dict[str, Role] = {
    "监考员": Role.INVIGILATOR,
    "监考": Role.INVIGILATOR,
    "监考老师": Role.INVIGILATOR,
    "监考教师": Role.INVIGILATOR,
    "考评员": Role.EVALUATOR,
    "考评": Role.EVALUATOR,
    "考评组长": Role.EVALUATOR,
    "内部质量督导员": Role.SUPERVISOR,
    "质量督导员": Role.SUPERVISOR,
    "督导员": Role.SUPERVISOR,
    "质量督导": Role.SUPERVISOR,
    "督导": Role.SUPERVISOR,
    "考务办公室": Role.OFFICE,
    "考务": Role.OFFICE,
    "考务人员": Role.OFFICE,
    "考务办": Role.OFFICE,
    "管理员": Role.ADMIN,
    "系统管理员": Role.ADMIN,
}
for _r in Role:
    _ROLE_WORDS[_r.value] = _r


def parse_roles(text: str) -> list[Role]:
    """Roles in one cell (``监考员、考评员``) in the order of :class:`Role`."""
    found: set[Role] = set()
    for token in _NAME_SPLIT.split(unicodedata.normalize("NFKC", text)):
        token = token.strip()
        if not token:
            continue
        role = _ROLE_WORDS.get(token.lower())
        if role is None:
            raise ParseError(f"无法识别的角色“{token}”，应为监考员、考评员、内部质量督导员、考务办公室或管理员")
        found.add(role)
    if not found:
        raise ParseError("角色为空，应填写监考员、考评员、内部质量督导员、考务办公室或管理员")
    return [r for r in Role if r in found]


def parse_count(cell: Cell) -> int:
    """A head count: ``30``, ``30人``, 30.0."""
    if cell.is_number and float(cell.raw).is_integer():
        return int(cell.raw)
    m = re.fullmatch(r"(\d+)\s*人?", norm(cell.text))
    if not m:
        raise ParseError(f"人数“{cell.text}”不是整数")
    return int(m.group(1))


_SCIENTIFIC = re.compile(r"^\d+(?:\.\d+)?[eE]\+?\d+$")
MAX_EXACT_DIGITS = 15  # Excel keeps 15 significant digits of a number


def code_text(cell: Cell, what: str) -> str:
    """An identifier kept as text; a long number stored as a number has lost digits and is refused."""
    text = unicodedata.normalize("NFKC", cell.text).strip()
    if _SCIENTIFIC.match(text) or (cell.is_number and len(str(int(float(cell.raw)))) > MAX_EXACT_DIGITS):
        raise ParseError(
            f"{what}以数字格式保存（显示为“{text}”），超过15位的数字在 Excel 中已丢失末尾数字；"
            "请把该列设为“文本”格式后重新填写原始号码"
        )
    return text


_ID18 = re.compile(r"^\d{17}[\dX]$")
_ID15 = re.compile(r"^\d{15}$")


def parse_id_number(cell: Cell) -> str:
    """An 18-digit 身份证号 (last may be X) kept as text; a number cell is refused (digits lost)."""
    if cell.is_number:
        shown = f"{float(cell.raw):.5E}" if float(cell.raw) >= 1e15 else cell.text
        raise ParseError(
            f"身份证号以数字格式保存（显示为“{shown}”），末尾数字已丢失；请把该列设为“文本”格式后重新填写原始号码"
        )
    text = code_text(cell, "身份证号").upper().replace(" ", "")
    if not (_ID18.match(text) or _ID15.match(text)):
        raise ParseError(f"身份证号“{cell.text}”应为18位（最后一位可为X）")
    return text


def parse_plain_date(cell: Cell, *, epoch: datetime | None = None) -> date:
    """A full date (with year) such as a certificate issue date ``2024/3/7``."""
    return parse_date(cell, year=None, epoch=epoch)


_MOBILE = re.compile(r"^1\d{10}$")
_LANDLINE = re.compile(r"^(0\d{2,3})-?(\d{7,8})(?:(?:-|转|分机|EXT\.?|#)(\d{1,6}))?$")
PHONE_HINT = "应为 11 位手机号（如 13800138000）或带区号的固定电话（如 010-12345678，可带分机 010-12345678-123）"


def parse_phone(text: str) -> str | None:
    """A mobile (11 digits starting with 1) or a landline with area code; None when blank.

    Spaces and +86 are dropped; a landline comes back as ``区号-号码`` (``-分机``).
    """
    t = re.sub(r"\s", "", unicodedata.normalize("NFKC", text)).upper()
    if not t:
        return None
    t = re.sub(r"^\((0\d{2,3})\)-?", r"\1-", t)  # (010)12345678
    bare = t.replace("-", "")
    for prefix in ("+86", "0086", "86"):
        if bare.startswith(prefix) and _MOBILE.match(bare[len(prefix) :]):
            bare = bare[len(prefix) :]
    if _MOBILE.match(bare):
        return bare
    m = _LANDLINE.match(t)
    if m:
        area, number, ext = m.groups()
        return f"{area}-{number}" + (f"-{ext}" if ext else "")
    raise ParseError(f"电话“{text.strip()}”无法识别，{PHONE_HINT}")


_SEAT = re.compile(r"^[A-Z]{0,2}\d{1,4}(?:-\d{1,4})?[A-Z]?$")


def parse_seat(cell: Cell) -> str | None:
    """A seat number kept as text (``01``, ``12``, ``A01``, ``3-2``; ``第12号`` → ``12``); None when blank."""
    text = code_text(cell, "座位号").upper()
    if not text:
        return None
    core = re.sub(r"^第|[号座]$", "", text)
    if not _SEAT.match(core):
        raise ParseError(f"座位号“{cell.text}”无法识别，应为数字（如 01、12），可带字母（如 A01）")
    return core

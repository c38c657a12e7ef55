"""Chinese numerals as people write them (三, 十二, 二十八, 一百零五, 两): shared by the importer and the commands."""

from __future__ import annotations

import unicodedata

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100}
CN_NUM = "零〇一二两俩三四五六七八九十百"


def cn_number(text: str) -> int | None:
    """An Arabic or Chinese numeral (三, 十二, 二十八, 一百零五, 两) as int; None when it is not one."""
    t = unicodedata.normalize("NFKC", text).strip()
    if not t:
        return None
    if t.isdigit():
        return int(t)
    if any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in t):
        return None
    if all(ch in _CN_DIGITS for ch in t):
        if len(t) == 1:
            return _CN_DIGITS[t]
        return int("".join(str(_CN_DIGITS[ch]) for ch in t))
    total, digit = 0, None
    for ch in t:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            unit = _CN_UNITS[ch]
            total += (1 if digit is None else digit) * unit
            digit = None
    if digit is not None:
        total += digit
    return total

"""Recognising a column by what it holds when its header does not say: the exam-kind column (理论 / 实操 / 上机)."""

from __future__ import annotations

import re

from bot.importer.parse import norm
from bot.importer.table import Collector, Table

# What offices write for an exam kind, once a trailing 考试 / 考核 / 鉴定 and brackets are dropped.
KIND_STEMS = frozenset(
    {
        "理论",
        "理论知识",
        "知识",
        "笔试",
        "理论笔试",
        "应知",
        "实操",
        "实际操作",
        "操作",
        "操作技能",
        "技能",
        "技能操作",
        "实训",
        "实践",
        "应会",
        "机考",
        "上机",
        "机试",
        "计算机",
        "理论机考",
        "理论上机",
    }
)
_SUFFIX = re.compile(r"(考试|考核|鉴定|测试|考)$")
SCAN_ROWS = 500  # data rows looked at; an exam day has far fewer rooms


def is_kind_word(text: str) -> bool:
    """True when ``text`` is only an exam kind (``理论``, ``实际操作考核``, ``上机考试``…), not text containing one."""
    t = re.sub(r"[\s()（）【】\[\]]", "", norm(text))
    return t in KIND_STEMS or _SUFFIX.sub("", t) in KIND_STEMS


def _all_kinds(table: Table, column: int) -> bool:
    values = [row.get(column).text for _i, row in zip(range(SCAN_ROWS), table.data_rows(), strict=False)]
    values = [v for v in values if v]
    return bool(values) and all(is_kind_word(v) for v in values)


def find_kind_column(table: Table, col: Collector) -> None:
    """Make the column whose values are all exam kinds the kind column, when the header did not name it.

    A column the header already maps to the kind and that holds exam kinds stays. Otherwise exactly one column not
    used for another field, whose values are all exam kinds, becomes the kind column (a note says which); with
    none or several such columns nothing changes and the usual checks report what is missing.
    """
    hm = table.header
    current = hm.col("kind")
    if current is not None and _all_kinds(table, current):
        return
    used = {c for key, cols in hm.columns.items() if key != "kind" for c in cols}
    width = max((len(row.cells) for row in table.sheet.rows[hm.row_index :]), default=0)
    found = [c for c in range(width) if c not in used and c != current and _all_kinds(table, c)]
    if len(found) != 1:
        return
    column = found[0]
    label = hm.labels.get(column) or f"第{column + 1}列"
    hm.labels[column] = label
    hm.columns["kind"] = [column]
    if label in col.ignored:
        col.ignored.remove(label)
    if label in hm.ignored:
        hm.ignored.remove(label)
    if current is not None:
        hm.ignored.append(hm.labels[current])
        col.ignored.append(hm.labels[current])
    col.recognised.append(f"按内容把「{label}」列识别为考试类型")

"""Header synonyms per field, and finding the header row under any title rows."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from bot.importer.read import Sheet

HEADER_SCAN_ROWS = 10  # the header is looked for in the first rows of a sheet
MIN_HEADER_FIELDS = 2  # a row naming fewer known fields is not a header


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A canonical field, the headers offices use for it, and whether several columns may feed it."""

    key: str
    label: str  # the header our template uses, also used in messages
    synonyms: tuple[str, ...] = ()
    pattern: str | None = None  # a regex over the normalised header, for numbered columns (监考员1, 监考员2…)
    multi: bool = False
    note: str = ""  # explanation for the template's 说明 sheet

    def names(self) -> tuple[str, ...]:
        """The label and every synonym."""
        return (self.label, *self.synonyms)


def norm_header(text: str) -> str:
    """A header reduced for comparison: NFKC, no spaces, no required-markers, lower case."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\s+", "", text).strip("*＊:")
    return text.lower()


SCHEDULE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "session", "场次", ("场次号", "批次", "考试场次", "场次编号"), note="如“第1场”；同一场次的多个考场可合并单元格"
    ),
    FieldSpec("date", "考试日期", ("日期", "考试日期(年月日)"), note="如 2026-12-05 或 2026年12月5日"),
    FieldSpec(
        "time", "考试时间", ("时间", "考试时段", "时段"), note="如 8:30-10:00，也可写成“2026年12月5日 8:30-10:00”"
    ),
    FieldSpec("start", "开始时间", ("考试开始时间",)),
    FieldSpec("end", "结束时间", ("考试结束时间",)),
    FieldSpec(
        "occupation",
        "职业(工种)",
        ("职业", "工种", "职业名称", "鉴定职业(工种)", "考试职业(工种)", "鉴定职业", "考试职业", "报考职业"),
        note="如“电工”",
    ),
    FieldSpec(
        "level", "等级", ("级别", "鉴定级别", "技能等级", "职业技能等级", "考试职业技能等级"), note="如“四级/中级工”"
    ),
    FieldSpec(
        "kind",
        "考试类型",
        (
            "考试类别",
            "鉴定科目",
            "科目",
            "考试科目",
            "考核科目",
            "鉴定方式",
            "考核方式",
            "考试方式",
            "考试形式",
            "考核形式",
            "鉴定类型",
            "考核类型",
            "认定方式",
            "评价方式",
            "类型",
        ),
        note="理论、上机（机考）或实操（操作技能）",
    ),
    FieldSpec("room", "考场", ("考场号", "考场名称", "考试教室", "考场编号", "教室"), note="如“第1考场”或“01”"),
    FieldSpec("location", "考试地点", ("地点", "考试场地", "考场地点", "考场位置"), note="如“实训楼302”"),
    FieldSpec("expected", "应考人数", ("人数", "考生人数", "考场人数", "考试人数", "学生人数"), note="整数"),
    FieldSpec("chief", "主监考", ("主监考员", "主考", "主考人员"), multi=True, note="姓名须与人员名单一致"),
    FieldSpec("deputy", "副监考", ("副监考员",), multi=True, note="可填多人，用顿号分隔"),
    FieldSpec(
        "invigilators",
        "监考员",
        ("监考教师", "监考老师", "监考人员", "监考"),
        pattern=r"(监考员|监考教师|监考老师|监考人员)[0-9a-z一二三四五六]+",
        multi=True,
        note="第一位视为主监考，其余为副监考",
    ),
    FieldSpec("evaluator_chief", "考评组长", (), multi=True),
    FieldSpec(
        "evaluators",
        "考评员",
        ("考评人员", "考评员姓名"),
        pattern=r"考评员[0-9一二三四五六]+",
        multi=True,
        note="实操考场的考评员，多人用顿号分隔",
    ),
    FieldSpec("supervisor", "督导", ("督导员", "质量督导员", "内部质量督导员", "质量督导"), multi=True),
    FieldSpec("group_chat", "群聊", ("群id", "群聊id", "考场群"), note="可选：考场群的会话 ID"),
    FieldSpec("webhook", "群机器人Webhook", ("机器人webhook", "webhook", "群机器人"), note="可选"),
    FieldSpec("secret", "机器人密钥", ("加签密钥", "机器人加签密钥", "密钥"), note="可选"),
)

STAFF_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("name", "姓名", ("人员姓名", "名字"), note="必填"),
    FieldSpec(
        "roles",
        "角色",
        ("人员类别", "类别", "岗位", "身份"),
        note="监考员、考评员、内部质量督导员、考务办公室、管理员，可填多个",
    ),
    FieldSpec("phone", "手机号", ("手机", "电话", "手机号码", "联系电话", "联系方式")),
    FieldSpec("wecom", "企业微信账号", ("企业微信", "企业微信id", "企业微信userid", "userid", "企微账号")),
    FieldSpec("dingtalk", "钉钉userId", ("钉钉账号", "钉钉id", "钉钉")),
    FieldSpec("cert", "考评员证发证日期", ("发证日期", "考评员证日期"), note="如 2024/3/7"),
    FieldSpec("note", "备注", ()),
    FieldSpec(
        "avoid",
        "回避声明",
        ("回避", "回避关系", "利益关系"),
        note="与考生的亲属、师生、师徒等关系，如 亲属:张三;师生:2026000003（考生姓名或准考证号），无则留空",
    ),
    FieldSpec(
        "senior",
        "高级考评员",
        ("高级考评员职业", "高级考评员(职业)"),
        note="本人是哪些职业(工种)的高级考评员，如 电工、焊工；答辩小组须有 3 名本职业高级考评员",
    ),
)

ROSTER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("ticket", "准考证号", ("考号", "考生考号", "准考证"), note="按文本填写，保留前导 0"),
    FieldSpec("name", "姓名", ("考生姓名",)),
    FieldSpec("id_number", "身份证号", ("身份证号码", "证件号码", "证件号", "sfzh"), note="按文本填写（18位）"),
    FieldSpec("room", "考场", ("考场号", "考场名称", "考场编号")),
    FieldSpec("seat", "座位号", ("座号", "座位")),
    FieldSpec("session", "场次", ("场次号", "批次", "考试场次")),
    FieldSpec("date", "考试日期", ("日期",)),
    FieldSpec("occupation", "职业(工种)", ("职业", "工种", "职业名称", "鉴定职业(工种)", "考试职业(工种)", "报考职业")),
    FieldSpec(
        "kind",
        "考试类型",
        ("考试类别", "鉴定科目", "科目", "考试科目", "考核科目", "鉴定方式", "考核方式", "考试方式", "类型"),
    ),
)

FIELDS_BY_KIND: dict[str, tuple[FieldSpec, ...]] = {
    "schedule": SCHEDULE_FIELDS,
    "staff": STAFF_FIELDS,
    "roster": ROSTER_FIELDS,
}


def match_field(header: str, fields: tuple[FieldSpec, ...]) -> FieldSpec | None:
    """The field a header names, or None; a parenthesised unit like ``(人)`` is ignored on a second try."""
    h = norm_header(header)
    if not h:
        return None
    for candidate in (h, re.sub(r"\(.*?\)", "", h)):
        for spec in fields:
            if candidate in (norm_header(n) for n in spec.names()):
                return spec
            if spec.pattern and re.fullmatch(spec.pattern, candidate):
                return spec
    return None


@dataclass(slots=True)
class HeaderMap:
    """Where the header is in a sheet and which column holds which field."""

    row_index: int  # index into Sheet.rows
    row_number: int
    columns: dict[str, list[int]] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)  # column → header text as written
    ignored: list[str] = field(default_factory=list)  # headers we do not use

    def col(self, key: str) -> int | None:
        """The (first) column of a field."""
        cols = self.columns.get(key)
        return cols[0] if cols else None

    def has(self, key: str) -> bool:
        """True when the sheet has a column for the field."""
        return key in self.columns

    def label(self, key: str) -> str:
        """The header text the office used for a field."""
        col = self.col(key)
        return self.labels.get(col, key) if col is not None else key


def _map_row(texts: list[str], fields: tuple[FieldSpec, ...], row_index: int, row_number: int) -> HeaderMap:
    hm = HeaderMap(row_index, row_number)
    for col, text in enumerate(texts):
        if not text:
            continue
        hm.labels[col] = text
        spec = match_field(text, fields)
        if spec is None or (spec.key in hm.columns and not spec.multi):
            hm.ignored.append(text)
            continue
        hm.columns.setdefault(spec.key, []).append(col)
    return hm


def find_header(sheet: Sheet, fields: tuple[FieldSpec, ...]) -> HeaderMap | None:
    """Score the first rows against the synonyms; the best row naming at least two fields is the header."""
    best: HeaderMap | None = None
    for index, row in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        hm = _map_row([c.text for c in row.cells], fields, index, row.number)
        if len(hm.columns) >= MIN_HEADER_FIELDS and (best is None or len(hm.columns) > len(best.columns)):
            best = hm
    return best

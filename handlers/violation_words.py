"""Reading a /违纪 message as staff type it on phones: the candidate (准考证号 or 座号), the type, the action.

Types follow the rules the staff enforce: 监考人员守则 (手机等电子设备, 替考, 考场纪律) for theory and
computer rooms, 实际操作考核考场规则 4 (串位换位, 借用工卡量具, 互相串通, 吸烟进食, 替代) and 3, 5 for
practical rooms. Actions: 考评人员管理办法 第五条(二) gives 劝告、警告、终止考试、宣布成绩无效; in a practical
room 实际操作考核考场规则 8 gives 扣分、试卷（考件）作废、取消参考资格, and 劝告、警告 stay (第五条 is every
考评员's). Words are matched longest first at the earliest place, so “使用手机终止考试” typed without spaces
reads as 使用手机 + 终止考试, never as 手机 with “使用” left over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import UserFacingError
from bot.store.tables import SessionKind
from handlers._parse import CN_NUM, TICKET_RE, clean, cn_number, free_text, nfkc, split_args, typed_span

USAGE = (
    "/违纪 考场 准考证号 类型 [处理] [说明]（名单有座号时可写座号，如 5号），"
    "例：/违纪 3 2026000003 抄袭 警告，/违纪 3 5号 使用手机 终止考试"
)

PHONE, USE_PHONE, SMUGGLE, COPY, WHISPER, PASS, IMPOSTOR = (
    "携带手机等电子设备",
    "使用手机",
    "夹带",
    "抄袭",
    "交头接耳",
    "传递物品",
    "替考",
)
DISORDER, DISOBEY, OTHER = "扰乱考场秩序", "不服从管理", "其他"
SWAP, BORROW, UNSAFE, MARK, COLLUDE, SMOKE = (
    "串位换位",
    "借用工卡量具",
    "违反安全操作规程",
    "考件留标记",
    "互相串通",
    "吸烟进食",
)
# The first seven keep the numbers staff know from the dialog's list; the new types follow them.
THEORY_TYPES: tuple[str, ...] = (PHONE, WHISPER, COPY, PASS, IMPOSTOR, DISORDER, DISOBEY, USE_PHONE, SMUGGLE, OTHER)
PRACTICAL_TYPES: tuple[str, ...] = (
    *(SWAP, BORROW, COLLUDE, UNSAFE, MARK, SMOKE, WHISPER, USE_PHONE, IMPOSTOR, DISORDER, DISOBEY, OTHER),
)
TYPES: tuple[str, ...] = tuple(dict.fromkeys((*THEORY_TYPES, *PRACTICAL_TYPES)))

_TYPE_SYNONYMS: dict[str, tuple[str, ...]] = {
    PHONE: ("携带电子设备", "携带手机", "带了手机", "带手机", "手机未关", "没关手机", "电子设备", "手机", "携带"),
    USE_PHONE: (
        *("使用手机等电子设备", "使用电子设备", "使用手机", "用手机", "玩手机", "看手机", "手机作弊"),
        *("接打电话", "打电话", "接电话", "发短信", "拍照", "拍题"),
    ),
    SMUGGLE: ("夹带资料", "携带资料", "携带小抄", "带小抄", "小抄", "纸条夹带", "夹带纸条"),
    COPY: ("偷看", "抄答案", "看别人"),
    WHISPER: ("交头结耳", "讲话", "说话", "聊天"),
    PASS: ("传纸条", "传答案", "传递"),
    IMPOSTOR: ("代考", "冒名顶替", "顶替", "替代"),
    DISORDER: ("扰乱", "喧哗", "吵闹"),
    DISOBEY: ("不服从", "无理纠缠", "纠缠考评"),
    OTHER: ("其它",),
    SWAP: ("串位", "换位", "换工位", "串工位"),
    BORROW: ("借用工具", "借用量具", "借工具", "借用原材料", "借材料"),
    UNSAFE: (
        *("违反安全规程", "违反操作规程", "违反规程", "不按规程操作", "违章操作", "违规操作", "不安全操作"),
        *("操作不规范", "未按要求着装", "未穿工作服"),
    ),
    MARK: ("留标记", "做标记", "做记号", "留记号"),
    COLLUDE: ("串通", "互相串通作弊"),
    SMOKE: ("吸烟", "抽烟", "吃东西", "吃食物"),
}
TYPE_WORDS: tuple[tuple[str, str], ...] = tuple((word, t) for t in TYPES for word in (t, *_TYPE_SYNONYMS.get(t, ())))

WARN, CAUTION, STOP, VOID = "劝告", "警告", "终止考试", "宣布成绩无效"
DEDUCT, SCRAP, DISQUALIFY = "扣分", "考件作废", "取消参考资格"
THEORY_ACTIONS: tuple[str, ...] = (WARN, CAUTION, STOP, VOID)
PRACTICAL_ACTIONS: tuple[str, ...] = (WARN, CAUTION, DEDUCT, SCRAP, DISQUALIFY)
ACTIONS: tuple[str, ...] = tuple(dict.fromkeys((*THEORY_ACTIONS, *PRACTICAL_ACTIONS)))
_ACTION_SYNONYMS: dict[str, tuple[str, ...]] = {
    WARN: ("口头劝告",),
    CAUTION: ("口头警告",),
    STOP: ("终止", "停止考试"),
    VOID: ("成绩无效",),
    DEDUCT: (),
    SCRAP: ("试卷考件作废", "试卷作废", "工件作废", "作废"),
    DISQUALIFY: ("取消考试资格", "取消考核资格", "取消资格", "取消参考"),
}
ACTION_WORDS: tuple[tuple[str, str], ...] = tuple(
    (word, a) for a in ACTIONS for word in (a, *_ACTION_SYNONYMS.get(a, ()))
)
SERIOUS_ACTIONS = frozenset({STOP, VOID, SCRAP, DISQUALIFY})
SERIOUS_TYPES = frozenset({IMPOSTOR})
MAX_POINTS = 100

# Protective equipment left off: a breach of the safety rules (实际操作考场安全工作规则 1, 5), said as the act.
_NO_PROTECTION_RE = re.compile(
    r"(?:未|没有?|不)(?:戴|佩戴|带|穿|穿戴|系)好?(?:护目镜|防护眼镜|安全帽|手套|绝缘手套|口罩|面罩|防护面罩|工作服|"
    r"劳保鞋|绝缘鞋|安全带|劳保用品|防护用品)"
)
_NOTE_MARKERS = ("说明", "备注")
TYPE_CONFLICT = "违纪类型只能写一种，其他情况请写在“说明：”后面。"
ACTION_CONFLICT = f"处理只能写一种：{'、'.join(THEORY_ACTIONS)}。实操考场为：{'、'.join(PRACTICAL_ACTIONS)}。"
# Written anywhere outside the note these always name a type (手机 or 说话 inside a note may not).
_STRONG_TYPE_WORDS = frozenset(TYPES) | frozenset({"代考", "冒名顶替"})
_ANY_ACTION_WORD = frozenset(w for w, _ in ACTION_WORDS)

_NUM = rf"(\d{{1,3}}|[{CN_NUM}]{{1,4}})"
# 扣5分, 扣 5 分, 扣分5, 扣分 5分, 扣五分
_POINTS_RE = re.compile(rf"扣\s*{_NUM}\s*分|扣分\s*{_NUM}\s*分?")
# Seats said as seats: 座号5, 座位5, 5号座, 5座, 05号座位; a computer room's 机位 is its seat (机位12). A 工位 (5号工位,
# 工位5) is read the same way, and ViolationArgs.station says so: in a practical room the 工位 is drawn by lot at
# check-in (实际操作考核考场规则 2.), so it is no roster seat there (handlers/violation.py).
_SEAT_RE = re.compile(
    rf"(?:座号|座位号?|座|工位号?|机位号?)\s*{_NUM}|(?<![\d{CN_NUM}]){_NUM}号?(?:座(?:位)?(?:号)?|工位|机位)"
)
_STATION = "工位"
# 5号 as a word of its own: a seat when no 准考证号 is written (else the room, as elsewhere)
_HAO_RE = re.compile(rf"(?<!\S){_NUM}\s*号(?!\S)")


def kind_is_practical(kind: SessionKind | str | None) -> bool:
    """实操 rooms have their own actions and their staff are 考评员."""
    return kind == SessionKind.PRACTICAL


def types_for(kind: SessionKind | str | None) -> tuple[str, ...]:
    """The types offered in a room of this kind (every type is accepted in any room)."""
    return PRACTICAL_TYPES if kind_is_practical(kind) else THEORY_TYPES


def actions_for(kind: SessionKind | str | None) -> tuple[str, ...]:
    """The on-the-spot actions of a room of this kind."""
    return PRACTICAL_ACTIONS if kind_is_practical(kind) else THEORY_ACTIONS


def staff_word(kind: SessionKind | str | None) -> str:
    """考评员 in practical rooms, 监考员 elsewhere."""
    return "考评员" if kind_is_practical(kind) else "监考员"


def action_text(action: str | None, points: int | None) -> str:
    """扣5分 for a deduction with its points, else the action (未填写 when none)."""
    if action == DEDUCT and points:
        return f"扣{points}分"
    return action or "未填写"


def wrong_room_kind(action: str, kind: SessionKind | str | None) -> str | None:
    """Why ``action`` does not fit a room of ``kind`` (None when it does)."""
    if action in actions_for(kind):
        return None
    if kind_is_practical(kind):
        instead = {STOP: DISQUALIFY, VOID: SCRAP}.get(action)
        hint = f"，对应的处理是“{instead}”" if instead else ""
        return (
            f"“{action}”是理论考场的处理{hint}。实操考场由考评员按实际操作考核考场规则第8条处理："
            f"{'、'.join(PRACTICAL_ACTIONS)}。"
        )
    return f"“{action}”是实操考场的处理。理论考场的处理为：{'、'.join(THEORY_ACTIONS)}。"


@dataclass
class ViolationArgs:
    """What /违纪 was told; the candidate, type and action may be missing (the dialog asks for them)."""

    room: int | None
    ticket: str | None
    seat: str | None
    type: str | None
    action: str | None
    points: int | None
    note: str
    station: bool = False  # the seat was said as a 工位 (5号工位): in a practical room it names no candidate

    @property
    def has_candidate(self) -> bool:
        """A 准考证号 or a 座号 was written."""
        return self.ticket is not None or self.seat is not None

    @property
    def only_where(self) -> bool:
        """Nothing but the room and perhaps the candidate: the rest is asked for in a dialog."""
        return self.type is None and self.action is None and not self.note

    @property
    def station_note(self) -> str:
        """The 工位 as a note keeps it (5号工位); empty when the seat was not said as a 工位."""
        return f"{self.seat}号{_STATION}" if self.station and self.seat else ""

    @property
    def candidate_answer(self) -> str:
        """The candidate as a dialog answer (准考证号, or 座号5)."""
        return self.ticket or (f"座号{self.seat}" if self.seat else "")


def take_word(text: str, words: tuple[tuple[str, str], ...]) -> tuple[str | None, str]:
    """The earliest keyword in ``text`` (longest on a tie) and the text without it; a longer keyword overlapping it
    wins, and both go (偷看手机 is 看手机, not 偷看 and a second type 手机)."""
    found = [(i, len(word), value) for word, value in words if (i := text.find(word)) >= 0]
    if not found:
        return None, text
    first = min(found, key=lambda f: (f[0], -f[1]))
    i, n, value = min(
        (f for f in found if f[0] < first[0] + first[1] and first[0] < f[0] + f[1]), key=lambda f: (-f[1], f[0])
    )
    start, end = min(i, first[0]), max(i + n, first[0] + first[1])  # both words go (no 偷 left over)
    return value, clean(text[:start] + " " + text[end:])


def conflicts(rest: str, words: tuple[tuple[str, str], ...], taken: str, *, anywhere: frozenset[str]) -> bool:
    """Whether ``rest`` names a second, different value: as a whole word, or inside a word for ``anywhere`` words."""
    tokens = set(rest.split())
    return any(value != taken and (word in tokens or (word in anywhere and word in rest)) for word, value in words)


def take_points(text: str) -> tuple[int | None, bool, str]:
    """A deduction written with its points (扣5分): (points, found, text without it)."""
    m = _POINTS_RE.search(text)
    if m is None:
        return None, False, text
    return cn_number(m.group(1) or m.group(2)), True, clean(text[: m.start()] + " " + text[m.end() :])


def points_answer(text: str) -> str | None:
    """A dialog's answer to 扣几分 (5, 5分, 扣5分, 五) as “5分”; None when it is no positive number."""
    n = cn_number(clean(text).replace("扣", "").replace("分", "").strip())
    return f"{n}分" if n is not None and n > 0 else None


def take_action(text: str, usage: str = USAGE) -> tuple[str | None, int | None, str]:
    """The action (with points for 扣分) and the text without it; a second action is refused."""
    points, found, rest = take_points(text)
    action: str | None = DEDUCT if found else None
    if action is None:
        action, rest = take_word(rest, ACTION_WORDS)
    if action is not None and conflicts(rest, ACTION_WORDS, action, anywhere=_ANY_ACTION_WORD):
        raise UserFacingError(ACTION_CONFLICT, usage=usage)
    return action, points, rest


def station_said(text: str) -> str | None:
    """The 工位 said in ``text`` (5号工位, 工位5, 5工位, 工位号5) as “5号工位”; None when no 工位 is."""
    for m in _SEAT_RE.finditer(clean(text)):
        n = cn_number(next(g for g in m.groups() if g))
        if _STATION in m.group() and n is not None:
            return f"{n}号{_STATION}"
    return None


def _take_seat(text: str) -> tuple[str | None, bool, str]:
    """A seat (座号5, 5号座, 5号工位, or a lone 5号 word) when no 准考证号 is written, whether it was said as a 工位,
    and the text without it."""
    if TICKET_RE.search(text):
        return None, False, text  # with a 准考证号, “3号 座位” is part of the note and 3号 at an edge the room
    m = _SEAT_RE.search(text)
    if m is None:
        found = list(_HAO_RE.finditer(text))
        # One 号 word is the seat; with two (“3号 5号”) the first is the room and the second the seat.
        # Alone (“/违纪 2号”) it is the room, as “/违纪 2” is: the dialog asks for the rest.
        m = found[-1] if found and (len(found) > 1 or text.strip() != found[0].group().strip()) else None
    if m is None:
        return None, False, text
    n = cn_number(next(g for g in m.groups() if g))
    if n is None:
        return None, False, text
    return str(n), _STATION in m.group(), clean(text[: m.start()] + " " + text[m.end() :])


def parse(text: str, usage: str = USAGE) -> ViolationArgs:
    """Room, one candidate, the type and the action in any order; what is left (and all after 说明：) is the note.

    Raises only for what cannot be one record (two candidates, two types, two actions); what is missing is
    left None for the caller to ask (see :func:`require`).
    """
    head, tail = nfkc(text), ""
    marks = [(i, m) for m in _NOTE_MARKERS if (i := head.find(m)) >= 0]
    if marks:
        i, m = min(marks)
        head, tail = head[:i], head[i + len(m) :]
    typed = head  # before 说明：, as typed
    seat, station, head = _take_seat(clean(head))
    a = split_args(head)
    if len(set(a.tickets)) > 1 or (a.tickets and seat):
        raise UserFacingError("一条违纪记录只写一名考生，请分开发送。", usage=usage)
    rest = a.rest
    for prefix in ("类型", "处理", "违纪"):
        rest = rest.replace(prefix, " ")
    rest = described = clean(rest)
    action, points, rest = take_action(rest, usage)
    vtype, rest = take_word(rest, TYPE_WORDS)
    if vtype is None and _NO_PROTECTION_RE.search(rest):
        vtype = UNSAFE  # “未戴护目镜” names the act: the type is implied and the words stay as the note
    raw_tail, tail = tail, clean(tail) if tail else ""
    if vtype is None and tail:  # “说明：” written before the type
        vtype, tail = take_word(tail, TYPE_WORDS)
    elif tail:
        tail = free_text(raw_tail)  # the note after 说明： as typed, Chinese punctuation and all
    # A second type outside the note would silently record the milder one (抄袭 替考).
    if vtype is not None and conflicts(rest, TYPE_WORDS, vtype, anywhere=_STRONG_TYPE_WORDS):
        raise UserFacingError(TYPE_CONFLICT, usage=usage)
    ticket = a.tickets[0] if a.tickets else None
    # A keyword cut out of a word (手机响了 已警告 leaves 响了 已) leaves fragments: the note is what was said, whole.
    left = clean(rest).split()
    note = typed_span(typed, described if any(w not in described.split() for w in left) else " ".join(left))
    note = " ".join(x for x in (note, tail) if x)
    return ViolationArgs(a.room, ticket, seat, vtype, action, points, note, station)


STATION_DRAWN = "工位按抽签确定（《实际操作考核考场规则》2.），不能由工位号查到考生"


def station_refusal(label: str, ask: str) -> str:
    """Why a practical room's 工位 names no candidate (第3考场是实操考场，工位按抽签确定…), then what to write."""
    return f"{label}是实操考场，{STATION_DRAWN}。{ask}"


def with_ticket(args: ViolationArgs) -> str:
    """The same /违纪 written with the candidate and the 工位 kept: /违纪 准考证号 5号工位 违反安全操作规程 警告."""
    room = str(args.room) if args.room else None
    action = action_text(args.action, args.points) if args.action else None
    parts = ["/违纪", room, "准考证号", args.station_note, args.type, action, args.note]
    return " ".join(p for p in parts if p)


def require(args: ViolationArgs, kind: SessionKind | str | None, usage: str = USAGE) -> None:
    """Refuse a record that lacks its candidate or type, a 扣分 without points, an action of the other room kind."""
    if not args.has_candidate:
        raise UserFacingError("请写违纪考生的准考证号。名单有座号时也可写座号，如 5号。", usage=usage)
    if args.type is None:
        types = "、".join(types_for(kind))
        if args.note:  # words that are no type (未按规定着装): 其他 keeps them as the note
            raise UserFacingError(
                f"“{args.note}”不是可选的违纪类型。请写其中之一：{types}；都不是的写“其他”，原话记作说明，"
                f"例：{_as_other(args)}",
                usage=usage,
            )
        raise UserFacingError(f"请写违纪类型：{types}。", usage=usage)
    if args.action is not None and (why := wrong_room_kind(args.action, kind)) is not None:
        raise UserFacingError(why, usage=usage)
    if args.action == DEDUCT and not args.points:
        raise UserFacingError("扣分请写扣几分，例：扣5分。", usage=usage)
    if args.points is not None and not 0 < args.points <= MAX_POINTS:
        raise UserFacingError(f"扣分应在 1 到 {MAX_POINTS} 分之间。", usage=usage)


def _as_other(args: ViolationArgs) -> str:
    """The same record typed with 其他: /违纪 3 5号 其他 扣5分 未按规定着装."""
    action = f"扣{args.points}分" if args.action == DEDUCT and args.points else args.action
    if args.action == DEDUCT and not args.points:
        action = None  # 扣分 without points is refused next; the example should not repeat it
    who = args.ticket or (f"{args.seat}号" if args.seat else None)
    parts = ["/违纪", str(args.room) if args.room else None, who, OTHER, action, args.note]
    return " ".join(p for p in parts if p)


def is_serious(action: str | None, vtype: str | None) -> bool:
    """终止考试, 宣布成绩无效, 考件作废, 取消参考资格 and 替考: alerted at once and confirmed by a second person."""
    return action in SERIOUS_ACTIONS or vtype in SERIOUS_TYPES

"""Reading /缺考's arguments: the room, tickets or seats (3号座, or 3号 beside another room), 无, a head count,
or 删 with the tickets to take off the list and a reason."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.errors import UserFacingError
from handlers._parse import CN_NUM, NONE_WORDS, ROOM_FIRST_RE, ROOM_STRICT_RE, Args, clean, cn_number, split_args
from handlers._show import not_that_name, tickets_named, twice_on_roster

USAGE = (
    "/缺考 考场 准考证号或座号…（没有缺考写“无”；删除写“删 准考证号 原因”），"
    "例：/缺考 3 2026000003 5号座，/缺考 3 删 2026000003 已到场"
)
_FILLER = ("考生", "人", "名", "缺")
# What is said about an absentee beside the ticket (“2026000003 赵静没来”): dropped, the name is checked.
_ABSENT_SAID = re.compile(r"(?:没有来|没来|没到|未到场|未到|缺席|未参加|没参加|请假)了?")
_COUNT = re.compile(rf"(\d{{1,3}}|[{CN_NUM}]{{1,4}})\s*(?:人|名|个)?")
_REMOVE = re.compile(r"(删除|移除|去掉|删)")
_NUM = rf"(\d{{1,3}}|[{CN_NUM}]{{1,4}})"
# A seat written as one: 座3, 座号3, 座位3, 3座, 3号座, 3座位.
_SEAT = re.compile(rf"(?:座号|座位号?|座)\s*{_NUM}\s*号?|{_NUM}\s*(?:号座位?|座位?|号座号)")
# 3号: a room when first (or last) and nothing else names the room, otherwise a seat.
_HAO = re.compile(rf"{_NUM}号")
_BARE_ROOM = re.compile(rf"\d{{1,3}}|第?[{CN_NUM}]{{1,4}}")


@dataclass
class AbsentArgs:
    """What /缺考 was told."""

    room: int | None
    tickets: list[str]
    none: bool
    count: int | None
    seats: list[str] = field(default_factory=list)  # seat numbers as compared (see bot.store.rooms.seat_key)
    remove: bool = False  # /缺考 删: take the tickets off the room's list
    reason: str = ""  # why (removal only)
    only_room: str = ""  # the room alone was written (“3”, “3号”): as typed, for the handler to decide
    stray: list[str] = field(default_factory=list)  # words beside tickets or seats, names perhaps (see check_stray)
    by_name: bool = False  # no ticket or seat: the stray words are the absentees' names (see names_to_tickets)


def says_absent(text: str) -> bool:
    """Whether ``text`` says someone did not come (没来, 未到…): then a “3号” beside it is a candidate's seat."""
    return _ABSENT_SAID.search(text) is not None


def as_seats(text: str) -> AbsentArgs | None:
    """``text`` with every “3号” read as a seat (of the room left to the sender's duty), when that reading leaves no
    room written (“3号”, “3号 7号”); None when it reads the same or is no report (then the first reading stands)."""
    words = clean(text).split()
    if not words or _REMOVE.search(text) or all(_hao(w) is None for w in words):
        return None
    seats, rest = _split_seats(words, room_elsewhere=True)
    try:
        args = _addition(" ".join(rest), seats, USAGE)
    except UserFacingError:
        return None
    return args if args.room is None and args.seats else None


def seats_spelled(text: str) -> str:
    """``text`` with every “3号” written as “3号座”: the reading of :func:`as_seats` kept for a later answer (the
    confirmation of a report sent too early parses the text again)."""
    return " ".join(f"{n}号座" if (n := _hao(w)) is not None else w for w in clean(text).split())


def _seat(word: str) -> str | None:
    """The seat number a word writes as a seat (“3号座”, “座03”), without leading zeros; None otherwise."""
    m = _SEAT.fullmatch(word)
    if m is None:
        return None
    n = cn_number(m.group(1) or m.group(2))
    return str(n) if n is not None else None


def _hao(word: str) -> str | None:
    m = _HAO.fullmatch(word)
    n = cn_number(m.group(1)) if m is not None else None
    return str(n) if n is not None else None


def _split_seats(words: list[str], *, room_elsewhere: bool) -> tuple[list[str], list[str]]:
    """(seats, the words left): explicit seats always; a 3号 is a seat unless it is the room (see _HAO)."""
    seats: list[str] = []
    left: list[str] = []
    hao = [i for i, w in enumerate(words) if _hao(w) is not None]
    room_at: int | None = None
    if not room_elsewhere and hao:
        if hao[0] == 0:
            room_at = 0  # /缺考 3号 5号: room 3, seat 5 (a lone /缺考 3号: see only_room)
        elif hao == [len(words) - 1]:
            room_at = hao[0]  # /缺考 2026000003 3号: the room last, as split_args reads it
    for i, w in enumerate(words):
        seat = _seat(w)
        if seat is None and i != room_at:
            seat = _hao(w)
        if seat is not None and i != room_at:
            seats.append(seat)
        else:
            left.append(w)
    return seats, left


def parse(text: str, usage: str = USAGE) -> AbsentArgs:
    """Room, tickets or seats, 无, or a head count (缺考两人); or 删 with tickets or seats and a reason."""
    t = clean(text)
    m = _REMOVE.search(t)
    before, after = (t[: m.start()], t[m.end() :]) if m else (t, "")
    remove = m is not None
    words = before.split()
    room_elsewhere = bool(
        ROOM_STRICT_RE.search(before) or ROOM_FIRST_RE.search(before) or (words and _BARE_ROOM.fullmatch(words[0]))
    )
    if remove:
        a = split_args(before)
        seats, rest = _split_seats(after.split(), room_elsewhere=True)  # after 删: seats
        b = split_args(" ".join(rest), room_from_first_number=False)
        return _removal(a.room, a.rest, [*a.tickets, *b.tickets], seats, b, usage)
    seats, rest = _split_seats(words, room_elsewhere=room_elsewhere)
    return _addition(" ".join(rest), seats, usage)


def _removal(room: int | None, stray: str, tickets: list[str], seats: list[str], b: Args, usage: str) -> AbsentArgs:
    if stray.strip():
        raise UserFacingError(f"没有看懂“{stray.strip()}”，请把“删”写在准考证号前面。", usage=usage)
    room = room if room is not None else b.room  # /缺考 删 2026000003 第3考场
    reason = clean(b.rest).removeprefix("原因").strip()
    if not tickets and not seats:
        name, _, reason = reason.partition(" ")  # “删 赵静 到了”: a name, looked up in the roster
        if not name:
            raise UserFacingError("请写要从缺考名单中删除的准考证号或座号。", usage=usage)
        return AbsentArgs(room, [], False, None, remove=True, reason=reason.strip(), stray=[name], by_name=True)
    return AbsentArgs(room, list(dict.fromkeys(tickets)), False, None, seats, remove=True, reason=reason)


def _addition(text: str, seats: list[str], usage: str) -> AbsentArgs:
    a = split_args(text)
    words = a.words
    none = any(w.lower() in NONE_WORDS for w in words)
    words = [w for w in words if w.lower() not in NONE_WORDS]
    room = a.room
    named = bool(a.tickets or seats)
    if room is None and words and (none or named) and re.fullmatch(rf"[{CN_NUM}]{{1,4}}", words[0]):
        room, words = cn_number(words[0]), words[1:]  # “/缺考 一 无”: a bare 一 beside 无 or numbers is the room
    count: int | None = None
    left: list[str] = []
    for w in clean(" ".join(words).replace("缺考", " ")).split():
        m = _COUNT.fullmatch(w)
        if m is not None and count is None:
            count = cn_number(m.group(1))
        elif w not in _FILLER:
            left.append(w)
    tickets = list(dict.fromkeys(a.tickets))
    seats = list(dict.fromkeys(seats))
    left = [x for w in left if (x := _ABSENT_SAID.sub("", w)) and x not in _FILLER]
    by_name = bool(left) and not (tickets or seats)  # “/缺考 赵静 胡杰”: names, looked up in the room's roster
    if by_name and none:
        raise UserFacingError(f"没有看懂“{' '.join(left)}”，请写准考证号或座号，没有缺考写“无”。", usage=usage)
    if none and (tickets or seats or count):
        raise UserFacingError("写了“无”又写了缺考考生，请只写其中一种。", usage=usage)
    if count == 0:
        none, count = True, None
    if not tickets and not seats and not none and count is None and not by_name:
        if room is not None:
            return AbsentArgs(room, [], False, None, only_room=clean(text) or f"{room}号")
        raise UserFacingError("请写缺考考生的准考证号，没有缺考写“无”。", usage=usage)
    given = len(tickets) + len(seats) + (len(left) if by_name else 0)
    if given and count is not None and count != given:
        raise UserFacingError(f"写了缺考 {count} 人，却给了 {given} 个准考证号或座号，请核对。", usage=usage)
    return AbsentArgs(room, tickets, none, count, seats, stray=left, by_name=by_name)


def check_stray(args: AbsentArgs, tickets: list[str], names: dict[str, str], label: str, usage: str = USAGE) -> None:
    """Words beside the tickets may only be the names of those candidates (from the roster); the name of another
    candidate of the room, a name not on the roster of room ``label``, or anything else, is refused before anything
    is recorded."""
    if args.by_name:
        return  # the words were the names looked up (names_to_tickets)
    mine = {names.get(t) for t in tickets}
    for word in args.stray:
        if word in mine:
            continue
        theirs = tickets_named(names, word)
        if theirs:
            raise UserFacingError(not_that_name(word, theirs), usage=usage)
        why = _not_a_name(word, names, label, beside_ticket=True)
        raise UserFacingError(f"{why}请写准考证号或座号，没有缺考写“无”。", usage=usage)


_NAME_LIKE = re.compile(r"[\u4e00-\u9fff]{2,4}")
# The commonest Chinese surnames (about nine people in ten bear one) and the compound ones: a word beside a ticket is
# read as a name only when it starts with one (“/缺考 2026000012 不知道” is not understood, not a missing name).
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
    "崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施"
)
_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "令狐", "皇甫", "慕容", "尉迟", "长孙", "司徒", "夏侯")


def _name_like(word: str, *, beside_ticket: bool) -> bool:
    """Whether ``word`` may be a person's name: 2-4 Chinese characters, and beside a ticket also a surname first."""
    if _NAME_LIKE.fullmatch(word) is None:
        return False
    return not beside_ticket or word[0] in _SURNAMES or word.startswith(_COMPOUND_SURNAMES)


def _not_a_name(word: str, names: dict[str, str], label: str, *, beside_ticket: bool = False) -> str:
    """Why ``word`` is not an absentee: a name not on the room's roster (or no roster), else not understood."""
    if not _name_like(word, beside_ticket=beside_ticket):
        return f"没有看懂“{word}”，"
    if not names:
        return f"{label}没有导入考生名单，不能按姓名查找“{word}”；"
    return f"{label}的考生名单中没有“{word}”；"


def names_to_tickets(words: list[str], names: dict[str, str], label: str, usage: str = USAGE) -> list[str]:
    """Absentees written by name (“/缺考 赵静 胡杰”): their tickets from the room's roster (ticket → name); a name
    not on it, or on it twice, is refused (the ticket is then needed)."""
    out: list[str] = []
    for word in words:
        theirs = tickets_named(names, word)
        if not theirs:
            raise UserFacingError(f"{_not_a_name(word, names, label)}请写准考证号或座号，没有缺考写“无”。", usage=usage)
        if len(theirs) > 1:
            raise UserFacingError(twice_on_roster(label, word, theirs), usage=usage)
        out.append(theirs[0])
    return out

"""/补录: the office and supervisors enter or correct a past session's records (marked 补录 with who and when).

``/补录 12月5日 第1场 3 /缺考 2026000003`` runs /缺考 against room 3 of that day's first session instead
of the rooms of now; the rows it writes carry ``payload["backfill"]`` (see handlers/_reports.py ``append``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cn import CN_NUM, cn_number
from bot.dispatch import Backfill, Command, CommandTable, Context
from bot.errors import UserFacingError
from bot.model import Reply
from bot.permissions import SUPERVISOR_OR_OFFICE
from bot.store.rooms import WINDOW, sessions_of_day
from bot.store.tables import ExamSession
from handlers._parse import parse_day, split_args
from handlers._reports import BACKFILL_KEY
from handlers._rooms import BACKFILL_SESSION, local_today, span

USAGE = (
    "/补录 日期 [场次] 考场 /命令 内容，例：/补录 12月5日 第1场 3 /缺考 2026000003；"
    "更正、撤销只写编号：/补录 /更正 12 2026000005"
)
HELP = (
    "补录：考务办公室和督导为已结束的场次补录或更正记录（记录标注“补录”及补录人、时间）。\n"
    "写法：/补录 日期 [场次] 考场 /命令 内容\n"
    "· 日期：12月5日、12-05、昨天、今天（不写为今天）\n"
    "· 场次：场次代码或“第1场”（当天按开考时间排第几场），也可写开考时间 09:00；当天只有一个该号考场时可不写\n"
    "· 命令：缺考、违纪、试卷、突发、督导意见（内容同平时，不用再写考场），更正、撤销（只写编号，不用写日期考场）\n"
    "例：/补录 12月5日 第1场 3 /缺考 2026000003\n"
    "例：/补录 昨天 2 /试卷 回收 30\n"
    "例：/补录 /更正 12 2026000005"
)
# The report commands /补录 runs (primary names). The room ones resolve their room in the named session.
ROOM_COMMANDS = ("缺考", "违纪", "试卷", "领取", "回收", "突发", "督导意见")  # 领取 / 回收: /试卷's shortcuts
BY_NUMBER = ("更正", "撤销")
_ORDINAL = re.compile(rf"第?(\d{{1,2}}|[{CN_NUM}]{{1,3}})场")
_TIME = re.compile(r"(\d{1,2})(?::|点|时)(\d{2})?分?")
_SLASHES = ("/", "、")

table = CommandTable()


@dataclass
class Target:
    """What /补录 was told before the command: a day, perhaps a session and a room number."""

    day: date
    session: ExamSession | None
    room: int | None


def _inner(ctx: Context, words: list[str]) -> tuple[list[str], Command, str]:
    """Split the words into the target part and the command (slashed, or a bare report command name) with its args."""
    for i, word in enumerate(words):
        slashed = word[:1] in _SLASHES
        token = word[1:] if slashed else word
        rest = words[i + 1 :]
        if slashed and not token and rest:  # “/ 缺考 …”
            token, rest = rest[0], rest[1:]
        if not token:
            continue
        found = ctx.dispatcher.lookup(token, " ".join(rest))
        if found is None:
            if slashed:
                raise UserFacingError(f"没有“/{token}”这个命令。", usage=USAGE)
            continue
        cmd, args = found
        if slashed or cmd.name in ROOM_COMMANDS + BY_NUMBER:
            return words[:i], cmd, args
    raise UserFacingError("请在场次和考场后面写要补录的命令，例如 /缺考 2026000003。", usage=USAGE)


def _is_session_word(word: str) -> bool:
    return bool(_ORDINAL.fullmatch(word) or _TIME.fullmatch(word))


async def _target(ctx: Context, s: AsyncSession, words: list[str]) -> Target:
    """Day, session and room from the words before the command, in any order."""
    today = local_today(ctx)
    day: date | None = None
    rest: list[str] = []
    for word in words:
        d = parse_day(word, today)
        if d is not None and day is None:
            day = d
        else:
            rest.append(word)
    day = day or today
    if day > today:
        raise UserFacingError(f"{day.month}月{day.day}日还没到，不能补录。", usage=USAGE)
    sessions = list({sess.id: sess for _r, sess in await sessions_of_day(s, day, with_cancelled=True)}.values())
    named = {sess.code: sess for sess in sessions}
    session: ExamSession | None = None
    room: int | None = None
    for word in rest:
        a = split_args(word)
        is_room = a.room is not None and not a.rest and not a.tickets
        # A bare number is the room first (an office numbering its sessions 1, 2 … names them after the room).
        if session is None and word in named and not (is_room and room is None and word.isdigit()):
            session = named[word]
        elif session is None and _is_session_word(word):
            session = _session_by_word(ctx, day, sessions, word)
        elif room is None and is_room:
            room = a.room
        elif session is None and word in named:
            session = named[word]
        else:
            raise UserFacingError(f"没有看懂“{word}”，请写日期、场次和考场号，再写命令。", usage=USAGE)
    if session is not None:
        when = f"{session.code}（{span(ctx, session)}）"
        if session.cancelled_at is not None:
            raise UserFacingError(f"场次 {when} 已取消，不能补录。", usage=USAGE)
        if session.starts_at - WINDOW > ctx.now:
            raise UserFacingError(f"场次 {when} 还没开始，不能补录。", usage=USAGE)
    return Target(day, session, room)


def _session_by_word(ctx: Context, day: date, sessions: list[ExamSession], word: str) -> ExamSession:
    """第2场 (the day's second session not cancelled, by start) or 14:00 (the session starting then)."""
    live = sorted((x for x in sessions if x.cancelled_at is None), key=lambda x: x.starts_at)
    listed = "、".join(f"第{i}场 {x.code}（{span(ctx, x)}）" for i, x in enumerate(live, 1)) or "没有场次"
    m = _ORDINAL.fullmatch(word)
    if m is not None:
        n = cn_number(m.group(1)) or 0
        if 1 <= n <= len(live):
            return live[n - 1]
    else:
        t = _TIME.fullmatch(word)
        assert t is not None
        hour, minute = int(t.group(1)), int(t.group(2) or 0)
        tz = ctx.services.settings.tz
        for x in live:
            local: datetime = x.starts_at.astimezone(tz)
            if (local.hour, local.minute) == (hour, minute):
                return x
    raise UserFacingError(f"{day.month}月{day.day}日没有“{word}”这个场次。当天：{listed}", usage=USAGE)


@table.command("补录", "backfill", summary="补录或更正已结束场次的记录", usage=USAGE, permission=SUPERVISOR_OR_OFFICE)
async def backfill(ctx: Context, args: str) -> Reply | str | None:
    """/补录 12月5日 第1场 3 /缺考 2026000003: the report command run against that session's room."""
    if not args.strip():
        return HELP
    before, cmd, inner_args = _inner(ctx, args.split())
    if cmd.name not in ROOM_COMMANDS + BY_NUMBER:
        allowed = "、".join(f"/{n}" for n in ROOM_COMMANDS + BY_NUMBER)
        raise UserFacingError(f"/补录 只能用于 {allowed}；/{cmd.name} 请直接发送。", usage=USAGE)
    if not inner_args.strip():
        raise UserFacingError(f"补录请把 /{cmd.name} 的内容写全（补录不走问答）。", usage=USAGE)
    if cmd.name in BY_NUMBER:
        ctx.backfill = Backfill(local_today(ctx))  # the report's number names its room
    else:
        async with ctx.services.db.read() as s:
            target = await _target(ctx, s, before)
        session_id = target.session.id if target.session is not None else None
        ctx.backfill = Backfill(target.day, session_id, target.room)
    result = await cmd.func(ctx, inner_args)
    if result is None:
        return None
    reply = result if isinstance(result, Reply) else Reply(result)
    head = f"【{ctx.state.get(BACKFILL_KEY) or '补录'}】{ctx.state.get(BACKFILL_SESSION, '')}"
    return replace(reply, text=f"{head}\n{reply.text}")

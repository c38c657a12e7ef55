"""/场次 and /换人: the office cancels a session, moves it, or swaps a person on a room's duty, from the chat.

The operations are the scheduler's (scheduler/changes.py, shared with ``exambot session`` and ``exambot swap``):
each is one transaction with its audit row, its re-planned reminders and its announcements to the people
affected and the rooms' groups, sent once this handler has returned.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import CommandTable, Context, normalize
from bot.errors import UserFacingError
from bot.model import Reply
from bot.permissions import OFFICE
from handlers._parse import CN_NUM, cn_number
from handlers._reports import actor
from handlers._rooms import local_today
from handlers._show import hm
from scheduler.changes import (
    Change,
    ChangeRefused,
    Planning,
    cancel_session,
    move_session,
    swap_staff,
)
from scheduler.changes_find import find_room, find_session, find_staff, room_named, room_of
from scheduler.changes_text import DAY_RE, SESSION_RE, nfkc, strip_reason, take_day, take_times

SESSION_USAGE = (
    "/场次 取消 场次 原因，例：/场次 取消 第1场 考点停电\n"
    "/场次 场次 推迟30分钟｜提前15分钟｜延长10分钟（已开考的场次推迟即延长，只改结束时间）\n"
    "/场次 改时间 场次 [新日期] 开始-结束，例：/场次 改时间 第1场 10:00-12:00、"
    "/场次 改时间 12月5日 第1场 12月6日 10点-12点"
    "（只写开始时间则时长不变；场次前可写日期）"
)
SWAP_USAGE = (
    "/换人 场次 [考场] 原人员 新人员 [原因]，例：/换人 第1场 3 张三 李四、/换人 第3考场 张三 换成 李四"
    "（新人员接替原职责和之后的提醒；只写考场时按原人员当天在该考场的场次）"
)

_CANCEL_WORDS = ("取消", "停考", "cancel")
_MOVE_WORDS = ("改时间", "调整时间", "改期", "调时间", "调整", "改到", "移到", "改", "move")
# 推迟半小时, 提前 20 分钟: the whole session shifts (its length kept); 推迟到 9:15 is a new start.
_SHIFT_WORDS = ("推迟", "延后", "延迟", "推后", "顺延", "提前", "延长")
_SHIFT_TO = re.compile(rf"^\s*(?:{'|'.join(_SHIFT_WORDS)})?\s*到?\s*")  # 延后到 9:15: a new start
_SHIFT = re.compile(
    rf"^({'|'.join(_SHIFT_WORDS)})(?:考试|时间|考试时间)?\s*(\d{{1,3}}|[{CN_NUM}]{{1,3}}|半)\s*个?\s*(分钟|分|小时|钟头)"
)
_ARROWS = re.compile(r"→|->|=>|换成|换为|改为|替换为|替换|换")
_ROOM = re.compile(r"^(?:第?\d{1,3}(?:号考场|考场|考室|号)?|第\d{1,3})$")
_ROOM_NAMED = re.compile(r"第?\d{1,3}号?(?:考场|考室)")  # written as a room, never a session

_STARTED = (
    "该场次 {when} 已开考，开始时间不能再改；延长考试请写 延长10分钟，或写原开始时间和新的结束时间（如 {when}-11:00）。"
)

table = CommandTable()


Operation = Callable[[AsyncSession, Planning], Awaitable[Change]]


def _verb(text: str) -> tuple[str | None, str]:
    """cancel / move and the rest (the verb may be glued to what follows: 取消第1场)."""
    low = text.lower()
    for verb, words in (("cancel", _CANCEL_WORDS), ("move", _MOVE_WORDS)):
        for w in words:
            if low.startswith(w):
                return verb, text[len(w) :].strip()
    parts = text.split()
    if any(part.startswith(_SHIFT_WORDS) for part in parts[:3]):
        return "move", text  # the shift is read with the times (see _shift)
    for verb, words in (("cancel", _CANCEL_WORDS), ("move", _MOVE_WORDS)):  # after the session: 第3场 改到 10点
        for i, part in enumerate(parts[1:3], start=1):
            if part.lower() in words:
                return verb, " ".join(parts[:i] + parts[i + 1 :])
    return None, text


def _spaced(text: str) -> list[str]:
    """Words, with a day glued to the session (12月5日第1场) or a session glued to a time (第1场10:00) apart."""
    t = DAY_RE.sub(lambda m: f" {m.group(0)} ", nfkc(text))
    t = SESSION_RE.sub(lambda m: f"{m.group(0)} ", t)
    t = _ROOM_NAMED.sub(lambda m: f" {m.group(0)} ", t)  # 第2考场陈刚换成郑凯: the room glued to a name (session 22)
    return t.split()


def _split(text: str, usage: str) -> tuple[str, str, str]:
    """(days written before the session, the session as typed, everything after it)."""
    words = _spaced(text)
    for i, w in enumerate(words):
        if DAY_RE.fullmatch(w) is None:
            return " ".join(words[:i]), w, " ".join(words[i + 1 :])
    raise UserFacingError("请写明是哪一场，例如 第1场。", usage=usage)


def _shift(text: str) -> tuple[timedelta, str, bool] | None:
    """推迟半小时 / 提前20分钟 / 延后1小时 / 延长10分钟 at the start of ``text``: (the shift, the rest: a reason,
    whether only the end moves: 延长)."""
    t = nfkc(text).strip()
    m = _SHIFT.match(t)
    if m is None:
        return None
    verb, num, unit = m.groups()
    hours = unit in ("小时", "钟头")
    if num == "半":
        if not hours:
            return None
        minutes = 30
    else:
        n = cn_number(num)
        if n is None:
            return None
        minutes = n * 60 if hours else n
    return timedelta(minutes=-minutes if verb == "提前" else minutes), t[m.end() :], verb == "延长"


async def _run(ctx: Context, op: Operation, usage: str) -> Reply:
    """Run one change in its own transaction; after the commit its announcements go out and timers are armed."""
    settings = ctx.services.settings
    planning = Planning(timeline=ctx.services.timeline, tz=settings.tz, escalate_to=settings.escalation_staff)
    try:
        async with ctx.services.db.session() as s:
            change = await op(s, planning)
    except ChangeRefused as exc:
        raise UserFacingError(exc.message, usage=usage) from exc
    ctx.outbox_keys.extend(change.keys)  # sent by the dispatcher once this handler has returned
    reminders = ctx.services.reminders
    if reminders is not None:
        reminders.wake_at_all(sorted(change.plan.due_times))
    return Reply(f"{change.summary}\n{change.told()}\n{change.reminders()}")


def _refused(message: str, usage: str) -> UserFacingError:
    return UserFacingError(message, usage=usage)


async def _cancel(ctx: Context, text: str) -> Reply:
    before, ref, after = _split(text, SESSION_USAGE)
    reason = strip_reason(after)
    if not reason:
        raise UserFacingError("取消场次请写明原因。", usage=SESSION_USAGE)
    tz = ctx.services.settings.tz
    today = local_today(ctx)
    try:
        day, _ = take_day(before, today)
    except ValueError as exc:
        raise _refused(str(exc), SESSION_USAGE) from exc

    async def op(s: AsyncSession, planning: Planning) -> Change:
        sess = await find_session(s, ref, day=day, today=today, tz=tz)
        return await cancel_session(s, sess, reason=reason, actor=actor(ctx), now=ctx.now, planning=planning)

    return await _run(ctx, op, SESSION_USAGE)


async def _move(ctx: Context, text: str) -> Reply:
    before, ref, after = _split(text, SESSION_USAGE)
    tz = ctx.services.settings.tz
    today = local_today(ctx)
    try:
        day, _ = take_day(before, today)
        new_day, after = take_day(after, today)
    except ValueError as exc:
        raise _refused(str(exc), SESSION_USAGE) from exc

    async def op(s: AsyncSession, planning: Planning) -> Change:
        sess = await find_session(s, ref, day=day, today=today, tz=tz)
        on = new_day or sess.starts_at.astimezone(tz).date()
        shift = _shift(after)
        started = sess.starts_at <= ctx.now
        if shift is not None:
            delta, rest, longer = shift
            if started and delta < timedelta(0):
                raise ChangeRefused(_STARTED.format(when=hm(ctx, sess.starts_at)))
            # An exam under way cannot start later: 推迟 / 延后 it is 延长, the end moves (开考 stays as it was).
            start = sess.starts_at if longer or started else sess.starts_at + delta
            end = sess.ends_at + delta
        else:
            try:
                times = take_times(_SHIFT_TO.sub("", after), on, tz)
            except ValueError as exc:
                raise ChangeRefused(str(exc)) from exc
            if times is None:
                raise ChangeRefused("请写新的开始和结束时间（如 10:00-12:00），或推迟、提前多久（如 推迟30分钟）。")
            start, rest = times.start, times.rest
            end = times.end or times.start + (sess.ends_at - sess.starts_at)
            if started and start != sess.starts_at and end > start:
                raise ChangeRefused(_STARTED.format(when=hm(ctx, sess.starts_at)))
        return await move_session(
            s,
            sess,
            starts_at=start,
            ends_at=end,
            actor=actor(ctx),
            now=ctx.now,
            planning=planning,
            reason=strip_reason(rest) or None,
        )

    return await _run(ctx, op, SESSION_USAGE)


@table.command(
    "场次", "session", summary="取消场次或调整场次时间（通知相关人员和考场群）", usage=SESSION_USAGE, permission=OFFICE
)
async def session_change(ctx: Context, args: str) -> Reply:
    """/场次 取消 … and /场次 改时间 …"""
    verb, rest = _verb(nfkc(args))
    if verb == "cancel":
        return await _cancel(ctx, rest)
    if verb == "move":
        return await _move(ctx, rest)
    raise UserFacingError("请写要做什么：取消 或 改时间。", usage=SESSION_USAGE)


@table.command(
    "换人", "swap", summary="更换某考场的监考或考评人员（通知双方和考场群）", usage=SWAP_USAGE, permission=OFFICE
)
async def swap(ctx: Context, args: str) -> Reply:
    """/换人 第1场 3 张三 李四 [原因]"""
    before, ref, after = _split(nfkc(args), SWAP_USAGE)
    head, tail = after.split()[:4], after.split()[4:]  # arrows only between the names, not inside a reason
    words = [*_ARROWS.sub(" ", " ".join(head)).split(), *tail]  # 陈刚换成郑凯 is two names
    room_ref = words.pop(0) if len(words) >= 3 and _ROOM.match(words[0]) else None
    if len(words) < 2:
        raise UserFacingError("请写原人员和新人员的姓名。", usage=SWAP_USAGE)
    old_name, new_name = words[0], words[1]
    reason = strip_reason(" ".join(words[2:])) or None
    tz = ctx.services.settings.tz
    today = local_today(ctx)
    try:
        day, _ = take_day(before, today)
    except ValueError as exc:
        raise _refused(str(exc), SWAP_USAGE) from exc

    async def op(s: AsyncSession, planning: Planning) -> Change:
        old = await find_staff(s, old_name)
        new = await find_staff(s, new_name)
        if room_ref is None and _ROOM_NAMED.fullmatch(ref):  # /换人 第4考场 黄磊 陈刚: the room, not the session
            sess, room = await room_named(s, ref, old, day or today, tz)
        else:
            sess = await find_session(s, ref, day=day, today=today, tz=tz)
            room = await find_room(s, sess, room_ref, tz) if room_ref else await room_of(s, sess, old, tz)
        return await swap_staff(
            s, sess, room, old, new, actor=actor(ctx), now=ctx.now, planning=planning, reason=reason
        )

    return await _run(ctx, op, SWAP_USAGE)


# “第2考场陈刚换成郑凯” said without /换人 (session 22): the room, then a name swapped for another.
_SWAP_SAID = re.compile(r"^第?\d{1,3}号?(?:考场|考室)\s*[^\s\d]{2,4}\s*(?:换成|换为|改为|替换为|->|→)\s*[^\s\d]{2,4}$")


@table.fallback(priority=94)
async def swap_sentence(ctx: Context) -> Reply | None:
    """The office's swap said as a sentence: nothing is changed, the reply gives the /换人 to send."""
    text = normalize(ctx.message.text)
    if not OFFICE(ctx) or _SWAP_SAID.search(text) is None:
        return None
    return Reply(f"这条没有执行。要换人，请发：/换人 {text}")

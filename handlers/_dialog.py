"""Guided dialogs: a command sent without arguments asks for them one at a time.

The state lives in the database (table ``dialog_state``), so a restart does not lose it; it
expires 10 minutes after the last answer. ``取消`` leaves a dialog; any new command replaces it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import CommandFunc, CommandTable, Context
from bot.errors import UserFacingError
from bot.model import Reply
from bot.store.rooms import room_label, rooms_now
from bot.store.tables import DialogState
from handlers._parse import CN_NUM, clean, cn_number, is_cancel, is_skip, nfkc, room_number, split_args
from handlers._rooms import SEES_ALL, my_rooms_now

TIMEOUT = timedelta(minutes=10)

table = CommandTable()


ChoicesFunc = Callable[[Context, list[Any]], Awaitable[list[str]]]
Check = Callable[[str], str | None]  # the answer as the command wants it, or None when not valid
# Why an answer the check did not take is refused (said instead of 没有看懂), or None: (ctx, answers so far, text).
WhyNot = Callable[[Context, list[Any], str], Awaitable[str | None]]


@dataclass(frozen=True)
class Step:
    """One question: the prompt, its choices (numbered, may be computed), whether it may be skipped."""

    prompt: str
    choices: Sequence[str] | ChoicesFunc = ()
    optional: bool = False
    check: Check | None = None
    hint: str = ""
    skip_if_single: bool = False  # computed choices with exactly one entry are answered at once
    numbered: bool = True  # False for rooms: "3" means 第3考场, not the third choice
    only_if: Callable[[list[Any]], bool] | None = None  # asked only when this holds for the answers so far
    # The answer is data (a room, tickets, seats, names) though ``check`` takes any text: a question typed here is a
    # rule question asked aside (see :func:`_aside`), not the answer. Free-text steps (notes, descriptions) keep it.
    wants_data: bool = False
    why_not: WhyNot | None = None


@dataclass(frozen=True)
class DialogSpec:
    """A command's dialog: the questions and what runs once all are answered (with the joined answers)."""

    command: str
    steps: tuple[Step, ...]
    run: CommandFunc
    join: Callable[[list[Any]], str] = field(default=lambda answers: " ".join(str(a) for a in answers if a))


def spec_of(ctx: Context, command: str) -> DialogSpec | None:
    """The dialog of ``command`` among those the dispatcher's tables registered (``table.dialog(spec)``)."""
    spec = ctx.dispatcher.dialogs.get(command)
    return spec if isinstance(spec, DialogSpec) else None


def _key(ctx: Context) -> tuple[str, str, str]:
    m = ctx.message
    return m.channel, m.sender_id, m.chat_id or ""


_D = DialogState.__table__  # type: ignore[attr-defined]
# Built once: every message from staff asks it, and almost always hears "no".
_OPEN = (
    sa_select(_D.c.command)
    .where(
        _D.c.channel == bindparam("channel"), _D.c.sender_id == bindparam("sender"), _D.c.chat_key == bindparam("chat")
    )
    .limit(1)
)


async def _open(s: AsyncSession, ctx: Context) -> bool:
    """Whether the sender has a dialog open in this chat (a cheap look before :func:`_load`)."""
    channel, sender, chat = _key(ctx)
    conn = await s.connection()
    return (await conn.execute(_OPEN, {"channel": channel, "sender": sender, "chat": chat})).first() is not None


async def _load(s: AsyncSession, ctx: Context) -> DialogState | None:
    channel, sender, chat = _key(ctx)
    return (
        await s.exec(
            select(DialogState).where(
                col(DialogState.channel) == channel,
                col(DialogState.sender_id) == sender,
                col(DialogState.chat_key) == chat,
            )
        )
    ).first()


async def _choices(step: Step, ctx: Context, answers: list[Any]) -> list[str]:
    if callable(step.choices):
        return list(await step.choices(ctx, answers))
    return list(step.choices)


def _question(step: Step, choices: list[str]) -> str:
    lines = [step.prompt]
    if choices and step.numbered:
        lines.append("  ".join(f"{i}.{c}" for i, c in enumerate(choices, 1)))
    elif choices:
        lines.append("可选：" + "、".join(choices))
    tail = "回复编号或内容" if choices and step.numbered else ""
    if step.optional:
        tail = (tail + "；" if tail else "") + "没有请回复“跳过”"
    if step.hint:
        tail = (tail + "；" if tail else "") + step.hint
    lines.append(f"（{tail + '；' if tail else ''}发“取消”退出）")
    return "\n".join(lines)


async def _advance(ctx: Context, state: DialogState, spec: DialogSpec) -> Reply | str | None:
    """Ask the next question, answering single-choice steps at once; run the command when done."""
    while state.step < len(spec.steps):
        step = spec.steps[state.step]
        if step.only_if is not None and not step.only_if(state.answers):
            state.answers = [*state.answers, ""]
            state.step += 1
            continue
        choices = await _choices(step, ctx, state.answers)
        if step.skip_if_single and len(choices) == 1:
            state.answers = [*state.answers, choices[0]]
            state.step += 1
            continue
        async with ctx.services.db.session() as s:
            row = await _load(s, ctx)
            if row is None:
                row = DialogState(
                    channel=state.channel,
                    sender_id=state.sender_id,
                    chat_key=state.chat_key,
                    command=state.command,
                    updated_at=ctx.now,
                )
                s.add(row)
            row.command, row.step, row.answers, row.updated_at = state.command, state.step, state.answers, ctx.now
        return _question(step, choices)
    await _drop(ctx)
    return await spec.run(ctx, spec.join(state.answers))


async def _drop(ctx: Context) -> None:
    async with ctx.services.db.session() as s:
        row = await _load(s, ctx)
        if row is not None:
            await s.delete(row)


async def start(ctx: Context, command: str, answers: list[Any] | None = None) -> Reply | str | None:
    """Begin the dialog of ``command`` (replacing any open one) and ask the first question."""
    if ctx.backfill is not None:  # its answers would come without the /补录 target and land in the rooms of now
        raise UserFacingError(f"补录请把 /{command} 的内容在一条消息里写全（补录不走问答）。")
    spec = spec_of(ctx, command)
    if spec is None:
        raise LookupError(f"no dialog registered for /{command}")
    channel, sender, chat = _key(ctx)
    state = DialogState(
        channel=channel,
        sender_id=sender,
        chat_key=chat,
        command=command,
        step=len(answers or []),
        answers=list(answers or []),
        updated_at=ctx.now,
    )
    return await _advance(ctx, state, spec)


def _accept(step: Step, choices: list[str], text: str) -> str | None:
    t = nfkc(text)
    if choices:
        n = cn_number(clean(t))
        if step.numbered and n is not None and 1 <= n <= len(choices):
            return choices[n - 1]
        for c in choices:
            if clean(t) and (clean(t) == clean(c) or (step.numbered and clean(t) in c)):
                return c
        if not step.numbered:
            wanted = split_args(t).room
            for c in choices:
                if wanted is not None and room_number(c) == wanted:
                    return c
        if step.check is None:
            return None
    if step.check is not None:
        return step.check(t)
    return t or None


NOTHING_TO_CANCEL = "当前没有进行中的操作。"


def _cancels_nothing(ctx: Context, text: str) -> bool:
    """取消 typed with no dialog open: privately any word for it, in a group 取消 itself (/取消 is a command)."""
    if text[:1] in ("/", "、") or not is_cancel(text):
        return False
    return not ctx.message.chat_id or clean(text) == "取消"


@table.hook(priority=0)
async def dialog_hook(ctx: Context) -> Reply | str | None:
    """Feed the answer to the sender's open dialog in this chat (a new command or 取消 ends it)."""
    if ctx.staff is None:
        return None
    text = nfkc(ctx.message.text)
    async with ctx.services.db.read() as s:  # most messages have no dialog: no write transaction for them
        if not await _open(s, ctx):
            return NOTHING_TO_CANCEL if _cancels_nothing(ctx, text) else None
    async with ctx.services.db.session() as s:
        row = await _load(s, ctx)
        if row is None:
            return None
        state = DialogState(
            channel=row.channel,
            sender_id=row.sender_id,
            chat_key=row.chat_key,
            command=row.command,
            step=row.step,
            answers=list(row.answers),
            updated_at=row.updated_at,
        )
        expired = ctx.now - row.updated_at > TIMEOUT
        is_command = bool(text) and text[0] in ("/", "、")
        if is_command and is_cancel(text[1:]):
            text, is_command = text[1:], False  # “/取消” ends the dialog like “取消”
        spec = spec_of(ctx, state.command)
        if expired or is_command or is_cancel(text) or spec is None:
            await s.delete(row)
    if expired:
        return _after_expiry(ctx, state.command, cancelled=is_cancel(text) and not is_command)
    if is_command:
        return None
    if is_cancel(text):
        return f"已取消 /{state.command}，没有记录任何内容。"
    if spec is None or state.step >= len(spec.steps):
        return None
    step = spec.steps[state.step]
    if step.optional and is_skip(text):
        value: str | None = ""
    else:
        choices = await _choices(step, ctx, state.answers)
        value = _accept(step, choices, text)
        if _aside(step, choices, text, value):
            answered = await _answer_aside(ctx, state.command, step)
            if answered is not None:
                return answered
        if value is None:
            why = await step.why_not(ctx, state.answers, text) if step.why_not is not None else None
            listed = f"请回复 1-{len(choices)} 中的编号" if choices else "请按提示回复"
            return (why or f"没有看懂“{text}”，{listed}，或发“取消”退出。") + "\n" + _question(step, choices)
    state.answers = [*state.answers, value]
    state.step += 1
    try:
        return await _advance(ctx, state, spec)
    except UserFacingError:
        await _drop(ctx)
        raise


# Reads as a question: ends with 吗/么/呢/咋办/怎么办/？, or asks 能不能/是否/要不要/怎么/咋/为什么 …
_ASKS = re.compile(
    r"(?:吗|么|呢|咋办|怎么办|咋整|如何|[?？])[\s。.!！~～…]*$|能不能|能否|可不可以|是否|要不要|需不需要|该不该|怎么|咋|为什么|为啥"
)
# Data a dialog may be answered with: a 准考证号, a seat or room (3号, 座3, 第3), a count (30份, 2人).
_DATA = re.compile(rf"\d{{5,}}|[\d{CN_NUM}]+\s*(?:号|份|人|名)|座\s*\d|第\s*[\d{CN_NUM}]")
_ASIDE_MIN = 5  # characters (without spaces and punctuation): “确定吗”, “好吗” stay answers to the question


def _aside(step: Step, choices: list[str], text: str, value: str | None) -> bool:
    """Whether ``text`` is a rule question typed while the dialog waits (有个考生手机响了咋办), not its answer: it reads
    as a question, holds no data the dialog could take, and the step did not take it (or takes any text only as data
    and no choice matches)."""
    core = re.sub(r"[\s\W_]+", "", text)
    if len(core) < _ASIDE_MIN or not _ASKS.search(text) or _DATA.search(text):
        return False
    if value is None:
        return True
    return step.wants_data and (not choices or _accept(replace(step, check=None), choices, text) is None)


async def _answer_aside(ctx: Context, command: str, step: Step) -> Reply | None:
    """Answer the question as plain text is answered (the dispatcher's fallbacks: the rule answerer), with one line
    saying the dialog still waits; None when nothing answers it (group chatter), so the dialog takes it as before."""
    for fb in ctx.dispatcher.fallbacks:
        result = await fb.func(ctx)
        if result is not None:
            reply = result if isinstance(result, Reply) else Reply(result)
            waiting = step.prompt.split("\n")[0] + ("" if "取消" in step.prompt else "发“取消”退出。")
            return replace(reply, text=f"{reply.text}\n（/{command} 还在等您回复：{waiting}）")
    return None


def _after_expiry(ctx: Context, command: str, *, cancelled: bool) -> str | None:
    """The message after an expired dialog takes its normal route, with the notice in front of its answer."""
    notice = f"（刚才的 /{command} 已超过10分钟没有回复，已自动取消，没有记录任何内容。）"
    if cancelled:
        return notice
    ctx.notices.append(notice)  # the state is gone: this hook passes and the dispatcher routes the message
    return None


async def my_room_choices(ctx: Context, answers: list[Any]) -> list[str]:
    """The sender's rooms in the sessions running now."""
    async with ctx.services.db.read() as s:
        mine = await my_rooms_now(ctx, s)
        if not mine and SEES_ALL(ctx):
            # The office and supervisors report for any room: offer the rooms running now (by their names, once each).
            labels = [room_label(r) for r, _sess in await rooms_now(s, ctx.now)]
            return list(dict.fromkeys(labels))
    running = [m for m in mine if m.session.starts_at <= ctx.now <= m.session.ends_at]
    return [m.label for m in (running if len(running) == 1 else mine)]


def room_step() -> Step:
    """Which room (left out when the sender has exactly one right now)."""
    return Step(
        "哪个考场？", my_room_choices, skip_if_single=True, numbered=False, check=lambda t: t or None, wants_data=True
    )


@table.command("取消", "cancel", summary="退出正在进行的问答", usage="/取消", hidden=True)
async def cancel(ctx: Context, args: str) -> str:
    """/取消 when no dialog is open."""
    return NOTHING_TO_CANCEL

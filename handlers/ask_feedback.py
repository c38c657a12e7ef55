"""Feedback from the floor on rule answers: /答错了 logs a dispute, the office pins the right clause (/钉住).

A dispute is about the sender's last answer (kb_last_answer): neither WeCom app callbacks nor DingTalk robot
messages, as /work/shared/protocols.md documents them and as bot/adapters parse them, carry the id of a quoted
message, so a reply that quotes an answer arrives as its typed text only. A bare “答错了” / “不对” (no slash),
such a reply included, counts as a dispute only when that person got an answer in the last few minutes (in the
same chat); otherwise it is a question like any other text.

Pins are rows of kb_pin: every instance reads them into its knowledge base when they changed (handlers/ask.py
``sync_pins``, one small query per question), so they survive restarts and apply everywhere.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import col, select

from bot.dispatch import CommandTable, Context, normalize
from bot.errors import UserFacingError
from bot.model import Reply
from bot.permissions import OFFICE
from bot.store.tables import AuditLog, KbPin, LastAnswer, Staff, UnansweredQuestion
from handlers._reports import actor
from handlers.ask import DISPUTED, day_start, knowledge_base, question_key, sync_pins
from knowledge.format import cite
from knowledge.models import Match
from knowledge.pins import ClauseRefError, pin_key, resolve_clause

table = CommandTable()

# /答错了 disputes the last answer of the last two hours; a bare “答错了” only one of the last five minutes.
COMMAND_WINDOW = timedelta(hours=2)
BARE_WINDOW = timedelta(minutes=5)
DISPUTES_PER_DAY = 20  # per sender: more are answered, not logged
MAX_NOTE = 200

DISPUTE_USAGE = "/答错了 [正确的条款或说明]，例：/答错了 应该是监考人员守则 3.(8)"
PIN_USAGE = (
    "/钉住 编号 文件 条款号（编号见 /未答问题），例：/钉住 12 监考人员守则 3.(8)\n"
    "或 /钉住 问题 => 文件 条款号，例：/钉住 监考员可以带手机吗 => 监考人员守则 3.(8)\n"
    "查看：/钉住 列表；取消：/钉住 删 编号"
)
# A bare dispute: 答错了, 回答错了, 不对, 答得不对, 错了吧 … optionally followed by a separator and a note.
_BARE = re.compile(
    r"^(?:你|机器人)?(?:刚才|刚刚|上面|上一条|上一个)?(?:那个|这个|那条|这条|的)?(?:回答|答案|答得|说得|回复)?"
    r"(?:答错了|错了|不对|有误|是错的|不正确)"
    r"(?:吧|啊|呀|哦|哈|了)*[!！。.~～]*(?:[\s,，:：;；]+(?P<note>.+))?$"
)
_PARTICLES = re.compile(r"^[吧啊呀哦哈了!！。.~～\s,，:：;；]+")  # /答错了吧 is not a note
_ARROW = re.compile(r"\s*(?:=>|->|→|＝＞|=)\s*")


def bare_dispute(text: str) -> tuple[bool, str]:
    """(True, note) when text reads as “that answer was wrong” (答错了, 不对，应该是… ), else (False, "")."""
    m = _BARE.match(normalize(text))
    if m is None:
        return False, ""
    return True, (m.group("note") or "").strip()


async def _last_answer(ctx: Context, window: timedelta) -> LastAnswer | None:
    async with ctx.services.db.read() as s:
        row = (await s.exec(select(LastAnswer).where(col(LastAnswer.sender) == actor(ctx)))).first()
    if row is None or ctx.now - row.at > window:
        return None
    return row


async def dispute(ctx: Context, last: LastAnswer, note: str) -> Reply:
    """Log that ``last`` was wrong (one row per answer: a second /答错了 adds its note) and say what was logged."""
    note = note[:MAX_NOTE]
    who = actor(ctx)
    async with ctx.services.db.session() as s:
        row = (
            await s.exec(
                select(UnansweredQuestion).where(
                    col(UnansweredQuestion.kind) == DISPUTED,
                    col(UnansweredQuestion.sender) == who,
                    col(UnansweredQuestion.key) == question_key(last.question),
                    col(UnansweredQuestion.at) >= last.at,
                )
            )
        ).first()
        if row is not None:
            if note:
                row.note = (f"{row.note}；{note}" if row.note else note)[:500]
            row.last_at = ctx.now
            s.add(row)
        else:
            logged_today = (
                await s.exec(
                    select(col(UnansweredQuestion.id)).where(
                        col(UnansweredQuestion.kind) == DISPUTED,
                        col(UnansweredQuestion.sender) == who,
                        col(UnansweredQuestion.at) >= day_start(ctx),
                    )
                )
            ).all()
            if len(logged_today) >= DISPUTES_PER_DAY:
                return Reply(f"您今天已指出 {DISPUTES_PER_DAY} 个回答有误，请直接联系考务办公室。")
            s.add(
                UnansweredQuestion(
                    at=ctx.now,
                    question=last.question[:500],
                    staff_id=ctx.staff.id if ctx.staff else None,
                    channel=ctx.message.channel,
                    nearest=last.shown[:255] or None,
                    sender=who,
                    key=question_key(last.question),
                    last_at=ctx.now,
                    kind=DISPUTED,
                    shown=last.shown or None,
                    note=note or None,
                )
            )
    lines = [
        "已记下，考务办公室会核对这个回答：",
        f"问题：{last.question}",
        f"当时给出：{last.shown or '（没有给出条款）'}",
    ]
    if note:
        lines.append(f"您的说明：{note}")
    else:
        lines.append("如知道正确的条款，可以补充：/答错了 应该是监考人员守则 3.(8)")
    lines.append("考务办公室指定正确条款后，同样的问题会按它回答。")
    return Reply("\n".join(lines))


@table.command("答错了", "回答错了", "答错", "不对", "wrong", summary="指出刚才的规定回答有误", usage=DISPUTE_USAGE)
async def wrong(ctx: Context, args: str) -> Reply:
    """Dispute the sender's last rule answer, with an optional note (the right clause, what is wrong)."""
    last = await _last_answer(ctx, COMMAND_WINDOW)
    if last is None:
        raise UserFacingError(
            "最近两小时内没有回答过您的规定问题，不知道是哪个回答有误。请先提问（/问 问题），再发 /答错了。",
            usage=DISPUTE_USAGE,
        )
    return await dispute(ctx, last, _PARTICLES.sub("", args).strip())


@table.fallback(priority=90)
async def bare_wrong(ctx: Context) -> Reply | None:
    """“答错了”, “不对，应该是…” without a slash: a dispute of an answer of the last minutes in this chat; in a private
    chat without one, where to find which answer (/答错了 reaches two hours back)."""
    is_dispute, note = bare_dispute(ctx.message.text)
    if not is_dispute:
        return None
    chat = ctx.message.chat_id or ""
    last = await _last_answer(ctx, BARE_WINDOW)
    if last is not None and last.chat == chat:
        return await dispute(ctx, last, note)
    if chat:
        return None  # in a group it may be said to anyone: plain text, the knowledge base's turn
    # In a private chat it is said to the bot: which answer, if not a fresh one here?
    older = await _last_answer(ctx, COMMAND_WINDOW)
    if older is None:
        return Reply("最近两小时内没有回答过您的规定问题，不知道是哪个回答有误。有规定问题请直接发问题。")
    minutes = max(1, int((ctx.now - older.at).total_seconds() // 60))
    return Reply(
        f"您最近问的规定问题“{older.question}”是 {minutes} 分钟前回答的。如那个回答有误，请发 /答错了"
        "（可附正确的条款，例：/答错了 应该是监考人员守则 3.(8)）。"
    )


@table.command(
    "钉住", "固定答复", "pin", summary="为问题指定正确条款（考务办公室）", usage=PIN_USAGE, permission=OFFICE
)
async def pin(ctx: Context, args: str) -> Reply:
    """Pin a question to a clause, list the pins, or remove one."""
    arg = normalize(args)
    head = arg.partition(" ")[0]
    if arg in ("", "列表", "list", "查看", "全部"):
        return await _list(ctx)
    if head in ("删", "删除", "取消", "移除", "remove", "del") or re.match(r"^(删除?|取消|移除)\d", arg):
        number = re.sub(r"^(删除?|取消|移除|remove|del)", "", arg).strip().lstrip("#")
        if not number.isdigit():
            raise UserFacingError("请写要取消的编号（见 /钉住 列表）。", usage=PIN_USAGE)
        return await _remove(ctx, int(number))
    numbered = re.match(r"^#?(\d+)\s*(.*)$", arg)
    if numbered and not _ARROW.search(arg):
        if not numbered.group(2):
            raise UserFacingError("请在编号后写文件和条款号。", usage=PIN_USAGE)
        return await _pin_row(ctx, int(numbered.group(1)), numbered.group(2))
    parts = _ARROW.split(arg, maxsplit=1)
    if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
        raise UserFacingError("没看懂要把哪个问题钉到哪一条。", usage=PIN_USAGE)
    return await _pin(ctx, parts[0].strip(), parts[1].strip(), source_id=None)


async def _pin_row(ctx: Context, row_id: int, reference: str) -> Reply:
    async with ctx.services.db.read() as s:
        row = await s.get(UnansweredQuestion, row_id)
    if row is None:
        raise UserFacingError(f"没有编号 #{row_id} 的问题（编号见 /未答问题）。", usage=PIN_USAGE)
    return await _pin(ctx, row.question, reference, source_id=row_id)


async def _pin(ctx: Context, question: str, reference: str, *, source_id: int | None) -> Reply:
    """Store the pin (replacing one of the same question), audit it and apply it on this instance at once."""
    kb = await knowledge_base(ctx.services)
    try:
        clause = resolve_clause(kb.clauses, reference)
    except ClauseRefError as exc:
        raise UserFacingError(str(exc), usage=PIN_USAGE) from exc
    key = pin_key(question)
    if not key:
        raise UserFacingError("问题是空的。", usage=PIN_USAGE)
    who = actor(ctx)
    async with ctx.services.db.session() as s:
        replaced = (
            await s.exec(select(KbPin).where(col(KbPin.key) == key[:500], col(KbPin.removed_at).is_(None)))
        ).all()
        for old in replaced:
            old.removed_at, old.removed_by = ctx.now, who
            s.add(old)
        row = KbPin(
            created_at=ctx.now,
            created_by=who,
            question=question[:500],
            key=key[:500],
            doc=clause.doc,
            clause=clause.clause,
            source_id=source_id,
        )
        s.add(row)
        await s.flush()
        if source_id is not None:
            source = await s.get(UnansweredQuestion, source_id)
            if source is not None:
                source.pin_id = row.id
                s.add(source)
        s.add(
            AuditLog(
                at=ctx.now,
                actor=who,
                action="create",
                entity="kb_pin",
                entity_id=str(row.id),
                detail={
                    "question": question,
                    "doc": clause.doc,
                    "clause": clause.clause,
                    "source_id": source_id,
                    "replaced": [r.id for r in replaced],
                },
            )
        )
        pin_id = row.id
    await sync_pins(ctx.services, kb)
    block = cite(Match(doc=clause.doc, clause=clause.clause, text=clause.text, score=1.0))
    lines = [
        f"已钉住 #{pin_id}：以后问“{question}”（标点、空格、全角半角不同也算）都按这一条回答：",
        f"{block}\n{clause.text}",
    ]
    if replaced:
        lines.append("（原来钉住的 " + "、".join(f"#{r.id}" for r in replaced) + " 已被替换）")
    lines.append(f"取消：/钉住 删 {pin_id}")
    return Reply("\n".join(lines))


async def _list(ctx: Context) -> Reply:
    tz = ctx.services.settings.tz
    async with ctx.services.db.read() as s:
        rows = (
            await s.exec(select(KbPin).where(col(KbPin.removed_at).is_(None)).order_by(col(KbPin.id).desc()).limit(50))
        ).all()
        ids = {int(r.created_by.split(":", 1)[1]) for r in rows if r.created_by.startswith("staff:")}
        names = {f"staff:{st.id}": st.name for st in (await s.exec(select(Staff).where(col(Staff.id).in_(ids)))).all()}
    if not rows:
        return Reply(f"目前没有钉住的答复。\n用法：{PIN_USAGE}")
    kb = await knowledge_base(ctx.services)
    lines = [f"钉住的答复（{len(rows)} 条，新的在前）："]
    for r in rows:
        missing = "（条款已不在知识库中，暂不生效）" if kb.clause(r.doc, r.clause) is None else ""
        by = f"{names.get(r.created_by, r.created_by)} {r.created_at.astimezone(tz):%m-%d %H:%M}"
        lines.append(f"· #{r.id} “{r.question}” → 《{r.doc}》{r.clause}{missing}（{by}）")
    lines.append("取消：/钉住 删 编号")
    return Reply("\n".join(lines))


async def _remove(ctx: Context, pin_id: int) -> Reply:
    who = actor(ctx)
    async with ctx.services.db.session() as s:
        row = await s.get(KbPin, pin_id)
        if row is None or row.removed_at is not None:
            raise UserFacingError(f"没有生效中的钉住答复 #{pin_id}（见 /钉住 列表）。")
        row.removed_at, row.removed_by = ctx.now, who
        s.add(row)
        s.add(
            AuditLog(
                at=ctx.now,
                actor=who,
                action="delete",
                entity="kb_pin",
                entity_id=str(pin_id),
                detail={"question": row.question, "doc": row.doc, "clause": row.clause},
            )
        )
        question, label = row.question, f"《{row.doc}》{row.clause}"
    await sync_pins(ctx.services, await knowledge_base(ctx.services))
    return Reply(f"已取消钉住 #{pin_id}：“{question}” 不再固定按{label}回答。")

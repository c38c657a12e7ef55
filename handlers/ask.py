"""/问, plain-text questions, /知识库 重载 and /未答问题: the rule knowledge base in chat."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, time

from sqlalchemy import ColumnElement, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import UNSLASHED, CommandTable, Context, normalize
from bot.errors import UserFacingError
from bot.model import ChatKind, Reply
from bot.permissions import ADMIN, OFFICE
from bot.services import Services
from bot.store.tables import KbPin, LastAnswer, Staff, UnansweredQuestion
from handlers._reports import actor
from handlers._rooms import local_today, my_rooms_now
from knowledge import Answer, AskContext, KnowledgeBase, KnowledgeFileError, format_answer
from knowledge.format import cite
from knowledge.models import Match
from knowledge.pins import RuntimePin, suggested_clause

table = CommandTable()

MAX_QUESTION = 200
# How many new rows the log of unanswered questions takes per local day. The same question asked again that
# day adds to the first row's count instead (whoever asks); a sender over their bound is answered, not logged.
STAFF_PER_DAY = 20  # per staff member
VISITOR_PER_DAY = 3  # per sender not on the staff list
VISITORS_PER_DAY = 30  # all senders not on the staff list together

# In a group chat only text that reads as a question is answered (people talk to each other there). A verb, 不 and
# the verb again asks too (放不放, 让不让进, 给不给; session 23), but not 好不好, 对不对, 行不行, 是不是, nor one put
# to 你 or 你们 (李强你来不来): colleagues say them to each other (我先去领卷 行不行).
_QUESTION_WORDS = re.compile(
    r"吗|么|咋|啥|如何|几|多少|能不能|能否|可不可以|可以|是否|哪|什么|谁|为何|要不要|需不需要|该不该|有没有|怎样|多久|多长|"
    r"(?<!你)(?<!你们)(?![不好对行是])([\u4e00-\u9fff])不\1"
)
# A sentence-final 不 / 没 after a verb asks yes or no (让他考不, 能进不, 卷子到了没); 不行 / 没事 / 还没 / 我不 and
# two-character chatter (行不) do not.
_TAIL_QUESTION = re.compile(r"^.{2,}[^\s不没还都也就又才并我你他她它们](?:不|没有?)[啊呀呢哈]?[\s,.!~，。！～]*$")
_ACKS = re.compile(
    r"(好的?|好滴|收到了?|已收到|嗯+|哦+|噢+|ok|okay|谢谢|多谢|谢了|thanks?|明白了?|知道了|了解|👌|👍)+", re.I
)
ASK_USAGE = "/问 问题，例：/问 开考多久后不准进场"
KB_USAGE = "/知识库 重载，例：/知识库 重载"
UNANSWERED_USAGE = "/未答问题 [条数]，例：/未答问题 20"
UNANSWERED = "unanswered"
DISPUTED = "disputed"


def is_question(text: str) -> bool:
    """Text that asks something: ends with ？/?, has a question word (吗, 怎么, 几, 多少, 能不能, 是否 …) or ends as
    phones ask (让他考不, 行不, 到了没)."""
    t = normalize(text)
    if not t or _ACKS.fullmatch(re.sub(r"[\s,.!~，。！～、]+", "", t)):
        return False
    return t.endswith("?") or bool(_QUESTION_WORDS.search(t)) or bool(_TAIL_QUESTION.search(t))


async def load_knowledge(services: Services) -> KnowledgeBase:
    """Load (or reload) the knowledge base off the event loop and keep it in the services."""
    return await services.knowledge.load(services.settings)


async def knowledge_base(services: Services) -> KnowledgeBase:
    """The loaded knowledge base; loaded on first use when the app did not preload it."""
    return await services.knowledge.get(services.settings)


async def answer(ctx: Context, question: str) -> Reply:
    """Answer one question, logging it for the office when the knowledge base does not know."""
    question = question.strip()
    if not question:
        raise UserFacingError("请在 /问 后面写上您的问题。", usage=ASK_USAGE)
    if len(question) > MAX_QUESTION:
        raise UserFacingError(f"问题太长了，请控制在 {MAX_QUESTION} 字以内。")
    kb = await knowledge_base(ctx.services)
    await sync_pins(ctx.services, kb)
    ans: Answer = kb.ask(question, context=await asker_context(ctx))
    if ans.answer is None:
        nearest = cite(ans.matches[0])[:255] if ans.matches else None
        async with ctx.services.db.session() as s:
            await log_unanswered(ctx, s, question, nearest)
    await remember_answer(ctx, question, ans)
    return Reply(format_answer(ans))


def shown_clauses(ans: Answer) -> list[Match]:
    """The clauses a reply showed: the answer and its alternatives, the cited clauses of a pinned answer, or
    the nearest clauses of a "don't know"."""
    if ans.answer is None or ans.pinned:
        return list(ans.matches)
    return [ans.answer, *ans.alternatives]


async def remember_answer(ctx: Context, question: str, ans: Answer) -> None:
    """Keep the sender's last answer (one row each): what /答错了 disputes."""
    shown = "；".join(cite(m) for m in shown_clauses(ans))[:500]
    who, chat = actor(ctx), ctx.message.chat_id or ""
    try:
        async with ctx.services.db.session() as s:
            row = (await s.exec(select(LastAnswer).where(col(LastAnswer.sender) == who))).first()
            if row is None:
                s.add(LastAnswer(sender=who, at=ctx.now, question=question, shown=shown, chat=chat))
            else:
                row.at, row.question, row.shown, row.chat = ctx.now, question, shown, chat
                s.add(row)
    except IntegrityError:
        pass  # the same sender's other question, at the same moment, was kept instead


async def sync_pins(services: Services, kb: KnowledgeBase) -> None:
    """Hand the office's pins (kb_pin) to the knowledge base when they changed since it last got them.

    One small query per question: pins are only added (a new highest id) or removed (one more removed_at),
    never deleted, so (rows, highest id, removed) changes with every change on any instance.
    """
    async with services.db.read() as s:
        count, top, removed = (
            await s.exec(select(func.count(col(KbPin.id)), func.max(col(KbPin.id)), func.count(col(KbPin.removed_at))))
        ).one()
        version = (int(count), top, int(removed))
        if version == kb.runtime_version:
            return
        rows = (await s.exec(select(KbPin).where(col(KbPin.removed_at).is_(None)).order_by(col(KbPin.id).desc()))).all()
    pins = [RuntimePin(id=r.id or 0, question=r.question, doc=r.doc, clause=r.clause) for r in rows]
    kb.set_runtime_pins(pins, version)


async def asker_context(ctx: Context) -> AskContext:
    """The sender's roles and the kind of their current or next session today (what steers the answer)."""
    if ctx.staff is None:
        return AskContext()
    roles = frozenset(str(r) for r in ctx.staff.role_set)
    async with ctx.services.db.read() as s:
        rooms = await my_rooms_now(ctx, s)
    return AskContext(roles=roles, kind=str(rooms[0].session.kind) if rooms else "")


def question_key(question: str) -> str:
    """What two questions must share to count as the same: the text without case, spaces and punctuation."""
    bare = "".join(ch for ch in normalize(question).casefold() if ch.isalnum())
    return hashlib.sha256(bare.encode()).hexdigest()


def day_start(ctx: Context) -> datetime:
    """Midnight of today in the exam time zone."""
    return datetime.combine(local_today(ctx), time(), tzinfo=ctx.services.settings.tz)


async def _rows_since(s: AsyncSession, since: datetime, *where: ColumnElement[bool]) -> int:
    q = select(func.count()).select_from(UnansweredQuestion).where(col(UnansweredQuestion.at) >= since, *where)
    return int((await s.exec(q)).one())


async def log_unanswered(ctx: Context, s: AsyncSession, question: str, nearest: str | None) -> None:
    """Log a question for the office: merged into today's row of the same question, or a new row within bounds."""
    since, key, who = day_start(ctx), question_key(question), actor(ctx)
    same = (
        await s.exec(
            select(UnansweredQuestion)
            .where(
                col(UnansweredQuestion.key) == key,
                col(UnansweredQuestion.at) >= since,
                col(UnansweredQuestion.kind) == UNANSWERED,
            )
            .order_by(col(UnansweredQuestion.id))
        )
    ).first()
    if same is not None:  # counted in SQL: two askers at once both count
        await s.exec(
            update(UnansweredQuestion)
            .where(col(UnansweredQuestion.id) == same.id)
            .values(count=col(UnansweredQuestion.count) + 1, last_at=ctx.now)
        )
        return
    if await _rows_since(s, since, col(UnansweredQuestion.sender) == who) >= (
        STAFF_PER_DAY if ctx.staff is not None else VISITOR_PER_DAY
    ):
        return
    if (
        ctx.staff is None
        and await _rows_since(s, since, col(UnansweredQuestion.staff_id).is_(None)) >= VISITORS_PER_DAY
    ):
        return
    s.add(
        UnansweredQuestion(
            at=ctx.now,
            question=question,
            staff_id=ctx.staff.id if ctx.staff else None,
            channel=ctx.message.channel,
            nearest=nearest,
            sender=who,
            key=key,
            last_at=ctx.now,
        )
    )


@table.command("问", "ask", "规定", summary="查询考务规定（也可以直接输入问题）", usage=ASK_USAGE)
async def ask(ctx: Context, args: str) -> Reply:
    """Answer a rule question."""
    return await answer(ctx, args)


@table.fallback(priority=100)
async def plain_text(ctx: Context) -> Reply | None:
    """Text that is not a command is a rule question: any text in a private chat, question-like text in a group."""
    text = ctx.message.text.strip()
    if not text:
        return None
    if ctx.message.chat_kind is not ChatKind.PRIVATE and not is_question(text):
        return None  # “好的”, “收到”, chatter between colleagues: only /问 or a question is answered in a group
    if UNSLASHED in ctx.state and not is_question(text):
        return None  # “缺考 2026000003” is a report without its slash, not a question: the slash line says how
    return await answer(ctx, text)


@table.command("知识库", "kb", summary="重新加载规定条款文件", usage=KB_USAGE, permission=ADMIN)
async def reload_kb(ctx: Context, args: str) -> Reply:
    """Reload the clause files (after the office added or edited one)."""
    if args.strip() not in ("重载", "reload", "重新加载"):
        raise UserFacingError("请写明要做什么。", usage=KB_USAGE)
    try:
        kb = await load_knowledge(ctx.services)
    except KnowledgeFileError as exc:
        raise UserFacingError(f"条款文件有错误，未重新加载（仍使用原来的知识库）：{exc}") from exc
    await sync_pins(ctx.services, kb)
    docs = len({c.doc for c in kb.clauses})
    pins = f"，考务办公室钉住的答复 {len(kb.runtime_pins)} 条" if len(kb.runtime_pins) else ""
    dangling = kb.runtime_pins.dangling
    lost = (
        "\n这些钉住的答复引用的条款已不在知识库中，暂不生效：" + "、".join(f"#{p.id}" for p in dangling)
        if dangling
        else ""
    )
    return Reply(f"知识库已重新加载：{docs} 个文件，{len(kb.clauses)} 条条款{pins}。{lost}")


@table.command(
    "未答问题", "unanswered", summary="查看知识库答不上来和被指出答错的问题", usage=UNANSWERED_USAGE, permission=OFFICE
)
async def unanswered(ctx: Context, args: str) -> Reply:
    """The latest questions the knowledge base could not answer or someone disputed (/答错了), newest first."""
    arg = args.strip()
    if arg and not arg.isdigit():
        raise UserFacingError("条数应为数字。", usage=UNANSWERED_USAGE)
    limit = min(int(arg or 20), 100)
    tz = ctx.services.settings.tz
    last = func.coalesce(col(UnansweredQuestion.last_at), col(UnansweredQuestion.at))
    async with ctx.services.db.read() as s:
        rows = (
            await s.exec(
                select(UnansweredQuestion, Staff.name)
                .join(Staff, col(Staff.id) == col(UnansweredQuestion.staff_id), isouter=True)
                .order_by(last.desc(), col(UnansweredQuestion.id).desc())
                .limit(limit)
            )
        ).all()
        visitors_full = (
            await _rows_since(s, day_start(ctx), col(UnansweredQuestion.staff_id).is_(None)) >= VISITORS_PER_DAY
        )
    if not rows:
        return Reply("目前没有答不上来的问题，也没有被指出答错的回答。")
    kb = await knowledge_base(ctx.services)
    lines = [f"最近 {len(rows)} 个答不上来的问题和被指出答错的回答（最近的在前；【答错】是有人发了 /答错了）："]
    for q, name in rows:
        times = f"（问过 {q.count} 次）" if q.count > 1 else ""
        mark = "【答错】" if q.kind == DISPUTED else ""
        when = (q.last_at or q.at).astimezone(tz)
        lines.append(f"· #{q.id}{mark} {when:%m-%d %H:%M} {name or '访客'}：{q.question}{times}")
        if q.kind == DISPUTED:
            lines.append(f"　当时给出：{q.shown or '（无）'}")
            if q.note:
                lines.append(f"　备注：{q.note}")
                named = suggested_clause(kb.clauses, q.note) if q.pin_id is None else None
                if named is not None:
                    lines.append(f"　按备注钉住：/钉住 {q.id} {named.doc} {named.clause}")
        if q.pin_id is not None:
            lines.append(f"　→ 已钉住（/钉住 列表 中的 #{q.pin_id}）")
    if visitors_full:
        lines.append(f"今天未登记人员的问题已记满 {VISITORS_PER_DAY} 条，之后的不再记录（仍会回答）。")
    lines.append(
        "指定正确条款：/钉住 编号 文件 条款号，例：/钉住 12 监考人员守则 3.(8)；"
        "也可在条款文件中补充规定、在 pinned.txt 中写固定答复，然后发送 /知识库 重载。"
    )
    return Reply("\n".join(lines))

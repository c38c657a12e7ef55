"""A report said as a sentence in a private chat (“3号没来”, “5号座位考生在玩手机”, “领了30份”) gets the command that
records it.

Nothing is recorded from a sentence: a report is signed by a command. But the knowledge base would answer “3号没来”
with a clause about 缺考, which reads as if it had been taken. The reply says it was not, and gives the command to
send, built from what was said (the seat or 准考证号, the violation type).
"""

from __future__ import annotations

import re

from bot.dispatch import UNSLASHED, CommandTable, Context, normalize
from bot.errors import UserFacingError
from bot.model import ChatKind, Reply
from bot.permissions import Permission
from handlers import papers
from handlers._parse import CN_NUM, ROOM_STRICT_RE, TICKET_RE, cn_number
from handlers._rooms import REPORTER, WATCHER
from handlers.ask import answer, is_question
from handlers.finding import SUPERVISOR
from handlers.violation_words import TYPE_WORDS, take_word

table = CommandTable()

# A papers count said as a sentence: 领了30份, 收回28份, 回收了30份 答题卡28 (a count right after the word).
_PAPERS = re.compile(r"(?:领|收|回收)(?:取|回|了|到|齐了?)*\s*(?:试卷|卷子)?\s*\d{1,3}\s*份?")
# What each hinted command records, and who may send it (as its own command table says).
_COMMANDS: dict[str, tuple[str, Permission]] = {
    "/缺考": ("登记缺考", REPORTER),
    "/违纪": ("记录违纪（可在后面加处理，如 警告）", WATCHER),
    "/领取": ("记录试卷份数", REPORTER),
    "/回收": ("记录试卷份数", REPORTER),
    "/督导意见": ("记录督导意见", SUPERVISOR),
}
# What a supervisor saw staff do, said with the room (第1考场副监考在玩手机 已提醒): a finding (session 22).
_STAFF = re.compile(r"主监考|副监考|监考员?|考评组长|考评员|考评人员")
_ABSENT = re.compile(r"没来|没到|未到|没有来|缺考|缺席|没参加|没进场")
# A seat said in a sentence: 3号, 3号座, 5号座位, 座位5, 5号工位; not 3号考场 or a time (3点).
_SEAT = re.compile(
    rf"(?:座号|座位号?|工位号?|机位号?)\s*(\d{{1,3}}|[{CN_NUM}]{{1,4}})"
    rf"|(?<![\d{CN_NUM}])(\d{{1,3}}|[{CN_NUM}]{{1,4}})\s*号(?:座位?|工位|机位)?(?!考场|楼|考室)"
)


def _who(text: str) -> str | None:
    """The candidate named: a 准考证号, else a seat written as /缺考 and /违纪 take it (“3号座”, “5号工位”)."""
    m = TICKET_RE.search(text)
    if m is not None:
        return m.group()
    m = _SEAT.search(text)
    if m is None:
        return None
    n = cn_number(m.group(1) or m.group(2))
    if n is None:
        return None
    # 号座: never read as the room. A 工位 stays one: in a practical room it is drawn by lot, and /违纪 asks who it is.
    return f"{n}号工位" if "工位" in m.group() else f"{n}号座"


def _papers(text: str) -> str | None:
    """“领了30份”, “收了28份 答题卡28”: the /领取 or /回收 that records it."""
    if not _PAPERS.search(text):
        return None
    try:
        args = papers.parse(text)
    except UserFacingError:
        return None
    if args.room is not None:
        return None  # a number that might be the room: the sentence is not clear enough to repeat
    if args.action == papers.HANDOUT:
        return f"/领取 {args.count}"
    parts = [f"/回收 {args.count}"]
    if args.answered is not None:
        parts.append(f"答题卡 {args.answered}")
    if args.blank_given and args.blank:
        parts.append(f"空白 {args.blank}")
    if args.spoiled:
        parts.append(f"损坏 {args.spoiled}")
    return " ".join(parts)


# A report told as a story (3号考生被我提醒两次了还偷看，还跟我顶嘴): more than one clause, and it asks, without a
# question word, what to do next.
_CLAUSES = re.compile(r"\S[，,。；;！!\s]+\S")


def narrative(text: str) -> bool:
    """Whether a report-like sentence tells more than the report (two clauses or more): it also gets the rule's
    answer (session 22)."""
    t = normalize(text)
    return _CLAUSES.search(t) is not None and not _PAPERS.search(t)


def hint(text: str) -> str | None:
    """The command a report-like sentence means, or None."""
    t = normalize(text)
    if len(t) > 40 or is_question(t):
        return None
    counted = _papers(t)
    if counted is not None:
        return counted
    room = ROOM_STRICT_RE.match(t)
    if room is not None and _STAFF.search(t[room.end() :]) and not TICKET_RE.search(t):
        return f"/督导意见 {cn_number(room.group(1))} {t[room.end() :].strip()}"
    who = _who(t)
    if who is None:
        return None
    vtype, _rest = take_word(t, TYPE_WORDS)
    if vtype is not None:
        return f"/违纪 {who} {vtype}"
    if _ABSENT.search(t):
        # /缺考 takes no 工位: a practical room's stations are drawn by those who came, so the candidate is named
        return f"/缺考 {'准考证号' if who.endswith('工位') else who}"
    return None


@table.fallback(priority=93)
async def report_sentence(ctx: Context) -> Reply | None:
    """Say that a report-like sentence recorded nothing, and what to send (private chats, staff who report)."""
    if ctx.message.chat_kind is not ChatKind.PRIVATE or ctx.staff is None or UNSLASHED in ctx.state:
        return None  # “缺考 3号”: the dispatcher's slash line already says what to send
    command = hint(ctx.message.text)
    if command is None:
        return None
    what, may = _COMMANDS[command.split()[0]]
    if not may(ctx):
        return None
    head = f"这条没有记录。要{what}，请发：{command}"
    if not narrative(ctx.message.text) or command.startswith("/督导意见"):  # a finding asks nothing of the rules
        return Reply(head)
    answered = await answer(ctx, ctx.message.text)  # as a question: logged when unanswered, /答错了 disputes it
    return Reply(f"{head}\n以下按问题回答：\n{answered.text}")

"""Questions about today's records typed as questions (“第2考场今天几个人缺考”, “试卷都收齐了吗”, “我的考场”).

The office and supervisors ask these on a phone instead of typing /缺考统计; the knowledge base would read them as rule
questions and cite a clause. A question that names a record (缺考, 违纪, 试卷 …), asks how many or whether, and is
anchored to now (今天, 现在, 第2考场, 一共 …) is answered from the records with the query it means, for those who may
run that query. Rule questions (迟到几分钟算缺考, 违纪了怎么办) do not match: they ask about a rule, not a count.
“几点开考” asks the timetable (the knowledge base would cite the late-entry rule): the office and supervisors get the
day's rooms with their times, anyone else their own duties. “还有多久开考” counts the minutes to the sender's session;
“导出今天的违纪” gets the /导出 to send (session 22); “/违纪 今天” from them, a report command with only a day, gets the
query to send (session 24).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.dispatch import CommandTable, Context, normalize
from bot.model import ChatKind, Reply
from bot.permissions import OFFICE, PRIVATE_CHAT, SUPERVISOR_OR_OFFICE
from handlers import basic, queries
from handlers._parse import CN_NUM, ROOM_STRICT_RE, cn_number, parse_day
from handlers._rooms import RoomNow, local_today, my_rooms_now

table = CommandTable()

# What the question is about, and the query that answers it.
_TOPICS: tuple[tuple[re.Pattern[str], Callable[[Context, str], Awaitable[Reply]]], ...] = (
    (re.compile(r"缺考|没来|没到|未到|缺席|实考|到了几|来了几"), queries.absences),
    (re.compile(r"违纪|违规|作弊|舞弊"), queries.violations),
    (re.compile(r"试卷|卷子|考卷|答题卡|收卷|领卷"), queries.paper_status),
    (re.compile(r"突发|考场(?:情况|状态)|各考场|所有考场"), queries.room_status),
)
# Asks how many, or whether something has happened / is complete.
_ASKS = re.compile(
    r"几个|几人|几名|几位|几份|几起|几条|几张|几间|多少|有没有|有几|有无|齐了|齐没|收齐|收完|领了|报了没|报了吗|报没报|"
    r"都报|没报|未报|还没交|没交|情况|怎么样了|咋样了|啥情况|统计|有[^,，。?？]{0,8}[吗么嘛][?？]*$|"
    r"(?:确认|认定|处理)(?:了|完)?(?:吗|没|么)"
)
# Anchored to the records of a day or a room, not to the rules in general.
_NOW = re.compile(
    rf"今天|今日|现在|目前|刚才|到现在|这场|本场|上午|下午|昨天|前天|一共|总共|总计|已经|都|"
    rf"各考场|哪些考场|哪个考场|所有考场|第?\s*(?:\d{{1,3}}|[{CN_NUM}]{{1,4}})\s*(?:号考场|考场)"
)
# Rule words: “迟到几分钟算缺考”, “违纪了怎么办”, “试卷少了几份怎么处理” ask what to do, not what happened; so does
# whose duty it is (session 23: 这种突发情况谁负责处理和上报), unlike who is absent (今天谁缺考了).
_RULE = re.compile(
    r"怎么办|咋办|怎么处理|咋处理|怎么弄|咋弄|如何处理|算不算|算缺考|算违纪|能不能|可不可以|可以|要不要|该不该|"
    r"允许|规定|哪条|写在|应该|应当|需要|必须|多久|多长|分钟|处分|后果|扣分|取消|谁负责|谁来|谁处理|找谁|向谁|跟谁"
)
_DAYS = ("昨天", "前天", "今天")
# “我的考场”, “我今天在哪个考场”, “我几点监考”: the sender's own duties today (/我的考场), whoever asks.
# Session 22: also with 今天 first (今天我监考哪场), a session for a room (哪一场, 哪个场次), whether at all
# (我今天有监考吗).
_MY_DAY = re.compile(
    r"(?:今天|今日)?(?:我的考场|我是谁|我(?:今天|今日)?(?:"
    r"(?:在|去|监考|考评|是|负责|要去|得去)?(?:哪一?个|几号|哪一?)(?:考场|场次?)|"
    r"的?(?:安排|考场|场次)(?:是什么|是啥|在哪|呢)?|(?:啥|什么)安排|"
    r"(?:几点|什么时候|啥时候)(?:到|开考|上岗|监考|考评|的考试)?|有(?:没有)?(?:监考|考评|几场|考试)(?:没|不)?))"
    r"[吗呢啊呀?？!！。.]*"
)


# “几点开考”, “明天几点开考来着”, “考试什么时候开始”: the timetable, not a rule (开考 30 分钟后 is the one on late
# entry; “开考多久后不能进场” asks that rule and has a rule word).
_SCHEDULE = re.compile(
    r"(?:几点|什么时候|啥时候|何时|几时)(?:开考|开始考|考试[啊呀呢了来着吗么?？\s]*$)|"
    r"(?:开考|考试)(?:时间)?(?:是|在)?(?:几点|什么时候|啥时候)(?:开始|开考)?[啊呀呢了来着吗么?？\s]*$|"
    r"^(?:今天|明天|今日|明日)(?:有没有|有)(?:考试|场次)[啊呀呢吗么没?？\s]*$"  # 明天有考试吗 (session 22)
)
# “还有多久开考”, “离开考还有几分钟”, “还有几分钟结束” (session 22): minutes to the sender's own session
# (开考多久后不能进场 asks the late-entry rule: it names no 还有 / 离).
_COUNTDOWN = re.compile(
    r"(?:还有|还剩|离|距离?)\s*(?:开考|考试结束|结束|收卷|交卷)?\s*(?:还有|还剩)?\s*(?:多久|多长时间|几分钟|多少分钟)\s*"
    r"(?:开考|开始|考试|结束|收卷|交卷)?[啊呀呢了吗么?？\s]*$"
)
_TO_END = re.compile(r"结束|收卷|交卷")
# Another exam's timetable (驾校考试几点开始) is not ours.
_OTHER_EXAM = re.compile(r"驾校|驾照|科目[一二三四]|职称|公务员|教师资格|事业单位|四六级|高考|中考|考研|会计")
_TOMORROW = re.compile(r"明天|明日")


def schedule_day(text: str) -> int | None:
    """Days from today (0 or 1) of the timetable a question asks for, None when it asks no timetable."""
    t = normalize(text)
    if len(t) > 40 or not _SCHEDULE.search(t) or _RULE.search(t) or _OTHER_EXAM.search(t):
        return None
    return 1 if _TOMORROW.search(t) else 0


def status_query(text: str) -> tuple[Callable[[Context, str], Awaitable[Reply]], str] | None:
    """The query a question about the records means and its arguments (day, room); None for anything else."""
    t = normalize(text)
    if len(t) > 40 or not _ASKS.search(t) or not _NOW.search(t) or _RULE.search(t):
        return None
    query = next((q for pattern, q in _TOPICS if pattern.search(t)), None)
    if query is None:
        return None
    args = [d for d in _DAYS if d in t][:1]
    m = ROOM_STRICT_RE.search(t)
    if m is not None:
        args.append(str(cn_number(m.group(1))))
    return query, " ".join(args)


def asks_my_day(text: str) -> bool:
    """The whole text asks for the sender's own duties today."""
    return bool(_MY_DAY.fullmatch(normalize(text).replace(" ", "")))


@table.fallback(priority=94)
async def my_day_question(ctx: Context) -> Reply | None:
    """“我的考场” typed without its slash, or asked as a question: today's duties of the sender (/我的考场)."""
    if ctx.staff is None or not asks_my_day(ctx.message.text):
        return None
    return await basic.whoami(ctx, "")


@table.fallback(priority=95)
async def records_question(ctx: Context) -> Reply | None:
    """Answer a question about today's records from the records (supervisors and the office only)."""
    if not SUPERVISOR_OR_OFFICE(ctx):
        return None
    found = status_query(ctx.message.text)
    if found is None:
        return None
    query, args = found
    reply = await query(ctx, args)
    where = "" if ctx.message.chat_kind is ChatKind.PRIVATE else "（群聊中考生信息已打码）"
    return Reply(f"{reply.text}\n（按当前记录回答{where}，不是规定条款）", format=reply.format)


# “导出今天的违纪”, “帮我导一下昨天的记录表” (session 22): the export said as a sentence. It is not run (a file with
# candidates' full data goes out only on the command): the reply gives the command, with the day said.
_EXPORT = re.compile(r"^(?:帮我|请|麻烦)?(?:导出|导一下|导个|下载|要一份|要个|出一份|出个)")
_EXPORT_WHAT = re.compile(r"违纪|缺考|试卷|记录|表|情况|报告|明细|excel", re.IGNORECASE)
_DAY_SAID = re.compile(r"今天|昨天|前天|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}月\d{1,2}[日号]?")
# What supervisors, who may not export, can look at instead.
_INSTEAD = (("违纪", "/违纪记录"), ("缺考", "/缺考统计"), ("试卷", "/试卷状态"))


def export_command(text: str) -> str | None:
    """The /导出 a sentence asks for (with its day, and 明细 for every report row), or None."""
    t = normalize(text).replace(" ", "")
    if len(t) > 30 or not _EXPORT.search(t) or not _EXPORT_WHAT.search(t):
        return None
    day = _DAY_SAID.search(t)
    detail = " 明细" if re.search(r"明细|历史|csv", t, re.IGNORECASE) else ""
    return f"/导出{detail}" + (f" {day.group()}" if day else "")


@table.fallback(priority=95)
async def export_sentence(ctx: Context) -> Reply | None:
    """An export asked for in words: the office gets the command to send; supervisors the query they may run."""
    command = export_command(ctx.message.text)
    if command is None or not SUPERVISOR_OR_OFFICE(ctx):
        return None
    if OFFICE(ctx) and PRIVATE_CHAT(ctx):
        return Reply(f"这条没有执行。导出考场情况记录表（缺考、违纪、试卷、突发都在表内）请发：{command}")
    if OFFICE(ctx):
        return Reply("考场情况记录表含考生完整信息，只能私聊导出：请在与我的私聊中发送 " + command)
    t = normalize(ctx.message.text)
    day = _DAY_SAID.search(t)
    instead = [q + (f" {day.group()}" if day else "") for word, q in _INSTEAD if word in t] or ["/考场状态"]
    return Reply(f"导出考场情况记录表由考务办公室办理。您可以查看：{'、'.join(instead)}")


# A report command with only a day (“/违纪 今天”, “缺考 昨天” in a private chat): the records of that day are wanted.
_REPORT_DAY = re.compile(r"^/?(违纪|缺考|试卷|领取|回收)\s*(\S+)$")
_QUERY_OF = {"违纪": "/违纪记录", "缺考": "/缺考统计", "试卷": "/试卷状态", "领取": "/试卷状态", "回收": "/试卷状态"}


@table.hook(priority=2)  # after an open dialog and the bare confirmations
async def report_with_a_day(ctx: Context) -> Reply | None:
    """“/违纪 今天” from a supervisor or the office: nothing is reported (no room, no candidate); the reply gives the
    query of that day's records to send instead of asking which room."""
    found = _REPORT_DAY.match(normalize(ctx.message.text))
    if found is None or not SUPERVISOR_OR_OFFICE(ctx) or (not found.group().startswith("/") and ctx.message.chat_id):
        return None
    word, day = found.groups()
    if parse_day(day, local_today(ctx)) is None:
        return None
    query, topic = _QUERY_OF[word], "试卷" if word in ("领取", "回收") else word
    return Reply(f"这条没有记录。查看{day}的{topic}情况请发：{query} {day}；报告{topic}请写明考场。")


def asks_countdown(text: str) -> bool:
    """The text asks how long until the exam starts (or ends)."""
    t = normalize(text)
    return len(t) <= 20 and _COUNTDOWN.search(t) is not None and ("考" in t or _TO_END.search(t) is not None)


def countdown(ctx: Context, room: RoomNow, to_end: bool) -> str:
    """距第1考场开考还有 17 分钟（11:17 开考）: minutes to the start, or once started to the end."""
    sess, tz = room.session, ctx.services.settings.tz
    start, end = sess.starts_at.astimezone(tz), sess.ends_at.astimezone(tz)
    minutes = int((sess.starts_at - ctx.now).total_seconds() // 60)
    if minutes >= 0 and not to_end:
        return f"距{room.label}开考还有 {minutes} 分钟（{start:%H:%M} 开考）。"
    left = int((sess.ends_at - ctx.now).total_seconds() // 60)
    if left < 0:
        return f"{room.label}的场次已于 {end:%H:%M} 结束。"
    if minutes >= 0:
        return f"{room.label}还没开考（{start:%H:%M} 开考），距结束还有 {left} 分钟（{end:%H:%M} 结束）。"
    return f"{room.label}已开考 {-minutes} 分钟，距结束还有 {left} 分钟（{end:%H:%M} 结束）。"


@table.fallback(priority=96)
async def countdown_question(ctx: Context) -> Reply | None:
    """“还有多久开考” asked by staff on duty: minutes to their session's start or end, from the timetable (the
    knowledge base would cite the late-entry rule). Without a session now, their day (/我的考场)."""
    if ctx.staff is None or not asks_countdown(ctx.message.text):
        return None
    async with ctx.services.db.read() as s:
        rooms = await my_rooms_now(ctx, s)
    if not rooms:
        return await basic.whoami(ctx, "")
    return Reply(countdown(ctx, rooms[0], _TO_END.search(normalize(ctx.message.text)) is not None))


@table.fallback(priority=96)
async def schedule_question(ctx: Context) -> Reply | None:
    """“几点开考” asked by staff: the office and supervisors get that day's rooms with their times (/考场状态), anyone
    else their own duties (/我的考场). The knowledge base would cite the late-entry rule."""
    if ctx.staff is None:
        return None
    days = schedule_day(ctx.message.text)
    if days is None:
        return None
    if not SUPERVISOR_OR_OFFICE(ctx):
        return await basic.whoami(ctx, "")
    day = local_today(ctx) + timedelta(days=days)
    reply = await queries.room_status(ctx, day.isoformat())
    return Reply(f"{reply.text}\n（按当前考试安排回答，不是规定条款）", format=reply.format)

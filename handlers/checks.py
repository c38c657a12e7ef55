"""/检查, /答辩 and /回避: the regulations as checks, from the chat.

- /检查 [日期] (office): the rule report of a day (bot/checks), as ``exambot check`` prints it.
- /答辩 [考生] 分数… (evaluators, office): a 综合评审面试答辩 scored by the panel (考评人员管理办法 第七条（九）);
  the reply shows the computation and the result is recorded (report kind ``defense``) and audited.
- /回避 考评员 考生 关系 (office): declare a relation (亲属 / 师生 / 师徒) between a staff member and a candidate
  (准考证号 or name); the checks then refuse that person in the candidate's session (第七条（四）回避).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sqlmodel import col, select

from bot.checks.conflicts import RELATIONS
from bot.checks.defense import score_defense
from bot.checks.run import check_days
from bot.dispatch import CommandTable, Context
from bot.errors import UserFacingError
from bot.model import Reply
from bot.permissions import OFFICE, has_role
from bot.store.tables import AuditLog, ConflictRelation, Role
from handlers._reports import actor, already_done, append, once_per_message
from handlers._rooms import is_private, local_today
from scheduler.changes import ChangeRefused
from scheduler.changes_find import find_staff
from scheduler.changes_text import nfkc, take_day

CHECK_USAGE = "/检查 [日期]，例：/检查、/检查 明天、/检查 12月6日"
DEFENSE_USAGE = "/答辩 [考生准考证号或姓名] 各考评员打分，例：/答辩 2026000003 75 62 58"
AVOID_USAGE = f"/回避 考评员 考生准考证号或姓名 关系（{'、'.join(RELATIONS)}），例：/回避 周杰 2026000003 师生"
EVALUATOR_OR_OFFICE = has_role(Role.EVALUATOR, Role.OFFICE)
OFFICE_ORIGIN = "office"

_SPLIT = re.compile(r"[\s,，、;；]+")
_SCORE = re.compile(r"\d{1,3}(?:\.\d+)?")

table = CommandTable()


@table.command(
    "检查",
    "check",
    summary="按规章检查某天的安排（人员配备、证卡、回避、重复安排、轮换）",
    usage=CHECK_USAGE,
    permission=OFFICE,
)
async def check(ctx: Context, args: str) -> Reply | str | None:
    """/检查 [日期]: the rule report of the day (today when none); private only (it names candidates)."""
    if not is_private(ctx):
        raise UserFacingError("规则检查的结果含考生信息，请私聊机器人使用 /检查。", usage=CHECK_USAGE)
    today = local_today(ctx)
    try:
        day, rest = take_day(args, today)
    except ValueError as exc:
        raise UserFacingError(str(exc), usage=CHECK_USAGE) from exc
    if rest.strip():
        raise UserFacingError(f"没有看懂“{rest.strip()}”，请写日期。", usage=CHECK_USAGE)
    async with ctx.services.db.read() as s:
        report = await check_days(s, [day or today])
    return Reply(report.render())


def parse_defense(args: str) -> tuple[str | None, list[Decimal]]:
    """The candidate (first token when it is not a score) and the scores."""
    tokens = [t for t in _SPLIT.split(nfkc(args).strip()) if t]
    who: str | None = None
    if tokens and not _SCORE.fullmatch(tokens[0]):
        who = tokens.pop(0)
    elif tokens and len(tokens[0]) >= 6 and tokens[0].isdigit():
        who = tokens.pop(0)  # a 准考证号, not a score
    if not tokens:
        raise UserFacingError("请写出每位考评员的打分。", usage=DEFENSE_USAGE)
    scores: list[Decimal] = []
    for t in tokens:
        if not _SCORE.fullmatch(t):
            raise UserFacingError(f"“{t}”不是分数。", usage=DEFENSE_USAGE)
        try:
            scores.append(Decimal(t))
        except InvalidOperation as exc:  # the pattern admits only numbers; kept for safety
            raise UserFacingError(f"“{t}”不是分数。", usage=DEFENSE_USAGE) from exc
    return who, scores


@table.command(
    "答辩",
    "defense",
    summary="综合评审面试答辩评分（按第七条（九）判定合格）",
    usage=DEFENSE_USAGE,
    permission=EVALUATOR_OR_OFFICE,
)
@once_per_message
async def defense(ctx: Context, args: str) -> Reply | str | None:
    """/答辩 [考生] 分数…: pass or fail with the computation; recorded and audited."""
    who, scores = parse_defense(args)
    try:
        result = score_defense(scores)
    except ValueError as exc:
        raise UserFacingError(str(exc), usage=DEFENSE_USAGE) from exc
    payload = {
        "candidate": who,
        "scores": [str(x) for x in scores],
        "high": result.high,
        "mean": str(result.mean.quantize(Decimal("0.01"))),
        "passed": result.passed,
    }
    async with ctx.services.db.session() as s:
        row = await already_done(s, ctx)
        if row is None:
            row = await append(ctx, s, "defense", None, payload)
    head = f"已记录答辩成绩（编号 {row.id}）" + (f"：考生 {who}" if who else "")
    return Reply(f"{head}\n{result.explain()}")


@table.command(
    "回避", "avoid", summary="登记考评人员与考生的回避关系（亲属、师生、师徒）", usage=AVOID_USAGE, permission=OFFICE
)
async def avoid(ctx: Context, args: str) -> Reply | str | None:
    """/回避 考评员 考生 关系: stored (or changed), audited; private only (it names a candidate)."""
    if not is_private(ctx):
        raise UserFacingError("回避关系含考生信息，请私聊机器人登记。", usage=AVOID_USAGE)
    tokens = [t for t in _SPLIT.split(nfkc(args).strip()) if t]
    if len(tokens) != 3:
        raise UserFacingError("请依次写考评员、考生准考证号或姓名、关系。", usage=AVOID_USAGE)
    name, candidate, relation = tokens
    if relation not in RELATIONS and candidate in RELATIONS:
        candidate, relation = relation, candidate  # 关系 written before the candidate
    if relation not in RELATIONS:
        raise UserFacingError(f"关系应为{'、'.join(RELATIONS)}之一。", usage=AVOID_USAGE)
    async with ctx.services.db.session() as s:
        try:
            person = await find_staff(s, name)
        except ChangeRefused as exc:  # unknown or ambiguous name
            raise UserFacingError(str(exc), usage=AVOID_USAGE) from exc
        assert person.id is not None
        row = (
            await s.exec(
                select(ConflictRelation).where(
                    col(ConflictRelation.staff_id) == person.id, col(ConflictRelation.candidate) == candidate
                )
            )
        ).first()
        before = None if row is None else {"relation": row.relation, "source": row.source}
        if row is None:
            row = ConflictRelation(staff_id=person.id, candidate=candidate, relation=relation, created_at=ctx.now)
        row.relation, row.source = relation, OFFICE_ORIGIN
        s.add(row)
        await s.flush()
        detail = {"staff": person.name, "candidate": candidate, "relation": relation, "before": before}
        s.add(
            AuditLog(
                at=ctx.now,
                actor=actor(ctx),
                action="create" if before is None else "update",
                entity="conflict_relation",
                entity_id=str(row.id),
                detail=detail,
            )
        )
    return Reply(
        f"已登记回避：{person.name} 与考生 {candidate} 有{relation}关系。"
        "两人在同一场次时，规则检查（/检查、导入）会报告错误，须调整安排。"
    )

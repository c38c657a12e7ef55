"""/检查, /回避 and /答辩 in chat, on the demo day."""

from __future__ import annotations

from sqlmodel import col, select

from bot.store.tables import AuditLog, ConflictRelation
from tests.handlers.conftest import ROOM1, Day

IN_PRACTICAL_ROOM = "2026000059"  # the first candidate of 第3考场 (演示第2场, 考评组长 周杰)


async def test_office_checks_the_demo_day(day: Day) -> None:
    """The demo day is clean; a date can be given."""
    assert await day.say("钱进", "/检查") == "规则检查：12月5日的 3 个场次，未发现问题。"
    assert await day.say("钱进", "/检查 明天") == "规则检查：12月6日没有场次，未发现问题。"


async def test_declared_relation_shows_in_the_check(day: Day) -> None:
    """/回避 stores the relation (audited); /检查 then reports the evaluator as an error with its clause."""
    reply = await day.say("钱进", f"/回避 周杰 {IN_PRACTICAL_ROOM} 师生")
    assert reply.startswith(f"已登记回避：周杰 与考生 {IN_PRACTICAL_ROOM} 有师生关系")
    async with day.services.db.session() as s:
        (rel,) = (await s.exec(select(ConflictRelation))).all()
        audit = (await s.exec(select(AuditLog).where(col(AuditLog.entity) == "conflict_relation"))).one()
    assert (rel.candidate, rel.relation, rel.source) == (IN_PRACTICAL_ROOM, "师生", "office")
    assert audit.detail["staff"] == "周杰"
    report = await day.say("钱进", "/检查")
    assert "发现 1 个错误、0 个提醒" in report
    assert f"【错误】周杰（考评组长，第3考场）与12月5日 演示第2场的考生 {IN_PRACTICAL_ROOM}" in report
    assert "有师生关系，应当回避（依据：考评人员管理办法 第七条（四）回避制度）" in report


async def test_avoid_refuses_what_it_cannot_read(day: Day) -> None:
    """An unknown relation word or person is refused with the usage."""
    assert "关系应为亲属、师生、师徒" in await day.say("钱进", f"/回避 周杰 {IN_PRACTICAL_ROOM} 朋友")
    assert "人员名单中没有“张无忌”" in await day.say("钱进", f"/回避 张无忌 {IN_PRACTICAL_ROOM} 亲属")


async def test_defense_exactly_two_thirds_and_a_mean_of_60_passes(day: Day) -> None:
    """Two of three at 60 or more and a mean of exactly 60: 合格, the computation shown, recorded and audited."""
    reply = await day.say("周杰", f"/答辩 {IN_PRACTICAL_ROOM} 60 70 50")
    assert f"：考生 {IN_PRACTICAL_ROOM}" in reply
    assert "评分：60、70、50" in reply
    assert "2/3 名考评员打分≥60（需≥三分之二）：满足" in reply
    assert "平均分 180÷3=60（需≥60）：满足" in reply
    assert "答辩成绩：合格（考评人员管理办法 第七条（九））" in reply
    (row,) = await day.reports("defense")
    assert row.payload == {
        "candidate": IN_PRACTICAL_ROOM,
        "scores": ["60", "70", "50"],
        "high": 2,
        "mean": "60.00",
        "passed": True,
    }
    assert f"编号 {row.id}" in reply
    async with day.services.db.session() as s:
        audit = (await s.exec(select(AuditLog).where(col(AuditLog.entity_id) == str(row.id)))).one()
    assert audit.entity == "report" and audit.detail["kind"] == "defense"


async def test_defense_fails_on_either_condition(day: Day) -> None:
    """One of three at 60+ (mean 69.33) fails; all but one at 60+ with a mean of 59.99 fails."""
    few = await day.say("钱进", "/答辩 90 59 59")
    assert "1/3 名考评员打分≥60（需≥三分之二）：不满足" in few and "答辩成绩：不合格" in few
    low = await day.say("钱进", "/答辩 张三 60、60、59.97")
    assert "平均分 179.97÷3=59.99（需≥60）：不满足" in low and "答辩成绩：不合格" in low
    assert [r.payload["passed"] for r in await day.reports("defense")] == [False, False]


async def test_defense_needs_three_scores(day: Day) -> None:
    """Fewer than three scores: refused, nothing recorded."""
    assert "至少 3 名考评员" in await day.say("周杰", "/答辩 80 80")
    assert "“八十”不是分数" in await day.say("周杰", "/答辩 2026000059 80 八十 70")
    assert await day.reports("defense") == []


async def test_check_and_avoid_are_private(day: Day) -> None:
    """In a room's group chat the report and a declaration (they name candidates) are refused."""
    assert "请私聊机器人使用 /检查" in await day.say("钱进", "/检查", chat=ROOM1)
    assert "请私聊机器人登记" in await day.say("钱进", f"/回避 周杰 {IN_PRACTICAL_ROOM} 师生", chat=ROOM1)
    async with day.services.db.session() as s:
        assert (await s.exec(select(ConflictRelation))).all() == []


async def test_defense_report_in_history(day: Day) -> None:
    """/历史 names a recorded 答辩 in Chinese."""
    await day.say("周杰", "/答辩 75 80 70")
    (row,) = await day.reports("defense")
    history = await day.say("周杰", f"/历史 {row.id}")
    assert "答辩成绩 编号" in history and "defense" not in history

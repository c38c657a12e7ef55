"""The typed forms the violation and handover cards stand for: /确认 N 有异议 and /确认 N [数量不符].

Each is what a tap on the card's second (or first) button dispatches, so it is tested typed as well: the office
is told of a dispute once, the cards' subject records what every copy should show, and only the right person
may answer. SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.model import CONFIRM_STEP, HANDOVER_STEP
from bot.store.tables import AuditLog, CardCopy, OutboxMessage
from tests.handlers.conftest import Day


@pytest.fixture
def day(db_day: Day) -> Day:
    """The demo day at 08:40 on SQLite and on PostgreSQL."""
    return db_day


async def _copy(day: Day, subject: int, step: str) -> None:
    """A card copy as an adapter records it once sent (the console records none)."""
    async with day.services.db.session() as s:
        now = day.clock.now()
        s.add(CardCopy(channel="wecom", card_id=f"r{subject}-{step}-00000000", room_id=subject, step=step,
                       recipient="liqiang", created_at=now, updated_at=now))  # fmt: skip


async def _state(day: Day, subject: int, step: str) -> str | None:
    async with day.services.db.session() as s:
        row = (await s.exec(select(CardCopy).where(CardCopy.room_id == subject, CardCopy.step == step))).one()
    return row.state


async def test_dispute_of_a_serious_violation_tells_the_office_once(day: Day) -> None:
    """李强 answers 有异议 to 王芳's 替考: not confirmed, the office told once (a repeat tells nobody twice), the
    card shows 李强 有异议 08:40; 王芳 cannot dispute her own report."""
    await day.say("王芳", "/违纪 1 2026000003 替考")
    (row,) = await day.reports("violation")
    assert row.id is not None
    await _copy(day, row.id, CONFIRM_STEP)
    own = await day.say("王芳", f"/确认 {row.id} 有异议")
    assert own.startswith(f"编号 {row.id} 是您自己报告的，需要本考场另一名监考员（李强）确认")
    reply = await day.say("李强", f"/确认 {row.id} 有异议")
    assert reply.startswith(f"已记录您对编号 {row.id} 有异议（未确认），已通知考务办公室和督导（")
    await day.say("李强", f"/确认 {row.id} 有异议")
    async with day.services.db.session() as s:
        told = (await s.exec(select(OutboxMessage).where(OutboxMessage.key.like(f"alert:disputed:{row.id}:%")))).all()
    assert told and len({t.target_key for t in told}) == len(told)
    assert all("李强有异议" in t.text for t in told)
    assert await day.reports("confirm") == []
    assert await _state(day, row.id, CONFIRM_STEP) == "李强 有异议 08:40"


async def test_handover_confirmed_typed_once_and_only_by_the_other_invigilator(day: Day) -> None:
    """/确认 N for a 领取 report: 李强 confirms it once (kept in the audit log, the card's state set); 赵敏 of
    another room cannot; a report that is neither a violation nor a 领取 needs no confirmation."""
    await day.say("王芳", "/试卷 1 领取 30")
    (row,) = await day.reports("papers")
    assert row.id is not None
    await _copy(day, row.id, HANDOVER_STEP)
    other = await day.say("赵敏", f"/确认 {row.id}")
    assert "李强" not in other and "已确认" not in other
    assert (
        await day.say("李强", f"/确认 {row.id}") == f"已确认第1考场试卷领取 30 份（编号 {row.id}），两名监考核对一致。"
    )
    again = await day.say("李强", f"/确认 {row.id}")
    assert again.startswith(f"编号 {row.id} 的领取份数（30 份）已由李强于 08:40 确认无误")
    async with day.services.db.session() as s:
        logged = (await s.exec(select(AuditLog).where(AuditLog.entity == "papers_handover"))).all()
    assert [(a.action, a.detail["count"]) for a in logged] == [("confirm", 30)]
    assert await _state(day, row.id, HANDOVER_STEP) == "李强 已确认 08:40"
    await day.say("王芳", "/试卷 1 回收 30 答题卡 30")
    collect = (await day.reports("papers"))[-1]
    assert "不需要确认" in await day.say("李强", f"/确认 {collect.id}")

"""The other invigilator's check of a 领取 count, seen where the office looks: /考场状态 and /试卷状态.

A confirmed count shows who checked it and when; a 数量不符 stays visible (and ranks the room first in
/试卷状态) until a corrected count is reported, which again waits for the second person. SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.handlers.conftest import Day


@pytest.fixture
def day(db_day: Day) -> Day:
    """The demo day at 08:40 on SQLite and on PostgreSQL."""
    return db_day


def _room1(text: str) -> str:
    return next(line for line in text.splitlines() if "第1考场" in line)


async def test_handover_confirmed_then_disputed_then_corrected(day: Day) -> None:
    """王芳 reports 领取 30: 待第二人核对; 李强 confirms: 李强 核对✓ 08:40. A corrected count (31) waits again;
    李强's 数量不符 shows and puts the room first; a new count after that waits for the second person again;
    /历史 shows each count with its check."""
    await day.say("王芳", "/试卷 1 领取 30")
    (row,) = await day.reports("papers")
    assert "试卷 领 30 收 -（待第二人核对" in _room1(await day.say("钱进", "/考场状态"))
    await day.say("李强", f"/确认 {row.id}")
    assert "（李强 核对✓ 08:40；" in _room1(await day.say("钱进", "/考场状态"))
    assert "领取 30（李强 核对✓ 08:40）" in _room1(await day.say("钱进", "/试卷状态"))

    await day.say("王芳", f"/更正 {row.id} 领取 31")
    new = max((r for r in await day.reports("papers")), key=lambda r: r.id or 0)
    assert new.id != row.id
    assert "试卷 领 31 收 -（待第二人核对" in _room1(await day.say("钱进", "/考场状态"))
    await day.say("李强", f"/确认 {new.id} 数量不符")
    assert "（李强：数量不符；" in _room1(await day.say("钱进", "/考场状态"))
    papers = await day.say("钱进", "/试卷状态")
    assert papers.splitlines()[1] == _room1(papers) and "领取 31（李强：数量不符）" in papers

    await day.say("王芳", f"/更正 {new.id} 领取 30")
    assert "试卷 领 30 收 -（待第二人核对" in _room1(await day.say("钱进", "/考场状态"))
    # /历史 shows each count of the chain with its check.
    history = (await day.say("钱进", f"/历史 {row.id}")).splitlines()
    assert history[1].endswith("领取试卷 30 份（李强 核对✓ 08:40）")
    assert history[2].endswith("领取试卷 31 份（李强：数量不符）")
    assert history[3].endswith("领取试卷 30 份（待第二人核对）")


async def test_violation_corrected_to_serious_sends_the_confirm_card_once(day: Day) -> None:
    """抄袭 警告 corrected to 抄袭 终止考试: 李强 gets the confirmation card (about the chain's first row), once even
    when the /更正 is delivered again; a plain correction of a non-serious one sends none."""
    from sqlmodel import select

    from bot.store.tables import OutboxMessage

    async def cards() -> list[OutboxMessage]:
        async with day.services.db.session() as s:
            return list((await s.exec(select(OutboxMessage).where(OutboxMessage.key.like("%card:vconfirm:%")))).all())

    await day.say("王芳", "/违纪 1 2026000003 抄袭 警告")
    (row,) = await day.reports("violation")
    await day.say("王芳", f"/更正 {row.id} 2026000003 抄袭 口头警告")
    assert await cards() == []
    current = max((r for r in await day.reports("violation")), key=lambda r: r.id or 0)
    reply = await day.send("王芳", f"/更正 {current.id} 2026000003 抄袭 终止考试", "m-fix")
    assert reply is not None and "/确认" in reply
    await day.send("王芳", f"/更正 {current.id} 2026000003 抄袭 终止考试", "m-fix")
    sent = await cards()
    assert len(sent) == 1 and f"card:vconfirm:{row.id}:" in sent[0].key
    final = max((r for r in await day.reports("violation")), key=lambda r: r.id or 0)
    assert "已确认编号" in await day.say("李强", f"/确认 {final.id}")

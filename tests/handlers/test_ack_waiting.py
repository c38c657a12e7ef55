"""收到 from someone no reminder waits for, who has a card asking them to check a count or confirm a violation.

李强 (the deputy) got the handover card for 王芳's 领取 30 and types 收到: the reply says no reminder waits and
names the count to check with the typed forms. A /更正 of the count sends him a card about the new count, which
the line then names; once he has checked it, the line is gone. The same for a serious violation to confirm.
In a group nothing is listed. SQLite and PostgreSQL.
"""

from __future__ import annotations

from handlers.reminders import NOTHING_TO_ACK
from tests.handlers.conftest import ROOM1, Day


async def _latest(day: Day, kind: str) -> int:
    return max(r.id or 0 for r in await day.reports(kind))


async def test_shou_dao_names_the_count_to_check_until_it_is_checked(db_day: Day) -> None:
    day = db_day
    await day.say("王芳", "/试卷 1 领取 30")
    rid = await _latest(day, "papers")
    reply = await day.say("李强", "收到")
    assert reply.startswith(NOTHING_TO_ACK)
    assert f"编号 {rid}：第1考场试卷领取 30 份待您核对" in reply
    assert f"“/确认 {rid}”" in reply and f"“/确认 {rid} 数量不符”" in reply
    assert reply.endswith("（只有这一项：核对无误也可直接回复“确认”）")  # and “确认” does confirm it (test_phone_…)
    assert "待您核对" not in await day.say("王芳", "收到")  # her own report: no card went to her

    await day.say("王芳", f"/更正 {rid} 领取 31")
    new = await _latest(day, "papers")
    # The corrected count is checked again: a new card reaches 李强 (and not 王芳, who corrected it).
    assert any(f"试卷领取待核对·编号 {new}" in m and "31 份" in m for m in await day.inbox("李强"))
    assert not any(f"编号 {new}" in m for m in await day.inbox("王芳"))
    reply = await day.say("李强", "/收到")
    assert f"编号 {new}：第1考场试卷领取 31 份" in reply and f"编号 {rid}：" not in reply

    assert "已确认" in await day.say("李强", f"/确认 {new}")
    assert await day.say("李强", "收到") == NOTHING_TO_ACK


async def test_a_dispute_closes_the_line_too(db_day: Day) -> None:
    day = db_day
    await day.say("王芳", "/试卷 1 领取 30")
    rid = await _latest(day, "papers")
    await day.say("李强", f"/确认 {rid} 数量不符")
    assert await day.say("李强", "收到") == NOTHING_TO_ACK


async def test_a_serious_violation_to_confirm_is_named_until_confirmed(db_day: Day) -> None:
    day = db_day
    await day.say("王芳", "/违纪 1 2026000003 替考")
    rid = await _latest(day, "violation")
    reply = await day.say("李强", "收到")
    assert f"编号 {rid}：第1考场严重违纪记录待您确认" in reply and f"“/确认 {rid} 有异议”" in reply
    assert "2026000003" not in reply and "替考" not in reply  # the line names the record, not the candidate

    in_group = await day.chat.say("李强", "收到", chat=ROOM1)
    assert in_group is None or "待您" not in in_group
    await day.say("李强", f"/确认 {rid}")
    assert "待您确认" not in await day.say("李强", "收到")


async def test_a_violation_disputed_or_made_minor_is_not_named(db_day: Day) -> None:
    day = db_day
    await day.say("王芳", "/违纪 1 2026000003 替考")
    rid = await _latest(day, "violation")
    await day.say("李强", f"/确认 {rid} 有异议")
    assert await day.say("李强", "收到") == NOTHING_TO_ACK

    await day.say("王芳", "/违纪 1 2026000005 抄袭 终止考试")
    second = await _latest(day, "violation")
    assert f"编号 {second}：" in await day.say("李强", "收到")
    await day.say("王芳", f"/更正 {second} 2026000005 抄袭 警告")
    assert await day.say("李强", "收到") == NOTHING_TO_ACK

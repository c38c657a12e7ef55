"""After /确认 the office and supervisors, told 待第二名监考员 /确认, learn the confirmation happened."""

from __future__ import annotations

from tests.handlers.conftest import Day


async def test_second_confirmation_is_reported_to_those_alerted(day: Day) -> None:
    """王芳 reports 替考 and 钱进 (office) is alerted; 李强 confirms and 钱进 is told, once."""
    await day.say("王芳", "/违纪 1 2026000003 抄袭 终止考试")
    (row,) = await day.reports("violation")
    assert any(f"/确认 {row.id}" in t for t in await day.inbox("钱进"))
    reply = await day.say("李强", f"/确认 {row.id}")
    assert f"已确认编号 {row.id}" in reply and "已告知考务办公室和督导" in reply
    told = [t for t in await day.inbox("钱进") if t.startswith("【违纪已确认】")]
    assert len(told) == 1 and f"编号 {row.id}" in told[0] and "第二名监考员李强确认" in told[0]
    assert "已由李强确认过" in await day.say("李强", f"/确认 {row.id}")
    assert len([t for t in await day.inbox("钱进") if t.startswith("【违纪已确认】")]) == 1

"""Notes and reasons keep the Chinese punctuation they were typed with (a phone's full-width ，and ：become ASCII
under NFKC; what is stored and shown reads as typed): /备注, /撤销's reason, /违纪's and /认定's 说明. SQLite and
PostgreSQL."""

from __future__ import annotations

from tests.handlers.conftest import Day


async def test_notes_and_reasons_read_as_typed(db_day: Day) -> None:
    day = db_day
    await day.say("王芳", "/试卷 1 领取 30")
    await day.say("王芳", "/缺考 1 无")
    await day.say("王芳", "/试卷 1 回收 29 答题卡 29")
    collect = max(r.id or 0 for r in await day.reports("papers"))
    reply = await day.say("钱进", f"/备注 {collect} 考生交白卷未交试卷，已核实。")
    assert "：考生交白卷未交试卷，已核实。该考场" in reply
    (note,) = await day.reports("note")
    assert note.payload["text"] == "考生交白卷未交试卷，已核实"

    await day.say("王芳", "/违纪 1 3号 抄袭 警告 说明：发现小抄，已没收")
    (violation,) = await day.reports("violation")
    assert violation.payload["note"] == "发现小抄，已没收"
    await day.say("钱进", f"/认定 {violation.id} 警告 说明：已核实，维持现场处理")
    (ruling,) = await day.reports("determination")
    assert ruling.payload["note"] == "已核实，维持现场处理"

    await day.say("王芳", "/突发 1 停电，已启用应急灯")
    incident = (await day.reports("incident"))[0]
    reply = await day.say("王芳", f"/撤销 {incident.id} 误报，已恢复供电")
    assert "原因：误报，已恢复供电）" in reply
    assert (await day.reports("incident"))[-1].reason == "误报，已恢复供电"

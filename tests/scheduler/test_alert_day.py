"""A time-compressed exam day through the console channel (issue 14): alerts only when due, grouped, marked late.

Theory rooms 1 and 2 (08:08–09:38), practical room 3 (08:20–10:20), computer room 4 (08:45–10:45). Room 1 does
everything on time; room 2 acknowledges late, reports its absentees late and collects without a 领取; rooms 3 and
4 never answer. The sender runs every minute; the office's inbox is read at the end.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from bot.clock import ManualClock
from bot.store.tables import ConsoleMessage, Staff


async def _inbox(chat: Any, name: str) -> list[ConsoleMessage]:
    async with chat.services.db.session() as s:
        staff = (await s.exec(select(Staff).where(Staff.name == name))).one()
        q = select(ConsoleMessage).where(ConsoleMessage.chat == f"dm:{staff.id}", ConsoleMessage.direction == "out")
        return list((await s.exec(q.order_by(col(ConsoleMessage.id)))).all())


async def test_a_day_of_alerts_only_when_due_grouped_and_late_marked(demo_chat: Any, clock: ManualClock) -> None:
    tz = demo_chat.services.settings.tz
    outbox = demo_chat.services.notifier.outbox
    say = demo_chat.say

    def hm() -> str:
        return clock.now().astimezone(tz).strftime("%H:%M")

    script: dict[str, list[tuple[str, str, str | None]]] = {
        "08:04": [("王芳", "收到", "console:第1考场"), ("王芳", "/试卷 1 领取 30", None)],
        "08:20": [("赵敏", "收到了", "console:第2考场")],  # 启封 went out at 08:03: late
        "08:40": [("王芳", "收到", "console:第1考场"), ("王芳", "/缺考 1 2026000003", None)],
        "09:10": [("赵敏", "/缺考 2 无", None)],  # 禁止迟到入场 at 08:38: reported 32 minutes later
        "09:39": [("王芳", "收到", "console:第1考场"), ("王芳", "/试卷 1 回收 30 答题卡 29 空白 1", None)],
        "09:45": [("赵敏", "/试卷 2 回收 28 答题卡 28", None)],  # no 领取 reported: asked, never answered
    }
    replies: dict[str, str] = {}
    start = clock.now()
    while clock.now() < start + timedelta(hours=3, minutes=20):  # 08:00 → 11:20 (digest at 11:15)
        for who, text, chat in script.get(hm(), []):
            replies[f"{hm()} {who} {text}"] = await say(who, text, chat=chat) or ""
        await outbox.drain()
        clock.advance(timedelta(minutes=1))

    assert "迟确认" not in replies["08:04 王芳 收到"]
    assert "迟确认：提醒 08:03 发出" in replies["08:20 赵敏 收到了"]
    assert "核对无误" in replies["09:39 王芳 /试卷 1 回收 30 答题卡 29 空白 1"]
    assert "本考场领取了多少份试卷？" in replies["09:45 赵敏 /试卷 2 回收 28 答题卡 28"]

    inbox = await _inbox(demo_chat, "钱进")
    local = [(m.at.astimezone(tz), m.text) for m in inbox]
    escalations = [(at, t) for at, t in local if "〔待处理 #" in t]
    assert escalations, "rooms 3 and 4 never answered: the office must hear of them"
    # Grouped: on the window's minute marks, one message per window.
    assert all(at.minute % 5 == 0 for at, _t in escalations), [at for at, _t in escalations]
    windows = [at.replace(second=0, microsecond=0) for at, _t in escalations]
    assert len(windows) == len(set(windows))
    assert any(t.count("〔待处理 #") >= 2 for _at, t in escalations)  # several rooms/steps in one message
    # Room 1 did everything on time: never escalated. No false alarm about papers anywhere.
    assert not [t for _at, t in escalations if "第1考场" in t]
    assert not [t for _at, t in local if "核对不符" in t]
    # Nothing about absentees before they were due (08:38 for theory, 08:25 for the practical room).
    first_absent = min(at for at, t in escalations if "/缺考 报告" in t)
    assert first_absent.strftime("%H:%M") >= "08:45"  # practical +5 at 08:25, office told 20 minutes later
    # Room 2's late absentee report (09:10) came after its escalation; its missing 领取 escalated 20 minutes on.
    assert any("第2考场" in t and "/缺考 报告" in t for _at, t in escalations)
    assert any("第2考场" in t and "仍未报领取份数" in t for _at, t in escalations)

    status = await say("钱进", "/提醒状态") or ""
    line1 = next(x for x in status.splitlines() if x.strip().startswith("第1考场"))
    line2 = next(x for x in status.splitlines() if x.strip().startswith("第2考场"))
    assert "✓启封试卷（王芳 08:04）" in line1 and "迟确认" not in line1
    assert "迟确认启封试卷（赵敏 08:20）" in line2

    digests = [t for _at, t in local if "考务日报" in t]
    assert len(digests) == 1
    room1 = next(x for x in digests[0].splitlines() if x.strip().startswith("第1考场"))
    room4 = next(x for x in digests[0].splitlines() if x.strip().startswith("第4考场"))
    assert "待办" not in room1
    assert "缺考逾期未报" in room4 and "待办" in room4

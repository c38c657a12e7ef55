"""A room reached through a group robot's webhook: its reminders name the robot's platform, told by the adapters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from bot.adapters.registry import webhook_channel
from bot.clock import ManualClock
from bot.delivery.rows import T
from bot.store.tables import Room
from scheduler.planner import plan_sessions
from tests.scheduler.sched_helpers import SHANGHAI

DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=abc"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=xyz"


def test_webhook_channel_names_the_robots_platform() -> None:
    """DingTalk's robot address is DingTalk's; WeCom's robot address is WeCom's."""
    assert webhook_channel(DINGTALK) == "dingtalk"
    assert webhook_channel(WECOM) == "wecom"


async def test_planned_group_reminders_carry_the_webhooks_platform(
    make_day: Any, clock: ManualClock, tmp_path: Any
) -> None:
    """Rooms 1 and 2 get robots instead of group chats: their group reminders go to the robot on its own platform."""
    day = await make_day(f"sqlite:///{tmp_path / 'robots.db'}")
    rt = Room.__table__  # type: ignore[attr-defined]
    async with day.db.session() as s:
        conn = await s.connection()
        await conn.execute(update(rt).where(rt.c.room_no == "第1考场").values(group_chat=None, robot_webhook=DINGTALK))
        await conn.execute(update(rt).where(rt.c.room_no == "第2考场").values(group_chat=None, robot_webhook=WECOM))
        sessions = [sid for (sid,) in (await conn.execute(rt.select().with_only_columns(rt.c.session_id))).all()]
        await plan_sessions(s, sessions, clock.now(), tz=SHANGHAI, webhook_channel=webhook_channel)
    rows = await day.rows(T.c.target_key.like("webhook:%"), T.c.status == "pending")
    by_hook = {(r["target"]["webhook"], r["target"]["channel"]) for r in rows}
    assert by_hook == {(DINGTALK, "dingtalk"), (WECOM, "wecom")}

"""Alerts a handler raises inside a platform callback are on disk before the answer, and sent after it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import col, select

from bot.app import SERVICES, create_app
from bot.clock import ManualClock
from bot.dispatch import CommandTable, Context
from bot.model import OutgoingMessage, PersonTarget, Reply
from bot.settings import Settings
from bot.store.tables import OutboxMessage
from tests.adapters.conftest import eventually
from tests.fakes.wecom import FakeWeCom, WeComPlatform


def alert_table() -> CommandTable:
    """/告警: tells the office, then answers."""
    table = CommandTable()

    @table.command("告警", summary="通知办公室", hidden=True)
    async def alert(ctx: Context, args: str) -> Reply:
        await ctx.notify([OutgoingMessage(PersonTarget("wecom", "qianjin"), f"【突发事件】{args}")])
        return Reply("已通知考务办公室")

    return table


async def test_alert_persisted_before_the_answer_and_sent_after_it(
    wecom_settings: Settings, wecom_platform: WeComPlatform, fake_wecom: FakeWeCom, clock: ManualClock
) -> None:
    """With WeCom's API hanging, the reporter still gets the passive answer at once; the alert row is already
    stored, and it goes out once the API answers again."""
    app = create_app(wecom_settings, clock=clock, tables=[alert_table()], components=[])
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        fake_wecom.hang_seconds = 2.0
        fake_wecom.fail_next("timeout")  # the first send hangs for 2 s (then answers "system busy")
        query, body = wecom_platform.post(wecom_platform.message_xml("wangfang", "/告警 停电", "6001"))
        resp = await client.post(f"/wecom/callback?{query}", data=body)
        assert resp.status == 200
        assert wecom_platform.open_reply(await resp.text())["Content"] == "已通知考务办公室"
        db = app[SERVICES].db
        async with db.read() as s:
            rows = (await s.exec(select(OutboxMessage).where(col(OutboxMessage.text).contains("停电")))).all()
        assert len(rows) == 1  # on disk before the answer
        assert fake_wecom.deliveries == []
        notifier = app[SERVICES].notifier
        await notifier.settle()  # the background pass met the hang and left the row for a retry
        assert fake_wecom.deliveries == []
        clock.advance(timedelta(minutes=2))  # past the retry backoff: what the 30-second sweep does
        await notifier.outbox.run_once(keys=[rows[0].key])
        await eventually(lambda: len(fake_wecom.deliveries) == 1)
        d = fake_wecom.deliveries[0]
        assert d.body["touser"] == "qianjin"
        assert d.body["text"]["content"].endswith("【突发事件】停电")  # marked 补发 with its original time
    finally:
        await client.close()

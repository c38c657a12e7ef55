"""The alarm clock (APScheduler, in-memory) and the app component; 收到 and /提醒状态 in chat."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sched_helpers import SHANGHAI, Ledger
from sqlmodel import select

from bot.app import SERVICES, create_app
from bot.clock import FastClock, ManualClock
from bot.delivery.notifier import OutboxNotifier
from bot.delivery.rows import T
from bot.delivery.sender import Outbox
from bot.demo import seed_demo
from bot.lifecycle import components, reminder_component
from bot.settings import Settings
from bot.store.engine import Database
from bot.store.migrate import upgrade
from bot.store.tables import ConsoleMessage
from scheduler.service import ReminderService


def test_component_runs_only_with_background_parts() -> None:
    """The reminder service is an app component, left out of one-shot runs such as exambot chat."""
    assert reminder_component in components(background=True)
    assert reminder_component not in components(background=False)


def test_real_delay_follows_the_app_clock_speed() -> None:
    """With a clock running 60 times faster, a reminder one app-hour away is one real minute away."""
    clock = ManualClock(datetime(2026, 12, 5, 0, 0, tzinfo=UTC))
    clock.speed = 60.0  # a frozen clock with the demo's speed: the delay is exact, whatever the machine's load
    svc = ReminderService(
        Outbox(Database("sqlite:///:memory:"), clock, Ledger(ManualClock(clock.now())).deliver), clock
    )
    assert svc.real_delay(clock.now() + timedelta(hours=1)) == 60.0
    assert svc.real_delay(clock.now() - timedelta(hours=1)) == 0.0


async def _wait_for(pred: Any, limit_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not await pred():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.05)


async def test_timers_fire_reminders_without_waiting_for_a_sweep(tmp_path: Any) -> None:
    """With the sweep an hour away, APScheduler date jobs alone deliver the start reminder, never before its time."""
    # 08:00 Shanghai, 2 app-minutes a second. How late the timer fires is the machine's business (a loaded CI
    # machine once stalled it past the 60 app-second 补发 mark), so only the order of times is asserted.
    clock = FastClock(120, origin=datetime(2026, 12, 5, 0, 0, tzinfo=UTC))
    db = Database(f"sqlite:///{tmp_path / 'timers.db'}")
    await upgrade(db)
    await seed_demo(db, clock.now(), SHANGHAI)
    ledger = Ledger(ManualClock(clock.now()))
    svc = ReminderService(Outbox(db, clock, ledger.deliver), clock, sweep=timedelta(hours=1))
    await svc.start()
    try:
        rows: list[Any] = []

        async def start_sent() -> bool:
            async with db.sessions() as s:
                conn = await s.connection()
                q = select(T.c.status, T.c.sent_at, T.c.due_at).where(T.c.step == "start", T.c.session_id == 1)
                rows[:] = (await conn.execute(q)).all()
            return bool(rows) and all(st == "sent" for st, _s, _d in rows)

        await _wait_for(start_sent)
        assert all(sent >= due for _st, sent, due in rows)
        assert svc.sweeps == 1  # only the first sweep at start ran: the timer sent it
        assert any("开考、五对照" in t for _a, _addr, t in ledger.deliveries)
    finally:
        await svc.stop()
        await db.dispose()


async def test_app_component_delivers_demo_reminders_to_console_groups(tmp_path: Any) -> None:
    """In the app, planned demo reminders appear in the console group chats (as `make run` shows)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}")
    # 2 app-minutes a second: the seeded rows get their timers at the first sweep (1 s), and a reminder's 5-minute
    # grace is 2.5 real seconds. At ×600 the grace was half a second, which a sweep delayed on a busy CI missed once.
    clock = FastClock(120, origin=datetime(2026, 12, 5, 0, 0, tzinfo=UTC))
    app = create_app(settings, clock=clock, console=True, components=[reminder_component])
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        services = app[SERVICES]
        assert isinstance(services.notifier, OutboxNotifier)
        await seed_demo(services.db, clock.now(), settings.tz)

        async def group_has_start() -> bool:
            async with services.db.sessions() as s:
                rows = (await s.exec(select(ConsoleMessage).where(ConsoleMessage.chat == "console:第1考场"))).all()
            # 启封 (08:03) or the start (08:08): a machine that stalls past one's grace still shows the other
            return any("现在开考" in m.text or "启封" in m.text for m in rows)

        await _wait_for(group_has_start)
        assert services.reminders is not None
    finally:
        await runner.cleanup()


async def test_chief_acknowledges_and_office_sees_who_has_not(demo_chat: Any, clock: ManualClock) -> None:
    """王芳 answers 收到 in her group; /提醒状态 shows 第1考场 ✓ and 第2考场 ✗; a deputy's /收到 is refused."""
    outbox = demo_chat.services.notifier.outbox
    clock.advance(timedelta(minutes=3, seconds=5))  # 08:03: 启封 (-5) goes out to the theory rooms
    await outbox.drain()
    assert "已记录确认" not in (await demo_chat.say("钱进", "收到") or "")  # not a chief: nothing recorded
    reply = await demo_chat.say("王芳", "收到", chat="console:第1考场")
    assert reply is not None and "第1考场「启封试卷」" in reply
    assert "需由主监考（赵敏）" in (await demo_chat.say("陈刚", "收到", chat="console:第2考场") or "")
    assert await demo_chat.say("王芳", "/收到") == "目前没有需要您确认的提醒。"
    assert "没有担任主监考" in (await demo_chat.say("李强", "/收到") or "")
    status = await demo_chat.say("钱进", "/提醒状态") or ""
    line1 = next(x for x in status.splitlines() if x.strip().startswith("第1考场"))
    line2 = next(x for x in status.splitlines() if x.strip().startswith("第2考场"))
    assert "✓启封试卷（王芳" in line1
    assert "✗启封试卷" in line2
    assert "没有" in (await demo_chat.say("钱进", "/提醒状态 不存在的场次") or "")
    refusal = await demo_chat.say("王芳", "/提醒状态") or ""
    assert "权限" in refusal
    # Three minutes later only 第2考场's chief is nudged.
    clock.advance(timedelta(minutes=3))
    await outbox.drain()
    async with demo_chat.services.db.sessions() as s:
        conn = await s.connection()
        q = select(T.c.room_id, T.c.status).where(
            T.c.kind == "ack_nudge", T.c.step == "open_papers", T.c.session_id == 1
        )
        statuses = sorted(st for _r, st in (await conn.execute(q)).all())
    assert statuses == ["cancelled", "sent"]

"""The alarm clock: APScheduler 3.11 with an in-memory job store wakes the outbox sender.

The outbox table is the truth; timers only make delivery prompt. At start and every sweep (30 s
of app time, at least 1 s real) the sender drains what is due, including expired leases, and one
date job is set per distinct due time within the horizon. A lost timer or a stopped process costs
latency, never a message. Real delays honour the app clock: ``(due - clock.now()) / clock.speed``.
Whoever plans rows in this process (an office command that moves a session) arms them with :meth:`wake_at`;
the app starts and stops the service (:mod:`bot.lifecycle`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.delivery.rows import due_times
from bot.delivery.sender import Outbox
from bot.delivery.stats import RunStats
from bot.tasks import Tasks
from scheduler.digest import plan_certificates

log = structlog.get_logger("exambot.scheduler")

SWEEP = timedelta(seconds=30)
HORIZON = timedelta(hours=6)
MAX_TIMERS = 5000


class ReminderService:
    """Timers and the sweep around one :class:`~bot.delivery.sender.Outbox`."""

    def __init__(
        self,
        outbox: Outbox,
        clock: Clock,
        *,
        tz: ZoneInfo | None = None,
        sweep: timedelta = SWEEP,
        horizon: timedelta = HORIZON,
    ) -> None:
        self.outbox = outbox
        self.clock = clock
        self.tz = tz or ZoneInfo("Asia/Shanghai")
        self.sweep_every = sweep
        self.horizon = horizon
        self.scheduler: AsyncIOScheduler | None = None
        self._armed: set[datetime] = set()
        self.sweeps = 0
        self._stopping = False
        self._draining = False
        self._again = False
        self._idle = asyncio.Event()
        self._tasks = Tasks("reminders")
        self._certs_at: datetime | None = None
        self._idle.set()

    # -- lifecycle -----------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the alarm clock and run the first sweep at once (sends what fell due while down)."""
        self.scheduler = AsyncIOScheduler(
            timezone=self.tz,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self.scheduler.start()
        self.outbox.on_reschedule = self.wake_at
        interval = max(1.0, self.sweep_every.total_seconds() / self.clock.speed)
        self.scheduler.add_job(
            self._sweep_job,
            "interval",
            seconds=interval,
            id="sweep",
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )
        log.info("reminders_started", owner=self.outbox.owner, sweep_s=interval)

    async def stop(self) -> None:
        """Stop the timers after the pass in progress has finished its rows (nothing is cut mid-send)."""
        self._stopping = True
        self.outbox.on_reschedule = None
        if self.scheduler is not None:
            self.scheduler.pause()
            await self._tasks.wait()
            await self._idle.wait()
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        await asyncio.sleep(0)

    # -- timers --------------------------------------------------------------------------------------------------------

    def real_delay(self, due: datetime) -> float:
        """Seconds of wall time until the app clock reaches ``due``."""
        return max(0.0, (due - self.clock.now()).total_seconds() / self.clock.speed)

    def wake_at(self, due: datetime) -> None:
        """Arm a timer that drains the outbox when the app clock reaches ``due``."""
        if self.scheduler is None:
            return
        if due > self.clock.now() + self.horizon:
            return  # a later sweep arms it
        key = due.astimezone(UTC).replace(microsecond=(due.microsecond // 1000) * 1000)
        if key in self._armed:
            return
        self._armed.add(key)
        run_at = datetime.now(UTC) + timedelta(seconds=self.real_delay(due))
        self.scheduler.add_job(
            self._fire_job, "date", run_date=run_at, args=[key], id=f"wake:{key.isoformat()}", replace_existing=True
        )

    def wake_at_all(self, times: list[datetime]) -> None:
        """Arm timers for planned due times (what :func:`~scheduler.planner.plan_sessions` returned)."""
        for t in times:
            self.wake_at(t)

    async def _fire_job(self, key: datetime) -> None:
        # Jobs return at once and the work runs as a task: a long pass never makes APScheduler skip a job.
        self._tasks.spawn(self._fire(key), name="reminders-fire")

    async def _sweep_job(self) -> None:
        self._tasks.spawn(self.sweep(), name="reminders-sweep")

    async def _fire(self, key: datetime) -> None:
        try:
            await self.drain()
        finally:
            self._armed.discard(key)  # after the pass: re-arming this very time meanwhile is pointless

    async def drain(self) -> RunStats:
        """Send everything due now; a wake-up during a pass makes that pass look again instead of waiting."""
        if self._stopping:
            return RunStats()
        if self._draining:
            self._again = True
            return RunStats()
        self._draining = True
        self._idle.clear()
        total = RunStats()
        try:
            while True:
                self._again = False
                s = await self.outbox.drain()
                total.claimed += s.claimed
                total.sent += s.sent
                total.expired += s.expired
                if not self._again or self._stopping:
                    break
        except Exception:
            log.exception("drain_failed")
        finally:
            self._draining = False
            self._idle.set()
        return total

    async def refill(self) -> int:
        """Arm timers for pending rows due within the horizon; returns how many times are armed."""
        times = await due_times(self.outbox.db, self.clock.now() + self.horizon, limit=MAX_TIMERS)
        for t in times:
            self.wake_at(t)
        return len(self._armed)

    async def plan_certificates(self) -> None:
        """Plan certificate-expiry reminders (at start, then every app-hour)."""
        now = self.clock.now()
        if self._certs_at is not None and now - self._certs_at < timedelta(hours=1):
            return
        self._certs_at = now
        async with self.outbox.db.session() as s:
            await plan_certificates(await s.connection(), now, self.tz)

    async def sweep(self) -> RunStats:
        """Drain overdue rows and expired leases, then refill the timers."""
        self.sweeps += 1
        try:
            await self.plan_certificates()
        except Exception:
            log.exception("certificates_failed")
        stats = await self.drain()
        try:
            await self.refill()
        except Exception:
            log.exception("refill_failed")
        return stats

"""The parts that run with the app, each an aiohttp ``cleanup_ctx`` generator: started in order, stopped in reverse.

- the knowledge base, loaded at start off the event loop so the first question is fast;
- the reminder service (timers and the sweep around the outbox sender);
- the recovery of platform messages whose handling never finished.

Each part keeps its background work in a :class:`~bot.tasks.Tasks` and ends it when the app stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from bot.adapters.recovery import InboundRecovery
from bot.delivery.notifier import OutboxNotifier
from bot.keys import ADAPTERS, SERVICES
from bot.settings import ConfigError
from bot.tasks import Tasks
from knowledge import KnowledgeFileError
from scheduler.service import ReminderService

Component = Callable[[web.Application], AsyncIterator[None]]


def components(*, background: bool = True) -> list[Component]:
    """The default parts, in start order.

    ``background`` False leaves out the parts that act on their own (the reminder scheduler, the
    replay of platform messages whose handling never finished), for one-shot runs such as
    ``exambot chat``.
    """
    parts: list[Component] = [knowledge_component]
    if background:
        parts += [reminder_component, recovery_component]
    return parts


async def knowledge_component(app: web.Application) -> AsyncIterator[None]:
    """Load the rule knowledge base at start, off the event loop, so the first question is fast."""
    services = app[SERVICES]
    try:
        await services.knowledge.load(services.settings)
    except KnowledgeFileError as exc:
        raise ConfigError(f"规定条款文件有错误（EXAMBOT_KB_DIR）：{exc}") from exc
    yield


async def reminder_component(app: web.Application) -> AsyncIterator[None]:
    """Run the reminder service for the app's lifetime."""
    services = app[SERVICES]
    notifier = services.notifier
    if not isinstance(notifier, OutboxNotifier):
        raise RuntimeError("the reminder service needs the app's OutboxNotifier")
    service = ReminderService(notifier.outbox, services.clock, tz=services.settings.tz)
    await service.start()
    services.reminders = service
    try:
        yield
    finally:
        services.reminders = None
        await service.stop()


async def recovery_component(app: web.Application) -> AsyncIterator[None]:
    """Run the recovery loop while the app runs (only channels that keep replayable claims)."""
    adapters = {name: a for name, a in app[ADAPTERS].items() if name != "console"}
    if not adapters:
        yield
        return
    services = app[SERVICES]
    tasks = Tasks("inbound-recovery")
    tasks.spawn(InboundRecovery(services.db, services.clock, adapters).run_forever(), name="inbound-recovery")
    try:
        yield
    finally:
        await tasks.drain(grace=0)

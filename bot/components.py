"""Background parts started with the app, each an aiohttp cleanup_ctx generator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

Component = Callable[[web.Application], AsyncIterator[None]]


def components(*, background: bool = True) -> list[Component]:
    """The default parts, in start order.

    ``background`` False leaves out the parts that act on their own (the reminder scheduler, the
    replay of platform messages whose handling never finished), for one-shot runs such as
    ``exambot chat``.
    """
    parts: list[Component] = [knowledge_component]
    if background:
        from bot.adapters.recovery import recovery_component
        from scheduler.service import reminder_component

        parts += [reminder_component, recovery_component]
    return parts


async def knowledge_component(app: web.Application) -> AsyncIterator[None]:
    """Load the rule knowledge base at start, off the event loop, so the first question is fast."""
    from bot.app import SERVICES
    from bot.settings import ConfigError
    from handlers.ask import load_knowledge
    from knowledge import KnowledgeFileError

    try:
        await load_knowledge(app[SERVICES])
    except KnowledgeFileError as exc:
        raise ConfigError(f"规定条款文件有错误（EXAMBOT_KB_DIR）：{exc}") from exc
    yield

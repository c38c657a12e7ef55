"""Background parts started with the app, each an aiohttp cleanup_ctx generator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

Component = Callable[[web.Application], AsyncIterator[None]]


def components(*, background: bool = True) -> list[Component]:
    """The default parts, in start order.

    ``background`` False leaves out the parts that act on their own (the reminder scheduler), for
    one-shot runs such as ``exambot chat``.
    """
    parts: list[Component] = []
    return parts

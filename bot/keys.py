"""Every typed key of the aiohttp application, in one place."""

from __future__ import annotations

from aiohttp import web

from bot.adapters.base import Adapter
from bot.dispatch import Dispatcher
from bot.services import Services
from bot.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
ADAPTERS = web.AppKey("adapters", dict[str, Adapter])

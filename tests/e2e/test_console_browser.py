"""The console in a real browser: headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bot.app import SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import Settings

CHROMIUM = os.environ.get("EXAMBOT_CHROMIUM", "/usr/bin/chromium")
# Flags this sandboxed machine needs (no GPU, no network beyond loopback, running as root).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def server(settings: Settings, clock: ManualClock):  # type: ignore[no-untyped-def]
    """The console app on a real port with the demo day."""
    app = create_app(settings, clock=clock, console=True, components=[])
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    await seed_demo(app[SERVICES].db, clock.now(), settings.tz)
    yield srv
    await srv.close()


async def test_help_as_demo_invigilator(server: TestServer, tmp_path: Path) -> None:
    """Open /console, pick 王芳 (invigilator), send /帮助 and read the reply on the page."""
    assert shutil.which(CHROMIUM), "Debian chromium is missing: run `make test`"
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(str(server.make_url("/console")))
            await page.wait_for_selector("#who option", state="attached")
            await page.select_option("#who", label="王芳（监考员）")
            await page.fill("#text", "/帮助")
            await page.click("#send button")
            reply = page.locator(".msg:not(.mine) .bubble").filter(has_text="您可以使用以下命令")
            await reply.first.wait_for(timeout=15000)
            assert "王芳，您可以使用以下命令" in await reply.first.inner_text()
            mine = page.locator(".msg.mine .bubble")
            assert await mine.first.inner_text() == "/帮助"
        finally:
            await browser.close()

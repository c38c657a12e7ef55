"""The office board in a real browser: headless Debian Chromium driven by Playwright, phone and laptop sizes."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import col, select

from bot.app import ADAPTERS, SERVICES, create_app
from bot.board_links import sign
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import Settings
from bot.store.tables import Staff
from tests.e2e.test_console_browser import CHROMIUM, CHROMIUM_ARGS

SECRET = "browser-board"


@pytest.fixture
async def server(make_settings: Callable[..., Settings], clock: ManualClock) -> AsyncIterator[TestServer]:
    """The console app with a board secret on a real port, with the demo day."""
    settings = make_settings(board_token=SECRET)
    app = create_app(settings, clock=clock, console=True, components=[])
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    await seed_demo(app[SERVICES].db, clock.now(), settings.tz)
    yield srv
    await srv.close()


async def _id(server: TestServer, name: str) -> int:
    async with server.app[SERVICES].db.read() as s:
        staff = (await s.exec(select(Staff).where(col(Staff.name) == name))).one()
    assert staff.id is not None
    return staff.id


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1366, 768)])
async def test_board_live_at_phone_and_laptop_size(
    server: TestServer, clock: ManualClock, tmp_path: Path, width: int, height: int
) -> None:
    """A valid link opens the board; a /缺考 sent through the console recolours that room's tile without a reload."""
    assert shutil.which(CHROMIUM), "Debian chromium is missing: run `make test`"
    from playwright.async_api import async_playwright  # test-only: Playwright loads for the browser tests

    key = sign(SECRET, await _id(server, "钱进"), clock.now() + timedelta(hours=12))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": width, "height": height})
            await page.goto(str(server.make_url("/board").with_query(k=key)))
            tiles = page.locator("#tiles .tile")
            await tiles.first.wait_for(timeout=15000)
            first = page.locator(".tile", has_text="第1考场").first
            assert await first.get_attribute("data-state") == "not_started"
            assert await page.evaluate("document.documentElement.scrollWidth") <= width  # no horizontal scroll
            await page.screenshot(path=str(tmp_path / f"board-{width}-before.png"), full_page=True)
            marker = await page.evaluate("window.__kept = 1")  # gone if the page reloads
            assert marker == 1

            console = server.app[ADAPTERS]["console"]
            reply = await console.handle(str(await _id(server, "王芳")), "/缺考 1 无", None)
            assert reply is not None and "已记录" in reply.text
            await page.wait_for_function(
                """() => [...document.querySelectorAll('.tile')].some(
                    t => t.textContent.includes('第1考场') && t.dataset.state === 'absent_reported')""",
                timeout=15000,
            )
            assert await page.evaluate("window.__kept") == 1
            assert "无人缺考" in await page.locator("#feed").inner_text()
            assert await page.evaluate("document.documentElement.scrollWidth") <= width
            await page.screenshot(path=str(tmp_path / f"board-{width}-after.png"), full_page=True)

            await first.click()
            await page.locator("#detail[open]").wait_for(timeout=15000)
            assert "无人缺考" in await page.locator("#detail-records").inner_text()
            await page.screenshot(path=str(tmp_path / f"board-{width}-room.png"))
            assert (tmp_path / f"board-{width}-after.png").stat().st_size > 0
        finally:
            await browser.close()


async def test_expired_link_shows_the_401_page(server: TestServer, clock: ManualClock, tmp_path: Path) -> None:
    """A link past its expiry opens the Chinese 401 page, not the board."""
    from playwright.async_api import async_playwright  # test-only: Playwright loads for the browser tests

    key = sign(SECRET, await _id(server, "钱进"), clock.now() + timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            response = await page.goto(str(server.make_url("/board").with_query(k=key)))
            assert response is not None and response.status == 401
            assert "已过期" in await page.locator("#why").inner_text()
            assert await page.locator("#tiles").count() == 0
            await page.screenshot(path=str(tmp_path / "board-expired.png"))
        finally:
            await browser.close()

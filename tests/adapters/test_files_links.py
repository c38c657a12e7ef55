"""Signed, expiring download links (``/files/<id>?e=&s=``) and the console's file messages.

Expired links are refused with 410, forged or missing signatures with 403, unknown or malformed (huge)
file ids with 404, each with a Chinese page; a good link downloads the file under its Chinese name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import col, select

from bot.app import ADAPTERS, SERVICES, create_app
from bot.clock import ManualClock
from bot.files import FileLinks
from bot.model import PersonTarget, file_message
from bot.settings import Settings
from bot.store.files import FILE_ID_LENGTH, new_file_id, store_file
from bot.store.tables import ConsoleMessage
from tests.fakes.files import ROWS, WORKBOOK_NAME, file_table, workbook_bytes, workbook_rows

SECRET = "a-test-link-secret-0123456789"


@pytest.fixture
async def client(make_settings: Callable[..., Settings], clock: ManualClock) -> AsyncIterator[TestClient[Any, Any]]:
    """The app with the console channel, a link secret, links valid 2 hours, and one stored workbook."""
    settings = make_settings(console=True, file_link_secret=SECRET, file_link_hours=2,
                             public_url="https://exam.example.org/")  # fmt: skip
    app = create_app(settings, clock=clock, tables=[file_table()], components=[])
    c: TestClient[Any, Any] = TestClient(TestServer(app))
    await c.start_server()
    yield c
    await c.close()


def _app(client: TestClient[Any, Any]) -> web.Application:
    return client.server.app  # type: ignore[return-value]


def _links(clock: ManualClock) -> FileLinks:
    return FileLinks(SECRET.encode(), "https://exam.example.org", timedelta(hours=2), clock)


async def _stored(client: TestClient[Any, Any], clock: ManualClock) -> str:
    async with _app(client)[SERVICES].db.session() as s:
        return await store_file(s, WORKBOOK_NAME, workbook_bytes(), clock.now())


def _path(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


async def _refused(resp: Any, status: int, words: str) -> None:
    assert resp.status == status
    assert resp.headers["Content-Type"].startswith("text/html")
    page = await resp.text()
    assert words in page and 'lang="zh-CN"' in page
    assert "考场" not in page  # nothing of the file


async def test_good_link_downloads_the_workbook_under_its_name(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """A fresh link serves the bytes as an attachment named 考场情况记录表-….xlsx; the workbook opens."""
    file_id = await _stored(client, clock)
    link, expires_at = _links(clock).link(file_id)
    assert link.startswith(f"https://exam.example.org/files/{file_id}?e=")
    assert expires_at == clock.now() + timedelta(hours=2)
    resp = await client.get(_path(link))
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert f"filename*=UTF-8''{quote(WORKBOOK_NAME)}" in resp.headers["Content-Disposition"]
    assert resp.headers["Cache-Control"].startswith("private")
    assert workbook_rows(await resp.read()) == ROWS


async def test_expired_link_is_gone(client: TestClient[Any, Any], clock: ManualClock) -> None:
    """Two hours later the same link answers 410 with a Chinese page that says it expired."""
    file_id = await _stored(client, clock)
    link, _ = _links(clock).link(file_id)
    clock.advance(timedelta(hours=2, seconds=1))
    await _refused(await client.get(_path(link)), 410, "链接已过期")


@pytest.mark.parametrize(
    "forge",
    [
        lambda fid, e, s: f"/files/{fid}?e={e}&s={'0' * 32}",  # made-up signature
        lambda fid, e, s: f"/files/{fid}?e={int(e) + 86400}&s={s}",  # expiry pushed back, old signature
        lambda fid, e, s: f"/files/{fid}?e={e}",  # no signature
        lambda fid, e, s: f"/files/{fid}",  # nothing
        lambda fid, e, s: f"/files/{fid}?e={e}&s={s.upper()}",  # not the signature's spelling
        lambda fid, e, s: f"/files/{fid}?e=-{e}&s={s}",
        lambda fid, e, s: f"/files/{fid}?e={e}&s={s}{'0' * 5000}",  # a huge signature
    ],
)
async def test_forged_link_is_refused(
    client: TestClient[Any, Any], clock: ManualClock, forge: Callable[[str, str, str], str]
) -> None:
    """Any change to a link (signature, expiry) is refused with 403 and a Chinese page."""
    file_id = await _stored(client, clock)
    link, _ = _links(clock).link(file_id)
    query = dict(p.split("=", 1) for p in urlsplit(link).query.split("&"))
    await _refused(await client.get(forge(file_id, query["e"], query["s"])), 403, "链接无效")


async def test_link_signed_with_another_secret_is_refused(client: TestClient[Any, Any], clock: ManualClock) -> None:
    """A link signed with another secret (another deployment, a guess) is refused."""
    file_id = await _stored(client, clock)
    other = FileLinks(b"another secret", "https://exam.example.org", timedelta(hours=2), clock)
    await _refused(await client.get(_path(other.link(file_id)[0])), 403, "链接无效")


@pytest.mark.parametrize("file_id", ["x" * 4000, "A" * FILE_ID_LENGTH, "a.b", "abc", "z" * (FILE_ID_LENGTH + 1)])
async def test_malformed_file_ids_are_not_found(client: TestClient[Any, Any], clock: ManualClock, file_id: str) -> None:
    """A file id of the wrong shape (huge, upper case, short) is 404, even with a signature made for it."""
    link, _ = _links(clock).link(file_id)
    await _refused(await client.get(_path(link)), 404, "文件不存在")


async def test_unknown_file_with_a_good_signature_is_not_found(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """A well-formed, correctly signed id that names no stored file is 404."""
    link, _ = _links(clock).link(new_file_id())
    await _refused(await client.get(_path(link)), 404, "文件不存在")


async def test_console_shows_a_file_as_its_download_link(client: TestClient[Any, Any], clock: ManualClock) -> None:
    """In the demo console, /文件 in a private chat shows the workbook as a signed link that downloads it."""
    console = _app(client)[ADAPTERS]["console"]
    reply = await console.handle("7", "/文件", None)
    assert reply is not None and reply.text == "工作簿已私信发送"
    await _app(client)[SERVICES].notifier.settle()
    async with _app(client)[SERVICES].db.read() as s:
        shown = (await s.exec(select(ConsoleMessage).where(col(ConsoleMessage.chat) == "dm:7"))).all()
    (line,) = [m.text for m in shown if "/files/" in m.text]
    assert line.startswith(f"文件：{WORKBOOK_NAME}\n下载链接（")
    link = line.splitlines()[-1]
    assert link.startswith("https://exam.example.org/files/")
    resp = await client.get(_path(link))
    assert resp.status == 200 and workbook_rows(await resp.read()) == ROWS


async def test_without_a_secret_links_still_work_on_this_instance(
    make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """No EXAMBOT_FILE_LINK_SECRET: a random secret for the process, links point at http://host:port."""
    app = create_app(make_settings(console=True), clock=clock, tables=[file_table()], components=[])
    async with TestClient(TestServer(app)) as c:
        async with app[SERVICES].db.session() as s:
            file_id = await store_file(s, WORKBOOK_NAME, workbook_bytes(), clock.now())
        await app[SERVICES].notifier.notify(
            [file_message(PersonTarget("console", "7"), file_id, WORKBOOK_NAME, key="file:console")]
        )
        async with app[SERVICES].db.read() as s:
            (msg,) = (await s.exec(select(ConsoleMessage).where(col(ConsoleMessage.chat) == "dm:7"))).all()
        link = msg.text.splitlines()[-1]
        assert link.startswith("http://127.0.0.1:8080/files/")
        assert (await c.get(_path(link))).status == 200

"""The office's board: one page with every room of the day, current on whichever instance serves it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import ADAPTERS, SERVICES, create_app
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import Settings

ClientFactory = Callable[..., Any]


async def _instance(aiohttp_client: ClientFactory, settings: Settings, clock: ManualClock, **kw: Any) -> TestClient:
    app = create_app(settings, clock=clock, components=[], **kw)
    return await aiohttp_client(app)


async def test_board_follows_reports_made_on_another_instance(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: ManualClock, db_url: str
) -> None:
    """Two instances on one database: a 缺考 and a mismatched paper count made on one show on the other's board."""
    settings = make_settings(database_url=db_url, board_token="office-board-1")
    one = await _instance(aiohttp_client, settings, clock, console=True)
    two = await _instance(aiohttp_client, settings, clock, console=False)
    await seed_demo(one.server.app[SERVICES].db, clock.now(), settings.tz)

    r = await two.get("/board/api/rooms", params={"token": "office-board-1"})
    assert r.status == 200
    before = {room["room"]: room for room in (await r.json())["rooms"]}
    assert before["第1考场"]["absent"] is None and before["第1考场"]["papers_problem"] is False

    console = one.server.app[ADAPTERS]["console"]
    wang = await _staff_id(one, "王芳")
    reply = await console.handle(str(wang), "/缺考 1 无", None)
    assert reply is not None and "已记录" in reply.text, reply
    reply = await console.handle(str(wang), "/试卷 1 领取 31", None)
    assert reply is not None and "已记录" in reply.text, reply
    reply = await console.handle(str(wang), "/试卷 1 回收 31 答题卡 29 空白 1", None)
    assert reply is not None, reply

    r = await two.get("/board/api/rooms", params={"token": "office-board-1"})
    data = await r.json()
    rooms = {room["room"]: room for room in data["rooms"]}
    first = rooms["第1考场"]
    assert (first["absent"], first["present"]) == (0, first["expected"])
    assert (first["papers_out"], first["papers_in"]) == (31, 31)
    assert first["papers_problem"] is True and "不符" in first["papers_state"]
    assert rooms["第2考场"]["absent"] is None  # other rooms untouched
    assert [room["starts"] for room in data["rooms"]] == sorted(room["starts"] for room in data["rooms"])


async def test_board_needs_its_token_and_shows_no_candidate_data(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """With a token set, the page and the API refuse requests without it; the data holds counts, not candidates."""
    settings = make_settings(board_token="s3cret-board")
    client = await _instance(aiohttp_client, settings, clock, console=False)
    await seed_demo(client.server.app[SERVICES].db, clock.now(), settings.tz)
    assert (await client.get("/board")).status == 403
    assert (await client.get("/board/api/rooms", params={"token": "wrong"})).status == 403
    assert (await client.get("/board/api/rooms", headers={"X-Board-Token": "s3cret-board"})).status == 200
    page = await client.get("/board", params={"token": "s3cret-board"})
    assert page.status == 200 and "考务看板" in await page.text()
    r = await client.get("/board/api/rooms", params={"token": "s3cret-board", "date": "2026-13-01"})
    assert r.status == 400 and "日期格式" in (await r.json())["error"]
    r = await client.get("/board/api/rooms", params={"token": "s3cret-board", "date": "2027-01-01"})
    assert (await r.json())["rooms"] == []
    data = await (await client.get("/board/api/rooms", params={"token": "s3cret-board"})).json()
    assert data["rooms"]
    allowed = {
        "room_id", "session", "occupation", "level", "kind", "starts", "ends", "room", "location", "expected",
        "present", "absent", "papers_out", "papers_in", "papers_state", "papers_problem", "violations", "incidents",
        "absent_state", "absent_words",
    }  # fmt: skip
    assert all(set(room) == allowed for room in data["rooms"])


async def test_board_off_without_console_or_token(
    aiohttp_client: ClientFactory, settings: Settings, clock: ManualClock
) -> None:
    """A server with neither the console nor a board token has no board at all."""
    client = await _instance(aiohttp_client, settings, clock, console=False)
    assert (await client.get("/board")).status == 404
    assert (await client.get("/board/api/rooms")).status == 404


async def _staff_id(client: TestClient, name: str) -> int:
    from sqlmodel import col, select

    from bot.store.tables import Staff

    async with client.server.app[SERVICES].db.read() as s:
        st = (await s.exec(select(Staff).where(col(Staff.name) == name))).one()
        assert st.id is not None
        return st.id

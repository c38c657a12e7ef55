"""The office's board: personal signed links, tiles by due-aware state, feed, history, charts, live updates."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlmodel import col, select

from bot.app import ADAPTERS, SERVICES, create_app
from bot.board_links import sign
from bot.clock import ManualClock
from bot.demo import seed_demo
from bot.settings import Settings
from bot.store.tables import Report, Staff

ClientFactory = Callable[..., Any]
SECRET = "office-board-1"


async def _instance(aiohttp_client: ClientFactory, settings: Settings, clock: ManualClock, **kw: Any) -> TestClient:
    app = create_app(settings, clock=clock, components=[], **kw)
    return await aiohttp_client(app)


async def _staff_id(client: TestClient, name: str) -> int:
    async with client.server.app[SERVICES].db.read() as s:
        st = (await s.exec(select(Staff).where(col(Staff.name) == name))).one()
        assert st.id is not None
        return st.id


async def _papers_id(client: TestClient) -> int:
    """The first 领取 report's 编号."""
    async with client.server.app[SERVICES].db.read() as s:
        rid = (await s.exec(select(Report.id).where(col(Report.kind) == "papers").order_by(col(Report.id)))).first()
        assert rid is not None
        return rid


async def _key(client: TestClient, clock: ManualClock, name: str, hours: float = 12) -> str:
    return sign(SECRET, await _staff_id(client, name), clock.now() + timedelta(hours=hours))


async def _rooms(client: TestClient, key: str) -> dict[str, dict[str, Any]]:
    r = await client.get("/board/api/rooms", params={"k": key})
    assert r.status == 200, await r.text()
    return {room["room"]: room for room in (await r.json())["rooms"]}


async def test_board_follows_reports_made_on_another_instance(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: ManualClock, db_url: str
) -> None:
    """Two instances on one database: a 缺考 and a mismatched paper count made on one show on the other's board."""
    settings = make_settings(database_url=db_url, board_token=SECRET)
    one = await _instance(aiohttp_client, settings, clock, console=True)
    two = await _instance(aiohttp_client, settings, clock, console=False)
    await seed_demo(one.server.app[SERVICES].db, clock.now(), settings.tz)
    key = await _key(two, clock, "钱进")

    before = await _rooms(two, key)
    assert before["第1考场"]["absent"] is None and before["第1考场"]["papers_problem"] is False
    assert before["第1考场"]["state"] == "not_started"

    console = one.server.app[ADAPTERS]["console"]
    wang = await _staff_id(one, "王芳")
    reply = await console.handle(str(wang), "/缺考 1 无", None)
    assert reply is not None and "已记录" in reply.text, reply
    assert (await _rooms(two, key))["第1考场"]["state"] == "absent_reported"
    reply = await console.handle(str(wang), "/试卷 1 领取 31", None)
    assert reply is not None and "已记录" in reply.text, reply
    clock.advance(timedelta(minutes=45))  # the session has begun: papers can be collected
    reply = await console.handle(str(wang), "/试卷 1 回收 31 答题卡 29 空白 1", None)
    assert reply is not None, reply

    r = await two.get("/board/api/rooms", params={"k": key})
    data = await r.json()
    rooms = {room["room"]: room for room in data["rooms"]}
    first = rooms["第1考场"]
    assert (first["absent"], first["present"]) == (0, first["expected"])
    assert (first["papers_out"], first["papers_in"]) == (31, 31)
    assert first["papers_check"] == "待第二人核对" and rooms["第2考场"]["papers_check"] is None
    li = await _staff_id(one, "李强")
    reply = await console.handle(str(li), "/确认 " + str(await _papers_id(one)), None)
    assert reply is not None and "已确认" in reply.text, reply
    assert (await _rooms(two, key))["第1考场"]["papers_check"].startswith("李强 核对✓ ")
    assert first["papers_problem"] is True and "不符" in first["papers_state"]
    assert first["state"] == "mismatch" and "缺考已报" in first["flags"]
    assert rooms["第2考场"]["absent"] is None  # other rooms untouched
    assert [room["starts"] for room in data["rooms"]] == sorted(room["starts"] for room in data["rooms"])
    assert [f["kind"] for f in data["feed"]][:3] == ["试卷", "试卷", "缺考"]  # newest first
    assert data["feed"][2]["text"].startswith("无人缺考") and data["feed"][2]["by"] == "王芳"


async def test_board_tile_states_follow_the_clock(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """Not started, then in progress, then 报告逾期 once the 缺考 report is overdue; a violation colours a tile."""
    settings = make_settings(board_token=SECRET)
    client = await _instance(aiohttp_client, settings, clock, console=True)
    await seed_demo(client.server.app[SERVICES].db, clock.now(), settings.tz)
    key = await _key(client, clock, "孙丽")  # a supervisor
    assert (await _rooms(client, key))["第1考场"]["state"] == "not_started"
    console = client.server.app[ADAPTERS]["console"]
    wang = str(await _staff_id(client, "王芳"))
    clock.advance(timedelta(minutes=10))  # the demo's first session starts 8 minutes in
    assert (await _rooms(client, key))["第1考场"]["state"] == "overdue"  # no papers handout reported
    reply = await console.handle(wang, "/试卷 1 领取 31", None)
    assert reply is not None and "已记录" in reply.text
    assert (await _rooms(client, key))["第1考场"]["state"] == "in_progress"
    clock.advance(timedelta(minutes=60))
    first = (await _rooms(client, key))["第1考场"]
    assert first["state"] == "overdue" and first["absent_state"] == "overdue"
    reply = await console.handle(wang, "/缺考 1 无", None)
    assert reply is not None and "已记录" in reply.text
    assert (await _rooms(client, key))["第1考场"]["state"] != "overdue"


async def test_board_links_refuse_missing_forged_expired_and_wrong_people(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """No link, a forged, an expired one, an invigilator's or a deactivated person's → 401 in Chinese."""
    settings = make_settings(board_token=SECRET)
    client = await _instance(aiohttp_client, settings, clock, console=False)
    db = client.server.app[SERVICES].db
    await seed_demo(db, clock.now(), settings.tz)
    good = await _key(client, clock, "钱进", hours=1)

    page = await client.get("/board")
    assert page.status == 401 and "需要个人看板链接" in await page.text()
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    page = await client.get("/board", params={"k": forged})
    assert page.status == 401 and "链接无效" in await page.text()
    other_secret = sign("another-secret", await _staff_id(client, "钱进"), clock.now() + timedelta(hours=1))
    assert (await client.get("/board", params={"k": other_secret})).status == 401
    assert (await client.get("/board", params={"k": await _key(client, clock, "王芳")})).status == 401
    assert (await client.get("/board/api/rooms", params={"k": forged})).status == 401
    assert (await client.get("/board/events", params={"k": forged})).status == 401
    assert (await client.get("/board/chart/attendance.svg", params={"k": forged})).status == 401

    page = await client.get("/board", params={"k": good})
    assert page.status == 200 and "考务看板" in await page.text()
    for admin in ("马文", "孙丽"):
        assert (await client.get("/board", params={"k": await _key(client, clock, admin)})).status == 200

    clock.advance(timedelta(hours=1))
    page = await client.get("/board", params={"k": good})
    assert page.status == 401 and "已过期" in await page.text()

    fresh = await _key(client, clock, "钱进")
    async with db.session() as s:
        qian = (await s.exec(select(Staff).where(col(Staff.name) == "钱进"))).one()
        qian.active = False
        s.add(qian)
    page = await client.get("/board", params={"k": fresh})
    assert page.status == 401 and "已停用" in await page.text()


async def test_board_shows_no_candidate_data(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """An absentee by ticket and a violation: counts, types and states on the board, never the ticket or name."""
    settings = make_settings(board_token=SECRET)
    client = await _instance(aiohttp_client, settings, clock, console=True)
    await seed_demo(client.server.app[SERVICES].db, clock.now(), settings.tz)
    key = await _key(client, clock, "钱进")
    console = client.server.app[ADAPTERS]["console"]
    wang = str(await _staff_id(client, "王芳"))
    clock.advance(timedelta(minutes=40))
    reply = await console.handle(wang, "/缺考 1 2026000003", None)
    assert reply is not None and "已记录" in reply.text, reply
    reply = await console.handle(wang, "/违纪 1 2026000005 夹带 警告", None)
    assert reply is not None, reply
    async with client.server.app[SERVICES].db.read() as s:
        from bot.store.tables import Candidate  # test-only: the demo names of the two candidates

        names = [c.name for c in (await s.exec(select(Candidate))).all() if c.ticket_no in ("2026000003", "2026000005")]
    assert len(names) == 2

    data = await (await client.get("/board/api/rooms", params={"k": key})).json()
    first = next(r for r in data["rooms"] if r["room"] == "第1考场")
    assert first["absent"] == 1 and first["state"] in ("violation", "overdue", "unacked")
    history = await (await client.get(f"/board/api/room/{first['room_id']}", params={"k": key})).json()
    charts = [
        await (await client.get(f"/board/chart/{n}.svg", params={"k": key})).text()
        for n in ("attendance", "violations")
    ]
    assert "<svg" in charts[0] and "缺考 1" in charts[0]
    assert "夹带" in charts[1] or "违纪" in charts[1]
    everything = json.dumps([data, history], ensure_ascii=False) + "".join(charts)
    for secret in ("2026000003", "2026000005", *names):
        assert secret not in everything
    assert any("缺考 1 人" in r["text"] for r in history["records"])


async def test_room_history_marks_corrections(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """Tapping a room lists every row, a superseded one marked with the row that corrected it."""
    settings = make_settings(board_token=SECRET)
    client = await _instance(aiohttp_client, settings, clock, console=True)
    await seed_demo(client.server.app[SERVICES].db, clock.now(), settings.tz)
    key = await _key(client, clock, "钱进")
    console = client.server.app[ADAPTERS]["console"]
    wang = str(await _staff_id(client, "王芳"))
    await console.handle(wang, "/试卷 1 领取 31", None)
    reply = await console.handle(wang, "/试卷 1 领取 30", None)
    assert reply is not None
    room_id = (await _rooms(client, key))["第1考场"]["room_id"]
    history = await (await client.get(f"/board/api/room/{room_id}", params={"k": key})).json()
    texts = [(r["text"], r["fate"]) for r in history["records"]]
    assert texts == [("领取试卷 31 份", "已被第 2 号更正"), ("更正第 1 号：领取试卷 30 份", "")]
    assert (await client.get("/board/api/room/999999", params={"k": key})).status == 404


async def test_events_stream_sends_the_board_and_its_changes(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """The stream sends the rooms at once, then again after a /缺考 made through the console."""
    settings = make_settings(board_token=SECRET)
    client = await _instance(aiohttp_client, settings, clock, console=True)
    await seed_demo(client.server.app[SERVICES].db, clock.now(), settings.tz)
    key = await _key(client, clock, "钱进")
    resp = await client.get("/board/events", params={"k": key})
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")

    async def next_event() -> dict[str, Any]:
        lines: list[str] = []
        while True:
            line = (await resp.content.readline()).decode().rstrip("\n")
            if line == "" and lines:
                break
            if line and not line.startswith(":"):
                lines.append(line)
        assert lines[0] == "event: rooms"
        return json.loads(lines[1].removeprefix("data: "))

    first = await next_event()
    assert next(r for r in first["rooms"] if r["room"] == "第1考场")["absent"] is None
    console = client.server.app[ADAPTERS]["console"]
    await console.handle(str(await _staff_id(client, "王芳")), "/缺考 1 无", None)
    second = await next_event()
    assert next(r for r in second["rooms"] if r["room"] == "第1考场")["state"] == "absent_reported"
    resp.close()


async def test_board_off_without_console_or_secret(
    aiohttp_client: ClientFactory, settings: Settings, clock: ManualClock
) -> None:
    """A server with neither the console nor a board secret has no board at all."""
    client = await _instance(aiohttp_client, settings, clock, console=False)
    assert (await client.get("/board")).status == 404
    assert (await client.get("/board/api/rooms")).status == 404


async def test_console_demo_link_opens_the_board_as_the_office(
    aiohttp_client: ClientFactory, make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """The demo console's 考务看板 link (/board/demo) redirects to a personal link; no such route off-console."""
    client = await _instance(aiohttp_client, make_settings(), clock, console=True)
    await seed_demo(client.server.app[SERVICES].db, clock.now(), client.server.app[SERVICES].settings.tz)
    r = await client.get("/board/demo", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"].startswith("/board?k=")
    page = await client.get(r.headers["Location"])
    assert page.status == 200
    served = await _instance(aiohttp_client, make_settings(board_token=SECRET), clock, console=False)
    assert (await served.get("/board/demo", allow_redirects=False)).status == 404

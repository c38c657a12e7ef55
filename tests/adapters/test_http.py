"""HttpClient.request_json: the one place where a platform call's failure becomes a PlatformError."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.adapters._http import Answer, HttpClient
from bot.errors import PlatformAuthError, PlatformError, RateLimited

# path -> (status, body)
ANSWERS: dict[str, tuple[int, str]] = {
    "/ok": (200, '{"errcode": 0, "msgid": "m1"}'),
    "/no-errcode": (200, '{"accessToken": "t"}'),
    "/not-json": (200, "<html>"),
    "/list": (200, "[1, 2]"),
    "/errcode-text": (200, '{"errcode": "0"}'),
    "/limited": (200, '{"errcode": 45009, "errmsg": "api freq out of limit"}'),
    "/bad-gateway": (502, '{"errcode": 0}'),
    "/forbidden-code": (403, '{"code": "Forbidden.AccessDenied", "message": "denied"}'),
    "/throttled-html": (429, "<html>"),
    "/server-error": (500, '{"code": "ServiceUnavailable", "message": "busy"}'),
}


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    async def answer(request: web.Request) -> web.Response:
        status, body = ANSWERS[request.path]
        return web.Response(status=status, text=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    async with TestServer(app) as srv:
        yield srv


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    c = HttpClient("test", aiohttp.ClientTimeout(total=5))
    yield c
    await c.close()


async def _call(client: HttpClient, server: TestServer, path: str, answer: Answer = Answer.ERRCODE) -> dict[str, Any]:
    return await client.request_json("POST", str(server.make_url(path)), answer=answer, json={})


async def test_errcode_answers_unwrap(client: HttpClient, server: TestServer) -> None:
    """errcode 0 (or none) is the answer itself."""
    assert (await _call(client, server, "/ok"))["msgid"] == "m1"
    assert (await _call(client, server, "/no-errcode"))["accessToken"] == "t"


@pytest.mark.parametrize(
    ("path", "kind", "text"),
    [
        ("/not-json", PlatformError, "answer is not JSON"),
        ("/list", PlatformError, "answer is not a JSON object"),
        ("/errcode-text", PlatformError, "errcode is not a number"),
        ("/limited", RateLimited, "errcode 45009"),
        ("/bad-gateway", PlatformError, "HTTP 502"),
    ],
)
async def test_errcode_failures_mapped(
    client: HttpClient, server: TestServer, path: str, kind: type[PlatformError], text: str
) -> None:
    """A bad answer, a non-zero errcode or a non-200 status becomes the mapped PlatformError."""
    with pytest.raises(kind) as info:
        await _call(client, server, path)
    assert type(info.value) is kind and text in str(info.value) and info.value.retryable


@pytest.mark.parametrize(
    ("path", "kind", "retryable"),
    [
        ("/forbidden-code", PlatformAuthError, False),
        ("/throttled-html", RateLimited, True),
        ("/server-error", PlatformError, True),
        ("/list", PlatformError, True),
    ],
)
async def test_status_failures_mapped(
    client: HttpClient, server: TestServer, path: str, kind: type[PlatformError], retryable: bool
) -> None:
    """api.dingtalk.com style: the HTTP status and the body's code decide the kind."""
    with pytest.raises(kind) as info:
        await _call(client, server, path, Answer.STATUS)
    assert type(info.value) is kind and info.value.retryable is retryable


async def test_connection_failure_is_a_retryable_network_error(client: HttpClient, server: TestServer) -> None:
    """Nobody listening: a retryable network error that does not name the URL."""
    url = str(server.make_url("/ok"))
    await server.close()
    with pytest.raises(PlatformError) as info:
        await client.request_json("GET", url)
    assert info.value.retryable and "network" in str(info.value) and "127.0.0.1" not in str(info.value)

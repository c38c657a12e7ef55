"""The AI bot's long connection: connect, subscribe, heartbeat, read, and reconnect with backoff.

:class:`AiBotSocket` owns one aiohttp WebSocket at a time. After connecting it sends ``aibot_subscribe`` and
waits for its acknowledgement (a refusal is an auth failure: logged, and retried after the longest delay, since
the operator has to fix the secret), then pings every ``heartbeat`` seconds; two pings left unanswered count the
connection as dead. Whatever ends a connection (the server closing it, a network error, a dead heartbeat, WeCom's
``disconnected_event``), the socket waits :class:`Backoff` and connects again, for as long as it runs: unlike the
SDK it never gives up after N attempts.

:meth:`AiBotSocket.request` sends one frame and waits for WeCom's acknowledgement of the same req_id; while there
is no subscribed connection it fails at once with a retryable :class:`~bot.errors.PlatformError`, so the outbox
keeps the row and sends it after the reconnect (nothing is queued here, so nothing is sent twice from here).
A frame that cannot be read (not JSON, past ``MAX_FRAME``, an unknown cmd) is logged by kind and dropped; the
connection stays. Only a frame past 16 × ``MAX_FRAME`` (4 MiB) makes aiohttp close the connection, which is then
reconnected like any other loss.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import structlog

from bot.adapters import _wecom_aibot_proto as proto
from bot.errors import PlatformError
from bot.tasks import Tasks

log = structlog.get_logger("exambot.wecom_aibot")

OnFrame = Callable[[proto.Frame], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


class Backoff:
    """Exponential delays ``base·2^n`` capped at ``cap``, with "equal jitter" (half fixed, half random)."""

    def __init__(self, base: float = 1.0, cap: float = 30.0, rng: Callable[[], float] = random.random) -> None:
        self.base = base
        self.cap = cap
        self.rng = rng

    def delay(self, attempt: int) -> float:
        """Seconds to wait before connection attempt ``attempt`` (1 = the first retry)."""
        top = min(self.cap, self.base * 2 ** max(0, min(attempt - 1, 30)))
        return top / 2 + self.rng() * top / 2


class AiBotSocket:
    """One bot's long connection, reconnected for as long as :meth:`run` runs."""

    def __init__(
        self,
        url: str,
        bot_id: str,
        secret: str,
        on_frame: OnFrame,
        *,
        heartbeat: float = 30.0,
        ack_timeout: float = 5.0,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.url = url
        self.bot_id = bot_id
        self._secret = secret
        self.on_frame = on_frame
        self.heartbeat = heartbeat
        self.ack_timeout = ack_timeout
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.subscribed = asyncio.Event()  # set while a subscribed connection is open
        self.connects = 0  # connections subscribed so far (for tests and the health log)
        self.delays: list[float] = []  # the backoff delays waited so far (for tests)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, asyncio.Future[proto.Frame]] = {}
        self._missed = 0
        self._stopping = False
        self._tasks = Tasks("wecom_aibot-socket")
        self._callbacks = Tasks("wecom_aibot-callbacks")

    def __repr__(self) -> str:
        return f"AiBotSocket(url={self.url!r}, bot_id={self.bot_id!r})"

    # -- running -----------------------------------------------------------------------------

    async def run(self, session: aiohttp.ClientSession) -> None:
        """Connect, subscribe and read; reconnect after every loss until :meth:`stop`."""
        failures = 0
        while not self._stopping:
            ok = False
            try:
                ok = await self._connection(session)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # network errors, refused handshakes: all end in a reconnect
                log.warning("aibot_connection_failed", error=type(exc).__name__)
            finally:
                self._lost()
            if self._stopping:
                break
            failures = 0 if ok else failures + 1
            delay = self.backoff.delay(max(1, failures))
            self.delays.append(delay)
            log.info("aibot_reconnecting", delay=round(delay, 2), failures=failures)
            await self.sleep(delay)

    async def stop(self) -> None:
        """Close the connection and stop reconnecting."""
        self._stopping = True
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        await self._callbacks.drain(1.0)
        await self._tasks.drain(1.0)

    async def settle(self) -> None:
        """Wait until the callbacks read so far are handled (tests, shutdown)."""
        await self._callbacks.wait()

    async def drop(self) -> None:
        """Close the current connection (the run loop reconnects)."""
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()

    async def _connection(self, session: aiohttp.ClientSession) -> bool:
        """One connection from connect to close; True when it got as far as subscribed."""
        # Our own frame limit is MAX_FRAME (longer ones are dropped by parse); aiohttp's is far above it, so a
        # long frame does not cost the connection.
        async with session.ws_connect(self.url, heartbeat=None, max_msg_size=16 * proto.MAX_FRAME) as ws:
            self._ws = ws
            self._missed = 0
            reader = self._tasks.spawn(self._read(ws), name="wecom_aibot-read")
            try:
                ack = await self._request(proto.SUBSCRIBE, proto.subscribe_body(self.bot_id, self._secret), ws)
            except PlatformError as exc:
                log.warning("aibot_subscribe_failed", error=str(exc))
                await ws.close()
                await asyncio.gather(reader, return_exceptions=True)
                return False
            error = proto.error_of(ack, proto.SUBSCRIBE)
            if error is not None:
                log.error("aibot_subscribe_refused", error=str(error))
                await ws.close()
                await asyncio.gather(reader, return_exceptions=True)
                await self.sleep(self.backoff.cap)  # wrong bot id or secret: retrying fast will not fix it
                return False
            self.connects += 1
            self.subscribed.set()
            log.info("aibot_subscribed", connects=self.connects)
            pinger = self._tasks.spawn(self._ping(ws), name="wecom_aibot-ping")
            try:
                await reader
            finally:
                pinger.cancel()
                await asyncio.gather(pinger, return_exceptions=True)
            return True

    def _lost(self) -> None:
        self.subscribed.clear()
        self._ws = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(PlatformError("wecom_aibot: connection lost before the acknowledgement"))
                future.exception()  # retrieved here: nobody may be waiting any more
        self._pending.clear()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                break
            try:
                item = proto.parse(message.data)
            except proto.BadFrame as exc:
                log.warning("aibot_bad_frame", error=str(exc)[:80])
                continue
            await self._route(item, ws)

    async def _route(self, item: proto.Frame, ws: aiohttp.ClientWebSocketResponse) -> None:
        if item.cmd in (proto.MSG_CALLBACK, proto.EVENT_CALLBACK):
            if proto.event_type_of(item.body) == proto.DISCONNECTED_EVENT:
                log.warning("aibot_taken_over", reason="another connection of this bot subscribed")
                await ws.close()
                return
            # Handled in a task of its own: a slow handler must not hold up pings and acknowledgements.
            self._callbacks.spawn(self._deliver(item), name="wecom_aibot-callback")
            return
        if item.cmd:
            log.warning("aibot_unknown_cmd", cmd=item.cmd[:40])
            return
        future = self._pending.pop(item.req_id, None)
        if future is not None and not future.done():
            future.set_result(item)
        elif item.req_id.startswith(proto.PING):
            self._missed = 0
        else:
            log.info("aibot_unmatched_ack", errcode=item.errcode)

    async def _deliver(self, item: proto.Frame) -> None:
        try:
            await self.on_frame(item)
        except Exception:  # a bug in handling one callback must not end the connection
            log.exception("aibot_callback_failed", cmd=item.cmd)

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(self.heartbeat)
            if self._missed >= 2:
                log.warning("aibot_heartbeat_lost")
                await ws.close()
                return
            self._missed += 1
            rid = proto.req_id(proto.PING)
            try:
                await ws.send_str(proto.frame(proto.PING, rid))
            except (ConnectionError, RuntimeError):
                return

    # -- requests ----------------------------------------------------------------------------

    async def request(self, cmd: str, body: dict[str, Any], *, rid: str | None = None) -> proto.Frame:
        """Send one frame on the subscribed connection and return WeCom's acknowledgement (errcode not checked).

        Raises a retryable PlatformError when there is no subscribed connection or it is lost before the
        acknowledgement, or when none comes within ``ack_timeout``.
        """
        ws = self._ws
        if ws is None or ws.closed or not self.subscribed.is_set():
            raise PlatformError("wecom_aibot: not connected")
        return await self._request(cmd, body, ws, rid=rid)

    async def _request(
        self, cmd: str, body: dict[str, Any], ws: aiohttp.ClientWebSocketResponse, *, rid: str | None = None
    ) -> proto.Frame:
        rid = rid or proto.req_id(cmd)
        future: asyncio.Future[proto.Frame] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        try:
            await ws.send_str(proto.frame(cmd, rid, body))
            return await asyncio.wait_for(asyncio.shield(future), self.ack_timeout)
        except (ConnectionError, RuntimeError) as exc:
            raise PlatformError(f"wecom_aibot {cmd}: {type(exc).__name__}") from None
        except TimeoutError:
            raise PlatformError(f"wecom_aibot {cmd}: no acknowledgement") from None
        finally:
            if self._pending.get(rid) is future:
                del self._pending[rid]

"""The sender: claims due outbox rows and sends them; any number of senders may run on one database.

Send protocol (shared SCHEDULING.md):

1. **Claim** due rows in one short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
   ``BEGIN IMMEDIATE`` serialises writers): ``status='sending'``, a lease (owner, until),
   ``attempts + 1``. A row whose lease ran out (its sender died) is claimable again.
2. **Business rules** instead of APScheduler's misfire grace: a row past ``expires_at`` becomes
   ``expired`` (the office gets one notice listing the reminders); a row whose ``condition``
   already holds (the room acknowledged, the report arrived) becomes ``cancelled``. What a condition
   means is the :class:`Checks` handed in (the scheduler's); this package does not know.
3. **Reserve** room in the target's rate window (at most ``rate_limit`` platform messages per
   ``rate_window``) in one write transaction that counts what every instance sent or reserved for the
   target in the window (SQLite's write lock, a PostgreSQL advisory lock): rows of one target are
   merged into messages that fit the platform's size limit in bytes (so the adapter never splits a
   merged message), a single longer row is cut into pieces that each count; what does not fit waits
   for the window (never dropped).
4. **Send** outside any transaction, behind a semaphore.
5. **Finish** fenced by the lease: ``… WHERE id IN … AND lease_owner=:me AND status='sending'``.
   Errors go back to ``pending`` with exponential backoff (capped) and are retried by time: until the
   row's ``expires_at``, or ``retry_for`` after its first failure; then the row is ``failed`` and the
   office is told. A split message remembers its pieces sent, so a retry sends only the rest.

The one duplicate window left is a crash after the platform accepted a message and before
step 5: delivery is at-least-once there, by choice.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import text as sa_text
from sqlalchemy import update

from bot.clock import Clock
from bot.delivery import statements as sql
from bot.delivery.config import Checks, NoChecks, OutboxConfig
from bot.delivery.merge import Chunk, Claimed, Merger, Use, free_at, windows
from bot.delivery.notices import notice_texts, office_rows
from bot.delivery.rows import CANCELLED, EXPIRED, EXPIRED_NOTE, FAILED, PENDING, SENDING, T, insert_rows
from bot.delivery.stats import Delivered, RunStats
from bot.delivery.targets import target_from_json
from bot.directory import person_targets
from bot.errors import PlatformError, RateLimited
from bot.model import METRIC_LABEL, OutgoingMessage, TextFormat
from bot.store.engine import Database
from bot.store.reports import office_staff
from bot.store.tables import OutboxKind, Staff

log = structlog.get_logger("exambot.outbox")

Deliver = Callable[[OutgoingMessage], Awaitable[str | None]]
_UNLEASE: dict[str, Any] = {"lease_owner": None, "lease_until": None}
RATE_LOCK_KEY = 0x0EBB07  # PostgreSQL advisory lock serialising rate-window reservations across instances


class Outbox:
    """Claims due rows and sends them; any number of these may run on one database."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        deliver: Deliver,
        *,
        channels: Iterable[str] = ("console",),
        owner: str | None = None,
        config: OutboxConfig | None = None,
        tz: ZoneInfo | None = None,
        checks: Checks | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.deliver = deliver
        self.channels = tuple(channels)
        self.owner = owner or f"outbox-{uuid.uuid4().hex[:12]}"
        self.config = config or OutboxConfig()
        self.tz = tz or ZoneInfo("Asia/Shanghai")
        self.checks: Checks = checks or NoChecks()
        self.merger = Merger(self.config.text_bytes, self.config.default_text_bytes, self.config.late_mark, self.tz)
        self._sem = asyncio.Semaphore(self.config.concurrency)
        self._target_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._run_lock = asyncio.Lock()
        self.on_reschedule: Callable[[datetime], None] | None = None  # the alarm clock hears of new times here
        # The last step for a text bound for a group (create_app hands in the privacy mask); None: sent as written.
        self.redact_groups: Callable[[str], Awaitable[str]] | None = None
        self.totals = RunStats()

    def text_limit(self, channel: str) -> int:
        """Bytes one platform message may hold on ``channel``."""
        return self.merger.text_limit(channel)

    def _wake(self, times: Iterable[datetime]) -> None:
        if self.on_reschedule is not None:
            for when in sorted(set(times)):
                self.on_reschedule(when)

    # -- claim ---------------------------------------------------------------------------------------------------------

    async def claim(self, now: datetime, *, keys: Sequence[str] | None = None, limit: int | None = None) -> list[dict]:
        """Lease up to ``limit`` due rows (among ``keys`` when given); rows others hold are skipped, never shared."""
        limit = limit or self.config.batch_size
        async with self.db.session() as s:
            conn = await s.connection()
            q = sql.claim_ids(by_key=keys is not None, lock=not self.db.is_sqlite, limit=limit)
            params: dict[str, Any] = {"d_now": now} if keys is None else {"d_now": now, "c_keys": list(keys)}
            got = list((await conn.execute(q, params)).scalars().all())
            if not got:
                return []
            params = {"d_now": now, "ids": got, "c_owner": self.owner, "c_until": now + self.config.lease}
            rows = [dict(r) for r in (await conn.execute(sql.CLAIM, params)).mappings().all()]
        rows.sort(key=lambda r: (r["due_at"], r["id"]))
        return rows

    async def _finish(self, ids: Sequence[int], **values: Any) -> int:
        """Set ``values`` on rows this sender still holds (fenced by the lease); returns how many it held."""
        if not ids:
            return 0
        async with self.db.session() as s:
            conn = await s.connection()
            res = await conn.execute(*sql.fenced_update(list(ids), self.owner, {**values, **_UNLEASE}))
            return int(res.rowcount or 0)  # type: ignore[attr-defined]

    # -- one pass ------------------------------------------------------------------------------------------------------

    async def run_once(self, *, keys: Sequence[str] | None = None, report: bool = True) -> RunStats:
        """Claim what is due now and deal with every claimed row.

        With ``report`` the office is told at once of expired reminders and failed messages; ``drain``
        collects them over all its passes instead and sends one notice.
        """
        now = self.clock.now()
        stats = RunStats()
        rows = await self.claim(now, keys=keys)
        stats.claimed = len(rows)
        if not rows:
            return stats
        expired: list[dict] = []
        gave_up: list[dict] = []  # past their expiry after platform errors: dead letters, not misfires
        live: list[dict] = []
        for r in rows:
            if r["expires_at"] is not None and r["expires_at"] < now:
                (gave_up if r.get("failing_since") is not None else expired).append(r)
            else:
                live.append(r)
        claimed, cancelled, unresolved = await self._check_and_resolve(live)
        by_target: dict[str, list[Claimed]] = defaultdict(list)
        for c in claimed:
            by_target[c.row["target_key"]].append(c)
        plan = await self._reserve(now, by_target, expired=expired, gave_up=gave_up, cancelled=cancelled,
                                   unresolved=unresolved, stats=stats)  # fmt: skip
        failed_rows: list[dict] = gave_up + [c.row for c in unresolved]
        results = await asyncio.gather(*(self._send_target(tk, chunks, now) for tk, chunks in plan.items()))
        delivered: list[Delivered] = []
        for part, failed, done in results:
            stats.retried += part.retried
            stats.failed += part.failed
            failed_rows += failed
            delivered += done
        stats.sent, stats.lateness = await self._finish_sent(delivered)
        stats.expired_rows = [r for r in expired if r["kind"] == OutboxKind.REMINDER.value]
        stats.failed_rows = failed_rows
        if report:
            await self._report(now, stats.expired_rows, stats.failed_rows)
        self.totals.add(stats)
        return stats

    async def drain(self, max_rounds: int = 1000) -> RunStats:
        """Run passes until nothing is due now (tests and the sweep)."""
        total = RunStats()
        async with self._run_lock:
            try:
                for _ in range(max_rounds):
                    s = await self.run_once(report=False)
                    total.add(s, rows=True)
                    if s.claimed == 0 or s.claimed == s.deferred:
                        break
            finally:
                # One notice for everything that expired during this drain (a restart after downtime).
                await self._report(self.clock.now(), total.expired_rows, total.failed_rows)
            if total.expired_rows or total.failed_rows:
                s = await self.run_once()  # send the notice now
                total.claimed += s.claimed
                total.sent += s.sent
        return total

    async def _check_and_resolve(self, rows: list[dict]) -> tuple[list[Claimed], list[int], list[Claimed]]:
        """Drop rows whose condition holds; turn staff targets into a concrete address."""
        cancelled: list[int] = []
        live: list[Claimed] = []
        unresolved: list[Claimed] = []
        if not rows:
            return live, cancelled, unresolved
        need_staff = {r["target"].get("staff_id") for r in rows if r["target"].get("type") == "staff"}
        async with self.db.read() as s:  # read only: on SQLite no write lock
            conn = await s.connection()
            staff: dict[int, Staff] = {}
            if need_staff:
                for m in (await conn.execute(sql.STAFF_BY_ID, {"ids": list(need_staff)})).mappings().all():
                    staff[m["id"]] = Staff(**dict(m))
            holds: dict[str, bool] = {}  # many rows share a condition (the chief's nudge, each office member)
            for r in rows:
                if r["condition"]:
                    ck = json.dumps(r["condition"], sort_keys=True)
                    if ck not in holds:
                        holds[ck] = await self.checks.holds(conn, r["condition"])
                    if holds[ck]:
                        cancelled.append(r["id"])
                        continue
                    # A text written when sent (the digest), not when resuming its pieces.
                    if not r.get("pieces_sent"):
                        text = await self.checks.render(conn, r)
                        if text is not None:
                            r["text"] = text
                t = r["target"]
                if t.get("type") == "staff":
                    person = staff.get(int(t["staff_id"]))
                    found = person_targets(person, self.channels) if person is not None and person.active else []
                    item = Claimed(r, found[0] if found else None)
                    (live if found else unresolved).append(item)
                else:
                    if t.get("type") == "group" and self.redact_groups is not None and not r.get("pieces_sent"):
                        r["text"] = await self.redact_groups(str(r["text"]))
                    live.append(Claimed(r, target_from_json(t)))
        return live, cancelled, unresolved

    # -- rate window ---------------------------------------------------------------------------------------------------

    async def _reserve(
        self,
        now: datetime,
        by_target: dict[str, list[Claimed]],
        *,
        expired: list[dict],
        gave_up: list[dict],
        cancelled: list[int],
        unresolved: list[Claimed],
        stats: RunStats,
    ) -> dict[str, list[Chunk]]:
        """One write transaction: settle rows that will not be sent, and reserve rate-window room for the rest.

        Chunks that do not fit the target's window go back to ``pending`` for when it has room (never
        dropped); the others get a send batch, ``reserved_at`` and their number of platform messages.
        On PostgreSQL a transaction-level advisory lock serialises reservations across instances (SQLite's
        ``BEGIN IMMEDIATE`` already does), so two instances never both see room for the same message.
        """
        plan: dict[str, list[Chunk]] = {}
        unlease = _UNLEASE
        when_later: set[datetime] = set()
        cfg = self.config
        if not (by_target or expired or gave_up or cancelled or unresolved):
            return plan
        async with self.db.session() as s:
            conn = await s.connection()

            async def settle(ids: list[int], give_back: bool = False, **values: Any) -> int:
                n = 0
                for i in range(0, len(ids), 500):
                    stmt, params = sql.fenced_update(ids[i : i + 500], self.owner, values, give_back=give_back)
                    res = await conn.execute(stmt, params)
                    n += int(res.rowcount or 0)  # type: ignore[attr-defined]
                return n

            stats.expired = await settle([r["id"] for r in expired], status=EXPIRED,
                                         last_error=EXPIRED_NOTE, **unlease)  # fmt: skip
            stats.failed += await settle([r["id"] for r in gave_up], status=FAILED,
                                         last_error="平台持续出错，到有效期仍未发出", **unlease)  # fmt: skip
            stats.cancelled = await settle(cancelled, status=CANCELLED, last_error="条件已满足，无需发送", **unlease)
            stats.failed += await settle([c.row["id"] for c in unresolved], status=FAILED,
                                         last_error="该人员在已启用的渠道上没有账号", **unlease)  # fmt: skip
            if not by_target:
                return plan
            if not self.db.is_sqlite:
                await conn.execute(sa_text("SELECT pg_advisory_xact_lock(:k)"), {"k": RATE_LOCK_KEY})
            used_by = await windows(conn, sorted(by_target), now, cfg.rate_window)
            marks: list[dict[str, Any]] = []
            for tk, items in by_target.items():
                uses = used_by.get(tk, [])
                used = sum(u.pieces for u in uses)
                chunks = self.merger.chunks(items, now)
                send: list[Chunk] = []
                for ch in chunks:
                    # A message longer than the whole window's worth of pieces still goes out, into an empty window.
                    if used + ch.pieces <= cfg.rate_limit or (used == 0 and not send):
                        send.append(ch)
                        used += ch.pieces
                        uses.append(Use(now, ch.pieces))
                    else:
                        break
                later = chunks[len(send) :]
                if later:
                    when = free_at(uses, later[0].pieces, now, limit=cfg.rate_limit, window=cfg.rate_window)
                    ids = [c.row["id"] for ch in later for c in ch.items]
                    stats.deferred += await settle(ids, status=PENDING, next_try_at=when,
                                                   give_back=True, **unlease)  # fmt: skip
                    when_later.add(when)
                since = now - cfg.rate_window
                for ch in send:
                    ch.batch = uuid.uuid4().hex
                    # A row tried earlier in the window leaves its old batch for this one: carry its pieces over,
                    # so what that attempt may have delivered still counts (conservatively, as of now).
                    old = {(c.row.get("send_batch"), c.row.get("pieces") or 1) for c in ch.items
                           if c.row.get("reserved_at") is not None and c.row["reserved_at"] > since}  # fmt: skip
                    carried = sum(p for _b, p in old)
                    marks += [{"r_id": c.row["id"], "r_batch": ch.batch, "r_pieces": ch.pieces + carried,
                               "r_at": now, "f_owner": self.owner} for c in ch.items]  # fmt: skip
                if send:
                    plan[tk] = send
            if marks:  # one executemany for the whole pass
                await conn.execute(sql.RESERVE, marks)
        self._wake(when_later)
        return plan

    # -- send ----------------------------------------------------------------------------------------------------------

    async def _send_target(
        self, tk: str, chunks: list[Chunk], now: datetime
    ) -> tuple[RunStats, list[dict], list[Delivered]]:
        stats = RunStats()
        failed_rows: list[dict] = []
        done: list[Delivered] = []
        async with self._target_locks[tk]:  # this process sends one target's messages in order
            for ch in chunks:
                first = ch.items[0]
                assert first.concrete is not None
                already = int(first.row.get("pieces_sent") or 0) if len(ch.items) == 1 else 0
                total = already + len(ch.parts)
                base_key = first.row["key"] if len(ch.items) == 1 else f"merge:{first.row['key']}:{len(ch.items)}"
                pid: str | None = None
                sent_parts = 0
                error: PlatformError | None = None
                for i, part in enumerate(ch.parts):
                    n = already + i
                    msg = OutgoingMessage(
                        target=first.concrete,
                        text=part,
                        format=TextFormat(first.row["format"]),
                        mentions=ch.mentions if n == 0 else (),
                        key=base_key if total == 1 else f"{base_key}#{n + 1}/{total}",
                        extra={METRIC_LABEL: _what(first.row)},
                    )
                    try:
                        async with self._sem:
                            pid = await self.deliver(msg) or pid
                    except PlatformError as exc:
                        error = exc
                    except Exception as exc:  # a bug in an adapter: retried like a platform error, and logged
                        log.exception("deliver_crashed", target=tk)
                        error = PlatformError(repr(exc))
                    if error is not None:
                        break
                    sent_parts += 1
                if error is not None:
                    st, fr = await self._after_error(ch, error, now, sent_parts)
                    stats.retried += st.retried
                    stats.failed += st.failed
                    failed_rows += fr
                    continue
                done.append(Delivered([c.row for c in ch.items], self.clock.now(), pid))
        return stats, failed_rows, done

    async def _finish_sent(self, delivered: list[Delivered]) -> tuple[int, list[float]]:
        """Mark delivered rows sent, fenced by the lease, all in one short transaction."""
        n = 0
        late: list[float] = []
        if not delivered:
            return n, late
        async with self.db.session() as s:
            conn = await s.connection()
            for d in delivered:
                pid = (d.pid or None) and str(d.pid)[:128]
                params = {"ids": [r["id"] for r in d.rows], "f_owner": self.owner, "v_sent_at": d.sent_at, "v_pid": pid}
                res = await conn.execute(sql.SENT_ROWS, params)
                n += int(res.rowcount or 0)  # type: ignore[attr-defined]
                late += d.lateness()
        return n, late

    def give_up_at(self, row: dict, now: datetime) -> datetime:
        """Until when a failing row is retried: its expiry, else ``retry_for`` after its first failure."""
        if row["expires_at"] is not None:
            return row["expires_at"]
        return (row.get("failing_since") or now) + self.config.retry_for

    async def _after_error(
        self, chunk: Chunk, exc: PlatformError, now: datetime, sent_parts: int = 0
    ) -> tuple[RunStats, list]:
        """Back off and retry until the row's give-up time (capped backoff); then dead-letter it.

        A split message remembers how many of its pieces went out, so the retry sends only the rest.
        """
        stats = RunStats()
        failed: list[dict] = []
        err = str(exc)[:480] or exc.__class__.__name__
        log.warning("send_failed", target=chunk.items[0].row["target_key"], error=err, rows=len(chunk.items))
        cap = self.config.max_attempts
        updates: list[tuple[dict, dict[str, Any]]] = []
        wake: set[datetime] = set()
        for c in chunk.items:
            row = c.row
            attempts = int(row["attempts"])
            since = row.get("failing_since") or now
            give_up = self.give_up_at(row, now)
            if not exc.retryable or (cap is not None and attempts >= cap) or now >= give_up:
                updates.append((row, {"status": FAILED, "last_error": err, "failing_since": since}))
                continue
            delay = min(self.config.backoff_cap, self.config.backoff_base * (2 ** max(0, attempts - 1)))
            if isinstance(exc, RateLimited):
                delay = max(delay, self.config.rate_window)
            when = min(now + delay, give_up)
            values: dict[str, Any] = {"status": PENDING, "next_try_at": when, "last_error": err, "failing_since": since}
            if sent_parts:
                values["pieces_sent"] = int(row.get("pieces_sent") or 0) + sent_parts
                values["text"] = chunk.text  # the pieces still to send are cut from exactly this text
            updates.append((row, values))
            wake.add(when)
        async with self.db.session() as s:
            conn = await s.connection()
            for row, values in updates:
                res = await conn.execute(
                    update(T)
                    .where(T.c.id == row["id"], T.c.lease_owner == self.owner, T.c.status == SENDING)
                    .values(lease_owner=None, lease_until=None, **values)
                )
                n = int(res.rowcount or 0)  # type: ignore[attr-defined]
                if values["status"] == FAILED:
                    stats.failed += n
                    if n:
                        failed.append(row)
                else:
                    stats.retried += n
        self._wake(wake)
        return stats, failed

    # -- visible reports to the office ---------------------------------------------------------------------------------

    async def _report(self, now: datetime, expired: list[dict], failed: list[dict]) -> None:
        """One office notice listing reminders that expired, and one for messages that failed for good."""
        notes = notice_texts(expired, failed, self.tz)
        if not notes:
            return
        async with self.db.session() as s:
            conn = await s.connection()
            office = await office_staff(conn)
            await insert_rows(conn, office_rows(notes, office, now))
        if not office:
            log.error("no_office_staff_for_notice", notes=notes)
        else:
            self._wake([now])


def _what(row: dict[str, Any]) -> str:
    """What a row announces, for the messages-out metric: its kind, and the timeline step of a reminder."""
    return f"{row['kind']}:{row['step']}" if row.get("step") else str(row["kind"])

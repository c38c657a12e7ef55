"""The outbox: every message the bot sends on its own initiative is a database row first.

Send protocol (shared SCHEDULING.md):

1. **Claim** due rows in one short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
   ``BEGIN IMMEDIATE`` serialises writers): ``status='sending'``, a lease (owner, until),
   ``attempts + 1``. A row whose lease ran out (its sender died) is claimable again.
2. **Business rules** instead of APScheduler's misfire grace: a row past ``expires_at`` becomes
   ``expired`` (the office gets one notice listing the reminders); a row whose ``condition``
   already holds (the room acknowledged, the report arrived) becomes ``cancelled``.
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
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy import text as sa_text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.adapters._text import split_utf8
from bot.clock import Clock
from bot.directory import person_targets
from bot.errors import PlatformError, RateLimited
from bot.model import METRIC_LABEL, GroupTarget, OutgoingMessage, PersonTarget, Target, TextFormat
from bot.outbox_tables import OutboxKind, OutboxMessage, OutboxStatus, ReminderAck
from bot.store.engine import Database
from bot.store.tables import Report, Role, Staff

log = structlog.get_logger("exambot.outbox")

Deliver = Callable[[OutgoingMessage], Awaitable[str | None]]
T = OutboxMessage.__table__  # type: ignore[attr-defined]

PENDING = OutboxStatus.PENDING.value
SENDING = OutboxStatus.SENDING.value
SENT = OutboxStatus.SENT.value
EXPIRED = OutboxStatus.EXPIRED.value
CANCELLED = OutboxStatus.CANCELLED.value
FAILED = OutboxStatus.FAILED.value

MERGE_SEPARATOR = "\n——————\n"


# Bytes per platform message when the delivery does not expose the adapters (the WeCom robot splits text at
# 2,048 bytes, DingTalk's client at 5,000); unknown channels get ``OutboxConfig.default_text_bytes``.
DEFAULT_TEXT_BYTES: dict[str, int] = {"wecom": 2048, "dingtalk": 5000}
RATE_LOCK_KEY = 0x0EBB07  # PostgreSQL advisory lock serialising rate-window reservations across instances


@dataclass
class OutboxConfig:
    """Tunables of the sender."""

    batch_size: int = 200
    lease: timedelta = timedelta(minutes=2)
    # Retries go by time, not by count: until the row's expires_at, or retry_for after its first failure.
    retry_for: timedelta = timedelta(minutes=30)
    max_attempts: int | None = None  # an optional hard cap on tries as well
    backoff_base: timedelta = timedelta(seconds=5)
    backoff_cap: timedelta = timedelta(seconds=60)
    rate_limit: int = 20  # platform messages per target per window (group robots: 20 a minute)
    rate_window: timedelta = timedelta(minutes=1)
    concurrency: int = 8
    late_mark: timedelta = timedelta(seconds=60)  # later than this → marked 补发 with the original time
    text_bytes: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_TEXT_BYTES))
    default_text_bytes: int = 2048


# ---------------------------------------------------------------------------------------------------------------------
# Targets


def target_to_json(target: Target, mentions: Sequence[str] = ()) -> dict[str, Any]:
    """A neutral target as stored in the outbox, with the user ids to @-mention there."""
    if isinstance(target, PersonTarget):
        data: dict[str, Any] = {"type": "person", "channel": target.channel, "user_id": target.user_id}
    else:
        data = {
            "type": "group",
            "channel": target.channel,
            "chat_id": target.chat_id,
            "webhook": target.webhook,
            "secret": target.secret,
        }
    if mentions:
        data["mentions"] = list(mentions)
    return data


def mentions_of(data: dict[str, Any]) -> tuple[str, ...]:
    """The @-mentions stored with a target."""
    return tuple(str(m) for m in data.get("mentions") or ())


def target_from_json(data: dict[str, Any]) -> Target:
    """The neutral target of a stored person or group target."""
    if data.get("type") == "person":
        return PersonTarget(str(data["channel"]), str(data["user_id"]))
    return GroupTarget(
        str(data.get("channel", "")), str(data.get("chat_id") or ""), data.get("webhook"), data.get("secret")
    )


def target_key(data: dict[str, Any]) -> str:
    """The name of a stored target, for rate limiting and merging."""
    from scheduler.timeline import target_key_of

    return target_key_of(data)


def group_target_of(group_chat: str | None, webhook: str | None, secret: str | None) -> dict[str, Any] | None:
    """A room's group target from its ``group_chat`` ("channel:id") or robot webhook."""
    if group_chat:
        channel = group_chat.split(":", 1)[0]
        return {"type": "group", "channel": channel, "chat_id": group_chat, "webhook": None, "secret": None}
    if webhook:
        channel = "dingtalk" if "dingtalk" in webhook else "wecom"
        return {"type": "group", "channel": channel, "chat_id": "", "webhook": webhook, "secret": secret}
    return None


# ---------------------------------------------------------------------------------------------------------------------
# Rows


def new_row(
    *,
    key: str,
    kind: OutboxKind | str,
    target: dict[str, Any],
    text: str,
    due_at: datetime,
    now: datetime,
    expires_at: datetime | None = None,
    session_id: int | None = None,
    room_id: int | None = None,
    step: str | None = None,
    condition: dict[str, Any] | None = None,
    format: TextFormat = TextFormat.TEXT,
) -> dict[str, Any]:
    """Column values of a new pending row (for bulk inserts)."""
    return {
        "key": key,
        "kind": str(kind),
        "session_id": session_id,
        "room_id": room_id,
        "step": step,
        "target_key": target_key(target),
        "target": target,
        "text": text,
        "format": format.value,
        "condition": condition,
        "due_at": due_at,
        "expires_at": expires_at,
        "next_try_at": due_at,
        "status": PENDING,
        "attempts": 0,
        "created_at": now,
    }


async def insert_rows(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], chunk: int = 500, *, skip_existing: bool = False
) -> None:
    """Insert new rows in chunks (executemany); ``skip_existing`` ignores rows whose key is already there."""
    stmt: Any = insert(T)
    if skip_existing:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(T).on_conflict_do_nothing(index_elements=["key"])
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(T).on_conflict_do_nothing(index_elements=["key"])
    for i in range(0, len(rows), chunk):
        await conn.execute(stmt, list(rows[i : i + chunk]))


async def office_staff(conn: AsyncConnection) -> list[Staff]:
    """Active staff holding the office role."""
    rows = (await conn.execute(select(Staff.__table__).where(Staff.__table__.c.active.is_(True)))).mappings().all()  # type: ignore[attr-defined]
    out = [Staff(**dict(r)) for r in rows]
    return [s for s in out if Role.OFFICE in s.role_set]


# ---------------------------------------------------------------------------------------------------------------------
# Conditions: a follow-up is sent only while what it asks for is still missing


async def condition_holds(conn: AsyncConnection, cond: dict[str, Any]) -> bool:
    """True when the thing a nudge asks for has happened (so the nudge is not needed)."""
    kind = cond.get("type")
    room_id = cond.get("room_id")
    if kind == "ack":
        a = ReminderAck.__table__  # type: ignore[attr-defined]
        q = select(a.c.id).where(a.c.room_id == room_id, a.c.step == cond.get("step")).limit(1)
        if (await conn.execute(q)).first() is not None:
            return True
        # Nothing to acknowledge when the reminder itself never went out (expired while the service was down).
        q = select(T.c.id).where(
            T.c.room_id == room_id,
            T.c.step == cond.get("step"),
            T.c.kind == OutboxKind.REMINDER.value,
            T.c.status == SENT,
        )
        return (await conn.execute(q.limit(1))).first() is None
    if kind == "report":
        r = Report.__table__  # type: ignore[attr-defined]
        wanted = cond.get("report")
        report_kind = "absent" if wanted == "absent" else "papers"
        q = select(r.c.id, r.c.payload, r.c.revoked, r.c.supersedes_id).where(
            r.c.room_id == room_id, r.c.kind == report_kind
        )
        rows = (await conn.execute(q)).all()
        superseded = {row.supersedes_id for row in rows if row.supersedes_id is not None}
        for row_id, payload, revoked, _ in rows:
            if revoked or row_id in superseded:  # a revocation, or a report corrected or revoked since
                continue
            if report_kind == "absent":
                return True
            if isinstance(payload, dict) and payload.get("action") == "collect":
                return True
        return False
    return False


# ---------------------------------------------------------------------------------------------------------------------
# The sender


@dataclass
class _Claimed:
    row: dict[str, Any]
    concrete: Target | None = None


@dataclass
class _Chunk:
    """Rows of one target merged into one message; ``parts`` are the platform messages still to send."""

    items: list[_Claimed]
    text: str
    parts: list[str]
    mentions: tuple[str, ...] = ()
    batch: str = ""

    @property
    def pieces(self) -> int:
        """Platform messages this chunk takes."""
        return max(1, len(self.parts))


@dataclass(frozen=True)
class _Use:
    """A send batch in a target's rate window."""

    at: datetime
    pieces: int


@dataclass(frozen=True)
class _Delivered:
    """Rows the platform accepted as one message, to be marked sent."""

    rows: list[dict]
    sent_at: datetime
    pid: str | None

    @property
    def count(self) -> int:
        """Rows in the message."""
        return len(self.rows)

    def lateness(self) -> list[float]:
        """Seconds each row went out after its due time."""
        return [max(0.0, (self.sent_at - r["due_at"]).total_seconds()) for r in self.rows]


@dataclass
class RunStats:
    """What one pass did (for tests, logs and the benchmark)."""

    claimed: int = 0
    sent: int = 0
    expired: int = 0
    cancelled: int = 0
    deferred: int = 0
    retried: int = 0
    failed: int = 0
    lateness: list[float] = field(default_factory=list)  # seconds between due time and sending, per sent row
    expired_rows: list[dict] = field(default_factory=list)  # reminders that expired (reported to the office)
    failed_rows: list[dict] = field(default_factory=list)  # rows that failed for good (reported to the office)


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
    ) -> None:
        self.db = db
        self.clock = clock
        self.deliver = deliver
        self.channels = tuple(channels)
        self.owner = owner or f"outbox-{uuid.uuid4().hex[:12]}"
        self.config = config or OutboxConfig()
        self.tz = tz or ZoneInfo("Asia/Shanghai")
        self._sem = asyncio.Semaphore(self.config.concurrency)
        self._target_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._run_lock = asyncio.Lock()
        self.on_reschedule: Callable[[datetime], None] | None = None  # the alarm clock hears of new times here
        self.totals = RunStats()

    # -- claim ---------------------------------------------------------------------------------------------------------

    def _due(self, now: datetime) -> Any:
        return or_(
            and_(T.c.status == PENDING, T.c.next_try_at <= now),
            and_(T.c.status == SENDING, T.c.lease_until < now),
        )

    async def claim(self, now: datetime, *, ids: Sequence[int] | None = None, limit: int | None = None) -> list[dict]:
        """Lease up to ``limit`` due rows to this sender; rows others hold are skipped, never shared."""
        limit = limit or self.config.batch_size
        async with self.db.session() as s:
            conn = await s.connection()
            q = select(T.c.id).where(self._due(now)).order_by(T.c.next_try_at, T.c.id).limit(limit)
            if ids is not None:
                q = q.where(T.c.id.in_(list(ids)))
            if not self.db.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            got = list((await conn.execute(q)).scalars().all())
            if not got:
                return []
            upd = (
                update(T)
                .where(T.c.id.in_(got), self._due(now))
                .values(
                    status=SENDING,
                    lease_owner=self.owner,
                    lease_until=now + self.config.lease,
                    attempts=T.c.attempts + 1,
                )
                .returning(*T.c)
            )
            rows = [dict(r) for r in (await conn.execute(upd)).mappings().all()]
        rows.sort(key=lambda r: (r["due_at"], r["id"]))
        return rows

    async def _finish(self, ids: Sequence[int], **values: Any) -> int:
        if not ids:
            return 0
        async with self.db.session() as s:
            conn = await s.connection()
            res = await conn.execute(
                update(T)
                .where(T.c.id.in_(list(ids)), T.c.lease_owner == self.owner, T.c.status == SENDING)
                .values(lease_owner=None, lease_until=None, **values)
            )
            return int(res.rowcount or 0)  # type: ignore[attr-defined]

    # -- one pass ------------------------------------------------------------------------------------------------------

    async def run_once(self, ids: Sequence[int] | None = None, *, report: bool = True) -> RunStats:
        """Claim what is due now and deal with every claimed row.

        With ``report`` the office is told at once of expired reminders and failed messages; ``drain``
        collects them over all its passes instead and sends one notice.
        """
        now = self.clock.now()
        stats = RunStats()
        rows = await self.claim(now, ids=ids)
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
        by_target: dict[str, list[_Claimed]] = defaultdict(list)
        for c in claimed:
            by_target[c.row["target_key"]].append(c)
        plan = await self._reserve(now, by_target, expired=expired, gave_up=gave_up, cancelled=cancelled,
                                   unresolved=unresolved, stats=stats)  # fmt: skip
        failed_rows: list[dict] = gave_up + [c.row for c in unresolved]
        results = await asyncio.gather(*(self._send_target(tk, chunks, now) for tk, chunks in plan.items()))
        delivered: list[_Delivered] = []
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
        self._add_totals(stats)
        return stats

    def _add_totals(self, s: RunStats) -> None:
        t = self.totals
        t.claimed += s.claimed
        t.sent += s.sent
        t.expired += s.expired
        t.cancelled += s.cancelled
        t.deferred += s.deferred
        t.retried += s.retried
        t.failed += s.failed
        t.lateness += s.lateness

    async def drain(self, max_rounds: int = 1000) -> RunStats:
        """Run passes until nothing is due now (tests and the sweep)."""
        total = RunStats()
        async with self._run_lock:
            try:
                for _ in range(max_rounds):
                    s = await self.run_once(report=False)
                    for name in ("claimed", "sent", "expired", "cancelled", "deferred", "retried", "failed"):
                        setattr(total, name, getattr(total, name) + getattr(s, name))
                    total.lateness += s.lateness
                    total.expired_rows += s.expired_rows
                    total.failed_rows += s.failed_rows
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

    async def _check_and_resolve(self, rows: list[dict]) -> tuple[list[_Claimed], list[int], list[_Claimed]]:
        """Drop rows whose condition holds; turn staff targets into a concrete address."""
        cancelled: list[int] = []
        live: list[_Claimed] = []
        unresolved: list[_Claimed] = []
        if not rows:
            return live, cancelled, unresolved
        need_staff = {r["target"].get("staff_id") for r in rows if r["target"].get("type") == "staff"}
        async with self.db.read() as s:  # read only: on SQLite no write lock
            conn = await s.connection()
            staff: dict[int, Staff] = {}
            if need_staff:
                st = Staff.__table__  # type: ignore[attr-defined]
                for m in (await conn.execute(select(st).where(st.c.id.in_(list(need_staff))))).mappings().all():
                    staff[m["id"]] = Staff(**dict(m))
            holds: dict[str, bool] = {}  # many rows share a condition (the chief's nudge, each office member)
            for r in rows:
                if r["condition"]:
                    ck = json.dumps(r["condition"], sort_keys=True)
                    if ck not in holds:
                        holds[ck] = await condition_holds(conn, r["condition"])
                    if holds[ck]:
                        cancelled.append(r["id"])
                        continue
                    # The digest is written when sent, from the reports of the day (not when resuming its pieces).
                    if r["condition"].get("type") == "digest" and not r.get("pieces_sent"):
                        from scheduler.digest import render_digest

                        r["text"] = await render_digest(conn, date.fromisoformat(r["condition"]["day"]), self.tz)
                t = r["target"]
                if t.get("type") == "staff":
                    person = staff.get(int(t["staff_id"]))
                    found = person_targets(person, self.channels) if person is not None and person.active else []
                    item = _Claimed(r, found[0] if found else None)
                    (live if found else unresolved).append(item)
                else:
                    live.append(_Claimed(r, target_from_json(t)))
        return live, cancelled, unresolved

    # -- size, rate limit, merge ---------------------------------------------------------------------------------------

    def text_limit(self, channel: str) -> int:
        """Bytes one platform message may hold on ``channel``.

        The adapter's ``capabilities.max_text_bytes`` when the delivery is an
        :class:`~bot.adapters.base.AdapterNotifier` (as in the app), else ``OutboxConfig.text_bytes``.
        """
        adapters = getattr(getattr(self.deliver, "__self__", None), "adapters", None)
        if isinstance(adapters, Mapping):
            caps = getattr(adapters.get(channel), "capabilities", None)
            limit = getattr(caps, "max_text_bytes", None)
            if isinstance(limit, int) and limit > 0:
                return limit
        return self.config.text_bytes.get(channel, self.config.default_text_bytes)

    def _budget(self, channel: str, mentions: Iterable[str]) -> int:
        """Bytes left for the text once the platform has prefixed the @-mentions (``<@id> `` or ``@id ``)."""
        overhead = sum(len(m.encode("utf-8")) + 4 for m in mentions)
        return max(64, self.text_limit(channel) - overhead - (1 if overhead else 0))

    def _render(self, row: dict, now: datetime) -> str:
        text = str(row["text"])
        if row.get("pieces_sent"):  # the rest of a split message: exactly the text its first pieces came from
            return text
        if now - row["due_at"] > self.config.late_mark:
            text = f"【补发，原定 {row['due_at'].astimezone(self.tz):%H:%M}】" + text
        return text

    def _chunks(self, items: list[_Claimed], now: datetime) -> list[_Chunk]:
        """Merge the texts of one target's rows into as few messages as fit the platform's size limit.

        A merged message never needs splitting; only a single row longer than the limit is cut into
        pieces (each piece is a platform message and counts in the rate window).
        """
        out: list[_Chunk] = []
        cur: list[_Claimed] = []
        text = ""
        mentions: dict[str, None] = {}

        def flush() -> None:
            if cur:
                out.append(self._chunk(list(cur), text, tuple(mentions)))

        for c in items:
            assert c.concrete is not None
            piece = self._render(c.row, now)
            ms = dict.fromkeys([*mentions, *mentions_of(c.row["target"] or {})])
            joined = f"{text}{MERGE_SEPARATOR}{piece}" if cur else piece
            resuming = bool(c.row.get("pieces_sent")) or (bool(cur) and bool(cur[0].row.get("pieces_sent")))
            if cur and (resuming or len(joined.encode("utf-8")) > self._budget(c.concrete.channel, ms)):
                flush()
                cur, text, mentions = [c], piece, dict.fromkeys(mentions_of(c.row["target"] or {}))
            else:
                cur.append(c)
                text, mentions = joined, ms
        flush()
        return out

    def _chunk(self, items: list[_Claimed], text: str, mentions: tuple[str, ...]) -> _Chunk:
        first = items[0]
        assert first.concrete is not None
        parts = [text]
        if len(items) == 1:
            parts = split_utf8(text, self._budget(first.concrete.channel, mentions))
            parts = parts[int(first.row.get("pieces_sent") or 0) :]
        return _Chunk(items, text, parts, mentions)

    async def _windows(self, conn: AsyncConnection, tks: list[str], now: datetime) -> dict[str, list[_Use]]:
        """Platform messages each target got, or that were reserved for it, within the rate window.

        Counts every instance's sends: a batch is reserved before it goes out, in a write transaction
        serialised with this one, so the window is the database's, not the process's.
        """
        since = now - self.config.rate_window
        out: dict[str, list[_Use]] = defaultdict(list)
        at = func.min(func.coalesce(T.c.reserved_at, T.c.sent_at))
        for i in range(0, len(tks), 500):
            q = (
                select(T.c.target_key, T.c.send_batch, at, func.max(T.c.pieces))
                .where(
                    T.c.target_key.in_(tks[i : i + 500]),
                    or_(T.c.reserved_at > since, and_(T.c.reserved_at.is_(None), T.c.sent_at > since)),
                )
                .group_by(T.c.target_key, T.c.send_batch)
            )
            for tk, _b, t, pieces in (await conn.execute(q)).all():
                out[tk].append(_Use(t, int(pieces or 1)))
        return out

    def _free_at(self, uses: list[_Use], need: int, now: datetime) -> datetime:
        """When enough of the window has left it for ``need`` more platform messages."""
        room_wanted = self.config.rate_limit - need
        total = sum(u.pieces for u in uses)
        for u in sorted(uses, key=lambda u: u.at):
            total -= u.pieces
            if total <= room_wanted:
                return max(now, u.at + self.config.rate_window)
        return now + self.config.rate_window

    async def _reserve(
        self,
        now: datetime,
        by_target: dict[str, list[_Claimed]],
        *,
        expired: list[dict],
        gave_up: list[dict],
        cancelled: list[int],
        unresolved: list[_Claimed],
        stats: RunStats,
    ) -> dict[str, list[_Chunk]]:
        """One write transaction: settle rows that will not be sent, and reserve rate-window room for the rest.

        Chunks that do not fit the target's window go back to ``pending`` for when it has room (never
        dropped); the others get a send batch, ``reserved_at`` and their number of platform messages.
        On PostgreSQL a transaction-level advisory lock serialises reservations across instances (SQLite's
        ``BEGIN IMMEDIATE`` already does), so two instances never both see room for the same message.
        """
        plan: dict[str, list[_Chunk]] = {}
        fence = and_(T.c.lease_owner == self.owner, T.c.status == SENDING)
        unlease = {"lease_owner": None, "lease_until": None}
        when_later: set[datetime] = set()
        if not (by_target or expired or gave_up or cancelled or unresolved):
            return plan
        async with self.db.session() as s:
            conn = await s.connection()

            async def settle(ids: list[int], **values: Any) -> int:
                n = 0
                for i in range(0, len(ids), 500):
                    res = await conn.execute(update(T).where(T.c.id.in_(ids[i : i + 500]), fence).values(**values))
                    n += int(res.rowcount or 0)  # type: ignore[attr-defined]
                return n

            stats.expired = await settle([r["id"] for r in expired], status=EXPIRED,
                                         last_error="超过宽限时间，未发送", **unlease)  # fmt: skip
            stats.failed += await settle([r["id"] for r in gave_up], status=FAILED,
                                         last_error="平台持续出错，到有效期仍未发出", **unlease)  # fmt: skip
            stats.cancelled = await settle(cancelled, status=CANCELLED, last_error="条件已满足，无需发送", **unlease)
            stats.failed += await settle([c.row["id"] for c in unresolved], status=FAILED,
                                         last_error="该人员在已启用的渠道上没有账号", **unlease)  # fmt: skip
            if not by_target:
                return plan
            if not self.db.is_sqlite:
                await conn.execute(sa_text("SELECT pg_advisory_xact_lock(:k)"), {"k": RATE_LOCK_KEY})
            windows = await self._windows(conn, sorted(by_target), now)
            marks: list[dict[str, Any]] = []
            for tk, items in by_target.items():
                uses = windows.get(tk, [])
                used = sum(u.pieces for u in uses)
                chunks = self._chunks(items, now)
                send: list[_Chunk] = []
                for ch in chunks:
                    # A message longer than the whole window's worth of pieces still goes out, into an empty window.
                    if used + ch.pieces <= self.config.rate_limit or (used == 0 and not send):
                        send.append(ch)
                        used += ch.pieces
                        uses.append(_Use(now, ch.pieces))
                    else:
                        break
                later = chunks[len(send) :]
                if later:
                    when = self._free_at(uses, later[0].pieces, now)
                    ids = [c.row["id"] for ch in later for c in ch.items]
                    stats.deferred += await settle(ids, status=PENDING, next_try_at=when,
                                                   attempts=T.c.attempts - 1, **unlease)  # fmt: skip
                    when_later.add(when)
                since = now - self.config.rate_window
                for ch in send:
                    ch.batch = uuid.uuid4().hex
                    # A row tried earlier in the window leaves its old batch for this one: carry its pieces over,
                    # so what that attempt may have delivered still counts (conservatively, as of now).
                    old = {(c.row.get("send_batch"), c.row.get("pieces") or 1) for c in ch.items
                           if c.row.get("reserved_at") is not None and c.row["reserved_at"] > since}  # fmt: skip
                    carried = sum(p for _b, p in old)
                    marks += [{"r_id": c.row["id"], "r_batch": ch.batch, "r_pieces": ch.pieces + carried}
                              for c in ch.items]  # fmt: skip
                if send:
                    plan[tk] = send
            if marks:  # one executemany for the whole pass
                await conn.execute(
                    update(T)
                    .where(T.c.id == bindparam("r_id"), fence)
                    .values(send_batch=bindparam("r_batch"), pieces=bindparam("r_pieces"), reserved_at=now),
                    marks,
                )
        if self.on_reschedule is not None:
            for when in sorted(when_later):
                self.on_reschedule(when)
        return plan

    # -- send ----------------------------------------------------------------------------------------------------------

    async def _send_target(
        self, tk: str, chunks: list[_Chunk], now: datetime
    ) -> tuple[RunStats, list[dict], list[_Delivered]]:
        stats = RunStats()
        failed_rows: list[dict] = []
        done: list[_Delivered] = []
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
                done.append(_Delivered([c.row for c in ch.items], self.clock.now(), pid))
        return stats, failed_rows, done

    async def _finish_sent(self, delivered: list[_Delivered]) -> tuple[int, list[float]]:
        """Mark delivered rows sent, fenced by the lease, all in one short transaction."""
        n = 0
        late: list[float] = []
        if not delivered:
            return n, late
        async with self.db.session() as s:
            conn = await s.connection()
            for d in delivered:
                res = await conn.execute(
                    update(T)
                    .where(T.c.id.in_([r["id"] for r in d.rows]), T.c.lease_owner == self.owner, T.c.status == SENDING)
                    .values(
                        status=SENT,
                        sent_at=d.sent_at,
                        platform_message_id=(d.pid or None) and str(d.pid)[:128],
                        last_error=None,
                        lease_owner=None,
                        lease_until=None,
                    )
                )
                n += int(res.rowcount or 0)  # type: ignore[attr-defined]
                late += d.lateness()
        return n, late

    def give_up_at(self, row: dict, now: datetime) -> datetime:
        """Until when a failing row is retried: its expiry, else ``retry_for`` after its first failure."""
        if row["expires_at"] is not None:
            return row["expires_at"]
        return (row.get("failing_since") or now) + self.config.retry_for

    async def _after_error(
        self, chunk: _Chunk, exc: PlatformError, now: datetime, sent_parts: int = 0
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
        if self.on_reschedule is not None:
            for when in sorted(wake):
                self.on_reschedule(when)
        return stats, failed

    # -- visible reports to the office ---------------------------------------------------------------------------------

    async def _report(self, now: datetime, expired: list[dict], failed: list[dict]) -> None:
        """One office notice listing reminders that expired, and one for messages that failed for good."""
        failed = [r for r in failed if r["kind"] != OutboxKind.SYSTEM.value]  # never report the reports
        if not expired and not failed:
            return
        notes: list[str] = []
        if expired:
            lines = [
                f"· {r['due_at'].astimezone(self.tz):%m-%d %H:%M} {_first_line(r['text'])}"
                for r in sorted(expired, key=lambda r: r["due_at"])
            ]
            notes.append(
                f"以下 {len(expired)} 条考务提醒错过了发送时间（服务中断），已不再补发，请人工确认：\n"
                + "\n".join(lines)
            )
        if failed:
            lines = [f"· {_first_line(r['text'])}（{r['target_key']}）" for r in failed]
            notes.append(f"以下 {len(failed)} 条消息多次发送失败，已放弃，请人工通知：\n" + "\n".join(lines))
        async with self.db.session() as s:
            conn = await s.connection()
            office = await office_staff(conn)
            rows = []
            tag = uuid.uuid4().hex[:12]
            for i, text in enumerate(notes):
                for person in office:
                    assert person.id is not None
                    rows.append(
                        new_row(
                            key=f"sys:{tag}:{i}:{person.id}",
                            kind=OutboxKind.SYSTEM,
                            target={"type": "staff", "staff_id": person.id},
                            text=text,
                            due_at=now,
                            now=now,
                        )
                    )
            if rows:
                await insert_rows(conn, rows)
        if not office:
            log.error("no_office_staff_for_notice", notes=notes)
        elif self.on_reschedule is not None:
            self.on_reschedule(now)

    # -- queries for the alarm clock -----------------------------------------------------------------------------------

    async def due_times(self, until: datetime, limit: int = 5000) -> list[datetime]:
        """Distinct times at which pending rows fall due before ``until`` (the timers to set)."""
        async with self.db.read() as s:
            conn = await s.connection()
            q = (
                select(T.c.next_try_at)
                .where(T.c.status == PENDING, T.c.next_try_at <= until)
                .group_by(T.c.next_try_at)
                .order_by(T.c.next_try_at)
                .limit(limit)
            )
            return [t for (t,) in (await conn.execute(q)).all()]


def _what(row: dict[str, Any]) -> str:
    """What a row announces, for the messages-out metric: its kind, and the timeline step of a reminder."""
    return f"{row['kind']}:{row['step']}" if row.get("step") else str(row["kind"])


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0][:80]


# ---------------------------------------------------------------------------------------------------------------------
# The notifier handlers use


class OutboxNotifier:
    """The app's :class:`~bot.services.Notifier`: writes each message to the outbox, then sends it.

    ``notify`` commits the rows first (so a crash cannot lose them) and then sends them through
    the same claim/rate-limit/finish path the reminder sender uses; what cannot go out now is
    retried by the scheduler's sweep. With ``defer`` (inside a platform callback) the send
    is not awaited: one background pass at a time sends what has been notified meanwhile, so the
    platform gets its answer sooner and a burst of alerts costs one claim and one finish per pass.
    """

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._queued: set[int] = set()
        self._sender: asyncio.Task[None] | None = None

    async def enqueue(self, session: AsyncSession, messages: Sequence[OutgoingMessage], now: datetime) -> None:
        """Add rows for ``messages`` inside the caller's transaction (sent after it commits)."""
        rows = []
        for m in messages:
            t = target_to_json(m.target, m.mentions)
            rows.append(
                new_row(
                    key=m.key or f"n:{uuid.uuid4().hex}",
                    kind=OutboxKind.NOTICE,
                    target=t,
                    text=m.text,
                    due_at=now,
                    now=now,
                    format=m.format,
                )
            )
        conn = await session.connection()
        await insert_rows(conn, rows, skip_existing=True)  # a key already in the outbox is never sent twice

    async def notify(self, messages: Sequence[OutgoingMessage], *, defer: bool = False) -> None:
        """Persist, then send (now, or in the background inside a platform callback)."""
        if not messages:
            return
        now = self.outbox.clock.now()
        keys = [m.key or f"n:{uuid.uuid4().hex}" for m in messages]
        messages = [
            OutgoingMessage(m.target, m.text, m.format, m.mentions, k, m.extra)
            for m, k in zip(messages, keys, strict=True)
        ]
        async with self.outbox.db.session() as s:
            await self.enqueue(s, messages, now)
            conn = await s.connection()
            ids = list((await conn.execute(select(T.c.id).where(T.c.key.in_(keys)))).scalars().all())
        if defer:
            self._queued.update(ids)
            if self._sender is None or self._sender.done():
                self._sender = asyncio.create_task(self._send_queued(), name="outbox-notify")
            return
        await self._send(ids)

    async def _send(self, ids: list[int]) -> None:
        now = self.outbox.clock.now()
        try:
            await self.outbox.run_once(ids=ids)
        except Exception:  # the rows are safe in the outbox; the sweep sends them
            log.exception("notify_send_failed", rows=len(ids))
        if self.outbox.on_reschedule is not None:
            self.outbox.on_reschedule(now)

    async def _send_queued(self) -> None:
        while self._queued:
            ids, self._queued = sorted(self._queued), set()
            await self._send(ids)

    async def settle(self) -> None:
        """Wait until the background sends started so far are done (tests, shutdown)."""
        while self._sender is not None and not self._sender.done():
            await asyncio.gather(self._sender, return_exceptions=True)

    async def close(self, grace: float = 5.0) -> None:
        """Finish the background send briefly; what is left stays in the outbox for the next start's sweep."""
        if self._sender is None or self._sender.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._sender), grace)
        except (TimeoutError, asyncio.CancelledError):
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)

"""Who is who: resolving platform user ids to staff and staff to their addresses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.model import PersonTarget
from bot.store.reports import staff_with_roles
from bot.store.tables import Role, Staff
from bot.tasks import Tasks

if TYPE_CHECKING:
    from bot.store.engine import Database

CONSOLE = "console"
WECOM = "wecom"
DINGTALK = "dingtalk"
WECOM_AIBOT = "wecom_aibot"  # the WeCom AI bot: the same enterprise, so the same WeCom userid


def _user_id_of(channel: str, staff: Staff) -> str | None:
    if channel in (WECOM, WECOM_AIBOT):
        return staff.wecom_userid
    if channel == DINGTALK:
        return staff.dingtalk_userid
    if channel == CONSOLE and staff.id is not None:
        return str(staff.id)
    return None


async def find_staff_many(session: AsyncSession, channel: str, user_ids: Iterable[str]) -> dict[str, Staff]:
    """The active staff members behind several ``user_ids`` on ``channel``, in one query; strangers are absent."""
    wanted = set(user_ids)
    cond: ColumnElement[bool]
    if channel in (WECOM, WECOM_AIBOT):
        cond = col(Staff.wecom_userid).in_(wanted)
    elif channel == DINGTALK:
        cond = col(Staff.dingtalk_userid).in_(wanted)
    elif channel == CONSOLE:
        cond = col(Staff.id).in_([int(u) for u in wanted if u.isdigit() and len(u) < 19])
    else:
        return {}
    found: dict[str, Staff] = {}
    for staff in (await session.exec(select(Staff).where(cond).order_by(col(Staff.id)))).all():
        uid = _user_id_of(channel, staff)
        if uid in wanted and uid not in found and staff.active:
            found[uid] = staff
    return found


class StaffCache:
    """Recently resolved senders, so most messages cost no staff lookup.

    The staff list changes only when the office imports it, so an entry lives ``ttl`` seconds
    (a role change or a deactivation reaches every instance within that time). Only known staff
    are kept: a stranger who was just added to the list is recognised on their next message.
    Each hit is a fresh copy, so a handler cannot change what the next message sees.

    :meth:`lookup` resolves misses in batches: the senders missing while a query runs are looked up
    together in the next one, and a sender asked for twice waits for the same answer. When the
    entries of a busy minute expire together, that is one query instead of one per sender (on
    PostgreSQL 200 separate lookups held every request up behind the connection pool).
    """

    def __init__(self, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._misses: dict[tuple[str, str], asyncio.Future[dict[str, Any] | None]] = {}
        self._resolver: asyncio.Task[None] | None = None
        self._tasks = Tasks("staff-lookup")
        self.queries = 0  # how many lookups went to the database (for tests)

    async def lookup(self, db: Database, channel: str, user_id: str) -> Staff | None:
        """The staff member behind ``user_id`` on ``channel`` (cached, else from ``db``); None for a stranger."""
        staff = self.get(channel, user_id)
        if staff is not None:
            return staff
        key = (channel, user_id)
        future = self._misses.get(key)
        if future is None:
            future = self._misses[key] = asyncio.get_running_loop().create_future()
            if self._resolver is None or self._resolver.done():
                self._resolver = self._tasks.spawn(self._resolve(db), name="staff-lookup")
        found = await asyncio.shield(future)  # a cancelled sender does not cancel the others' answer
        return Staff(**found) if found is not None else None

    async def _resolve(self, db: Database) -> None:
        while self._misses:
            batch, self._misses = self._misses, {}
            try:
                self.queries += 1
                async with db.read() as session:
                    found: dict[tuple[str, str], Staff] = {}
                    for channel in {c for c, _ in batch}:
                        hits = await find_staff_many(session, channel, [u for c, u in batch if c == channel])
                        found.update(((channel, u), staff) for u, staff in hits.items())
            except Exception as exc:
                _fail(batch.values(), exc)
                continue
            except BaseException:  # cancelled (shutdown): nobody may be left waiting for an answer
                _fail([*batch.values(), *self._misses.values()], RuntimeError("staff lookup cancelled"))
                self._misses = {}
                raise
            for key, future in batch.items():
                staff = found.get(key)
                if staff is not None:
                    self.put(*key, staff)
                if not future.done():
                    future.set_result(staff.model_dump() if staff is not None else None)

    def get(self, channel: str, user_id: str) -> Staff | None:
        """The cached staff member, or None when unknown or expired."""
        hit = self._entries.get((channel, user_id))
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            del self._entries[(channel, user_id)]
            return None
        return Staff(**hit[1])

    def put(self, channel: str, user_id: str, staff: Staff) -> None:
        """Remember ``staff`` as the sender ``user_id`` on ``channel``."""
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[(channel, user_id)] = (time.monotonic() + self.ttl, staff.model_dump())


class RoleCache:
    """Who holds some roles (the office and supervisors every alert goes to), remembered ``ttl`` seconds.

    Every report that raises alerts needs the same handful of people; reading and building them took
    about as long as writing the report. Like :class:`StaffCache`, a change of the staff list reaches
    every instance within ``ttl``. The rows are shared between callers: read them, never change them.
    """

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._entries: dict[tuple[str, ...], tuple[float, list[Staff]]] = {}
        self.queries = 0  # how many lookups went to the database (for tests)

    async def holders(self, session: AsyncSession, roles: tuple[Role, ...]) -> list[Staff]:
        """Active staff holding any of ``roles``, by id (cached, else read in ``session``)."""
        key = tuple(sorted(r.value for r in roles))
        hit = self._entries.get(key)
        if hit is not None and hit[0] >= time.monotonic():
            return hit[1]
        self.queries += 1
        found = await staff_with_roles(session, *roles)
        self._entries[key] = (time.monotonic() + self.ttl, found)
        return found


def _fail(futures: Iterable[asyncio.Future[Any]], exc: BaseException) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(exc)
        if not future.cancelled():
            future.exception()  # retrieved: a waiter that went away must not warn


async def find_staff_by_name_or_id(session: AsyncSession, who: str) -> Staff | None:
    """Look a person up by name, WeCom userid, DingTalk userId or database id (for ``exambot chat --as``)."""
    conds = [
        col(Staff.name) == who,
        col(Staff.wecom_userid) == who,
        col(Staff.dingtalk_userid) == who,
    ]
    if who.isdigit():
        conds.append(col(Staff.id) == int(who))
    return (await session.exec(select(Staff).where(or_(*conds)).order_by(col(Staff.id)))).first()


async def has_staff(session: AsyncSession) -> bool:
    """True when the staff list is not empty (a chat against an empty database is worth a hint)."""
    return (await session.exec(select(Staff.id).limit(1))).first() is not None


def person_targets(staff: Staff, channels: tuple[str, ...] = (WECOM, DINGTALK, CONSOLE)) -> list[PersonTarget]:
    """Every address where ``staff`` can be reached privately, on the enabled ``channels``."""
    out: list[PersonTarget] = []
    if WECOM in channels and staff.wecom_userid:
        out.append(PersonTarget(WECOM, staff.wecom_userid))
    if WECOM_AIBOT in channels and staff.wecom_userid:  # after the app: the app reaches people without an @ first
        out.append(PersonTarget(WECOM_AIBOT, staff.wecom_userid))
    if DINGTALK in channels and staff.dingtalk_userid:
        out.append(PersonTarget(DINGTALK, staff.dingtalk_userid))
    if CONSOLE in channels and staff.id is not None:
        out.append(PersonTarget(CONSOLE, str(staff.id)))
    return out

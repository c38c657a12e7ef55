"""Who is who: resolving platform user ids to staff and staff to their addresses."""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.model import PersonTarget
from bot.store.tables import Staff

CONSOLE = "console"
WECOM = "wecom"
DINGTALK = "dingtalk"


async def find_staff(session: AsyncSession, channel: str, user_id: str) -> Staff | None:
    """The active staff member behind ``user_id`` on ``channel``, or None for a stranger."""
    if channel == WECOM:
        cond = col(Staff.wecom_userid) == user_id
    elif channel == DINGTALK:
        cond = col(Staff.dingtalk_userid) == user_id
    elif channel == CONSOLE:
        if not user_id.isdigit():
            return None
        cond = col(Staff.id) == int(user_id)
    else:
        return None
    staff = (await session.exec(select(Staff).where(cond))).first()
    if staff is None or not staff.active:
        return None
    return staff


class StaffCache:
    """Recently resolved senders, so most messages cost no staff lookup.

    The staff list changes only when the office imports it, so an entry lives ``ttl`` seconds
    (a role change or a deactivation reaches every instance within that time). Only known staff
    are kept: a stranger who was just added to the list is recognised on their next message.
    Each hit is a fresh copy, so a handler cannot change what the next message sees.
    """

    def __init__(self, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}

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


async def find_staff_by_name_or_id(session: AsyncSession, who: str) -> Staff | None:
    """Look a person up by name, WeCom userid, DingTalk userId or database id (for ``exambot chat --as``)."""
    conds = [
        col(Staff.name) == who,
        col(Staff.wecom_userid) == who,
        col(Staff.dingtalk_userid) == who,
    ]
    if who.isdigit():
        conds.append(col(Staff.id) == int(who))
    from sqlalchemy import or_

    return (await session.exec(select(Staff).where(or_(*conds)).order_by(col(Staff.id)))).first()


def person_targets(staff: Staff, channels: tuple[str, ...] = (WECOM, DINGTALK, CONSOLE)) -> list[PersonTarget]:
    """Every address where ``staff`` can be reached privately, on the enabled ``channels``."""
    out: list[PersonTarget] = []
    if WECOM in channels and staff.wecom_userid:
        out.append(PersonTarget(WECOM, staff.wecom_userid))
    if DINGTALK in channels and staff.dingtalk_userid:
        out.append(PersonTarget(DINGTALK, staff.dingtalk_userid))
    if CONSOLE in channels and staff.id is not None:
        out.append(PersonTarget(CONSOLE, str(staff.id)))
    return out

"""How candidate data is shown: masked in group chats, names only in private chats to supervisors/office."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import Context
from bot.store.tables import Candidate
from handlers._parse import mask_ticket
from handlers._rooms import full_data, is_private


async def names_of(s: AsyncSession, room_ids: Iterable[int]) -> dict[tuple[int, str], str]:
    """Candidate names by (room id, ticket)."""
    ids = list(room_ids)
    if not ids:
        return {}
    rows = (await s.exec(select(Candidate).where(col(Candidate.room_id).in_(ids)))).all()
    return {(c.room_id, c.ticket_no): c.name for c in rows}


def ticket(ctx: Context, number: str, name: str | None = None) -> str:
    """A 准考证号 as this chat may see it (masked in groups; with the name for supervisors/office privately)."""
    if not is_private(ctx):
        return mask_ticket(number)
    if name and full_data(ctx):
        return f"{number}（{name}）"
    return number


def tickets(ctx: Context, numbers: Iterable[str], names: dict[str, str] | None = None) -> str:
    """Several 准考证号, joined with 、."""
    names = names or {}
    return "、".join(ticket(ctx, n, names.get(n)) for n in numbers)


def hm(ctx: Context, when: datetime) -> str:
    """Local HH:MM."""
    return f"{when.astimezone(ctx.services.settings.tz):%H:%M}"

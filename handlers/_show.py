"""How candidate data is shown: masked in group chats, names only in private chats to supervisors/office."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import Context
from bot.privacy import mask_ticket
from bot.store.tables import Candidate, Report
from handlers._rooms import full_data, is_private


async def names_of(s: AsyncSession, room_ids: Iterable[int]) -> dict[tuple[int, str], str]:
    """Candidate names by (room id, ticket)."""
    ids = list(room_ids)
    if not ids:
        return {}
    rows = (await s.exec(select(Candidate).where(col(Candidate.room_id).in_(ids)))).all()
    return {(c.room_id, c.ticket_no): c.name for c in rows}


async def room_names(s: AsyncSession, room_id: int | None) -> dict[str, str]:
    """Candidate names of one room by ticket (empty without a room)."""
    return {t: n for (_r, t), n in (await names_of(s, [room_id] if room_id else [])).items()}


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


NOTE_HIDDEN = "备注已隐藏，请私聊查看"
TEXT_HIDDEN = "情况说明已隐藏，请私聊查看"


def free_text(ctx: Context, report: Report, text: str, hidden: str = NOTE_HIDDEN) -> str:
    """Text someone typed (a note, an incident description) as this chat may see it.

    In a group only what this very message typed is echoed back; anything written earlier, perhaps in a
    private chat, is hidden (a supervisor's /违纪记录 or /历史 in a group must not republish it).
    """
    if is_private(ctx) or (report.message_id is not None and report.message_id == ctx.message.message_id):
        return text
    return hidden


def hm(ctx: Context, when: datetime) -> str:
    """Local HH:MM."""
    return f"{when.astimezone(ctx.services.settings.tz):%H:%M}"

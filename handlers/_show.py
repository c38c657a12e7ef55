"""How candidate data is shown: masked in group chats, names only in private chats to supervisors/office."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import Context
from bot.privacy import mask_ticket
from bot.store.rooms import seat_key
from bot.store.tables import Candidate, Report
from handlers._rooms import full_data, is_private


async def names_of(s: AsyncSession, room_ids: Iterable[int]) -> dict[tuple[int, str], str]:
    """Candidate names by (room id, ticket)."""
    ids = list(room_ids)
    if not ids:
        return {}
    rows = (await s.exec(select(Candidate).where(col(Candidate.room_id).in_(ids)))).all()
    return {(c.room_id, c.ticket_no): c.name for c in rows}


class Roster(dict[str, str]):
    """One room's candidate names by ticket, and their seats (``seats``: ticket → seat as the roster writes it)."""

    def __init__(self, names: dict[str, str], seats: dict[str, str]) -> None:
        super().__init__(names)
        self.seats = seats


async def room_names(s: AsyncSession, room_id: int | None) -> Roster:
    """Candidate names of one room by ticket, with their seats (empty without a room)."""
    if not room_id:
        return Roster({}, {})
    rows = (await s.exec(select(Candidate).where(col(Candidate.room_id) == room_id))).all()
    seats = {c.ticket_no: key for c in rows if c.seat and (key := seat_key(c.seat))}
    return Roster({c.ticket_no: c.name for c in rows}, seats)


def tickets_named(names: dict[str, str], name: str) -> list[str]:
    """The tickets of a room's candidates called ``name`` (``names``: ticket → name, see room_names)."""
    return [t for t, n in names.items() if n == name]


def twice_on_roster(label: str, name: str, tickets: list[str]) -> str:
    """The refusal of a name two candidates of the room share: the ticket is needed."""
    return f"{label}有 {len(tickets)} 名考生叫{name}（{'、'.join(tickets)}），请写准考证号。"


def not_that_name(name: str, tickets: list[str]) -> str:
    """The refusal of a name beside a ticket or seat that is another candidate's."""
    return f"{name}的准考证号是 {'、'.join(tickets)}，与所写的准考证号或座号不一致，请核对。"


def ticket(ctx: Context, number: str, name: str | None = None, seat: str | None = None) -> str:
    """A 准考证号 as this chat may see it: masked in groups, with the seat when known (a 座号 is no personal data and
    lets the room's staff see whom the report names); with the name for supervisors/office privately."""
    if not is_private(ctx):
        return mask_ticket(number) + (f"（{seat}号座）" if seat else "")
    if name and full_data(ctx):
        return f"{number}（{name}）"
    return number


def tickets(ctx: Context, numbers: Iterable[str], names: dict[str, str] | None = None) -> str:
    """Several 准考证号, joined with 、 (with their seats in groups when ``names`` is a room's Roster)."""
    names = names or {}
    seats = names.seats if isinstance(names, Roster) else {}
    return "、".join(ticket(ctx, n, names.get(n), seats.get(n)) for n in numbers)


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

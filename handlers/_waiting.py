"""What the cards asked someone to confirm and is still open: a 领取 count to check, a serious violation to confirm.

Someone who got such a card and types 收到 means “seen”, and no reminder waits for them; the reply then names
what does, with the typed form (收到 itself confirms nothing: a count is checked by counting).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.rows import T
from bot.dispatch import Context
from bot.model import CONFIRM_STEP, HANDOVER_STEP
from bot.store.papers import handover_checks, is_handout
from bot.store.reports import PapersPayload, ViolationPayload, violation_disputes
from bot.store.tables import Room
from handlers._reports import chain
from handlers.violation_records import confirmations

WINDOW = timedelta(hours=12)  # cards older than this belong to another exam day
_STEPS = (HANDOVER_STEP, CONFIRM_STEP)


async def waiting_for(ctx: Context, s: AsyncSession) -> list[str]:
    """One line per open card sent to the sender within WINDOW, oldest first."""
    return list((await open_cards(ctx, s)).values())


async def open_cards(ctx: Context, s: AsyncSession) -> dict[int, str]:
    """The records the sender's open cards are about (current 编号 → the line naming it and its typed answers)."""
    staff = ctx.staff
    if staff is None or staff.id is None:
        return {}
    q = select(T.c.key).where(T.c.key.like(f"card:%:%:{staff.id}"), T.c.created_at >= ctx.now - WINDOW).order_by(T.c.id)
    subjects: list[tuple[str, int]] = []
    for (key,) in (await (await s.connection()).execute(q)).all():
        parts = str(key).split(":")  # card:<step>:<subject 编号>:<staff id> (handlers/confirm.send_cards)
        if len(parts) != 4:
            continue
        step, sid = parts[1], parts[2]
        if step in _STEPS and sid.isdigit() and (step, int(sid)) not in subjects:
            subjects.append((step, int(sid)))
    lines: dict[int, str] = {}  # by the record's current 编号: a corrected count's two cards are one line
    for step, sid in subjects:
        found = await _open_line(ctx, s, step, sid)
        if found is not None:
            lines.setdefault(*found)
    return lines


async def _open_line(ctx: Context, s: AsyncSession, step: str, sid: int) -> tuple[int, str] | None:
    rows = await chain(s, sid)
    if not rows or rows[-1].revoked:
        return None
    last = rows[-1]
    rid = last.id
    assert rid is not None
    room = await s.get(Room, last.room_id) if last.room_id else None
    label = room.room_no if room else ""
    if step == HANDOVER_STEP:  # the count in force is what is checked (a corrected count waits again)
        if not is_handout(last) or rid in await handover_checks(s, [last]):
            return None
        count = PapersPayload.from_payload(last.payload).count
        answer = f"无误回复“/确认 {rid}”，不符回复“/确认 {rid} 数量不符”"
        return rid, f"编号 {rid}：{label}试卷领取 {count} 份待您核对，{answer}"
    # A violation's card is about its chain's first row, which its /确认 records against.
    if not ViolationPayload.from_payload(last.payload).serious:  # corrected into a minor one: nothing to confirm
        return None
    if await confirmations(s, sid) or sid in await violation_disputes(s, [sid]):
        return None
    return rid, f"编号 {rid}：{label}严重违纪记录待您确认，回复“/确认 {rid}”，有异议回复“/确认 {rid} 有异议”"

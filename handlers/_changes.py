"""Who may see and who may change a report: other rooms' reports, role ranks, confirmed serious violations.

Seeing: the office and the supervisors see every report; anyone else sees the reports of the rooms they are
assigned to and the chains they wrote themselves. To them a report they may not see and a number that does
not exist get one identical sentence, so /确认, /更正, /撤销 and /历史 reveal neither its kind, its room nor
whether it exists. The office and the supervisors keep the precise messages.

Changing (/更正, /撤销): what a higher role wrote is changed only by that role or above (``ROLE_RANK`` in
bot/permissions.py: 监考员/考评员 < 督导 < 考务办公室 < 管理员; a person counts with their highest role, when
writing and when changing). A chain counts with the highest of its rows' authors, of its kind (/认定 and /备注
are the office's) and of the rulings (/认定) on it. A serious violation (``payload["serious"]``: 终止考试,
宣布成绩无效, 替考) that a second person confirmed or the office ruled on, and a confirmation itself, are changed
only by the office; revoking a serious violation or a confirmation alerts the office and the supervisors.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dispatch import Context
from bot.errors import UserFacingError
from bot.permissions import ROLE_RANK, rank_of, ranks_from
from bot.store.reports import RefPayload, ViolationPayload, reports_in_force
from bot.store.tables import Report, Role, Staff
from handlers import _show
from handlers._reports import alert, alerted, chain, root_of
from handlers._rooms import SEES_ALL, RoomNow, duties_of

OFFICE_RANK = ROLE_RANK[Role.OFFICE]
# Kinds only the office writes: whoever wrote them, they count as the office's.
KIND_RANK: dict[str, int] = {"determination": OFFICE_RANK, "note": OFFICE_RANK}


def not_visible(rid: int) -> str:
    """The one sentence for “no such report” and “not a report you may see”."""
    return f"没有找到您可以查看的编号 {rid} 的报告（编号不存在，或不是您负责考场的报告），请核对编号。"


async def _sees(ctx: Context, s: AsyncSession, rows: list[Report]) -> bool:
    if ctx.staff is None:
        return False
    if any(r.staff_id == ctx.staff.id for r in rows):
        return True
    room_id = rows[0].room_id
    return room_id is not None and bool(await duties_of(s, ctx.staff, [room_id]))


async def visible_chain(ctx: Context, s: AsyncSession, rid: int, usage: str) -> list[Report]:
    """Every row of report ``rid``'s chain when the sender may see it; otherwise a refusal (see the module doc)."""
    rows = await chain(s, rid)
    if SEES_ALL(ctx):
        if not rows:
            raise UserFacingError(f"没有编号为 {rid} 的报告，请核对编号。", usage=usage)
        return rows
    if rows and await _sees(ctx, s, rows):
        return rows
    raise UserFacingError(not_visible(rid), usage=usage)


async def _attached(s: AsyncSession, root: int, room_id: int | None) -> list[Report]:
    """Confirmations and rulings in force on the chain starting at ``root``."""
    if room_id is None:
        return []
    rows = await reports_in_force(s, ["confirm", "determination"], [room_id])
    return [r for r in rows if RefPayload.from_payload(r.payload).ref == root]


async def _written_rank(s: AsyncSession, rows: list[Report]) -> int:
    """The highest rank among the rows' authors and kinds."""
    authors = [await s.get(Staff, i) for i in {r.staff_id for r in rows if r.staff_id is not None}]
    by_author = max((rank_of(st.role_set) for st in authors if st is not None), default=0)
    return max(by_author, max((KIND_RANK.get(r.kind, 0) for r in rows), default=0))


def is_serious_violation(rows: list[Report]) -> bool:
    """The chain is a violation recorded as serious in any of its rows."""
    return any(r.kind == "violation" and ViolationPayload.from_payload(r.payload).serious for r in rows)


async def check_change(ctx: Context, s: AsyncSession, rows: list[Report], rid: int, verb: str, usage: str) -> None:
    """Refuse (saying who may) when the sender ranks below what the chain's rows say (see the module doc)."""
    assert ctx.staff is not None
    mine = rank_of(ctx.staff.role_set)
    attached = await _attached(s, root_of(rows[0]), rows[0].room_id)
    if rows[-1].kind == "confirm" and mine < OFFICE_RANK:
        raise UserFacingError(f"编号 {rid} 是严重违纪的双人确认，只有考务办公室可以{verb}。", usage=usage)
    if is_serious_violation(rows) and attached and mine < OFFICE_RANK:
        raise UserFacingError(f"编号 {rid} 是已经确认或认定的严重违纪，只有考务办公室可以{verb}。", usage=usage)
    rulings = [r for r in attached if r.kind == "determination"]
    needed = await _written_rank(s, rows + rulings)
    if mine < needed:
        raise UserFacingError(
            f"编号 {rid} 含有更高权限人员记录的内容，只有{ranks_from(needed)}可以{verb}。", usage=usage
        )


def alerts_on_revoke(rows: list[Report]) -> bool:
    """Revoking this chain tells the office and the supervisors: a serious violation or a confirmation of one."""
    return rows[-1].kind == "confirm" or (rows[-1].kind == "violation" and is_serious_violation(rows))


async def alert_revocation(ctx: Context, where: RoomNow | None, old: Report, row: Report) -> str:
    """Tell the office and the supervisors of a revoked serious violation or confirmation; the reply's addition."""
    place = f"{where.label}（{where.session.code}）" if where else ""
    who = ctx.staff.name if ctx.staff else "?"
    if old.kind == "violation":
        p = ViolationPayload.from_payload(old.payload)
        async with ctx.services.db.read() as s:
            names = await _show.room_names(s, old.room_id)
        cand = f"{p.ticket}（{names[p.ticket]}）" if p.ticket in names else p.ticket
        what = f"严重违纪编号 {old.id}：{cand} {p.type}，现场处理：{p.action or '未填写'}"
    else:
        what = f"违纪编号 {RefPayload.from_payload(old.payload).report} 的双人确认（编号 {old.id}）"
    why = f"，原因：{row.reason}" if row.reason and row.reason != "撤销" else ""
    text = f"【违纪·撤销】{place}{who} 撤销了{what}{why}。撤销记录编号 {row.id}，原记录保留，可用 /历史 {old.id} 查看。"
    # Keyed by the revocation row: a redelivered /撤销 or a retry after a crash adds only the alerts that are missing.
    sent = await alert(ctx, text, key=f"report:{row.id}")
    return f"\n{alerted(sent)}。"

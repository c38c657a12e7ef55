"""Papers reconciliation, read from the reports in force (监考人员守则 4(2)).

Reconciled means: handed out = 答题卡 + 空白 + 损坏, collected = the same, and 答题卡 = 实考 (应考 minus
the room's reported absentees). A collection is checked against the handout and 实考 as they stand
now, not as they were when it was recorded: a later handout, 缺考 report or correction counts. Read by
/试卷, /缺考, /更正, the office's queries and the office board.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.reports import AbsentPayload, PapersPayload, RefPayload, first_audits, reports_in_force
from bot.store.tables import Report, Room


def problems_of(
    collect: PapersPayload, handout: PapersPayload | None, absent: AbsentPayload | None, expected: int
) -> list[str]:
    """What really does not add up in a collection, against the room's current handout and 实考 (in words).

    Only what was reported is compared: a collection without its 答题卡 count, or a room without its 领取
    count, is not a mismatch (see :func:`missing_of`); unknown is not wrong.
    """
    answered, blank, spoiled = collect.answered, collect.blank, collect.spoiled
    total = collect.total
    problems: list[str] = []
    if total is not None and collect.count != total:
        problems.append(f"回收 {collect.count} ≠ 答题卡 {answered} + 空白 {blank} + 损坏 {spoiled}")
    if handout is not None and total is not None and handout.count != total:
        problems.append(f"领取 {handout.count} ≠ 答题卡 {answered} + 空白 {blank} + 损坏 {spoiled}")
    elif handout is not None and total is None and handout.count != collect.count:
        problems.append(f"领取 {handout.count} ≠ 回收 {collect.count}")
    present = present_of(absent, expected)
    if answered is not None and answered != present:
        unreported = "" if absent is not None else "（未报缺考，按应考计）"
        problems.append(f"答题卡 {answered} ≠ 实考 {present}{unreported}")
    return problems


def missing_of(collect: PapersPayload, handout: PapersPayload | None) -> list[str]:
    """The counts a collection still needs before it can be checked in full: 答题卡份数, 领取份数."""
    out = []
    if collect.answered is None and collect.sheets:
        out.append("答题卡份数")
    if handout is None:
        out.append("领取份数")
    return out


def present_of(absent: AbsentPayload | None, expected: int) -> int:
    """实考: from the room's 缺考 report, or 应考 while none is reported."""
    if absent is None or absent.present is None:
        return expected
    return absent.present


def papers_payload(report: Report | None) -> PapersPayload | None:
    """The papers payload of a row, or None without a row."""
    return PapersPayload.from_payload(report.payload) if report is not None else None


def absent_payload(report: Report | None) -> AbsentPayload | None:
    """The 缺考 payload of a row, or None without a row."""
    return AbsentPayload.from_payload(report.payload) if report is not None else None


@dataclass(frozen=True)
class Reconciliation:
    """A room's current collection and what does not add up in it now."""

    collect: Report
    problems: tuple[str, ...]
    missing: tuple[str, ...] = ()  # counts still to report before the check is complete (see missing_of)

    @property
    def reconciled(self) -> bool:
        """Everything adds up."""
        return not self.problems


def split_papers(rows: list[Report]) -> tuple[dict[int, Report], dict[int, Report]]:
    """The latest handout and collection per room id among ``rows`` (reports in force, oldest first)."""
    handout: dict[int, Report] = {}
    collect: dict[int, Report] = {}
    for r in rows:
        if r.room_id is not None and r.kind == "papers":
            (handout if PapersPayload.from_payload(r.payload).is_handout else collect)[r.room_id] = r
    return handout, collect


async def reconcile(s: AsyncSession, room: Room) -> Reconciliation | None:
    """The room's collection checked against its current handout and 实考 (None before the collection)."""
    assert room.id is not None
    rows = await reports_in_force(s, ["papers", "absent"], [room.id])
    handout, collect = split_papers(rows)
    c = collect.get(room.id)
    if c is None:
        return None
    absent = [r for r in rows if r.kind == "absent"]
    last_absent = absent[-1] if absent else None
    collected = PapersPayload.from_payload(c.payload)
    h = papers_payload(handout.get(room.id))
    problems = problems_of(collected, h, absent_payload(last_absent), room.expected)
    return Reconciliation(c, tuple(problems), tuple(missing_of(collected, h)))


async def closed_roots(s: AsyncSession, room_ids: list[int]) -> set[int]:
    """Collections closed by an office note (/备注), by the first row's id of their chain."""
    notes = [RefPayload.from_payload(r.payload) for r in await reports_in_force(s, ["note"], room_ids)]
    return {n.ref for n in notes if n.closes}


async def absent_by_room(s: AsyncSession, room_ids: list[int]) -> dict[int, Report]:
    """The latest 缺考 report in force per room id."""
    return {r.room_id: r for r in await reports_in_force(s, ["absent"], room_ids) if r.room_id is not None}


@dataclass
class PapersState:
    """Each room's current handout and collection, its latest 缺考 report, and the office's closing notes."""

    handout: dict[int, Report]
    collect: dict[int, Report]
    absent: dict[int, Report]
    closed: set[int]

    def status(self, room: Room) -> tuple[int, str]:
        """(sort rank, words): not reconciled first, then not collected, then done."""
        rid = room.id or 0
        h, c = self.handout.get(rid), self.collect.get(rid)
        if c is None:
            return (1, "未回收" if h else "未报领取")
        collected = PapersPayload.from_payload(c.payload)
        problems = problems_of(collected, papers_payload(h), absent_payload(self.absent.get(rid)), room.expected)
        missing = missing_of(collected, papers_payload(h))
        if not problems and missing:
            return (1, "待补报" + "、".join(missing))
        if not problems:
            return (2, "已核对")
        if int(c.payload.get("root", c.id or 0)) in self.closed:
            return (2, "不符，办公室已备注关闭")
        return (0, "核对不符：" + "；".join(problems))


async def papers_state(s: AsyncSession, room_ids: list[int]) -> PapersState:
    """Each room's current papers, 缺考 report and closing notes (the queries and the office board)."""
    handout, collect = split_papers(await reports_in_force(s, ["papers"], room_ids))
    return PapersState(handout, collect, await absent_by_room(s, room_ids), await closed_roots(s, room_ids))


HANDOVER_ENTITY = "papers_handover"  # audit entity of a 领取 count checked by the other invigilator (handlers/confirm)


def is_handout(report: Report) -> bool:
    """A 领取 count (the papers report the other invigilator checks)."""
    return report.kind == "papers" and PapersPayload.from_payload(report.payload).is_handout


async def handover_checks(s: AsyncSession, handouts: Iterable[Report]) -> dict[int, tuple[str, str, object]]:
    """The other invigilator's check of each of these 领取 reports: report id -> (action, by, at); the first counts."""
    found = await first_audits(s, HANDOVER_ENTITY, [r.id for r in handouts if r.id is not None])
    return {rid: (row.action, (row.detail or {}).get("by", "?"), row.at) for rid, row in found.items()}


def handover_words(check: tuple[str, str, object] | None, tz: object) -> str:
    """“李强 核对✓ 08:41”, “李强：数量不符” or “待第二人核对”."""
    if check is None:
        return "待第二人核对"
    action, by, at = check
    if action == "confirm":
        return f"{by} 核对✓ {at.astimezone(tz):%H:%M}"  # type: ignore[attr-defined]
    return f"{by}：数量不符"

"""Conflicts of interest: a declared relation (亲属 / 师生 / 师徒) between someone on duty and a candidate of the
same session is an error (考评人员管理办法 第七条（四）回避制度)."""

from __future__ import annotations

from bot.checks.finding import AVOIDANCE, Finding, error
from bot.checks.snapshot import Snapshot, day_words
from bot.store.tables import ExamSession, duty_label

RELATIONS = ("亲属", "师生", "师徒", "其他利益关系")


def check_conflicts(snap: Snapshot) -> list[Finding]:
    """Every person on duty in a session against every candidate of the session (by 准考证号, else by name)."""
    by_session: dict[int, tuple[ExamSession, list[tuple[str, str]], list[tuple[str, int]]]] = {}
    for view in snap.rooms:
        sid = view.session.id or 0
        _, candidates, staff = by_session.setdefault(sid, (view.session, [], []))
        candidates += view.candidates
        for person, duty in view.people:
            if person.id is not None and person.id in snap.relations:
                who = f"{person.name}（{duty_label(duty, view.session.kind)}，{view.room.room_no}）"
                staff.append((who, person.id))
    out: list[Finding] = []
    for session, candidates, staff in by_session.values():
        for who, staff_id in staff:
            for rel in snap.relations[staff_id]:
                for ticket, name in candidates:
                    if rel.candidate in (ticket, name):
                        out.append(
                            error(
                                f"{who}与{day_words(session.day)} {session.code}的考生 {ticket} {name} "
                                f"有{rel.relation}关系，应当回避",
                                AVOIDANCE,
                            )
                        )
    return out

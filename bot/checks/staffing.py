"""Who must be in a room: two invigilators (one chief, one deputy) in a standard room; evaluators with one 考评组长
in a practical room."""

from __future__ import annotations

from bot.checks.finding import EVALUATION_GROUP, STANDARD_ROOM, Finding, error
from bot.checks.snapshot import RoomView, Snapshot, is_evaluation
from bot.store.tables import Duty


def _count(view: RoomView, duty: Duty) -> int:
    return sum(1 for _, d in view.people if d is duty)


def check_staffing(snap: Snapshot) -> list[Finding]:
    """A standard room has exactly one 主监考 and one 副监考; an evaluation room has evaluators and one 考评组长."""
    out: list[Finding] = []
    for view in snap.rooms:
        chiefs = _count(view, Duty.CHIEF)
        if is_evaluation(view.session):
            if not view.evaluators():
                out.append(error(f"{view.label}（实操）没有安排考评员", EVALUATION_GROUP))
            elif chiefs != 1:
                out.append(error(f"{view.label}（实操）应有 1 名考评组长，现有 {chiefs} 名", EVALUATION_GROUP))
            continue
        deputies = _count(view, Duty.DEPUTY)
        if (chiefs, deputies) != (1, 1):
            out.append(
                error(
                    f"{view.label}应配备 2 名监考人员（主监考、副监考各 1 名），"
                    f"现有主监考 {chiefs} 名、副监考 {deputies} 名",
                    STANDARD_ROOM,
                )
            )
    return out

"""Certificates (考评员证) on the exam day: valid 3 years; a card more than a year past its end means the person has
given up the qualification (考评人员管理办法 第三条)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from bot.checks.finding import CERTIFICATE, Finding, error, warning
from bot.checks.snapshot import Snapshot, day_words
from bot.store.tables import Duty
from scheduler.digest import cert_expiry

WARN_DAYS = 60  # a card ending within this many days after the exam: renew it (the digest's reminder uses 60 too)


def _year_after(d: date) -> date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year + 1, day=28)


def _ymd(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def certificate_finding(name: str, issued: date, on: date, where: str) -> Finding | None:
    """The finding for a card issued on ``issued`` used on ``on`` (in ``where``), or None when it is fine.

    ``cert_expiry`` is the first day the card is no longer valid, so a card ending on the exam day is expired.
    """
    ends = cert_expiry(issued)
    if on >= _year_after(ends):
        return error(
            f"{name} 的考评员证已于{_ymd(ends)}到期，逾期一年或以上未参加换证培训，视为自动放弃考评人员资格，"
            f"不能安排在{where}",
            CERTIFICATE,
        )
    if on >= ends:
        return error(f"{name} 的考评员证已于{_ymd(ends)}到期，{where}时证卡已失效，须先参加换证培训", CERTIFICATE)
    left = (ends - on).days
    if left <= WARN_DAYS:
        return warning(
            f"{name} 的考评员证将于{_ymd(ends)}到期（考试日后 {left} 天），安排在{where}，请尽快参加换证培训",
            CERTIFICATE,
        )
    return None


def check_certificates(snap: Snapshot) -> list[Finding]:
    """Each person on duty (督导 aside) whose card is known: expired, given up, or ending soon, per exam day."""
    rooms: dict[tuple[int, date], list[str]] = defaultdict(list)
    people = {}
    for view in snap.rooms:
        for person, duty in view.people:
            if duty is Duty.SUPERVISOR or person.cert_issued is None or person.id is None:
                continue
            people[person.id] = person
            rooms[(person.id, view.session.day)].append(f"{view.session.code} {view.room.room_no}")
    out: list[Finding] = []
    for (staff_id, on), where in rooms.items():
        person = people[staff_id]
        assert person.cert_issued is not None
        found = certificate_finding(person.name, person.cert_issued, on, f"{day_words(on)} {'、'.join(where)}")
        if found is not None:
            out.append(found)
    return out

"""Each rule on snapshots built in memory: pass, fail and the boundaries the regulations name."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.checks.booking import check_booking
from bot.checks.certificates import certificate_finding, check_certificates
from bot.checks.conflicts import check_conflicts
from bot.checks.defense import check_defense_panels, score_defense
from bot.checks.rotation import changed_enough, check_rotation
from bot.checks.staffing import check_staffing
from bot.store.tables import ConflictRelation, Duty, SessionKind
from tests.checks._build import DAY, T0, A, B, C, D, person, room, session, snap

PRACTICAL = SessionKind.PRACTICAL


# ------------------------------------------------------------------ staffing (监考人员守则 1, 第七条（四）)


def test_standard_room_with_chief_and_deputy_passes() -> None:
    """One 主监考 and one 副监考: nothing found."""
    assert check_staffing(snap(room(session(), "第1考场", [(A, Duty.CHIEF), (B, Duty.DEPUTY)]))) == []


@pytest.mark.parametrize(
    ("people", "counts"),
    [
        ([(A, Duty.CHIEF)], "主监考 1 名、副监考 0 名"),
        ([(A, Duty.CHIEF), (B, Duty.CHIEF)], "主监考 2 名、副监考 0 名"),
        ([(A, Duty.CHIEF), (B, Duty.DEPUTY), (C, Duty.DEPUTY)], "主监考 1 名、副监考 2 名"),
        ([], "主监考 0 名、副监考 0 名"),
    ],
)
def test_standard_room_without_exactly_two_is_an_error(people: list[tuple[object, Duty]], counts: str) -> None:
    """A standard room needs exactly one chief and one deputy; the finding cites 监考人员守则 1."""
    (f,) = check_staffing(snap(room(session(), "第1考场", people)))  # type: ignore[arg-type]
    assert f.level == "error" and counts in f.text and f.clause == "监考人员守则 1"


def test_supervisor_does_not_count_as_invigilator() -> None:
    """A 督导 beside a lone chief does not make the room complete."""
    (f,) = check_staffing(snap(room(session(), "第1考场", [(A, Duty.CHIEF), (B, Duty.SUPERVISOR)])))
    assert "副监考 0 名" in f.text


def test_practical_room_with_leader_and_evaluators_passes() -> None:
    """A practical room: one 考评组长 and 考评员."""
    view = room(session(kind=PRACTICAL), "第3考场", [(A, Duty.CHIEF), (B, Duty.EVALUATOR), (C, Duty.EVALUATOR)])
    assert check_staffing(snap(view)) == []


@pytest.mark.parametrize(
    ("people", "words"),
    [
        ([], "没有安排考评员"),
        ([(B, Duty.EVALUATOR), (C, Duty.EVALUATOR)], "应有 1 名考评组长，现有 0 名"),
        ([(A, Duty.CHIEF), (B, Duty.CHIEF)], "应有 1 名考评组长，现有 2 名"),
    ],
)
def test_practical_room_without_one_leader_is_an_error(people: list[tuple[object, Duty]], words: str) -> None:
    """No evaluators, or not exactly one 考评组长: an error citing 第七条（四）."""
    (f,) = check_staffing(snap(room(session(kind=PRACTICAL), "第3考场", people)))  # type: ignore[arg-type]
    assert f.level == "error" and words in f.text and "第七条（四）" in f.clause


# ------------------------------------------------------------------ certificates (第三条)


def _issued_for_expiry(ends: date) -> date:
    return ends.replace(year=ends.year - 3)


@pytest.mark.parametrize(
    ("ends", "level", "words"),
    [
        (DAY + timedelta(days=61), None, None),
        (DAY + timedelta(days=60), "warning", "考试日后 60 天"),
        (DAY + timedelta(days=1), "warning", "考试日后 1 天"),
        (DAY, "error", "证卡已失效"),  # a card ending on the exam day is no longer valid that day
        (DAY - timedelta(days=1), "error", "证卡已失效"),
        (date(2025, 12, 6), "error", "证卡已失效"),  # a year less a day past: expired, not given up
        (date(2025, 12, 5), "error", "视为自动放弃考评人员资格"),  # exactly one year past: 一年或以上
        (date(2023, 1, 1), "error", "视为自动放弃考评人员资格"),
    ],
)
def test_certificate_on_the_exam_day(ends: date, level: str | None, words: str | None) -> None:
    """Valid, ending within 60 days, ending on the exam day, one year past its end (第三条)."""
    found = certificate_finding("朱志", _issued_for_expiry(ends), DAY, "12月5日 第2场 第3考场")
    if level is None:
        assert found is None
    else:
        assert found is not None and found.level == level and words in found.text
        assert found.clause == "考评人员管理办法 第三条"


def test_certificates_of_the_people_on_duty() -> None:
    """One finding per person and day naming every room; a 督导's card and an unknown card are not judged."""
    s2 = session(2, code="第2场", start=T0 + timedelta(hours=3))
    expired = person(9, "朱志", date(2023, 5, 12))
    sup = person(10, "孙丽", date(2020, 1, 1))
    found = check_certificates(
        snap(
            room(session(), "第1考场", [(expired, Duty.CHIEF), (B, Duty.DEPUTY), (sup, Duty.SUPERVISOR)]),
            room(s2, "第2考场", [(expired, Duty.CHIEF), (C, Duty.DEPUTY)]),
        )
    )
    assert len(found) == 1 and "第1场 第1考场、第2场 第2考场" in found[0].text and "朱志" in found[0].text


# ------------------------------------------------------------------ 回避 (第七条（四）)


def _rel(staff_id: int, who: str, relation: str = "亲属") -> ConflictRelation:
    return ConflictRelation(staff_id=staff_id, candidate=who, relation=relation, created_at=T0)


def test_declared_relation_with_a_candidate_of_the_session_is_an_error() -> None:
    """By 准考证号 in another room of the same session, and by name: each an error citing 回避."""
    s = session(kind=PRACTICAL)
    rooms = (
        room(s, "第3考场", [(A, Duty.CHIEF), (B, Duty.EVALUATOR)], candidates=[("2026000001", "王五")]),
        room(s, "第4考场", [(C, Duty.CHIEF), (D, Duty.EVALUATOR)], candidates=[("2026000003", "张三")]),
    )
    relations = {1: [_rel(1, "2026000003", "师生")], 4: [_rel(4, "王五")]}
    found = check_conflicts(snap(*rooms, relations=relations))
    assert [f.level for f in found] == ["error", "error"]
    assert "唐玉英（考评组长，第3考场）" in found[0].text and "2026000003 张三 有师生关系" in found[0].text
    assert "向军明" in found[1].text and "王五 有亲属关系" in found[1].text
    assert all(f.clause.endswith("回避制度") for f in found)


def test_relation_with_a_candidate_of_another_session_is_fine() -> None:
    """The candidate sits another session: nothing to avoid."""
    other = session(2, code="第2场", start=T0 + timedelta(hours=3))
    rooms = (
        room(session(), "第1考场", [(A, Duty.CHIEF), (B, Duty.DEPUTY)]),
        room(other, "第2考场", [(C, Duty.CHIEF), (D, Duty.DEPUTY)], candidates=[("2026000003", "张三")]),
    )
    assert check_conflicts(snap(*rooms, relations={1: [_rel(1, "2026000003")]})) == []


# ------------------------------------------------------------------ double booking


def test_person_in_two_rooms_at_overlapping_times_is_an_error() -> None:
    """Overlapping by a minute is overlapping; back to back is fine."""
    s2 = session(2, code="第2场", start=T0 + timedelta(minutes=89))
    s3 = session(3, code="第3场", start=T0 + timedelta(minutes=90))
    found = check_booking(
        snap(
            room(session(), "第1考场", [(A, Duty.CHIEF), (B, Duty.DEPUTY)], rid=1),
            room(s2, "第2考场", [(A, Duty.CHIEF), (C, Duty.DEPUTY)], rid=2),
            room(s3, "第3考场", [(B, Duty.CHIEF), (D, Duty.DEPUTY)], rid=3),
        )
    )
    assert len(found) == 1 and found[0].level == "error"
    assert "唐玉英 同时被安排在 12月5日 第1场 第1考场 和 12月5日 第2场 第2考场" in found[0].text


def test_supervisor_may_watch_rooms_at_once() -> None:
    """A 督导 goes from room to room: not double booked."""
    found = check_booking(
        snap(
            room(session(), "第1考场", [(A, Duty.CHIEF), (B, Duty.DEPUTY), (D, Duty.SUPERVISOR)]),
            room(session(), "第2考场", [(C, Duty.CHIEF), (D, Duty.SUPERVISOR)]),
        )
    )
    assert found == []


def test_two_rooms_in_one_place_at_once_is_a_warning() -> None:
    """Same 考试地点 (spaces ignored) at overlapping times: a warning; at another time: nothing."""
    later = session(3, code="第3场", start=T0 + timedelta(hours=5))
    found = check_booking(
        snap(
            room(session(), "第1考场", [], location="实训楼401"),
            room(session(), "第2考场", [], location="实训楼 401"),
            room(later, "第5考场", [], location="实训楼401"),
        )
    )
    assert [(f.level, "都在 实训楼401" in f.text) for f in found] == [("warning", True)]


@pytest.mark.parametrize(("listed", "expected", "warned"), [(30, 30, False), (31, 30, True), (5, 0, False)])
def test_roster_larger_than_expected_is_a_warning(listed: int, expected: int, warned: bool) -> None:
    """More candidates than 应考: a warning; as many: nothing; no 应考 given: not compared."""
    cands = [(f"2026{i:06d}", "考生") for i in range(listed)]
    found = check_booking(snap(room(session(), "第1考场", [], expected=expected, candidates=cands)))
    assert bool(found) is warned
    if warned:
        assert found[0].level == "warning" and "31 人，多于应考人数 30 人" in found[0].text


# ------------------------------------------------------------------ rotation (第七条（四）)


@pytest.mark.parametrize(("new", "size", "ok"), [(1, 3, True), (2, 6, True), (1, 4, False), (0, 3, False)])
def test_change_of_a_third(new: int, size: int, ok: bool) -> None:
    """At least a third of the panel new; exactly a third is enough."""
    previous = set(range(100, 100 + size - new)) | {900}
    panel = set(range(100, 100 + size - new)) | set(range(200, 200 + new))
    assert changed_enough(panel, previous) is ok


def _evaluation_days(panels: list[set[int]]) -> tuple[dict[str, dict[date, set[int]]], date]:
    days = [DAY - timedelta(days=7 * (len(panels) - 1 - i)) for i in range(len(panels))]
    return {"电工": dict(zip(days, panels, strict=True))}, days[-1]


def _rotation(panels: list[set[int]]) -> list[str]:
    by_day, last = _evaluation_days(panels)
    people = [(p, Duty.EVALUATOR) for p in (A, B, C, D) if p.id in by_day["电工"][last]]
    view = room(session(kind=PRACTICAL, day=last), "第3考场", people)
    names = {p.id: p.name for p in (A, B, C, D) if p.id is not None}
    return [f.text for f in check_rotation(snap(view, panels=by_day, names=names))]


def test_exactly_three_consecutive_assignments_pass() -> None:
    """唐玉英 on the last three panels (this one included), the panels rotating a third: nothing."""
    assert _rotation([{2, 3, 4}, {1, 3, 4}, {1, 2, 4}, {1, 2, 3}]) == []


def test_fourth_consecutive_assignment_is_flagged() -> None:
    """On four panels in a row: flagged as the fourth time (连续不能超过三次)."""
    texts = _rotation([{1, 2, 4}, {1, 3, 4}, {1, 2, 4}, {1, 2, 3}])
    assert any("唐玉英" in t and "连续第 4 次" in t for t in texts)


def test_panel_unchanged_against_the_previous_time_is_flagged() -> None:
    """The same panel as last time: less than a third rotated."""
    texts = _rotation([{1, 2, 3}, {1, 2, 3}])
    assert texts == ["12月5日 电工的考评人员与上一次（11月28日）相比只轮换了 0/3 人，少于三分之一"]


def test_first_time_has_nothing_to_compare() -> None:
    """No previous panel of the occupation: nothing flagged."""
    assert _rotation([{1, 2, 3}]) == []


# ------------------------------------------------------------------ 答辩 (第七条（九）)


def _defense_room(seniors: set[tuple[int, str]]) -> list[str]:
    s = session(kind=PRACTICAL, code="第5场答辩", level="二级/技师")
    view = room(s, "第9考场", [(A, Duty.CHIEF), (B, Duty.EVALUATOR), (C, Duty.EVALUATOR), (D, Duty.SUPERVISOR)])
    return [f.text for f in check_defense_panels(snap(view, seniors=seniors))]


def test_defense_panel_of_three_seniors_passes() -> None:
    """Three senior evaluators of the occupation on the panel."""
    assert _defense_room({(1, "电工"), (2, "电工"), (3, "电工")}) == []


def test_defense_panel_with_two_seniors_is_an_error() -> None:
    """Two seniors of the occupation (a senior of another occupation and a 督导 do not count)."""
    (text,) = _defense_room({(1, "电工"), (2, "电工"), (3, "焊工"), (4, "电工")})
    assert "只有 2 名电工高级考评员（唐玉英、孟雪涛），至少需要 3 名" in text


def test_only_defense_sessions_need_seniors() -> None:
    """An ordinary practical session is not a 答辩."""
    view = room(session(kind=PRACTICAL), "第3考场", [(A, Duty.CHIEF), (B, Duty.EVALUATOR)])
    assert check_defense_panels(snap(view)) == []


def _scores(*xs: str) -> list[Decimal]:
    return [Decimal(x) for x in xs]


@pytest.mark.parametrize(
    ("scores", "passed", "words"),
    [
        (("60", "70", "50"), True, "2/3 名考评员打分≥60"),  # exactly two thirds, a mean of exactly 60
        (("90", "59", "59"), False, "1/3 名考评员打分≥60（需≥三分之二）：不满足"),  # mean 69.33, too few ≥60
        (("60", "60", "59.97"), False, "平均分 179.97÷3=59.99（需≥60）：不满足"),  # all but one high, mean below
        (("60", "60", "60", "60", "30", "30"), False, "4/6"),  # exactly two thirds, mean 50
        (("75", "70", "65", "59", "60", "61"), True, "5/6"),
        (("60", "60", "60"), True, "平均分 180÷3=60（需≥60）：满足"),
    ],
)
def test_defense_scoring(scores: tuple[str, ...], passed: bool, words: str) -> None:
    """Pass when two thirds or more scored 60+ and the mean is 60+; the computation is shown."""
    result = score_defense(_scores(*scores))
    assert result.passed is passed
    text = result.explain()
    assert words in text and ("答辩成绩：合格" if passed else "答辩成绩：不合格") in text


@pytest.mark.parametrize(("scores", "words"), [(("80", "80"), "至少 3 名"), (("80", "80", "101"), "0–100")])
def test_defense_scoring_refuses(scores: tuple[str, ...], words: str) -> None:
    """Fewer than three scores, or a score out of 0–100."""
    with pytest.raises(ValueError, match=words):
        score_defense(_scores(*scores))

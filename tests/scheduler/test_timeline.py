"""The timeline as data and compute_reminders as a pure function, in several time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import SERVICES, create_app
from bot.settings import Settings, load_settings
from bot.store.tables import ExamSession, SessionKind
from scheduler.reminders import RoomPlan, StaffRef, compute_reminders
from scheduler.timeline import DEFAULT_TIMELINE, Audience, TimelineError, load_timeline, parse_timeline

GROUP = {"type": "group", "channel": "console", "chat_id": "console:第1考场", "webhook": None, "secret": None}
ROOM = RoomPlan(
    id=11,
    room_no="第1考场",
    location="实训楼302",
    expected=30,
    group=GROUP,
    chiefs=(StaffRef(1, "王芳"),),
    deputies=(StaffRef(2, "李强"),),
    staff=(StaffRef(1, "王芳"), StaffRef(2, "李强")),
)
OFFICE = (StaffRef(9, "钱进"),)
# 09:00-10:30 in Shanghai is 01:00-02:30 UTC.
START_UTC = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


def _session(kind: SessionKind, tz: ZoneInfo) -> ExamSession:
    start = START_UTC.astimezone(tz)
    return ExamSession(
        id=5,
        code="2026-12-05-理论",
        occupation="电工",
        level="四级",
        kind=kind,
        day=date(2026, 12, 5),
        starts_at=start,
        ends_at=start + timedelta(minutes=90),
    )


ZONES = ["UTC", "Asia/Shanghai", "America/Los_Angeles", "Pacific/Kiritimati"]


@pytest.mark.parametrize("zone", ZONES)
def test_theory_steps_fall_at_the_regulation_offsets_whatever_the_zone_of_the_input(zone: str) -> None:
    """The same instant given in any zone yields the same due instants and Shanghai wall times in the text."""
    tz = ZoneInfo(zone)
    planned = compute_reminders(_session(SessionKind.THEORY, tz), [ROOM], START_UTC - timedelta(hours=2), office=OFFICE)
    reminders = [m for m in planned if m.kind == "reminder"]
    offsets = sorted(
        {(m.step, int((m.due_at - START_UTC).total_seconds() // 60)) for m in reminders}, key=lambda x: x[1]
    )
    assert offsets == [
        ("meeting", -40),
        ("papers_pickup", -30),
        ("seating", -15),
        ("notice", -10),
        ("open_papers", -5),
        ("start", 0),
        ("late_entry", 30),
        ("end_warning", 75),
        ("stop", 90),
        ("seal", 100),
    ]
    texts = {m.step: m.text for m in reminders}
    assert texts["papers_pickup"].startswith("【12月05日 08:30·领取试卷】")
    assert "（依据：监考人员守则 2.(3)；试卷管理制度 5.）" in texts["papers_pickup"]
    assert "检查试卷袋是否密封" in texts["papers_pickup"]  # 试卷管理制度 5
    assert "/缺考" in texts["late_entry"] and "/试卷 回收" in texts["stop"]
    assert "回复“收到”" in texts["open_papers"] and "回复“收到”" not in texts["seating"]
    assert all(m.due_at.utcoffset() is not None for m in planned)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
def test_exam_zone_setting_decides_the_wall_times_shown(zone: str) -> None:
    """Texts show the exam zone's wall time; due instants do not depend on it."""
    planned = compute_reminders(
        _session(SessionKind.THEORY, ZoneInfo("UTC")), [ROOM], START_UTC - timedelta(hours=2), tz=ZoneInfo(zone)
    )
    start = next(m for m in planned if m.step == "start" and m.kind == "reminder")
    assert start.due_at == START_UTC
    assert start.text.startswith("【12月05日 09:00" if zone == "Asia/Shanghai" else "【12月05日 01:00")


def test_audiences_resolve_to_group_people_and_office() -> None:
    """The meeting goes to each staff member privately, room steps to the group, escalations to the office."""
    planned = compute_reminders(
        _session(SessionKind.THEORY, ZoneInfo("UTC")), [ROOM], START_UTC - timedelta(hours=2), office=OFFICE
    )
    meeting = [m for m in planned if m.step == "meeting"]
    assert {m.target["staff_id"] for m in meeting} == {1, 2}
    assert {m.target_key for m in planned if m.step == "start"} == {"group:console:第1考场"}
    office = [m for m in planned if m.kind == "ack_office"]
    assert office and {m.target["staff_id"] for m in office} == {9}
    nudges = [m for m in planned if m.kind == "ack_nudge"]
    assert {m.target["staff_id"] for m in nudges} == {1}
    assert {m.step for m in nudges} == {"papers_pickup", "open_papers", "late_entry", "stop"}
    follow = [m for m in planned if m.kind.startswith("follow")]
    assert {(m.step, int((m.due_at - START_UTC).total_seconds() // 60)) for m in follow} == {
        ("late_entry", 40),
        ("late_entry", 50),
        ("stop", 100),
        ("stop", 110),
    }
    assert len({m.key for m in planned}) == len(planned)


def test_room_without_group_gets_group_steps_privately() -> None:
    """A room with neither group chat nor robot gets its group steps sent to each of its staff."""
    room = RoomPlan(id=12, room_no="第9考场", staff=(StaffRef(3, "赵敏"),), chiefs=(StaffRef(3, "赵敏"),))
    planned = compute_reminders(_session(SessionKind.THEORY, ZoneInfo("UTC")), [room], START_UTC - timedelta(hours=2))
    assert {m.target_key for m in planned if m.step == "start"} == {"staff:3"}


def test_practical_timeline_and_lateness_policies() -> None:
    """Practical: check-in -15, safety -10, +5 late cut-off, each with a 5-minute grace; none after the start."""
    planned = compute_reminders(
        _session(SessionKind.PRACTICAL, ZoneInfo("UTC")), [ROOM], START_UTC - timedelta(hours=2), office=OFFICE
    )
    r = {m.step: m for m in planned if m.kind == "reminder"}
    assert list(r) == ["papers_pickup", "checkin", "safety", "start", "late_cutoff", "stop", "cleanup"]
    assert r["papers_pickup"].due_at == START_UTC - timedelta(minutes=30)  # 试卷管理制度 5
    assert "检查试卷袋是否密封" in r["papers_pickup"].text
    assert r["start"].due_at == START_UTC and "统一发号指令" in r["start"].text  # 实际操作考核考场规则 4
    assert "实际操作考核考场规则 4." in r["start"].text
    assert r["checkin"].expires_at == START_UTC - timedelta(minutes=10)
    assert r["safety"].expires_at == START_UTC - timedelta(minutes=5)
    assert r["stop"].expires_at == START_UTC + timedelta(minutes=95)
    assert r["late_cutoff"].expires_at == START_UTC + timedelta(minutes=10)  # +5 and the 5-minute grace
    assert "实际操作考核考场规则 2." in r["late_cutoff"].text


def test_practical_rooms_address_the_evaluator_lead_not_a_chief_invigilator() -> None:
    """Acknowledgements in a practical room are asked of the 考评组长; theory rooms keep the 主监考."""
    for kind, lead in ((SessionKind.PRACTICAL, "考评组长"), (SessionKind.THEORY, "主监考")):
        planned = compute_reminders(
            _session(kind, ZoneInfo("UTC")), [ROOM], START_UTC - timedelta(hours=2), office=OFFICE
        )
        asks = [
            m.text
            for m in planned
            if m.kind in ("reminder", "ack_nudge", "ack_office") and ("回复“收到”" in m.text or m.kind == "ack_office")
        ]
        assert asks and all(lead in t for t in asks), kind
        other = "主监考" if lead == "考评组长" else "考评组长"
        assert not any(other in m.text for m in planned), kind


def test_computer_open_papers_step_mentions_the_computers() -> None:
    """Computer exams: the -5 step also asks to check the computers (2(6))."""
    planned = compute_reminders(_session(SessionKind.COMPUTER, ZoneInfo("UTC")), [ROOM], START_UTC - timedelta(hours=2))
    [m] = [m for m in planned if m.step == "open_papers" and m.kind == "reminder"]
    assert "检查计算机" in m.text and "查看计算机能否正常使用" in m.text


def test_planning_late_leaves_out_what_can_no_longer_be_useful() -> None:
    """Planned at the start, pre-start steps and their acknowledgements are left out; later ones stay."""
    planned = compute_reminders(
        _session(SessionKind.THEORY, ZoneInfo("UTC")), [ROOM], START_UTC + timedelta(seconds=1), office=OFFICE
    )
    steps = {m.step for m in planned}
    assert "open_papers" not in steps and "papers_pickup" not in steps
    assert {"start", "late_entry", "stop"} <= steps


def test_naive_times_are_refused() -> None:
    """A naive 'now' is a bug (8 hours late in a UTC container): refused."""
    with pytest.raises(ValueError):
        compute_reminders(_session(SessionKind.THEORY, ZoneInfo("UTC")), [ROOM], datetime(2026, 12, 5, 8, 0))  # noqa: DTZ001


def test_toml_override_changes_adds_and_removes_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EXAMBOT_TIMELINE_FILE changes a default step, removes one and adds one; the others stay as defaults."""
    f = tmp_path / "timeline.toml"
    f.write_text(
        """
[theory]
[[theory.steps]]
id = "meeting"
offset_minutes = -45
audience = ["chief", "office"]

[[theory.steps]]
id = "seal"
enabled = false

[[theory.steps]]
id = "water"
title = "检查饮水"
anchor = "start"
offset_minutes = -20
audience = "group"
text = "{room}：请检查考场饮水。"
clause = "本中心补充规定 1"
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("EXAMBOT_TIMELINE_FILE", str(f))
    tl = load_timeline(load_settings().timeline_file)
    steps = {s.id: s for s in tl[SessionKind.THEORY]}
    assert "seal" not in steps
    assert steps["meeting"].offset == timedelta(minutes=-45)
    assert steps["meeting"].audiences == (Audience.CHIEF, Audience.OFFICE)
    assert steps["meeting"].clause == "监考人员守则 2.(2)"
    assert steps["water"].clause == "本中心补充规定 1"
    assert [s.id for s in tl[SessionKind.THEORY]][:3] == ["meeting", "papers_pickup", "water"]
    assert tl[SessionKind.PRACTICAL] == DEFAULT_TIMELINE[SessionKind.PRACTICAL]


@pytest.mark.parametrize(
    "doc, fragment",
    [
        ({"exam": {}}, "未知考试类型"),
        ({"theory": {"steps": [{"id": "meeting", "colour": "red"}]}}, "未知字段"),
        ({"theory": {"steps": [{"id": "new", "text": "x"}]}}, "缺少字段"),
        ({"theory": {"steps": [{"id": "meeting", "text": "{nope}"}]}}, "未知占位符"),
        ({"theory": {"steps": [{"id": "meeting", "audience": ["everyone"]}]}}, "everyone"),
    ],
)
def test_bad_override_is_refused_with_a_reason(doc: dict, fragment: str) -> None:
    """A wrong timeline file names the problem instead of silently sending wrong reminders."""
    with pytest.raises(TimelineError, match=fragment):
        parse_timeline(doc)


def test_every_step_cites_a_real_clause_of_the_knowledge_base() -> None:
    """Each default step's clause (and the certificate reminder's) is a document title and number the KB really has."""
    from knowledge.loader import load_documents
    from scheduler.digest import CERT_CLAUSE
    from scheduler.timeline import clause_refs

    known = {(d.title, c.clause) for d in load_documents() for c in d.clauses}
    cited = [(kind, s.id, s.clause) for kind, steps in DEFAULT_TIMELINE.items() for s in steps]
    cited.append((None, "certificate", CERT_CLAUSE))
    for kind, step, clause in cited:
        refs = clause_refs(clause)
        assert refs, (kind, step, clause)
        for ref in refs:
            assert ref in known, (kind, step, ref)
    practical = {s.id: s for s in DEFAULT_TIMELINE[SessionKind.PRACTICAL]}
    # The 着装 check of the safety briefing comes from 考场规则 3., the briefing itself from 安全规则 4.
    safety = [("实际操作考场安全工作规则", "4."), ("实际操作考核考场规则", "3.")]
    assert clause_refs(practical["safety"].clause) == safety


def test_office_escalations_expire_so_they_never_arrive_hours_late() -> None:
    """Acknowledgement and report escalations to the office are valid 30 minutes; nudges 10; none open-ended."""
    from bot.store.tables import OutboxKind

    planned = compute_reminders(_session(SessionKind.THEORY, ZoneInfo("UTC")), [ROOM], START_UTC - timedelta(hours=2),
                                office=OFFICE)  # fmt: skip
    office = [m for m in planned if m.kind in (OutboxKind.ACK_OFFICE, OutboxKind.FOLLOW_OFFICE)]
    nudges = [m for m in planned if m.kind in (OutboxKind.ACK_NUDGE, OutboxKind.FOLLOW_NUDGE)]
    assert office and nudges
    assert all(m.expires_at == m.due_at + timedelta(minutes=30) for m in office)
    assert all(m.expires_at == m.due_at + timedelta(minutes=10) for m in nudges)
    assert all(m.expires_at is not None for m in planned)


def test_timeline_file_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """timeline_file written in exambot.toml (not only the environment variable) overrides the timeline."""
    override = tmp_path / "timeline.toml"
    override.write_text('[theory]\n[[theory.steps]]\nid = "meeting"\noffset_minutes = -45\n', encoding="utf-8")
    config = tmp_path / "exambot.toml"
    config.write_text(f'timeline_file = "{override}"\n', encoding="utf-8")
    monkeypatch.delenv("EXAMBOT_TIMELINE_FILE", raising=False)
    monkeypatch.setenv("EXAMBOT_CONFIG", str(config))
    steps = {s.id: s for s in load_timeline(load_settings().timeline_file)[SessionKind.THEORY]}
    assert steps["meeting"].offset == timedelta(minutes=-45)


def test_create_app_hands_its_timeline_to_the_services(tmp_path: Path) -> None:
    """create_app(Settings(timeline_file=…)) loads the file once; handlers read it from the services."""
    override = tmp_path / "timeline.toml"
    override.write_text('[theory]\n[[theory.steps]]\nid = "meeting"\noffset_minutes = -45\n', encoding="utf-8")
    app = create_app(Settings(timeline_file=override, database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    steps = {s.id: s for s in app[SERVICES].timeline[SessionKind.THEORY]}
    assert steps["meeting"].offset == timedelta(minutes=-45)
    assert load_timeline(None) == DEFAULT_TIMELINE

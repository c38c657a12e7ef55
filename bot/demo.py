"""A demo exam day relative to now: staff of every role; theory, computer and practical sessions.

The first session starts a few minutes after launch, so reminders and reports can be tried at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.store.engine import Database
from bot.store.tables import (
    Assignment,
    AuditLog,
    Candidate,
    Duty,
    ExamSession,
    Role,
    Room,
    SessionKind,
    Staff,
    duty_label,
)
from scheduler.planner import plan_sessions
from scheduler.timeline import Timeline


@dataclass(frozen=True)
class DemoPerson:
    """One demo staff member."""

    name: str
    roles: tuple[Role, ...]
    wecom: str
    dingtalk: str


PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("王芳", (Role.INVIGILATOR,), "wangfang", "dd_wangfang"),
    DemoPerson("李强", (Role.INVIGILATOR,), "liqiang", "dd_liqiang"),
    DemoPerson("赵敏", (Role.INVIGILATOR,), "zhaomin", "dd_zhaomin"),
    DemoPerson("陈刚", (Role.INVIGILATOR,), "chengang", "dd_chengang"),
    DemoPerson("刘洋", (Role.INVIGILATOR,), "liuyang", "dd_liuyang"),
    DemoPerson("黄磊", (Role.INVIGILATOR,), "huanglei", "dd_huanglei"),
    DemoPerson("周杰", (Role.EVALUATOR,), "zhoujie", "dd_zhoujie"),
    DemoPerson("吴婷", (Role.EVALUATOR,), "wuting", "dd_wuting"),
    DemoPerson("郑凯", (Role.EVALUATOR,), "zhengkai", "dd_zhengkai"),
    DemoPerson("孙丽", (Role.SUPERVISOR,), "sunli", "dd_sunli"),
    DemoPerson("钱进", (Role.OFFICE,), "qianjin", "dd_qianjin"),
    DemoPerson("马文", (Role.ADMIN, Role.OFFICE), "mawen", "dd_mawen"),
)

_SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英")


@dataclass(frozen=True)
class DemoRoom:
    """One room of a demo session and who works in it."""

    room_no: str
    location: str
    expected: int
    staff: tuple[tuple[str, Duty], ...]


@dataclass(frozen=True)
class DemoSession:
    """One demo session, placed relative to launch time."""

    code: str
    occupation: str
    level: str
    kind: SessionKind
    start_in: timedelta
    duration: timedelta
    rooms: tuple[DemoRoom, ...]


SESSIONS: tuple[DemoSession, ...] = (
    DemoSession(
        "演示第1场",
        "电工",
        "四级/中级工",
        SessionKind.THEORY,
        timedelta(minutes=8),
        timedelta(minutes=90),
        (
            DemoRoom(
                "第1考场", "实训楼302", 30, (("王芳", Duty.CHIEF), ("李强", Duty.DEPUTY), ("孙丽", Duty.SUPERVISOR))
            ),
            DemoRoom("第2考场", "实训楼304", 28, (("赵敏", Duty.CHIEF), ("陈刚", Duty.DEPUTY))),
        ),
    ),
    DemoSession(
        "演示第2场",
        "电工",
        "四级/中级工",
        SessionKind.PRACTICAL,
        timedelta(minutes=20),
        timedelta(minutes=120),
        (
            DemoRoom(
                "第3考场",
                "实训楼404",
                15,
                (("周杰", Duty.CHIEF), ("吴婷", Duty.EVALUATOR), ("郑凯", Duty.EVALUATOR)),
            ),
        ),
    ),
    DemoSession(
        "演示第3场",
        "计算机程序设计员",
        "三级/高级工",
        SessionKind.COMPUTER,
        timedelta(minutes=45),
        timedelta(minutes=120),
        (DemoRoom("第4考场", "实训楼408", 30, (("刘洋", Duty.CHIEF), ("黄磊", Duty.DEPUTY))),),
    ),
)


def console_group(room_no: str) -> str:
    """The console group chat of a demo room."""
    return f"console:{room_no}"


def _candidate_name(i: int) -> str:
    """A candidate's name; never a demo staff member's (a group masks candidates' names, and 赵敏 the chief would
    read 赵* in her own room's group)."""
    staff = {p.name for p in PEOPLE}
    for shift in range(len(_GIVEN)):
        name = _SURNAMES[i % len(_SURNAMES)] + _GIVEN[(i * 7 + shift) % len(_GIVEN)]
        if name not in staff:
            return name
    raise AssertionError("no free candidate name")


# What ``exambot demo`` adds to every session's start. Nothing may be overdue at launch: the practical
# session (20 minutes in) has its 领取试卷、考件 step at −30 (5 minutes' grace), so with 11 minutes' lead it falls 1
# minute after launch, on time; the theory session starts 19 minutes out, its steps still useful at launch from
# "存放物品、验证入座" at −15 (4 minutes in) on; any less lead and the first message a newcomer sees is a late 【补发】.
# Tests seed without it (first session 8 minutes after the test clock).
LIVE_LEAD = timedelta(minutes=11)


class DemoRefused(RuntimeError):
    """The database already holds staff; demo data goes into an empty database only."""


async def seed_demo(
    db: Database,
    now: datetime,
    tz: ZoneInfo,
    *,
    lead: timedelta = timedelta(0),
    timeline: Timeline | None = None,
) -> list[tuple[Staff, list[str]]]:
    """Fill an empty database with the demo day; returns each person with their duties in words.

    ``lead`` moves every session later. Reminders are planned with ``timeline`` (the caller's configured
    one; None for the planner's default). Refuses a database that already holds staff, so a real exam day
    is never mixed with demo data.
    """
    start_base = now.astimezone(tz).replace(second=0, microsecond=0) + lead
    async with db.session() as s:
        if (await s.exec(select(Staff))).first() is not None:
            raise DemoRefused("数据库里已经有人员数据，演示数据只能写入空数据库")
        by_name: dict[str, Staff] = {}
        for p in PEOPLE:
            staff = Staff(
                name=p.name,
                roles=",".join(r.value for r in p.roles),
                wecom_userid=p.wecom,
                dingtalk_userid=p.dingtalk,
                phone=None,
            )
            s.add(staff)
            by_name[p.name] = staff
        await s.flush()
        duties: dict[str, list[str]] = {p.name: [] for p in PEOPLE}
        ticket = 0
        for ds in SESSIONS:
            starts = start_base + ds.start_in
            sess = ExamSession(
                code=ds.code,
                occupation=ds.occupation,
                level=ds.level,
                kind=ds.kind,
                day=starts.date(),
                starts_at=starts,
                ends_at=starts + ds.duration,
            )
            s.add(sess)
            await s.flush()
            assert sess.id is not None
            for dr in ds.rooms:
                room = Room(
                    session_id=sess.id,
                    room_no=dr.room_no,
                    location=dr.location,
                    expected=dr.expected,
                    group_chat=console_group(dr.room_no),
                )
                s.add(room)
                await s.flush()
                assert room.id is not None
                for name, duty in dr.staff:
                    staff = by_name[name]
                    assert staff.id is not None
                    s.add(Assignment(room_id=room.id, staff_id=staff.id, duty=duty))
                    duties[name].append(f"{ds.code} {starts:%H:%M} {dr.room_no} {duty_label(duty, ds.kind)}")
                for seat in range(1, dr.expected + 1):
                    ticket += 1
                    s.add(
                        Candidate(
                            room_id=room.id,
                            ticket_no=f"2026{ticket:06d}",
                            name=_candidate_name(ticket),
                            seat=f"{seat:02d}",
                        )
                    )
        s.add(AuditLog(at=now, actor="demo", action="import", entity="demo_day", detail={"sessions": len(SESSIONS)}))
        ids = [x.id for x in (await s.exec(select(ExamSession))).all() if x.id]
        await plan_sessions(s, ids, now, timeline=timeline, tz=tz)
    return [(by_name[p.name], duties[p.name]) for p in PEOPLE]

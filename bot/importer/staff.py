"""The staff list (人员名单): one row per person, keyed by WeCom id, else DingTalk id, else name + phone."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import col as column
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.importer.apply import Recorder, day_text
from bot.importer.headers import STAFF_FIELDS
from bot.importer.parse import ParseError, code_text, name_key, parse_phone, parse_plain_date, parse_roles
from bot.importer.problems import Problem
from bot.importer.read import Sheet
from bot.importer.staff_extras import apply_relations, apply_seniors, parse_occupations, parse_relations
from bot.importer.table import Collector
from bot.store.tables import ROLE_LABELS, Assignment, ExamSession, Role, Room, Staff

STAFF_FIELD_NAMES = ["name", "roles", "phone", "wecom_userid", "dingtalk_userid", "cert_issued", "note", "active"]


@dataclass(slots=True)
class StaffSpec:
    """One person as the file describes them; None means the file has no such column."""

    name: str
    roles: list[Role]
    phone: str | None
    wecom: str | None
    dingtalk: str | None
    cert: date | None
    note: str | None
    sheet: str | None
    row: int
    has: frozenset[str]  # which optional columns the file has
    relations: list[tuple[str, str]] = field(default_factory=list)  # 回避声明 (relation, candidate)
    seniors: list[str] = field(default_factory=list)  # 高级考评员: occupations

    def wanted(self) -> dict[str, object]:
        """The Staff fields this row sets."""
        # a person listed again is active again (the file is the staff list)
        out: dict[str, object] = {"name": self.name, "roles": ",".join(r.value for r in self.roles), "active": True}
        for key, attr, value in (
            ("phone", "phone", self.phone),
            ("wecom", "wecom_userid", self.wecom),
            ("dingtalk", "dingtalk_userid", self.dingtalk),
            ("cert", "cert_issued", self.cert),
            ("note", "note", self.note),
        ):
            if key in self.has:
                out[attr] = value
        return out


def _digits(phone: str | None) -> str:
    """The digits of a phone number, so 010-12345678 and 01012345678 match the same person."""
    return re.sub(r"\D", "", phone or "")


def parse_staff(sheets: list[Sheet], col: Collector) -> list[StaffSpec]:
    """Every row of every sheet with a staff header."""
    out: list[StaffSpec] = []
    seen: dict[tuple[str, str], int] = {}
    for table in col.tables(sheets, STAFF_FIELDS, "人员名单"):
        if not col.require(table, ("name",), ("roles",), fields=STAFF_FIELDS):
            continue
        hm = table.header
        has = frozenset(k for k in ("phone", "wecom", "dingtalk", "cert", "note", "avoid", "senior") if hm.has(k))
        for row in table.data_rows():
            n = row.number
            before = len(col.problems)
            name = name_key(table.cell(row, "name").text)
            if not name:
                col.add(table, n, hm.label("name"), "姓名为空")
            roles: list[Role] = []
            try:
                roles = parse_roles(table.cell(row, "roles").text)
            except ParseError as exc:
                col.add(table, n, hm.label("roles"), str(exc))
            ids: dict[str, str | None] = {}
            for key, what in (("wecom", "企业微信账号"), ("dingtalk", "钉钉userId")):
                try:
                    ids[key] = code_text(table.cell(row, key), what) or None
                except ParseError as exc:
                    col.add(table, n, hm.label(key), str(exc))
                    ids[key] = None
                value = ids[key]
                if value is not None:
                    if (key, value) in seen:
                        col.add(table, n, hm.label(key), f"{what}“{value}”与第{seen[(key, value)]}行重复")
                    seen[(key, value)] = n
            phone: str | None = None
            try:
                phone = parse_phone(code_text(table.cell(row, "phone"), "手机号"))
            except ParseError as exc:
                col.add(table, n, hm.label("phone"), str(exc))
            cert: date | None = None
            cert_cell = table.cell(row, "cert")
            if not cert_cell.blank:
                try:
                    cert = parse_plain_date(cert_cell, epoch=table.sheet.epoch)
                except ParseError as exc:
                    col.add(table, n, hm.label("cert"), str(exc))
            note = table.cell(row, "note").text or None
            relations: list[tuple[str, str]] = []
            try:
                relations = parse_relations(table.cell(row, "avoid").text)
            except ParseError as exc:
                col.add(table, n, hm.label("avoid"), str(exc))
            seniors = parse_occupations(table.cell(row, "senior").text)
            if len(col.problems) == before:
                spec = StaffSpec(
                    name, roles, phone, ids["wecom"], ids["dingtalk"], cert, note, table.sheet.name, n, has
                )
                spec.relations, spec.seniors = relations, seniors
                out.append(spec)
    return out


def _line(spec: StaffSpec) -> str:
    roles = "、".join(ROLE_LABELS[r] for r in spec.roles)
    return f"{spec.name}（{roles}）"


async def _future_duties(s: AsyncSession, staff_ids: list[int], now: datetime) -> dict[int, list[str]]:
    """Per person, the rooms of sessions not yet ended nor cancelled they are on duty in: ``12月6日 第1场 第3考场``."""
    out: dict[int, list[str]] = defaultdict(list)
    if not staff_ids:
        return out
    rows = await s.exec(
        select(Assignment.staff_id, ExamSession, Room)
        .join(Room, Room.id == Assignment.room_id)  # type: ignore[arg-type]
        .join(ExamSession, ExamSession.id == Room.session_id)  # type: ignore[arg-type]
        .where(
            column(Assignment.staff_id).in_(staff_ids),
            column(ExamSession.ends_at) > now,
            column(ExamSession.cancelled_at).is_(None),
            column(Room.cancelled_at).is_(None),
        )
        .order_by(ExamSession.starts_at, Room.id)
    )
    for staff_id, session, room in rows.all():
        out[staff_id].append(f"{day_text(session.day)} {session.code} {room.room_no}")
    return out


async def _removed(s: AsyncSession, gone: list[Staff], rec: Recorder, *, prune: bool) -> None:
    """Active people the file no longer lists: listed, or deactivated with ``prune``; their future duties flagged."""
    duties = await _future_duties(s, [p.id for p in gone if p.id is not None], rec.now)
    for person in sorted(gone, key=lambda p: p.id or 0):
        roles = "、".join(ROLE_LABELS[r] for r in sorted(person.role_set))
        line = f"{person.name}（{roles}）" if roles else person.name
        where = "、".join(duties.get(person.id or 0, []))
        if prune:
            await rec.mark("人员", person, {"active": False}, "deactivate", line)
            if where:
                rec.result.warnings.append(f"{person.name} 已停用，但仍被安排在 {where}，请调整")
        else:
            rec.result.missing.append(line + (f"：仍被安排在 {where}" if where else ""))


async def apply_staff(
    s: AsyncSession, specs: list[StaffSpec], rec: Recorder, file: str, *, write: bool = True, prune: bool = False
) -> list[Problem]:
    """Match each row to a person (WeCom id, DingTalk id, name + phone) and create or update; problems on conflicts.

    Active people the file does not list are listed in ``rec.result.missing``; with ``prune`` they are
    deactivated (never deleted). Either way their duties in sessions not yet ended are flagged.
    """
    everyone = list((await s.exec(select(Staff))).all())
    by_wecom = {p.wecom_userid: p for p in everyone if p.wecom_userid}
    by_ding = {p.dingtalk_userid: p for p in everyone if p.dingtalk_userid}
    by_name_phone = {(name_key(p.name), _digits(p.phone)): p for p in everyone}
    plan: list[tuple[StaffSpec, Staff | None]] = []
    problems: list[Problem] = []
    claimed: dict[int, int] = {}
    for spec in specs:
        person = (
            (by_wecom.get(spec.wecom) if spec.wecom else None)
            or (by_ding.get(spec.dingtalk) if spec.dingtalk else None)
            or by_name_phone.get((spec.name, _digits(spec.phone)))
        )
        if person is not None and person.id is not None:
            if person.id in claimed:
                problems.append(
                    Problem(
                        file,
                        f"与第{claimed[person.id]}行是同一人（{person.name}），请合并为一行",
                        sheet=spec.sheet,
                        row=spec.row,
                    )
                )
            claimed[person.id] = spec.row
        # a platform id already held by someone else would break the unique constraint
        for value, index, label in ((spec.wecom, by_wecom, "企业微信账号"), (spec.dingtalk, by_ding, "钉钉userId")):
            owner = index.get(value) if value else None
            if owner is not None and owner is not person:
                problems.append(
                    Problem(
                        file,
                        f"{label}“{value}”已属于人员“{owner.name}”，不能再分配给“{spec.name}”",
                        sheet=spec.sheet,
                        row=spec.row,
                    )
                )
        plan.append((spec, person))
    if problems or not write:
        return problems
    for spec, person in plan:
        if person is None:
            person = Staff(**spec.wanted())  # type: ignore[arg-type]
            await rec.create("人员", person, _line(spec), STAFF_FIELD_NAMES)
        else:
            await rec.update("人员", person, spec.wanted(), spec.name)
        if "avoid" in spec.has:
            await apply_relations(s, person, spec.relations, rec)
        if "senior" in spec.has:
            await apply_seniors(s, person, spec.seniors, rec)
    await _removed(s, [p for p in everyone if p.active and p.id not in claimed], rec, prune=prune)
    return []

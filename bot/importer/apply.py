"""Writing changes: create / update / delete with one AuditLog row each, counted in the result."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, tzinfo
from typing import Any, TypeVar

from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.importer.result import ImportResult
from bot.store.tables import DUTY_LABELS, KIND_LABELS, ROLE_LABELS, AuditLog, Duty, Role, SessionKind

T = TypeVar("T", bound=SQLModel)

SECRET_FIELDS = frozenset({"robot_secret", "robot_webhook"})


def jsonable(value: Any) -> Any:
    """A value as JSON can hold it (dates as ISO text, enums as their value)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def day_text(day: date) -> str:
    """``12月6日``, as the office writes a date."""
    return f"{day.month}月{day.day}日"


def snapshot(obj: SQLModel, fields: list[str]) -> dict[str, Any]:
    """Selected fields of a row for the audit log; secrets are masked."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = "***" if name in SECRET_FIELDS and value else jsonable(value)
    return out


def diff(obj: SQLModel, wanted: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields whose value differs from ``wanted``: name → (old, new)."""
    return {k: (getattr(obj, k), v) for k, v in wanted.items() if getattr(obj, k) != v}


FIELD_LABELS: dict[str, str] = {
    "occupation": "职业(工种)",
    "level": "等级",
    "kind": "考试类型",
    "day": "考试日期",
    "starts_at": "开始时间",
    "ends_at": "结束时间",
    "room_no": "考场",
    "location": "考试地点",
    "expected": "应考人数",
    "group_chat": "群聊",
    "robot_webhook": "群机器人Webhook",
    "robot_secret": "机器人密钥",
    "duty": "职责",
    "name": "姓名",
    "roles": "角色",
    "phone": "手机号",
    "wecom_userid": "企业微信账号",
    "dingtalk_userid": "钉钉userId",
    "cert_issued": "考评员证发证日期",
    "note": "备注",
    "ticket_no": "准考证号",
    "id_number": "身份证号",
    "seat": "座位号",
    "active": "启用",
    "cancelled_at": "取消时间",
}


def shown(name: str, value: Any, tz: tzinfo) -> str:
    """A value for a change line, in Chinese where it is a code; secrets and ID numbers masked."""
    if value is None or value == "":
        return "（空）"
    if name in SECRET_FIELDS:
        return "***"
    if isinstance(value, bool):
        return "是" if value else "否"
    if name == "id_number":
        text = str(value)
        return text[:4] + "*" * max(len(text) - 8, 0) + text[-4:]
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if name == "kind":
        return KIND_LABELS.get(SessionKind(value), str(value))
    if name == "duty":
        return DUTY_LABELS.get(Duty(value), str(value))
    if name == "roles":
        return "、".join(ROLE_LABELS.get(Role(r), r) for r in str(value).split(",") if r)
    return str(jsonable(value))


class Recorder:
    """Applies changes to one transaction and records each in the audit log and the result."""

    def __init__(
        self, session: AsyncSession, actor: str, result: ImportResult, tz: tzinfo, *, now: datetime | None = None
    ) -> None:
        self.s = session
        self.tz = tz
        self.actor = actor
        self.result = result
        self.now = now if now is not None else datetime.now(UTC)

    def _audit(self, action: str, entity: str, entity_id: Any, detail: dict[str, Any]) -> None:
        self.s.add(
            AuditLog(
                at=self.now,
                actor=self.actor,
                action=action,
                entity=entity,
                entity_id=None if entity_id is None else str(entity_id),
                detail=detail,
            )
        )

    async def create(self, label: str, obj: T, line: str, fields: list[str]) -> T:
        """Insert ``obj`` (flushed, so it has an id)."""
        self.s.add(obj)
        await self.s.flush()
        self._audit("create", obj.__tablename__, obj.id, {"after": snapshot(obj, fields)})  # type: ignore[attr-defined]
        self.result.count(label).created += 1
        self.result.changes.append(f"新增 {label} {line}")
        return obj

    async def update(self, label: str, obj: T, wanted: dict[str, Any], line: str, *, what: str | None = None) -> bool:
        """Set the changed fields of ``obj``; False (and counted unchanged) when nothing differs.

        ``what`` replaces the generated "field old → new" text of the change line.
        """
        changes = diff(obj, wanted)
        if not changes:
            self.result.count(label).unchanged += 1
            return False
        for name, (_old, new) in changes.items():
            setattr(obj, name, new)
        self.s.add(obj)
        await self.s.flush()
        before = {k: ("***" if k in SECRET_FIELDS and o else jsonable(o)) for k, (o, _n) in changes.items()}
        after = {k: ("***" if k in SECRET_FIELDS and n else jsonable(n)) for k, (_o, n) in changes.items()}
        self._audit("update", obj.__tablename__, obj.id, {"before": before, "after": after})  # type: ignore[attr-defined]
        self.result.count(label).updated += 1
        what = what or "，".join(
            f"{FIELD_LABELS.get(k, k)} {shown(k, o, self.tz)} → {shown(k, n, self.tz)}" for k, (o, n) in changes.items()
        )
        self.result.changes.append(f"更新 {label} {line}：{what}")
        return True

    async def mark(self, label: str, obj: SQLModel, wanted: dict[str, Any], action: str, line: str) -> None:
        """Cancel or deactivate ``obj`` (the row stays, with what refers to it), audited as ``action``."""
        before = {k: jsonable(getattr(obj, k)) for k in wanted}
        for name, value in wanted.items():
            setattr(obj, name, value)
        self.s.add(obj)
        await self.s.flush()
        after = {k: jsonable(v) for k, v in wanted.items()}
        self._audit(action, obj.__tablename__, obj.id, {"before": before, "after": after})  # type: ignore[attr-defined]
        counts = self.result.count(label)
        counts.cancelled += 1
        verb = "停用" if action == "deactivate" else "取消"
        counts.cancel_word = verb
        self.result.changes.append(f"{verb} {label} {line}")

    async def delete(self, label: str, obj: SQLModel, line: str, fields: list[str]) -> None:
        """Delete ``obj``."""
        self._audit("delete", obj.__tablename__, obj.id, {"before": snapshot(obj, fields)})  # type: ignore[attr-defined]
        await self.s.delete(obj)
        await self.s.flush()
        self.result.count(label).deleted += 1
        self.result.changes.append(f"删除 {label} {line}")

    def unchanged(self, label: str, n: int = 1) -> None:
        """Count rows that already matched."""
        self.result.count(label).unchanged += n

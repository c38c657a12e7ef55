"""Composable permissions attached to commands at registration (``STAFF & has_role(...)``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.model import ChatKind
from bot.store.tables import ROLE_LABELS, Role

if TYPE_CHECKING:
    from bot.dispatch import Context


@dataclass(frozen=True)
class Permission:
    """A named predicate over the context; combine with ``&``, ``|`` and ``~``."""

    check: Callable[[Context], bool]
    label: str

    def __call__(self, ctx: Context) -> bool:
        return self.check(ctx)

    def __and__(self, other: Permission) -> Permission:
        return Permission(lambda c: self(c) and other(c), f"{self.label}且{other.label}")

    def __or__(self, other: Permission) -> Permission:
        return Permission(lambda c: self(c) or other(c), f"{self.label}或{other.label}")

    def __invert__(self) -> Permission:
        return Permission(lambda c: not self(c), f"非{self.label}")


ANYONE = Permission(lambda c: True, "任何人")
STAFF = Permission(lambda c: c.staff is not None, "已登记的工作人员")
PRIVATE_CHAT = Permission(lambda c: c.message.chat_kind is ChatKind.PRIVATE, "私聊")


def has_role(*roles: Role) -> Permission:
    """The sender holds at least one of ``roles`` (admins hold every role)."""
    wanted = frozenset(roles)

    def check(ctx: Context) -> bool:
        if ctx.staff is None:
            return False
        held = ctx.staff.role_set
        return Role.ADMIN in held or bool(held & wanted)

    return Permission(check, "/".join(ROLE_LABELS[r] for r in roles))


ADMIN = has_role(Role.ADMIN)
OFFICE = has_role(Role.OFFICE)
SUPERVISOR_OR_OFFICE = has_role(Role.SUPERVISOR, Role.OFFICE)

# Who outranks whom when a report is changed: what a higher role wrote is corrected or revoked only by that
# role or above. A person holding several roles counts with the highest of them (an office member who also
# invigilates writes, and changes, as the office).
ROLE_RANK: dict[Role, int] = {
    Role.INVIGILATOR: 1,
    Role.EVALUATOR: 1,
    Role.SUPERVISOR: 2,
    Role.OFFICE: 3,
    Role.ADMIN: 4,
}


def rank_of(roles: frozenset[Role]) -> int:
    """The rank of a person holding ``roles``: their highest role's (0 for none)."""
    return max((ROLE_RANK[r] for r in roles), default=0)


def ranks_from(rank: int) -> str:
    """Who holds ``rank`` or above, in words: “考务办公室或管理员”."""
    labels = list(dict.fromkeys(ROLE_LABELS[r] for r, n in ROLE_RANK.items() if n >= rank))
    return labels[0] if len(labels) == 1 else "、".join(labels[:-1]) + "或" + labels[-1]

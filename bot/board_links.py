"""Signed, expiring links to the office board: HMAC-SHA256 over the staff id and the expiry.

A link names one person (office, supervisor or admin) and a moment after which it stops working. The
secret is ``EXAMBOT_BOARD_TOKEN``; every instance sharing it accepts the links any of them signed. The
link proves who it was given to; the board still checks on every request that this person is active and
holds one of the board's roles, so taking a role away closes their links at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import quote

from bot.store.tables import Role, Staff

# Who may open the board (admins hold every role).
BOARD_ROLES = (Role.OFFICE, Role.SUPERVISOR, Role.ADMIN)
MAX_HOURS = 24 * 7  # a link for a week of exams at most
DEFAULT_HOURS = 12
_TOKEN = re.compile(r"^(?P<staff>\d{1,12})\.(?P<exp>\d{1,12})\.(?P<mac>[A-Za-z0-9_-]{43})$")


class LinkProblem(StrEnum):
    """Why a link does not open the board."""

    MISSING = "missing"
    FORGED = "forged"
    EXPIRED = "expired"


@dataclass(frozen=True)
class BoardPass:
    """A verified link: whose it is and until when it works."""

    staff_id: int
    expires_at: datetime


def _mac(secret: str, staff_id: int, expires: int) -> str:
    digest = hmac.new(secret.encode(), f"board:{staff_id}:{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(secret: str, staff_id: int, expires_at: datetime) -> str:
    """The token for ``staff_id`` valid until ``expires_at`` (an aware datetime)."""
    if not secret:
        raise ValueError("board secret is empty")
    expires = int(expires_at.timestamp())
    return f"{staff_id}.{expires}.{_mac(secret, staff_id, expires)}"


def verify(secret: str, token: str, now: datetime) -> BoardPass | LinkProblem:
    """The pass a token carries, or why it does not count (a forged one is told apart from an expired one)."""
    if not token:
        return LinkProblem.MISSING
    m = _TOKEN.match(token)
    if not secret or m is None:
        return LinkProblem.FORGED
    staff_id, expires = int(m["staff"]), int(m["exp"])
    if not hmac.compare_digest(m["mac"], _mac(secret, staff_id, expires)):
        return LinkProblem.FORGED
    expires_at = datetime.fromtimestamp(expires, UTC)
    if now >= expires_at:
        return LinkProblem.EXPIRED
    return BoardPass(staff_id, expires_at)


def may_open(staff: Staff | None) -> bool:
    """Whether this person may see the board now: active, and office, supervisor or admin."""
    return staff is not None and staff.active and staff.has_role(*BOARD_ROLES)


def board_link(base_url: str, token: str) -> str:
    """The address to open: ``{base_url}/board?k=TOKEN`` (a relative address without a base)."""
    return f"{base_url.rstrip('/')}/board?k={quote(token, safe='.')}"


def expiry(now: datetime, hours: float) -> datetime:
    """When a link made ``now`` for ``hours`` stops working (hours kept between a minute and MAX_HOURS)."""
    hours = min(max(hours, 1 / 60), MAX_HOURS)
    return now + timedelta(hours=hours)


def base_url_of(configured: str, host: str, port: int) -> str:
    """The board's address as people reach it: the configured one, else this server's host and port."""
    return configured.rstrip("/") if configured else f"http://{host}:{port}"


__all__ = [
    "BOARD_ROLES",
    "DEFAULT_HOURS",
    "MAX_HOURS",
    "BoardPass",
    "LinkProblem",
    "base_url_of",
    "board_link",
    "expiry",
    "may_open",
    "sign",
    "verify",
]

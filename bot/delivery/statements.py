"""The sender's statements, built once with bound parameters.

SQLAlchemy walks a statement to derive its cache key on every execution unless the same statement object is
executed again (the key is memoised on it). Building the claim, the rate-window count and the fenced updates
afresh for each pass cost more than running them (every alert goes through a pass), so they are built here
once; lists go in as expanding parameters.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, union_all, update

from bot.delivery.rows import PENDING, SENDING, SENT, T
from bot.store.tables import Staff

# Due now: pending and its time has come, or held by a sender whose lease ran out.
_DUE = or_(
    and_(T.c.status == PENDING, T.c.next_try_at <= bindparam("d_now")),
    and_(T.c.status == SENDING, T.c.lease_until < bindparam("d_now")),
)
# Still held by this sender (the fence of every update after the claim).
_FENCE = and_(T.c.lease_owner == bindparam("f_owner"), T.c.status == SENDING)
_IDS = bindparam("ids", expanding=True)


@cache
def claim_ids(*, by_key: bool, lock: bool, limit: int) -> Any:
    """Ids of due rows (among the keys ``c_keys`` when ``by_key``), oldest first; ``lock``: FOR UPDATE SKIP LOCKED."""
    q = select(T.c.id).where(_DUE).order_by(T.c.next_try_at, T.c.id).limit(limit)
    if by_key:
        q = q.where(T.c.key.in_(bindparam("c_keys", expanding=True)))
    return q.with_for_update(skip_locked=True) if lock else q


# Lease the rows ``ids`` that are still due: params d_now, ids, c_owner, c_until.
CLAIM = (
    update(T)
    .where(T.c.id.in_(_IDS), _DUE)
    .values(
        status=SENDING,
        lease_owner=bindparam("c_owner"),
        lease_until=bindparam("c_until"),
        attempts=T.c.attempts + 1,
    )
    .returning(*T.c)
)

# Mark rows delivered: params ids, f_owner, v_sent_at, v_pid.
SENT_ROWS = (
    update(T)
    .where(T.c.id.in_(_IDS), _FENCE)
    .values(
        status=SENT,
        sent_at=bindparam("v_sent_at"),
        platform_message_id=bindparam("v_pid"),
        last_error=None,
        lease_owner=None,
        lease_until=None,
    )
)

# Reserve rate-window room, one row per parameter set: r_id, r_batch, r_pieces, r_at, f_owner.
RESERVE = (
    update(T)
    .where(T.c.id == bindparam("r_id"), _FENCE)
    .values(send_batch=bindparam("r_batch"), pieces=bindparam("r_pieces"), reserved_at=bindparam("r_at"))
)


@cache
def _fenced_update(names: tuple[str, ...], give_back: bool) -> Any:
    values: dict[str, Any] = {n: bindparam(f"v_{n}") for n in names}
    if give_back:
        values["attempts"] = T.c.attempts - 1
    return update(T).where(T.c.id.in_(_IDS), _FENCE).values(values)


def fenced_update(
    ids: list[int], owner: str, values: dict[str, Any], *, give_back: bool = False
) -> tuple[Any, dict[str, Any]]:
    """An update of the rows ``ids`` this sender holds, setting ``values``, and its parameters (one statement per
    set of column names). ``give_back``: the rows return the attempt their claim counted (deferred, not tried)."""
    params: dict[str, Any] = {"ids": ids, "f_owner": owner}
    params.update({f"v_{k}": v for k, v in values.items()})
    return _fenced_update(tuple(sorted(values)), give_back), params


# Platform messages per target within the rate window: params w_tks (target keys), w_since. Two ranges, one
# per index ((target_key, reserved_at) and (target_key, sent_at)): a single OR made both databases read every
# row the target ever got, so each pass grew slower as the day's alerts piled up.
_reserved = select(T.c.target_key, T.c.send_batch, T.c.reserved_at.label("at"), T.c.pieces).where(
    T.c.target_key.in_(bindparam("w_tks", expanding=True)), T.c.reserved_at > bindparam("w_since")
)
_sent = select(T.c.target_key, T.c.send_batch, T.c.sent_at.label("at"), T.c.pieces).where(
    T.c.target_key.in_(bindparam("w_tks2", expanding=True)),
    T.c.reserved_at.is_(None),
    T.c.sent_at > bindparam("w_since"),
)
_u = union_all(_reserved, _sent).subquery()
WINDOWS = select(_u.c.target_key, _u.c.send_batch, func.min(_u.c.at), func.max(_u.c.pieces)).group_by(
    _u.c.target_key, _u.c.send_batch
)

_STAFF = Staff.__table__  # type: ignore[attr-defined]
# The staff rows ``ids`` (targets that name a person).
STAFF_BY_ID = select(_STAFF).where(_STAFF.c.id.in_(_IDS))

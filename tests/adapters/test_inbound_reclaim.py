"""Dedupe that does not lose messages: a claim whose handling never finished is taken over by a redelivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.adapters.inbound import RECLAIM_AFTER, InboundLedger, claim_many, mark_handled
from bot.store.engine import Database
from bot.store.migrate import upgrade

T0 = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


async def _db(db_url: str) -> Database:
    db = Database(db_url)
    await upgrade(db)
    return db


async def test_handled_delivery_stays_deduplicated(db_url: str) -> None:
    """Once handled, a redelivery is a repeat however late it comes."""
    db = await _db(db_url)
    try:
        assert await claim_many(db, [("wecom", "m1", T0)]) == [True]
        await mark_handled(db, [("wecom", "m1")], T0)
        later = T0 + timedelta(minutes=5)
        assert await claim_many(db, [("wecom", "m1", later)]) == [False]
    finally:
        await db.dispose()


async def test_unhandled_claim_is_taken_over_after_the_lease(db_url: str) -> None:
    """A claim never marked handled (crash, outage) goes to a redelivery after RECLAIM_AFTER, and only once."""
    db = await _db(db_url)
    try:
        assert await claim_many(db, [("wecom", "m2", T0)]) == [True]
        soon = T0 + RECLAIM_AFTER - timedelta(milliseconds=1)
        assert await claim_many(db, [("wecom", "m2", soon)]) == [False]  # still being handled
        retry = T0 + timedelta(seconds=5)  # WeCom redelivers after 5 s
        assert await claim_many(db, [("wecom", "m2", retry)]) == [True]
        assert await claim_many(db, [("wecom", "m2", retry + timedelta(seconds=1))]) == [False]
        assert await claim_many(db, [("dingtalk", "m2", retry)]) == [True]  # channels are separate
    finally:
        await db.dispose()


async def test_ledger_marks_in_the_background(db_url: str) -> None:
    """InboundLedger.handled writes the mark without blocking; close() waits for it."""
    db = await _db(db_url)
    try:
        ledger = InboundLedger(db, "wecom")
        assert await ledger.first("m3", T0) is True
        ledger.handled("m3", T0)
        await ledger.close()
        assert await ledger.first("m3", T0 + timedelta(minutes=1)) is False
    finally:
        await db.dispose()

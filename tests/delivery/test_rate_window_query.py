"""The rate window reads only the window: the rows a target got before it are not visited, however many."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import event

from bot.clock import ManualClock
from bot.delivery.merge import windows
from bot.delivery.rows import insert_rows, new_row
from bot.store.engine import Database
from bot.store.migrate import upgrade

TARGET = {"type": "person", "channel": "console", "user_id": "7"}


async def test_the_window_is_read_through_index_ranges_and_counts_what_it_should(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Old sends (reserved or not) stay out of the count; a reservation and a send inside the window count once each
    batch; SQLite answers both halves with index ranges, not with every row of the target."""
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    await upgrade(db)
    now = clock.now()
    old, recent = now - timedelta(hours=2), now - timedelta(seconds=20)
    rows = []
    for i, (reserved, sent, batch) in enumerate(
        [(old, old, "a"), (None, old, "b"), (recent, recent, "c"), (recent, None, "c"), (None, recent, "d")]
    ):
        row = new_row(key=f"k{i}", kind="notice", target=TARGET, text="x", due_at=old, now=old)
        row.update(reserved_at=reserved, sent_at=sent, send_batch=batch, pieces=i + 1, status="sent")
        rows.append(row)
    seen: list[tuple[str, object]] = []

    def record(_conn: object, _cursor: object, statement: str, params: object, _ctx: object, _many: bool) -> None:
        if "send_batch" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    async with db.session() as s:
        conn = await s.connection()
        await insert_rows(conn, rows)
        tk = rows[0]["target_key"]
        event.listen(db.engine.sync_engine, "before_cursor_execute", record)
        used = await windows(conn, [tk], now, timedelta(minutes=1))
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
        ((statement, params),) = seen  # the statement windows() ran, as SQLite got it
        plan = " ".join(str(r[-1]) for r in (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)))
    await db.dispose()
    assert sorted(u.pieces for u in used[tk]) == [4, 5]  # batch c (rows 3 and 4: the larger), batch d
    assert "reserved_at>?" in plan and "sent_at>?" in plan, plan

"""Files through ``exambot import`` (the console entry point, reminder planning included), in order and not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import openpyxl
import pytest

from bot.cli import main
from tests.importer.conftest import SAMPLES

OTHER = Path(__file__).resolve().parents[1] / "data" / "other_center"


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``exambot`` pointed at a fresh SQLite file, its clock the evening before the exam day."""
    path = tmp_path / "exambot.db"
    monkeypatch.setenv("EXAMBOT_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("EXAMBOT_CLOCK_ORIGIN", "2026-12-04T18:00:00+08:00")
    monkeypatch.delenv("EXAMBOT_TZ", raising=False)
    return path


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_samples_import_in_order(db_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """staff, schedule, roster: exit 0, the expected rows, reminders planned; importing again changes nothing."""
    for kind, name in (("staff", "staff.csv"), ("schedule", "schedule.xlsx"), ("roster", "roster.xlsx")):
        assert main(["import", kind, str(SAMPLES / name)]) == 0, capsys.readouterr()
    counts = {t: _count(db_file, f"SELECT count(*) FROM {t}") for t in ("staff", "exam_session", "room", "candidate")}
    assert counts == {"staff": 40, "exam_session": 6, "room": 13, "candidate": 330}
    assert _count(db_file, "SELECT count(*) FROM assignment") == 30
    pending = _count(db_file, "SELECT count(*) FROM outbox WHERE status = 'pending'")
    assert pending > 0
    capsys.readouterr()
    for kind, name in (("staff", "staff.csv"), ("schedule", "schedule.xlsx"), ("roster", "roster.xlsx")):
        assert main(["import", kind, str(SAMPLES / name), "--prune"]) == 0
        assert "无变化" in capsys.readouterr().out
    assert _count(db_file, "SELECT count(*) FROM outbox WHERE status = 'pending'") == pending


def test_roster_before_schedule_one_line(db_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The roster first: exit 2 with one problem naming how many rooms are missing, not 330 lines."""
    assert main(["import", "staff", str(SAMPLES / "staff.csv")]) == 0
    assert main(["import", "roster", str(SAMPLES / "roster.xlsx")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "导入失败，发现 1 个问题（数据库未做任何修改）："
    assert len(err) == 2
    assert err[1].startswith(
        "  roster.xlsx：13 个考场在考场安排中不存在，请先导入考场安排：“第1考场”（第2行等 30 名考生）；"
    )
    assert _count(db_file, "SELECT count(*) FROM candidate") == 0


def _move_theory(src: Path, dst: Path, *, drop_practical: bool) -> Path:
    wb = openpyxl.load_workbook(src)
    ws = wb.worksheets[0]
    for r in (3, 4):
        ws.cell(r, 3).value, ws.cell(r, 4).value = "10:00", "11:30"
    if drop_practical:
        ws.delete_rows(5)
    wb.save(dst)
    return dst


def _outbox(db: Path) -> dict[str, tuple[str, str, int]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT key, status, due_at, session_id FROM outbox").fetchall()
    return {k: (st, str(due), sid) for k, st, due, sid in rows}


def test_moved_and_pruned_through_the_cli(db_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No 场次 column: a moved session moves its reminders (no second session); --prune cancels the dropped one's."""
    assert main(["import", "staff", str(SAMPLES / "staff.csv")]) == 0
    assert main(["import", "schedule", str(OTHER / "schedule.xlsx")]) == 0
    before = _outbox(db_file)
    moved = _move_theory(OTHER / "schedule.xlsx", tmp_path / "moved.xlsx", drop_practical=False)
    capsys.readouterr()
    assert main(["import", "schedule", str(moved), "--dry-run"]) == 0
    assert "时间由 09:00-10:30 改为 10:00-11:30" in capsys.readouterr().out
    assert _outbox(db_file) == before
    assert main(["import", "schedule", str(moved)]) == 0
    after = _outbox(db_file)
    assert _count(db_file, "SELECT count(*) FROM exam_session") == 2
    assert set(after) == set(before)  # the same reminders, moved: none added for a second session
    assert {st for st, _d, _s in after.values()} == {"pending"}
    assert {k for k in after if after[k][1] != before[k][1]} == {k for k, v in before.items() if v[2] == 1}
    assert main(["import", "roster", str(OTHER / "roster.xlsx")]) == 0

    dropped = _move_theory(OTHER / "schedule.xlsx", tmp_path / "dropped.xlsx", drop_practical=True)
    capsys.readouterr()
    assert main(["import", "schedule", str(dropped)]) == 0
    out = capsys.readouterr().out
    assert "加 --prune 重新导入" in out and "场次 20261206-1330-电工-实操" in out
    assert {st for st, _d, _s in _outbox(db_file).values()} == {"pending"}
    assert main(["import", "schedule", str(dropped), "--prune"]) == 0
    assert "取消 场次 20261206-1330-电工-实操" in capsys.readouterr().out
    final = _outbox(db_file)
    assert {st for st, _d, sid in final.values() if sid == 2} == {"cancelled"}
    assert {st for st, _d, sid in final.values() if sid == 1} == {"pending"}
    assert _count(db_file, "SELECT count(*) FROM exam_session WHERE cancelled_at IS NOT NULL") == 1
    assert _count(db_file, "SELECT count(*) FROM candidate") == 4  # the cancelled session's candidate stays


ORIGINAL = Path(__file__).resolve().parents[1] / "data" / "samples_original"


def test_the_shared_samples_as_sent_are_read_whole_and_refused_only_for_their_real_faults(
    db_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The other office's files as they are: every column is read, and the schedule is refused only for the
    lapsed cards (考评人员管理办法 第三条) and the shared room, nothing else; once the cards are renewed in the staff
    file, the same schedule imports with the room warning accepted."""
    assert main(["import", "staff", str(ORIGINAL / "staff.csv")]) == 0
    capsys.readouterr()
    assert main(["import", "schedule", str(ORIGINAL / "schedule.xlsx")]) == 2
    err = capsys.readouterr().err
    findings = [ln for ln in err.splitlines() if "【" in ln]
    assert len(findings) == 5, err
    assert sum("考评员证已于" in ln and "第三条" in ln for ln in findings) == 4
    assert sum("【提醒】" in ln and "实训楼401" in ln for ln in findings) == 1
    assert _count(db_file, "SELECT count(*) FROM exam_session") == 0
    assert main(["import", "staff", str(SAMPLES / "staff.csv")]) == 0  # the cards renewed
    assert main(["import", "schedule", str(ORIGINAL / "schedule.xlsx"), "--accept-warnings"]) == 0
    assert _count(db_file, "SELECT count(*) FROM exam_session") == 6

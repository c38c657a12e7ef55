"""``exambot export`` through bot.cli.main: the file it writes, its CSV shape, its messages and exit codes."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.clock import ManualClock
from bot.settings import Settings
from bot.store.engine import Database
from bot.store.tables import ExamSession, SessionKind
from tests.conftest import demo_app
from tests.handlers.conftest import Day
from tests.records.conftest import FORMULA_INCIDENT, FORMULA_NOTE, record_day


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> Path:
    """A recorded demo day in an SQLite file the command line is pointed at."""
    db = tmp_path / "day.db"
    url = f"sqlite:///{db}"

    async def prepare() -> None:
        async with demo_app(Settings(database_url=url), clock) as chat:
            clock.advance(timedelta(minutes=40))
            await record_day(Day(chat, clock))

    asyncio.run(prepare())
    monkeypatch.setenv("EXAMBOT_DATABASE_URL", url)
    return tmp_path


def test_export_xlsx(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A date exports every room of the day; the message names the file and the room count."""
    out = recorded / "记录表.xlsx"
    assert main(["export", "2026-12-05", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "已导出 2026-12-05 的考场情况记录表（4 个考场，考场情况记录表_2026-12-05.xlsx）：" in said
    assert said.strip().endswith(str(out))
    wb = load_workbook(out)
    assert len(wb.sheetnames) == 7


def test_export_session_code_alone_finds_its_day(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A session code without a date exports that session of the day it is on."""
    out = recorded / "第1场.xlsx"
    assert main(["export", "演示第1场", "--out", str(out)]) == 0
    assert "（2 个考场，" in capsys.readouterr().out
    assert load_workbook(out).sheetnames[3:] == ["演示第1场-第1考场", "演示第1场-第2考场"]


def test_export_csv(recorded: Path) -> None:
    """.csv gives the violations and absentees, one per row, formula-like text with an apostrophe."""
    out = recorded / "day.csv"
    assert main(["export", "2026-12-05", "--out", str(out)]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:5] == ["类别", "日期", "场次", "考场", "准考证号"]
    kinds = [r[0] for r in rows[1:]]
    assert kinds.count("违纪") == 3 and kinds.count("缺考") == 3
    assert {r[4] for r in rows[1:] if r[0] == "缺考"} == {"2026000003", "2026000004", "2026000060"}
    assert FORMULA_INCIDENT not in raw.decode("utf-8-sig") and FORMULA_NOTE not in raw.decode("utf-8-sig")


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["export", "2026-12-06", "--out", "x.xlsx"], 1, "没有 2026-12-06 的考试场次"),
        (["export", "第9场", "--out", "x.xlsx"], 1, "没有找到场次“第9场”"),
        (["export", "2026-12-05", "--out", "x.pdf"], 2, "--out 请用 .xlsx 或 .csv 结尾"),
        (["export", "2026-12-05", "a", "b", "--out", "x.xlsx"], 2, "多余的参数：b"),
        (["export", "2026-12-05", "--out", "no-such-dir/x.xlsx"], 2, "目录 no-such-dir 不存在"),
    ],
)
def test_export_refusals(
    recorded: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    message: str,
) -> None:
    """Nothing to export is 1; a bad file name or argument is 2; each says why in Chinese and writes nothing."""
    monkeypatch.chdir(recorded)
    assert main(argv) == code
    assert message in capsys.readouterr().err
    assert not (recorded / "x.xlsx").exists() and not (recorded / "x.pdf").exists()


def test_export_keeps_an_existing_file(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing file is kept unless --force."""
    out = recorded / "old.xlsx"
    out.write_bytes(b"keep")
    assert main(["export", "2026-12-05", "--out", str(out)]) == 2
    assert "已存在" in capsys.readouterr().err and out.read_bytes() == b"keep"
    assert main(["export", "2026-12-05", "--out", str(out), "--force"]) == 0
    assert load_workbook(out).sheetnames[0] == "汇总"


def test_export_is_listed_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    """The overview lists export; its own help explains the CSV shape and the exit codes."""
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "    export " in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    text = capsys.readouterr().out
    assert "第一列“类别”为 违纪 或 缺考" in text and "退出码：0 已导出；1 没有找到场次；2 参数或文件错误" in text


def test_a_session_code_on_several_days_needs_the_date(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A code used on two days is refused (2) naming both days; with the date it exports that day's session."""

    async def another_day() -> None:
        db = Database(f"sqlite:///{recorded / 'day.db'}")
        try:
            async with db.session() as s:
                starts = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
                s.add(
                    ExamSession(
                        code="演示第1场",
                        occupation="电工",
                        kind=SessionKind.THEORY,
                        day=date(2026, 12, 6),
                        starts_at=starts,
                        ends_at=starts + timedelta(hours=1),
                    )
                )
        finally:
            await db.dispose()

    asyncio.run(another_day())
    out = recorded / "x.xlsx"
    assert main(["export", "演示第1场", "--out", str(out)]) == 2
    assert "场次“演示第1场”在多天都有（2026-12-05、2026-12-06）" in capsys.readouterr().err
    assert not out.exists()
    assert main(["export", "演示第1场", "2026-12-05", "--out", str(out)]) == 0
    assert len(load_workbook(out).sheetnames) == 5

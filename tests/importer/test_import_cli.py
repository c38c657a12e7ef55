"""The import/template subcommands, and a filled template importing as it is."""

from __future__ import annotations

import argparse
from pathlib import Path

import openpyxl
import pytest

from bot.importer.cli import register
from bot.settings import Settings
from tests.importer.conftest import SAMPLES


def _run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="exambot")
    register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return int(args.func(args, settings))


def _append(path: Path, *rows: list[object]) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    for i, row in enumerate(rows, start=3):
        for j, value in enumerate(row, start=1):
            ws.cell(i, j, value)
    wb.save(path)


def test_template_round_trip(settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Templates have Chinese headers, a text-formatted room column and a 说明 sheet; filled in, they import."""
    paths = {k: tmp_path / f"{k}.xlsx" for k in ("staff", "schedule", "roster")}
    for kind, path in paths.items():
        assert _run(settings, "template", kind, str(path)) == 0
    wb = openpyxl.load_workbook(paths["schedule"])
    assert wb.sheetnames == ["考场安排", "说明"]
    ws = wb["考场安排"]
    assert [c.value for c in ws[1]][:7] == ["场次", "考试日期", "考试时间", "职业(工种)", "等级", "考试类型", "考场"]
    assert ws.cell(2, 7).value == "第1考场" and ws.cell(10, 7).number_format == "@"

    # 第2考场 has its own chief and deputy (监考人员守则 1: the import's rule checks refuse anything else)
    _append(
        paths["staff"],
        ["李四", "监考员、考评员", "13900000000", "lisi"],
        ["赵七", "监考员", "13900000001", "zhaoqi"],
        ["孙八", "监考员", "13900000002", "sunba"],
    )
    _append(
        paths["schedule"],
        [None, None, "8:30-10:00", "电工", "四级/中级工", "理论", "第2考场", None, 30, "赵七", "孙八"],
    )
    _append(paths["roster"], ["202612010102", "赵六", "110105199003071234", "第2考场", "02", "第1场"])
    capsys.readouterr()
    for kind in ("staff", "schedule", "roster"):
        assert _run(settings, "import", kind, str(paths[kind])) == 0
    out = capsys.readouterr().out
    assert "人员：新增 4" in out and "考场：新增 2" in out and "考生：新增 2" in out
    assert _run(settings, "import", "roster", str(paths["roster"])) == 0
    assert "无变化" in capsys.readouterr().out


def test_cli_problems_exit_2(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    """A schedule naming unknown staff exits with 2 and lists the problems on stderr."""
    assert _run(settings, "import", "schedule", str(SAMPLES / "schedule.xlsx")) == 2
    err = capsys.readouterr().err
    assert "导入失败" in err and "“唐玉英”不在人员名单中" in err


def test_cli_dry_run_then_import(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    """--dry-run shows the changes; the real import afterwards still creates everything."""
    assert _run(settings, "import", "staff", str(SAMPLES / "staff.csv"), "--dry-run") == 0
    assert "【试运行，未写入数据库】" in capsys.readouterr().out
    assert _run(settings, "import", "staff", str(SAMPLES / "staff.csv")) == 0
    assert "人员：新增 40" in capsys.readouterr().out

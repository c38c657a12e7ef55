"""Import limits: files past the row, byte or merged-cell limit are refused, naming the limit, before expanding."""

from __future__ import annotations

import argparse
import tracemalloc
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.importer import ImportFailed
from bot.importer.cli import register
from bot.importer.limits import ImportLimits
from bot.importer.read import read_file
from bot.importer.xlsx import SheetCount, scan_sheet
from bot.settings import Settings, load_settings
from tests.importer.conftest import SAMPLES, ImportFn

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT}.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{NS}" xmlns:r="{REL}">'
        '<sheets><sheet name="考生名册" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def _row(number: int, *values: str) -> str:
    cells = "".join(
        f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
        for i, v in enumerate(values)
        if v  # an empty string leaves the cell out, as Excel does
    )
    return f'<row r="{number}">{cells}</row>'


def hand_made_xlsx(path: Path, rows: list[str], *, merges: tuple[str, ...] = (), dimension: str = "A1") -> Path:
    """A minimal .xlsx written by hand (no styles), so a sheet can say what openpyxl would not write."""
    merged = "".join(f'<mergeCell ref="{m}"/>' for m in merges)
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}"><dimension ref="{dimension}"/>'
        f"<sheetData>{''.join(rows)}</sheetData>"
        + (f'<mergeCells count="{len(merges)}">{merged}</mergeCells>' if merges else "")
        + "</worksheet>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in PARTS.items():
            zf.writestr(name, text)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def _roster_rows(n: int) -> list[list[object]]:
    return [["准考证号", "姓名", "考场"]] + [[f"2026{i:06d}", f"考生{i}", "第1考场"] for i in range(n)]


def _refusal(path: Path, limits: ImportLimits) -> str:
    with pytest.raises(ImportFailed) as info:
        read_file(path, limits)
    return info.value.render()


def test_whole_sheet_merge_is_refused_before_expanding(tmp_path: Path) -> None:
    """A tiny xlsx merging A2:XFD1048576 is refused naming the merged-cell limit, with little memory used."""
    path = hand_made_xlsx(
        tmp_path / "bomb.xlsx",
        [_row(1, "准考证号", "姓名", "考场"), _row(2, "1", "张三", "第1考场")],
        merges=("A2:XFD1048576",),
        dimension="A1:XFD1048576",
    )
    assert path.stat().st_size < 2500
    tracemalloc.start()
    try:
        text = _refusal(path, ImportLimits())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "合并单元格" in text and "EXAMBOT_IMPORT_MAX_MERGED_CELLS" in text and "100000" in text
    assert "A2:XFD1048576" in text and "工作表「考生名册」" in text
    assert peak < 32 * 1024 * 1024


async def test_merge_bomb_writes_nothing(
    imp: ImportFn, tmp_path: Path, counts: Callable[[], Awaitable[dict[str, int]]], staffed: None
) -> None:
    """Through import_file the merge bomb fails like any other problem, leaving the database as it was."""
    before = await counts()
    path = hand_made_xlsx(tmp_path / "bomb.xlsx", [_row(1, "准考证号", "姓名", "考场")], merges=("A2:XFD1048576",))
    with pytest.raises(ImportFailed, match="EXAMBOT_IMPORT_MAX_MERGED_CELLS"):
        await imp("roster", path)
    assert await counts() == before


def test_merged_cells_within_limit_still_fill_down(tmp_path: Path) -> None:
    """Merged ranges within the limit are still copied down; one cell more than the limit allows is refused."""
    rows = [_row(1, "考场", "姓名"), _row(2, "第1考场", "张三"), _row(3, "", "李四"), _row(4, "", "王五")]
    path = hand_made_xlsx(tmp_path / "ok.xlsx", rows, merges=("A2:A4",))
    (sheet,) = read_file(path, ImportLimits(max_merged_cells=3))
    assert [r.get(0).text for r in sheet.rows] == ["考场", "第1考场", "第1考场", "第1考场"]
    assert [r.get(0).merged for r in sheet.rows] == [False, False, True, True]
    assert "EXAMBOT_IMPORT_MAX_MERGED_CELLS" in _refusal(path, ImportLimits(max_merged_cells=2))


def test_stored_dimension_does_not_pad_rows(tmp_path: Path) -> None:
    """A dimension of A1:XFD1048576 (formatted empty cells) reads only the cells that hold something."""
    rows = [_row(1, "准考证号", "姓名"), _row(2, "1", "张三")]
    path = hand_made_xlsx(tmp_path / "wide.xlsx", rows, dimension="A1:XFD1048576")
    (sheet,) = read_file(path, ImportLimits(max_rows=2))
    assert [len(r.cells) for r in sheet.rows] == [2, 2]


def test_xlsx_over_row_limit_is_refused(xlsx: Callable[..., Path]) -> None:
    """A roster with more rows than the limit is refused, naming the limit; at the limit it reads."""
    path = xlsx("名册.xlsx", _roster_rows(30), sheet="考生名册")
    text = _refusal(path, ImportLimits(max_rows=30))
    assert "行数上限 30 行" in text and "EXAMBOT_IMPORT_MAX_ROWS" in text
    (sheet,) = read_file(path, ImportLimits(max_rows=31))
    assert len(sheet.rows) == 31


def test_csv_over_row_limit_is_refused(tmp_path: Path) -> None:
    """A CSV is counted as it streams and refused past the row limit; GBK files still decode."""
    path = tmp_path / "名册.csv"
    path.write_bytes("\n".join(",".join(map(str, r)) for r in _roster_rows(30)).encode("gbk"))
    assert "EXAMBOT_IMPORT_MAX_ROWS" in _refusal(path, ImportLimits(max_rows=20))
    (sheet,) = read_file(path, ImportLimits(max_rows=31))
    assert sheet.rows[-1].get(1).text == "考生29"


@pytest.mark.parametrize("name", ["staff.csv", "roster.xlsx"])
def test_file_over_byte_limit_is_refused(name: str) -> None:
    """A file larger than the byte limit is refused before it is opened, naming the limit."""
    size = (SAMPLES / name).stat().st_size
    text = _refusal(SAMPLES / name, ImportLimits(max_bytes=size - 1))
    assert "文件大小上限" in text and "EXAMBOT_IMPORT_MAX_BYTES" in text
    assert read_file(SAMPLES / name, ImportLimits(max_bytes=size))


def test_zip_bomb_is_refused_by_declared_sizes(tmp_path: Path) -> None:
    """An xlsx whose parts unpack far past the byte limit is refused before anything is unpacked."""
    path = hand_made_xlsx(tmp_path / "zip.xlsx", [_row(1, "考场", "姓名")])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/padding.bin", b"\0" * 2_000_000)
    assert path.stat().st_size < 10_000
    text = _refusal(path, ImportLimits(max_bytes=100_000))
    assert "解压后" in text and "xl/media/padding.bin" in text and "EXAMBOT_IMPORT_MAX_BYTES" in text


def test_only_declared_worksheets_may_unpack_past_the_byte_limit(tmp_path: Path) -> None:
    """A worksheet part (streamed) may unpack past the byte limit, up to 20 times it; another part may not."""
    padding = "".join(_row(n, "考场" * 100, "姓名" * 100) for n in range(1, 5_000))
    path = hand_made_xlsx(tmp_path / "long.xlsx", [padding])
    with zipfile.ZipFile(path) as zf:
        sheet = zf.getinfo("xl/worksheets/sheet1.xml").file_size
        total = sum(i.file_size for i in zf.infolist())
    limit = total // 20 + 1  # the sheet part unpacks far past the byte limit, all parts to just under 20 times it
    assert sheet > 10 * limit
    assert path.stat().st_size * 2 < limit
    assert read_file(path, ImportLimits(max_bytes=limit))
    assert "全部内容" in _refusal(path, ImportLimits(max_bytes=path.stat().st_size + 1000))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sharedStrings.xml", b" " * 2 * limit)  # named like a sheet, not declared one
    assert "xl/worksheets/sharedStrings.xml" in _refusal(path, ImportLimits(max_bytes=limit))


def test_entity_declarations_in_a_sheet_are_refused(tmp_path: Path) -> None:
    """A sheet part with a DTD (the billion-laughs entity expansion) is refused without expanding anything."""
    path = hand_made_xlsx(tmp_path / "laughs.xlsx", [_row(1, "考场", "姓名")])
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    dtd = '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    sheet = parts["xl/worksheets/sheet1.xml"].decode().replace("?>", "?>" + dtd, 1).replace("考场", "&b;")
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    assert "无法打开" in _refusal(path, ImportLimits())  # openpyxl, with defusedxml, refuses it first
    with (
        zipfile.ZipFile(path) as zf,
        zf.open("xl/worksheets/sheet1.xml") as source,
        pytest.raises(ImportFailed, match="文档类型声明"),
    ):
        scan_sheet(source, path.name, "考生名册", ImportLimits(), SheetCount())


def test_settings_defaults_match_the_importer() -> None:
    """The EXAMBOT_IMPORT_MAX_* defaults are the importer's own defaults (200,000 rows, 50 MB, 100,000 cells)."""
    s = load_settings()
    assert (s.import_max_rows, s.import_max_bytes, s.import_max_merged_cells) == (200_000, 50 * 1024 * 1024, 100_000)
    assert ImportLimits() == ImportLimits(s.import_max_rows, s.import_max_bytes, s.import_max_merged_cells)


def test_cli_hands_the_limits_down(
    make_settings: Callable[..., Settings], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``exambot import`` applies EXAMBOT_IMPORT_MAX_ROWS from the settings: exit 2, the limit on stderr."""
    parser = argparse.ArgumentParser(prog="exambot")
    register(parser.add_subparsers())
    args = parser.parse_args(["import", "staff", str(SAMPLES / "staff.csv")])
    assert args.func(args, make_settings(import_max_rows=3)) == 2
    assert "导入行数上限 3 行" in capsys.readouterr().err

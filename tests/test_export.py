"""Exports: layouts defined once and documented, finished workbooks, inert formula-like cells, safe file names."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import openpyxl
import pytest

from matcher.files import safe_filename
from matcher.work import export
from matcher.work.export import COVER_SHEET, LISTS, Cover, ExportError, cell_value, write_csv, write_xlsx

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", "\t=HYPERLINK(\"x\")", "\r=1", "=cmd|' /C calc'!A0"]


def test_layouts_have_unique_keys_and_headers() -> None:
    for spec in LISTS.values():
        names = [s.name for s in spec.sheets]
        assert len(names) == len(set(names)) and COVER_SHEET not in names
        for sheet in spec.sheets:
            assert len(sheet.headers) == len(set(sheet.headers)), sheet.name
            assert len({c.key for c in sheet.columns}) == len(sheet.columns), sheet.name
            assert all(c.note and c.header for c in sheet.columns)


def test_cobuild_layout_covers_the_issue() -> None:
    headers = set(export.COBUILD.main.headers)
    for needed in ("产业链", "西咸新区体系", "西安体系", "咸阳体系", "西咸落地新城", "西安链主/龙头", "咸阳链主/龙头",
                   "本地已有环节", "缺失环节（补链）", "知识库版本", "来源"):
        assert needed in headers
    sd = set(export.SUPPLY_DEMAND.main.headers)
    for needed in ("企业名称", "供/需", "产品或需求", "产业链", "环节", "所在地区", "对接企业1", "对接得分1", "对接理由1"):
        assert needed in sd


def _readme_columns(text: str) -> set[str]:
    """Column names in the README's 清单格式 tables (first cell of each table row)."""
    start = re.search(r"^#+ *清单格式", text, re.M).start()
    end = text.find("\n## ", start + 1)
    section = text[start:end if end > 0 else None]
    cols = set()
    for line in section.splitlines():
        m = re.match(r"^\|\s*([^|]+?)\s*\|", line)
        if m and m.group(1) not in ("列", "---"):
            cols.add(m.group(1))
    return cols


def test_readme_documents_every_layout_column() -> None:
    readme = ROOT / "README.md"
    if not readme.exists():
        pytest.skip("README.md not written yet")
    text = readme.read_text(encoding="utf-8")
    assert re.search(r"^#+ *清单格式", text, re.M), "README.md lacks the 清单格式 section (export.layouts_markdown())"
    documented = _readme_columns(text)
    defined = {c.header for spec in LISTS.values() for s in spec.sheets for c in s.columns}
    assert documented, "no column table found in the README section"
    assert documented <= defined, f"README names columns export.py does not define: {sorted(documented - defined)}"
    assert defined <= documented, f"columns missing from README: {sorted(defined - documented)}"


def test_layouts_markdown_names_every_column() -> None:
    md = export.layouts_markdown()
    defined = {c.header for spec in LISTS.values() for s in spec.sheets for c in s.columns}
    assert _readme_columns(md) == defined


@pytest.mark.parametrize("payload", PAYLOADS)
def test_cell_value_makes_formula_text_inert(payload: str) -> None:
    assert cell_value(payload).startswith("'")
    assert cell_value("普通文本") == "普通文本"
    assert cell_value(-3.25) == -3.25 and cell_value(7) == 7 and cell_value(True) == "是"
    assert cell_value(float("nan")) is None


def test_cell_value_caps_and_cleans() -> None:
    long = cell_value("长" * 40_000)
    assert len(long) < export.EXCEL_CELL_LIMIT and long.endswith("（超长截断）")
    assert cell_value("a\x00b\x07c") == "abc"
    assert cell_value(["甲", None, "乙"]) == "甲、乙"


def _sheet_rows(spec: export.ListSpec, n: int = 3) -> dict[str, list[dict[str, object]]]:
    data = {}
    for sheet in spec.sheets:
        rows = []
        for i in range(n):
            rows.append({c.key: (PAYLOADS[(i + j) % len(PAYLOADS)] if j % 3 == 0 else f"值{i}-{j}")
                         for j, c in enumerate(sheet.columns)})
        data[sheet.name] = rows
    return data


@pytest.mark.parametrize("which", list(LISTS))
def test_write_xlsx_finished_and_inert(tmp_path: Path, which: str) -> None:
    spec = LISTS[which]
    out = tmp_path / "out.xlsx"
    write_xlsx(out, spec, _sheet_rows(spec), Cover(spec.title, spec.purpose, "=HACK()", [("模型版本", "m1")]))
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [COVER_SHEET] + [s.name for s in spec.sheets]
    cover = {r[0].value: r[1].value for r in wb[COVER_SHEET].iter_rows(min_row=2, max_row=8) if r[0].value}
    assert cover["清单名称"] == spec.title and cover["筛选条件"] == "'=HACK()"
    assert all(c.data_type != "f" for row in wb[COVER_SHEET].iter_rows() for c in row)
    assert "导出日期" in cover and cover["模型版本"] == "m1"
    for sheet in spec.sheets:
        ws = wb[sheet.name]
        assert [c.value for c in ws[1]] == sheet.headers
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        assert all(6 <= ws.column_dimensions[chr(65 + i)].width <= 200 for i in range(min(26, len(sheet.columns))))
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                assert cell.data_type != "f", (sheet.name, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@\t\r":
                    pytest.fail(f"formula-like cell not escaped: {cell.coordinate} {cell.value!r}")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_write_csv_bom_and_inert(tmp_path: Path) -> None:
    sheet = export.SUPPLY_DEMAND.main
    out = write_csv(tmp_path / "sd.csv", sheet, _sheet_rows(export.SUPPLY_DEMAND)[sheet.name])
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == sheet.headers
    for r in rows[1:]:
        assert not any(v[:1] in "=+-@\t\r" for v in r if v), r


def test_written_files_get_normal_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = write_csv(tmp_path / "a.csv", export.SUPPLY_DEMAND.main, [])
        assert out.stat().st_mode & 0o777 == 0o644
        out.chmod(0o600)
        write_csv(out, export.SUPPLY_DEMAND.main, [])  # a replaced file keeps the mode it had
        assert out.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_writers_are_atomic(tmp_path: Path) -> None:
    out = tmp_path / "list.csv"
    out.write_text("previous complete file", encoding="utf-8")

    def rows():
        yield {"name": "甲"}
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_csv(out, export.SUPPLY_DEMAND.main, rows())
    assert out.read_text(encoding="utf-8") == "previous complete file"
    assert os.listdir(tmp_path) == ["list.csv"]

    xl = tmp_path / "list.xlsx"
    with pytest.raises(AttributeError):
        write_xlsx(xl, export.MATCHES, {"匹配结果": [None]}, Cover("t", "p", "f"))  # type: ignore[list-item]
    assert sorted(os.listdir(tmp_path)) == ["list.csv"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("../../etc/passwd", "etc_passwd"),
    ("..\\..\\windows\\x.xlsx", "windows_x.xlsx"),
    (".hidden.xlsx", "hidden.xlsx"),
    ("a\x00b\nc\x1b.csv", "a_b_c.csv"),
    ("CON.xlsx", "_CON.xlsx"),
    ("", "export"),
    ("重点产业链共建清单_太阳能光伏_2026-11-27.xlsx", "重点产业链共建清单_太阳能光伏_2026-11-27.xlsx"),
])
def test_safe_filename(raw: str, expected: str) -> None:
    got = safe_filename(raw)
    assert got == expected
    assert "/" not in got and "\\" not in got and not got.startswith(".")
    assert not any(ord(ch) < 32 for ch in got)


def test_default_filename_carries_list_filter_date() -> None:
    name = export.default_filename(export.COBUILD, ["太阳能光伏", None], day="2026-11-27")
    assert name == "重点产业链共建清单_太阳能光伏_2026-11-27.xlsx"
    evil = export.default_filename(export.SUPPLY_DEMAND, ["../x/..", "西安\x00"], "csv", day="2026-11-27")
    assert evil == "企业供需信息清单_x_西安_2026-11-27.csv"


def test_resolve_output(tmp_path: Path) -> None:
    assert export.resolve_output(export.COBUILD, tmp_path, ["光子"]).parent == tmp_path
    assert export.resolve_output(export.COBUILD, tmp_path / "a.csv", []).name == "a.csv"
    with pytest.raises(ExportError):
        export.resolve_output(export.COBUILD, tmp_path / "a.txt", [])
    with pytest.raises(ExportError):
        export.resolve_output(export.COBUILD, tmp_path / "a\x01.xlsx", [])


def test_cobuild_on_an_empty_database_lists_every_chain_as_a_gap(store, tmp_path: Path) -> None:
    from matcher.knowledge import kb

    res = export.export_list(store, "cobuild", tmp_path / "c.xlsx")
    wb = openpyxl.load_workbook(res.path)
    rows = list(wb["重点产业链共建清单"].iter_rows(values_only=True))
    col = {h: i for i, h in enumerate(rows[0])}
    assert [r[col["产业链"]] for r in rows[1:]] == [c["name"] for c in kb.current(store)["chains"]]
    assert all(r[col["本地企业数"]] == 0 and r[col["本地已有环节"]] is None for r in rows[1:])
    assert all(r[col["缺失环节（补链）"]].count("·") == 3 for r in rows[1:])
    segs = list(wb["环节明细"].iter_rows(min_row=2, values_only=True))
    assert segs and all(r[9] == "是" for r in segs)  # 补链缺口


def test_long_sheets_continue_on_further_sheets(tmp_path: Path) -> None:
    """Excel holds 1,048,576 rows per sheet: longer lists continue on 续 sheets, each with the header row."""
    rows = ({"row": i, "name": f"企业{i}", "kind": "产业链"} for i in range(25))  # a stream, read once
    out = write_xlsx(tmp_path / "long.xlsx", export.MATCHES, {"匹配明细": rows}, Cover("t", "p", "f"), max_rows=10)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [COVER_SHEET, "匹配结果", "匹配明细", "匹配明细（续2）", "匹配明细（续3）", "未导入行"]
    got = []
    for name in ("匹配明细", "匹配明细（续2）", "匹配明细（续3）"):
        ws = wb[name]
        assert [c.value for c in ws[1]] == export.MATCHES.sheets[1].headers and ws.freeze_panes == "A2"
        got += [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert got == list(range(25))
    assert wb["匹配明细（续3）"].auto_filter.ref.endswith("6")  # header + the last 5 rows


def test_rows_given_as_a_function_are_counted_only_when_they_may_not_fit(tmp_path: Path) -> None:
    """Rows without a length are streamed when their bound fits one worksheet; a function beyond it is read twice
    (counted, then written) and continues on 续 sheets."""
    calls = []

    def rows():
        calls.append(1)
        return ({"row": i, "name": f"企业{i}"} for i in range(12))

    out = write_xlsx(tmp_path / "a.xlsx", export.MATCHES, {"匹配明细": rows}, Cover("t", "p", "f"), max_rows=10,
                     bounds={"匹配明细": 40})
    assert len(calls) == 2
    assert openpyxl.load_workbook(out).sheetnames[2:4] == ["匹配明细", "匹配明细（续2）"]
    calls.clear()
    out = write_xlsx(tmp_path / "b.xlsx", export.MATCHES, {"匹配明细": rows}, Cover("t", "p", "f"), max_rows=20,
                     bounds={"匹配明细": 15})
    assert len(calls) == 1
    wb = openpyxl.load_workbook(out)
    assert "匹配明细（续2）" not in wb.sheetnames
    assert [r[0] for r in wb["匹配明细"].iter_rows(min_row=2, values_only=True)] == list(range(12))

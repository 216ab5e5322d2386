"""Import: encodings and formats, column mapping, every row rule, whole-file failures, the report, the CLI."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.ingest.columns import field_of, map_headers
from matcher.ingest.importer import ImportFileError, import_file, parse_region, read_table, validate_rows
from matcher.knowledge import kb
from matcher.match.engine import firm_text
from matcher.store.database import Store
from tests.conftest import ROOT, shared_file

HEADER = ["企业名称", "统一社会信用代码", "所在地区", "主营业务", "主要产品", "采购需求"]
# Real check digits (GB 32100-2015), verified with python-stdnum.
CODE_A = "91610111220822102C"
CODE_B = "916104022218011191"
BAD_CODE = "91610111220822102X"  # CODE_A with a wrong check digit

ROWS = [
    ["西安市洪庆纺织机械厂", CODE_A, "西安市灞桥区", "纺织工业专用设备配件", "纺机配件", "钢材；轴承"],
    ["咸阳三秦物资回收有限公司", CODE_B, "秦都区", "废旧物资回收，钢材板材经营", "再生钢材", ""],
    ["示例·沣东光电科技有限公司", "", "沣东新城", "激光器与光学器件的研发生产", "光纤激光器", "光学玻璃"],
    ["㐀㐁示例科技有限公司", "", "西咸新区泾河新城", "生僻字企业名称（GB18030 才能编码）", "", ""],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    """A CSV file in the given encoding, written the way spreadsheet programs write it."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]], title: str = "企业名单",
               extra_sheets: tuple[str, ...] = ()) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(header)
    for row in rows:
        ws.append(row)
    for name in extra_sheets:
        wb.create_sheet(name).append(["说明"])
    wb.save(path)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def names(store: Store) -> list[str]:
    return [f["name"] for f in store.firms()]


def report_rows(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "report must be UTF-8 with BOM for Excel"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


# -- encodings and formats ----------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_round_trip_each_encoding(store: Store, tmp_path: Path, encoding: str) -> None:
    rows = ROWS if encoding == "gb18030" else ROWS[:3]  # GBK cannot encode 㐀
    src = write_csv(tmp_path / f"firms-{encoding}.csv", HEADER, rows, encoding)
    result = import_file(store, src)
    assert (result.rows, result.stored, result.rejected, result.duplicates) == (len(rows), len(rows), 0, 0)
    assert names(store) == [r[0] for r in rows]
    firm = store.firms()[0]
    assert (firm["uscc"], firm["uscc_valid"], firm["region"], firm["district"]) == (CODE_A, 1, "西安", "灞桥区")
    assert firm["description"] == "纺织工业专用设备配件"
    assert json.loads(firm["original"])["所在地区"] == "西安市灞桥区"
    assert result.encoding.replace("-sig", "") in ("utf-8", "gb18030")


def test_utf16_tab_separated_round_trip(store: Store, tmp_path: Path) -> None:
    """Excel's "Unicode text" export: UTF-16 with BOM, tab separated."""
    text = "\t".join(HEADER) + "\r\n" + "\r\n".join("\t".join(r) for r in ROWS[:2]) + "\r\n"
    src = tmp_path / "unicode.txt"
    src.write_bytes(text.encode("utf-16"))
    result = import_file(store, src)
    assert result.stored == 2 and names(store) == [ROWS[0][0], ROWS[1][0]]


def test_xlsx_round_trip_with_numbers_and_dates(store: Store, tmp_path: Path) -> None:
    import datetime

    header = HEADER + ["从业人数", "营业收入（万元）", "成立日期"]
    rows = [r + [350, 12000.5, datetime.date(2001, 5, 1)] for r in ROWS]
    src = write_xlsx(tmp_path / "firms.xlsx", header, rows)
    result = import_file(store, src)
    assert result.stored == 4 and result.unknown_columns == ["成立日期"]
    firm = store.firms()[0]
    assert (firm["employees"], firm["revenue"]) == (350, 12000.5)
    assert json.loads(firm["original"])["成立日期"] == "2001-05-01"
    assert names(store) == [r[0] for r in ROWS]


def test_xlsx_named_sheet_and_missing_sheet(store: Store, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表为企业名单"])
    ws = wb.create_sheet("名单")
    ws.append(HEADER)
    ws.append(ROWS[0])
    src = tmp_path / "two-sheets.xlsx"
    wb.save(src)
    with pytest.raises(ImportFileError, match="--sheet"):
        import_file(store, src)  # the first sheet has no 企业名称 column; the message points to --sheet
    assert import_file(store, src, sheet="名单").stored == 1
    with pytest.raises(ImportFileError, match="找不到工作表「不存在」"):
        import_file(store, src, sheet="不存在")


def test_xlsx_formula_cells_are_text_never_evaluated(store: Store, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["公式测试有限公司", "", "西安", "=1+1", "@SUM(A1:A2)", "-2+3"])  # "=1+1" becomes a formula cell
    ws["D2"].data_type = "f"
    ws.append(["文本测试有限公司", "", "西安", "=HYPERLINK(\"http://x\")", "+86 29 1234", ""])
    ws["D3"].data_type = "s"  # a text cell that starts with "="
    src = tmp_path / "formulas.xlsx"
    wb.save(src)
    result = import_file(store, src)
    f1, f2 = store.firms()
    assert (f1["description"], f1["products"], f1["needs"]) == ("=1+1", "@SUM(A1:A2)", "-2+3")
    assert f2["description"] == "=HYPERLINK(\"http://x\")" and f2["products"] == "+86 29 1234"
    assert any("公式" in i.reason and i.row == 2 for i in result.issues)


# -- column mapping -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("header,field", [
    ("企业名称", "name"), ("公司名称", "name"), ("名称", "name"), ("Company Name", "name"), ("name", "name"),
    ("统一社会信用代码", "uscc"), ("信用代码", "uscc"), ("USCC", "uscc"), ("code", "uscc"),
    ("所在地区", "region"), ("区县", "region"), ("city", "region"), ("District", "region"),
    ("主营业务", "description"), ("经营范围", "description"), ("Business Scope", "description"),
    ("businessScope", "description"), ("主要产品", "products"), ("products", "products"), ("采购需求", "needs"),
    ("需求", "needs"), ("行业", "industry"), ("从业人数(人)", "employees"), ("营业收入（万元）", "revenue"),
    ("注册资本", "registered_capital"), ("capital", "registered_capital"), ("地址", "address"),
    ("企業名稱", "name"), ("主營業務", "description"), ("成立日期", None), ("", None), (None, None),
])
def test_header_synonyms(header: str | None, field: str | None) -> None:
    assert field_of(header) == field


def test_unknown_columns_are_reported_and_ignored(store: Store, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "x.csv", HEADER + ["法定代表人", "备注"], [ROWS[0] + ["张三", "无"]])
    result = import_file(store, src)
    assert result.unknown_columns == ["法定代表人", "备注"]
    assert {r["字段"] for r in report_rows(result.report) if "未识别的列" in r["原因"]} == {"法定代表人", "备注"}
    assert json.loads(store.firms()[0]["original"])["备注"] == "无"  # originals keep every cell


def test_mapping_keeps_several_description_columns() -> None:
    mapping, unknown = map_headers(["名称", "主营业务", "经营范围", "x"])
    assert mapping == {0: "name", 1: "description", 2: "description"} and unknown == ["x"]


def test_title_rows_above_the_header_are_skipped(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "titled.csv"
    src.write_text("2024年重点企业名单,,\n,,\n企业名称,所在地区,主营业务\n陕西某某科技有限公司,雁塔区,软件开发\n",
                   encoding="utf-8")
    table = read_table(src)
    assert table.header_row == 3 and table.rows[0].row == 4
    assert import_file(store, src).stored == 1


# -- row rules ----------------------------------------------------------------------------------------------
def test_row_without_name_is_rejected_with_row_number(store: Store, tmp_path: Path) -> None:
    rows = [ROWS[0], ["", "", "西安", "只有业务没有名称", "", ""], ["   ", "", "", "=cmd|' /C calc'!A0", "", ""], ROWS[1]]
    result = import_file(store, write_csv(tmp_path / "x.csv", HEADER, rows))
    assert (result.rows, result.stored, result.rejected) == (4, 2, 2)
    rejected = [r for r in report_rows(result.report) if r["类型"] == "拒绝"]
    assert [r["行号"] for r in rejected] == ["3", "4"]
    assert all(r["字段"] == "企业名称" and "缺少企业名称" in r["原因"] for r in rejected)
    assert rejected[1]["值"].startswith("'=")  # the report never hands Excel a formula


def test_invalid_uscc_is_kept_with_warning_and_not_used_for_dedup(store: Store, tmp_path: Path) -> None:
    rows = [["甲公司", BAD_CODE, "西安", "", "", ""], ["乙公司", BAD_CODE, "西安", "", "", ""],
            ["丙公司", "12345", "西安", "", "", ""]]
    result = import_file(store, write_csv(tmp_path / "x.csv", HEADER, rows))
    assert (result.stored, result.duplicates, result.warnings) == (3, 0, 3)
    assert [(f["uscc"], f["uscc_valid"]) for f in store.firms()] == [(BAD_CODE, 0), (BAD_CODE, 0), ("12345", 0)]
    reasons = [r["原因"] for r in report_rows(result.report)]
    assert "校验位" in reasons[0] and "18 位" in reasons[2]


def test_same_valid_uscc_rows_are_merged_later_values_win(store: Store, tmp_path: Path) -> None:
    rows = [["西安市洪庆纺织机械厂", CODE_A, "西安市灞桥区", "纺织机械", "", "钢材"],
            ["西安洪庆纺机（更名）", CODE_A.lower(), "", "纺织机械及配件", "纺机配件", ""]]
    result = import_file(store, write_csv(tmp_path / "x.csv", HEADER, rows))
    assert (result.rows, result.stored, result.duplicates) == (2, 1, 1)
    (firm,) = store.firms()
    assert firm["name"] == "西安洪庆纺机（更名）" and firm["description"] == "纺织机械及配件"
    assert firm["needs"] == "钢材" and firm["district"] == "灞桥区"  # empty later cells do not erase
    dup = [r for r in report_rows(result.report) if r["类型"] == "合并"]
    assert dup[0]["行号"] == "3" and "第 2 行" in dup[0]["原因"]


def test_reimport_updates_existing_firms_instead_of_duplicating(store: Store, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "x.csv", HEADER, ROWS[:3])
    first = import_file(store, src)
    write_csv(src, HEADER, [ROWS[0][:3] + ["新的主营业务", "", ""]] + ROWS[1:3])
    second = import_file(store, src)
    assert (first.inserted, second.inserted, second.updated) == (3, 0, 3)
    assert store.count_firms() == 3
    assert store.firms()[0]["description"] == "新的主营业务"
    runs = list(store.db.query("SELECT kind, rows, stored, input_sha256 FROM runs ORDER BY id"))
    assert [r["kind"] for r in runs] == ["import", "import"] and runs[0]["input_sha256"] != runs[1]["input_sha256"]


def test_text_is_normalised_for_matching_and_original_kept(store: Store, tmp_path: Path) -> None:
    rows = [["西安電子科技有限公司", "", "西安", "ＬＥＤ顯示屏　控制系統", "", ""]]
    import_file(store, write_csv(tmp_path / "x.csv", HEADER, rows))
    firm = store.firms()[0]
    assert firm["name"] == "西安電子科技有限公司" and firm["description"] == "ＬＥＤ顯示屏　控制系統"
    text = firm_text(firm)  # what the firm is matched on
    assert "西安电子科技有限公司" in text and "LED显示屏 控制系统" in text
    assert json.loads(firm["original"])["主营业务"] == "ＬＥＤ顯示屏　控制系統"


@pytest.mark.parametrize("value", ["=1+1", "+86-29-8888", "-5", "@SUM(A1)", "=cmd|' /C calc'!A0", "\t=1+2"])
def test_formula_like_values_are_stored_as_plain_text(store: Store, tmp_path: Path, value: str) -> None:
    import_file(store, write_csv(tmp_path / "x.csv", HEADER, [["公式公司", "", "西安", value, value, value]]))
    firm = store.firms()[0]
    assert firm["description"] == firm["products"] == firm["needs"] == value.strip()


def test_very_long_text_is_accepted(store: Store, tmp_path: Path) -> None:
    long_text = "碲化镉薄膜太阳能电池" * 10_000  # 100,000 characters
    result = import_file(store, write_csv(tmp_path / "x.csv", HEADER, [["长文本公司", "", "", long_text, "", ""]]))
    assert result.stored == 1
    assert store.firms()[0]["description"] == long_text


def test_numbers_are_parsed_or_warned(store: Store, tmp_path: Path) -> None:
    header = ["企业名称", "从业人数", "营业收入（万元）"]
    result = import_file(store, write_csv(tmp_path / "x.csv", header, [["甲公司", "1,200人", "很多"]]))
    firm = store.firms()[0]
    assert (firm["employees"], firm["revenue"]) == (1200, None)
    (warning,) = [r for r in report_rows(result.report) if r["类型"] == "警告"]
    assert (warning["行号"], warning["字段"], warning["值"]) == ("2", "营业收入（万元）", "很多")


@pytest.mark.parametrize("text,expected", [
    ("西安市灞桥区", ("西安", "灞桥区")), ("沣东新城", ("西咸新区", "沣东新城")), ("秦都区", ("咸阳", "秦都区")),
    ("陕西省西咸新区泾河新城永乐镇南街", ("西咸新区", "泾河新城")), ("西安市西咸新区空港新城", ("西咸新区", "空港新城")),
    ("沔西新城", ("西咸新区", "沣西新城")), ("西安高新区", ("西安", "高新区")), ("咸阳高新区", ("咸阳", "高新区")),
    ("陝西省鹹陽市秦都區", ("咸阳", "秦都区")), ("咸阳", ("咸阳", None)), ("西咸新区", ("西咸新区", None)),
    ("Xi'an", ("西安", None)), ("Xianyang", ("咸阳", None)), ("杨凌示范区", ("咸阳", "杨陵区")),
    ("宝鸡市", ("宝鸡", None)), ("北京市海淀区", (None, None)), ("", (None, None)),
])
def test_parse_region(text: str, expected: tuple[str | None, str | None]) -> None:
    assert parse_region(text) == expected


def test_region_from_address_and_unrecognised_region_warns(store: Store, tmp_path: Path) -> None:
    header = ["企业名称", "所在地区", "地址"]
    rows = [["甲公司", "", "陕西省西安市雁塔区科技路"], ["乙公司", "西安", "西安市未央区凤城二路"],
            ["丙公司", "火星", ""]]
    result = import_file(store, write_csv(tmp_path / "x.csv", header, rows))
    assert [(f["region"], f["district"]) for f in store.firms()] == [("西安", "雁塔区"), ("西安", "未央区"),
                                                                   (None, None)]
    assert [r["值"] for r in report_rows(result.report) if "地区" in r["原因"]] == ["火星"]


def test_mixed_encoding_csv_reads_every_line_and_warns(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "mixed.csv"
    src.write_bytes("企业名称,主营业务\n甲公司,光伏组件\n".encode() + "乙公司,钛合金锻件\n".encode("gbk")
                    + "丙公司,液晶面板\n".encode())
    result = import_file(store, src)
    assert names(store) == ["甲公司", "乙公司", "丙公司"]
    assert store.firms()[1]["description"] == "钛合金锻件"
    assert any("混用" in i.reason and "第 3 行" in i.reason for i in result.issues)


def test_multiline_cells_keep_spreadsheet_row_numbers(store: Store, tmp_path: Path) -> None:
    rows = [["甲公司", "", "", "第一行\n第二行", "", ""], ["", "", "", "无名称", "", ""]]
    result = import_file(store, write_csv(tmp_path / "x.csv", HEADER, rows))
    assert [i.row for i in result.issues if i.level == "rejected"] == [3]
    assert store.firms()[0]["description"] == "第一行\n第二行"


def test_report_path_option_and_run_record(store: Store, tmp_path: Path) -> None:
    report = tmp_path / "out" / "报告.csv"
    result = import_file(store, write_csv(tmp_path / "x.csv", HEADER, ROWS[:2]), report_path=report)
    assert result.report == report and report_rows(report) == []
    run = store.db.execute("SELECT kind, status, rows, stored, rejected, report_path FROM runs").fetchone()
    assert run == ("import", "done", 2, 2, 0, str(report))


# -- whole-file failures leave the database byte-for-byte unchanged ---------------------------------------
def _valid_xlsx_bytes(tmp_path: Path) -> bytes:
    return write_xlsx(tmp_path / "ok.xlsx", HEADER, ROWS * 20).read_bytes()


BAD_FILES = {
    "corrupt.xlsx": lambda tmp: b"PK\x03\x04" + random.Random(1).randbytes(3000),
    "truncated.xlsx": lambda tmp: _valid_xlsx_bytes(tmp)[: len(_valid_xlsx_bytes(tmp)) // 2],
    "junk.csv": lambda tmp: random.Random(2).randbytes(5000),
    "junk-no-nul.csv": lambda tmp: bytes(b for b in random.Random(3).randbytes(6000) if b),
    "header-only.csv": lambda tmp: "企业名称,主营业务\r\n".encode(),
    "header-blank-rows.csv": lambda tmp: "企业名称,主营业务\r\n,\r\n ,  \r\n".encode(),
    "no-name-column.csv": lambda tmp: "地区,主营业务\r\n西安,光伏\r\n".encode(),
    "truncated-quote.csv": lambda tmp: '企业名称,主营业务\r\n甲公司,"光伏组件，电池'.encode(),
    "truncated-char.csv": lambda tmp: "企业名称,主营业务\r\n甲公司,光伏".encode()[:-1],
    "empty.csv": lambda tmp: b"",
    "old-excel.xls": lambda tmp: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000),
    "document.pdf": lambda tmp: b"%PDF-1.7\n" + random.Random(4).randbytes(500),
    "web-page.xls": lambda tmp: "<html><body><table><tr><td>企业名称</td></tr></table></body></html>".encode(),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_whole_file_failure_leaves_database_unchanged(db_path: Path, tmp_path: Path, name: str) -> None:
    seed = Store(db_path)
    import_file(seed, write_csv(tmp_path / "seed.csv", HEADER, ROWS[:3]))
    seed.close()
    before = sha256(db_path)
    bad = tmp_path / name
    bad.write_bytes(BAD_FILES[name](tmp_path))

    store = Store(db_path)
    try:
        with pytest.raises(ImportFileError) as info:
            import_file(store, bad)
    finally:
        store.close()
    assert name in str(info.value) and "Traceback" not in str(info.value)
    assert sha256(db_path) == before
    assert not Path(str(db_path) + "-wal").exists() or Path(str(db_path) + "-wal").stat().st_size == 0


def test_missing_file_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="文件不存在"):
        import_file(store, tmp_path / "nope.csv")


# -- sample data and real data --------------------------------------------------------------------------------
def test_sample_firms_import_cleanly(store: Store) -> None:
    result = import_file(store, ROOT / "data" / "sample" / "firms_shaanxi.csv")
    assert 30 <= result.stored <= 40 and result.rejected == result.warnings == 0
    regions = {f["region"] for f in store.firms()}
    assert {"西安", "咸阳", "西咸新区"} <= regions
    assert import_file(store, ROOT / "data" / "sample" / "firms_shaanxi.csv").inserted == 0  # idempotent


def test_spillover_profiles_are_labelled_and_reproducible(store: Store) -> None:
    import importlib.util

    path = ROOT / "data" / "sample" / "make_samples.py"
    spec = importlib.util.spec_from_file_location("make_samples", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    assert module.generate(50) == module.generate(50)  # seeded: same output every run
    result = import_file(store, ROOT / "data" / "sample" / "spillover_profiles.csv")
    assert result.stored == 300 and result.rejected == 0
    firms = store.firms()
    assert all(f["name"].startswith("示例·") for f in firms)
    assert {f["region"] for f in firms} == {"西安"} and all(f["products"] and f["needs"] for f in firms)


def test_real_registrations_sample_all_codes_valid(store: Store, tmp_path: Path) -> None:
    """500 real 西安/咸阳 registrations (../shared, never copied into the repo) import with every code valid."""
    source = shared_file("data", "shaanxi_enterprises", "xian_xianyang_enterprises_1980_1998.csv")
    with source.open(encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(501)]
    sample = tmp_path / "registrations.csv"
    sample.write_text("".join(lines), encoding="utf-8")
    result = import_file(store, sample)
    assert (result.rows, result.stored, result.rejected, result.duplicates) == (500, 500, 0, 0)
    assert set(result.unknown_columns) == {"registrationDay", "character", "province"}
    firms = store.firms()
    assert all(f["uscc_valid"] == 1 for f in firms)
    assert {f["region"] for f in firms} <= {"西安", "咸阳", "西咸新区"}
    assert sum(1 for f in firms if f["district"]) > 400 and all(f["description"] for f in firms)


# -- CLI ------------------------------------------------------------------------------------------------------
def test_cli_import_prints_json_last_line(db_path: Path, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "firms.csv", HEADER, ROWS[:3] + [["", "", "", "无名称", "", ""]])
    report = tmp_path / "report.csv"
    result = CliRunner().invoke(app, ["import", str(src), "--db", str(db_path), "--report", str(report)])
    assert result.exit_code == 0, result.output
    last = json.loads(result.output.strip().splitlines()[-1])
    assert {k: last[k] for k in ("rows", "stored", "rejected", "duplicates", "warnings")} == {
        "rows": 4, "stored": 3, "rejected": 1, "duplicates": 0, "warnings": 0}
    assert last["report"] == str(report) and report.exists()


def test_cli_whole_file_failure_one_message_nonzero_exit(db_path: Path, tmp_path: Path) -> None:
    kb.open_store(db_path).close()  # a database in use: knowledge base loaded
    before = sha256(db_path)
    bad = tmp_path / "坏文件.xlsx"
    bad.write_bytes(b"PK\x03\x04not really a workbook")
    result = CliRunner().invoke(app, ["import", str(bad), "--db", str(db_path)])
    assert result.exit_code != 0
    output = result.output.strip()
    assert "坏文件.xlsx" in output and "数据库未改动" in output and "Traceback" not in output
    assert len(output.splitlines()) == 1
    assert sha256(db_path) == before


def test_validate_rows_without_a_database(tmp_path: Path) -> None:
    """The library steps work alone: batch runs validate rows without storing them."""
    rows = [ROWS[0], ["", "", "", "x", "", ""], [ROWS[0][0], CODE_A, "", "更新", "", ""], ["乙公司", BAD_CODE, "", "", "", ""]]
    good, issues = validate_rows(read_table(write_csv(tmp_path / "x.csv", HEADER, rows)))
    assert [g.row for g in good] == [2, 5] and good[0].merged_rows == [4]
    assert good[0].firm["description"] == "更新" and good[0].firm["name"].startswith("西安市洪庆纺织机械厂")
    assert [(i.row, i.level) for i in issues] == [(3, "rejected"), (4, "duplicate"), (5, "warning")]


def test_text_export_named_xls_is_read_as_delimited_text(store: Store, tmp_path: Path) -> None:
    """Systems often export tab-separated text (GBK) under an .xls name."""
    src = tmp_path / "导出.xls"
    src.write_bytes(("\t".join(HEADER) + "\r\n" + "\t".join(ROWS[0]) + "\r\n").encode("gbk"))
    assert import_file(store, src).stored == 1 and store.firms()[0]["district"] == "灞桥区"


def test_report_write_failure_rolls_back_the_import(store: Store, tmp_path: Path) -> None:
    """The report is written inside the transaction: no report, no import."""
    src = write_csv(tmp_path / "x.csv", HEADER, ROWS[:2])
    with pytest.raises(OSError):
        import_file(store, src, report_path=tmp_path)  # a directory cannot be replaced by a file
    assert store.count_firms() == 0
    assert store.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    assert not list(tmp_path.glob(".*.tmp"))

"""Bad input a new user hits: each gets one clear message naming file/row/field, and nothing half-written."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import openpyxl
import pytest
from stdnum.cn import uscc as stdnum_uscc
from typer.testing import CliRunner

from matcher.cli import app
from matcher.ingest.importer import ImportFileError, import_file
from matcher.match.engine import Matcher
from matcher.store.database import Store
from matcher.work.export import uscc_cell

HEADER = ["企业名称", "统一社会信用代码", "所在地区", "主要产品"]


def code(body: str) -> str:
    """A credit code with a correct check digit (GB 32100-2015)."""
    return body + stdnum_uscc.calc_check_digit(body)


VALID_1, VALID_2 = code("91610111220822102"), code("91610402221801119")
INVALID = VALID_1[:-1] + ("X" if VALID_1[-1] != "X" else "Y")


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows([HEADER, *rows])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def counts(store: Store) -> tuple[int, int]:
    return store.count_firms(), int(store.db.execute("SELECT count(*) FROM runs").fetchone()[0])


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [HEADER, *rows]:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_workbook_is_called_a_damaged_workbook(store: Store, tmp_path: Path, damage: str) -> None:
    good = xlsx_bytes([["甲公司", "", "西安", "光伏组件"]])
    data = good[: len(good) // 2] if damage == "truncated" else bytes(range(256)) * 40
    path = tmp_path / "名单.xlsx"
    path.write_bytes(data)
    before = counts(store)
    with pytest.raises(ImportFileError) as err:
        import_file(store, path)
    assert "工作簿" in err.value.message and "损坏" in err.value.message
    assert "UTF-8" not in err.value.message and "CSV" not in err.value.message
    assert counts(store) == before
    result = CliRunner().invoke(app, ["import", str(path), "--db", str(store.path)])
    assert result.exit_code == 1 and "名单.xlsx" in result.output and "损坏" in result.output


def test_formula_and_link_names_are_quarantined(store: Store, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "f.csv", [
        ["西安正常科技有限公司", "", "西安", "光伏组件"],
        ['=HYPERLINK("http://example.com/x","点击")', "", "西安", "逆变器"],
        ["https://example.com/firm", "", "咸阳", "钢材"],
    ])
    result = import_file(store, src)
    assert (result.stored, result.quarantined, result.rejected) == (1, 2, 2)
    assert [f["name"] for f in store.firms()] == ["西安正常科技有限公司"]
    held = store.quarantined()
    assert sorted(r["source_row"] for r in held) == [3, 4]
    assert all(r["field"] == "企业名称" and ("公式" in r["reason"] or "网址" in r["reason"]) for r in held)
    assert json.loads(held[0]["original"])  # the whole row is kept for review
    with open(result.report, encoding="utf-8-sig") as fh:
        report = list(csv.DictReader(fh))
    assert [r["类型"] for r in report if r["行号"] in ("3", "4")] == ["隔离", "隔离"]


def test_formula_name_cell_in_a_workbook_is_quarantined(store: Store, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["正常企业有限公司", "", "西安", "光伏组件"])
    ws.append(['=HYPERLINK("http://example.com","点击")', "", "西安", "=A2&\"配件\""])
    path = tmp_path / "f.xlsx"
    wb.save(path)
    result = import_file(store, path)
    assert [f["name"] for f in store.firms()] == ["正常企业有限公司"] and result.quarantined == 1
    notes = [i for i in result.issues if "公式" in i.reason]
    assert notes and all(not i.field.startswith("第") for i in notes)  # named by header, e.g. 主要产品 / 企业名称
    with open(result.report, encoding="utf-8-sig") as fh:
        rows = [int(r["行号"]) for r in csv.DictReader(fh) if r["行号"]]
    assert rows == sorted(rows)


def test_invalid_code_twin_is_flagged_and_never_a_counterpart(tmp_path: Path) -> None:
    from matcher.knowledge import kb

    store = kb.open_store(tmp_path / "t.db")
    # Two firms share a name but have different valid codes; a third row of that name has a mistyped code, so it
    # cannot be merged into either and is stored on its own: the twin.
    import_file(store, write_csv(tmp_path / "a.csv", [
        ["秦川光伏科技有限公司", VALID_1, "西安", "光伏组件 逆变器"],
        ["秦川光伏科技有限公司", VALID_2, "咸阳", "光伏组件 支架"],
        ["秦川光伏科技有限公司", INVALID, "西安", "光伏组件"],
        ["渭河硅材料有限公司", "", "咸阳", "多晶硅 硅片"],
    ]))
    twin = next(f for f in store.firms() if f["uscc_valid"] == 0)
    assert store.invalid_twins() == {twin["id"]}
    offerable = {f["id"] for f in store.firms(offerable=True)}
    assert twin["id"] not in offerable and len(offerable) == store.count_firms() - 1
    assert "校验位不符" in (uscc_cell(twin) or "") and uscc_cell({"uscc": VALID_1, "uscc_valid": 1}) == VALID_1
    m = Matcher.for_store(store)
    assert twin["id"] not in set(int(i) for i in m.ids_)
    valid = next(f for f in store.firms() if f["uscc"] == VALID_1)
    res = m.match(valid["id"], store=store, k=10)
    assert twin["id"] not in {h.data.get("id") for h in res.suppliers + res.customers}


@pytest.mark.parametrize("query", ["", "   ", "\t"])
def test_empty_query_is_an_error(tmp_path: Path, query: str) -> None:
    for command in ("match", "search"):
        result = CliRunner().invoke(app, [command, query, "--db", str(tmp_path / "e.db")])
        assert result.exit_code == 1 and "不能为空" in result.output, result.output


@pytest.mark.parametrize(("option", "value", "listed"), [("--region", "火星", "西咸新区"), ("--park", "火星新城", "沣东新城"),
                                                         ("--system", "火星体系", "（"), ("--chain", "火星链", "氢能")])
def test_unknown_filter_values_are_refused_with_the_valid_ones(tmp_path: Path, option: str, value: str,
                                                               listed: str) -> None:
    command = "search" if option == "--chain" else "match"
    result = CliRunner().invoke(app, [command, "光伏组件", option, value, "--db", str(tmp_path / "e.db")])
    assert result.exit_code == 1, result.output
    assert value in result.output and "可用的值" in result.output and listed in result.output


def test_help_is_chinese_and_not_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    for args in (["--help"], ["import", "--help"], ["users", "--help"], ["backup", "--help"]):
        out = CliRunner().invoke(app, args, terminal_width=80).output
        assert "Show this message" not in out and "Usage:" not in out and "Options" not in out, out
        assert "显示本帮助并退出" in out
        assert not [line for line in out.splitlines() if line.rstrip().endswith(("...", "…")) and "用法" not in line]
    top = CliRunner().invoke(app, ["--help"], terminal_width=80).output
    assert "最后一行输出 JSON 统计。" in top  # the import line is shown whole, past column 80
    assert os.environ["COLUMNS"] == "80"


@pytest.mark.parametrize("args, said", [
    (["match", "光伏组件", "--k", "3"], "错误：没有这个选项：--k"),
    (["match"], "错误：缺少参数 query。"),
    (["nosuch"], "错误：没有这个命令：nosuch。"),
    (["batch", "x.csv", "-o", "y.xlsx", "--k", "abc"], "错误：--k 的取值无效：应为整数"),
])
def test_usage_errors_are_in_chinese(args: list[str], said: str) -> None:
    from typer.testing import CliRunner

    from matcher.cli import app

    result = CliRunner().invoke(app, args, prog_name="matcher")
    assert result.exit_code == 2
    assert said in result.output and "用法：matcher" in result.output and "--help" in result.output
    assert not any(w in result.output for w in ("Usage:", "Error:", "Try '"))

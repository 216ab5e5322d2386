"""Batch runs and exports on real data: every sheet and column, the runs record, resume, bad input, the lists."""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.ingest.importer import ImportFileError, import_file
from matcher.store import runs as run_store
from matcher.store.database import Store
from matcher.work import batch, export
from matcher.work import results as stored_results
from matcher.work.batch import BatchError, run_batch
from matcher.work.export import COVER_SHEET, ExportError, export_list
from tests.conftest import ROOT, shared_file

SAMPLE = ROOT / "data" / "sample" / "firms_shaanxi.csv"
PAYLOAD = "=HYPERLINK(\"http://x\",\"点我\")"
# Cover lines that belong to one run, not to its results.
RUN_LINES = {"运行编号", "开始时间", "结束时间", "导出日期"}


def shaanxi_rows(n: int) -> tuple[list[str], list[list[str]]]:
    """The first ``n`` data rows of the real registrations (read from ../shared, never copied into the repo)."""
    src = shared_file("data", "shaanxi_enterprises", "xian_xianyang_enterprises_1980_1998.csv")
    with open(src, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [r for _, r in zip(range(n), reader, strict=False)]
    return header, rows


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def real_input(tmp: Path, n: int = 150) -> Path:
    """First ``n`` real firms, plus a formula payload in one cell and a row without a name (rejected)."""
    header, rows = shaanxi_rows(n)
    rows = [list(r) for r in rows]
    rows[3][header.index("businessScope")] = PAYLOAD
    rows.insert(10, ["", "", "", "", "", "只有经营范围没有名称", "陕西", "西安", ""])
    return write_rows(tmp / "firms.csv", header, rows)


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the bundled sample firms (the counterparts), its indexes built once for the module."""
    path = tmp_path_factory.mktemp("batchdb") / "batch.db"
    s = Store(path)
    import_file(s, SAMPLE)
    with open(ROOT / "data" / "sample" / "spillover_profiles.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    import_file(s, write_rows(path.parent / "spillover.csv", rows[0], rows[1:151]))  # half: enough counterparts
    s.close()
    return path


@pytest.fixture
def sstore(sample_db: Path) -> Store:
    s = Store(sample_db)
    yield s
    s.close()


def values(path: Path, skip_cover_lines: bool = True) -> dict[str, list[list[object]]]:
    """Every sheet's cell values; the cover without the lines that name one run."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        rows = [[c.value for c in r] for r in ws.iter_rows()]
        if ws.title == COVER_SHEET and skip_cover_lines:
            rows = [r for r in rows if r[0] not in RUN_LINES]
        out[ws.title] = rows
    return out


def assert_same_values(got: Path, want: Path) -> None:
    """Every sheet of two workbooks holds the same cell values (the cover's per-run lines aside); names the first
    differing cell."""
    a, b = values(got), values(want)
    assert list(a) == list(b)
    for sheet in a:
        rows_a, rows_b = a[sheet], b[sheet]
        for i, (ra, rb) in enumerate(zip(rows_a, rows_b, strict=False), start=1):
            assert ra == rb, f"{sheet} row {i} differs: {[(x, y) for x, y in zip(ra, rb, strict=False) if x != y][:3]}"
        assert len(rows_a) == len(rows_b), sheet


def batch_runs(s: Store) -> list[dict]:
    return list(s.db.query("SELECT * FROM runs WHERE kind = 'batch' ORDER BY id"))


# ---------------------------------------------------------------------------------------------------------------
def test_batch_over_real_sample(sstore: Store, tmp_path: Path) -> None:
    src = real_input(tmp_path)
    out = tmp_path / "结果.xlsx"
    calls: list[tuple[int, int]] = []
    res = run_batch(sstore, src, out, k=2, chunk_size=40, progress=lambda d, t: calls.append((d, t)))
    assert res.firms >= 140 and res.rejected == 1 and res.matched == res.firms and res.resumed_from == 0
    assert calls[0] == (0, res.firms) and calls[-1] == (res.firms, res.firms)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [COVER_SHEET] + [s.name for s in export.MATCHES.sheets]
    for sheet in export.MATCHES.sheets:
        ws = wb[sheet.name]
        assert [c.value for c in ws[1]] == sheet.headers
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    summary = list(wb["匹配结果"].iter_rows(min_row=2, values_only=True))
    assert len(summary) == res.firms
    headers = export.MATCHES.main.headers
    col = {h: i for i, h in enumerate(headers)}
    assert all(r[col["企业名称"]] for r in summary)
    assert sum(1 for r in summary if r[col["首选产业链"]]) > 0
    assert all(r[col["国民经济行业小类"]] for r in summary)
    assert all(r[col["推荐落地载体"]] for r in summary)
    assert all(isinstance(r[col["产业链得分"]], (int, float)) for r in summary if r[col["首选产业链"]])
    assert any(r[col["推荐供应商"]] or r[col["推荐客户"]] for r in summary)
    # every formula-like cell is text, the payload included
    payload_cells = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str) and c.value.lstrip("'").startswith("=HYPERLINK"):
                    payload_cells.append(c)
    assert payload_cells, "the payload row is missing from the workbook"
    assert all(c.value.startswith("'=") and c.data_type == "s" for c in payload_cells), payload_cells
    rejected = list(wb["未导入行"].iter_rows(min_row=2, values_only=True))
    assert any(r[0] == 12 and r[2] == "拒绝" for r in rejected)  # the inserted nameless row (row 12 of the file)
    detail = list(wb["匹配明细"].iter_rows(min_row=2, values_only=True))
    kinds = {r[2] for r in detail}
    assert {"产业链", "行业小类", "落地载体"} <= kinds
    parts_ok = [r for r in detail if r[8]]
    assert parts_ok and all(r[7] is not None for r in parts_ok)

    run = run_store.get_run(sstore, res.run_id)
    assert run["status"] == "done" and run["kind"] == "batch"
    assert run["input_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert (run["rows"], run["stored"], run["rejected"], run["done"]) == (res.rows, res.firms, 1, res.firms)
    assert run["model_version"] and run["kb_version"] >= 1 and run["started_at"] and run["ended_at"]
    assert run["params"]["k"] == 2 and run["params"]["index_version"] and run["output_path"] == str(out)
    assert Path(run["report_path"]).exists()
    cover = {r[0]: r[1] for r in values(out, skip_cover_lines=False)[COVER_SHEET] if r and r[0]}
    assert cover["运行编号"] == f"批次 {run['number']}" == f"批次 {res.number}"
    assert cover["模型版本"] == run["model_version"]
    assert str(run["kb_version"]) in str(cover["知识库版本"])
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_batch_links_stored_firms_and_never_self(sstore: Store, tmp_path: Path) -> None:
    out = tmp_path / "sample.xlsx"
    res = run_batch(sstore, SAMPLE, out, k=3)
    results = stored_results.run_results(sstore, res.run_id)
    assert len(results) == res.firms and all(fm.firm_id for fm in results)
    for fm in results:
        for kind in ("supplier", "customer"):
            assert str(fm.firm_id) not in {h.target for h in fm.hits.get(kind, [])}, fm.firm["name"]
    names = {fm.firm["name"]: fm for fm in results}
    solar = names["隆基绿能科技股份有限公司"]
    assert solar.hits["chain"][0].target == "太阳能光伏"


def test_interrupted_batch_resumes_to_the_same_workbook(sstore: Store, tmp_path: Path) -> None:
    src = real_input(tmp_path, 90)
    ref = tmp_path / "ref.xlsx"
    run_batch(sstore, src, ref, k=2, chunk_size=25, restart=True)

    out = tmp_path / "out.xlsx"

    def stop_after_40(done: int, total: int) -> None:  # progress is reported per checkpointed chunk
        if done >= 40:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(sstore, src, out, k=2, chunk_size=25, progress=stop_after_40)
    assert not out.exists()
    run = batch_runs(sstore)[-1]
    assert run["status"] == "failed" and run["done"] == 50  # two chunks checkpointed, the rest not started
    res = run_batch(sstore, src, out, k=2, chunk_size=25)
    assert res.run_id == run["id"] and res.resumed_from == 50
    assert run_store.get_run(sstore, run["id"])["status"] == "done"
    assert_same_values(out, ref)
    # a finished run is not resumed: the same command starts a new run
    again = run_batch(sstore, src, tmp_path / "again.xlsx", k=2)
    assert again.run_id != run["id"] and again.resumed_from == 0


def _corrupt_xlsx(p: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active.append(["企业名称"])
    wb.active.append(["甲公司"])
    wb.save(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return p


def _file(p: Path, name: str, data: bytes | str) -> Path:
    f = p / name
    f.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return f


BAD_INPUTS = {
    "missing": lambda p: p / "nope.csv",
    "empty": lambda p: _file(p, "e.csv", b""),
    "binary": lambda p: _file(p, "b.csv", bytes(range(256)) * 50),
    "header_only": lambda p: _file(p, "h.csv", "企业名称,主营业务\n"),
    "wrong_columns": lambda p: _file(p, "w.csv", "a,b\n1,2\n"),
    "all_rejected": lambda p: _file(p, "r.csv", "企业名称,主营业务\n,光伏\n,氢能\n"),
    "corrupt_xlsx": lambda p: _corrupt_xlsx(p / "c.xlsx"),
    "pdf": lambda p: _file(p, "x.pdf", b"%PDF-1.4 junk"),
    "not_a_workbook_zip": lambda p: _zip(p / "z.xlsx"),
}


def _zip(p: Path) -> Path:
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    return p


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_fails_cleanly(sstore: Store, tmp_path: Path, case: str) -> None:
    src = BAD_INPUTS[case](tmp_path)
    out = tmp_path / "out.xlsx"
    before = len(batch_runs(sstore))
    with pytest.raises(ImportFileError) as info:
        run_batch(sstore, src, out)
    assert str(src.name) in str(info.value)
    assert not out.exists()
    assert len(batch_runs(sstore)) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("name", ["out.csv", "folder", "same"])
def test_bad_output_fails_before_any_run(sstore: Store, tmp_path: Path, name: str) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["企业名称", "主营业务"])
    wb.active.append(["甲光伏公司", "光伏组件"])
    src = tmp_path / "in.xlsx"
    wb.save(src)
    data = src.read_bytes()
    out = {"same": src, "folder": tmp_path / "folder.xlsx", "out.csv": tmp_path / "out.csv"}[name]
    if name == "folder":
        out.mkdir()
    before = len(batch_runs(sstore))
    with pytest.raises(BatchError) as info:
        run_batch(sstore, src, out)
    assert str(out.name) in str(info.value)
    assert len(batch_runs(sstore)) == before
    assert src.read_bytes() == data


def test_previous_output_survives_a_failed_write(sstore: Store, tmp_path: Path) -> None:
    """A batch that fails while writing leaves the previous complete workbook at OUT and the run failed, resumable."""
    src = write_rows(tmp_path / "in.csv", ["企业名称", "主营业务"], [["甲光伏公司", "光伏组件生产"]])
    out = tmp_path / "out.xlsx"
    run_batch(sstore, src, out, k=1)
    before = out.read_bytes()
    src.write_text("企业名称,主营业务\n乙氢能公司,燃料电池电堆\n", encoding="utf-8")

    def boom(done: int, total: int) -> None:
        if done == total:
            raise OSError("磁盘已满")

    with pytest.raises(OSError):
        run_batch(sstore, src, out, k=1, progress=boom)
    assert out.read_bytes() == before
    assert batch_runs(sstore)[-1]["status"] == "failed"


# ---------------------------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------------------------
def test_export_cobuild(sstore: Store, tmp_path: Path) -> None:
    # Exporting never matches: the stored firms' results come from a run made first (the CLI and app do this).
    before = len(run_store.list_runs(sstore, kind="firms", limit=None))
    export_list(sstore, "cobuild", tmp_path / "before.csv", k=2)
    assert len(run_store.list_runs(sstore, kind="firms", limit=None)) == before
    run = batch.firms_run(sstore, k=2)
    res = export_list(sstore, "cobuild", tmp_path, firms_run_id=run["id"], k=2)
    assert res.path.parent == tmp_path and res.path.name.startswith("重点产业链共建清单_")
    wb = openpyxl.load_workbook(res.path)
    assert wb.sheetnames == [COVER_SHEET, "重点产业链共建清单", "环节明细"]
    main = list(wb["重点产业链共建清单"].iter_rows(values_only=True))
    assert list(main[0]) == export.COBUILD.main.headers
    from matcher.knowledge import kb

    kbd = kb.current(sstore)
    assert len(main) - 1 == len(kbd["chains"])
    col = {h: i for i, h in enumerate(main[0])}
    rows = {r[col["产业链"]]: r for r in main[1:]}
    solar = rows["太阳能光伏"]
    assert solar[col["本地企业数"]] >= 1 and solar[col["知识库版本"]] == kbd["version"] and solar[col["来源"]]
    assert "西安" in (solar[col["西安体系"]] or "")
    for r in main[1:]:  # present + missing stages always cover the three stages
        stages = (r[col["本地已有环节"]] or "") + (r[col["缺失环节（补链）"]] or "")
        assert all(s in stages for s in ("上游", "中游", "下游"))
        assert r[col["本地企业数"]] == sum(r[col[f"{s}企业数"]] for s in ("上游", "中游", "下游", "环节未定"))
        assert r[col["本地企业数"]] >= sum(r[col[f"{c}企业数"]] for c in ("西安", "咸阳", "西咸新区"))
    segs = list(wb["环节明细"].iter_rows(min_row=2, values_only=True))
    assert len(segs) == 3 * len(kbd["chains"])
    # the stored-firm matches are kept: a second export reuses them (no new run)
    n_runs = len(run_store.list_runs(sstore, kind="firms", limit=None))
    one = export_list(sstore, "cobuild", tmp_path / "pv.csv", chain="光伏", k=2)
    assert len(run_store.list_runs(sstore, kind="firms", limit=None)) == n_runs
    assert one.rows == 1 and one.filters["chain"] == "太阳能光伏"
    raw = one.path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "太阳能光伏" in raw.decode("utf-8-sig")


def test_export_supply_demand_and_filters(sstore: Store, tmp_path: Path) -> None:
    run = batch.firms_run(sstore, k=2)
    res = export_list(sstore, "supply-demand", tmp_path / "sd.xlsx", firms_run_id=run["id"], region="西安", k=2)
    wb = openpyxl.load_workbook(res.path)
    rows = list(wb["企业供需信息清单"].iter_rows(values_only=True))
    col = {h: i for i, h in enumerate(rows[0])}
    assert rows[0] == tuple(export.SUPPLY_DEMAND.main.headers)
    assert len(rows) - 1 == res.rows > 0
    assert {r[col["供/需"]] for r in rows[1:]} <= {"供", "需"} and any(r[col["供/需"]] == "供" for r in rows[1:])
    assert all(r[col["所在地区"]] == "西安" for r in rows[1:])
    with_cp = [r for r in rows[1:] if r[col["对接企业1"]]]
    assert with_cp and all(isinstance(r[col["对接得分1"]], (int, float)) and r[col["对接理由1"]] for r in with_cp)
    with pytest.raises(ExportError):
        export_list(sstore, "supply-demand", tmp_path / "x.xlsx", chain="不存在的链")
    with pytest.raises(ExportError):
        export_list(sstore, "supply-demand", tmp_path / "x.xlsx", region="火星")
    with pytest.raises(ExportError):
        export_list(sstore, "nothing", tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()


def test_export_matches_of_a_run(sstore: Store, tmp_path: Path) -> None:
    src = write_rows(tmp_path / "in.csv", ["企业名称", "主营业务"], [["甲光伏公司", "单晶硅片、光伏组件生产"],
                                                                  ["乙氢能公司", "燃料电池电堆与膜电极"]])
    b = run_batch(sstore, src, tmp_path / "b.xlsx", k=2)
    res = export_list(sstore, "matches", tmp_path, run_id=b.run_id)
    assert f"批次{b.number}" in res.path.name and res.rows == 2 and res.as_dict()["run"] == f"批次 {b.number}"
    assert values(res.path)["匹配结果"] == values(tmp_path / "b.xlsx")["匹配结果"]
    with pytest.raises(ExportError):
        export_list(sstore, "matches", tmp_path, run_id=999_999)


# ---------------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------------
def test_cli_batch_runs_export(sample_db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    src = write_rows(tmp_path / "in.csv", ["企业名称", "主营业务"], [["丙光电公司", "光纤激光器研发生产"]])
    out = tmp_path / "cli.xlsx"
    r = runner.invoke(app, ["batch", str(src), "-o", str(out), "--db", str(sample_db), "--k", "2"])
    assert r.exit_code == 0, r.output
    last = json.loads(r.stdout.strip().splitlines()[-1])
    assert last["output"] == str(out) and last["matched"] == 1 and out.exists()
    assert f"（批次 {last['run']}）" in r.stdout

    r = runner.invoke(app, ["runs", "--db", str(sample_db), "--kind", "batch", "--limit", "1000"])
    assert r.exit_code == 0, r.output
    runs = json.loads(r.stdout.strip().splitlines()[-1])
    assert runs[0]["id"] == last["run_id"] and runs[0]["status"] == "done"
    assert "批量匹配" in r.stdout
    # users know the run by its batch number, counted from 1 among batches (imports and stored-firm runs apart)
    numbers = [x["number"] for x in runs]
    assert runs[0]["number"] == last["run"] == len(runs) and sorted(numbers) == list(range(1, len(runs) + 1))
    assert r.stdout.splitlines()[1].split()[0] == str(last["run"])
    target = tmp_path / "by-number.xlsx"
    r = runner.invoke(app, ["export", "matches", "--run", str(last["run"]), "-o", str(target), "--db", str(sample_db)])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["run"] == f"批次 {last['run']}" and got["run_id"] == last["run_id"] and got["rows"] == 1

    for which in ("cobuild", "supply-demand", "matches"):
        target = tmp_path / f"{which}.xlsx"
        r = runner.invoke(app, ["export", which, "-o", str(target), "--db", str(sample_db), "--k", "2"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout.strip().splitlines()[-1])["path"] == str(target) and target.exists()

    r = runner.invoke(app, ["batch", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "m.xlsx"), "--db",
                            str(sample_db)])
    assert r.exit_code == 1 and "文件不存在" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["export", "cobuild", "--chain", "火星链", "--db", str(sample_db)])
    assert r.exit_code == 1 and "没有产业链" in r.output


def test_batch_and_exports_need_no_network(sstore: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With every socket connection refused, a batch and all three lists still work: no data leaves the machine."""
    import socket

    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    src = write_rows(tmp_path / "in.csv", ["企业名称", "主营业务"], [["丁传感公司", "压力传感器、MEMS 芯片"]])
    run_batch(sstore, src, tmp_path / "b.xlsx", k=2)
    for which in ("cobuild", "supply-demand", "matches"):
        assert export_list(sstore, which, tmp_path / f"{which}.xlsx", k=2).path.exists()
    assert attempts == []


def test_export_one_search_result(sstore: Store, tmp_path: Path) -> None:
    from matcher.match.engine import Matcher

    res = Matcher.for_store(sstore).match("=单晶硅片与光伏组件的研发生产", k=3)
    out = export.export_result(sstore, res, tmp_path)
    assert out.path.parent == tmp_path and out.path.name.startswith("匹配结果_")
    wb = openpyxl.load_workbook(out.path)
    rows = list(wb["匹配结果"].iter_rows(values_only=True))
    assert rows[0] == tuple(export.MATCHES.main.headers) and len(rows) == 2
    col = {h: i for i, h in enumerate(rows[0])}
    assert rows[1][col["首选产业链"]] == "太阳能光伏"
    assert all(c.data_type != "f" for ws in wb.worksheets for r in ws.iter_rows() for c in r)
    detail = list(wb["匹配明细"].iter_rows(min_row=2, values_only=True))
    assert {r[2] for r in detail} >= {"产业链", "行业小类", "落地载体"}
    csv_out = export.export_result(sstore, res, tmp_path / "one.csv")
    assert csv_out.path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_batch_with_worker_processes_equals_one_process(sstore: Store, tmp_path: Path) -> None:
    src = real_input(tmp_path, 60)
    one, two = tmp_path / "one.xlsx", tmp_path / "two.xlsx"
    run_batch(sstore, src, one, k=3, chunk_size=25, restart=True, workers=1)
    res = run_batch(sstore, src, two, k=3, chunk_size=25, restart=True, workers=2)
    assert res.matched == 60  # 60 real firms + 1 row without a name (rejected)
    assert_same_values(two, one)


def test_batch_workbook_layout(sstore: Store, tmp_path: Path) -> None:
    """Each data sheet of a batch workbook: header bold and shaded, frozen, filtered over its rows, column widths
    from its rows; the cover lists every sheet's columns under a shaded header."""
    src = real_input(tmp_path, 30)
    out = tmp_path / "out.xlsx"
    run_batch(sstore, src, out, k=3, chunk_size=20, restart=True, workers=1)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [COVER_SHEET, "匹配结果", "匹配明细", "未导入行"]
    for sheet in export.MATCHES.sheets:
        ws = wb[sheet.name]
        assert [c.value for c in ws[1]] == sheet.headers
        assert all(c.font.b and c.fill.fgColor.rgb.endswith("DDEBF7") for c in ws[1])
        assert ws.freeze_panes == "A2"
        last = openpyxl.utils.get_column_letter(len(sheet.columns))
        assert ws.auto_filter.ref == f"A1:{last}{max(2, ws.max_row)}"
    widths = {k: d.width for k, d in wb["匹配结果"].column_dimensions.items()}
    assert widths["B"] > 20 > widths["A"]  # 企业名称 wide, 行号 narrow
    cover = wb[COVER_SHEET]
    head = next(r for r in range(1, cover.max_row + 1) if cover.cell(r, 1).value == "工作表")
    assert cover.cell(head, 1).font.b and cover.cell(head, 2).value == "列名"
    assert cover.max_row - head == sum(len(s.columns) for s in export.MATCHES.sheets)

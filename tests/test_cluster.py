"""Batch matching on a local Dask cluster (2 worker processes): same run records and workbook as a local run,
resumable by partition, and the screening mode's output equal across local and cluster runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.store import runs as run_store
from matcher.store.database import Store
from matcher.work.batch import run_batch
from tests import test_batch
from tests.test_batch import assert_same_values, batch_runs, real_input

sample_db, sstore = test_batch.sample_db, test_batch.sstore  # the batch tests' database with its sample firms

pytest.importorskip("distributed")


def test_cluster_batch_equals_local_run_and_resumes_by_partition(sstore: Store, tmp_path: Path) -> None:
    src = real_input(tmp_path, 120)
    local, remote, resumed = tmp_path / "local.xlsx", tmp_path / "cluster.xlsx", tmp_path / "resumed.xlsx"
    ref = run_batch(sstore, src, local, k=3, chunk_size=30, restart=True, workers=1)
    res = run_batch(sstore, src, remote, k=3, chunk_size=30, restart=True, workers=2, cluster="local")
    assert res.matched == ref.matched == 120 and res.resumed_from == 0
    assert_same_values(remote, local)
    run = run_store.get_run(sstore, res.run_id)
    assert run["status"] == "done" and run["done"] == 120 and run["output_path"] == str(remote)

    def stop_after_two(done: int, total: int) -> None:  # called once per checkpointed partition
        if done >= 60:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(sstore, src, resumed, k=3, chunk_size=30, restart=True, workers=2, cluster="local",
                  progress=stop_after_two)
    cut = batch_runs(sstore)[-1]
    assert cut["status"] == "failed" and cut["done"] % 30 == 0 and 60 <= cut["done"] < 120
    again = run_batch(sstore, src, resumed, k=3, chunk_size=30, workers=2, cluster="local")
    assert again.run_id == cut["id"] and again.resumed_from == cut["done"]
    assert_same_values(resumed, local)


@pytest.mark.slow
def test_cluster_batch_of_2000_firms_equals_local_run(sstore: Store, tmp_path: Path) -> None:
    src = real_input(tmp_path, 2000)
    local, remote = tmp_path / "local.xlsx", tmp_path / "cluster.xlsx"
    run_batch(sstore, src, local, k=3, restart=True, workers=1)
    run_batch(sstore, src, remote, k=3, restart=True, workers=2, cluster="local")
    assert_same_values(remote, local)


def _to_parquet(src: Path, out: Path) -> Path:
    import pandas as pd

    pd.read_csv(src, dtype=str, keep_default_na=False).to_parquet(out, index=False)
    return out


def test_batch_reads_parquet_like_csv(sstore: Store, tmp_path: Path) -> None:
    from tests.test_batch import values

    src = real_input(tmp_path, 40)
    pq_src = _to_parquet(src, tmp_path / "firms.parquet")
    a = run_batch(sstore, src, tmp_path / "csv.xlsx", k=2, restart=True, workers=1)
    b = run_batch(sstore, pq_src, tmp_path / "pq.xlsx", k=2, restart=True, workers=1)
    assert (b.rows, b.firms, b.rejected) == (a.rows, a.firms, a.rejected) == (41, 40, 1)
    assert run_store.get_run(sstore, b.run_id)["params"]["format"] == "parquet"
    got, want = values(tmp_path / "pq.xlsx"), values(tmp_path / "csv.xlsx")
    for sheet in ("匹配结果", "匹配明细", "未导入行"):
        assert got[sheet] == want[sheet], sheet


def test_screen_gives_the_batch_answers_locally_and_on_the_cluster(sstore: Store, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from matcher.knowledge import kb
    from matcher.work import results as stored
    from matcher.work.screen import COLUMNS, run_screen

    src = real_input(tmp_path, 90)
    pool = _to_parquet(src, tmp_path / "pool.parquet")
    kbd = kb.current(sstore)
    one = run_screen(kbd, pool, tmp_path / "one.parquet", block=100, workers=1)
    two = run_screen(kbd, pool, tmp_path / "two.parquet", block=25, workers=2, cluster="local")
    assert (one.rows, one.screened, one.skipped) == (two.rows, two.screened, two.skipped) == (91, 90, 1)
    a, b = pq.read_table(one.output), pq.read_table(two.output)
    assert a.column_names == list(COLUMNS) and a.equals(b)
    rows = a.to_pylist()
    assert [r["行号"] for r in rows] == sorted(r["行号"] for r in rows)
    # the same first chain, class and landing place as a full batch run of the same firms
    ref = run_batch(sstore, src, tmp_path / "ref.xlsx", k=1, restart=True, workers=1)
    by_row = {fm.row: fm for fm in stored.run_results(sstore, ref.run_id)}
    assert set(by_row) == {r["行号"] for r in rows}
    for r in rows:
        fm = by_row[r["行号"]]
        assert r["首选产业链"] == (fm.top("chain").target if fm.top("chain") else None), r["企业名称"]
        assert r["行业小类"] == fm.top("industry").target and r["推荐落地载体"] == fm.top("park").target
        assert r["载体理由"] == fm.top("park").reason and r["行业理由"]
        parts = __import__("json").loads(r["行业得分构成"])
        assert abs(sum(parts.values()) - r["行业得分"]) < 1e-3


def test_more_firms_than_a_sheet_holds_go_to_parquet_beside_a_summary_workbook(sstore: Store, tmp_path: Path) -> None:
    import openpyxl
    import pyarrow.parquet as pq

    from matcher.work import export

    src = real_input(tmp_path, 30)
    full, big = tmp_path / "full.xlsx", tmp_path / "big.xlsx"
    run_batch(sstore, src, full, k=2, restart=True, workers=1)
    res = run_batch(sstore, src, big, k=2, restart=True, workers=1, excel_rows=20)  # 30 firms > 20 rows per sheet
    main, detail = export.large_output_paths(big)
    assert res.parquet == (main, detail) and main.exists() and detail.exists()
    wb = openpyxl.load_workbook(big)
    assert wb.sheetnames == [export.COVER_SHEET, "产业链汇总", "未导入行"]
    cover = " ".join(str(c.value) for r in wb[export.COVER_SHEET].iter_rows() for c in r if c.value)
    assert main.name in cover and detail.name in cover
    want = openpyxl.load_workbook(full)
    for name, path in (("匹配结果", main), ("匹配明细", detail)):
        rows = [list(r) for r in want[name].iter_rows(values_only=True)]
        table = pq.read_table(path)
        assert table.column_names == rows[0]
        got = [[None if v is None else v for v in r.values()] for r in table.to_pylist()]
        norm = [[None if v in (None, "") else (float(v) if isinstance(v, (int, float)) else str(v)) for v in r]
                for r in rows[1:]]
        assert [[None if v in (None, "") else v for v in r] for r in got] == norm, name
    counts = {r[0]: r[1] for r in wb["产业链汇总"].iter_rows(min_row=2, values_only=True)}
    assert sum(counts.values()) == 30


def test_a_worker_that_cannot_read_the_build_folder_matches_from_the_files_sent(sstore: Store, tmp_path: Path) -> None:
    from matcher.ingest.importer import read_table, validate_rows
    from matcher.work import batch, cluster

    m = batch.load_matcher(sstore)
    folder = cluster._build_folder(m, sstore.path)
    files = cluster._build_files(folder)
    assert "CURRENT" in files and any(name.endswith("matcher.pkl") for name in files)
    key = f"{m.build_key_}-sent"  # its own cache slot: this process plays the worker
    cluster._load_build(key, str(tmp_path / "not-shared"), files)
    good, _ = validate_rows(read_table(real_input(tmp_path, 12)))
    items = [(g.row, None, g.firm) for g in good]
    got = cluster.match_partition(key, items, 2, str(tmp_path / "not-shared"))
    want = batch._match_rows(m, 0, items, 2)
    assert [r[:-1] for r in got] == [r[:-1] for r in want]  # all but the time stamp
    with pytest.raises(cluster.ClusterError):
        cluster.match_partition("no-such-build", items, 2, str(tmp_path / "not-shared"))
    cluster._LOADED.pop(key, None)

"""Batch matching on a local Dask cluster (2 worker processes): same run records and workbook as a local run,
resumable by partition, and the screening mode's output equal across local and cluster runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.store import runs as run_store
from matcher.store.database import Store
from matcher.work.batch import run_batch
from tests.test_batch import assert_same_values, batch_runs, real_input, sample_db, sstore  # noqa: F401

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

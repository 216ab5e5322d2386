"""Crash safety of batch runs: SIGKILL mid-run leaves a sound database and no half-written workbook; resuming gives
exactly the workbook of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from matcher.ingest.importer import import_file
from matcher.match.engine import Matcher
from matcher.store.database import Store
from matcher.work.batch import file_sha256, run_batch
from tests.conftest import ROOT
from tests.test_batch import SAMPLE, assert_same_values, shaanxi_rows, write_rows

pytestmark = pytest.mark.slow

CHUNK = 15


def _cli(db: Path, src: Path, out: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "MATCHER_DB"}
    with open(log, "ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "matcher.cli", "batch", str(src), "-o", str(out), "--db", str(db), "--k", "2",
             "--chunk-size", str(CHUNK)], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)


def _progress(db: Path, digest: str, after: int) -> tuple[int, str] | None:
    """(done, status) of the newest batch run of the input after run ``after``, read as another user would."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute("SELECT done, status FROM runs WHERE kind = 'batch' AND input_sha256 = ? AND id > ? "
                           "ORDER BY id DESC LIMIT 1", [digest, after]).fetchone()
    except sqlite3.OperationalError:  # schema not there yet
        return None
    finally:
        conn.close()
    return (int(row[0] or 0), row[1]) if row else None


def _kill_after(db: Path, digest: str, after: int, proc: subprocess.Popen[bytes], at_least: int, log: Path) -> int:
    """SIGKILL the batch once ``at_least`` firms are checkpointed; returns the count seen at the kill."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        state = _progress(db, digest, after)
        if state and state[0] >= at_least:
            assert state[1] == "running", f"the batch finished before it could be killed: {state}"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return state[0]
        if proc.poll() is not None:
            pytest.fail(f"batch exited early ({proc.returncode}): {log.read_text(encoding='utf-8', errors='replace')}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no checkpoint within 240 s")


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_sigkill_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    store = Store(db)
    import_file(store, SAMPLE)
    Matcher.for_store(store)  # build the indexes once; the CLI processes load them from disk
    header, rows = shaanxi_rows(300)
    src = write_rows(tmp_path / "firms.csv", header, rows)
    digest = file_sha256(src)

    # the uninterrupted reference, and a previous complete workbook at OUT
    ref = tmp_path / "ref.xlsx"
    reference = run_batch(store, src, ref, k=2, chunk_size=CHUNK)
    out = tmp_path / "out.xlsx"
    small = write_rows(tmp_path / "small.csv", ["企业名称", "主营业务"], [["甲光伏公司", "光伏组件"]])
    run_batch(store, small, out, k=2)
    previous = out.read_bytes()
    store.close()

    log = tmp_path / "cli.log"
    seen = []
    for at_least in (CHUNK, 4 * CHUNK):  # killed twice: after the first checkpoint, then mid-way through the resume
        seen.append(_kill_after(db, digest, reference.run_id, _cli(db, src, out, log), at_least, log))
        assert _integrity(db) == "ok"
        assert out.read_bytes() == previous  # never a half-written workbook at OUT
        state = _progress(db, digest, reference.run_id)
        assert state is not None and state[1] == "running" and state[0] % CHUNK == 0
    assert seen[1] > seen[0]

    proc = _cli(db, src, out, log)
    assert proc.wait(timeout=600) == 0, log.read_text(encoding="utf-8", errors="replace")
    last = json.loads(log.read_text(encoding="utf-8").strip().splitlines()[-1])
    assert last["resumed_from"] >= seen[1] and last["matched"] == reference.firms
    assert last["run_id"] != reference.run_id
    assert (last["index_version"], last["model_version"]) == (reference.index_version, reference.model_version), \
        "the indexes changed during the test (model or knowledge-base files edited meanwhile)"
    assert _integrity(db) == "ok"

    check = Store(db)
    try:
        runs = list(check.db.query("SELECT id, status, done FROM runs WHERE kind = 'batch' AND input_sha256 = ?",
                                   [digest]))
        assert [r["status"] for r in runs] == ["done", "done"]  # the reference, and one resumed run (not three)
        n = check.db.execute("SELECT count(*), count(DISTINCT row) FROM matches WHERE run_id = ? AND kind = 'firm'",
                             [last["run_id"]]).fetchone()
        assert n[0] == n[1] == reference.firms  # no firm matched twice into the results
    finally:
        check.close()
    assert_same_values(out, ref)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

"""Upgrades, concurrent use and crashes: the database and the indexes stay usable whatever happens."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from matcher.ingest.samples import load_samples
from matcher.match.engine import Matcher
from matcher.store.database import MIGRATIONS, SCHEMA_VERSION, Store, _split_sql

ROOT = Path(__file__).resolve().parent.parent


def _old_database(path: Path, version: int) -> None:
    """A database as an earlier release left it: migrations up to ``version`` only, with one firm."""
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:version]:
        for stmt in _split_sql(script):
            conn.execute(stmt)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO firms (name, region) VALUES ('旧版企业', '西安')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_old_schema_is_migrated_in_place_with_a_backup(tmp_path: Path, version: int) -> None:
    db = tmp_path / "old.db"
    _old_database(db, version)
    store = Store(db)
    assert store.schema_version == SCHEMA_VERSION
    assert [f["name"] for f in store.firms()] == ["旧版企业"]
    backups = list(tmp_path.glob(f"old.db.bak-v{version}-*"))
    assert len(backups) == 1
    conn = sqlite3.connect(backups[0])
    assert conn.execute("PRAGMA user_version").fetchone()[0] == version
    assert conn.execute("SELECT name FROM firms").fetchall() == [("旧版企业",)]
    conn.close()
    store.close()


def test_newer_schema_is_refused_clearly(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="升级"):
        Store(db)


def test_concurrent_writers_and_readers_never_see_locked(tmp_path: Path) -> None:
    db = tmp_path / "busy.db"
    Store(db).close()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            s = Store(db)
            for i in range(40):
                s.add_feedback(kind="park", target=f"园区{n}", verdict="有效", query=f"q{i}")
            s.close()
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    def reader() -> None:
        try:
            s = Store(db)
            for _ in range(80):
                s.count_firms()
                s.feedback_for(query="q1")
            s.close()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    s = Store(db)
    assert s.db.execute("SELECT count(*) FROM feedback").fetchone()[0] == 120


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("rel") / "sample.db"
    s = Store(db)
    load_samples(s)
    Matcher.for_store(s)
    s.close()
    return db


def test_searches_keep_working_while_the_index_is_rebuilt(sample_db: Path) -> None:
    store = Store(sample_db)
    old = Matcher.for_store(store)
    folder = sample_db.parent / (sample_db.stem + ".indexes")
    before = (folder / "CURRENT").read_text()
    results: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def searcher() -> None:
        while not done.is_set():
            try:
                results.append(len(old.search("光伏组件")))
                Matcher.load(folder)  # a reader opening the index mid-rebuild sees a complete build
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

    t = threading.Thread(target=searcher)
    t.start()
    new = Matcher.for_store(store, rebuild=True)
    done.set()
    t.join()
    assert not errors, errors
    assert results and all(n > 0 for n in results)
    assert (folder / "CURRENT").read_text() != before
    assert [h.target for h in new.search("光伏组件")] == [h.target for h in old.search("光伏组件")]


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.8, 2.0, 3.5])
def test_killed_index_build_leaves_a_usable_database(sample_db: Path, tmp_path: Path, delay: float) -> None:
    db = tmp_path / "kill.db"
    db.write_bytes(sample_db.read_bytes())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "index", "--rebuild", "--db", str(db)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    Matcher._cache.clear()
    store = Store(db)
    m = Matcher.for_store(store)  # loads the last complete build or rebuilds it
    assert m.search("光伏组件")


def test_invalid_code_twin_check_looks_names_up_by_index(tmp_path: Path) -> None:
    # listing offerable firms checks each row whose code fails for a valid twin of the same name: without an index
    # on names that is a scan of the table per row (minutes for a register of 50k firms with 10 % bad codes)
    store = Store(tmp_path / "twins.db")
    plan = store.db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM firms f WHERE NOT (uscc_valid = 0 AND EXISTS (SELECT 1 FROM firms g "
        "WHERE g.name = f.name AND g.uscc_valid = 1 AND g.id <> f.id))").fetchall()
    assert any("firms_name" in str(row) for row in plan)
    store.close()

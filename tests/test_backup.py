"""Backups while the app runs: consistent copies under concurrent writes, rotation, checks, atomic restore."""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.ingest.importer import import_file
from matcher.ingest.samples import load_samples
from matcher.knowledge import kb
from matcher.store.backup import BackupError, backup, backups, check, restore
from matcher.store.database import SCHEMA_VERSION, Store
from matcher.work.batch import run_batch

BIG = 100_000


def big_csv(path: Path, n: int) -> Path:
    """A generated firm list of ``n`` distinct firms (names and products made up from the row number)."""
    products = ("光伏组件", "逆变器", "钛合金棒材", "锂电池", "无人机", "传感器", "数控机床", "疫苗")
    regions = ("西安", "咸阳", "西咸新区")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["企业名称", "所在地区", "主要产品"])
        for i in range(n):
            w.writerow([f"测试{i:06d}号科技有限公司", regions[i % 3], products[i % len(products)]])
    return path


def test_backup_during_a_100k_import_and_a_batch_run_restores_intact(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    base = kb.open_store(db)
    load_samples(base)
    firms_before = base.count_firms()
    base.close()
    big = big_csv(tmp_path / "big.csv", BIG)
    small = big_csv(tmp_path / "small.csv", 120)
    errors: list[BaseException] = []

    def writer(job) -> None:
        store = Store(db, user="写入测试")
        try:
            job(store)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            store.close()

    jobs = [threading.Thread(target=writer, args=(lambda s: import_file(s, big),)),
            threading.Thread(target=writer, args=(lambda s: run_batch(s, small, tmp_path / "out.xlsx", k=2,
                                                                      chunk_size=20),))]
    for t in jobs:
        t.start()
    during = []
    while any(t.is_alive() for t in jobs):
        during.append(backup(db, tmp_path / "backups", keep=1000))
        time.sleep(1.0)
    for t in jobs:
        t.join()
    assert not errors, errors
    assert during, "no backup was taken while the writers ran"
    final = backup(db, tmp_path / "backups", keep=1000)
    for info in [*during, final]:
        assert info["ok"] and Path(info["backup"]).stat().st_size == info["bytes"]
        assert check(info["backup"])["schema_version"] == SCHEMA_VERSION
        # The 100k import is one transaction: a copy holds all of it or none of it, never a part.
        assert info["firms"] in (firms_before, firms_before + BIG)
    assert final["firms"] == firms_before + BIG

    # Restore a copy made under write onto a new file and the final copy over the live database.
    restored = restore(during[len(during) // 2]["backup"], tmp_path / "restored.db")
    assert restored["ok"] and restored["previous"] is None
    store = Store(tmp_path / "restored.db")
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.count_firms() in (firms_before, firms_before + BIG)
    store.close()
    result = restore(final["backup"], db)
    assert Path(result["previous"]).exists() and check(result["previous"])["firms"] == firms_before + BIG
    store = Store(db)
    assert store.count_firms() == firms_before + BIG
    assert store.db.execute("SELECT count(*) FROM runs WHERE kind = 'batch' AND status = 'done'").fetchone()[0] == 1
    assert store.db.execute("SELECT action FROM audit ORDER BY id DESC LIMIT 1").fetchone()[0] == "恢复备份"
    store.close()


def test_rotation_keeps_the_newest(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    kb.open_store(db).close()
    made = [backup(db, tmp_path / "b", keep=3)["backup"] for _ in range(5)]
    kept = backups(tmp_path / "b", "a")
    assert [str(p) for p in kept] == made[-3:]
    assert not list((tmp_path / "b").glob("*.partial"))


def test_restore_refuses_a_damaged_or_newer_copy_and_leaves_the_database(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    store = kb.open_store(db)
    store.set_meta("marker", "current")
    store.close()
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100 + b"garbage" * 500)
    with pytest.raises(BackupError, match="damaged.db"):
        restore(damaged, db)
    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute("CREATE TABLE firms (id INTEGER)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(BackupError, match="升级"):
        restore(newer, db)
    assert Store(db).get_meta("marker") == "current"
    assert not list(tmp_path.glob(".a.db.restore-*")) and not list(tmp_path.glob("a.db.before-restore-*"))


def test_backup_and_restore_cli(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    kb.open_store(db).close()
    run = CliRunner().invoke
    out = run(app, ["backup", str(tmp_path / "bk"), "--keep", "2", "--db", str(db)])
    assert out.exit_code == 0, out.output
    last = json.loads(out.output.strip().splitlines()[-1])
    assert list(last)[:3] == ["backup", "bytes", "ok"] and last["ok"] is True
    back = run(app, ["restore", last["backup"], "--db", str(db)])
    assert back.exit_code == 0, back.output
    assert json.loads(back.output.strip().splitlines()[-1])["ok"] is True
    missing = run(app, ["restore", str(tmp_path / "nope.db"), "--db", str(db)])
    assert missing.exit_code == 1 and "nope.db" in missing.output


def test_restore_while_the_app_holds_the_database_open(tmp_path: Path) -> None:
    from matcher.store import audit
    from matcher.store.firm_edits import insert_firm

    db = tmp_path / "live.db"
    first = Store(db)
    insert_firm(first, {"name": "陕西甲公司", "products": "光伏组件"})
    copy = backup(db, tmp_path / "b")["backup"]
    insert_firm(first, {"name": "陕西乙公司", "products": "逆变器"})
    app_conn = Store(db)  # stays open across the restore, as the running app's connection does
    assert app_conn.count_firms() == 2
    result = restore(copy, db)
    assert result["ok"] and Path(result["previous"]).exists()
    assert app_conn.count_firms() == 1  # the open connection reads the restored contents
    insert_firm(app_conn, {"name": "陕西丙公司", "products": "储能电池"})  # and its writes land in them
    app_conn.close()
    first.close()
    reopened = Store(db)
    assert sorted(f["name"] for f in reopened.firms()) == ["陕西丙公司", "陕西甲公司"]
    assert reopened.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [e["action"] for e in audit.entries(reopened, action="恢复备份")] == ["恢复备份"]
    reopened.close()

"""Background refresh: the last good build answers at once while a newer one is made, then the new one is used."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from matcher.ingest.importer import import_file
from matcher.knowledge import kb
from matcher.match.engine import Matcher, _build_lock
from matcher.store.database import Store
from matcher.work import refresh
from tests.conftest import ROOT, write_register

FIRMS = [("西安晶硅光伏科技有限公司", "西安", "单晶硅片、光伏组件", "多晶硅料、光伏玻璃"),
         ("咸阳光伏玻璃有限公司", "咸阳", "光伏玻璃", "石英砂"),
         ("西咸新区光伏电站运营有限公司", "西咸新区", "光伏电站运营", "光伏组件、逆变器"),
         ("西安钛合金材料有限公司", "西安", "钛合金棒材、航空紧固件", "海绵钛")]
NEW = [("泾河新城氢能电堆有限公司", "西咸新区", "燃料电池电堆、膜电极、双极板", "质子交换膜、碳纸"),
       ("咸阳双极板制造有限公司", "咸阳", "金属双极板", "不锈钢薄板")]


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    """A database of four firms (builds take seconds), its first build saved."""
    db = tmp_path / "refresh.db"
    store = kb.open_store(db)
    import_file(store, write_register(tmp_path / "first.csv", FIRMS))
    store.close()
    return db


def _in_thread(fn, timeout: float):
    """``fn()`` run in a thread; its result, or a failure when it has not returned after ``timeout`` seconds."""
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    t.start()
    t.join(timeout)
    assert out, f"did not return within {timeout} s"
    return out[0]


def test_stale_build_answers_at_once_while_the_refresh_runs_then_the_new_one_is_used(small_db: Path,
                                                                                      tmp_path: Path) -> None:
    gate, calls = threading.Event(), []
    real = refresh.spawn_build(nice=0)

    def gated(path: str) -> str:  # the real build in a child process, held back until the test lets it go
        calls.append(path)
        assert gate.wait(120)
        return real(path)

    r = refresh.Refresher(small_db, build=gated)
    store = kb.open_store(small_db)
    first = r.state(store)  # nothing older to answer from: loaded in the foreground
    assert first.current and not first.updating and first.build.firms == 4
    old_key = first.build.key

    import_file(store, write_register(tmp_path / "new.csv", NEW))
    stale = _in_thread(lambda: r.state(store), timeout=10)  # never waits for the rebuild
    assert stale.build.key == old_key and not stale.current and stale.updating
    assert stale.new_firms == 2 and not stale.kb_changed and stale.since is not None
    assert "泾河新城氢能电堆有限公司" not in [h.label for h in stale.build.matcher.search("燃料电池电堆 双极板")]
    again = _in_thread(lambda: r.state(store), timeout=10)
    assert again.build is stale.build and again.updating
    assert r.refreshes == 1 and len(calls) == 1  # one background build at a time

    gate.set()
    assert r.wait(300)
    new = r.state(store)
    assert new.current and not new.updating and new.error is None
    assert new.build.key != old_key and new.build.key == Matcher.key_for(store)
    assert new.build.firms == 6 and new.new_firms == 0
    assert "泾河新城氢能电堆有限公司" in [h.label for h in new.build.matcher.search("燃料电池电堆 双极板")]
    # the child matched every stored firm for the lists before the switch
    assert new.build.results is not None and len(new.build.results) == 6
    assert r.refreshes == 1
    store.close()


def test_a_failed_refresh_keeps_the_last_build_and_says_why(small_db: Path, tmp_path: Path) -> None:
    def broken(path: str) -> str:
        raise OSError("磁盘已满")

    r = refresh.Refresher(small_db, build=broken, lists=False)
    store = kb.open_store(small_db)
    old = r.state(store).build
    import_file(store, write_register(tmp_path / "new.csv", NEW))
    r.state(store)
    assert r.wait(30)
    after = r.state(store)
    assert after.build is old and not after.current and not after.updating
    assert after.error and "磁盘已满" in after.error
    assert r.refreshes == 1  # not retried at once on every page view
    assert old.matcher.search("光伏组件")  # the last good build still answers
    store.close()


def test_a_second_builder_waits_for_the_first_and_loads_its_build(small_db: Path) -> None:
    store = Store(small_db)
    folder = small_db.parent / (small_db.stem + ".indexes")
    with _build_lock(folder):  # another process is building this database
        proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "index", "--db", str(small_db), "--no-lists"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(3)
        assert proc.poll() is None, proc.communicate()[0].decode(errors="replace")  # waiting for the lock
        m = Matcher(k=5).fit(store)
        m.build_key_ = Matcher.key_for(store)
        m.save(folder)
    out = proc.communicate(timeout=300)[0].decode(errors="replace")
    assert proc.returncode == 0, out
    assert m.build_key_ in out and len(list(folder.glob("build-*"))) == 1  # loaded, not built a second time
    store.close()

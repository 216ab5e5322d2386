"""Answer from the last good build while a newer one is made in the background: one refresh at a time per database.

An import or a knowledge-base edit makes the indexes and the stored firms' results stale; rebuilding them takes
seconds to minutes. A server with many officers keeps answering from the build it has, makes the new build (indexes,
then every stored firm matched for the lists) in a child process at a lower CPU priority, loads it, and switches to it
in one step. Used by the app; the command line builds in the foreground (``Matcher.for_store``).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher import paths
from matcher.knowledge import kb
from matcher.match.config import MatcherConfig
from matcher.match.engine import Matcher, current_build
from matcher.store.database import Store
from matcher.work.batch import LISTS_UP_TO, firms_run, list_key
from matcher.work.offload import run_child

RETRY_AFTER_S = 60.0  # after a failed refresh, the next one starts no sooner than this
K = 3  # hits per kind in the stored firms' results (as ``matcher index`` and the lists use)


@dataclass(frozen=True)
class Build:
    """One ready build: its matcher, the stored firms' results made with it (for the lists), and when it was made."""

    matcher: Matcher
    firms: int  # firms in its indexes
    made_at: float  # epoch seconds when the build was saved (its data are those of that moment)
    run: dict[str, Any] | None = None  # the stored-firms run of this build, when ``lists``
    results: list[Any] | None = None  # that run's results (`FirmMatch`), shared read-only

    @property
    def key(self) -> str:
        """What the build was made from (``Matcher.key_for``)."""
        return self.matcher.build_key_


@dataclass(frozen=True)
class State:
    """What a caller gets: the build to answer from, and whether a newer one is being made."""

    build: Build
    current: bool  # the build matches the database's data now
    updating: bool  # a newer build is being made in the background
    firms_now: int  # firms in the database now
    kb_changed: bool  # the knowledge base changed since the build
    since: float | None = None  # when the background refresh started
    error: str | None = None  # why the last background refresh failed, if it did

    @property
    def new_firms(self) -> int:
        """Firms added to the database since the build (negative when firms were removed)."""
        return self.firms_now - self.build.firms


def _made_at(folder: Path) -> float:
    """When the saved build that ``CURRENT`` points to was written."""
    try:
        return (current_build(folder) / "meta.json").stat().st_mtime
    except OSError:
        return time.time()


def build_in_child(db_path: str, lists: bool = True, embed_model: str | None = None,
                   config: MatcherConfig | None = None, nice: int = 10) -> str:
    """Make (or find) the current build of a database and, with ``lists``, its stored firms' results; returns its key.

    Runs in a child process (see `main`): ``nice`` lowers its CPU priority so the pages of the process that asked
    keep answering.
    """
    if nice:
        try:
            os.nice(nice)
        except OSError:  # not permitted here: the build still runs, at normal priority
            pass
    store = kb.open_store(db_path)
    try:
        m = Matcher.for_store(store, embed_model=embed_model, config=config)
        if lists and 0 < len(m.ids_) <= LISTS_UP_TO:

            firms_run(store, k=K, matcher=m)
        return m.build_key_
    finally:
        store.close()


def spawn_build(lists: bool = True, embed_model: str | None = None, config: MatcherConfig | None = None,
                nice: int = 10) -> Callable[[str], str]:
    """The default ``build`` of a `Refresher`: `build_in_child` in a child process (``python -m
    matcher.work.refresh``); the call returns the build's key once the child has saved it."""

    def build(db_path: str) -> str:
        args = [db_path, *([] if lists else ["--no-lists"]), *(["--embed-model", embed_model] if embed_model else []),
                *(["--config", json.dumps(config.as_dict(), ensure_ascii=False)] if config else [])]
        return str(run_child("matcher.work.refresh", args, nice=nice)["key"])

    return build


class Refresher:
    """The build a database is answered from, refreshed in the background when its data change.

    ``state(store)`` never waits for a rebuild once a first build is loaded: it returns the last good build and,
    when the data changed, starts one background refresh (a second caller meanwhile gets the same build and the
    refresh already under way). The refresh builds in a child process (``build``), then this process loads the
    saved build, warms it up and reads its stored firms' results before switching to it in one step.

    Args:
        db_path: the database file.
        lists: also match every stored firm with each build (the 共建清单 and 供需清单 read those results).
        embed_model: see ``Matcher``.
        config: see ``Matcher``.
        nice: how much lower the CPU priority of the building child process is (0: the same).
        build: what makes and saves the build, called with the database path from the refresh thread; default
            `spawn_build` (a child process at ``nice``).
    """

    def __init__(self, db_path: str | Path, *, lists: bool = True, embed_model: str | None = None,
                 config: MatcherConfig | None = None, nice: int = 10,
                 build: Callable[[str], str] | None = None) -> None:
        self.path = str(Path(db_path).resolve())
        self.lists = lists
        self.embed_model = embed_model
        self.config = config
        self.nice = nice
        self._build = build or spawn_build(lists, embed_model, config, nice)
        self._current: Build | None = None
        self._lock = threading.Lock()  # guards the fields below
        self._first = threading.Lock()  # one foreground first load at a time
        self._thread: threading.Thread | None = None
        self._since: float | None = None
        self._error: str | None = None
        self._failed_at = 0.0
        self.refreshes = 0  # background refreshes started (for the status line and tests)

    @property
    def ready(self) -> bool:
        """Whether a build is loaded (``state`` then never waits)."""
        return self._current is not None

    @property
    def updating(self) -> bool:
        """Whether a background refresh is running."""
        t = self._thread
        return t is not None and t.is_alive()

    def state(self, store: Store) -> State:
        """The build to answer from now; starts a background refresh when the database's data changed since it.

        The very first call loads (or makes) a build in the foreground: there is nothing older to answer from.
        """
        key = Matcher.key_for(store, self.embed_model, self.config)
        build = self._current
        if build is None:
            with self._first:
                if self._current is None:
                    self._current = self._foreground(store)
                build = self._current
        if build.key != key:
            self._start(key)
        with self._lock:
            since, error = (self._since if self.updating else None), self._error
        return State(build=build, current=build.key == key, updating=since is not None,
                     firms_now=len(store.firms(columns=("id",), offerable=True)) if build.key != key else build.firms,
                     kb_changed=int(build.matcher.kb_version_) != kb.version(store), since=since, error=error)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a running background refresh to end; False when it is still running after ``timeout`` seconds."""
        t = self._thread
        if t is not None:
            t.join(timeout)
        return not self.updating

    # -- inside ---------------------------------------------------------------------------------------------------
    def _foreground(self, store: Store) -> Build:
        """The first build of this process: loaded from disk when fresh, else made here (as ``Matcher.for_store``)."""
        m = Matcher.for_store(store, embed_model=self.embed_model, config=self.config)
        return self._ready(m, store)

    def _ready(self, m: Matcher, store: Store) -> Build:
        """A loaded matcher made ready to answer at once: warmed up, with its stored firms' results read when made."""
        from matcher.work.results import current_firms_run, run_results

        m.warm_up()  # segmenters and models load lazily: pay for that here, not in the first officer's search
        run = current_firms_run(store, list_key(m, K)) if self.lists and len(m.ids_) else None
        results = run_results(store, int(run["id"])) if run else None
        return Build(matcher=m, firms=len(m.ids_), made_at=_made_at(paths.index_dir(store.path)), run=run,
                     results=results)

    def _start(self, key: str) -> None:
        """Start the background refresh unless one is running (or the last one failed less than a minute ago)."""
        with self._lock:
            if self.updating or time.time() - self._failed_at < RETRY_AFTER_S:
                return
            self._since = time.time()
            self.refreshes += 1
            self._thread = threading.Thread(target=self._refresh, args=(key,), name=f"refresh {Path(self.path).name}",
                                            daemon=True)
            self._thread.start()

    def _refresh(self, key: str) -> None:
        """Build in the child, load and ready the saved build here, then switch to it."""
        try:
            self._build(self.path)
            store = kb.open_store(self.path)
            try:
                # Whatever is saved now: the build asked for, or a newer one (data changed again meanwhile).
                m = Matcher.load(paths.index_dir(store.path))
                if m.build_key_ not in (key, Matcher.key_for(store, self.embed_model, self.config)):
                    raise RuntimeError(f"新建的索引（{m.build_key_}）与数据（{key}）不一致")
                build = self._ready(m, store)
            finally:
                store.close()
            Matcher.remember(self.path, m)  # other callers of ``Matcher.for_store`` in this process reuse it
            with self._lock:
                self._current, self._error = build, None
        except Exception as exc:  # the old build keeps answering; the reason is shown and the refresh retried later
            with self._lock:
                self._error, self._failed_at = f"{type(exc).__name__}: {exc}", time.time()


_REFRESHERS: dict[str, Refresher] = {}
_REFRESHERS_LOCK = threading.Lock()


def refresher(db_path: str | Path, **options: Any) -> Refresher:
    """The process's one `Refresher` of a database (created with ``options`` on first use)."""
    path = str(Path(db_path).resolve())
    with _REFRESHERS_LOCK:
        if path not in _REFRESHERS:
            _REFRESHERS[path] = Refresher(path, **options)
        return _REFRESHERS[path]


def main(argv: list[str] | None = None) -> None:
    """The child's side: ``DB [--no-lists] [--embed-model M] [--config JSON] [--nice N]``; prints ``{"key": …}``."""
    ap = argparse.ArgumentParser(prog="python -m matcher.work.refresh")
    ap.add_argument("db")
    ap.add_argument("--no-lists", dest="lists", action="store_false")
    ap.add_argument("--embed-model")
    ap.add_argument("--config")
    ap.add_argument("--nice", type=int, default=0)
    a = ap.parse_args(argv)
    config = MatcherConfig.from_dict(json.loads(a.config), "app") if a.config else None
    try:
        key = build_in_child(a.db, a.lists, a.embed_model, config, a.nice)
    except Exception as exc:  # reported to the parent, which keeps its last build and says why
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}, ensure_ascii=False))
        raise SystemExit(1) from None
    print(json.dumps({"key": key}))


if __name__ == "__main__":
    main()

"""Matching on a Dask cluster: the built index goes to every worker once, partitions of firms are matched in parallel.

The client (the ``matcher batch`` process) stays the only writer of the database: each finished partition comes
back as its ``matches`` rows and is checkpointed in one transaction, so a cluster run lands in the same run records
as a local one and an interrupted run resumes by partition. Workers hold the loaded matcher in memory for the whole
run; they read the build folder directly when they can see it (a local cluster, a shared file system) and otherwise
receive its files once, when they join.

Dask (``distributed``) rather than Ray: it is pure Python on PyPI, a local cluster is a few processes of this
interpreter, and its futures API lets the client checkpoint each partition as it finishes.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Item = tuple[int, int | None, dict[str, Any]]  # (input row, stored firm id or None, firm fields)

_LOADED: dict[str, Any] = {}  # worker side: build key → loaded matcher (or screening model), kept for the process


class ClusterError(Exception):
    """A cluster that cannot be reached or used; message in Chinese."""


def available() -> bool:
    """Whether the optional cluster extra (``pip install .[cluster]``) is installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def _require() -> None:
    if not available():
        raise ClusterError("未安装集群组件：请先运行 pip install '.[cluster]'（或 pip install -r requirements-cluster.txt）")


@contextmanager
def connect(address: str, workers: int = 2) -> Iterator[Any]:
    """A Dask client: ``local`` starts a cluster of ``workers`` single-threaded processes on this machine for the
    duration of the block; any other value is the scheduler address of an existing cluster (``tcp://host:8786``)."""
    _require()
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if address == "local":
            # one thread per process: segmentation and reason text are pure Python, threads would share one core
            with _plain_main():
                cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                                       dashboard_address=":0", memory_limit=0, scheduler_port=0)
            client = Client(cluster)
        else:
            client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise ClusterError(f"无法连接集群 {address}：{exc}") from exc
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextmanager
def _plain_main() -> Iterator[None]:
    """Start worker processes with an empty ``__main__``: spawned processes re-run the parent's main script, which
    inside the Streamlit app (or a test of it) would start the whole app in every worker."""
    import sys
    import types

    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def worker_count(client: Any) -> int:
    """Workers (threads) the cluster has now; at least one."""
    return max(1, sum(client.nthreads().values()))


# ---------------------------------------------------------------------------------------------------------------
# Getting the model to the workers once
# ---------------------------------------------------------------------------------------------------------------
def _build_folder(matcher: Any, store_path: Path) -> Path:
    """The saved build folder of this matcher (its ``CURRENT`` names a build of the same key); saved if missing."""
    from matcher import paths

    folder = paths.index_dir(store_path)
    current = folder / "CURRENT"
    if current.exists() and getattr(matcher, "build_key_", None) and \
            current.read_text().strip().startswith(f"build-{matcher.build_key_}-"):
        return folder
    folder = Path(tempfile.mkdtemp(prefix="matcher-build-"))
    matcher.save(folder)
    return folder


def _build_files(folder: Path) -> dict[str, bytes]:
    """The files of the current build (and the pointer to it), to send to workers that cannot read the folder."""
    name = (folder / "CURRENT").read_text().strip()
    out = {"CURRENT": name.encode()}
    for p in (folder / name).iterdir():
        out[f"{name}/{p.name}"] = p.read_bytes()
    return out


def _sees_build(folder: str, key: str) -> bool:
    """Worker side: whether the build folder of this key is readable here."""
    current = Path(folder) / "CURRENT"
    return current.exists() and current.read_text().strip().startswith(f"build-{key}-")


def _limit_threads() -> None:
    # one worker process per core: the math libraries' own thread pools would only contend
    from threadpoolctl import threadpool_limits

    _LOADED.setdefault("_limits", threadpool_limits(1))


def _load_build(key: str, folder: str, files: dict[str, bytes] | None) -> str:
    """Worker side: load the matcher of ``key`` once (from the folder, or from the files sent) and keep it."""
    from matcher.match.engine import Matcher

    _limit_threads()
    if key not in _LOADED:
        path = Path(folder)
        if files is not None:
            path = Path(tempfile.mkdtemp(prefix=f"matcher-{key}-"))
            for name, data in files.items():
                (path / name).parent.mkdir(parents=True, exist_ok=True)
                (path / name).write_bytes(data)
        m = Matcher.load(path)
        m.warm_up()
        _LOADED[key] = m
    return key


def install_matcher(client: Any, matcher: Any, store_path: Path) -> tuple[str, str]:
    """Load the store's matcher on every worker of the cluster, sending its build files only to workers that cannot
    read the build folder; returns the key tasks name it by and the folder."""
    folder = _build_folder(matcher, store_path)
    key = str(matcher.build_key_)
    sees = client.run(_sees_build, str(folder), key)
    blind = [w for w, ok in sees.items() if not ok]
    if len(blind) < len(sees):
        client.run(_load_build, key, str(folder), None, workers=[w for w, ok in sees.items() if ok])
    if blind:
        client.run(_load_build, key, str(folder), _build_files(folder), workers=blind)
    return key, str(folder)


def _loaded(key: str, folder: str) -> Any:
    """Worker side: the loaded matcher; a worker that joined after the start loads it now if it can see the build."""
    if key not in _LOADED:
        if not _sees_build(folder, key):
            raise ClusterError(f"工作进程没有加载索引 {key}，也读不到索引文件夹 {folder}；请重新运行同一命令（按分区续跑）")
        _load_build(key, folder, None)
    return _LOADED[key]


# ---------------------------------------------------------------------------------------------------------------
# Partitions
# ---------------------------------------------------------------------------------------------------------------
def match_partition(key: str, part: Sequence[Item], k: int, folder: str) -> list[tuple[Any, ...]]:
    """Worker side: the ``matches`` rows (without run id) of one partition, one ``match_many`` pass."""
    from matcher.work.results import firm_match, result_rows

    matcher = _loaded(key, folder)
    queries = [dict(firm, id=firm_id) if firm_id is not None else firm for _, firm_id, firm in part]
    rows: list[tuple[Any, ...]] = []
    for (row, firm_id, firm), res in zip(part, matcher.match_many(queries, k=k)):
        rows += result_rows(firm_match(res, k, row, firm_id, firm), res.none_prob)
    return rows


def run_partitions(client: Any, fn: Callable[..., Any], parts: Iterable[Sequence[Any]], args: tuple[Any, ...],
                   collect: Callable[[Sequence[Any], Any], None], ahead: int | None = None) -> int:
    """Run ``fn(*args[:1], part, *args[1:])`` for every partition on the cluster and hand each result to ``collect``
    as it finishes (any order), keeping at most ``ahead`` partitions in flight so the client never holds the whole
    pool; returns how many partitions ran."""
    from distributed import as_completed

    ahead = ahead or 2 * worker_count(client)
    parts = iter(parts)
    pending: dict[Any, Sequence[Any]] = {}

    def submit() -> bool:
        part = next(parts, None)
        if part is None:
            return False
        fut = client.submit(fn, args[0], part, *args[1:], pure=False)
        pending[fut] = part
        return True

    for _ in range(ahead):
        if not submit():
            break
    seen = as_completed(list(pending))
    n = 0
    for fut in seen:
        part = pending.pop(fut)
        collect(part, fut.result())
        fut.release()
        n += 1
        if submit():
            seen.add(list(pending)[-1])
    return n


def match_items(store: Any, matcher: Any, run_id: int, todo: Sequence[Item], k: int, partition_size: int,
                address: str, workers: int, on_partition: Callable[[int], None]) -> float:
    """Match ``todo`` on a cluster, checkpointing each partition's rows in one transaction as it comes back.

    Args:
        store: the open store (only this process writes to it).
        matcher: the loaded matcher (its saved build is what the workers load).
        run_id: the run the checkpoints belong to.
        todo: the items not yet checkpointed.
        k: results kept per kind.
        partition_size: firms per partition (and per checkpoint).
        address: ``local`` or a scheduler address.
        workers: processes of a ``local`` cluster.
        on_partition: called with the number of firms of each checkpointed partition.

    Returns:
        Seconds spent matching (after the workers loaded the model).
    """
    from matcher.store import runs as run_store

    size = max(1, partition_size)
    parts = (todo[i:i + size] for i in range(0, len(todo), size))
    with connect(address, workers) as client:
        key, folder = install_matcher(client, matcher, store.path)
        t0 = time.monotonic()

        def collect(part: Sequence[Item], rows: list[tuple[Any, ...]]) -> None:
            run_store.write_checkpoint(store, run_id, rows)  # the partition's results and the count land together
            on_partition(len(part))

        run_partitions(client, match_partition, parts, (key, k, folder), collect)
        return time.monotonic() - t0


def default_address() -> str | None:
    """The scheduler named by ``MATCHER_CLUSTER`` (``local`` or an address), if any."""
    return os.environ.get("MATCHER_CLUSTER") or None

"""Batch matching: every firm of a list (or of the database) matched, checkpointed per chunk, resumable after a crash.

A run is one ``runs`` row (kind ``batch`` for a file, ``firms`` for the stored firms) and its results are rows of
``matches``, written one transaction per chunk. Running the same command again on the same input with the same
parameters and versions continues an unfinished run from its last checkpoint; the workbook is built from the stored
results only, so a resumed run writes exactly the workbook an uninterrupted one would.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.files import safe_filename
from matcher.ingest.importer import ImportFileError, Issue, read_table, validate_rows, write_report
from matcher.parallel import Workers
from matcher.store import Store, now
from matcher.store import firms as firm_store
from matcher.store import runs as run_store
from matcher.work import export
from matcher.work.results import current_firms_run, firm_match, issue_rows, result_rows

Progress = Callable[[int, int], None]


class BatchError(Exception):
    """A batch that cannot run or finish (bad output path, nothing to match, run busy elsewhere); message in Chinese."""


@dataclass
class BatchResult:
    """What a batch run did; ``as_dict`` is the CLI's JSON line."""

    run_id: int
    kind: str
    input: str
    output: Path | None
    report: Path | None
    rows: int
    firms: int
    rejected: int
    duplicates: int
    warnings: int
    matched: int
    resumed_from: int
    elapsed: float
    match_seconds: float
    model_version: str
    kb_version: int
    index_version: str
    stages: dict[str, float] | None = None  # seconds per step of the end-to-end run (where the time went)
    parquet: tuple[Path, ...] = ()  # 匹配结果 and 匹配明细 as Parquet, when there were more firms than a sheet holds
    number: int | None = None  # the run's number as users know it (批次 1, 2 …), the one `export --run` takes

    @property
    def rate(self) -> float:
        """Firms matched per second of matching in this process (resumed firms and model loading excluded)."""
        n = self.matched - self.resumed_from
        return n / self.match_seconds if self.match_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Counts, paths, versions and speed, JSON-ready."""
        return {
            "run": self.number, "run_id": self.run_id, "kind": self.kind, "input": self.input,
            "output": str(self.output) if self.output else None, "report": str(self.report) if self.report else None,
            "rows": self.rows, "firms": self.firms, "rejected": self.rejected, "duplicates": self.duplicates,
            "warnings": self.warnings, "matched": self.matched, "resumed_from": self.resumed_from,
            "elapsed_s": round(self.elapsed, 2), "match_s": round(self.match_seconds, 2), "firms_per_s": round(self.rate, 1),
            "model_version": self.model_version, "kb_version": self.kb_version, "index_version": self.index_version,
            "stages_s": {k: round(v, 2) for k, v in (self.stages or {}).items()},
            "parquet": [str(p) for p in self.parquet],
        }


# ---------------------------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------------------------
def _mark(store: Store, run_id: int, status: str, error: str | None = None, **columns: Any) -> None:
    """Set a run's status (and end time, error text, other columns) in one short transaction."""
    sets = {"status": status, **columns}
    if status != "running" and "ended_at" not in columns:
        sets["ended_at"] = now()
    run_store.update_params(store, run_id, {"error": error} if error is not None else {},
                            drop=("error",) if error is None and status == "done" else (), **sets)


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine is still running (a run marked running may have been killed)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


_ACTIVE: set[tuple[str, int]] = set()  # (database, run id) being matched in this process
LISTS_UP_TO = 20_000  # stores up to this size match every firm with each new build; larger ones when a list is asked
_ACTIVE_LOCK = threading.Lock()


def _acquire(store: Store, run_id: int) -> None:
    """Refuse to run one run twice at once in this process (two app sessions starting the same batch)."""
    key = (str(store.path.resolve()), run_id)
    with _ACTIVE_LOCK:
        if key in _ACTIVE:
            raise BatchError(f"{run_store.run_label(run_store.get_run(store, run_id) or {})} 正在本程序中进行，请等它结束")
        _ACTIVE.add(key)


def _release(store: Store, run_id: int) -> None:
    with _ACTIVE_LOCK:
        _ACTIVE.discard((str(store.path.resolve()), run_id))


def _resumable(store: Store, kind: str, digest: str, key: dict[str, Any], restart: bool) -> dict[str, Any] | None:
    """The unfinished run of the same input and parameters to continue, or ``None`` to start a new one.

    Unfinished runs of the same input that cannot be continued (other versions, or ``restart``) are marked failed so
    no run stays 'running' for ever. A run still alive in another process is left alone: `BatchError`.
    """
    rows = run_store.list_runs(store, kind=kind, input_sha256=digest, statuses=("running", "failed"), limit=None)
    pick = None
    host = socket.gethostname()
    for r in rows:
        p = r["params"]
        if r["status"] == "running" and p.get("pid") not in (None, os.getpid()) and p.get("host") == host \
                and pid_alive(int(p["pid"])):
            raise BatchError(f"同一输入的匹配（{run_store.run_label(r)}）正在另一个进程（{p['pid']}）中进行；请等它结束，"
                             "或结束该进程后再运行本命令以续跑")
        same = all(p.get(k) == v for k, v in key.items() if k not in ("model_version", "kb_version")) and \
            r.get("model_version") == key["model_version"] and r.get("kb_version") == key["kb_version"]
        if pick is None and same and not restart:
            pick = r
        elif r["status"] == "running":
            why = "按要求重新开始" if restart else "参数或模型/知识库/索引版本已变化，无法续跑，已另起新运行"
            _mark(store, r["id"], "failed", error=why)
    return pick


# ---------------------------------------------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------------------------------------------
def _match_rows(matcher: Any, run_id: int, chunk: Sequence[tuple[int, int | None, dict[str, Any]]],
                k: int) -> list[tuple[Any, ...]]:
    """Match a chunk of firms in one ``match_many`` pass and return their ``matches`` rows."""
    queries = [dict(firm, id=firm_id) if firm_id is not None else firm for _, firm_id, firm in chunk]
    rows: list[tuple[Any, ...]] = []
    for (row, firm_id, firm), res in zip(chunk, matcher.match_many(queries, k=k)):
        rows += result_rows(firm_match(res, k, row, firm_id, firm), res.none_prob)
    return rows


def _match_items(store: Store, matcher: Any, run_id: int, items: Sequence[tuple[int, int | None, dict[str, Any]]],
                 k: int, chunk_size: int, progress: Progress | None, workers: int = 1,
                 cluster: str | None = None) -> int:
    """Match the items not yet checkpointed, one transaction per chunk; returns how many were already done.

    With ``workers`` > 1 each chunk is split across forked processes that share the loaded indexes; with
    ``cluster`` (``local`` or a Dask scheduler address) each chunk is one partition matched on the cluster. Either
    way this process alone writes to the database, so checkpoints stay one transaction per chunk.
    """
    done_rows = run_store.done_rows(store, run_id)
    todo = [it for it in items if it[0] not in done_rows]
    resumed = len(items) - len(todo)
    total = len(items)
    if progress:
        progress(resumed, total)
    done = resumed
    if cluster:
        from matcher.work import cluster as dask_cluster

        def counted(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, total)

        if todo:
            dask_cluster.match_items(store, matcher, run_id, todo, k, chunk_size, cluster, workers, counted)
        return resumed
    chunks = [todo[start:start + max(1, chunk_size)] for start in range(0, len(todo), max(1, chunk_size))]
    n = workers if len(todo) >= 2 * workers else 1
    if n > 1:
        matcher.warm_up()  # segmenters and caches built once here, inherited by every worker

    def split(chunk: Sequence[tuple[int, int | None, dict[str, Any]]]) -> list[Any]:
        # One part per worker: larger blocks batch better than several small parts each (one comparison at 100k
        # firms: 611 against 502 firms/s; runs of the same code vary by about 15 %).
        step = -(-len(chunk) // n)
        return [chunk[i:i + step] for i in range(0, len(chunk), step)]

    with Workers(lambda part: _match_rows(matcher, run_id, part, k), n) as pool:
        # Two chunks in flight: a worker that finishes its part starts on the next chunk at once, while the parent
        # collects and writes the previous one.
        ahead = 2 if n > 1 else 1
        pending = deque(pool.submit(split(c)) for c in chunks[:ahead])
        for i, chunk in enumerate(chunks):
            rows = [r for part in pending.popleft().get() for r in part]
            if i + ahead < len(chunks):
                pending.append(pool.submit(split(chunks[i + ahead])))
            run_store.write_checkpoint(store, run_id, rows)  # the chunk's results and the count land together
            done += len(chunk)
            if progress:
                progress(done, total)
    return resumed


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_output(out: Path, src: Path) -> None:
    """Fail early (before any run is recorded) on an output path that cannot be written."""
    if out.suffix.lower() != ".xlsx":
        raise BatchError(f"输出文件 {out}：批量匹配结果为多工作表的 Excel 工作簿，请用 .xlsx 结尾")
    if out.exists() and out.is_dir():
        raise BatchError(f"输出路径 {out} 是文件夹，请给出 .xlsx 文件名")
    if out.resolve() == src.resolve():
        raise BatchError(f"输出文件 {out} 与输入文件相同，会覆盖输入；请换一个文件名")
    if out.parent.exists() and not os.access(out.parent, os.W_OK):
        raise BatchError(f"输出文件夹 {out.parent} 没有写权限")


def _make_output_dir(out: Path) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"无法创建输出文件夹 {out.parent}（{exc.strerror or exc}）") from exc


def _default_report(store: Store, src: Path, run_id: int) -> Path:
    """``<db folder>/reports/batch-00003-<file stem>.csv``, numbered as users know the batch (批次 3)."""
    stem = safe_filename(src.stem, 60)
    return store.path.parent / "reports" / f"batch-{run_store.run_number(store, run_id) or 0:05d}-{stem}.csv"


def _start_run(store: Store, kind: str, input_path: str, digest: str, key: dict[str, Any], counts: dict[str, int],
               extra: dict[str, Any], issues: Sequence[Issue] = ()) -> int:
    """Record a new run (status running) and its import issues in one transaction; returns its id."""
    params = dict(key, **extra, pid=os.getpid(), host=socket.gethostname())
    params.pop("model_version", None)
    params.pop("kb_version", None)
    fields = {"kind": kind, "status": "running", "input_path": input_path, "input_sha256": digest,
              "rows": counts["rows"], "stored": counts["firms"], "rejected": counts["rejected"], "done": 0,
              "params": params, "model_version": key["model_version"], "kb_version": key["kb_version"]}
    return run_store.start_run(store, fields, issue_rows(issues))


def _claim(store: Store, run_id: int) -> None:
    """Record that this process now runs the (resumed) run."""
    run = run_store.get_run(store, run_id) or {"params": {}}
    run_store.update_params(store, run_id, {"pid": os.getpid(), "host": socket.gethostname(),
                                            "resumes": int(run["params"].get("resumes", 0)) + 1},
                            drop=("error",), status="running", ended_at=None)


def load_matcher(store: Store) -> Any:
    """The store's matcher; a failure to load or build the indexes becomes a `BatchError` the user can read."""
    from matcher.match.engine import Matcher

    try:
        return Matcher.for_store(store)
    except (OSError, MemoryError):
        raise
    except Exception as exc:
        raise BatchError(f"无法加载或建立匹配索引（数据库 {store.path}，库内企业 {store.count_firms()} 家）："
                         f"{type(exc).__name__}: {exc}") from exc


def _key(matcher: Any, k: int, sheet: str | None) -> dict[str, Any]:
    """What results depend on, and so what a run must share to be continued: parameters and versions."""
    return {"k": int(k), "sheet": sheet, "index_version": str(getattr(matcher, "build_key_", "")), "model_version": str(matcher.model_version_),
            "kb_version": int(matcher.kb_version_)}


def run_batch(store: Store, in_path: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
              sheet: str | None = None, k: int = 3, chunk_size: int = 200, progress: Progress | None = None,
              restart: bool = False, status: Callable[[str], None] | None = None, workers: int = 1,
              cluster: str | None = None, excel_rows: int = export.EXCEL_MAX_ROWS - 1) -> BatchResult:
    """Match every firm of a CSV/XLSX list and write the results workbook; resumable.

    The file is read with the importer's formats and row rules (rejected rows go to the report, as for
    ``matcher import``); nothing is recorded when the file cannot be used. The firms are matched in chunks, each
    checkpointed in one transaction; the same call after a crash continues from the last checkpoint. The workbook
    (cover, 匹配结果, 匹配明细, 未导入行) is written while the firms are matched (a fresh run on this machine) or
    from the run's records at the end (resumed, clustered or very large runs): the same file either way, moved into
    place only when complete.

    Args:
        store: the open store (its stored firms are the supplier/customer candidates).
        in_path: CSV or XLSX firm list.
        out_path: the ``.xlsx`` to write.
        sheet: XLSX worksheet (default: the first).
        k: results kept per kind (chains, industries, parks, suppliers, customers).
        chunk_size: firms per checkpoint.
        progress: called with ``(done, total)`` after each chunk (and once at the start).
        restart: start a new run even when an unfinished one of the same input exists.
        status: called with a line of text before slow steps (loading the indexes).
        workers: processes matching in parallel (forked after the indexes are loaded; see `default_workers`); with
            ``cluster="local"`` the worker processes of the local cluster.
        cluster: ``local`` or the address of a Dask scheduler: match the partitions there (`matcher.work.cluster`);
            the results, run record and workbook are those of a local run.
        excel_rows: firms one worksheet may hold (Excel's limit); with more, 匹配结果 and 匹配明细 are written as
            Parquet beside OUT (`export.large_output_paths`) and OUT is a summary workbook that says so.

    Raises:
        ImportFileError: the input file cannot be used; nothing is recorded.
        BatchError: bad output path, no firm to match, or the same run busy in another process.
    """
    store.require("招商", "批量匹配")
    t0 = time.monotonic()
    src, out = Path(in_path), Path(out_path)
    _check_output(out, src)
    table = read_table(src, sheet)
    stages = {"read": time.monotonic() - t0}
    t = time.monotonic()
    good, issues = validate_rows(table)
    stages["validate"] = time.monotonic() - t
    rejected = sum(1 for i in issues if i.level == "rejected")
    if not good:
        shown = "；".join(f"第 {i.row} 行：{i.reason}" for i in issues if i.level == "rejected")[:300]
        raise ImportFileError(src, f"没有可匹配的企业（{len(table.rows)} 行全部被拒绝：{shown}）")
    _make_output_dir(out)
    t = time.monotonic()
    digest = file_sha256(src)
    stages["hash"] = time.monotonic() - t
    if status:
        status(f"读取 {src.name}：{len(good)} 家企业待匹配；加载匹配模型与索引……")
    t = time.monotonic()
    matcher = load_matcher(store)
    stages["load_matcher"] = time.monotonic() - t
    key = _key(matcher, k, table.sheet)
    counts = {"rows": len(table.rows), "firms": len(good), "rejected": rejected}
    index = firm_store.FirmIndex.of(store)
    items = [(g.row, index.find(g.firm), g.firm) for g in good]
    run = _resumable(store, "batch", digest, key, restart)
    duplicates = sum(1 for i in issues if i.level == "duplicate")
    warnings = sum(1 for i in issues if i.level == "warning")
    if run is None:
        extra = {"format": table.format, "encoding": table.encoding, "duplicates": duplicates, "warnings": warnings,
                 "unknown_columns": table.unknown_columns}
        run_id = _start_run(store, "batch", str(src), digest, key, counts, extra, issues)
        _acquire(store, run_id)
    else:
        run_id = run["id"]
        _acquire(store, run_id)
    try:
        if run is not None:
            _claim(store, run_id)
        report = Path(run["report_path"]) if run and run.get("report_path") else None
        if report is None or not report.exists():
            report = write_report(_default_report(store, src, run_id), issues)
        run_store.update_run(store, run_id, report_path=str(report), output_path=str(out))
        filters = f"输入文件 {src.name} 的全部企业"
        t1 = time.monotonic()
        resumed = _match_items(store, matcher, run_id, items, k, chunk_size, progress, workers, cluster)
        t_match = time.monotonic() - t1
        stages["prepare_run"] = t1 - t0 - sum(stages.values())
        stages["match_and_checkpoint"] = t_match
        ended = now()
        t = time.monotonic()
        if status:
            status(f"匹配完成，正在写出结果工作簿 {out.name}……")
        finished = run_store.get_run(store, run_id) or {"id": run_id}
        export.write_matches(store, finished, out, filters, ended_at=ended, excel_rows=excel_rows)
        stages["workbook"] = time.monotonic() - t
        with store.transaction():
            _mark(store, run_id, "done", ended_at=ended)
            store.audit("批量匹配", str(src), after={"run": run_store.run_number(store, run_id), "firms": len(good), "rejected": rejected,
                                                   "output": str(out), "sha256": digest})
    except BaseException as exc:
        why = "已中断（Ctrl-C）" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        try:
            _mark(store, run_id, "failed", error=why)
        except Exception:  # the database itself may be the problem; the run stays resumable either way
            pass
        raise
    finally:
        _release(store, run_id)
    return BatchResult(run_id, "batch", str(src), out, report, len(table.rows), len(good), rejected, duplicates,
                       warnings, len(items), resumed, time.monotonic() - t0, t_match, key["model_version"],
                       key["kb_version"], key["index_version"], stages,
                       export.large_output_paths(out) if len(items) > excel_rows else (),
                       run_store.run_number(store, run_id))


def run_firms(store: Store, *, k: int = 3, chunk_size: int = 200, progress: Progress | None = None,
              restart: bool = False, workers: int = 1, matcher: Any = None) -> BatchResult:
    """Match every stored firm (the basis of the 共建清单 and 供需清单), checkpointed and resumable like a batch.

    ``matcher``: the build to match with (default the store's current one, built when stale).
    """
    t0 = time.monotonic()
    matcher = matcher if matcher is not None else load_matcher(store)
    firms = store.firms()
    key = _key(matcher, k, None)
    digest = hashlib.sha256(f"firms:{store.firms_version()}:{key['index_version']}".encode()).hexdigest()
    run = _resumable(store, "firms", digest, key, restart)
    if run is None:
        counts = {"rows": len(firms), "firms": len(firms), "rejected": 0}
        run_id = _start_run(store, "firms", "（数据库企业表）", digest, key, counts, {})
    else:
        run_id = run["id"]
    _acquire(store, run_id)
    items = [(i, f["id"], f) for i, f in enumerate(firms, start=1)]
    try:
        if run is not None:
            _claim(store, run_id)
        t1 = time.monotonic()
        resumed = _match_items(store, matcher, run_id, items, k, chunk_size, progress, workers)
        t_match = time.monotonic() - t1
        _mark(store, run_id, "done")
        run_store.supersede_runs(store, "firms", keep=run_id)
    except BaseException as exc:
        try:
            _mark(store, run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        except Exception:
            pass
        raise
    finally:
        _release(store, run_id)
    return BatchResult(run_id, "firms", "（数据库企业表）", None, None, len(firms), len(firms), 0, 0, 0, len(items),
                       resumed, time.monotonic() - t0, t_match, key["model_version"], key["kb_version"],
                       key["index_version"], number=run_store.run_number(store, run_id))


def list_key(matcher: Any, k: int = 3) -> dict[str, Any]:
    """What the stored-firms run made with ``matcher`` is found by (`current_firms_run`)."""
    return _key(matcher, k, None)


def firms_run(store: Store, *, k: int = 3, progress: Progress | None = None, workers: int = 1,
              matcher: Any = None) -> dict[str, Any]:
    """The finished stored-firms run of a build (default the store's current one), matching the firms first when
    there is none."""
    matcher = matcher if matcher is not None else load_matcher(store)
    run = current_firms_run(store, list_key(matcher, k))
    if run is not None:
        return run
    res = run_firms(store, k=k, progress=progress, workers=workers, matcher=matcher)
    run = run_store.get_run(store, res.run_id)
    assert run is not None
    return run

"""Batch matching: every firm of a list (or of the database) matched, checkpointed per chunk, resumable after a crash.

A run is one ``runs`` row (kind ``batch`` for a file, ``firms`` for the stored firms) and its results are rows of
``matches``, written one transaction per chunk. Running the same command again on the same input with the same
parameters and versions continues an unfinished run from its last checkpoint; the workbook is built from the stored
results only, so a resumed run writes exactly the workbook an uninterrupted one would.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from matcher.ingest.importer import (
    LEVEL_LABELS,
    GoodRow,
    ImportFileError,
    Issue,
    read_table,
    validate_rows,
    write_report,
)
from matcher.parallel import Workers
from matcher.store.database import Store, dumps, now

Progress = Callable[[int, int], None]
MATCH_KINDS = ("batch", "firms")  # runs whose results are in ``matches``
KIND_LABELS = {"import": "导入", "batch": "批量匹配", "firms": "库内企业匹配"}
STATUS_LABELS = {"running": "进行中", "done": "完成", "failed": "失败", "superseded": "已被新结果取代"}
_FIRM_FIELDS = ("name", "uscc", "uscc_valid", "region", "district", "description", "products", "needs", "industry")


class BatchError(Exception):
    """A batch that cannot run or finish (bad output path, nothing to match, run busy elsewhere); message in Chinese."""


@dataclass
class FirmMatch:
    """One firm's stored results: the firm's fields and, per kind, its ranked hits as dicts.

    Attributes:
        row: row number in the input file (for a ``firms`` run: position in id order).
        firm_id: the stored firm, when the firm is in the database.
        firm: name, uscc, region, district, description, products, needs, industry.
        none: the firm fits no key chain.
        hits: kind (chain, system, industry, park, supplier, customer) → hits ``{target, label, rank, score, parts,
            reason, data}`` in rank order.
    """

    row: int
    firm_id: int | None
    firm: dict[str, Any]
    none: bool = False
    hits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


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

    @property
    def rate(self) -> float:
        """Firms matched per second of matching in this process (resumed firms and model loading excluded)."""
        n = self.matched - self.resumed_from
        return n / self.match_seconds if self.match_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Counts, paths, versions and speed, JSON-ready."""
        return {
            "run_id": self.run_id, "kind": self.kind, "input": self.input,
            "output": str(self.output) if self.output else None, "report": str(self.report) if self.report else None,
            "rows": self.rows, "firms": self.firms, "rejected": self.rejected, "duplicates": self.duplicates,
            "warnings": self.warnings, "matched": self.matched, "resumed_from": self.resumed_from,
            "elapsed_s": round(self.elapsed, 2), "match_s": round(self.match_seconds, 2), "firms_per_s": round(self.rate, 1),
            "model_version": self.model_version, "kb_version": self.kb_version, "index_version": self.index_version,
        }


# ---------------------------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------------------------
def _run_dict(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    try:
        out["params"] = json.loads(row.get("params") or "{}")
    except ValueError:
        out["params"] = {}
    return out


def get_run(store: Store, run_id: int) -> dict[str, Any] | None:
    """One ``runs`` row (``params`` decoded), or ``None``."""
    rows = list(store.db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
    return _run_dict(rows[0]) if rows else None


def list_runs(store: Store, kind: str | None = None, limit: int | None = 50) -> list[dict[str, Any]]:
    """Recorded runs (imports, batches, stored-firm matches), newest first, ``params`` decoded."""
    sql, args = "SELECT * FROM runs", []
    if kind:
        sql += " WHERE kind = ?"
        args.append(kind)
    sql += " ORDER BY id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [_run_dict(r) for r in store.db.query(sql, args)]


def latest_run(store: Store, kind: str = "batch") -> dict[str, Any] | None:
    """The newest finished run of one kind, or ``None``."""
    rows = list(store.db.query("SELECT * FROM runs WHERE kind = ? AND status = 'done' ORDER BY id DESC LIMIT 1",
                               [kind]))
    return _run_dict(rows[0]) if rows else None


def run_issues(store: Store, run_id: int) -> list[dict[str, Any]]:
    """The rejected rows, warnings and merges recorded with a batch run (rows of the 未导入行 sheet)."""
    out = []
    for row, target, reason, data in store.db.execute(
            "SELECT row, target, reason, data FROM matches WHERE run_id = ? AND kind = 'issue' ORDER BY rank",
            [run_id]):
        d = orjson.loads(data or "{}")
        out.append({"row": row, "field": target, "level": LEVEL_LABELS.get(d.get("level"), d.get("level")),
                    "reason": reason, "value": d.get("value")})
    return out


def _issue_rows(run_id: int, issues: Sequence[Issue]) -> list[tuple[Any, ...]]:
    """The import issues of a batch as ``matches`` rows (kind ``issue``), so the run's record is self-contained."""
    stamp = now()
    return [(run_id, None, i.row, "issue", i.field, n, None, "{}", i.reason,
             _dumps({"level": i.level, "value": i.value}), stamp) for n, i in enumerate(issues, start=1)]


_INSERT = ("INSERT INTO matches (run_id, firm_id, row, kind, target, rank, score, parts, reason, data, created_at) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _mark(store: Store, run_id: int, status: str, error: str | None = None, **columns: Any) -> None:
    """Set a run's status (and end time, error text, other columns) in one short transaction."""
    with store.transaction() as db:
        row = db.execute("SELECT params FROM runs WHERE id = ?", [run_id]).fetchone()
        params = json.loads(row[0] or "{}") if row else {}
        if error is not None:
            params["error"] = error
        elif status == "done":
            params.pop("error", None)
        sets = {"status": status, "params": dumps(params), **columns}
        if status != "running" and "ended_at" not in columns:
            sets["ended_at"] = now()
        db.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?", [*sets.values(), run_id])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


_ACTIVE: set[tuple[str, int]] = set()  # (database, run id) being matched in this process
_ACTIVE_LOCK = threading.Lock()


def _acquire(store: Store, run_id: int) -> None:
    """Refuse to run one run twice at once in this process (two app sessions starting the same batch)."""
    key = (str(store.path.resolve()), run_id)
    with _ACTIVE_LOCK:
        if key in _ACTIVE:
            raise BatchError(f"运行 {run_id} 正在本程序中进行，请等它结束")
        _ACTIVE.add(key)


def _release(store: Store, run_id: int) -> None:
    with _ACTIVE_LOCK:
        _ACTIVE.discard((str(store.path.resolve()), run_id))


def _resumable(store: Store, kind: str, digest: str, key: dict[str, Any], restart: bool) -> dict[str, Any] | None:
    """The unfinished run of the same input and parameters to continue, or ``None`` to start a new one.

    Unfinished runs of the same input that cannot be continued (other versions, or ``restart``) are marked failed so
    no run stays 'running' for ever. A run still alive in another process is left alone: `BatchError`.
    """
    rows = list(store.db.query("SELECT * FROM runs WHERE kind = ? AND input_sha256 = ? AND status IN "
                               "('running', 'failed') ORDER BY id DESC", [kind, digest]))
    pick = None
    host = socket.gethostname()
    for r in map(_run_dict, rows):
        p = r["params"]
        if r["status"] == "running" and p.get("pid") not in (None, os.getpid()) and p.get("host") == host \
                and _pid_alive(int(p["pid"])):
            raise BatchError(f"同一输入的匹配（运行 {r['id']}）正在另一个进程（{p['pid']}）中进行；请等它结束，"
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
def _json_default(value: Any) -> Any:
    """numpy scalars and other odd values in hit data → plain JSON."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def _dumps(value: Any) -> str:
    # orjson: a batch writes about 30 JSON cells per firm, and the standard encoder was a fifth of matching time.
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def result_records(res: Any, k: int) -> tuple[bool, list[dict[str, Any]]]:
    """A match result as ``matches`` records (kind, target, rank, score, parts, reason, data), ``k`` per kind.

    Returns:
        ``(none, records)``: whether the firm fits no key chain, and the records in output order.
    """
    records: list[dict[str, Any]] = []
    for kind, hits in (("chain", res.chains), ("industry", res.industries), ("park", res.parks),
                       ("supplier", res.suppliers), ("customer", res.customers)):
        for rank, h in enumerate(hits[:k], start=1):
            records.append({"kind": kind, "target": str(h.target), "rank": rank, "score": float(h.score),
                            "parts": {str(a): float(b) for a, b in (h.parts or {}).items()}, "reason": h.reason or "",
                            "data": dict(h.data or {}, label=h.label)})
    rank = 0
    for s in res.systems or []:
        for it in s.get("items") or []:
            rank += 1
            score = it.get("score")
            records.append({"kind": "system", "target": str(s.get("system_id")), "rank": rank,
                            "score": None if score is None else float(score), "parts": {}, "reason": "",
                            "data": {"system": s.get("system"), "item": it.get("item"), "chain": it.get("chain"),
                                     "label": it.get("item")}})
    return bool(getattr(res, "none", False)), records


def firm_match_from_result(res: Any, k: int = 5, row: int = 1) -> FirmMatch:
    """A `FirmMatch` straight from a match result (one search), for exporting it without a run."""
    none, records = result_records(res, k)
    firm = dict(res.firm or {"name": res.query_text})
    fm = FirmMatch(row, firm.get("id"), {f: firm.get(f) for f in _FIRM_FIELDS}, none)
    for r in records:
        fm.hits.setdefault(r["kind"], []).append(r)
    return fm


def _firm_ids(store: Store) -> tuple[dict[str, int], dict[str, int]]:
    """Stored firms by valid USCC and by exact name, to link input firms to the database."""
    by_code: dict[str, int] = {}
    by_name: dict[str, int] = {}
    for fid, name, code, valid in store.db.execute("SELECT id, name, uscc, uscc_valid FROM firms ORDER BY id"):
        if valid == 1 and code:
            by_code.setdefault(code, fid)
        if name:
            by_name.setdefault(re.sub(r"\s+", "", name), fid)
    return by_code, by_name


def _result_rows(run_id: int, chunk: Sequence[tuple[int, int | None, dict[str, Any]]], results: Sequence[Any],
                 k: int) -> list[tuple[Any, ...]]:
    """The ``matches`` rows of matched firms: one ``firm`` summary row per firm, then its records."""
    rows: list[tuple[Any, ...]] = []
    for (row, firm_id, firm), res in zip(chunk, results):
        none, records = result_records(res, k)
        stamp = now()
        summary = {f: firm.get(f) for f in _FIRM_FIELDS}
        summary.update(none=none, none_prob=float(getattr(res, "none_prob", 0.0) or 0.0))
        rows.append((run_id, firm_id, row, "firm", firm.get("name"), 0, None, "{}", "", _dumps(summary), stamp))
        for r in records:
            rows.append((run_id, firm_id, row, r["kind"], r["target"], r["rank"], r["score"], _dumps(r["parts"]),
                         r["reason"], _dumps(r["data"]), stamp))
    return rows


def _match_rows(matcher: Any, run_id: int, chunk: Sequence[tuple[int, int | None, dict[str, Any]]],
                k: int) -> list[tuple[Any, ...]]:
    """Match a chunk of firms in one ``match_many`` pass and return their ``matches`` rows."""
    queries = [dict(firm, id=firm_id) if firm_id is not None else firm for _, firm_id, firm in chunk]
    return _result_rows(run_id, chunk, matcher.match_many(queries, k=k), k)


def _match_items(store: Store, matcher: Any, run_id: int, items: Sequence[tuple[int, int | None, dict[str, Any]]],
                 k: int, chunk_size: int, progress: Progress | None, workers: int = 1) -> int:
    """Match the items not yet checkpointed, one transaction per chunk; returns how many were already done.

    With ``workers`` > 1 each chunk is split across forked processes that share the loaded indexes; the parent
    alone writes to the database, so checkpoints stay one transaction per chunk.
    """
    done_rows = {r[0] for r in store.db.execute("SELECT row FROM matches WHERE run_id = ? AND kind = 'firm'",
                                                [run_id])}
    todo = [it for it in items if it[0] not in done_rows]
    resumed = len(items) - len(todo)
    total = len(items)
    if progress:
        progress(resumed, total)
    done = resumed
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
            with store.transaction() as db:  # one checkpoint: the chunk's results and the count land together
                db.conn.executemany(_INSERT, rows)
                db.execute("UPDATE runs SET done = (SELECT count(*) FROM matches WHERE run_id = ? AND kind = 'firm') "
                           "WHERE id = ?", [run_id, run_id])
            done += len(chunk)
            if progress:
                progress(done, total)
    return resumed


def iter_results(store: Store, run_id: int) -> Iterator[FirmMatch]:
    """The stored results of a run, one `FirmMatch` per firm in row order, streamed from the database."""
    fm: FirmMatch | None = None
    cur = store.db.execute("SELECT row, firm_id, kind, target, rank, score, parts, reason, data FROM matches "
                           "WHERE run_id = ? AND kind != 'issue' ORDER BY row, id", [run_id])
    for row, firm_id, kind, target, rank, score, parts, reason, data in cur:
        d = orjson.loads(data or "{}")
        if kind == "firm":
            if fm is not None:
                yield fm
            fm = FirmMatch(row, firm_id, {f: d.get(f) for f in _FIRM_FIELDS}, bool(d.get("none")))
            continue
        if fm is None or fm.row != row:  # pragma: no cover - the firm record is always written first
            continue
        fm.hits.setdefault(kind, []).append({"target": target, "label": d.get("label") or target, "rank": rank,
                                             "score": score, "parts": orjson.loads(parts or "{}"), "reason": reason,
                                             "data": d})
    if fm is not None:
        yield fm


def run_results(store: Store, run_id: int) -> list[FirmMatch]:
    """The stored results of a run, one `FirmMatch` per firm, in row order."""
    return list(iter_results(store, run_id))


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
    stem = re.sub(r"[^\w\u4e00-\u9fff-]+", "_", src.stem)[:60].strip("_") or "file"
    return store.path.parent / "reports" / f"batch-{run_id:05d}-{stem}.csv"


def _start_run(store: Store, kind: str, input_path: str, digest: str, key: dict[str, Any], counts: dict[str, int],
               extra: dict[str, Any], issues: Sequence[Issue] = ()) -> int:
    """Record a new run (status running) and its import issues in one transaction; returns its id."""
    params = dict(key, **extra, pid=os.getpid(), host=socket.gethostname())
    params.pop("model_version", None)
    params.pop("kb_version", None)
    with store.transaction() as db:
        cur = db.execute(
            "INSERT INTO runs (kind, status, input_path, input_sha256, rows, stored, rejected, done, params, "
            "model_version, kb_version, started_at) VALUES (?, 'running', ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
            [kind, input_path, digest, counts["rows"], counts["firms"], counts["rejected"], dumps(params),
             key["model_version"], key["kb_version"], now()])
        run_id = int(cur.lastrowid or 0)
        if issues:
            db.conn.executemany(_INSERT, _issue_rows(run_id, issues))
        return run_id


def _claim(store: Store, run_id: int) -> None:
    """Record that this process now runs the (resumed) run."""
    with store.transaction() as db:
        row = db.execute("SELECT params FROM runs WHERE id = ?", [run_id]).fetchone()
        params = json.loads(row[0] or "{}")
        params.update(pid=os.getpid(), host=socket.gethostname(), resumes=int(params.get("resumes", 0)) + 1)
        params.pop("error", None)
        db.execute("UPDATE runs SET status = 'running', params = ?, ended_at = NULL WHERE id = ?",
                   [dumps(params), run_id])


def _matcher(store: Store) -> Any:
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
    index = getattr(matcher, "index_version_", None) or getattr(matcher, "build_key_", "")
    return {"k": int(k), "sheet": sheet, "index_version": str(index), "model_version": str(matcher.model_version_),
            "kb_version": int(matcher.kb_version_)}


def run_batch(store: Store, in_path: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
              sheet: str | None = None, k: int = 3, chunk_size: int = 200, progress: Progress | None = None,
              restart: bool = False, status: Callable[[str], None] | None = None, workers: int = 1) -> BatchResult:
    """Match every firm of a CSV/XLSX list and write the results workbook; resumable.

    The file is read with the importer's formats and row rules (rejected rows go to the report, as for
    ``matcher import``); nothing is recorded when the file cannot be used. The firms are matched in chunks, each
    checkpointed in one transaction; the same call after a crash continues from the last checkpoint. The workbook
    (cover, 匹配结果, 匹配明细, 未导入行) is written atomically at the end.

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
        workers: processes matching in parallel (forked after the indexes are loaded; see `default_workers`).

    Raises:
        ImportFileError: the input file cannot be used; nothing is recorded.
        BatchError: bad output path, no firm to match, or the same run busy in another process.
    """
    t0 = time.monotonic()
    src, out = Path(in_path), Path(out_path)
    _check_output(out, src)
    table = read_table(src, sheet)
    good, issues = validate_rows(table)
    rejected = sum(1 for i in issues if i.level == "rejected")
    if not good:
        shown = "；".join(f"第 {i.row} 行：{i.reason}" for i in issues if i.level == "rejected")[:300]
        raise ImportFileError(src, f"没有可匹配的企业（{len(table.rows)} 行全部被拒绝：{shown}）")
    _make_output_dir(out)
    digest = file_sha256(src)
    if status:
        status(f"读取 {src.name}：{len(good)} 家企业待匹配；加载匹配模型与索引……")
    matcher = _matcher(store)
    key = _key(matcher, k, table.sheet)
    counts = {"rows": len(table.rows), "firms": len(good), "rejected": rejected}
    by_code, by_name = _firm_ids(store)
    items = [(g.row, _stored_id(g, by_code, by_name), g.firm) for g in good]
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
        with store.transaction() as db:
            db.execute("UPDATE runs SET report_path = ?, output_path = ? WHERE id = ?", [str(report), str(out), run_id])
        t1 = time.monotonic()
        resumed = _match_items(store, matcher, run_id, items, k, chunk_size, progress, workers)
        t_match = time.monotonic() - t1
        from matcher.work import export

        ended = now()
        export.write_matches(store, get_run(store, run_id) or {"id": run_id}, out, f"输入文件 {src.name} 的全部企业",
                             ended_at=ended)
        _mark(store, run_id, "done", ended_at=ended)
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
                       key["kb_version"], key["index_version"])


def _stored_id(g: GoodRow, by_code: dict[str, int], by_name: dict[str, int]) -> int | None:
    f = g.firm
    if f.get("uscc_valid") == 1 and f.get("uscc") in by_code:
        return by_code[f["uscc"]]
    return by_name.get(re.sub(r"\s+", "", f.get("name") or ""))


def run_firms(store: Store, *, k: int = 3, chunk_size: int = 200, progress: Progress | None = None,
              restart: bool = False, workers: int = 1) -> BatchResult:
    """Match every stored firm (the basis of the 共建清单 and 供需清单), checkpointed and resumable like a batch."""
    t0 = time.monotonic()
    matcher = _matcher(store)
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
        _supersede_firms_runs(store, run_id)
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
                       key["index_version"])


def _supersede_firms_runs(store: Store, keep: int) -> None:
    """Drop the results of older stored-firm runs (they describe firms and indexes that changed); batches are kept."""
    with store.transaction() as db:
        old = [r[0] for r in db.execute("SELECT id FROM runs WHERE kind = 'firms' AND status = 'done' AND id < ?",
                                        [keep])]
        for run_id in old:
            db.execute("DELETE FROM matches WHERE run_id = ?", [run_id])
            db.execute("UPDATE runs SET status = 'superseded' WHERE id = ?", [run_id])


def firms_run(store: Store, *, k: int = 3, progress: Progress | None = None, workers: int = 1) -> dict[str, Any]:
    """The finished stored-firms run of the current indexes and versions, matching the firms first when there is none."""
    key = _key(_matcher(store), k, None)
    for r in map(_run_dict, store.db.query(
            "SELECT * FROM runs WHERE kind = 'firms' AND status = 'done' ORDER BY id DESC LIMIT 20")):
        p = r["params"]
        if p.get("index_version") == key["index_version"] and p.get("k") == key["k"] and \
                r.get("model_version") == key["model_version"] and r.get("kb_version") == key["kb_version"]:
            return r
    res = run_firms(store, k=k, progress=progress, workers=workers)
    run = get_run(store, res.run_id)
    assert run is not None
    return run


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _time(stamp: str | None) -> str:
    return (stamp or "")[:19].replace("T", " ")


def runs_table(runs: Sequence[dict[str, Any]]) -> str:
    """The runs as an aligned text table for the terminal (newest first), failures with their reason."""
    head = ["编号", "类型", "状态", "输入", "行数", "企业", "拒绝", "已匹配", "知识库", "开始", "结束", "输出"]
    rows = []
    for r in runs:
        p = r.get("params") or {}
        name = Path(r.get("input_path") or "").name or (r.get("input_path") or "")
        status = STATUS_LABELS.get(r.get("status") or "", r.get("status") or "")
        if r.get("status") == "running" and p.get("host") == socket.gethostname() and p.get("pid") \
                and not _pid_alive(int(p["pid"])):
            status = "已中断（再次运行同一命令可续跑）"
        elif r.get("status") == "failed" and p.get("error"):
            status += f"（{str(p['error'])[:40]}）"
        rows.append([str(r["id"]), KIND_LABELS.get(r.get("kind") or "", r.get("kind") or ""), status, name[:40],
                     str(r.get("rows") or 0), str(r.get("stored") or 0), str(r.get("rejected") or 0),
                     str(r.get("done") or 0) if r.get("kind") in MATCH_KINDS else "—", f"v{r.get('kb_version')}",
                     _time(r.get("started_at")), _time(r.get("ended_at")), r.get("output_path") or ""])
    widths = [max(_width(x[i]) for x in [head, *rows]) for i in range(len(head))]
    return "\n".join("  ".join(_pad(x[i], widths[i]) for i in range(len(head))).rstrip() for x in [head, *rows])

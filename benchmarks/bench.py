"""Benchmark: index build, search and match latency, batch throughput, memory and disk for N synthetic firms.

``python benchmarks/bench.py --firms N [--peer txtai] [--repeat R]`` fills a temporary database with N profiles from
``benchmarks/gen.py``, builds the matcher's indexes, measures them, prints a table and, as its last line, one JSON
object; the full result (with machine info and commit) is saved under ``benchmarks/results/``.

``--peer txtai`` builds a txtai ``Embeddings`` index (hybrid BM25 + dense, the same embedding model wrapped as an
external transform, the same tokens) over the same firms in a separate process, and compares build time, search
latency, memory and retrieval quality on the development sets.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import gen  # noqa: E402

RESULTS = HERE / "results"
EVAL = ROOT.parent / "shared" / "eval"
TARGETS = {  # issue 7, on 2 CPU cores
    100_000: {"build_s": 60, "query_p95_ms": 50, "match_p95_ms": 150, "batch_firms_per_s": 500, "peak_rss_mb": 2048},
    1_000_000: {"build_s": 900, "query_p95_ms": 200, "recall_at_10": 0.95, "peak_rss_mb": 8192},
}


# ----------------------------------------------------------------------------------------------------------------
# Measuring helpers
# ----------------------------------------------------------------------------------------------------------------
class StageTimer:
    """Exclusive wall time per stage: wraps methods so a nested stage's time is not counted twice."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[list[float]] = []  # [start, child time]
        self._patched: list[tuple[type, str, Any]] = []

    def wrap(self, cls: type, method: str, stage: str) -> None:
        """Time every call of ``cls.method`` as ``stage`` (a method the engine no longer has is skipped)."""
        original = cls.__dict__.get(method)
        if original is None:
            return
        timer = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            timer._stack.append([time.perf_counter(), 0.0])
            try:
                return original(*args, **kwargs)
            finally:
                start, child = timer._stack.pop()
                spent = time.perf_counter() - start
                timer.totals[stage] = timer.totals.get(stage, 0.0) + spent - child
                timer.calls[stage] = timer.calls.get(stage, 0) + 1
                if timer._stack:
                    timer._stack[-1][1] += spent

        setattr(cls, method, timed)
        self._patched.append((cls, method, original))

    def reset(self) -> None:
        """Forget the totals (between repeats)."""
        self.totals.clear()
        self.calls.clear()

    def restore(self) -> None:
        """Put the original methods back."""
        for cls, method, original in reversed(self._patched):
            setattr(cls, method, original)
        self._patched.clear()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of ``values``, linear interpolation."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else float("nan")


def latencies(fn: Callable[[Any], Any], items: list[Any], warmup: int = 10) -> tuple[list[float], list[float]]:
    """Milliseconds of ``fn(item)`` for each item after ``warmup`` untimed calls: (wall clock, process CPU time).

    CPU time is what the call costs when the machine is not shared; wall time is what a user waits.
    """
    for item in items[:warmup]:
        fn(item)
    wall, cpu = [], []
    for item in items:
        t, c = time.perf_counter(), time.process_time()
        fn(item)
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - t) * 1000)
    return wall, cpu


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far.

    ``VmHWM`` from /proc on Linux: ``ru_maxrss`` survives ``execve``, so a child started from a big parent would
    report the parent's peak as its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


class MemorySampler:
    """Peak memory of the whole job: this process plus its worker processes, sampled in a background thread.

    Workers are forked and share the parent's pages until they write to them, so adding their RSS would count the
    shared pages twice; the proportional set size (PSS, shared pages split between the processes sharing them)
    adds up to what the job really holds. Falls back to RSS where PSS is not available. Reading PSS walks each
    process's page tables while they run; sampled every second it slowed batch matching by a quarter (the workers'
    copy-on-write faults wait for the walk), so samples are 5 s apart. ``phase`` labels the peaks.
    """

    def __init__(self, interval: float = 5.0) -> None:
        import threading

        self.interval = interval
        self.peak_mb = 0.0
        self.phase = "start"
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> float:
        """Current total memory of the job in MB."""
        import psutil

        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                info = proc.memory_full_info()
                total += getattr(info, "pss", 0) or info.rss
            except (psutil.Error, OSError):
                continue
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            mb = self.sample()
            self.peak_mb = max(self.peak_mb, mb)
            self.peaks[self.phase] = round(max(self.peaks.get(self.phase, 0.0), mb), 1)
            self._stop.wait(self.interval)


def dir_size_mb(path: Path) -> float:
    """Total size of the files under ``path``."""
    if not path.exists():
        return 0.0
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, load, versions and git commit, saved with every result."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    commit, dirty = None, None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                    capture_output=True, text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        pass
    versions = {}
    for pkg in ("faiss", "bm25s", "torch", "sentence_transformers", "jieba", "numpy", "txtai"):
        try:
            versions[pkg] = __import__(pkg).__version__
        except Exception:  # noqa: BLE001 - a missing optional package is just not listed
            pass
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gb": mem_gb, "loadavg_start": os.getloadavg(),
            "python": platform.python_version(), "platform": platform.platform(), "commit": commit,
            "dirty": dirty, "versions": versions}


# ----------------------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------------------
def fill_store(db_path: Path, n: int, seed: int) -> tuple[Any, float]:
    """A new store at ``db_path`` with ``n`` synthetic firms (bulk insert, one transaction per 20,000 rows)."""
    from matcher.store.database import Store

    store = Store(db_path)
    t = time.perf_counter()
    rows = gen.firm_rows(n, seed)
    while True:
        chunk = [r for _, r in zip(range(20_000), rows, strict=False)]
        if not chunk:
            break
        with store.transaction() as db:
            db["firms"].insert_all(chunk, batch_size=2000)
    return store, time.perf_counter() - t


def query_sets(n_queries: int, seed: int) -> dict[str, list[Any]]:
    """Search queries (short keyword queries and profile texts) and new firms to match, none of them stored."""
    rng = random.Random(seed)
    src = gen.load_sources()
    keywords = [t for c in src.chains for s in c["segments"] for t in gen._terms(s)]
    keywords += [p for _, _, products in src.sei for p in products[:3]]
    short = []
    for _ in range(n_queries // 2):
        short.append(" ".join(rng.sample(keywords, rng.choice((1, 1, 2, 3)))))
    new = list(gen.generate(n_queries, seed + 7919))  # a stream the stored firms never drew from
    texts = [f"{f['description']} {f['products']}" for f in new[: n_queries - len(short)]]
    search = short + texts
    rng.shuffle(search)
    return {"search": search, "match": new}


# ----------------------------------------------------------------------------------------------------------------
# Ours
# ----------------------------------------------------------------------------------------------------------------
def install_timers() -> StageTimer:
    """Time the build stages inside the engine without changing it."""
    from matcher.match.embed import Embedder
    from matcher.match.index import DenseIndex, LexicalIndex
    from matcher.match.text import Tokenizer

    timer = StageTimer()
    timer.wrap(Tokenizer, "__call__", "tokenize")
    timer.wrap(Tokenizer, "words_of", "tokenize")
    timer.wrap(Embedder, "encode", "embed")
    timer.wrap(LexicalIndex, "fit", "lexical")
    timer.wrap(DenseIndex, "fit", "faiss")
    timer.wrap(LexicalIndex, "save", "save")
    timer.wrap(DenseIndex, "save", "save")
    return timer


def build_matcher(store: Any) -> tuple[Any, float]:
    """Build the indexes from scratch (``rebuild=True``: nothing reused from memory or disk) with the default worker
    processes, as ``matcher index`` does; matcher and seconds (CPU time includes the finished workers')."""
    from matcher.match.engine import Matcher
    from matcher.parallel import default_workers

    Matcher._cache.clear()  # as in a fresh `matcher index`: no earlier build held in memory during this one
    gc.collect()
    t, c = time.perf_counter(), _cpu_with_children()
    m = Matcher.for_store(store, rebuild=True, workers=default_workers())
    m.bench_build_cpu_s_ = _cpu_with_children() - c
    return m, time.perf_counter() - t


def _cpu_with_children() -> float:
    """CPU seconds of this process plus its finished (reaped) child processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def firm_dense_index(m: Any, n: int) -> Any:
    """The matcher's dense index over the stored firms, or ``None``."""
    dense = getattr(m, "dense_", None)
    return dense if dense is not None and getattr(dense, "n_", None) == n else None


def _exact_top10(dense: Any, q: np.ndarray, block: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top 10 of each query over the index's stored vectors, read ``block`` vectors at a time
    (all 1M at once, with an exact index beside them, added 1 GB to the memory the benchmark reports)."""
    best_s = np.full((len(q), 10), -np.inf, dtype=np.float32)
    best = np.full((len(q), 10), -1, dtype=np.int64)
    for start in range(0, dense.n_, block):
        ids = np.arange(start, min(start + block, dense.n_))
        scores = q @ dense.vectors_of(ids).T
        s = np.concatenate([best_s, scores], axis=1)
        i = np.concatenate([best, np.broadcast_to(ids, scores.shape)], axis=1)
        order = np.lexsort((i, -s), axis=1)[:, :10]  # higher score first, then lower id
        best_s, best = np.take_along_axis(s, order, 1), np.take_along_axis(i, order, 1)
    return best_s, best


def recall_at_10(dense: Any, embedder: Any, queries: list[str], ef_values: tuple[int, ...] = ()) -> dict[str, Any]:
    """Recall@10 of the matcher's firm index against exact inner-product search on the same vectors.

    ``recall_at_10`` counts returned ids among the exact top 10; ``recall_at_10_ties`` also accepts an id whose exact
    score equals the 10th best (synthetic profiles repeat, so many firms can tie). ``ef_values`` adds the same
    figures for other HNSW ``efSearch`` settings.
    """
    q = embedder.encode(queries)
    truth_s, truth = _exact_top10(dense, q)

    def measure() -> tuple[float, float, float]:
        hits = tie_hits = 0
        t = time.perf_counter()
        found = [dense.search(q[i], 10)[0] for i in range(len(queries))]
        ms = (time.perf_counter() - t) / max(len(queries), 1) * 1000
        for i, ids in enumerate(found):
            hits += len(set(ids.tolist()) & set(truth[i].tolist()))
            if len(ids):
                scores = dense.vectors_of(ids) @ q[i]
                tie_hits += int((scores >= truth_s[i][-1] - 1e-5).sum())
        n = 10 * max(len(queries), 1)
        return round(hits / n, 4), round(tie_hits / n, 4), round(ms, 3)

    r, rt, ms = measure()
    out: dict[str, Any] = {"recall_at_10": r, "recall_at_10_ties": rt, "queries": len(queries),
                           "index_type": type(dense.index_).__name__, "dense_query_ms": ms}
    def sweep(holder: Any, attr: str, values: tuple[int, ...]) -> dict[str, Any]:
        """The same figures with ``holder.attr`` set to each value in turn (then restored)."""
        saved, found = getattr(holder, attr), {}
        for value in values:
            setattr(holder, attr, value)
            r2, rt2, ms2 = measure()
            found[str(value)] = {"recall_at_10": r2, "recall_at_10_ties": rt2, "dense_query_ms": ms2}
        setattr(holder, attr, saved)
        return found

    if hasattr(dense.index_, "nprobe"):  # inverted file: by the number of lists read
        out["nprobe"] = int(dense.index_.nprobe)
        out["nprobe_sweep"] = sweep(dense.index_, "nprobe", (16, 32, 64, 128, 256))
    hnsw = getattr(dense.index_, "hnsw", None)
    if hnsw is not None:
        out["ef_search"] = int(hnsw.efSearch)
        out["ef_sweep"] = sweep(hnsw, "efSearch", ef_values)
    return out


def run_ours(store: Any, queries: dict[str, list[Any]], args: argparse.Namespace, work: Path,
             memory: MemorySampler | None = None) -> dict[str, Any]:
    """Build and measure our matcher ``args.repeat`` times; medians of the repeats, every repeat kept."""

    def phase(name: str) -> None:
        if memory is not None:
            memory.phase = name

    from matcher import paths
    from matcher.work import batch

    timer = install_timers()
    ids = [r[0] for r in store.db.execute("SELECT id FROM firms ORDER BY random() LIMIT ?", [args.batch])]
    repeats = []
    m = None
    for rep in range(args.repeat):
        timer.reset()
        m = None
        gc.collect()
        phase("build")
        m, build_s = build_matcher(store)
        phase("queries")
        stages = {k: round(v, 2) for k, v in timer.totals.items()}
        stages["other"] = round(build_s - sum(timer.totals.values()), 2)
        build_cpu_s = m.__dict__.pop("bench_build_cpu_s_")
        search_ms, search_cpu = latencies(lambda q, m=m: m.search(q, k=10), queries["search"])
        match_ms, match_cpu = latencies(lambda f, m=m: m.match(f, k=5), queries["match"])
        match_id_ms, _ = latencies(lambda i, m=m: m.match(i, k=5, store=store), ids[: len(queries["match"])])
        loop_ids = ids[: min(200, args.queries)]
        t = time.perf_counter()
        for fid in loop_ids:
            m.match(fid, k=5, store=store)
        loop_rate = len(loop_ids) / (time.perf_counter() - t)
        rec = {"build_s": round(build_s, 2), "build_cpu_s": round(build_cpu_s, 2), "stages_s": stages,
               "query_cpu_p50_ms": round(percentile(search_cpu, 50), 2),
               "query_cpu_p95_ms": round(percentile(search_cpu, 95), 2),
               "match_cpu_p50_ms": round(percentile(match_cpu, 50), 2),
               "match_cpu_p95_ms": round(percentile(match_cpu, 95), 2),
               "query_p50_ms": round(percentile(search_ms, 50), 2), "query_p95_ms": round(percentile(search_ms, 95), 2),
               "match_p50_ms": round(percentile(match_ms, 50), 2), "match_p95_ms": round(percentile(match_ms, 95), 2),
               "match_id_p50_ms": round(percentile(match_id_ms, 50), 2),
               "match_id_p95_ms": round(percentile(match_id_ms, 95), 2),
               "match_loop_firms_per_s": round(loop_rate, 1)}
        repeats.append(rec)
        print(f"  第 {rep + 1}/{args.repeat} 次：构建 {build_s:.1f}s，检索 p95 {rec['query_p95_ms']}ms，"
              f"匹配 p95 {rec['match_p95_ms']}ms", file=sys.stderr)
    timer.restore()
    assert m is not None
    out: dict[str, Any] = {k: round(statistics.median(r[k] for r in repeats), 2)
                           for k in repeats[0] if k != "stages_s"}
    out["stages_s"] = {k: round(statistics.median(r["stages_s"].get(k, 0.0) for r in repeats), 2)
                       for k in repeats[0]["stages_s"]}
    out["repeats"] = repeats
    # Batch: the staff workflow (read a CSV, row rules, match with counterparts, checkpoint, write the workbook)
    # with the CLI's default worker processes. Matching throughput is the matching phase (checkpoints included);
    # the end-to-end figure adds reading the file and writing the workbook.
    from matcher.parallel import default_workers

    csv_path = work / "batch.csv"
    gen.write_csv(args.batch, csv_path, seed=args.seed + 104729)
    phase("batch")
    t, cpu = time.perf_counter(), _cpu_with_children()
    res = batch.run_batch(store, csv_path, work / "batch.xlsx", k=5, chunk_size=500, workers=default_workers())
    seconds = time.perf_counter() - t
    out["workers"] = default_workers()
    out["batch_firms"] = int(getattr(res, "matched", None) or args.batch)
    # CPU of the whole batch (this process and its finished workers): steadier than the rates on a shared machine
    out["batch_cpu_s"] = round(_cpu_with_children() - cpu, 2)
    out["batch_cpu_ms_per_firm"] = round(1000 * out["batch_cpu_s"] / max(1, out["batch_firms"]), 2)
    out["batch_s"] = round(seconds, 2)
    out["batch_match_s"] = round(res.match_seconds, 2)
    out["batch_firms_per_s"] = round(out["batch_firms"] / res.match_seconds, 1)
    out["batch_end_to_end_firms_per_s"] = round(out["batch_firms"] / seconds, 1)
    # where the end-to-end time goes: reading, row rules, hashing, loading the indexes, matching with checkpoints,
    # the workbook (the rest, before the first chunk, is recording the run and its report)
    out["batch_stages_s"] = res.as_dict().get("stages_s", {})
    if getattr(args, "cluster", None):
        # the same batch on a Dask cluster (`--cluster local` starts one worker per core here)
        phase("cluster")
        t = time.perf_counter()
        cres = batch.run_batch(store, csv_path, work / "batch-cluster.xlsx", k=5, chunk_size=500,
                               workers=default_workers(), cluster=args.cluster, restart=True)
        cseconds = time.perf_counter() - t
        out["cluster"] = args.cluster
        out["cluster_firms_per_s"] = round(cres.matched / cres.match_seconds, 1) if cres.match_seconds else 0.0
        out["cluster_end_to_end_firms_per_s"] = round(cres.matched / cseconds, 1)
        out["cluster_stages_s"] = cres.as_dict().get("stages_s", {})
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    phase("after")
    folder = paths.index_dir(store.path)  # the build CURRENT points to (an earlier repeat's may still be there)
    current = folder / (folder / "CURRENT").read_text().strip() if (folder / "CURRENT").exists() else folder
    out["index_mb"] = round(dir_size_mb(current), 1)
    out["db_mb"] = round(dir_size_mb(Path(store.path)), 1)
    out["index_version"] = str(getattr(m, "index_version_", None) or getattr(m, "build_key_", ""))
    dense = firm_dense_index(m, args.firms)
    if dense is not None and (args.recall or args.firms >= 200_000):
        out["recall"] = recall_at_10(dense, _embedder(m), queries["search"])
    out["quality"] = quality_ours(m) if args.quality else {}
    return out


def _embedder(m: Any) -> Any:
    """The matcher's embedder."""
    return m.embedder_


# ----------------------------------------------------------------------------------------------------------------
# Development sets
# ----------------------------------------------------------------------------------------------------------------
def dev_sets() -> dict[str, list[tuple[str, set[str]]]]:
    """(text, accepted labels) of the development sets that exist."""
    out = {}
    for name, file in (("industries", "industry_dev.csv"), ("chains", "chains_dev.csv"), ("parks", "parks_dev.csv")):
        path = EVAL / file
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                out[name] = [(r["text"], set(r["label"].split("|"))) for r in csv.DictReader(fh)]
    return out


def _score(ranked: list[list[str]], items: list[tuple[str, set[str]]]) -> dict[str, float]:
    """acc@1 and hit@5 of ranked labels against the accepted ones."""
    n = max(len(items), 1)
    acc1 = sum(1 for r, (_, gold) in zip(ranked, items, strict=True) if r[:1] and r[0] in gold) / n
    hit5 = sum(1 for r, (_, gold) in zip(ranked, items, strict=True) if set(r[:5]) & gold) / n
    return {"acc@1": round(acc1, 4), "hit@5": round(hit5, 4), "n": len(items)}


def quality_ours(m: Any) -> dict[str, Any]:
    """The shipped matcher on the development sets, by the project's own protocol (``matcher.match.evaluate``).

    Industries leave the rows' own 战新 product lists out of the index; chains are cross-validated when the shipped
    text model saw the rows. For comparison with a peer that cannot answer "none", chains also report the accuracy
    on the rows labelled with a chain.
    """
    from matcher.ingest.samples import default_chainkg, negatives_for
    from matcher.match import evaluate

    out: dict[str, Any] = {}
    files = {"industries": EVAL / "industry_dev.csv", "chains": EVAL / "chains_dev.csv", "parks": EVAL / "parks_dev.csv"}
    if files["industries"].exists():
        metrics, _ = evaluate.evaluate_industries(evaluate.read_labelled(files["industries"]), m.embedder_)
        out["industries"] = {"acc@1": metrics["top1"], "hit@5": metrics["top5"], "n": metrics["n"]}
    if files["chains"].exists():
        rows = evaluate.read_labelled(files["chains"])
        folder = default_chainkg()
        try:
            negatives = negatives_for(m.kb_, folder, rows) if folder else None
            metrics, preds = evaluate.evaluate_chains(rows, m, negatives=negatives)
        except evaluate.EvalFileError as exc:
            out["chains"] = {"error": str(exc)}
        else:
            in_chain = [(p, set(r["label"].split("|"))) for p, r in zip(preds, rows, strict=True) if r["label"] != "none"]
            out["chains"] = {"acc@1": metrics.get("in_chain_accuracy"),
                             "hit@5": round(sum(1 for p, g in in_chain if set(p[:5]) & g) / max(len(in_chain), 1), 4),
                             "n": len(in_chain), "accuracy_with_none": metrics.get("accuracy"),
                             "macro_f1": metrics.get("macro_f1"), "protocol": metrics.get("protocol")}
    if files["parks"].exists():
        metrics, preds = evaluate.evaluate_parks(evaluate.read_labelled(files["parks"]), m)
        out["parks"] = {"acc@1": metrics["hit1"], "hit3": metrics["hit3"], "n": metrics["n"]}
    return out


def kb_docs() -> dict[str, tuple[list[str], list[str]]]:
    """Label documents per task: GB/T 4754 小类 (name + note), chains (name, aliases, segments), new cities."""
    from matcher.knowledge import gbt, kb

    classes = gbt.gb_classes()  # the 4-digit 小类
    gb_docs = ([str(c["code"]) for c in classes],
               [f"{c['name']} {c.get('description', '')}".replace("◇", " ").split("◆")[0] for c in classes])
    data = kb.load_dir()
    chain_labels, chain_texts = [], []
    for c in data["chains"]:
        words = [c["name"], *c.get("aliases", []), c.get("description", "")]
        for s in c.get("segments", []):
            words += [s.get("name", ""), *s.get("keywords", []), *s.get("products", [])]
        chain_labels.append(c["name"])
        chain_texts.append(" ".join(words))
    park_labels, park_texts = [], []
    for p in data["parks"]:
        if p.get("new_city"):
            park_labels.append(p["new_city"])
            park_texts.append(" ".join([p["name"], *p.get("lead_industries", []), *p.get("lead_chains", []),
                                        *p.get("features", []), p.get("location") or ""]))
    return {"industries": gb_docs, "chains": (chain_labels, chain_texts), "parks": (park_labels, park_texts)}


# ----------------------------------------------------------------------------------------------------------------
# Peer: txtai (run in its own process so that memory and threads are its own)
# ----------------------------------------------------------------------------------------------------------------
def txtai_config(embedder: Any) -> dict[str, Any]:
    """Hybrid txtai index on our embedding model (external transform) and our tokens (whitespace tokenizer)."""

    def transform(inputs: list[str]) -> np.ndarray:
        return embedder.encode(inputs, tokens=[s.split() for s in inputs])

    return {"method": "external", "transform": transform, "content": False, "hybrid": True,
            "scoring": {"method": "bm25", "terms": True, "normalize": True,
                        "tokenizer": {"whitespace": True, "lowercase": True}}}


def run_peer_txtai(db_path: Path, queries: dict[str, list[Any]], quality: bool, work: Path) -> dict[str, Any]:
    """Build and measure a txtai index over the firms of ``db_path`` (called in the child process)."""

    from txtai import Embeddings

    from matcher.match.embed import Embedder

    t = time.perf_counter()
    embedder = Embedder()
    load_s = time.perf_counter() - t
    from matcher.match.engine import firm_text
    from matcher.store import Store

    store = Store(db_path)
    texts = [firm_text(f) for f in store.firms(columns=("name", "description", "products"))]
    store.close()
    tok = embedder.tokenizer
    assert tok is not None, "txtai 对比需要项目自带的分词向量模型"
    t, c = time.perf_counter(), time.process_time()
    docs = [" ".join(tok(x)[:512]) or "∅" for x in texts]
    tokenize_s = time.perf_counter() - t
    tokenize_cpu_s = time.process_time() - c
    del texts
    layer = ours_layer(embedder, docs, queries["search"])
    emb = Embeddings(txtai_config(embedder))
    t = time.perf_counter()
    emb.index((i, d, None) for i, d in enumerate(docs))
    index_s = time.perf_counter() - t
    build_cpu_s = time.process_time() - c
    del docs
    gc.collect()

    def search(q: str) -> Any:
        return emb.search(" ".join(tok(q)) or "∅", 10)

    search_ms, search_cpu = latencies(search, queries["search"])
    path = work / "txtai-index"
    emb.save(str(path))
    out: dict[str, Any] = {
        "model_load_s": round(load_s, 2), "tokenize_s": round(tokenize_s, 2), "index_s": round(index_s, 2),
        "build_s": round(tokenize_s + index_s, 2), "build_cpu_s": round(build_cpu_s, 2),
        "index_cpu_s": round(build_cpu_s - tokenize_cpu_s, 2), "ours_layer": layer,
        "query_p50_ms": round(percentile(search_ms, 50), 2), "query_p95_ms": round(percentile(search_ms, 95), 2),
        "query_cpu_p50_ms": round(percentile(search_cpu, 50), 2),
        "query_cpu_p95_ms": round(percentile(search_cpu, 95), 2),
        "index_mb": round(dir_size_mb(path), 1), "peak_rss_mb": round(peak_rss_mb(), 1),
        "ann": (emb.config.get("build") or {}).get("settings", {}).get("components"),
    }
    emb.close()
    if quality:
        out["quality"] = quality_retrieval(embedder)
    return out


def ours_layer(embedder: Any, docs: list[str], queries: list[str]) -> dict[str, Any]:
    """Equal work to the txtai index: our BM25 + dense index over the same token lists (no classifiers).

    The engine's build also trains chain, industry and park models and indexes products and needs separately, so
    its total is not the like-for-like figure; this is.
    """
    from matcher.match.index import DenseIndex, LexicalIndex

    tokens = [d.split() for d in docs]
    t, c = time.perf_counter(), time.process_time()
    lex = LexicalIndex().fit(tokens)
    vecs = embedder.encode(docs, tokens=tokens)
    dense = DenseIndex().fit(vecs)
    index_s, index_cpu_s = time.perf_counter() - t, time.process_time() - c
    del tokens, vecs
    tok = embedder.tokenizer

    def search(q: str) -> Any:
        words = tok(q)
        lex_ids, lex_s = lex.search(words, 10)
        den_ids, den_s = dense.search(embedder.encode([q], tokens=[words])[0], 10)
        return lex_ids, den_ids

    wall, cpu = latencies(search, queries)
    return {"index_s": round(index_s, 2), "index_cpu_s": round(index_cpu_s, 2),
            "query_p50_ms": round(percentile(wall, 50), 2), "query_p95_ms": round(percentile(wall, 95), 2),
            "query_cpu_p95_ms": round(percentile(cpu, 95), 2)}


def quality_retrieval(embedder: Any) -> dict[str, Any]:
    """Same label documents, same tokens, same model: txtai hybrid vs our LexicalIndex + DenseIndex, top-k labels."""
    from txtai import Embeddings

    from matcher.match.index import DenseIndex, LexicalIndex

    tok = embedder.tokenizer
    sets = dev_sets()
    out: dict[str, Any] = {"txtai": {}, "ours_index": {}}
    for task, (labels, texts) in kb_docs().items():
        if task not in sets:
            continue
        items = sets[task] if task != "chains" else [(t, g) for t, g in sets[task] if "none" not in g]
        doc_tokens = [tok(x)[:512] for x in texts]
        emb = Embeddings(txtai_config(embedder))
        emb.index((i, " ".join(d) or "∅", None) for i, d in enumerate(doc_tokens))
        lex = LexicalIndex().fit(doc_tokens)
        dense = DenseIndex().fit(embedder.encode(texts, tokens=doc_tokens))
        ranked_peer, ranked_ours = [], []
        for text, _ in items:
            q = tok(text)
            ranked_peer.append(_dedupe(labels[int(i)] for i, _ in emb.search(" ".join(q) or "∅", 50)))
            lexical = lex.scores(q)
            lexical = lexical / lexical.max() if lexical.max() > 0 else lexical
            cosine = dense.all_scores(embedder.encode([text], tokens=[q])[0])
            fused = 0.5 * lexical + 0.5 * cosine
            ranked_ours.append(_dedupe(labels[i] for i in np.argsort(-fused)[:50]))
        emb.close()
        out["txtai"][task] = _score(ranked_peer, items)
        out["ours_index"][task] = _score(ranked_ours, items)
    return out


def _dedupe(labels: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(labels))


def peer_child(args: argparse.Namespace) -> None:
    """Entry point of the peer process: read the query file, measure, write the JSON result."""
    queries = json.loads(Path(args.peer_queries).read_text(encoding="utf-8"))
    work = Path(args.peer_out).parent
    result = run_peer_txtai(Path(args.db), queries, args.quality, work)
    Path(args.peer_out).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


def run_peer(name: str, db_path: Path, queries: dict[str, list[Any]], args: argparse.Namespace,
             work: Path) -> dict[str, Any]:
    """Run the peer benchmark in a child process and read its result."""
    qfile, ofile = work / "peer-queries.json", work / "peer-result.json"
    qfile.write_text(json.dumps({"search": queries["search"]}, ensure_ascii=False), encoding="utf-8")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--peer-child", name, "--db", str(db_path),
           "--peer-queries", str(qfile), "--peer-out", str(ofile), "--firms", str(args.firms)]
    if args.quality:
        cmd.append("--quality")
    subprocess.run(cmd, check=True)
    return json.loads(ofile.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------------------------
def table(result: dict[str, Any]) -> str:
    """A plain-text table of the headline figures (ours, peer, ratio, target)."""
    ours, peer = result["ours"], result.get("peer") or {}
    target = TARGETS.get(result["firms"], {})
    rows = [("构建 build_s", "build_s", "s"), ("构建 CPU", "build_cpu_s", "s"), ("检索 search p50", "query_p50_ms", "ms"),
            ("检索 search p95", "query_p95_ms", "ms"), ("检索 CPU p95", "query_cpu_p95_ms", "ms"),
            ("匹配 match p50", "match_p50_ms", "ms"),
            ("匹配 match p95", "match_p95_ms", "ms"), ("匹配 CPU p95", "match_cpu_p95_ms", "ms"),
            ("批量匹配 batch", "batch_firms_per_s", "家/s"), ("批量含读写 end to end", "batch_end_to_end_firms_per_s", "家/s"),
            ("批量 CPU/家 batch CPU", "batch_cpu_ms_per_firm", "ms"),
            ("内存峰值 peak RSS", "peak_rss_mb", "MB"), ("全部进程 peak PSS", "peak_job_mb", "MB"),
            ("索引 index size", "index_mb", "MB")]
    lines = [f"{'指标':<22}{'ours':>12}{'txtai':>12}{'ours/txtai':>12}{'target':>10}"]
    for label, key, unit in rows:
        a, b = ours.get(key), peer.get(key)
        ratio = f"{a / b:.2f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else ""
        lines.append(f"{label:<22}{_fmt(a, unit):>12}{_fmt(b, unit):>12}{ratio:>12}{_fmt(target.get(key), ''):>10}")
    layer = peer.get("ours_layer")
    if layer:
        lines.append(f"同等工作量（只建企业 BM25 + 向量索引，分词另计 {peer.get('tokenize_s')}s 双方相同）: "
                     f"ours {layer['index_s']}s (CPU {layer['index_cpu_s']}s) vs txtai {peer.get('index_s')}s "
                     f"(CPU {peer.get('index_cpu_s')}s); 检索 p95 ours {layer['query_p95_ms']}ms "
                     f"(CPU {layer['query_cpu_p95_ms']}) vs txtai {peer.get('query_p95_ms')}ms "
                     f"(CPU {peer.get('query_cpu_p95_ms')})")
    stages = ", ".join(f"{k} {v}s" for k, v in ours.get("stages_s", {}).items())
    lines.append(f"构建分项 stages: {stages}")
    batch_stages = ", ".join(f"{k} {v}s" for k, v in ours.get("batch_stages_s", {}).items())
    lines.append(f"批量分项 batch end to end: {batch_stages}")
    if "cluster_firms_per_s" in ours:
        lines.append(f"集群 cluster ({ours['cluster']}): 匹配 {ours['cluster_firms_per_s']} 家/s，"
                     f"含读写 {ours['cluster_end_to_end_firms_per_s']} 家/s")
    if "recall" in ours:
        r = ours["recall"]
        lines.append(f"recall@10 ({r['index_type']} vs exact, {r['queries']} queries): {r['recall_at_10']}")
    for side, q in (("ours", ours.get("quality")), ("txtai", (peer.get("quality") or {}).get("txtai")),
                    ("ours_index", (peer.get("quality") or {}).get("ours_index"))):
        if q:
            lines.append(f"quality {side}: " + "; ".join(f"{t} acc@1 {v.get('acc@1')} hit@5 {v.get('hit@5')}"
                                                        for t, v in q.items()))
    return "\n".join(lines)


def _fmt(v: Any, unit: str) -> str:
    if v is None:
        return "-"
    return f"{v:.1f}" if isinstance(v, float) else str(v)


def save(result: dict[str, Any]) -> Path:
    """Write the result JSON atomically under benchmarks/results/."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    peer = f"-{result['peer_name']}" if result.get("peer_name") else ""
    path = RESULTS / f"bench-{result['firms']}{peer}-{stamp}.json"
    fd, tmp = tempfile.mkstemp(dir=RESULTS, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(result, fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)
    return path


def rerun_peer(args: argparse.Namespace) -> None:
    """Measure the peer again for a saved result (same firms, seed and queries) and rewrite that file."""
    path: Path = args.peer_only
    result = json.loads(path.read_text(encoding="utf-8"))
    args.firms, args.seed = int(result["firms"]), int(result["seed"])
    peer_name = args.peer or result.get("peer_name") or "txtai"
    work = Path(tempfile.mkdtemp(prefix="matcher-bench-"))
    try:
        store, _ = fill_store(work / "bench.db", args.firms, args.seed)
        store.close()
        queries = query_sets(int(result.get("queries") or args.queries), args.seed + 1)
        peer = run_peer(peer_name, work / "bench.db", queries, args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ours = result["ours"]
    result.update(peer=peer, peer_name=peer_name, peer_rerun_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    result["ratios"] = {k: round(ours[k] / peer[k], 3) for k in ("build_s", "query_p50_ms", "query_p95_ms",
                                                                  "query_cpu_p95_ms", "peak_rss_mb", "index_mb")
                        if ours.get(k) and peer.get(k)}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(result, fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)
    print(table(result))
    print(json.dumps({"firms": args.firms, "peer_build_s": peer.get("build_s"),
                      "peer_query_p95_ms": peer.get("query_p95_ms"), "peer_peak_rss_mb": peer.get("peak_rss_mb"),
                      "ratios": result["ratios"]}, ensure_ascii=False))


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description="匹配引擎性能基准（合成企业数据）")
    ap.add_argument("--firms", type=int, default=10_000, help="企业数量")
    ap.add_argument("--peer", choices=["txtai"], default=None, help="同时测量对比实现")
    ap.add_argument("--repeat", type=int, default=1, help="构建与延迟测量的重复次数（报告中位数）")
    ap.add_argument("--queries", type=int, default=200, help="延迟测量的查询数")
    ap.add_argument("--batch", type=int, default=1000, help="批量匹配的企业数")
    ap.add_argument("--cluster", default=None,
                    help="同时在 Dask 集群上跑同一批量匹配：local（本机每核一个工作进程）或调度器地址")
    ap.add_argument("--seed", type=int, default=gen.SEED, help="随机种子")
    ap.add_argument("--recall", action="store_true", help="小规模时也测 recall@10（近似索引对精确检索）")
    ap.add_argument("--quality", action="store_true", help="在开发集上评估质量（有 ../shared/eval 时）")
    ap.add_argument("--keep", type=Path, default=None, help="把数据库和索引留在此目录（默认用完即删）")
    ap.add_argument("--no-save", action="store_true", help="不写 benchmarks/results")
    ap.add_argument("--peer-only", type=Path, default=None,
                    help="只重测对比实现，写回这个结果文件（数据按其 firms 和 seed 重新生成）")
    ap.add_argument("--peer-child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--db", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--peer-queries", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--peer-out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.peer_child:
        peer_child(args)
        return
    if args.peer_only:
        rerun_peer(args)
        return
    if args.firms < 1 or args.repeat < 1 or args.queries < 2 or args.batch < 1:
        ap.error("--firms、--repeat、--batch 须为正整数，--queries 至少 2")
    info = machine_info()
    work = Path(tempfile.mkdtemp(prefix="matcher-bench-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / "bench.db"
    if db_path.exists():
        db_path.unlink()
    try:
        print(f"生成并写入 {args.firms} 家合成企业 → {db_path}", file=sys.stderr)
        store, store_s = fill_store(db_path, args.firms, args.seed)
        queries = query_sets(args.queries, args.seed + 1)
        print("构建并测量本项目索引", file=sys.stderr)
        with MemorySampler() as memory:
            ours = run_ours(store, queries, args, work, memory)
        ours["peak_job_mb"] = round(memory.peak_mb, 1)
        ours["peak_job_mb_by_phase"] = memory.peaks
        ours["store_s"] = round(store_s, 2)
        store.close()
        result: dict[str, Any] = {"firms": args.firms, "seed": args.seed, "repeat": args.repeat,
                                  "queries": len(queries["search"]), "machine": info, "ours": ours,
                                  "peer_name": args.peer, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                      time.gmtime())}
        if args.peer:
            print(f"构建并测量对比实现 {args.peer}", file=sys.stderr)
            peer = run_peer(args.peer, db_path, queries, args, work)
            result["peer"] = peer
            result["ratios"] = {k: round(ours[k] / peer[k], 3) for k in ("build_s", "query_p50_ms", "query_p95_ms",
                                                                          "query_cpu_p95_ms", "peak_rss_mb",
                                                                          "index_mb")
                                if ours.get(k) and peer.get(k)}
        result["machine"]["loadavg_end"] = os.getloadavg()
        if not args.no_save:
            print(f"结果已保存：{save(result)}", file=sys.stderr)
        print(table(result))
        summary = {"firms": args.firms, "build_s": ours["build_s"], "build_cpu_s": ours["build_cpu_s"],
                   "query_p50_ms": ours["query_p50_ms"], "query_cpu_p95_ms": ours["query_cpu_p95_ms"],
                   "match_cpu_p95_ms": ours["match_cpu_p95_ms"],
                   "query_p95_ms": ours["query_p95_ms"], "match_p95_ms": ours["match_p95_ms"],
                   "batch_firms_per_s": ours["batch_firms_per_s"],
                   "batch_end_to_end_firms_per_s": ours["batch_end_to_end_firms_per_s"],
                   "batch_cpu_ms_per_firm": ours.get("batch_cpu_ms_per_firm"),
                   "peak_rss_mb": ours["peak_rss_mb"], "peak_job_mb": ours["peak_job_mb"],
                   "workers": ours["workers"], "index_mb": ours["index_mb"]}
        if "recall" in ours:
            summary["recall_at_10"] = ours["recall"]["recall_at_10"]
        if "cluster_firms_per_s" in ours:
            summary["cluster_firms_per_s"] = ours["cluster_firms_per_s"]
            summary["cluster_end_to_end_firms_per_s"] = ours["cluster_end_to_end_firms_per_s"]
        if args.peer:
            summary.update({f"peer_{k}": result["peer"].get(k) for k in ("build_s", "query_p95_ms", "peak_rss_mb")})
            summary["ratios"] = result["ratios"]
        print(json.dumps(summary, ensure_ascii=False))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

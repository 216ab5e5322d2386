"""Benchmark of the retrieval layer alone (matcher/index.py, matcher/embed.py) at large N, e.g. one million firms.

The full engine benchmark (``bench.py``) pays for the chain/industry classifiers and several text passes; this one
measures the floor those rest on: segmenting each firm once, embedding, the BM25 index, the faiss index (exact
below ``DenseIndex.hnsw_from`` vectors, HNSW above), their single-query latency, recall@10 of HNSW against exact
search on the same vectors, peak memory and size on disk. Firms are generated in memory (no database).

Usage: ``python benchmarks/bench_index.py --firms 1000000 [--queries 200]``; last line is one JSON object, the full
result is saved as ``benchmarks/results/index-N-<time>.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import bench  # noqa: E402
import gen  # noqa: E402


def memo_tokenizer(tok: Any) -> Any:
    """``tok`` with its jieba output memoised per text chunk: repeated phrases are segmented once, tokens shared."""
    from matcher.match import text as T

    tok("预热")
    cache: dict[str, list[str]] = {}
    chars_cache: dict[str, list[str]] = {}

    def words(text: str) -> list[str]:
        out: list[str] = []
        for chunk in T._PUNCT.split(T.normalize(text).lower()):
            if not chunk:
                continue
            ws = cache.get(chunk)
            if ws is None:
                ws = [w for w in (x.strip() for x in tok._jieba.lcut(chunk, HMM=False))
                      if w and w not in T.STOPWORDS and not w.isdigit()]
                ws = [sys.intern(w) for w in ws]
                if len(cache) < 2_000_000:
                    cache[chunk] = ws
            out.extend(ws)
        return out

    def call(text: str) -> list[str]:
        ws = words(text)
        chars: list[str] = []
        for w in ws:
            if len(w) > 1:
                cs = chars_cache.get(w)
                if cs is None:
                    cs = chars_cache[w] = [sys.intern(c) for c in w if "\u4e00" <= c <= "\u9fff" and c not in T.STOPWORDS]
                chars.extend(cs)
        return ws + chars

    return call


def main(argv: list[str] | None = None) -> None:
    """Build and measure the retrieval layer for ``--firms`` profiles."""
    from matcher.match.embed import Embedder
    from matcher.match.index import DenseIndex, LexicalIndex

    ap = argparse.ArgumentParser(description="检索层（BM25 + faiss + 向量）大规模基准")
    ap.add_argument("--firms", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=gen.SEED)
    ap.add_argument("--plain-tokenizer", action="store_true", help="不用分块缓存（与当前引擎相同的分词路径）")
    args = ap.parse_args(argv)
    info = bench.machine_info()
    emb = Embedder()
    tok = emb.tokenizer if args.plain_tokenizer else memo_tokenizer(emb.tokenizer)
    assert tok is not None
    stages: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def stage(name: str, t: float, c: float) -> None:
        stages[name] = round(time.perf_counter() - t, 2)
        cpu[name] = round(time.process_time() - c, 2)
        print(f"  {name}: {stages[name]}s (CPU {cpu[name]}s), RSS 峰值 {bench.peak_rss_mb():.0f} MB", file=sys.stderr)

    t, c = time.perf_counter(), time.process_time()
    tokens = []
    for f in gen.generate(args.firms, args.seed):
        text = f"{f['name']}，{f['description']}，{f['products']}"
        tokens.append(tok(text)[:512])
    stage("generate+tokenize", t, c)
    t, c = time.perf_counter(), time.process_time()
    vecs = np.empty((args.firms, emb.dim), dtype=np.float32)
    step = 50_000
    for s in range(0, args.firms, step):
        part = tokens[s:s + step]
        vecs[s:s + len(part)] = emb.encode(["x"] * len(part), tokens=part)
    stage("embed", t, c)
    t, c = time.perf_counter(), time.process_time()
    lex = LexicalIndex().fit(tokens)
    stage("lexical", t, c)
    del tokens
    gc.collect()
    t, c = time.perf_counter(), time.process_time()
    dense = DenseIndex().fit(vecs)
    stage("faiss", t, c)
    work = Path(tempfile.mkdtemp(prefix="matcher-index-bench-"))
    t, c = time.perf_counter(), time.process_time()
    lex.save(work / "lexical")
    dense.save(work / "dense")
    stage("save", t, c)
    queries = bench.query_sets(args.queries, args.seed + 1)["search"]
    qtok = [tok(q) for q in queries]
    qvec = emb.encode(queries, tokens=qtok)
    lex_ms, lex_cpu = bench.latencies(lambda i: lex.search(qtok[i], 200), list(range(len(queries))))
    den_ms, den_cpu = bench.latencies(lambda i: dense.search(qvec[i], 200), list(range(len(queries))))

    def both(i: int) -> None:
        lex.search(tok(queries[i]), 200)
        dense.search(emb.encode([queries[i]])[0], 200)

    all_ms, all_cpu = bench.latencies(both, list(range(len(queries))))
    recall = (bench.recall_at_10(dense, emb, queries, ef_values=(64, 256, 512, 1024))
              if type(dense.index_).__name__ != "IndexFlatIP" else None)
    result: dict[str, Any] = {
        "kind": "index-layer", "firms": args.firms, "machine": info, "memo_tokenizer": not args.plain_tokenizer,
        "stages_s": stages, "stages_cpu_s": cpu, "build_s": round(sum(stages.values()), 2),
        "build_cpu_s": round(sum(cpu.values()), 2),
        "lexical_p50_ms": round(bench.percentile(lex_ms, 50), 2), "lexical_p95_ms": round(bench.percentile(lex_ms, 95), 2),
        "dense_p50_ms": round(bench.percentile(den_ms, 50), 2), "dense_p95_ms": round(bench.percentile(den_ms, 95), 2),
        "query_p50_ms": round(bench.percentile(all_ms, 50), 2), "query_p95_ms": round(bench.percentile(all_ms, 95), 2),
        "query_cpu_p95_ms": round(bench.percentile(all_cpu, 95), 2),
        "recall": recall, "index_type": type(dense.index_).__name__,
        "index_mb": round(bench.dir_size_mb(work), 1), "peak_rss_mb": round(bench.peak_rss_mb(), 1),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    result["machine"]["loadavg_end"] = __import__("os").getloadavg()
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    bench.RESULTS.mkdir(parents=True, exist_ok=True)
    out = bench.RESULTS / f"index-{args.firms}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"结果已保存：{out}", file=sys.stderr)
    keys = ("firms", "build_s", "build_cpu_s", "query_p50_ms", "query_p95_ms", "dense_p95_ms", "lexical_p95_ms",
            "index_type", "index_mb", "peak_rss_mb")
    summary = {k: result[k] for k in keys}
    summary["recall_at_10"] = recall["recall_at_10"] if recall else None
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()

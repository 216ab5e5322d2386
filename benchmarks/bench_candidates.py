"""The candidate stage against the uncapped answer on a kept benchmark store: overlap of the top 10 and time per query.

Usage: ``python benchmarks/bench.py --firms 1000000 ... --keep DIR`` first, then
``python benchmarks/bench_candidates.py DIR/bench.db [--queries 100] [--cap 5000] [--pool 1000]``. The build is loaded
as saved; the caps are set on it in memory (``cap(0, …)``: every posting read, the answer without a candidate stage).
Prints one JSON line: per view (search hits, suppliers, customers, 同行) the mean share of the uncapped top 10 that
the capped top 10 also holds, and wall / CPU milliseconds per query of each variant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import bench  # noqa: E402


def overlap(exact: list[list[str]], capped: list[list[str]]) -> float:
    """Mean share of each exact list found in the capped list of the same query (queries with an answer)."""
    shares = [len(set(a) & set(b)) / len(a) for a, b in zip(exact, capped) if a]
    return round(sum(shares) / len(shares), 4) if shares else 1.0


def timed(fn: Any, items: list[Any]) -> tuple[list[Any], float, float]:
    """Answers of ``fn`` for each item, and wall / CPU milliseconds per item."""
    t, c = time.perf_counter(), time.process_time()
    out = [fn(x) for x in items]
    return out, 1000 * (time.perf_counter() - t) / len(items), 1000 * (time.process_time() - c) / len(items)


def main(argv: list[str] | None = None) -> None:
    """Answer the benchmark's queries with and without caps; print overlaps and times."""
    from matcher import paths
    from matcher.match.engine import Matcher

    ap = argparse.ArgumentParser(description="候选阶段对比不设上限的结果（召回与耗时）")
    ap.add_argument("db", type=Path)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--cap", type=int, default=None, help="默认取 models/matcher.toml 的 posting_cap")
    ap.add_argument("--pool", type=int, default=None, help="默认取 models/matcher.toml 的 candidate_pool")
    ap.add_argument("--search-pool", type=int, default=None, help="检索的 candidate_pool（默认取配置）")
    ap.add_argument("--terms", type=int, default=None, help="供需的 query_terms（默认取配置）")
    ap.add_argument("--leaders", type=int, default=None, help="供需的 part_leaders（默认取配置）")
    args = ap.parse_args(argv)
    m = Matcher.load(paths.index_dir(args.db))
    search_cfg, cp_cfg = m.config.search, m.config.counterparts
    caps = {"search": (args.cap or int(search_cfg.get("posting_cap", 5000)),
                       args.search_pool or int(search_cfg.get("candidate_pool", 1000))),
            "counterparts": (args.cap or int(cp_cfg.get("posting_cap", 5000)),
                             args.pool or int(cp_cfg.get("candidate_pool", 2000)),
                             args.leaders or int(cp_cfg.get("part_leaders", 50)),
                             args.terms or int(cp_cfg.get("query_terms", 24)))}
    q = bench.query_sets(args.queries, bench.gen.SEED + 1)
    m.counterparts_.cap(*caps["counterparts"])
    m.match_many(q["match"][:5], k=10)  # warm up the segmenters and models

    def variant(capped: bool) -> dict[str, Any]:
        m.lexical_.cap(*caps["search"]) if capped else m.lexical_.cap(0, caps["search"][1])
        m.counterparts_.cap(*caps["counterparts"]) if capped else m.counterparts_.cap(0, *caps["counterparts"][1:])
        hits, s_ms, s_cpu = timed(lambda text: [h.target for h in m.search(text, k=10)], q["search"])
        res, c_ms, c_cpu = timed(lambda firm: m.match_many([firm], k=10)[0], q["match"])
        t, c = time.perf_counter(), time.process_time()
        m.match_many(q["match"], k=10)
        many_ms = 1000 * (time.perf_counter() - t) / len(q["match"])
        many_cpu = 1000 * (time.process_time() - c) / len(q["match"])
        lists = {role: [[h.target for h in getattr(r, role)] for r in res]
                 for role in ("suppliers", "customers", "peers")}
        return {"search": hits, **lists, "ms": {"search": round(s_ms, 2), "search_cpu": round(s_cpu, 2),
                                               "match": round(c_ms, 2), "match_cpu": round(c_cpu, 2),
                                               "match_many_per_firm": round(many_ms, 2),
                                               "match_many_cpu_per_firm": round(many_cpu, 2)}}

    exact, capped = variant(False), variant(True)
    out = {"firms": len(m.ids_), "queries": args.queries, "caps": caps,
           "top10_overlap": {view: overlap(exact[view], capped[view])
                             for view in ("search", "suppliers", "customers", "peers")},
           "uncapped_ms": exact["ms"], "capped_ms": capped["ms"]}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Redraw ``benchmarks/results/bench.png`` (build time and search/match latency against N) from the saved results.

For each size the newest result file is used (a ``--peer`` run when one exists, so ours and the peer come from the
same run). Labels are in English: the plot must render on machines without a CJK font.

Usage: ``python benchmarks/plot.py [--out benchmarks/results/bench.png]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def load_results(folder: Path = RESULTS) -> dict[int, dict[str, Any]]:
    """The newest result per number of firms, preferring runs that measured a peer."""
    best: dict[int, tuple[tuple[bool, str], dict[str, Any]]] = {}
    for path in sorted(folder.glob("bench-*.json")):
        try:
            r = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        key = (bool(r.get("peer")), r.get("created_at", ""))
        n = int(r["firms"])
        if n not in best or key > best[n][0]:
            best[n] = (key, r)
    return {n: r for n, (_, r) in sorted(best.items())}


def load_index_results(folder: Path = RESULTS) -> dict[int, dict[str, Any]]:
    """The newest retrieval-layer result (``bench_index.py``) per number of firms."""
    best: dict[int, dict[str, Any]] = {}
    for path in sorted(folder.glob("index-*.json")):
        try:
            r = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        n = int(r["firms"])
        if n not in best or r.get("created_at", "") > best[n].get("created_at", ""):
            best[n] = r
    return dict(sorted(best.items()))


def plot(results: dict[int, dict[str, Any]], out: Path, layer: dict[int, dict[str, Any]] | None = None) -> None:
    """Three panels (build s, search p95, match p95) against N on log axes: wall clock solid, CPU time dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layer = layer or {}
    ns = list(results)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
    panels = [("build_s", "build_cpu_s", "index build (s)", 60), ("query_p95_ms", "query_cpu_p95_ms",
                                                                 "search latency p95 (ms)", 50),
              ("match_p95_ms", "match_cpu_p95_ms", "match latency p95 (ms)", 150)]
    for ax, (key, cpu_key, title, target) in zip(axes, panels, strict=True):
        ax.plot(ns, [results[n]["ours"].get(key) for n in ns], "o-", label="matcher (wall)", color="#1f77b4")
        cpu = [(n, results[n]["ours"].get(cpu_key)) for n in ns if results[n]["ours"].get(cpu_key) is not None]
        if cpu:
            ax.plot(*zip(*cpu, strict=True), "o:", label="matcher (CPU)", color="#1f77b4", alpha=0.6)
        peer_ns = [n for n in ns if (results[n].get("peer") or {}).get(key) is not None]
        if peer_ns:
            name = results[peer_ns[0]].get("peer_name") or "peer"
            ax.plot(peer_ns, [results[n]["peer"][key] for n in peer_ns], "s--", label=f"{name} (wall)",
                    color="#ff7f0e")
            pcpu = [(n, results[n]["peer"].get(cpu_key)) for n in peer_ns if results[n]["peer"].get(cpu_key)]
            if pcpu:
                ax.plot(*zip(*pcpu, strict=True), "s:", label=f"{name} (CPU)", color="#ff7f0e", alpha=0.6)
        lkey = {"build_s": "build_s", "query_p95_ms": "query_p95_ms"}.get(key)
        if lkey and layer:
            ax.plot(list(layer), [layer[n][lkey] for n in layer], "^", color="#2ca02c", label="index layer only (wall)")
        ax.axhline(target, color="grey", linestyle=":", linewidth=1, label="target @100k")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("firms")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    info = next(iter(results.values()))["machine"] if results else {}
    fig.suptitle(f"matcher benchmark - {info.get('cores', '?')} cores ({info.get('cpu', '')}); "
                 "solid = wall clock, dotted = process CPU time (cost without contention)", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, out)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description="根据 benchmarks/results 重绘性能图")
    ap.add_argument("--out", type=Path, default=RESULTS / "bench.png")
    args = ap.parse_args(argv)
    results = load_results()
    if not results:
        raise SystemExit(f"{RESULTS} 中没有基准结果：请先运行 benchmarks/bench.py")
    plot(results, args.out, load_index_results())
    print(f"{args.out}: {', '.join(str(n) for n in results)} 家企业的结果")


if __name__ == "__main__":
    main()

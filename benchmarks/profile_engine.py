"""Profile an index build and a run of matches with pyinstrument: where the time goes, for benchmarks/README.md.

Usage: ``python benchmarks/profile_engine.py --firms 10000 [--matches 100] [--out benchmarks/results/profile]``
writes ``build.txt`` and ``match.txt`` (pyinstrument text trees) into the output folder.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import bench  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    """Build once and match ``--matches`` new firms under the profiler; write the two reports."""
    from pyinstrument import Profiler

    from matcher.match.engine import Matcher

    ap = argparse.ArgumentParser(description="用 pyinstrument 剖析索引构建和匹配")
    ap.add_argument("--firms", type=int, default=10_000)
    ap.add_argument("--matches", type=int, default=100)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "profile")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="matcher-profile-"))
    try:
        store, _ = bench.fill_store(work / "p.db", args.firms, bench.gen.SEED)
        queries = bench.query_sets(max(args.matches, 2), bench.gen.SEED + 1)
        Matcher(None).fit_kb  # noqa: B018 - import cost outside the profile
        prof = Profiler(interval=0.002)
        prof.start()
        m = Matcher.for_store(store, rebuild=True)
        prof.stop()
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"build-{args.firms}.txt").write_text(prof.output_text(unicode=True, show_all=False))
        for f in queries["match"][:10]:
            m.match(f, k=5)
        prof = Profiler(interval=0.001)
        prof.start()
        for f in queries["match"][: args.matches]:
            m.match(f, k=5)
        for q in queries["search"][: args.matches]:
            m.search(q, k=10)
        prof.stop()
        (args.out / f"match-{args.firms}.txt").write_text(prof.output_text(unicode=True, show_all=False))
        store.close()
        print(f"{args.out}: build-{args.firms}.txt, match-{args.firms}.txt")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

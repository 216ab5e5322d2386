"""National screening: chain placement, GB/T 4754 class and landing fit (no counterparts) for pools of millions of rows.

A pool is read as Parquet (or CSV) in blocks and written as Parquet one row group per block, so memory stays that of
a few blocks whatever the pool size. Screening needs only what the knowledge base and the shipped models give, not
an index of stored firms, so a worker loads it in seconds; with ``cluster`` the blocks are matched on a Dask cluster
(`matcher.work.cluster`) and written back in input order. Each answer keeps its score parts and its Chinese reason.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from matcher.ingest.columns import TEXT_FIELDS, map_headers

# the output columns, in order (Parquet column names)
COLUMNS = ("行号", "企业名称", "统一社会信用代码", "所在地区", "首选产业链", "产业链环节", "产业链得分", "产业链得分构成",
           "产业链理由", "不属于重点产业链", "行业小类", "行业小类名称", "行业得分", "行业得分构成", "行业理由",
           "推荐落地载体", "载体得分", "载体得分构成", "载体理由")

_LOADED: dict[str, Any] = {}  # this process's screening model, by knowledge-base key


class ScreenError(Exception):
    """A pool that cannot be screened (unreadable, no 企业名称 column, bad output path); message in Chinese."""


@dataclass
class ScreenResult:
    """What a screening did; ``as_dict`` is the CLI's JSON line."""

    input: str
    output: Path
    rows: int
    screened: int
    skipped: int
    elapsed: float
    match_seconds: float
    workers: int
    cluster: str | None

    def as_dict(self) -> dict[str, Any]:
        """Counts, speed (overall and per worker), JSON-ready."""
        rate = self.screened / self.match_seconds if self.match_seconds > 0 else 0.0
        return {"input": self.input, "output": str(self.output), "rows": self.rows, "screened": self.screened,
                "skipped": self.skipped, "elapsed_s": round(self.elapsed, 2), "match_s": round(self.match_seconds, 2),
                "firms_per_s": round(rate, 1), "workers": self.workers,
                "firms_per_s_per_worker": round(rate / max(1, self.workers), 1), "cluster": self.cluster,
                "end_to_end_firms_per_s": round(self.screened / self.elapsed, 1) if self.elapsed > 0 else 0.0}


# ---------------------------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------------------------
def screen_model(kb_dict: dict[str, Any], config: Any = None) -> Any:
    """The knowledge-base part of a matcher (chains, classes, parks), without any stored firm; cached per process."""
    from matcher.match.engine import Matcher

    key = f"{kb_dict.get('version')}:{config.digest() if config is not None else 'default'}"
    if key not in _LOADED:
        _LOADED[key] = Matcher(config=config).fit_kb(kb_dict)
    return _LOADED[key]


def _text_of(firm: dict[str, Any]) -> str:
    """The text the chain and class models read for a firm: the same profile a batch run matches on."""
    from matcher.match.engine import _firm_profile

    return _firm_profile(firm)


def _hit_cells(h: Any | None) -> tuple[Any, ...]:
    if h is None:
        return None, None, None
    return round(h.score, 4), orjson.dumps({k: round(float(v), 4) for k, v in h.parts.items()}).decode(), h.reason


def screen_block(model: Any, firms: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Screen one block of firms (dicts with ``row`` and the firm fields): one output tuple per firm (`COLUMNS`)."""
    from matcher.match.query import parse
    from matcher.work.export import segment_text

    if not firms:
        return []
    # The same steps as Matcher.match_many: the firm as fields, what it makes decides its chain and class.
    texts = [_text_of(f) for f in firms]
    understood = [parse(f) for f in firms]
    park_texts = [t + " " + (f.get("needs") or "") for t, f in zip(texts, firms)]
    vectors = model.embedder_.encode([q.product_text() for q in understood] + park_texts)
    classified = model.classify_many(understood, k=8, vectors=vectors[:len(texts)])
    chains = [c for c, _, _ in classified]
    parks = model.parks_.rank_many(park_texts, chains, k=1, vectors=vectors[len(texts):])
    from matcher.match.reasons import render

    out = []
    for f, (chain_hits, none_p, industries), park_hits in zip(firms, classified, parks):
        top = chain_hits[0] if chain_hits else None
        ind = industries[0] if industries else None
        park = park_hits[0] if park_hits else None
        if park is not None:
            park.reason = render(park)
        out.append((f["row"], f.get("name"), f.get("uscc"), f.get("region"),
                    top.target if top else None, segment_text(top.data or {}) if top else None, *_hit_cells(top),
                    round(float(none_p or 0.0), 4), ind.target if ind else None, ind.label if ind else None,
                    *_hit_cells(ind), park.target if park else None, *_hit_cells(park)))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Reading and writing
# ---------------------------------------------------------------------------------------------------------------
def _clean(value: Any) -> str:
    return "" if value is None else str(value).replace("\r\n", "\n").strip()


def _firms_of(names: Sequence[str], columns: Sequence[Sequence[Any]], first_row: int) -> tuple[list[dict[str, Any]], int]:
    """Firm dicts of one block (header fields mapped as the importer does); rows without a name are skipped."""
    mapping, _ = map_headers(names)
    firms, skipped = [], 0
    n = len(columns[0]) if columns else 0
    for i in range(n):
        values: dict[str, Any] = {"row": first_row + i}
        for c, f in sorted(mapping.items()):
            v = _clean(columns[c][i])
            if not v:
                continue
            if f not in values:
                values[f] = v
            elif f in TEXT_FIELDS and v not in values[f]:
                values[f] = f"{values[f]}；{v}"
        if values.get("name"):
            firms.append(values)
        else:
            skipped += 1
    return firms, skipped


def read_blocks(path: Path, block: int) -> Iterator[tuple[list[dict[str, Any]], int, int]]:
    """``(firms, rows read, rows skipped)`` per block of a Parquet or CSV pool, never the whole file at once.

    Row numbers are those of a spreadsheet of the pool: the header is row 1, the first firm row 2.
    """
    import pyarrow.parquet as pq

    row = 2
    if _head(path) == b"PAR1":
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        if "name" not in map_headers(names)[0].values():
            raise ScreenError(f"{path}：找不到企业名称列（现有列：{'、'.join(names[:12])}）")
        for batch in pf.iter_batches(batch_size=block):
            cols = [c.to_pylist() for c in batch.columns]
            firms, skipped = _firms_of(names, cols, row)
            row += batch.num_rows
            yield firms, batch.num_rows, skipped
        return
    import pandas as pd

    try:
        reader = pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=block, encoding="utf-8-sig")
        for chunk in reader:
            names = list(chunk.columns)
            if "name" not in map_headers(names)[0].values():
                raise ScreenError(f"{path}：找不到企业名称列（现有列：{'、'.join(names[:12])}）")
            firms, skipped = _firms_of(names, [chunk[c].tolist() for c in names], row)
            row += len(chunk)
            yield firms, len(chunk), skipped
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ScreenError(f"{path}：不是 UTF-8 的 CSV 或 Parquet 文件（{exc}）") from exc


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(4)


def _schema() -> Any:
    import pyarrow as pa

    types = {"行号": pa.int64(), "产业链得分": pa.float64(), "不属于重点产业链": pa.float64(), "行业得分": pa.float64(),
             "载体得分": pa.float64()}
    return pa.schema([(c, types.get(c, pa.string())) for c in COLUMNS])


# ---------------------------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------------------------
def _load_on_worker(kb_dict: dict[str, Any], config: Any) -> str:
    """Worker side: build the screening model once (one thread: one process per core)."""
    from matcher.work.cluster import _limit_threads

    _limit_threads()
    screen_model(kb_dict, config)
    return "ok"


def _screen_part(kb_version: Any, part: tuple[int, list[dict[str, Any]]]) -> tuple[int, list[tuple[Any, ...]]]:
    """Worker side: one numbered block screened with the model loaded by `_load_on_worker`."""
    model = next(m for k, m in _LOADED.items() if k.startswith(f"{kb_version}:"))
    return part[0], screen_block(model, part[1])


def run_screen(kb_dict: dict[str, Any], in_path: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
               block: int = 2000, cluster: str | None = None, workers: int = 1, config: Any = None,
               progress: Callable[[int, int], None] | None = None) -> ScreenResult:
    """Screen every firm of a pool and write the results as Parquet (atomically), in input order.

    Args:
        kb_dict: the current knowledge base (``kb.current(store)``).
        in_path: Parquet (or UTF-8 CSV) pool; columns named as for ``matcher import``.
        out_path: the ``.parquet`` to write.
        block: firms per block (a Parquet row group, one task on a cluster).
        cluster: ``local`` or a Dask scheduler address; ``None`` screens in this process (``workers`` forked).
        workers: worker processes (forked here, or of a ``local`` cluster).
        config: matcher weights (default ``models/matcher.toml``).
        progress: called with ``(rows read, rows in the pool)`` after each block is written (for a CSV the total is
            the rows read so far).

    Raises:
        ScreenError: unreadable pool, no 企业名称 column, output not ``.parquet``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    t0 = time.monotonic()
    src, out = Path(in_path), Path(out_path)
    if not src.is_file():
        raise ScreenError(f"{src}：文件不存在")
    if out.suffix.lower() != ".parquet":
        raise ScreenError(f"输出文件 {out}：筛查结果写为 Parquet，请用 .parquet 结尾")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    schema = _schema()
    total = pq.ParquetFile(src).metadata.num_rows if _head(src) == b"PAR1" else 0
    counts = {"rows": 0, "screened": 0, "skipped": 0}
    writer = pq.ParquetWriter(tmp, schema, compression="zstd")

    def write(rows: list[tuple[Any, ...]]) -> None:
        cols: list[tuple[Any, ...]] = list(zip(*rows)) if rows else [() for _ in COLUMNS]
        writer.write_table(pa.table([pa.array(list(c), type=schema.field(i).type) for i, c in enumerate(cols)],
                                    schema=schema))
        counts["screened"] += len(rows)
        if progress:
            progress(counts["rows"], max(total, counts["rows"]))

    def blocks() -> Iterator[tuple[int, list[dict[str, Any]]]]:
        for i, (firms, n, skipped) in enumerate(read_blocks(src, block)):
            counts["rows"] += n
            counts["skipped"] += skipped
            yield i, firms

    try:
        if cluster:
            from matcher.work import cluster as dask_cluster

            with dask_cluster.connect(cluster, workers) as client:
                client.run(_load_on_worker, kb_dict, config)
                used = dask_cluster.worker_count(client)
                t1 = time.monotonic()
                waiting: dict[int, list[tuple[Any, ...]]] = {}
                nxt = 0

                def collect(part: Any, result: tuple[int, list[tuple[Any, ...]]]) -> None:
                    nonlocal nxt
                    waiting[result[0]] = result[1]
                    while nxt in waiting:  # blocks finish in any order; the file keeps the input's
                        write(waiting.pop(nxt))
                        nxt += 1

                dask_cluster.run_partitions(client, _screen_part, blocks(), (kb_dict.get("version"),), collect)
        else:
            from matcher.parallel import Workers

            model = screen_model(kb_dict, config)
            used = workers
            t1 = time.monotonic()
            with Workers(lambda part: screen_block(model, part), workers) as pool:
                for _, firms in blocks():
                    step = -(-len(firms) // max(1, pool.n)) or 1
                    write([r for part in pool.map([firms[i:i + step] for i in range(0, len(firms), step)])
                           for r in part])
        t_match = time.monotonic() - t1
        writer.close()
        os.replace(tmp, out)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return ScreenResult(str(src), out, counts["rows"], counts["screened"], counts["skipped"],
                        time.monotonic() - t0, t_match, used, cluster)

"""What indexing computes for each firm (term counts, vector, chain placement, what counterparts read), kept beside
a build so that the next build — after an import, an edit or a merge — computes only the firms that are new or
changed.

A firm's work depends on its own fields and on the models, knowledge base, input table and config (the ``stamp``);
with another stamp nothing is reused. What depends on all firms together (IDF, the indexes) is always rebuilt from
the combined work.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from matcher.match.index import TermCounts

FILE = "firm_work.pkl"
FIELDS = ("name", "description", "products", "needs")  # what the per-firm work reads


def firm_key(firm: dict[str, Any]) -> str:
    """A digest of the fields the per-firm work reads (two firms with the same fields share their work)."""
    raw = json.dumps([firm.get(f) or "" for f in FIELDS], ensure_ascii=False)
    return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


@dataclass
class FirmWork:
    """Per-firm results of one build, in the build's firm order.

    Attributes:
        stamp: what the results depend on besides the firm (models, knowledge base, input table, config).
        keys: per firm, ``firm_key``.
        vectors: (firms × dim) embeddings.
        counts: term counts, each over its own vocabulary (``lexical`` for BM25; counterparts' bigrams).
        rows: sparse rows with fixed columns (the product families a firm's products and needs name).
        values: one value per firm (chain, stage, segment, product and need items).
    """

    stamp: str
    keys: list[str]
    vectors: np.ndarray
    counts: dict[str, TermCounts]
    rows: dict[str, sparse.csr_matrix]
    values: dict[str, np.ndarray]

    def rows_of(self, stamp: str) -> dict[str, int]:
        """Each key's row here, for a build with ``stamp`` (empty when the stamp differs: nothing is reusable)."""
        return {k: i for i, k in enumerate(self.keys)} if stamp == self.stamp else {}

    def rows_for(self, keys: list[str], stamp: str) -> np.ndarray:
        """Per key, the row holding its work here, or -1 (every key when ``stamp`` differs)."""
        at = self.rows_of(stamp)
        return np.array([at.get(k, -1) for k in keys], dtype=np.int64)

    @classmethod
    def combine(cls, stamp: str, keys: list[str], previous: FirmWork | None, old_rows: np.ndarray,
                blocks: list[dict[str, Any]], dim: int) -> FirmWork:
        """The work of every firm: rows with ``old_rows >= 0`` taken from ``previous``, the others from the newly
        computed ``blocks`` (in firm order; each holds ``vectors``, ``counts``, ``rows`` and ``values`` for its
        firms, as this class does)."""
        merger = WorkMerger()
        for block in blocks:
            merger.add(block)
        return merger.finish(stamp, keys, previous, old_rows, dim)

    def save(self, build: Path) -> None:
        """Write into a build folder (before the folder is switched to).

        The texts of one per firm (keys, items) are written as one string each: a million strings are a million
        entries in pickle's table of objects seen, the largest allocation of saving a 1M-firm build.
        """
        self.write(build / FILE)

    def write(self, path: Path) -> None:
        """Write to ``path`` (what ``save`` writes into a build folder)."""
        state = dict(self.__dict__, keys=_pack(self.keys),
                     values={k: _pack(v) if k in _PACKED else v for k, v in self.values.items()})
        with open(path, "wb") as f:
            pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, build: Path) -> FirmWork | None:
        """The work kept in a build folder, or ``None`` (older build, damaged or missing file)."""
        try:
            with open(build / FILE, "rb") as f:
                state = pickle.load(f)  # written by ``save`` into the project's own build folder
            state["keys"] = list(_unpack(state["keys"]))
            state["values"] = {k: _unpack(v) if k in _PACKED else v for k, v in state["values"].items()}
            return cls(**state)
        except Exception:  # nothing to reuse: the build computes every firm
            return None


_PACKED = ("items", "need_items")  # values of one distinct text per firm (``save``)


def _pack(texts: Any) -> tuple[str, np.ndarray]:
    starts = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in texts], out=starts[1:])
    return "".join(texts), starts


def _unpack(packed: tuple[str, np.ndarray]) -> np.ndarray:
    text, starts = packed
    out = np.empty(len(starts) - 1, dtype=object)
    out[:] = [text[a:b] for a, b in zip(starts[:-1].tolist(), starts[1:].tolist())]
    return out


class WorkMerger:
    """Folds blocks of newly computed work as they arrive, then joins them with the work reused from an earlier
    build (``finish``): a block's own vocabularies are freed once its terms are numbered, so a large build never
    holds every block as computed."""

    def __init__(self, capacity: int = 0) -> None:
        """``capacity``: how many fresh firms to expect (their vectors are placed in one array as they arrive)."""
        self.capacity = capacity
        self.first: dict[str, Any] | None = None  # names and dtypes of the parts, from the first block
        self.vocab: dict[str, dict[str, int]] = {}  # per counts name: the blocks' terms, in order of first use
        self.counts: dict[str, list[sparse.csr_matrix]] = {}
        self.rows: dict[str, list[sparse.csr_matrix]] = {}
        self.values: dict[str, list[np.ndarray]] = {}
        self.vectors: np.ndarray | None = None  # the fresh firms' vectors, in order, in the first ``fresh`` rows
        self.fresh = 0

    def add(self, block: dict[str, Any]) -> None:
        """One block of fresh firms' work (the next in firm order)."""
        if self.first is None:
            self.first = {"counts": dict.fromkeys(block["counts"]), "rows": dict(block["rows"]),
                          "values": {k: np.empty(0, dtype=v.dtype) for k, v in block["values"].items()}}
        for name, tc in block["counts"].items():
            vocab = self.vocab.setdefault(name, {})
            remap = np.fromiter((vocab.setdefault(t, len(vocab)) for t in tc.vocab), dtype=np.int32,
                                count=len(tc.vocab))
            self.counts.setdefault(name, []).append(
                sparse.csr_matrix((tc.counts.data, remap[tc.counts.indices], tc.counts.indptr), shape=tc.counts.shape))
        for name, r in block["rows"].items():
            self.rows.setdefault(name, []).append(r)
        for name, v in block["values"].items():
            self.values.setdefault(name, []).append(v)
        v = block["vectors"]
        need = self.fresh + len(v)
        if self.vectors is None or need > len(self.vectors):
            grown = np.empty((max(need, self.capacity, 2 * len(self.vectors) if self.vectors is not None else 0),
                              v.shape[1]), dtype=np.float32)
            if self.vectors is not None:
                grown[:self.fresh] = self.vectors[:self.fresh]
            self.vectors = grown
        self.vectors[self.fresh:need] = v
        self.fresh = need

    def finish(self, stamp: str, keys: list[str], previous: FirmWork | None, old_rows: np.ndarray,
               dim: int) -> FirmWork:
        """The work of every firm (``keys``, in firm order): rows with ``old_rows >= 0`` taken from ``previous``,
        the others from the blocks added, in order."""
        n = len(keys)
        reused = np.flatnonzero(old_rows >= 0)
        fresh = np.flatnonzero(old_rows < 0)
        src = old_rows[reused]
        keep = previous if previous is not None and len(reused) else None
        if len(reused):
            assert previous is not None
        # stacked rows are the reused firms, then the fresh ones: ``order`` puts them back in firm order
        order = np.argsort(np.concatenate([reused, fresh]), kind="stable")
        names = self.first if self.first is not None else previous.__dict__ if previous is not None else None

        def stack(parts: list[sparse.csr_matrix], width: int) -> sparse.csr_matrix:
            parts = [sparse.csr_matrix((p.data, p.indices, p.indptr), shape=(p.shape[0], width)) for p in parts]
            m = sparse.vstack(parts, format="csr") if parts else sparse.csr_matrix((0, width), dtype=np.float32)
            return m[order] if len(reused) else m  # (nothing reused: the rows are in firm order already)

        def place(out: np.ndarray, blocks: list[np.ndarray]) -> None:
            # each block's rows go to its fresh firms' places, and the block is let go at once
            at = 0
            for i, block in enumerate(blocks):
                out[fresh[at:at + len(block)]] = block
                at += len(block)
                blocks[i] = None  # type: ignore[call-overload]

        counts: dict[str, TermCounts] = {}
        for name in (names or {}).get("counts", {}):
            mine = self.vocab.get(name, {})
            parts = self.counts.pop(name, [])
            if keep is not None:
                # the earlier build's terms keep their numbers; the blocks' new terms follow, in order of first use
                vocab: dict[str, int] = {t: i for i, t in enumerate(keep.counts[name].vocab)}
                remap = np.fromiter((vocab.setdefault(t, len(vocab)) for t in mine), dtype=np.int32, count=len(mine))
                parts = [keep.counts[name].counts[src]] + [
                    sparse.csr_matrix((p.data, remap[p.indices], p.indptr), shape=p.shape) for p in parts]
            else:
                vocab = mine
            counts[name] = TermCounts(list(vocab), stack(parts, len(vocab)))
            del parts
        rows: dict[str, sparse.csr_matrix] = {}
        for name, first in (names or {}).get("rows", {}).items():
            parts = ([keep.rows[name][src]] if keep is not None else []) + self.rows.pop(name, [])
            rows[name] = stack(parts, first.shape[1])
        values: dict[str, np.ndarray] = {}
        for name, first in (names or {}).get("values", {}).items():
            out = np.empty(n, dtype=first.dtype)  # 1-D arrays (object arrays for lists such as items)
            if keep is not None:
                out[reused] = keep.values[name][src]
            if len(fresh):
                place(out, self.values.pop(name))
            values[name] = out
        placed = self.vectors[:self.fresh] if self.vectors is not None else np.empty((0, dim), dtype=np.float32)
        if keep is None and len(placed) == n and (self.vectors is None or len(self.vectors) <= n + n // 10):
            vectors = placed  # every firm fresh: the rows as placed (a view when a few rows were spare)
        else:
            vectors = np.empty((n, dim), dtype=np.float32)
            if keep is not None:
                vectors[reused] = keep.vectors[src]
            vectors[fresh] = placed
        self.vectors = None
        return FirmWork(stamp, list(keys), vectors, counts, rows, values)


class FirmColumns:
    """Who the indexed firms are (id, name, region, district), a column each, in the build's firm order.

    A dict per firm cost ≈ 0.5 KB (≈ 0.5 GB for 1M firms) and several objects for pickle to track when a build is
    saved; here ids are one array, names one string with offsets, regions and districts shared strings. A row still
    reads back as the dict ``{"id", "name", "region", "district"}``. Filled by ``add``, then ``freeze``.
    """

    __slots__ = ("_names", "_starts", "district", "id", "region")

    def __init__(self) -> None:
        self.id: Any = []
        self._names: Any = []
        self._starts: Any = None
        self.region: list[str | None] = []
        self.district: list[str | None] = []

    def add(self, firm: dict[str, Any]) -> None:
        """Note one firm (regions and districts repeat: one string object each is kept)."""
        self.id.append(int(firm["id"]))
        self._names.append(firm.get("name") or "")
        self.region.append(_shared(firm.get("region")))
        self.district.append(_shared(firm.get("district")))

    def freeze(self) -> FirmColumns:
        """Pack the columns once every firm is noted."""
        self.id = np.asarray(self.id, dtype=np.int64)
        self._starts = np.zeros(len(self._names) + 1, dtype=np.int64)
        np.cumsum([len(n) for n in self._names], out=self._starts[1:])
        self._names = "".join(self._names)
        return self

    def name(self, i: int) -> str:
        """The name of the firm in row ``i``."""
        return self._names[self._starts[i]:self._starts[i + 1]]

    @property
    def names(self) -> list[str]:
        """Every firm's name, in order."""
        return [self.name(i) for i in range(len(self))]

    def __len__(self) -> int:
        return len(self.id)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"id": int(self.id[i]), "name": self.name(i), "region": self.region[i], "district": self.district[i]}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self[i] for i in range(len(self.id)))


def _shared(value: str | None) -> str | None:
    return sys.intern(value) if isinstance(value, str) else value

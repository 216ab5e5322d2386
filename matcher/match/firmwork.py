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

    def rows_for(self, keys: list[str], stamp: str) -> np.ndarray:
        """Per key, the row holding its work here, or -1 (every key when ``stamp`` differs)."""
        if stamp != self.stamp:
            return np.full(len(keys), -1, dtype=np.int64)
        at = {k: i for i, k in enumerate(self.keys)}
        return np.array([at.get(k, -1) for k in keys], dtype=np.int64)

    @classmethod
    def combine(cls, stamp: str, keys: list[str], previous: FirmWork | None, old_rows: np.ndarray,
                blocks: list[dict[str, Any]], dim: int) -> FirmWork:
        """The work of every firm: rows with ``old_rows >= 0`` taken from ``previous``, the others from the newly
        computed ``blocks`` (in firm order; each holds ``vectors``, ``counts``, ``rows`` and ``values`` for its
        firms, as this class does)."""
        n = len(keys)
        reused = np.flatnonzero(old_rows >= 0)
        fresh = np.flatnonzero(old_rows < 0)
        src = old_rows[reused]
        if len(reused):
            assert previous is not None
        # stacked rows are the reused firms, then the fresh ones: ``order`` puts them back in firm order
        order = np.argsort(np.concatenate([reused, fresh]), kind="stable")
        names = blocks[0] if blocks else previous.__dict__ if previous is not None else None

        def stack(parts: list[sparse.csr_matrix], width: int) -> sparse.csr_matrix:
            parts = [sparse.csr_matrix((p.data, p.indices, p.indptr), shape=(p.shape[0], width)) for p in parts]
            m = sparse.vstack(parts, format="csr") if parts else sparse.csr_matrix((0, width), dtype=np.float32)
            return m[order] if n else m

        counts: dict[str, TermCounts] = {}
        for name in (names or {}).get("counts", {}):
            vocab: dict[str, int] = {t: i for i, t in enumerate(previous.counts[name].vocab)} \
                if previous is not None and len(reused) else {}
            parts = [previous.counts[name].counts[src]] if len(reused) and previous is not None else []
            for b in blocks:
                tc: TermCounts = b["counts"][name]
                remap = np.fromiter((vocab.setdefault(t, len(vocab)) for t in tc.vocab), dtype=np.int32,
                                    count=len(tc.vocab))
                parts.append(sparse.csr_matrix((tc.counts.data, remap[tc.counts.indices], tc.counts.indptr),
                                               shape=tc.counts.shape))
            counts[name] = TermCounts(list(vocab), stack(parts, len(vocab)))
        rows: dict[str, sparse.csr_matrix] = {}
        for name, first in (names or {}).get("rows", {}).items():
            parts = ([previous.rows[name][src]] if len(reused) and previous is not None else []) + \
                [b["rows"][name] for b in blocks]
            rows[name] = stack(parts, first.shape[1])
        values: dict[str, np.ndarray] = {}
        for name, first in (names or {}).get("values", {}).items():
            out = np.empty(n, dtype=first.dtype)  # 1-D arrays (object arrays for lists such as items)
            if len(reused) and previous is not None:
                out[reused] = previous.values[name][src]
            if len(fresh):
                out[fresh] = np.concatenate([b["values"][name] for b in blocks])
            values[name] = out
        vectors = np.empty((n, dim), dtype=np.float32)
        if len(reused) and previous is not None:
            vectors[reused] = previous.vectors[src]
        if len(fresh):
            vectors[fresh] = np.concatenate([b["vectors"] for b in blocks])
        return cls(stamp, list(keys), vectors, counts, rows, values)

    def save(self, build: Path) -> None:
        """Write into a build folder (before the folder is switched to)."""
        with open(build / FILE, "wb") as f:
            pickle.dump(self.__dict__, f, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, build: Path) -> FirmWork | None:
        """The work kept in a build folder, or ``None`` (older build, damaged or missing file)."""
        try:
            with open(build / FILE, "rb") as f:
                return cls(**pickle.load(f))  # written by ``save`` into the project's own build folder
        except Exception:  # nothing to reuse: the build computes every firm
            return None

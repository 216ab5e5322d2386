"""What indexing computes for each firm (term counts, vector, chain placement), kept beside a build so that the next
build — after an import, an edit or a merge — computes only the firms that are new or changed.

A firm's work depends on its own fields and on the models, knowledge base and config (the ``stamp``); with another
stamp nothing is reused. The lexical index's IDF, the dense index and the counterpart vocabulary are global and are
always rebuilt from the combined work.
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
        stamp: what the results depend on besides the firm (models, knowledge base, config).
        keys: per firm, ``firm_key``.
        vocab: the terms of ``counts``' columns.
        counts: (firms × terms) term counts for the lexical index.
        vectors: (firms × dim) embeddings.
        chain, stage, segment: per firm, its chain placement.
    """

    stamp: str
    keys: list[str]
    vocab: list[str]
    counts: sparse.csr_matrix
    vectors: np.ndarray
    chain: np.ndarray
    stage: np.ndarray
    segment: np.ndarray

    def rows_for(self, keys: list[str], stamp: str) -> np.ndarray:
        """Per key, the row holding its work here, or -1 (every key when ``stamp`` differs)."""
        if stamp != self.stamp:
            return np.full(len(keys), -1, dtype=np.int64)
        at = {k: i for i, k in enumerate(self.keys)}
        return np.array([at.get(k, -1) for k in keys], dtype=np.int64)

    @classmethod
    def combine(cls, stamp: str, keys: list[str], previous: FirmWork | None, old_rows: np.ndarray,
                blocks: list[dict[str, Any]], dim: int) -> FirmWork:
        """The work of every firm: rows ``old_rows >= 0`` taken from ``previous``, the others from the newly
        computed ``blocks`` (in firm order; each has ``lexical`` term counts, ``vectors``, ``chain``, ``stage``,
        ``segment``)."""
        n = len(keys)
        reused = np.flatnonzero(old_rows >= 0)
        fresh = np.flatnonzero(old_rows < 0)
        vocab: dict[str, int] = {t: i for i, t in enumerate(previous.vocab)} if previous is not None and len(reused) else {}
        parts = []
        if len(reused):
            assert previous is not None
            parts.append(previous.counts[old_rows[reused]])
        for b in blocks:
            tc: TermCounts = b["lexical"]
            remap = np.fromiter((vocab.setdefault(t, len(vocab)) for t in tc.vocab), dtype=np.int32, count=len(tc.vocab))
            parts.append(sparse.csr_matrix((tc.counts.data, remap[tc.counts.indices], tc.counts.indptr),
                                           shape=tc.counts.shape))
        width = len(vocab)
        parts = [sparse.csr_matrix((p.data, p.indices, p.indptr), shape=(p.shape[0], width)) for p in parts]
        stacked = sparse.vstack(parts, format="csr") if parts else sparse.csr_matrix((0, width), dtype=np.float32)
        # stacked rows are the reused firms, then the fresh ones: put them back in firm order
        order = np.argsort(np.concatenate([reused, fresh]), kind="stable")
        counts = stacked[order] if n else stacked
        vectors = np.empty((n, dim), dtype=np.float32)
        chain = np.empty(n, dtype=object)
        stage = np.empty(n, dtype=np.int8)
        segment = np.empty(n, dtype=object)
        if len(reused):
            assert previous is not None
            src = old_rows[reused]
            vectors[reused] = previous.vectors[src]
            chain[reused], stage[reused], segment[reused] = previous.chain[src], previous.stage[src], previous.segment[src]
        if len(fresh):
            vectors[fresh] = np.concatenate([b["vectors"] for b in blocks])
            chain[fresh] = [c for b in blocks for c in b["chain"]]
            stage[fresh] = [s for b in blocks for s in b["stage"]]
            segment[fresh] = [s for b in blocks for s in b["segment"]]
        return cls(stamp, list(keys), list(vocab), counts, vectors, chain, stage, segment)

    def term_counts(self) -> TermCounts:
        """The counts as one block for ``LexicalIndex.fit_counts``."""
        return TermCounts(self.vocab, self.counts)

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

"""Retrieval indexes: BM25 over jieba tokens (one sparse matrix) and dense vectors (faiss), saved atomically."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

try:
    import faiss

    HAS_FAISS = True
except ImportError:  # pragma: no cover - faiss is a hard dependency, the fallback keeps laptops working
    HAS_FAISS = False


_THREADS_LOCK = threading.Lock()
_QUERY_BLOCK = 64
DENSE_FILE = "dense.faiss"  # a build's dense index, beside its pickled state
_WEIGHT_BLOCK = 20_000  # documents whose BM25 weights are computed at once when indexing


class _threads:
    """Run a single faiss query on one OpenMP thread; blocks of queries keep the thread team.

    A single query gains nothing from a thread team, and on a busy 2-core machine waking the second thread costs
    5-10 ms per call (measured: flat search of 20k vectors 10.8 ms with 2 threads, 0.3 ms with 1).
    """

    def __init__(self, n_queries: int = 1) -> None:
        self.single = n_queries <= 1

    def __enter__(self) -> None:
        if self.single:
            _THREADS_LOCK.acquire()
            self.prev = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)

    def __exit__(self, *exc: Any) -> None:
        if self.single:
            faiss.omp_set_num_threads(self.prev)
            _THREADS_LOCK.release()


EMPTY = "∅"  # the token an empty document is indexed as


@dataclass
class TermCounts:
    """Term counts of a block of documents over the block's own vocabulary: what an indexing worker sends back.

    Attributes:
        vocab: the block's terms; column ``j`` of ``counts`` is ``vocab[j]``.
        counts: sparse (documents × terms) matrix of how often each term occurs in each document.
    """

    vocab: list[str]
    counts: Any


def term_counts(docs: Iterable[list[str]], empty: str | None = EMPTY) -> TermCounts:
    """Count the terms of token lists (an empty document counts as the placeholder token ``empty``; ``None``: as
    no term)."""
    from scipy import sparse

    vocab: dict[str, int] = {}
    ids: list[int] = []
    indptr = [0]
    placeholder = [empty] if empty is not None else []
    for doc in docs:
        ids.extend([vocab.setdefault(t, len(vocab)) for t in (doc or placeholder)])
        indptr.append(len(ids))
    counts = sparse.csr_matrix((np.ones(len(ids), dtype=np.float32), np.asarray(ids, dtype=np.int32),
                                np.asarray(indptr, dtype=np.int64)), shape=(len(indptr) - 1, len(vocab)))
    counts.sum_duplicates()
    return TermCounts(list(vocab), counts)


def impact_heads(postings: Any, depth: int) -> Any:
    """Each row's ``depth`` largest values (equal values: lower column first), the rest dropped, columns in order.

    What a candidate stage reads instead of whole posting lists (rows = terms, columns = documents): on a large
    register a common term's list holds a large share of all documents. Returns ``postings`` itself when no row is
    longer than ``depth`` (a small register is never capped).
    """
    from scipy import sparse

    lengths = np.diff(postings.indptr)
    long_rows = np.flatnonzero(lengths > depth)
    if depth <= 0 or not len(long_rows):
        return postings
    keep = np.ones(postings.nnz, dtype=bool)
    for r in long_rows:
        lo, hi = postings.indptr[r], postings.indptr[r + 1]
        vals = postings.data[lo:hi]
        kth = np.partition(vals, len(vals) - depth)[len(vals) - depth]  # the depth-th largest value
        mine = vals > kth
        ties = np.flatnonzero(vals == kth)[:depth - int(mine.sum())]  # columns are sorted: the lowest ones
        mine[ties] = True
        keep[lo:hi] = mine
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.minimum(lengths, depth))
    return sparse.csr_matrix((postings.data[keep], postings.indices[keep], indptr), shape=postings.shape)


def head_edges(heads: Any, capped: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, where its head ends: (the smallest value kept, the last column kept with that value); for rows
    not ``capped`` (kept whole) the value is +inf. A posting is in the head when its value is above the edge, or
    equal to it at a column up to the edge's."""
    floor = np.full(heads.shape[0], np.inf, dtype=np.float32)
    last = np.zeros(heads.shape[0], dtype=np.int64)
    for r in np.flatnonzero(capped):
        vals = heads.data[heads.indptr[r]:heads.indptr[r + 1]]
        cols = heads.indices[heads.indptr[r]:heads.indptr[r + 1]]
        floor[r] = vals.min()
        last[r] = cols[vals == floor[r]].max()
    return floor, last


class LexicalIndex:
    """BM25 (Lucene variant, as bm25s computes it) over pre-tokenised documents, held as one sparse matrix.

    Built from term counts with array operations, so token lists never pile up in memory: bm25s turned each token
    into a Python integer while indexing, 3.6 GB per 100 tokens × 1M documents. Filters are a mask applied before
    the top-k cut.

    Args:
        depth: postings per term a query reads on a large register (0: all). A query with a term found in more
            documents first ranks the documents in the ``depth`` best postings of each of its terms, then scores
            the ``pool`` best of those exactly; otherwise (always on a register of at most ``depth`` documents)
            every document sharing a term is scored, as without a cap.
        pool: documents of the capped stage scored exactly.
        capped_from: collection size from which the cap applies (below it every posting is read).
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75, depth: int = 0, pool: int = 1000,
                 capped_from: int = 0) -> None:
        self.k1 = k1
        self.b = b
        self.depth = depth
        self.pool = pool
        self.capped_from = capped_from

    def fit(self, docs: list[list[str]]) -> LexicalIndex:
        """Index token lists; an empty document is indexed as a single placeholder token."""
        return self.fit_counts([term_counts(docs)])

    def fit_counts(self, blocks: list[TermCounts]) -> LexicalIndex:
        """Index blocks of term counts (in document order), e.g. counted by worker processes."""
        from scipy import sparse

        vocab: dict[str, int] = {}
        remaps = [np.fromiter((vocab.setdefault(t, len(vocab)) for t in blk.vocab), dtype=np.int32,
                              count=len(blk.vocab)) for blk in blocks]
        if len(blocks) == 1:  # one block (a build's combined counts) is read as it is: its terms are numbered in order
            counts = blocks[0].counts
        else:
            parts = [sparse.csr_matrix((blk.counts.data, remap[blk.counts.indices], blk.counts.indptr),
                                       shape=(blk.counts.shape[0], len(vocab))) for blk, remap in zip(blocks, remaps)]
            counts = sparse.vstack(parts, format="csr") if parts else sparse.csr_matrix((0, 0), dtype=np.float32)
            del parts
        n = counts.shape[0]
        self.n_docs_ = n
        self.vocab_ = vocab
        if not n:  # an empty collection (a new database) answers every query with no results
            self.matrix_ = sparse.csr_matrix((len(vocab), 0), dtype=np.float32)
            return self
        lengths = np.asarray(counts.sum(axis=1)).ravel()
        df = np.bincount(counts.indices, minlength=len(vocab))
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        mean = lengths.mean()
        weights = np.empty(counts.nnz, dtype=np.float32)
        # BM25 weights a block of documents at a time: the float64 temporaries of the whole collection at once were
        # the largest allocation of a 1M-firm build (≈ 2 GB); each entry is computed exactly as before.
        for start in range(0, n, _WEIGHT_BLOCK):
            stop = min(start + _WEIGHT_BLOCK, n)
            lo, hi = counts.indptr[start], counts.indptr[stop]
            doc = np.repeat(np.arange(start, stop), np.diff(counts.indptr[start:stop + 1]))
            tf = counts.data[lo:hi].astype(np.float64)
            norm = self.k1 * ((1 - self.b) + self.b * lengths[doc] / mean)
            weights[lo:hi] = (idf[counts.indices[lo:hi]] * tf / (norm + tf)).astype(np.float32)
        # Stored as terms × documents: a query's terms select rows, one product scores every document.
        self.matrix_ = sparse.csr_matrix((weights, counts.indices, counts.indptr), shape=counts.shape).T.tocsr()
        self.matrix_.sort_indices()  # each posting list by document: exact scores of candidates binary-search it
        return self.cap(self.depth, self.pool, self.capped_from)

    def cap(self, depth: int, pool: int, capped_from: int = 0) -> LexicalIndex:
        """Set the candidate stage's ``depth``, ``pool`` and ``capped_from`` (see the class) on a fitted index (depth
        0: no cap)."""
        self.depth, self.pool, self.capped_from = depth, pool, capped_from
        self.heads_ = impact_heads(self.matrix_, depth if self.n_docs_ >= capped_from else 0)
        self.edges_ = head_edges(self.heads_, np.diff(self.heads_.indptr) < np.diff(self.matrix_.indptr))
        return self

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every document for one query (zeros when no token is known)."""
        return self.scores_many([tokens])[0]

    def scores_many(self, queries: list[list[str]]) -> np.ndarray:
        """BM25 scores as a dense (queries × docs) array, for small collections such as classes or parks."""
        out = np.zeros((len(queries), self.n_docs_), dtype=np.float32)
        for start in range(0, len(queries), _QUERY_BLOCK):
            block = queries[start:start + _QUERY_BLOCK]
            out[start:start + len(block)] = self._product(block).toarray()
        return out

    def search(self, tokens: list[str], k: int = 10, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (doc ids, scores > 0); ``mask`` (bool per doc) excludes documents before ranking."""
        return self.search_many([tokens], k, mask)[0]

    def search_many(self, queries: list[list[str]], k: int = 10, mask: np.ndarray | None = None,
                    exclude: list[int | None] | None = None, ties: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
        """Top-k (doc ids, scores > 0) for many queries at once: one sparse product (queries × terms × docs).

        Only documents sharing a term with the query are ranked, so the cost follows the postings touched rather
        than the collection size; a query with a term beyond the cap reads capped lists (see the class).
        ``exclude`` leaves one document out per query (e.g. the query firm itself);
        ``ties`` also returns the documents scoring the same as the k-th (so none is dropped arbitrarily).
        """
        out: list[tuple[np.ndarray, np.ndarray]] = []
        for start in range(0, len(queries), _QUERY_BLOCK):  # bounds the product's size (block × matching docs)
            block = queries[start:start + _QUERY_BLOCK]
            capped = [self._binds(tokens) for tokens in block]
            product = self._product([[] if c else tokens for tokens, c in zip(block, capped)])
            for r in range(len(block)):
                gone = exclude[start + r] if exclude is not None else None
                if capped[r]:
                    found = self._capped(block[r], k, mask, gone, ties)
                    if found is not None:
                        out.append(found)
                        continue
                    product_r = self._product([block[r]])  # too few candidates passed the filter: score them all
                    ids, s = product_r.indices.astype(np.int64), product_r.data
                else:
                    lo, hi = product.indptr[r], product.indptr[r + 1]
                    ids, s = product.indices[lo:hi].astype(np.int64), product.data[lo:hi]
                out.append(_topk_of(*_kept(ids, s, mask, gone), k, ties))
        return out

    def _binds(self, tokens: list[str]) -> bool:
        """Whether a query reads a capped posting list (a term in more than ``depth`` documents)."""
        heads = getattr(self, "heads_", None)
        if heads is None or heads is self.matrix_:
            return False
        rows = np.array([j for j in map(self.vocab_.get, tokens) if j is not None], dtype=np.int64)
        ptr = self.matrix_.indptr
        return bool((ptr[rows + 1] - ptr[rows] > self.depth).any())

    def _capped(self, tokens: list[str], k: int, mask: np.ndarray | None, gone: int | None,
                ties: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """Top-k of one query from its capped posting lists: the ``pool`` documents scoring best on the terms'
        best postings, then scored exactly; ``None`` when fewer than ``k`` of them pass the filters."""
        from scipy import sparse

        terms, times = np.unique([j for j in map(self.vocab_.get, tokens) if j is not None], return_counts=True)
        q = sparse.csr_matrix((times.astype(np.float32), terms, [0, len(terms)]), shape=(1, self.heads_.shape[0]))
        partial = (q @ self.heads_).tocsr()
        ids, s = _kept(partial.indices.astype(np.int64), partial.data, mask, gone)
        if len(ids) < k:
            return None
        rows = top_rows(ids, s, self.pool)
        order = np.argsort(ids[rows])
        cand, score = ids[rows][order], s[rows][order]
        # The partial score is exact but for the capped terms' postings left out of their heads: add those.
        floor, last = self.edges_
        for t, w in zip(terms, times):
            if np.isfinite(floor[t]):
                full = _lookup(self.matrix_, t, cand)
                left_out = (full < floor[t]) | ((full == floor[t]) & (cand > last[t]))
                score += np.float32(w) * full * left_out
        return _topk_of(cand, score, k, ties)

    def _product(self, queries: list[list[str]]) -> Any:
        """Sparse (queries × docs) BM25 scores; a repeated query term counts again."""
        from scipy import sparse

        rows, cols = [], []
        for r, tokens in enumerate(queries):
            for t in tokens:
                j = self.vocab_.get(t)
                if j is not None:
                    rows.append(r)
                    cols.append(j)
        if not self.n_docs_ or not rows:
            return sparse.csr_matrix((len(queries), self.n_docs_), dtype=np.float32)
        q = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                              shape=(len(queries), self.matrix_.shape[0]))
        return (q @ self.matrix_).tocsr()  # column order within a row does not matter: ties are broken by id


def _lookup(postings: Any, row: int, docs: np.ndarray) -> np.ndarray:
    """The values of one row of a CSR matrix (columns sorted) at some sorted columns, 0 where absent: a binary
    search of the row."""
    lo, hi = postings.indptr[row], postings.indptr[row + 1]
    cols = postings.indices[lo:hi]
    out = np.zeros(len(docs), dtype=np.float32)
    if hi == lo or not len(docs):
        return out
    at = np.minimum(np.searchsorted(cols, docs), len(cols) - 1)
    hit = cols[at] == docs
    out[hit] = postings.data[lo + at[hit]]
    return out


class DenseIndex:
    """Inner-product search over L2-normalised vectors: exact below ``hnsw_from`` vectors, compressed above.

    Measured on 1M synthetic firm profiles (benchmarks/README.md): HNSW (M=32, efConstruction=80) costs 210 s of
    CPU to build and reaches recall@10 0.85–0.90 at efSearch=128 (0.95 only at efSearch=1024), while a scan of
    float16 codes builds in seconds, is exact to recall@10 ≈ 0.999 and answers in ~25–40 ms on one core. An inverted
    file over the same float16 codes (``ivf``: 4·√n k-means lists, ``nprobe`` of them read per query) reads a few
    per cent of the codes: ≈ 1 ms at 1M.

    Args:
        backend: ``"faiss"`` (default when installed) or ``"numpy"`` (brute force, the reference).
        hnsw_from: collection size from which the ``approx`` index replaces the exact flat index.
        approx: ``"fp16"`` (float16 scan, default), ``"sq8"`` (8-bit scan, half the memory, recall ≈ 0.98),
            ``"ivf"`` (inverted file of float16 codes) or ``"hnsw"`` (graph, fastest queries, lowest recall).
        nprobe: lists an ``ivf`` query reads; a search restricted to a share of the ids reads proportionally more,
            so that about as many allowed vectors are compared (all lists for a narrow filter: an exact scan).
    """

    def __init__(self, backend: str | None = None, hnsw_from: int = 200_000, approx: str = "fp16",
                 nprobe: int = 64) -> None:
        self.backend = backend or ("faiss" if HAS_FAISS else "numpy")
        self.hnsw_from = hnsw_from
        self.approx = approx
        self.nprobe = nprobe

    def fit(self, vectors: np.ndarray) -> DenseIndex:
        """Index the rows of ``vectors`` (already normalised), ids are row numbers."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.n_, self.dim_ = vectors.shape
        if self.backend == "faiss":
            index: Any
            approx = getattr(self, "approx", "fp16")
            if self.n_ >= self.hnsw_from and approx == "hnsw":
                index = faiss.IndexHNSWFlat(self.dim_, 32, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = 80
                index.hnsw.efSearch = 128
            elif self.n_ >= self.hnsw_from and approx == "ivf":
                nlist = max(1, min(int(4 * np.sqrt(self.n_)), self.n_ // 39))  # faiss wants ≥ 39 points per list
                index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(self.dim_), self.dim_, nlist,
                                                      faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
                sample = np.random.default_rng(0).choice(self.n_, min(self.n_, 64 * nlist), replace=False)
                index.train(vectors[np.sort(sample)])  # the lists' centroids, from a fixed sample (reproducible)
                index.make_direct_map()  # vectors_of / reconstruct by id (kept up to date by add)
                index.nprobe = min(nlist, self.nprobe)
            elif self.n_ >= self.hnsw_from:
                qtype = faiss.ScalarQuantizer.QT_8bit if approx == "sq8" else faiss.ScalarQuantizer.QT_fp16
                index = faiss.IndexScalarQuantizer(self.dim_, qtype, faiss.METRIC_INNER_PRODUCT)
                sample = np.random.default_rng(0).choice(self.n_, min(self.n_, 100_000), replace=False)
                index.train(vectors[np.sort(sample)])  # per-dimension ranges (a no-op for fp16)
            else:
                index = faiss.IndexFlatIP(self.dim_)
            index.add(vectors)
            self.index_: Any = index
        else:
            self.index_ = vectors
        return self

    def write(self, folder: Path) -> None:
        """Write a faiss index to its own file in ``folder``; pickled from now on, the index leaves it out (``read``
        brings it back). Written as a stream: serialised in memory first, an index cost 2.5× its size while a build
        was saved (≈ 0.7 GB at 1M firms), and as much again when it was loaded."""
        if self.backend == "faiss" and "index_" in self.__dict__:
            faiss.write_index(self.index_, str(folder / DENSE_FILE))
            self.file_ = DENSE_FILE

    def read(self, folder: Path) -> None:
        """Read the index ``write`` put in ``folder`` (nothing to do for one pickled with its state)."""
        if getattr(self, "file_", None) and "index_" not in self.__dict__:
            self.index_ = faiss.read_index(str(folder / self.file_))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self.backend == "faiss" and "index_" in state:
            if state.get("file_"):
                del state["index_"]  # in its own file (``write``)
            else:
                state["index_"] = faiss.serialize_index(self.index_)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("backend") == "faiss" and "index_" in state:
            state["index_"] = faiss.deserialize_index(state["index_"])
        self.__dict__.update(state)

    def search(self, query: np.ndarray, k: int = 10, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, cosine) for one query vector; ``allowed`` ids restrict the search before the cut."""
        return self.search_many(query.reshape(1, -1), k, allowed)[0]

    def search_many(self, queries: np.ndarray, k: int = 10, allowed: np.ndarray | None = None,
                    exclude: list[int | None] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Top-k (ids, cosine) for each row of ``queries`` in one call (faiss scores a block of queries with BLAS).

        Args:
            allowed: ids the search is restricted to, before the cut (shared by all queries).
            exclude: per query, one id to leave out (e.g. the query firm itself).
        """
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim_)
        n_allowed = self.n_ if allowed is None else len(allowed)
        k = min(k, n_allowed)
        if k <= 0 or not len(q):
            return [(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)) for _ in range(len(q))]
        member: np.ndarray | None = None
        if allowed is not None:
            member = np.zeros(self.n_, dtype=bool)
            member[np.asarray(allowed, dtype=np.int64)] = True
        left_out = self.n_ - n_allowed
        extra = 1 if exclude is not None and any(e is not None for e in exclude) else 0
        if self.backend == "numpy":
            s = q @ self.index_.T
            if member is not None:
                s[:, ~member] = -np.inf
            finite = [np.flatnonzero(np.isfinite(row)) for row in s]  # ids outside ``allowed`` are -inf
            found = [_topk_of(ids, row[ids], k + extra) for ids, row in zip(finite, s)]
        elif member is None or left_out <= 64:
            # All but a few (typically the query firm itself): fetch a few more and drop them, no selector needed.
            fetch = min(self.n_, k + left_out + extra)
            with _threads(len(q)):
                scores, ids = self.index_.search(q, fetch)
            found = [(i, sc) for i, sc in zip(ids, scores)]
        else:
            # A bitmap selector costs n/8 bytes to build; IDSelectorBatch hashes every allowed id on every query.
            bits = np.packbits(member, bitorder="little")
            fx: Any = faiss  # the SWIG stubs lack the selector and search-parameter classes
            sel = fx.IDSelectorBitmap(self.n_, fx.swig_ptr(bits))
            if isinstance(self.index_, faiss.IndexHNSWFlat):
                params = fx.SearchParametersHNSW(sel=sel, efSearch=max(self.index_.hnsw.efSearch, k + extra))
            elif isinstance(self.index_, faiss.IndexIVF):
                # A filter keeping a share of the ids: read proportionally more lists (all of them for a narrow one)
                lists = self.index_.nlist
                wider = int(np.ceil(self.index_.nprobe * self.n_ / max(n_allowed, 1)))
                params = fx.SearchParametersIVF(sel=sel, nprobe=min(lists, wider))
            else:
                params = fx.SearchParameters(sel=sel)
            with _threads(len(q)):
                scores, ids = self.index_.search(q, k + extra, params=params)
            found = [(i, sc) for i, sc in zip(ids, scores)]
        out = []
        for r, (ids_r, sc_r) in enumerate(found):
            keep = ids_r >= 0
            if member is not None:
                keep &= member[np.maximum(ids_r, 0)]
            gone = exclude[r] if exclude is not None else None
            if gone is not None:
                keep &= ids_r != gone
            out.append((ids_r[keep][:k].astype(np.int64), sc_r[keep][:k].astype(np.float32)))
        return out

    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of some ids (decoded from float16 for the compressed index)."""
        ids = np.asarray(ids, dtype=np.int64)
        if self.backend == "numpy":
            return self.index_[ids]
        if isinstance(self.index_, faiss.IndexFlat):
            flat = faiss.rev_swig_ptr(self.index_.get_xb(), self.n_ * self.dim_)  # the index's own memory, no copy
            return np.asarray(flat).reshape(self.n_, self.dim_)[ids]
        return self.index_.reconstruct_batch(ids) if len(ids) else np.zeros((0, self.dim_), dtype=np.float32)

    def all_scores(self, query: np.ndarray) -> np.ndarray:
        """Cosine to every vector (small collections such as chains or GB classes)."""
        if self.backend == "numpy":
            return self.index_ @ query.astype(np.float32)
        vecs = getattr(self, "vectors_", None)
        if vecs is None:  # reconstructed once: small collections are scored whole on every query
            vecs = self.vectors_ = self.index_.reconstruct_n(0, self.n_)
        return vecs @ query.astype(np.float32)

def top_rows(ids: np.ndarray, scores: np.ndarray, k: int, ties: bool = False) -> np.ndarray:
    """Positions of the k best scores, best first, equal scores by id (so the order never depends on input order).

    With ``ties`` every position scoring the same as the k-th is kept as well.
    """
    rows = np.arange(len(scores))
    if len(scores) > k:
        # Everything scoring at least the k-th best is kept, so equal scores at the cut are ordered by id below.
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        rows = np.flatnonzero(scores >= kth)
    order = rows[np.lexsort((ids[rows], -scores[rows]))]
    return order if ties else order[:k]


def _kept(ids: np.ndarray, scores: np.ndarray, mask: np.ndarray | None,
          gone: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The (ids, scores) with a positive score that pass ``mask`` and are not ``gone``."""
    keep = scores > 0
    if mask is not None:
        keep &= mask[ids]
    if gone is not None:
        keep &= ids != gone
    return ids[keep], scores[keep]


def _topk_of(ids: np.ndarray, scores: np.ndarray, k: int, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of candidate (ids, scores), best first, as ``top_rows`` orders them."""
    rows = top_rows(ids, scores, k, ties)
    return ids[rows].astype(np.int64), scores[rows].astype(np.float32)

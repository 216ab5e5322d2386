"""Supply–demand counterparts: who can sell a firm its inputs (suppliers), who buys what it makes (customers), and
who makes the same things (同行, shown apart, never offered as a supplier or customer).

Every firm is read as character bigrams (Chinese product names share few whole words but many bigrams: 数控车床 /
车床数控). A query is parsed (:func:`matcher.match.query.parse`) into its products and its needs; each candidate
gets named parts that add up to its score:

* ``needs``  — the stated needs (采购需求) against the candidate's products (suppliers), or the query's products
  against the candidate's stated needs (customers);
* ``pair``   — the same, item by item: the best single need ↔ product pair;
* ``asked``  — the product families the stated needs name (:mod:`matcher.match.families`) against the candidate's
  families (suppliers), or the query's families against the families the candidate's needs name (customers);
* ``inputs`` — what goes into what: the inputs of the query's product families (the input table) against the
  candidate's families (suppliers), or the families taking the query's families as an input (customers);
* ``chain``  — the knowledge base: the query's chain segments before (suppliers) or after (customers) its own
  against the candidate's products;
* ``near``   — closeness of the two firms' products below the 同行 line: firms of a neighbouring trade;
* ``similar`` — what the words mean rather than how they are written: the best stated need item's embedding against
  the candidate's profile vector (the firms' dense index), read for the ``similar_pool`` best candidates by the
  other parts (it reorders them; alone it proposes no firm). Suppliers of a query that states its needs only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import sparse

from matcher.match.families import InputTable, best_of_sparse, family_score, work_rows
from matcher.match.index import TermCounts, impact_heads, term_counts, top_rows
from matcher.match.kernels import group_max, weighted_best, weighted_sum
from matcher.match.query import Query, parse
from matcher.match.reasons import render
from matcher.match.results import Hit

PARTS = ("needs", "pair", "asked", "inputs", "chain", "near", "similar")
_BLOCK = 64  # queries scored together (their parts are sparse: a few per cent of the firms each)
_SPLIT = re.compile(r"[\s、，,；;：:。（）()\[\]【】/\-—·\"'“”|]+")
_JUNK_NAME = re.compile(r"^\s*[=+@]|https?://|www\.|hyperlink|\(\s*\"", re.IGNORECASE)
_RUNS = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*|[^a-z0-9]+")
_NEEDS_CLAUSE = re.compile(r"(?:采购需求|采购|需求|需要采购|寻求)[:：]")


def bigrams(text: str) -> list[str]:
    """Character bigrams of each chunk between separators (a one-character chunk stays whole); a run of Latin
    letters and digits is one term (MTO and TOPCon share no "to"; EVA胶膜 and EVA share "eva")."""
    out: list[str] = []
    for chunk in _SPLIT.split(unicodedata.normalize("NFKC", text or "").lower()):
        for run in _RUNS.findall(chunk):
            if run[0].isascii() and run[0].isalnum():
                out.append(run)
            else:
                out += [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]
    return out


@lru_cache(maxsize=200_000)
def bigram_set(item: str) -> frozenset[str]:
    """The distinct bigrams of a product or need item (items recur across the hits of a batch)."""
    return frozenset(bigrams(item))


def items_of(text: str) -> list[str]:
    """The items of a product or needs list ('A、B；C' → [A, B, C])."""
    return [x.strip() for x in re.split(r"[、，,；;。\n]+", text or "") if len(x.strip()) > 1]


def is_junk_name(name: str) -> bool:
    """A name that is a spreadsheet formula, a link or markup, not a firm (rows of a badly exported sheet)."""
    return not (name or "").strip() or bool(_JUNK_NAME.search(name))


class TextLists:
    """One short list of texts per firm (its product or need items), all held in one string.

    A list of strings per firm cost ≈ 240 bytes for two items, and each of its objects is one more entry for pickle
    to track when a build is saved; one string for all firms with their offsets holds them in ≈ 30 (1M firms'
    products and needs: ≈ 0.4 GB less). Items are normalised text, which never holds the separators.

    Args:
        rows: per firm, its items, or its items already joined by ``join``.
    """

    _SEP = "\x1f"

    def __init__(self, rows: Iterable[Sequence[str] | str]) -> None:
        joined = [r if isinstance(r, str) else self.join(r) for r in rows]
        self.starts_ = np.zeros(len(joined) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in joined], out=self.starts_[1:])
        self.text_ = "".join(joined)

    @classmethod
    def join(cls, items: Sequence[str]) -> str:
        """One firm's items as one string (what the constructor also accepts)."""
        return cls._SEP.join(items)

    def __len__(self) -> int:
        return len(self.starts_) - 1

    def __getitem__(self, i: int) -> list[str]:
        row = self.text_[self.starts_[i]:self.starts_[i + 1]]
        return row.split(self._SEP) if row else []


class Vocabulary:
    """Bigram vocabulary with sublinear TF-IDF rows, L2-normalised (the space every part is computed in).

    Args:
        index: bigram → column.
        idf: per column, its inverse document frequency over the stored firms.
    """

    def __init__(self, index: dict[str, int] | None = None, idf: np.ndarray | None = None) -> None:
        self.index_ = index or {}
        self.idf_ = idf if idf is not None else np.zeros(0, dtype=np.float32)

    def transform(self, docs: list[str]) -> sparse.csr_matrix:
        """TF-IDF rows of documents, L2-normalised; unknown bigrams are dropped."""
        return _tfidf(_remap(bigram_counts(docs), self.index_), self.idf_)


def needs_of(q: Query) -> tuple[list[str], str]:
    """(need items, the whole needs text) of a parsed query; the raw clause after 采购需求 keeps what items drop."""
    items = list(q.needs)
    raw = ""
    m = _NEEDS_CLAUSE.search(q.text or "")
    if m:
        raw = q.text[m.end():]
    # The clause as the officer wrote it matches better than the items cut from it (whose words repeat it).
    return items, raw.strip() or "、".join(items)


def states_needs(q: Query) -> bool:
    """Whether a query says what it wants to buy (its suppliers are then ranked with the ``*_asked_*`` weights)."""
    return bool(needs_of(q)[1])


def _rows_kept(m: sparse.csr_matrix, keep: np.ndarray) -> sparse.csr_matrix:
    """``m`` with the rows not kept emptied (same shape: row i is still query i)."""
    if keep.all():
        return m
    out = sparse.diags(keep.astype(np.float32)) @ m
    out.eliminate_zeros()
    return sparse.csr_matrix(out)


def row_of(m: sparse.csr_matrix, r: int) -> tuple[np.ndarray, np.ndarray]:
    """(columns, values) of one row, read from the CSR arrays (scipy's row indexing is slow for one row)."""
    lo, hi = m.indptr[r], m.indptr[r + 1]
    return m.indices[lo:hi], m.data[lo:hi]


def stack_rows(rows: list[tuple[np.ndarray, np.ndarray]], n: int) -> sparse.csr_matrix:
    """A (len(rows) × n) CSR matrix from (columns, values) rows (a row's columns distinct, in any order)."""
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(c) for c, _ in rows])
    cols = np.concatenate([c for c, _ in rows]).astype(np.int32) if rows else np.zeros(0, dtype=np.int32)
    vals = np.concatenate([v for _, v in rows]).astype(np.float32) if rows else np.zeros(0, dtype=np.float32)
    return sparse.csr_matrix((vals, cols, indptr), shape=(len(rows), n))


def scale_rows(m: sparse.csr_matrix) -> sparse.csr_matrix:
    """Each row divided by its largest value (rows without values stay empty)."""
    m = m.copy()
    filled = np.flatnonzero(np.diff(m.indptr))
    if len(filled):
        best = np.maximum.reduceat(m.data, m.indptr[filled])
        best[best <= 0] = 1  # a row whose values are not positive is left as it is
        m.data /= np.repeat(best, np.diff(m.indptr)[filled])
    return m


def heaviest(weights: np.ndarray, n: int) -> np.ndarray:
    """``weights`` with all but its ``n`` largest values set to 0 (itself when it has no more than ``n``)."""
    if np.count_nonzero(weights) <= n:
        return weights
    out = np.zeros_like(weights)
    top = np.argsort(-weights, kind="stable")[:n]
    out[top] = weights[top]
    return out


def _packed(rows: dict[str, tuple[np.ndarray, np.ndarray]], weights: dict[str, float]
            ) -> tuple[list[str], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(the parts that count, in ``PARTS`` order; their rows and values one after the other, where each starts, and
    their weights) as the compiled loops of :mod:`matcher.match.kernels` take them."""
    used = [p for p in PARTS if weights[p] and len(rows[p][0])]
    if not used:
        return used, (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), np.zeros(1, dtype=np.int64),
                      np.zeros(0, dtype=np.float32))
    cols = np.concatenate([rows[p][0] for p in used])  # int32 or int64 as the parts hold them
    vals = np.concatenate([rows[p][1] for p in used]).astype(np.float32, copy=False)
    starts = np.cumsum([0] + [len(rows[p][0]) for p in used])
    # Python floats times float32 values multiply in float32 (numpy's rule), so the weights are float32 here
    return used, (cols, vals, starts, np.array([weights[p] for p in used], dtype=np.float32))


def _leaders(cols: np.ndarray, vals: np.ndarray, allowed: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` allowed columns with the largest values (as int64 rows)."""
    ok = allowed[cols]
    return cols[ok][top_rows(cols[ok], vals[ok], n)].astype(np.int64)


def firm_texts(firm: dict[str, Any]) -> tuple[str, str]:
    """(products, needs) of a stored firm as counterparts read them (the description stands in for products)."""
    return f"{firm.get('products') or ''}" or f"{firm.get('description') or ''}", firm.get("needs") or ""


def bigram_counts(texts: list[str]) -> TermCounts:
    """Bigram counts of texts over their own vocabulary (merged later, so blocks can be counted apart); an empty
    text has no bigram."""
    return term_counts((bigrams(t) for t in texts), empty=None)


def firm_work(firms: list[dict[str, Any]], table: InputTable | None, decay: float) -> dict[str, Any]:
    """What counterparts need of each firm, computed per firm: bigram counts of products and needs, their items,
    and the product families they name (``table``; ``decay``: weight of later items)."""
    texts = [firm_texts(f) for f in firms]
    items = [items_of(p)[:12] for p, _ in texts]
    need_items = [items_of(nd)[:12] for _, nd in texts]
    width = len(table.names) if table is not None else 0
    return {"products": bigram_counts([p for p, _ in texts]), "needs": bigram_counts([nd for _, nd in texts]),
            "items": items, "need_items": need_items,
            "families": table.membership(items, decay) if table is not None else sparse.csr_matrix((len(firms), width)),
            "need_families": table.membership(need_items, 0.0) if table is not None
            else sparse.csr_matrix((len(firms), width))}


def _remap(counts: TermCounts, index: dict[str, int]) -> sparse.csr_matrix:
    """Term counts moved onto the columns of a vocabulary ``index``; terms it lacks are dropped."""
    cols = np.fromiter((index.get(t, -1) for t in counts.vocab), dtype=np.int32, count=len(counts.vocab))
    c = counts.counts
    # moved in CSR form (the COO route held three more arrays of every entry: ≈ 0.3 GB at 1M firms)
    new = cols[c.indices]
    known = new >= 0
    data, indptr = c.data.copy(), c.indptr.copy()  # sorted in place below: the caller's counts stay as they are
    if not known.all():
        kept = np.concatenate([[0], np.cumsum(known)])
        new, data, indptr = new[known], data[known], kept[c.indptr]
    m = sparse.csr_matrix((data, new, indptr), shape=(c.shape[0], len(index)))
    m.sum_duplicates()  # columns in order within each row
    return m


def _tfidf(counts: sparse.csr_matrix, idf: np.ndarray, copy: bool = True) -> sparse.csr_matrix:
    """Sublinear TF-IDF rows, L2-normalised (what ``Vocabulary.transform`` computes, for many rows at once;
    ``copy=False``: ``counts`` itself becomes the result)."""
    m = sparse.csr_matrix(counts, dtype=np.float32, copy=copy)
    m.sort_indices()
    m.data = (1 + np.log(m.data)) * idf[m.indices]
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    m.data /= np.repeat(norms, np.diff(m.indptr)).astype(np.float32)
    return m


class Scorer:
    """Where a query's parts are read from: every firm's whole posting lists (default), or with ``heads`` only each
    bigram's and each family's best firms (the candidate stage on a large register, see ``CounterpartFinder.cap``).
    """

    def __init__(self, finder: CounterpartFinder, heads: dict[str, Any] | None = None) -> None:
        self.matrices = heads or {"products": finder.products_t_, "needs": finder.needs_t_,
                                  "families": finder.families_c_, "need_families": finder.need_families_c_}
        self.exact = heads is None  # every posting read: a text's parts are the same whatever else is asked

    def cosine(self, kind: str, rows: sparse.csr_matrix, owners: np.ndarray) -> sparse.csr_matrix:
        """Cosine of the firms' ``kind`` (products, needs) to each row: (rows × firms), sparse (most firms share no
        bigram); ``owners``: the query of each row."""
        index_t = self.matrices[kind]
        if rows.shape[0] == 0 or index_t.shape[0] == 0:
            return sparse.csr_matrix((rows.shape[0], index_t.shape[1]), dtype=np.float32)
        out = sparse.csr_matrix(rows @ index_t, dtype=np.float32)
        out.eliminate_zeros()
        return out

    def families(self, kind: str, wanted: np.ndarray, query: int,
                 bufs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Per firm of a wanted family, ``best_of_sparse`` of its ``kind`` (families, need_families); ``bufs``: the
        zeroed rows over all firms to work in (``work_rows``)."""
        return best_of_sparse(self.matrices[kind], wanted, bufs)


class CandidateScorer(Scorer):
    """The exact parts of each query's candidates only (the firms its candidate stage kept); other firms get none.

    Args:
        candidates: per query, its candidate firm rows, sorted.
    """

    def __init__(self, finder: CounterpartFinder, candidates: list[np.ndarray]) -> None:
        self.exact = False  # a query's parts cover its own candidates only
        self.n = finder.products_t_.shape[1]
        self.rows = {"products": finder.products_, "needs": finder.needs_, "families": finder.families_,
                     "need_families": finder.need_families_}
        self.candidates = candidates
        self._gathered: dict[tuple[str, int], sparse.csr_matrix] = {}

    def of(self, kind: str, query: int) -> sparse.csr_matrix:
        """The candidates' own rows of ``kind`` (firm-major), gathered once per query."""
        key = (kind, query)
        if key not in self._gathered:
            self._gathered[key] = self.rows[kind][self.candidates[query]]
        return self._gathered[key]

    def cosine(self, kind: str, rows: sparse.csr_matrix, owners: np.ndarray) -> sparse.csr_matrix:
        """As ``Scorer.cosine``, from the candidates' own rows instead of the bigrams' postings."""
        out: list[tuple[np.ndarray, np.ndarray]] = []
        dense = np.zeros((rows.shape[1], 1), dtype=np.float32)
        for j in range(rows.shape[0]):  # a query's rows are few (its texts, its items): one product each
            cand = self.candidates[owners[j]]
            cols, vals = row_of(rows, j)
            dense[cols, 0] = vals
            sims = (self.of(kind, int(owners[j])) @ dense)[:, 0]
            dense[cols, 0] = 0.0
            hit = np.flatnonzero(sims)
            out.append((cand[hit], sims[hit].astype(np.float32)))
        return stack_rows(out, self.n)

    def families(self, kind: str, wanted: np.ndarray, query: int,
                 bufs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """As ``best_of_sparse``, from the candidates' own family rows."""
        cand = self.candidates[query]
        sub = self.of(kind, query)
        vals = (sub.data * wanted[sub.indices]).astype(np.float32)
        top = np.zeros(len(cand), dtype=np.float32)
        total = np.zeros(len(cand), dtype=np.float32)
        filled = np.flatnonzero(np.diff(sub.indptr))
        if len(filled):  # each candidate's families are one run of ``vals``
            top[filled] = np.maximum.reduceat(vals, sub.indptr[filled])
            total[filled] = np.add.reduceat(vals, sub.indptr[filled])
        hit = (top != 0).nonzero()[0]
        return cand[hit], family_score(top[hit], total[hit])


class CounterpartFinder:
    """Suppliers, customers and 同行 of a firm among the stored firms.

    Args:
        weights: ``[counterparts]`` of the config: one weight per part (``PARTS``, or ``suppliers_<part>`` /
            ``customers_<part>`` for one role), ``peer_threshold`` (closeness
            of products from which a firm is 同行), ``min_score`` (below it a candidate is not offered).
        table: the input table of product families (default: none; the engine passes ``data/inputs.json``).
    """

    def __init__(self, weights: dict[str, float], table: InputTable | None = None) -> None:
        self.weights = dict(weights)
        self.table = table

    def weight(self, role: str, part: str, asked: bool = False) -> float:
        """A part's weight for ``suppliers`` or ``customers``, the first set of: ``{role}_asked_{part}`` (a query
        that states its needs), ``{role}_{part}`` (learned per role), ``part``."""
        w = self.weights
        plain = w.get(f"{role}_{part}", w.get(part, 0.0))
        return w.get(f"{role}_asked_{part}", plain) if asked else plain

    def fit(self, firms: list[dict[str, Any]]) -> CounterpartFinder:
        """Index firms' products and needs; quarantine rows that must never be offered."""
        return self.fit_work([f.get("name") for f in firms], [f.get("uscc_valid") for f in firms],
                             firm_work(firms, self.table, self.weights.get("item_decay", 0.5)))

    def fit_work(self, names: Sequence[str | None], valid: Sequence[Any], work: dict[str, Any]) -> CounterpartFinder:
        """``fit`` from the per-firm work of ``firm_work`` (computed in blocks, possibly by other processes, or
        kept from an earlier build), in the order of the firms' ``names`` and ``valid`` (their ``uscc_valid``)."""
        self.__dict__.pop("_segment_sims", None)  # parts of the firms indexed before
        products, needs = work["products"], work["needs"]
        # One vocabulary over both fields, terms sorted; IDF over firms (a bigram in a firm's products or needs).
        terms = sorted(set(products.vocab) | set(needs.vocab))
        index = {t: i for i, t in enumerate(terms)}
        p, nd = (_remap(c, index) for c in (products, needs))
        n = len(names)
        # firms naming a bigram in products or needs: each field's count, less the firms naming it in both
        width = len(index)
        df = (np.bincount(p.indices, minlength=width) + np.bincount(nd.indices, minlength=width)
              - np.bincount(p.multiply(nd).tocsr().indices, minlength=width))
        self.vocab_ = Vocabulary(index, (np.log((1 + n) / (1 + df)) + 1).astype(np.float32))
        self.products_ = _tfidf(p, self.vocab_.idf_, copy=False)
        self.needs_ = _tfidf(nd, self.vocab_.idf_, copy=False)
        del p, nd
        self.products_t_ = self.products_.T.tocsr()
        self.needs_t_ = self.needs_.T.tocsr()
        self.items_ = TextLists(work["items"])
        self.need_items_ = TextLists(work["need_items"])
        none = sparse.csr_matrix((n, 0), dtype=np.float32)  # no input table: no family parts
        self.families_ = work["families"] if self.table is not None else none
        self.need_families_ = work["need_families"] if self.table is not None else none
        # Scoring reads the firms of a few wanted families (columns); evidence reads one firm's families (rows).
        self.families_c_ = self.families_.tocsc()
        self.need_families_c_ = self.need_families_.tocsc()
        valid_names = {name for name, ok in zip(names, valid) if ok == 1}
        self.offer_ = np.array([not is_junk_name(name or "") and not (ok == 0 and name in valid_names)
                                for name, ok in zip(names, valid)], dtype=bool)
        w = self.weights
        return self.cap(int(w.get("posting_cap", 0)), int(w.get("candidate_pool", 2000)),
                        int(w.get("part_leaders", 50)), int(w.get("query_terms", 24)), int(w.get("capped_from", 0)))

    def cap(self, depth: int, pool: int, leaders: int, terms: int, capped_from: int = 0) -> CounterpartFinder:
        """Set the candidate stage on a fitted finder: a query's parts are first read from each bigram's and each
        product family's ``depth`` best firms (impact order), for the ``terms`` heaviest bigrams of each of its
        texts; the ``pool`` best suppliers and customers by those parts and the ``leaders`` best firms of each part
        are then scored exactly. ``heads_`` is ``None`` (no candidate stage) when no bigram or family has more than
        ``depth`` firms, as on any register that small, or when the register has fewer than ``capped_from`` firms."""
        self.pool, self.leaders, self.terms = pool, leaders, terms
        if self.products_t_.shape[1] < capped_from:
            depth = 0
        heads = {"products": impact_heads(self.products_t_, depth), "needs": impact_heads(self.needs_t_, depth),
                 # families × firms in CSR are the CSC arrays as they are: capped as rows, read as columns
                 "families": impact_heads(self.families_c_.T, depth).T,
                 "need_families": impact_heads(self.need_families_c_.T, depth).T}
        full = Scorer(self).matrices
        capped = any(heads[kind].nnz != full[kind].nnz for kind in heads)
        self.heads_ = heads if capped else None
        return self

    def use_vectors(self, encode: Callable[[list[str]], np.ndarray],
                    vectors_of: Callable[[np.ndarray], np.ndarray]) -> CounterpartFinder:
        """Give the ``similar`` part its vectors: ``encode`` embeds texts (the engine's embedder), ``vectors_of`` reads
        the stored firms' profile vectors by row (the dense index). Not saved with a build: set again on load."""
        self._vectors = (encode, vectors_of)
        return self

    def __getstate__(self) -> dict[str, Any]:
        # a saved build holds no cache, and no embedder or index (the engine saves and sets those itself)
        return {k: v for k, v in self.__dict__.items() if k not in ("_segment_sims", "_vectors")}

    # -- scoring ------------------------------------------------------------------------------------------------
    def _segment_cosine(self, scorer: Scorer, rows: sparse.csr_matrix, texts: list[str]) -> sparse.csr_matrix:
        """The firms' products against each query's chain-segment text (``rows``: their TF-IDF rows; an empty text
        has no part).

        A chain has a few segments, so a batch asks for the same few long texts over and over: with every posting
        read (``scorer.exact``) each distinct text is computed once and kept (bounded).
        """
        n = self.products_t_.shape[1]
        empty = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))
        if not scorer.exact:
            kept = np.array([bool(t) for t in texts], dtype=bool)
            return scorer.cosine("products", _rows_kept(rows, kept), np.arange(len(texts)))
        cache = self.__dict__.setdefault("_segment_sims", {})  # shared by the app's sessions: read into ``found``
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        first: dict[str, int] = {}  # texts to compute, at their first row
        for i, t in enumerate(texts):
            if t and t not in found and t not in first:
                hit = cache.get(t)
                if hit is None:
                    first[t] = i
                else:
                    found[t] = hit
        if first:
            at = list(first.values())
            sims = scorer.cosine("products", rows[at], np.array(at))
            for j, t in enumerate(first):
                cols, vals = row_of(sims, j)
                found[t] = (cols.copy(), vals.copy())
            if len(cache) + len(first) > 512:  # a chain has a few segments: this bound is not reached in practice
                cache.clear()
            cache.update((t, found[t]) for t in first)
        return stack_rows([found[t] if t else empty for t in texts], n)

    def _item_max(self, scorer: Scorer, kind: str, items: tuple[sparse.csr_matrix, np.ndarray],
                  n_queries: int) -> sparse.csr_matrix:
        """Per query, the best single item's cosine to each firm (queries × firms, sparse); ``items``: the items'
        TF-IDF rows and the query of each."""
        n = self.products_t_.shape[1]
        flat, owners = items
        if not len(owners):
            return sparse.csr_matrix((n_queries, n), dtype=np.float32)
        sims = scorer.cosine(kind, flat, owners)  # a query's items are consecutive rows
        groups = np.concatenate(([0], np.cumsum(np.bincount(owners, minlength=n_queries))))
        buf, _, touched = work_rows(n)
        indptr, cols, vals = group_max(sims.indptr, sims.indices, sims.data, groups, buf, touched)
        return sparse.csr_matrix((vals, cols, indptr), shape=(n_queries, n))

    def query_families(self, q: Query) -> tuple[np.ndarray, np.ndarray]:
        """(the query's product families as shares summing to 1, the families its need items name)."""
        assert self.table is not None
        own = self.table.member(q.products or items_of(q.product_text()), self.weights.get("query_decay", 0.3))
        if own.sum() > 0:
            own = own / own.sum()
        asked = np.zeros(len(self.table.names), dtype=np.float32)
        items, whole = needs_of(q)
        for item in items or items_of(whole):
            for f, (w, _) in self.table.item_families(item).items():
                asked[f] = max(asked[f], w)
        return own, asked

    def wanted(self, own: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(families whose firms could supply ours, families whose firms could buy ours), each weighted by its
        strongest link from one of our families (share × rank of the input): summed over our families, an input
        common to many of them, such as steel, would outrank each family's own key inputs."""
        assert self.table is not None
        inputs = self.table.inputs
        ours = np.flatnonzero(own)  # a firm is in a few families: the others' rows would only add zeros to the max
        if not len(ours):
            return np.zeros(inputs.shape[1], dtype=inputs.dtype), np.zeros(inputs.shape[0], dtype=inputs.dtype)
        return ((own[ours, None] * inputs[ours]).max(axis=0),
                (inputs[:, ours] * own[None, ours]).max(axis=1))

    def asks(self, queries: list[Query], segments: list[tuple[str, str]]) -> dict[str, Any]:
        """What ``features`` compares the firms with, per query: TF-IDF rows of its products, needs and the chain
        segments around it, of its product and need items, and its families (``None`` without an input table).

        Args:
            queries: parsed queries.
            segments: per query, (text of the chain segments before it, text of the segments after it).
        """
        needs = [needs_of(q) for q in queries]
        products = ["、".join(q.products) or q.product_text() or q.text for q in queries]
        families: list[Any] = [None] * len(queries)
        if self.table is not None:
            for i, q in enumerate(queries):
                own, asked = self.query_families(q)
                families[i] = (own, asked, self.wanted(own))
        need_items = [its for its, _ in needs]
        items = [list(q.products) for q in queries]
        texts = {"products": products, "needs": [w for _, w in needs], "up": [up for up, _ in segments],
                 "down": [down for _, down in segments], "need_items": [x for its in need_items for x in its],
                 "items": [x for its in items for x in its]}
        # One transform for every distinct text (each row is weighted and normalised on its own; the chain segments
        # of a batch repeat), then cut into its kinds.
        where: dict[str, int] = {}
        at = [where.setdefault(t, len(where)) for kind in texts.values() for t in kind]
        rows = self.vocab_.transform(list(where))[at]
        ends = np.cumsum([0] + [len(kind) for kind in texts.values()])
        out: dict[str, Any] = {kind: rows[ends[j]:ends[j + 1]] for j, kind in enumerate(texts)}
        for kind, lists in (("need_items", need_items), ("items", items)):
            out[kind] = (out[kind], np.repeat(np.arange(len(lists)), [len(its) for its in lists]))
        out["families"] = families
        vectors = self.__dict__.get("_vectors")
        if vectors is not None and len(out["need_items"][1]):
            flat = vectors[0]([x for its in need_items for x in its])
            ends = np.cumsum([0] + [len(its) for its in need_items])
            out["need_vectors"] = [flat[ends[i]:ends[i + 1]] for i in range(len(queries))]
        return out

    def features(self, queries: list[Query], segments: list[tuple[str, str]], scorer: Scorer | None = None,
                 asks: dict[str, Any] | None = None, weighted_only: bool = False,
                 allowed: np.ndarray | None = None) -> dict[str, Any]:
        """Unweighted parts of every stored firm for each query, per role (``suppliers``, ``customers``) and the
        products closeness (``peer``), each a sparse (queries × firms) matrix, and per query its families (``families``: own shares, families its needs
        name, wanted suppliers' and customers' families; ``None`` without an input table).

        Args:
            queries: parsed queries.
            segments: per query, (text of the chain segments before it, text of the segments after it).
            scorer: which firms get parts and from what (default: every firm, exactly; see ``Scorer``).
            asks: ``asks(queries, segments)``, when the caller has it.
            weighted_only: leave empty the supplier parts a query's weights do not count (with its needs stated,
                suppliers are ranked by the needs alone); the answer is the same, with less work.
            allowed: per firm, whether it may be offered: the ``similar`` part is read for the best allowed
                candidates (default: all firms).
        """
        scorer = scorer or Scorer(self)
        asks = asks or self.asks(queries, segments)
        n = self.products_t_.shape[1]
        each = np.arange(len(queries))
        counts = {p: np.ones(len(queries), dtype=bool) for p in ("pair", "chain", "inputs")}
        if weighted_only:
            asked = [states_needs(q) for q in queries]
            counts = {p: np.array([bool(self.weight("suppliers", p, a)) for a in asked], dtype=bool) for p in counts}
        flat, owners = asks["need_items"]
        keep = counts["pair"][owners]
        peer = scorer.cosine("products", asks["products"], each)
        sup = {
            "needs": scorer.cosine("products", asks["needs"], each),
            "pair": self._item_max(scorer, "products", (flat[keep], owners[keep]), len(queries)),
            "chain": self._segment_cosine(scorer, asks["up"], [up if counts["chain"][i] else ""
                                                              for i, (up, _) in enumerate(segments)]),
        }
        cus = {
            "needs": scorer.cosine("needs", asks["products"], each),
            "pair": self._item_max(scorer, "needs", asks["items"], len(queries)),
            "chain": self._segment_cosine(scorer, asks["down"], [down for _, down in segments]),
        }
        families = asks["families"]
        by_family: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"sa": [], "si": [], "ca": [], "ci": []}
        bufs = work_rows(n)
        if self.table is not None:
            for i, (own, asked, (want_sup, want_cus)) in enumerate(families):
                by_family["sa"].append(scorer.families("families", asked, i, bufs))
                by_family["si"].append(scorer.families("families", want_sup, i, bufs) if counts["inputs"][i]
                                       else (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)))
                by_family["ca"].append(scorer.families("need_families", own, i, bufs))
                by_family["ci"].append(scorer.families("families", want_cus, i, bufs))
        empty = sparse.csr_matrix((len(queries), n), dtype=np.float32)
        sup["asked"], sup["inputs"], cus["asked"], cus["inputs"] = (
            stack_rows(by_family[key], n) if self.table is not None else empty for key in ("sa", "si", "ca", "ci"))
        threshold = self.weights.get("peer_threshold", 0.5)
        near = peer.copy()
        near.data[near.data >= threshold] = 0.0
        near.eliminate_zeros()
        sup["near"] = cus["near"] = near
        if self.weights.get("scale_by_best", 0.0):
            # Each part on its own 0..1 scale per query (divided by its best firm): the expanded inputs and the
            # segment text are diffuse, so their cosines are an order of magnitude below a direct product match.
            for parts in (sup, cus):
                for name, m in parts.items():
                    parts[name] = scale_rows(m)
        sup["similar"] = self._similar(queries, asks, sup, bufs, allowed)
        cus["similar"] = empty
        if self.weights.get("scale_by_best", 0.0):
            sup["similar"] = scale_rows(sup["similar"])
        return {"suppliers": sup, "customers": cus, "peer": {"peer": peer}, "families": families,
                "need_vectors": asks.get("need_vectors")}

    def _similar(self, queries: list[Query], asks: dict[str, Any], sup: dict[str, sparse.csr_matrix],
                 bufs: tuple[np.ndarray, np.ndarray, np.ndarray], allowed: np.ndarray | None) -> sparse.csr_matrix:
        """The ``similar`` part of suppliers: per query that states needs (and counts the part), its
        ``similar_pool`` best allowed candidates by the other weighted parts, each with the best cosine of a need
        item's embedding to the firm's profile vector (negative cosines count as none)."""
        n = self.products_t_.shape[1]
        empty = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))
        vectors = self.__dict__.get("_vectors")
        need_vectors = asks.get("need_vectors")
        pool = int(self.weights.get("similar_pool", 100))
        blocked: np.ndarray | None = None  # the firms that may not be offered, made once when first needed
        rows = []
        for i, q in enumerate(queries):
            asked = states_needs(q)
            if vectors is None or need_vectors is None or not len(need_vectors[i]) \
                    or not self.weight("suppliers", "similar", asked):
                rows.append(empty)
                continue
            weights = {p: 0.0 if p == "similar" else self.weight("suppliers", p, asked) for p in PARTS}
            used, packed = _packed({p: row_of(sup[p], i) if p in sup else empty for p in PARTS}, weights)
            if blocked is None:
                blocked = ~allowed if allowed is not None else np.zeros(n, dtype=bool)
            cols = np.zeros(0, dtype=np.int64)
            if used:
                cols = np.sort(weighted_best(*packed, True, blocked, 0.0, pool, bufs[0], bufs[2])[0])
            sims = (vectors[1](cols) @ need_vectors[i].T).max(axis=1) if len(cols) else np.zeros(0)
            keep = sims > 0
            rows.append((cols[keep].astype(np.int32), sims[keep].astype(np.float32)))
        return stack_rows(rows, n)

    def find_many(self, queries: Sequence[str | dict[str, Any] | Query], segments: list[tuple[str, str]],
                  meta: Sequence[dict[str, Any]], mask: np.ndarray | None, exclude: list[int | None],
                  k: int) -> list[dict[str, list[Hit]]]:
        """Suppliers, customers and peers (同行) of many queries at once.

        Args:
            queries: texts, firm dicts or parsed queries.
            segments: per query, text of the chain segments before and after it.
            meta: per stored firm: id, name, region, district, chain, segment.
            mask: firms allowed by the filters (region…), applied before the cut; ``None`` = all.
            exclude: per query, the row of the query's own firm (never its own counterpart).
            k: answers per list.
        """
        parsed = [q if isinstance(q, Query) else parse(q) for q in queries]
        if len(parsed) > _BLOCK:  # (queries × firms) score matrices stay small on a large register
            return [o for at in range(0, len(parsed), _BLOCK)
                    for o in self.find_many(parsed[at:at + _BLOCK], segments[at:at + _BLOCK], meta, mask,
                                            exclude[at:at + _BLOCK], k)]
        out: list[dict[str, list[Hit]]] = [{"suppliers": [], "customers": [], "peers": []} for _ in parsed]
        if not parsed or not len(meta):
            return out
        allowed = self.offer_ if mask is None else self.offer_ & mask
        feats = self._features(parsed, segments, allowed)
        bufs = work_rows(len(meta))
        blocked = ~allowed  # per query its own firm and its 同行 are blocked too, then released
        threshold = self.weights.get("peer_threshold", 0.5)
        floor = self.weights.get("min_score", 0.0)
        for i, q in enumerate(parsed):
            ctx = self._context(q, feats["families"][i])
            if feats["need_vectors"] is not None:
                ctx["need_vectors"] = feats["need_vectors"][i]
            asked = states_needs(q)
            ex = exclude[i]
            own = -1 if ex is None else ex
            peer_cols, peer_vals = row_of(feats["peer"]["peer"], i)
            peers = peer_cols[peer_vals >= threshold]
            close = peer_vals[peer_vals >= threshold]
            ok = allowed[peers] & (peers != own)
            for j in top_rows(peers[ok], close[ok], k):
                r = int(peers[ok][j])
                out[i]["peers"].append(self._hit("peer", ctx, r, {"peer": float(close[ok][j])}, meta))
            blocked[peers] = True
            if own >= 0:
                blocked[own] = True
            for role in ("suppliers", "customers"):
                weights = {p: self.weight(role, p, asked) for p in PARTS}
                rows = {p: row_of(feats[role][p], i) for p in PARTS}
                best = self._best(rows, weights, blocked, k, floor, bufs)
                for r, parts in best:
                    out[i][role].append(self._hit(role[:-1], ctx, r, parts, meta))
                if role == "suppliers" and asked and len(best) < k:
                    out[i][role] += self._fill(q, segments[i], ctx, [r for r, _ in best], blocked, k, floor, bufs,
                                               meta)
            blocked[peers] = ~allowed[peers]
            if own >= 0:
                blocked[own] = not allowed[own]
        return out

    def _fill(self, q: Query, segment: tuple[str, str], ctx: dict[str, Any], found: list[int], blocked: np.ndarray,
              k: int, floor: float, bufs: tuple[np.ndarray, np.ndarray, np.ndarray],
              meta: Sequence[dict[str, Any]]) -> list[Hit]:
        """Suppliers after those of the stated needs when fewer than k firms offer what is asked: ranked by the inputs
        of its products, its chain's upstream segments and neighbouring trades (as for a firm that states no needs,
        without the parts that read needs), each marked so.

        The register may simply hold no maker of the goods asked for ("POE粒子" on a small register); the firms
        that supply such a firm's products in general are then the next best answer, said as such.
        """
        feats = self.features([q], [segment])  # every part (rare: only when the needs found too few firms)
        # the parts of a firm that states no needs, less those that read the needs (they found too few already)
        weights = {p: 0.0 if p in ("needs", "pair", "asked", "similar") else self.weight("suppliers", p, False)
                   for p in PARTS}
        rows = {p: row_of(feats["suppliers"][p], 0) for p in PARTS}
        taken = np.array(found, dtype=np.int64)
        held = blocked[taken].copy()
        blocked[taken] = True
        try:
            picked = self._best(rows, weights, blocked, k - len(found), floor, bufs)
        finally:
            blocked[taken] = held
        return [self._hit("supplier", ctx, r, parts, meta, fill=True) for r, parts in picked]

    def _features(self, queries: list[Query], segments: list[tuple[str, str]], allowed: np.ndarray) -> dict[str, Any]:
        """``features`` of the firms each query may be offered: every firm on a small register; on a large one
        (``heads_``) the firms the candidate stage keeps, scored exactly."""
        heads = getattr(self, "heads_", None)
        if heads is None:
            return self.features(queries, segments, weighted_only=True, allowed=allowed)
        asks = self.asks(queries, segments)
        # Long texts (the chain segments around the query) and long lists of wanted families (the inputs of many
        # families) are read by their heaviest bigrams and families only at first.
        short = {**asks, **{kind: impact_heads(asks[kind], self.terms) for kind in ("products", "needs", "up", "down")}}
        short["families"] = [None if f is None else (heaviest(f[0], self.terms), heaviest(f[1], self.terms),
                                                     tuple(heaviest(w, self.terms) for w in f[2]))
                             for f in asks["families"]]
        rough = self.features(queries, segments, Scorer(self, heads), {**short, "need_vectors": None},
                              weighted_only=True)
        return self.features(queries, segments, CandidateScorer(self, self._candidates(queries, rough, allowed)), asks,
                             weighted_only=True, allowed=allowed)

    def _candidates(self, queries: list[Query], rough: dict[str, Any], allowed: np.ndarray) -> list[np.ndarray]:
        """Per query, the allowed firms the capped parts rank among the ``pool`` best suppliers or customers, or
        among the ``leaders`` best of the products closeness (同行) or of a part that counts (so that each part's
        best firm, which sets its scale, is scored too); sorted rows."""
        bufs = work_rows(len(allowed))
        out = []
        for i, q in enumerate(queries):
            asked = states_needs(q)
            picked = [_leaders(*row_of(rough["peer"]["peer"], i), allowed, self.leaders)]
            for role in ("suppliers", "customers"):
                weights = {p: self.weight(role, p, asked) for p in PARTS}
                rows = {p: row_of(rough[role][p], i) for p in PARTS}
                picked += [_leaders(*rows[p], allowed, self.leaders) for p in PARTS if weights[p]]
                cand, total = self._totals(rows, weights, bufs)
                picked.append(_leaders(cand, total, allowed, self.pool))
            every = np.sort(np.concatenate(picked))
            out.append(every[np.concatenate(([True], every[1:] != every[:-1]))] if len(every) else every)
        return out

    @staticmethod
    def _totals(rows: dict[str, tuple[np.ndarray, np.ndarray]], weights: dict[str, float],
                bufs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(every firm the weighted parts reach with a non-zero sum, its sum); see ``_best``."""
        used, packed = _packed(rows, weights)
        if not used:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return weighted_sum(*packed, True, bufs[0], bufs[2])

    @staticmethod
    def _best(rows: dict[str, tuple[np.ndarray, np.ndarray]], weights: dict[str, float], blocked: np.ndarray,
              k: int, floor: float, bufs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[tuple[int, dict[str, float]]]:
        """The k best firms by the weighted sum of their parts, each with its parts (ties to the lower row).

        A query's parts reach a few per cent of the firms each: they are summed in a dense row over the firms they
        touch only, filtered and cut in one compiled loop (:func:`matcher.match.kernels.weighted_best`).

        Args:
            rows: per part, the query's (firm rows, values) before weighting; a part's rows are distinct.
            blocked: per firm, whether it may not be offered (filters, quarantine, the query's own firm, 同行).
            bufs: zeroed rows over all firms to work in (``work_rows``; left zeroed).
        """
        used, packed = _packed(rows, weights)
        if not used:
            return []
        best, parts = weighted_best(*packed, True, blocked, float(floor), k, bufs[0], bufs[2])
        out = []
        for j, r in enumerate(best):
            got = dict.fromkeys(PARTS, 0.0)
            got.update(zip(used, parts[j].tolist(), strict=True))
            out.append((int(r), got))
        return out

    # -- evidence -----------------------------------------------------------------------------------------------
    def _pair(self, asked: list[str], offered: list[str]) -> tuple[str, str] | None:
        """The asked item and the offered item sharing the most bigrams (the pair a reason names)."""
        best, score = None, 0.0
        for a in asked:
            ga = bigram_set(a)
            for o in offered:
                go = bigram_set(o)
                s = len(ga & go) / (len(go) or 1)
                if s > score:
                    best, score = (a, o), s
        return best

    def _similar_need(self, items: list[str], need_vectors: np.ndarray, r: int) -> list[str] | None:
        """(the need item closest in meaning to firm ``r``'s profile, the firm's first products): the part compares
        a need with the firm's whole profile, so that is what its reason names."""
        theirs = self.items_[r]
        if not theirs or not len(items):
            return None
        j = int(np.argmax(need_vectors @ self._vectors[1](np.array([r]))[0]))
        return [items[j], "、".join(theirs[:2])]

    def _context(self, q: Query, families: Any) -> dict[str, Any]:
        """What the reasons of one query's hits share: its product items, its needs, and its families as
        ``features`` computed them (own shares, families the needs name, wanted families)."""
        products = q.products or items_of(q.product_text())
        ctx: dict[str, Any] = {"products": products, "needs": needs_of(q)}
        if families is not None:
            ctx["own"], ctx["asked"], ctx["want"] = families
        return ctx

    def _family_link(self, ctx: dict[str, Any], r: int, up: bool) -> dict[str, str] | None:
        """The input-table link a hit rests on: their family is an input of ours (supplier), or ours of theirs
        (customer), with the product items naming each."""
        assert self.table is not None
        cols, vals = row_of(self.families_, r)
        if not len(cols):
            return None
        inputs, own = self.table.inputs, ctx["own"]
        want = ctx["want"][0 if up else 1]
        g = int(cols[np.argmax(vals * want[cols])])
        lead = own * (inputs[:, g] if up else inputs[g, :])
        f = int(np.argmax(lead))
        if lead[f] <= 0:
            return None
        ours = self.table.evidence(ctx["products"], f)
        theirs = self.table.evidence(self.items_[r], g)
        return {"ours": ours[0] if ours else "", "our_family": self.table.names[f],
                "theirs": theirs[0] if theirs else "", "their_family": self.table.names[g]}

    def _asked_link(self, ctx: dict[str, Any], r: int, up: bool) -> dict[str, str] | None:
        """The family a stated need and a product share: our need ↔ their product (supplier), their need ↔ our
        product (customer)."""
        assert self.table is not None
        cols, vals = row_of(self.families_ if up else self.need_families_, r)
        want = ctx["asked"] if up else ctx["own"]
        if not len(cols) or not want[cols].any():
            return None
        g = int(cols[np.argmax(vals * want[cols])])
        needs = (ctx["needs"][0] or items_of(ctx["needs"][1])) if up else self.need_items_[r]
        offered = self.items_[r] if up else ctx["products"]
        need = self.table.evidence(needs, g)
        product = self.table.evidence(offered, g, prefer=need[1]) if need else None
        if not need or not product:
            return None
        return {"need": need[0], "product": product[0], "family": self.table.names[g]}

    def _hit(self, kind: str, ctx: dict[str, Any], r: int, parts: dict[str, float], meta: Sequence[dict[str, Any]],
             fill: bool = False) -> Hit:
        m = meta[r]
        data: dict[str, Any] = {"firm_id": m["id"], "region": m.get("region"), "district": m.get("district"),
                                "chain": m.get("chain") or None, "segment": m.get("segment") or None}
        if fill:
            data["fill"] = True  # added after too few firms met the stated needs (`_fill`)
        products = ctx["products"]
        if kind == "supplier":
            items, whole = ctx["needs"]
            if parts.get("needs", 0) + parts.get("pair", 0) > 0:
                data["pair"] = self._pair(items or items_of(whole), self.items_[r])
            if parts.get("similar", 0) > 0 and "need_vectors" in ctx:
                data["similar"] = self._similar_need(items, ctx["need_vectors"], r)
        elif kind == "customer":
            if parts.get("needs", 0) + parts.get("pair", 0) > 0:
                data["pair"] = self._pair(self.need_items_[r], products)
        if kind in ("supplier", "customer"):
            up = kind == "supplier"
            if parts.get("inputs", 0) > 0 and self.table is not None:
                data["family_link"] = self._family_link(ctx, r, up=up)
            if parts.get("asked", 0) > 0 and self.table is not None:
                data["asked"] = self._asked_link(ctx, r, up=up)
        else:
            data["pair"] = self._pair(products, self.items_[r])
        if kind != "peer" and parts.get("near", 0) > 0 and not any(data.get(x) for x in ("pair", "family_link", "asked")):
            data["near"] = self._pair(products, self.items_[r])
        h = Hit(kind=kind, target=str(m["id"]), label=str(m.get("name") or ""), parts=parts, data=data)
        h.reason = render(h)
        return h

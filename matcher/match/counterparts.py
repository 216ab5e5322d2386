"""Supply–demand counterparts: who can sell a firm its inputs (suppliers), who buys what it makes (customers), and
who makes the same things (同行, shown apart, never offered as a supplier or customer).

Every firm is read as character bigrams (Chinese product names share few whole words but many bigrams: 数控车床 /
车床数控). A query is parsed (:func:`matcher.match.query.parse`) into its products and its needs; each candidate
gets named parts that add up to its score:

* ``needs``  — the stated needs (采购需求) against the candidate's products (suppliers), or the query's products
  against the candidate's stated needs (customers);
* ``pair``   — the same, item by item: the best single need ↔ product pair;
* ``inputs`` — what goes into what: the query's products read through the input model (:class:`InputModel`)
  against the candidate's products (suppliers), or the candidate's products read through it against the query's
  products (customers);
* ``chain``  — the knowledge base: the query's chain segments before (suppliers) or after (customers) its own
  against the candidate's products;
* ``near``   — closeness of the two firms' products below the 同行 line: firms of a neighbouring trade.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from matcher import paths
from matcher.match.index import top_rows
from matcher.match.query import Query, parse
from matcher.match.reasons import render
from matcher.match.results import Hit

PARTS = ("needs", "pair", "inputs", "chain", "near")
INPUTS_FILE = "inputs.joblib"
_BLOCK = 16  # queries scored together: each holds one row of scores per part over all firms
_SPLIT = re.compile(r"[\s、，,；;：:。（）()\[\]【】/\-—·\"'“”|]+")
_JUNK_NAME = re.compile(r"^\s*[=+@]|https?://|www\.|hyperlink|\(\s*\"", re.IGNORECASE)
_NEEDS_CLAUSE = re.compile(r"(?:采购需求|采购|需求|需要采购|寻求)[:：]")


def bigrams(text: str) -> list[str]:
    """Character bigrams of each chunk between separators (a one-character chunk stays whole)."""
    out: list[str] = []
    for chunk in _SPLIT.split(unicodedata.normalize("NFKC", text or "").lower()):
        if chunk:
            out += [chunk] if len(chunk) == 1 else [chunk[i:i + 2] for i in range(len(chunk) - 1)]
    return out


def items_of(text: str) -> list[str]:
    """The items of a product or needs list ('A、B；C' → [A, B, C])."""
    return [x.strip() for x in re.split(r"[、，,；;。\n]+", text or "") if len(x.strip()) > 1]


def is_junk_name(name: str) -> bool:
    """A name that is a spreadsheet formula, a link or markup, not a firm (rows of a badly exported sheet)."""
    return not (name or "").strip() or bool(_JUNK_NAME.search(name))


class Vocabulary:
    """Bigram vocabulary with sublinear TF-IDF rows, L2-normalised (the space every part is computed in)."""

    def __init__(self) -> None:
        self.index_: dict[str, int] = {}
        self.idf_ = np.zeros(0)

    def fit(self, docs: list[str]) -> Vocabulary:
        """Learn the vocabulary and IDF from documents."""
        df: dict[str, int] = defaultdict(int)
        for d in docs:
            for t in set(bigrams(d)):
                df[t] += 1
        self.index_ = {t: i for i, t in enumerate(sorted(df))}
        n = len(docs)
        self.idf_ = np.array([np.log((1 + n) / (1 + df[t])) + 1 for t in sorted(df)], dtype=np.float32)
        return self

    def transform(self, docs: list[str]) -> sparse.csr_matrix:
        """TF-IDF rows of documents, L2-normalised; unknown bigrams are dropped."""
        indptr, indices, data = [0], [], []
        idf, index = self.idf_, self.index_
        for d in docs:
            counts: dict[int, int] = defaultdict(int)
            for t in bigrams(d):
                j = index.get(t)
                if j is not None:
                    counts[j] += 1
            cols = sorted(counts)
            vals = np.array([(1 + np.log(counts[j])) * idf[j] for j in cols], dtype=np.float32)
            norm = float(np.sqrt((vals * vals).sum())) or 1.0
            indices += cols
            data.append(vals / norm)
            indptr.append(len(indices))
        values = np.concatenate(data) if data else np.zeros(0, dtype=np.float32)
        return sparse.csr_matrix((values, np.array(indices, dtype=np.int32), np.array(indptr, dtype=np.int32)),
                                 shape=(len(docs), len(index)))


def _rows_as_dicts(m: sparse.csr_matrix) -> list[dict[int, float]]:
    """Rows of a sparse matrix as {column: value}."""
    return [dict(zip(m.indices[m.indptr[i]:m.indptr[i + 1]].tolist(), m.data[m.indptr[i]:m.indptr[i + 1]].tolist()))
            for i in range(m.shape[0])]


def _l2(m: sparse.csr_matrix) -> sparse.csr_matrix:
    from sklearn.preprocessing import normalize

    return normalize(sparse.csr_matrix(m, dtype=np.float32), copy=False)


class InputModel:
    """What goes into what, learned as a bigram → bigram map: a product's bigrams predict its inputs' bigrams.

    Trained on product → upstream-material links (``build``); the map is ``A.T @ B`` over the links (A: product
    bigrams, B: material bigrams), each row pruned to its strongest entries, so it holds associations, not links.
    """

    def __init__(self, keep: int = 40) -> None:
        self.keep = keep
        self.vocab_ = Vocabulary()
        self.map_: sparse.csr_matrix = sparse.csr_matrix((0, 0))
        self.source_ = ""

    def fit(self, links: list[tuple[str, str]]) -> InputModel:
        """Learn from (product, input) pairs."""
        by_product: dict[str, list[str]] = defaultdict(list)
        for product, material in links:
            if product and material and material not in by_product[product]:
                by_product[product].append(material)
        products = list(by_product)
        self.vocab_.fit(products + [m for ms in by_product.values() for m in ms])
        a = self.vocab_.transform(products)
        b = self.vocab_.transform(["、".join(by_product[p]) for p in products])
        full = (a.T @ b).tocsr()
        rows, cols, vals = [], [], []
        for r in range(full.shape[0]):
            lo, hi = full.indptr[r], full.indptr[r + 1]
            if hi == lo:
                continue
            idx, v = full.indices[lo:hi], full.data[lo:hi]
            best = np.argsort(-v)[:self.keep]
            rows += [r] * len(best)
            cols += idx[best].tolist()
            vals += v[best].tolist()
        self.map_ = sparse.csr_matrix((np.array(vals, dtype=np.float32), (rows, cols)), shape=full.shape)
        return self

    def columns_in(self, vocab: Vocabulary) -> np.ndarray:
        """Where each of the model's bigrams sits in another vocabulary (-1 where absent); computed once per index."""
        names = sorted(self.vocab_.index_, key=self.vocab_.index_.get)
        return np.array([vocab.index_.get(t, -1) for t in names], dtype=np.int64)

    def inputs(self, docs: list[str], vocab: Vocabulary, columns: np.ndarray | None = None) -> sparse.csr_matrix:
        """Each document's expected inputs as L2-normalised rows in another ``vocab``'s space.

        Args:
            columns: ``columns_in(vocab)``, when already known.
        """
        target = self.columns_in(vocab) if columns is None else columns
        coo = (self.vocab_.transform(docs) @ self.map_).tocoo()
        keep = target[coo.col] >= 0
        cols = target[coo.col[keep]]
        vals = coo.data[keep] * vocab.idf_[cols]
        out = sparse.csr_matrix((vals, (coo.row[keep], cols)), shape=(len(docs), len(vocab.index_)))
        return _l2(out)

    def save(self, path: Path) -> None:
        """Write the model (joblib)."""
        import joblib

        joblib.dump({"keep": self.keep, "index": self.vocab_.index_, "idf": self.vocab_.idf_, "map": self.map_,
                     "source": self.source_}, path, compress=3)

    @classmethod
    def load(cls, path: Path | None = None) -> InputModel | None:
        """The shipped model (``models/inputs.joblib``), or ``None`` when there is none."""
        import joblib

        path = path or paths.MODELS_DIR / INPUTS_FILE
        if not path.exists():
            return None
        d = joblib.load(path)
        self = cls(int(d["keep"]))
        self.vocab_.index_, self.vocab_.idf_, self.map_, self.source_ = d["index"], d["idf"], d["map"], d["source"]
        return self


def build_inputs(chainkg: Path, out: Path | None = None, keep: int = 40) -> dict[str, Any]:
    """Train the input model on a ChainKG folder's ``product_product.csv`` 上游材料 links and save it.

    Args:
        chainkg: folder holding ``product_product.csv`` (columns from_entity, to_entity, rel).
        out: where to write (default ``models/inputs.joblib``).
        keep: associations kept per bigram.
    """
    links = []
    with open(chainkg / "product_product.csv", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            if row.get("rel") == "上游材料":
                links.append((row["from_entity"], row["to_entity"]))
    model = InputModel(keep).fit(links)
    model.source_ = f"ChainKG product_product.csv 上游材料 ({len(links)} links)"
    out = out or paths.MODELS_DIR / INPUTS_FILE
    model.save(out)
    return {"links": len(links), "bigrams": len(model.vocab_.index_), "entries": int(model.map_.nnz), "path": str(out)}


def needs_of(q: Query) -> tuple[list[str], str]:
    """(need items, the whole needs text) of a parsed query; the raw clause after 采购需求 keeps what items drop."""
    items = list(q.needs)
    raw = ""
    m = _NEEDS_CLAUSE.search(q.text or "")
    if m:
        raw = q.text[m.end():]
    # The clause as the officer wrote it matches better than the items cut from it (whose words repeat it).
    return items, raw.strip() or "、".join(items)


class CounterpartFinder:
    """Suppliers, customers and 同行 of a firm among the stored firms.

    Args:
        weights: ``[counterparts]`` of the config: one weight per part (``PARTS``, or ``suppliers_<part>`` /
            ``customers_<part>`` for one role), ``peer_threshold`` (closeness
            of products from which a firm is 同行), ``min_score`` (below it a candidate is not offered).
        inputs: the input model (default: the shipped one, if any).
    """

    def __init__(self, weights: dict[str, float], inputs: InputModel | None = None) -> None:
        self.weights = dict(weights)
        self.inputs = inputs

    def weight(self, role: str, part: str, asked: bool = False) -> float:
        """A part's weight for ``suppliers`` or ``customers``, the first set of: ``{role}_asked_{part}`` (a query
        that states its needs), ``{role}_{part}`` (learned per role), ``part``."""
        w = self.weights
        plain = w.get(f"{role}_{part}", w.get(part, 0.0))
        return w.get(f"{role}_asked_{part}", plain) if asked else plain

    def fit(self, firms: list[dict[str, Any]]) -> CounterpartFinder:
        """Index firms' products and needs; quarantine rows that must never be offered."""
        products = [f"{f.get('products') or ''}" or f"{f.get('description') or ''}" for f in firms]
        needs = [f.get("needs") or "" for f in firms]
        self.vocab_ = Vocabulary().fit([p + " " + n for p, n in zip(products, needs)] or [""])
        self.products_ = self.vocab_.transform(products)
        self.needs_ = self.vocab_.transform(needs)
        self.products_t_ = self.products_.T.tocsr()
        self.needs_t_ = self.needs_.T.tocsr()
        self.input_columns_ = self.inputs.columns_in(self.vocab_) if self.inputs is not None else None
        self.firm_inputs_ = self.inputs.inputs(products, self.vocab_, self.input_columns_) if self.inputs is not None and firms \
            else sparse.csr_matrix((len(firms), len(self.vocab_.index_)), dtype=np.float32)
        self.firm_inputs_t_ = self.firm_inputs_.T.tocsr()
        self.items_ = [items_of(p)[:12] for p in products]
        self.need_items_ = [items_of(n)[:12] for n in needs]
        valid_names = {f.get("name") for f in firms if f.get("uscc_valid") == 1}
        self.offer_ = np.array([not is_junk_name(f.get("name") or "")
                                and not (f.get("uscc_valid") == 0 and f.get("name") in valid_names)
                                for f in firms], dtype=bool)
        return self

    # -- scoring ------------------------------------------------------------------------------------------------
    def _scores(self, index_t: sparse.csr_matrix, rows: sparse.csr_matrix) -> np.ndarray:
        """Cosine of every firm to each query row: (queries × firms), dense."""
        if rows.shape[0] == 0 or index_t.shape[0] == 0:
            return np.zeros((rows.shape[0], index_t.shape[1]), dtype=np.float32)
        return np.asarray((rows @ index_t).todense(), dtype=np.float32)

    def _item_max(self, index_t: sparse.csr_matrix, items: list[list[str]]) -> np.ndarray:
        """Per query, the best single item's cosine to each firm (queries × firms)."""
        n = index_t.shape[1]
        out = np.zeros((len(items), n), dtype=np.float32)
        flat = [x for its in items for x in its]
        if not flat:
            return out
        sims = self._scores(index_t, self.vocab_.transform(flat))
        at = 0
        for i, its in enumerate(items):
            if its:
                out[i] = sims[at:at + len(its)].max(axis=0)
            at += len(its)
        return out

    def features(self, queries: list[Query], segments: list[tuple[str, str]]) -> dict[str, dict[str, np.ndarray]]:
        """Unweighted parts of every stored firm for each query, per role (``suppliers``, ``customers``) and the
        products closeness (``peer``).

        Args:
            queries: parsed queries.
            segments: per query, (text of the chain segments before it, text of the segments after it).
        """
        needs = [needs_of(q) for q in queries]
        products = ["、".join(q.products) or q.product_text() or q.text for q in queries]
        prod_rows = self.vocab_.transform(products)
        peer = self._scores(self.products_t_, prod_rows)
        z = np.zeros_like(peer)
        sup = {
            "needs": self._scores(self.products_t_, self.vocab_.transform([w for _, w in needs])),
            "pair": self._item_max(self.products_t_, [its for its, _ in needs]),
            "inputs": self._scores(self.products_t_, self.inputs.inputs(products, self.vocab_, self.input_columns_))
            if self.inputs is not None else z,
            "chain": self._scores(self.products_t_, self.vocab_.transform([up for up, _ in segments])),
        }
        cus = {
            "needs": self._scores(self.needs_t_, prod_rows),
            "pair": self._item_max(self.needs_t_, [q.products for q in queries]),
            "inputs": self._scores(self.firm_inputs_t_, prod_rows),
            "chain": self._scores(self.products_t_, self.vocab_.transform([down for _, down in segments])),
        }
        threshold = self.weights.get("peer_threshold", 0.5)
        near = np.where(peer < threshold, peer, 0.0)
        sup["near"] = cus["near"] = near
        if self.weights.get("scale_by_best", 0.0):
            # Each part on its own 0..1 scale per query (divided by its best firm): the expanded inputs and the
            # segment text are diffuse, so their cosines are an order of magnitude below a direct product match.
            for parts in (sup, cus):
                for name, col in parts.items():
                    best = col.max(axis=1, keepdims=True) if col.size else col
                    parts[name] = np.divide(col, best, out=np.zeros_like(col), where=best > 0)
        return {"suppliers": sup, "customers": cus, "peer": {"peer": peer}}

    def find_many(self, queries: list[str | dict[str, Any] | Query], segments: list[tuple[str, str]],
                  meta: list[dict[str, Any]], mask: np.ndarray | None, exclude: list[int | None],
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
        feats = self.features(parsed, segments)
        allowed = self.offer_ if mask is None else self.offer_ & mask
        threshold = self.weights.get("peer_threshold", 0.5)
        floor = self.weights.get("min_score", 0.0)
        peer = feats["peer"]["peer"]
        for i, q in enumerate(parsed):
            ctx = self._context(q)
            ok = allowed.copy()
            if exclude[i] is not None:
                ok[exclude[i]] = False
            is_peer = peer[i] >= threshold
            rows = np.flatnonzero(ok & is_peer)
            for j in top_rows(rows, peer[i][rows], k):
                r = int(rows[j])
                out[i]["peers"].append(self._hit("peer", ctx, r, {"peer": float(peer[i][r])}, meta))
            for role in ("suppliers", "customers"):
                asked = bool(q.needs) or bool(needs_of(q)[1])
                parts = {p: self.weight(role, p, asked) * np.clip(feats[role][p][i], 0.0, 1.0) for p in PARTS}
                total = sum(parts.values())
                cand = np.flatnonzero(ok & ~is_peer & (total > floor))
                for j in top_rows(cand, total[cand], k):
                    r = int(cand[j])
                    out[i][role].append(self._hit(role[:-1], ctx, r, {p: float(v[r]) for p, v in parts.items()}, meta))
        return out

    # -- evidence -----------------------------------------------------------------------------------------------
    def _pair(self, asked: list[str], offered: list[str]) -> tuple[str, str] | None:
        """The asked item and the offered item sharing the most bigrams (the pair a reason names)."""
        best, score = None, 0.0
        for a in asked:
            ga = set(bigrams(a))
            for o in offered:
                go = set(bigrams(o))
                s = len(ga & go) / (len(go) or 1)
                if s > score:
                    best, score = (a, o), s
        return best

    def _context(self, q: Query) -> dict[str, Any]:
        """What the reasons of one query's hits share: its product items as {bigram column: weight}, and what goes
        into each of them (plain dictionaries: a few items per hit cost less than building sparse matrices)."""
        products = q.products or items_of(q.product_text())
        ctx: dict[str, Any] = {"products": products, "needs": needs_of(q), "vectors": [], "inputs": []}
        if products:
            ctx["vectors"] = _rows_as_dicts(self.vocab_.transform(products))
            if self.inputs is not None:
                ctx["inputs"] = _rows_as_dicts(self.inputs.inputs(products, self.vocab_, self.input_columns_))
        return ctx

    def _input_pair(self, ctx: dict[str, Any], r: int, up: bool) -> tuple[str, str] | None:
        """The input link a hit rests on: (our product, their product) for a supplier (theirs goes into ours) and
        for a customer (ours goes into theirs)."""
        products, offered = ctx["products"], self.items_[r]
        if not products or not offered:
            return None
        best, score = None, 0.0
        if up:
            for item in offered:
                cols = [j for j in (self.vocab_.index_.get(t) for t in bigrams(item)) if j is not None]
                for a, wanted in enumerate(ctx["inputs"]):
                    s = sum(wanted.get(j, 0.0) for j in cols) / (len(cols) or 1) ** 0.5
                    if s > score:
                        best, score = (products[a], item), s
            return best
        row = self.firm_inputs_[r]
        used = dict(zip(row.indices.tolist(), row.data.tolist()))
        for a, ours in enumerate(ctx["vectors"]):
            s = sum(w * used.get(j, 0.0) for j, w in ours.items())
            if s > score:
                best, score = (products[a], offered[0]), s
        return best

    def _hit(self, kind: str, ctx: dict[str, Any], r: int, parts: dict[str, float], meta: list[dict[str, Any]]) -> Hit:
        m = meta[r]
        data: dict[str, Any] = {"firm_id": m["id"], "region": m.get("region"), "district": m.get("district"),
                                "chain": m.get("chain") or None, "segment": m.get("segment") or None}
        products = ctx["products"]
        if kind == "supplier":
            items, whole = ctx["needs"]
            if parts.get("needs", 0) + parts.get("pair", 0) > 0:
                data["pair"] = self._pair(items or items_of(whole), self.items_[r])
            if parts.get("inputs", 0) > 0:
                data["input"] = self._input_pair(ctx, r, up=True)
        elif kind == "customer":
            if parts.get("needs", 0) + parts.get("pair", 0) > 0:
                data["pair"] = self._pair(self.need_items_[r], products)
            if parts.get("inputs", 0) > 0:
                data["input"] = self._input_pair(ctx, r, up=False)
        else:
            data["pair"] = self._pair(products, self.items_[r])
        if kind != "peer" and parts.get("near", 0) > 0 and not data.get("pair") and not data.get("input"):
            data["near"] = self._pair(products, self.items_[r])
        h = Hit(kind=kind, target=str(m["id"]), label=str(m.get("name") or ""), parts=parts, data=data)
        h.reason = render(h)
        return h

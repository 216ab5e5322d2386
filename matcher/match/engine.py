"""The matching engine: one ``Matcher`` answers chains, GB/T 4754 classes, parks and counterparts for a firm.

Estimator-shaped: ``Matcher(...)`` stores parameters, ``fit(store)`` learns state (attributes ending in ``_``),
``save``/``load`` persist it beside the database, ``Matcher.for_store`` reuses a fresh build or makes one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from matcher import paths
from matcher.files import atomic_path
from matcher.knowledge import kb
from matcher.match.chains import ChainClassifier
from matcher.match.config import MatcherConfig, default_config
from matcher.match.embed import Embedder
from matcher.match.index import DenseIndex, LexicalIndex, term_counts, top_rows
from matcher.match.industries import IndustryClassifier
from matcher.match.parks import ParkRanker
from matcher.match.reasons import render
from matcher.match.results import Filters, Hit, MatchResult
from matcher.match.text import Tokenizer, clip, normalize
from matcher.parallel import Workers
from matcher.store.database import Store

ENGINE_VERSION = "7"  # bump when a change alters what a saved build holds
STAGES = {"上游": 0, "中游": 1, "下游": 2}
_FIT_BLOCK = 10_000  # firms per block when indexing
PARALLEL_FROM = 5000  # fewer firms are indexed in this process: forking would cost more than it saves
FIRM_COLUMNS = ("id", "name", "region", "district", "description", "products", "needs")  # what indexing reads
_NONE = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))


def firm_text(firm: dict[str, Any]) -> str:
    """The text a stored firm is matched on: name, business description and products."""
    parts = [firm.get("name") or "", firm.get("description") or "", firm.get("products") or ""]
    return clip("，".join(p for p in parts if p), 3000)


def _firm_profile(firm: dict[str, Any]) -> str:
    # The chain model reads 'name，主营产品：items'; products first, then the business description.
    items = firm.get("products") or firm.get("description") or ""
    return clip(f"{firm.get('name') or ''}，主营产品：{items}", 3000)


class Matcher:
    """Match firms to chains, GB/T 4754 classes, parks and supply–demand counterparts.

    Args:
        embed_model: sentence-transformers model name or folder (default ``MATCHER_EMBED_MODEL`` / models/embedder).
        k: how many answers of each kind ``match`` returns.
        config: weights and thresholds of every answerer (default ``models/matcher.toml``).
    """

    build_key_: str  # what the fitted state was built from (see ``key_for``)

    def __init__(self, embed_model: str | None = None, k: int = 5, config: MatcherConfig | None = None) -> None:
        self.embed_model = embed_model
        self.k = k
        self.config = config or default_config()

    # -- fitting ------------------------------------------------------------------------------------------------
    def fit_kb(self, kb_dict: dict[str, Any]) -> Matcher:
        """Learn everything that depends only on the knowledge base and shipped data (not on stored firms).

        This part is the same for every database with the same knowledge base and models, so it is cached in memory
        and on disk (``models/.cache``) and reused across processes.
        """
        self.kb_ = kb_dict
        self.kb_version_ = int(kb_dict.get("version", 0))
        self.embedder_ = Embedder(self.embed_model)
        self.model_version_ = self.embedder_.version
        key = _kb_key(kb_dict, self.embedder_.version, self.config)
        parts = _KB_PARTS.get(key) or _load_kb_parts(key)
        if parts is None:
            parts = self._build_kb_parts(kb_dict)
            _save_kb_parts(key, parts)
        _KB_PARTS[key] = parts
        self.industries_, self.tokenizer_, self.chains_, self.parks_, self.segments_ = parts
        for part in (self.industries_, self.parks_):
            part.embedder_ = self.embedder_
        self.chains_.fit(self.embedder_)
        return self

    def _build_kb_parts(self, kb_dict: dict[str, Any]) -> tuple[Any, ...]:
        words = [c["name"] for c in kb_dict["chains"]]
        for c in kb_dict["chains"]:
            words += c.get("aliases", [])
            for seg in c.get("segments", []):
                words += seg.get("keywords", []) + seg.get("products", [])
        for p in kb_dict["parks"]:
            words += p.get("features", []) + p.get("lead_industries", [])
        industries = IndustryClassifier(weights=self.config.industries).fit(self.embedder_)
        tokenizer = Tokenizer(words + industries.tokenizer_.words)
        chains = ChainClassifier(kb_dict, blend=self.config.chains).fit(self.embedder_)
        parks = ParkRanker(kb_dict, weights=self.config.parks).fit(self.embedder_, tokenizer)
        segments = {
            c["name"]: [(STAGES.get(s.get("stage", ""), 1), s) for s in c.get("segments", [])] for c in kb_dict["chains"]
        }
        return industries, tokenizer, chains, parks, segments

    def fit_firms(self, firms: list[dict[str, Any]], workers: int = 1) -> Matcher:
        """Index stored firms (lexical + dense) and place each on its chain and segment.

        Args:
            workers: processes for the per-firm work (segmentation, embedding, chain placement), forked so they
                share the models; firms are processed in blocks either way, which also bounds memory.
        """
        self.ids_ = np.array([int(f["id"]) for f in firms], dtype=np.int64)
        self.firms_meta_ = [{"id": int(f["id"]), "name": f.get("name"), "region": f.get("region"),
                             "district": f.get("district")} for f in firms]
        self.firms_text_ = [f"{f.get('products') or ''} {f.get('needs') or ''}" for f in firms]
        self.region_ = np.array([f.get("region") or "" for f in firms], dtype=object)
        size = min(_FIT_BLOCK, -(-len(firms) // max(1, workers))) or 1
        blocks = [(start, min(start + size, len(firms))) for start in range(0, len(firms), size)]
        n = workers if len(firms) >= PARALLEL_FROM else 1
        with Workers(lambda block: self._firm_block(firms[block[0]:block[1]]), n) as pool:
            parts = pool.map(blocks)
        # Each index takes its term counts out of the blocks, so they are freed as soon as it is built.
        self.lexical_ = LexicalIndex().fit_counts([p.pop("lexical") for p in parts])
        # Supply–demand matching uses whole words only: single characters would pair unrelated products.
        self.products_ = LexicalIndex().fit_counts([p.pop("products") for p in parts])
        self.needs_ = LexicalIndex().fit_counts([p.pop("needs") for p in parts])
        self.dense_ = DenseIndex().fit(np.concatenate([p.pop("vectors") for p in parts])) if firms else None
        chain = [c for p in parts for c in p["chain"]]
        self.firm_chain_ = np.array(chain, dtype=object)
        self.firm_stage_ = np.array([s for p in parts for s in p["stage"]], dtype=np.int8)
        self.firm_segment_ = np.array([s for p in parts for s in p["segment"]], dtype=object)
        # Chains as small integers, and each chain's firms by position: the chain-path part of counterparts
        # looks at a chain's own firms instead of comparing strings over the whole register.
        self.chain_codes_ = {name: i for i, name in enumerate(sorted(set(chain) - {""}))}
        self.firm_chain_code_ = np.array([self.chain_codes_.get(c, -1) for c in chain], dtype=np.int32)
        order = np.argsort(self.firm_chain_code_, kind="stable")
        bounds = np.searchsorted(self.firm_chain_code_[order], np.arange(len(self.chain_codes_) + 1))
        self.chain_members_ = [order[bounds[i]:bounds[i + 1]] for i in range(len(self.chain_codes_))]
        return self

    def _firm_block(self, firms: list[dict[str, Any]]) -> dict[str, Any]:
        """The per-firm work of indexing for a block of firms: term counts, vectors, chain placement."""
        texts = [firm_text(f) for f in firms]
        words = self.tokenizer_.words_of
        out: dict[str, Any] = {  # term counts, not token lists: a fraction of the memory to send back and hold
            "lexical": term_counts([self.tokenizer_(t) for t in texts]),
            "products": term_counts([words(f"{f.get('products') or ''} {f.get('description') or ''}") for f in firms]),
            "needs": term_counts([words(f.get("needs") or "") for f in firms]),
            "vectors": self.embedder_.encode(texts),
            "chain": [], "stage": [], "segment": [],
        }
        # Chain placement of the block at once: one pass of the text model, one matrix product for similarities.
        for hits, _ in self.chains_.rank_many([_firm_profile(f) for f in firms], k=1):
            out["chain"].append(hits[0].target if hits else "")
            out["stage"].append(STAGES.get(hits[0].data.get("stage", ""), -1) if hits else -1)
            out["segment"].append(hits[0].data.get("segment", "") if hits else "")
        return out

    def fit(self, store: Store, workers: int = 1) -> Matcher:
        """Learn from the store's current knowledge base and firms (``workers``: see ``fit_firms``)."""
        self.fit_kb(kb.current(store))
        self.fit_firms(store.firms(columns=FIRM_COLUMNS, offerable=True), workers)  # never a quarantined or invalid-twin row
        self.firms_version_ = store.firms_version()
        return self

    # -- persistence --------------------------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        """Write the fitted state into a new build folder and switch ``CURRENT`` to it atomically."""
        import joblib

        folder.mkdir(parents=True, exist_ok=True)
        build = folder / f"build-{self.build_key_}-{int(time.time() * 1000)}"
        tmp = folder / f".tmp-{os.getpid()}-{threading.get_ident()}"
        tmp.mkdir()
        state = {k: v for k, v in self.__dict__.items() if k != "embedder_" and not k.startswith("_")}
        joblib.dump(state, tmp / "matcher.joblib")
        (tmp / "meta.json").write_text(json.dumps({"key": self.build_key_, "engine": ENGINE_VERSION,
                                                   "firms": len(self.ids_), "model": self.model_version_,
                                                   "kb_version": self.kb_version_,
                                                   "config": self.config.as_dict()}, ensure_ascii=False))
        os.replace(tmp, build)
        pointer = folder / f".CURRENT-{os.getpid()}-{threading.get_ident()}"
        pointer.write_text(build.name)
        os.replace(pointer, folder / "CURRENT")  # readers switch to the new build in one step
        for old in folder.glob("build-*"):
            if old != build and time.time() - old.stat().st_mtime > 60:
                shutil.rmtree(old, ignore_errors=True)
        return build

    @classmethod
    def load(cls, folder: Path) -> Matcher:
        """Read the build that ``CURRENT`` points to."""
        import joblib

        build = folder / (folder / "CURRENT").read_text().strip()
        state = joblib.load(build / "matcher.joblib")
        self = cls.__new__(cls)
        self.__dict__.update(state)
        self.embedder_ = Embedder(self.embed_model)
        self.chains_.fit(self.embedder_)  # re-reads the chain text model file
        self.industries_.embedder_ = self.embedder_
        self.parks_.embedder_ = self.embedder_
        return self

    @staticmethod
    def key_for(store: Store, embed_model: str | None = None, config: MatcherConfig | None = None) -> str:
        """What a build depends on: engine, firms, knowledge base, embedding and chain models, the config."""
        name = embed_model or paths.embed_model_name()
        manifest = Path(name) / "MANIFEST.json"
        model = manifest.read_text(encoding="utf-8") if manifest.exists() else name
        chain_model = paths.MODELS_DIR / "chains.joblib"
        chain_stamp = f"{chain_model.stat().st_size}:{chain_model.stat().st_mtime_ns}" if chain_model.exists() else ""
        raw = "|".join([ENGINE_VERSION, store.firms_version(), str(kb.version(store)), model, chain_stamp,
                        (config or default_config()).digest()])
        return hashlib.sha1(raw.encode()).hexdigest()[:12]

    _cache: dict[str, Matcher] = {}
    _lock = threading.Lock()

    @classmethod
    def for_store(cls, store: Store, embed_model: str | None = None, rebuild: bool = False,
                  workers: int = 1, config: MatcherConfig | None = None) -> Matcher:
        """The matcher for a store: from memory, from disk when fresh, else built (``workers``: see ``fit_firms``),
        saved and reused."""
        config = config or default_config()
        key = cls.key_for(store, embed_model, config)
        folder = paths.index_dir(store.path)
        cache_key = f"{store.path.resolve()}:{key}"
        with cls._lock:
            if not rebuild and cache_key in cls._cache:
                return cls._cache[cache_key]
            m = None
            if not rebuild and (folder / "CURRENT").exists():
                try:
                    loaded = cls.load(folder)
                    if loaded.build_key_ == key:
                        m = loaded
                except Exception:  # a damaged or half-deleted build is rebuilt, never fatal
                    m = None
            if m is None:
                m = cls(embed_model, config=config).fit(store, workers)
                m.build_key_ = key
                m.save(folder)
            cls._cache = {k: v for k, v in cls._cache.items() if not k.startswith(f"{store.path.resolve()}:")}
            cls._cache[cache_key] = m
            return m

    def warm_up(self) -> Matcher:
        """Initialise what answering builds lazily (segmenters, chains' firm vectors), e.g. before forking workers."""
        self.match_many(["光伏组件、逆变器"], k=1)
        for code in range(len(getattr(self, "chain_members_", []))):
            self._chain_vectors(code)
        return self

    # -- answering ----------------------------------------------------------------------------------------------
    def _resolve(self, query: str | int | dict[str, Any], store: Store | None = None) -> tuple[str, dict[str, Any] | None]:
        if isinstance(query, dict):
            return _firm_profile(query), query
        if isinstance(query, int) or (isinstance(query, str) and query.strip().isdigit() and store is not None):
            if store is None:
                raise ValueError("按企业编号查询需要数据库")
            firm = store.firm(int(query))
            if firm is None:
                raise KeyError(f"没有编号为 {query} 的企业")
            return _firm_profile(firm), firm
        return normalize(str(query)), None

    def classify(self, text: str, k: int | None = None) -> tuple[list[Hit], float, list[Hit]]:
        """(chains, probability of fitting no key chain, GB/T 4754 classes) for a firm text."""
        return self.classify_many([text], k)[0]

    def classify_many(self, texts: list[str], k: int | None = None,
                      vectors: np.ndarray | None = None) -> list[tuple[list[Hit], float, list[Hit]]]:
        """``classify`` for many texts, the model and embedding steps done once for all of them."""
        if not texts:
            return []
        vectors = self.embedder_.encode(texts) if vectors is None else vectors
        chains = self.chains_.rank_many(texts, k=k or self.k, vectors=vectors)
        industries = self.industries_.rank_many(texts, k=k or self.k, vectors=vectors)
        out = []
        for (chain_hits, none_p), industry_hits in zip(chains, industries):
            for h in chain_hits + industry_hits:
                h.reason = render(h)
            out.append((chain_hits, none_p, industry_hits))
        return out

    def systems_of(self, chains: list[Hit]) -> list[dict[str, Any]]:
        """Where the firm's chains sit in each industrial system (system → items)."""
        out: dict[str, dict[str, Any]] = {}
        names = {s["id"]: s for s in self.kb_["systems"]}
        for h in chains:
            chain = next((c for c in self.kb_["chains"] if c["name"] == h.target), None)
            for ref in (chain or {}).get("systems", []):
                s = names.get(ref.get("system"))
                if s is None or s.get("status") == "superseded":
                    continue
                entry = out.setdefault(s["id"], {"system_id": s["id"], "system": s["name"], "region": s.get("region"),
                                                 "items": []})
                if not any(i["chain"] == h.target and i["item"] == ref.get("item") for i in entry["items"]):
                    entry["items"].append({"item": ref.get("item"), "chain": h.target, "score": round(h.score, 4)})
        return list(out.values())

    def parks(self, text: str, chains: list[Hit] | None = None, k: int | None = None,
              park: str | None = None) -> list[Hit]:
        """Ranked parks and new cities for a firm text."""
        if chains is None:
            chains, _ = self.chains_.rank(text, k=8)
        hits = self.parks_.rank(text, chains, k=k or self.k, park=park)
        for h in hits:
            h.reason = render(h)
        return hits

    def _mask(self, filters: Filters | None) -> np.ndarray | None:
        if not filters or not (filters.region or filters.chain):
            return None
        mask = np.ones(len(self.ids_), dtype=bool)
        if filters.region:
            mask &= self.region_ == filters.region
        if filters.chain:
            mask &= self.firm_chain_ == filters.chain
        return mask

    def _position(self, firm: dict[str, Any] | None) -> int | None:
        """Row of a stored firm in the indexes (``None`` for a firm that is not stored)."""
        if not firm or firm.get("id") is None:
            return None
        rows = np.flatnonzero(self.ids_ == int(firm["id"]))
        return int(rows[0]) if len(rows) else None

    def search(self, text: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        """Stored firms most related to a text (BM25 + embeddings, filters applied before the cut)."""
        if not len(self.ids_):
            return []
        mask = self._mask(filters)
        weights = dict(self.config.search)
        n = int(weights.pop("candidates", 200))
        lex_ids, lex_s = self.lexical_.search(self.tokenizer_(text), n, mask)
        allowed = np.flatnonzero(mask) if mask is not None else None
        vec = self.embedder_.encode([text])[0]
        den_ids, den_s = self.dense_.search(vec, n, allowed) if self.dense_ is not None else _NONE
        ids, parts = _fuse({"lexical": (lex_ids, lex_s), "dense": (den_ids, den_s)}, weights)
        hits = []
        for j, i in enumerate(ids[:k]):
            meta = self.firms_meta_[i]
            hits.append(Hit(kind="firm", target=str(meta["id"]), label=str(meta["name"] or ""),
                            parts={n: float(p[j]) for n, p in parts.items()},
                            data={"firm_id": meta["id"], "region": meta["region"], "district": meta["district"],
                                  "chain": self.firm_chain_[i] or None}))
        for h in hits:
            h.reason = render(h)
        return hits

    def counterparts(self, query: str | int | dict[str, Any], direction: str = "both", region: str | None = None,
                     k: int | None = None, chains: list[Hit] | None = None,
                     store: Store | None = None) -> dict[str, list[Hit]]:
        """Likely suppliers (upstream) and customers (downstream) among stored firms.

        Suppliers sell what the firm needs or what its chain's upstream segments make; customers need what the firm
        makes or sit downstream of it on its chain.
        """
        text, firm = self._resolve(query, store)
        if chains is None:
            chains, _ = self.chains_.rank(text, k=3)
        return self._counterparts_many([(text, firm)], [chains], direction, region, k or self.k)[0]

    def _counterparts_many(self, resolved: list[tuple[str, dict[str, Any] | None]], chains: list[list[Hit]],
                           direction: str, region: str | None, k: int) -> list[dict[str, list[Hit]]]:
        """Counterparts of many firms: each index is searched once for the whole block of queries."""
        out: list[dict[str, list[Hit]]] = [{"suppliers": [], "customers": []} for _ in resolved]
        if not len(self.ids_) or not resolved:
            return out
        mask = self._mask(Filters(region=region))
        exclude = [self._position(firm) for _, firm in resolved]  # a stored firm is not its own counterpart
        for role in ("suppliers", "customers"):
            if direction not in ("both", role):
                continue
            up = role == "suppliers"
            asks = [self._ask(text, firm, hits[0] if hits else None, up) for (text, firm), hits in zip(resolved, chains)]
            index = self.products_ if up else self.needs_
            n = int(self.config.counterparts.get("candidates", 200))
            lexical = index.search_many([a["words"] for a in asks], n, mask, exclude)
            if not up:  # firms that state no needs are still customers if their products use ours
                more = self.products_.search_many([self.tokenizer_.words_of(" ".join(a["segment_words"])) for a in asks],
                                                  n, mask, exclude)
                lexical = [_merge_max(a_ids, a_s, b_ids, b_s * 0.7) for (a_ids, a_s), (b_ids, b_s) in zip(lexical, more)]
            vectors = self.embedder_.encode([a["dense_text"] for a in asks])
            for i, ask in enumerate(asks):
                out[i][role] = self._counterpart_hits(ask, lexical[i], vectors[i], mask, exclude[i], up, k)
        return out

    def _chain_vectors(self, code: int) -> np.ndarray:
        """Vectors of a chain's firms in one contiguous block, so one product scores them all (kept in memory)."""
        cache = self.__dict__.setdefault("_member_vectors", {})
        if code not in cache:
            cache[code] = np.ascontiguousarray(self.dense_.vectors_of(self.chain_members_[code]), dtype=np.float32) \
                if self.dense_ is not None else np.zeros((len(self.chain_members_[code]), self.embedder_.dim), np.float32)
        return cache[code]

    def _dense_of(self, ids: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Cosine of some stored firms to a vector (zeros without a dense index)."""
        return self.dense_.vectors_of(ids) @ vector if self.dense_ is not None and len(ids) else np.zeros(len(ids))

    def _ask(self, text: str, firm: dict[str, Any] | None, top: Hit | None, up: bool) -> dict[str, Any]:
        """What a counterpart should make (suppliers) or need (customers): words, segment terms, text to embed."""
        my_stage = STAGES.get(top.data.get("stage", ""), 1) if top else -1
        products = (firm or {}).get("products") or text
        needs = (firm or {}).get("needs") or ""
        segment_words: list[str] = []
        if top is not None:
            for st, seg in self.segments_.get(top.target, []):
                if (st < my_stage) if up else (st > my_stage):
                    segment_words += seg.get("keywords", []) + seg.get("products", [])
        own = needs if up else products
        return {"top": top, "stage": my_stage, "segment_words": segment_words,
                "words": self.tokenizer_.words_of(" ".join([own, *segment_words])),
                "dense_text": " ".join([own, *segment_words[:30]])}

    def _chain_path(self, ids: np.ndarray, top: Hit | None, my_stage: int, up: bool) -> np.ndarray:
        """Chain-path part per candidate: 1 on the firm's chain at the stage before (or after) it, 0.3 elsewhere on it."""
        code = self.chain_codes_.get(top.target, -2) if top is not None else -2
        same = self.firm_chain_code_[ids] == code
        stage = self.firm_stage_[ids]
        ok = (stage < my_stage) if up else (stage > my_stage)
        return np.where(same & ok & (stage >= 0), 1.0, np.where(same, 0.3, 0.0))

    def _counterpart_hits(self, ask: dict[str, Any], lexical: tuple[np.ndarray, np.ndarray], vector: np.ndarray,
                          mask: np.ndarray | None, exclude: int | None, up: bool, k: int) -> list[Hit]:
        """Fuse the three parts for one firm and keep the k best candidates.

        Candidates are the firms whose products or needs share words with the ask (``products``, max-normalised
        BM25) and the firms on the firm's chain (``graph``: 1 one stage before or after it, 0.3 elsewhere on the
        chain). The semantic part (cosine of the candidate's text to the ask, 0..1) ranks them but never adds a
        candidate: closeness alone is no evidence of a supply relation.
        """
        top, my_stage = ask["top"], ask["stage"]
        lex_ids, lex_s = np.asarray(lexical[0], dtype=np.int64), np.asarray(lexical[1], dtype=np.float64)
        products = lex_s / lex_s.max() if len(lex_s) else lex_s
        code = self.chain_codes_.get(top.target) if top is not None else None
        if code is not None:
            members = self.chain_members_[code]
            member_dense = self._chain_vectors(code) @ vector
            keep = np.ones(len(members), dtype=bool)
            if mask is not None:
                keep &= mask[members]
            if exclude is not None:
                keep &= members != exclude
            at = np.minimum(np.searchsorted(members, lex_ids), max(len(members) - 1, 0))
            on_chain = members[at] == lex_ids if len(members) else np.zeros(len(lex_ids), dtype=bool)
            member_products = np.zeros(len(members))
            member_products[at[on_chain]] = products[on_chain]
            off = ~on_chain
            cand = np.concatenate([members[keep], lex_ids[off]])
            cols = {"products": np.concatenate([member_products[keep], products[off]]),
                    "dense": np.concatenate([member_dense[keep], self._dense_of(lex_ids[off], vector)]),
                    "graph": np.concatenate([self._chain_path(members[keep], top, my_stage, up), np.zeros(off.sum())])}
        else:
            cand = lex_ids
            cols = {"products": products, "dense": self._dense_of(lex_ids, vector), "graph": np.zeros(len(lex_ids))}
        weights = self.config.counterparts
        parts = {name: weights[name] * np.clip(col, 0.0, 1.0) for name, col in cols.items()}
        best = top_rows(cand, parts["products"] + parts["dense"] + parts["graph"], k)
        hits = []
        for j in best:
            i = int(cand[j])
            meta = self.firms_meta_[i]
            chain = self.firm_chain_[i]
            seg = self.firm_segment_[i]
            path = ""
            if top is not None and chain == top.target:
                a, b = (seg or "?", top.data.get("segment") or "?") if up else (top.data.get("segment") or "?", seg or "?")
                path = f"{chain}：{a} → {b}"
            kw = _shared_words(ask["words"], self.firms_text_[i])
            h = Hit(kind="supplier" if up else "customer", target=str(meta["id"]), label=str(meta["name"] or ""),
                    parts={n: float(p[j]) for n, p in parts.items()},
                    data={"firm_id": meta["id"], "region": meta["region"], "district": meta["district"],
                          "chain": chain or None, "segment": seg or None, "path": path, "keywords": kw})
            h.reason = render(h)
            hits.append(h)
        return hits

    def match(self, query: str | int | dict[str, Any], filters: Filters | None = None, k: int | None = None,
              store: Store | None = None) -> MatchResult:
        """Everything for one firm (text, stored firm dict, or firm id with ``store``)."""
        return self.match_many([query], filters, k, store)[0]

    def match_many(self, queries: list[str | int | dict[str, Any]], filters: Filters | None = None,
                   k: int | None = None, store: Store | None = None) -> list[MatchResult]:
        """``match`` for many firms at once (batch runs): per firm the same answer, with the text model, the
        embeddings and every index search done once for the whole block."""
        filters = filters or Filters()
        k = k or self.k
        resolved = [self._resolve(q, store) for q in queries]
        if not resolved:
            return []
        texts = [text for text, _ in resolved]
        park_texts = [text + " " + ((firm or {}).get("needs") or "") for text, firm in resolved]
        vectors = self.embedder_.encode(texts + park_texts)
        classified = self.classify_many(texts, k=max(k, 8), vectors=vectors[:len(texts)])
        allowed = {c["name"] for c in self.kb_["chains"]
                   if any(filters.system in (r.get("system"), self._system_name(r.get("system")))
                          for r in c.get("systems", []))} if filters.system else set()
        chain_lists = []
        for chains, _, _ in classified:
            if filters.system:
                chains = [h for h in chains if h.target in allowed]
            if filters.chain:
                chains = sorted(chains, key=lambda h: h.target != filters.chain)
            chain_lists.append(chains)
        counterparts = self._counterparts_many(resolved, chain_lists, "both", filters.region, k)
        parks = self.parks_.rank_many(park_texts, chain_lists, k=k, park=filters.park, vectors=vectors[len(texts):])
        out = []
        for i, ((text, firm), (_, none_p, industries), chains) in enumerate(zip(resolved, classified, chain_lists)):
            for h in parks[i]:
                h.reason = render(h)
            out.append(MatchResult(query_text=text, firm=firm, chains=chains[:k], none=not chains, none_prob=none_p,
                                   systems=self.systems_of(chains[:k]), industries=industries[:k], parks=parks[i],
                                   suppliers=counterparts[i]["suppliers"], customers=counterparts[i]["customers"]))
        return out

    def _system_name(self, system_id: str | None) -> str | None:
        return next((s["name"] for s in self.kb_["systems"] if s["id"] == system_id), None)


_KB_PARTS: dict[str, tuple[Any, ...]] = {}


def _kb_key(kb_dict: dict[str, Any], model_version: str, config: MatcherConfig) -> str:
    content = json.dumps({k: kb_dict.get(k) for k in ("systems", "chains", "parks")}, ensure_ascii=False, sort_keys=True)
    gb = paths.DATA_DIR / "gbt4754"
    stamp = "|".join(f"{p.name}:{p.stat().st_size}" for p in sorted(gb.glob("*.csv")))
    return hashlib.sha1("|".join([ENGINE_VERSION, content, model_version, stamp, config.digest()]).encode()).hexdigest()[:16]


def _cache_file(key: str) -> Path:
    return paths.MODELS_DIR / ".cache" / f"kb-{key}.joblib"


def _load_kb_parts(key: str) -> tuple[Any, ...] | None:
    import joblib

    path = _cache_file(key)
    try:
        return joblib.load(path) if path.exists() else None
    except Exception:  # a damaged cache file is rebuilt
        return None


def _save_kb_parts(key: str, parts: tuple[Any, ...]) -> None:
    import joblib

    try:
        with atomic_path(_cache_file(key)) as tmp:
            joblib.dump(parts, tmp)
    except OSError:  # a read-only checkout still works, it just rebuilds
        pass


def _fuse(views: dict[str, tuple[Any, Any]], weights: dict[str, float],
          absolute: tuple[str, ...] = ()) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Convex fusion of scores: candidates best first (ties by position), and each view's weighted part per candidate.

    Scores are max-normalised per view, except the views named in ``absolute`` (already on a 0..1 scale); only
    positive scores count. The parts of a candidate sum to its score.
    """
    cleaned = {}
    for name, (ids, scores) in views.items():
        ids, scores = np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float64)
        keep = scores > 0
        ids, scores = ids[keep], scores[keep]
        if name not in absolute and len(scores):
            scores = scores / scores.max()
        cleaned[name] = (ids, scores)
    cand = np.unique(np.concatenate([ids for ids, _ in cleaned.values()] + [np.empty(0, dtype=np.int64)]))
    parts = {}
    for name, (ids, scores) in cleaned.items():
        col = np.zeros(len(cand))
        col[np.searchsorted(cand, ids)] = scores
        parts[name] = weights[name] * col
    total = sum(parts.values(), np.zeros(len(cand)))
    order = np.lexsort((cand, -total))
    return cand[order], {name: col[order] for name, col in parts.items()}


def _shared_words(query: list[str], candidate: str, n: int = 3) -> list[str]:
    """Query words (two characters or more) found in a candidate's products and needs, in query order, for the reason.

    A substring test on the candidate's text: segmenting every shown candidate again cost more than the rest of
    building its hit.
    """
    text = candidate.lower()
    out: list[str] = []
    for w in query:
        if len(w) > 1 and w not in out and w in text:
            out.append(w)
            if len(out) == n:
                break
    return out


def _merge_max(a_ids: np.ndarray, a_s: np.ndarray, b_ids: np.ndarray, b_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of two (ids, scores) lists, an id present in both keeping its higher score."""
    ids = np.concatenate([np.asarray(a_ids, dtype=np.int64), np.asarray(b_ids, dtype=np.int64)])
    scores = np.concatenate([np.asarray(a_s, dtype=np.float32), np.asarray(b_s, dtype=np.float32)])
    order = np.lexsort((-scores, ids))
    ids, scores = ids[order], scores[order]
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    return ids[first], scores[first]

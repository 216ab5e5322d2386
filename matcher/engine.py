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

from . import config, kb
from .chains import ChainClassifier
from .embed import Embedder
from .files import atomic_path
from .index import DenseIndex, LexicalIndex
from .industries import IndustryClassifier
from .parks import ParkRanker
from .reasons import render
from .results import Filters, Hit, MatchResult
from .store import Store
from .text import Tokenizer, normalize

ENGINE_VERSION = "4"  # bump when a change alters what a saved build holds
STAGES = {"上游": 0, "中游": 1, "下游": 2}
# Weights of the counterpart parts: text of needs ↔ products, semantic similarity, chain-segment path.
COUNTERPART_WEIGHTS = {"products": 0.45, "dense": 0.2, "graph": 0.35}
SEARCH_WEIGHTS = {"lexical": 0.6, "dense": 0.4}
_CANDIDATES = 200


def firm_text(firm: dict[str, Any]) -> str:
    """The text a stored firm is matched on: name, business description and products."""
    parts = [firm.get("name") or "", firm.get("description") or "", firm.get("products") or ""]
    return normalize("，".join(p for p in parts if p))[:3000]


def _firm_profile(firm: dict[str, Any]) -> str:
    # The chain model reads 'name，主营产品：items'; products first, then the business description.
    items = firm.get("products") or firm.get("description") or ""
    return normalize(f"{firm.get('name') or ''}，主营产品：{items}")[:3000]


class Matcher:
    """Match firms to chains, GB/T 4754 classes, parks and supply–demand counterparts.

    Args:
        embed_model: sentence-transformers model name or folder (default ``MATCHER_EMBED_MODEL`` / models/embedder).
        k: how many answers of each kind ``match`` returns.
    """

    build_key_: str  # what the fitted state was built from (see ``key_for``)

    def __init__(self, embed_model: str | None = None, k: int = 5) -> None:
        self.embed_model = embed_model
        self.k = k

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
        key = _kb_key(kb_dict, self.embedder_.version)
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
        industries = IndustryClassifier().fit(self.embedder_)
        tokenizer = Tokenizer(words + industries.tokenizer_.words)
        chains = ChainClassifier(kb_dict).fit(self.embedder_)
        parks = ParkRanker(kb_dict).fit(self.embedder_, tokenizer)
        segments = {
            c["name"]: [(STAGES.get(s.get("stage", ""), 1), s) for s in c.get("segments", [])] for c in kb_dict["chains"]
        }
        return industries, tokenizer, chains, parks, segments

    def fit_firms(self, firms: list[dict[str, Any]]) -> Matcher:
        """Index stored firms (lexical + dense) and place each on its chain and segment."""
        self.ids_ = np.array([int(f["id"]) for f in firms], dtype=np.int64)
        self.firms_meta_ = [{"id": int(f["id"]), "name": f.get("name"), "region": f.get("region"),
                             "district": f.get("district")} for f in firms]
        texts = [firm_text(f) for f in firms]
        self.firms_text_ = [f"{f.get('products') or ''} {f.get('needs') or ''}" for f in firms]
        self.region_ = np.array([f.get("region") or "" for f in firms], dtype=object)
        self.lexical_ = LexicalIndex().fit([self.tokenizer_(t) for t in texts])
        # Supply–demand matching uses whole words only: single characters would pair unrelated products.
        words = self.tokenizer_.words_of
        self.products_ = LexicalIndex().fit([words(f"{f.get('products') or ''} {f.get('description') or ''}")
                                             for f in firms])
        self.needs_ = LexicalIndex().fit([words(f.get("needs") or "") for f in firms])
        self.has_needs_ = np.array([bool((f.get("needs") or "").strip()) for f in firms])
        vectors = self.embedder_.encode(texts) if texts else np.zeros((0, self.embedder_.dim), dtype=np.float32)
        self.dense_ = DenseIndex().fit(vectors) if len(texts) else None
        chain, stage, segment = [], [], []
        profiles = [_firm_profile(f) for f in firms]
        probs = self.chains_.model_view(profiles) if profiles else ([], np.zeros((0, 0)))
        # Chain similarities of all firms in one matrix product instead of one encoding per firm.
        sims = self.chains_.dense_matrix(self.embedder_.encode(profiles)) if profiles else np.zeros((0, 0))
        names = self.chains_.names_
        for i, p in enumerate(profiles):
            row = (probs[0], probs[1][i:i + 1]) if len(probs[0]) else None
            hits, _ = self.chains_.rank(p, k=1, probs=row, dense=dict(zip(names, sims[i].tolist())))
            chain.append(hits[0].target if hits else "")
            stage.append(STAGES.get(hits[0].data.get("stage", ""), -1) if hits else -1)
            segment.append(hits[0].data.get("segment", "") if hits else "")
        self.firm_chain_ = np.array(chain, dtype=object)
        self.firm_stage_ = np.array(stage, dtype=np.int8)
        self.firm_segment_ = np.array(segment, dtype=object)
        return self

    def fit(self, store: Store) -> Matcher:
        """Learn from the store's current knowledge base and firms."""
        self.fit_kb(kb.current(store))
        self.fit_firms(store.firms())
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
        state = {k: v for k, v in self.__dict__.items() if k != "embedder_"}
        joblib.dump(state, tmp / "matcher.joblib")
        (tmp / "meta.json").write_text(json.dumps({"key": self.build_key_, "engine": ENGINE_VERSION,
                                                   "firms": len(self.ids_), "model": self.model_version_,
                                                   "kb_version": self.kb_version_}, ensure_ascii=False))
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
    def key_for(store: Store, embed_model: str | None = None) -> str:
        """What a build depends on: engine, firms, knowledge base, embedding and chain models."""
        name = embed_model or config.embed_model_name()
        manifest = Path(name) / "MANIFEST.json"
        model = manifest.read_text(encoding="utf-8") if manifest.exists() else name
        chain_model = config.MODELS_DIR / "chains.joblib"
        chain_stamp = f"{chain_model.stat().st_size}:{chain_model.stat().st_mtime_ns}" if chain_model.exists() else ""
        raw = "|".join([ENGINE_VERSION, store.firms_version(), str(kb.version(store)), model, chain_stamp])
        return hashlib.sha1(raw.encode()).hexdigest()[:12]

    _cache: dict[str, Matcher] = {}
    _lock = threading.Lock()

    @classmethod
    def for_store(cls, store: Store, embed_model: str | None = None, rebuild: bool = False) -> Matcher:
        """The matcher for a store: from memory, from disk when fresh, else built and saved (then reused)."""
        key = cls.key_for(store, embed_model)
        folder = config.index_dir(store.path)
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
                m = cls(embed_model).fit(store)
                m.build_key_ = key
                m.save(folder)
            cls._cache = {k: v for k, v in cls._cache.items() if not k.startswith(f"{store.path.resolve()}:")}
            cls._cache[cache_key] = m
            return m

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
        chains, none_p = self.chains_.rank(text, k=k or self.k)
        industries = self.industries_.rank(text, k=k or self.k)
        for h in chains + industries:
            h.reason = render(h)
        return chains, none_p, industries

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

    def _mask(self, filters: Filters | None, exclude: int | None = None) -> np.ndarray | None:
        if not filters and exclude is None:
            return None
        mask = np.ones(len(self.ids_), dtype=bool)
        if filters and filters.region:
            mask &= self.region_ == filters.region
        if filters and filters.chain:
            mask &= self.firm_chain_ == filters.chain
        if exclude is not None:
            mask &= self.ids_ != exclude
        return mask

    def search(self, text: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        """Stored firms most related to a text (BM25 + embeddings, filters applied before the cut)."""
        if not len(self.ids_):
            return []
        mask = self._mask(filters)
        lex_ids, lex_s = self.lexical_.search(self.tokenizer_(text), _CANDIDATES, mask)
        allowed = np.flatnonzero(mask) if mask is not None else None
        vec = self.embedder_.encode([text])[0]
        den_ids, den_s = self.dense_.search(vec, _CANDIDATES, allowed) if self.dense_ is not None else ([], [])
        fused = _fuse({"lexical": (lex_ids, lex_s), "dense": (den_ids, den_s)}, SEARCH_WEIGHTS)
        hits = []
        for i, parts in fused[:k]:
            meta = self.firms_meta_[i]
            hits.append(Hit(kind="firm", target=str(meta["id"]), label=str(meta["name"] or ""), parts=parts,
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
        k = k or self.k
        if chains is None:
            chains, _ = self.chains_.rank(text, k=3)
        out: dict[str, list[Hit]] = {"suppliers": [], "customers": []}
        if not len(self.ids_):
            return out
        exclude = int(firm["id"]) if firm and firm.get("id") is not None else None
        mask = self._mask(Filters(region=region), exclude)
        top = chains[0] if chains else None
        my_stage = STAGES.get(top.data.get("stage", ""), 1) if top else -1
        products = (firm or {}).get("products") or text
        needs = (firm or {}).get("needs") or ""
        for role in ("suppliers", "customers"):
            if direction not in ("both", role):
                continue
            up = role == "suppliers"
            # What the counterpart should make (suppliers) or need (customers), in words.
            seg_words = []
            if top is not None:
                for st, seg in self.segments_.get(top.target, []):
                    if (st < my_stage) if up else (st > my_stage):
                        seg_words += seg.get("keywords", []) + seg.get("products", [])
            query_words = self.tokenizer_.words_of(" ".join([needs if up else products, *seg_words]))
            index = self.products_ if up else self.needs_
            lex_ids, lex_s = index.search(query_words, _CANDIDATES, mask)
            if not up:  # firms that state no needs are still customers if their products use ours
                more_ids, more_s = self.products_.search(self.tokenizer_.words_of(" ".join(seg_words)), _CANDIDATES, mask)
                lex_ids, lex_s = _merge_max(lex_ids, lex_s, more_ids, more_s * 0.7)
            graph = np.zeros(len(self.ids_), dtype=np.float32)
            if top is not None:
                same = self.firm_chain_ == top.target
                stage_ok = (self.firm_stage_ < my_stage) if up else (self.firm_stage_ > my_stage)
                graph = np.where(same & stage_ok & (self.firm_stage_ >= 0), 1.0, np.where(same, 0.3, 0.0))
                if mask is not None:
                    graph = np.where(mask, graph, 0.0)
            graph_ids = np.flatnonzero(graph > 0)[:_CANDIDATES * 5]
            vec = self.embedder_.encode([" ".join([needs if up else products, *seg_words[:30]])])[0]
            allowed = np.flatnonzero(mask) if mask is not None else None
            den_ids, den_s = self.dense_.search(vec, _CANDIDATES, allowed) if self.dense_ is not None else ([], [])
            fused = _fuse({"products": (lex_ids, lex_s), "dense": (den_ids, den_s),
                           "graph": (graph_ids, graph[graph_ids])}, COUNTERPART_WEIGHTS, absolute=("graph",))
            hits = []
            for i, parts in fused:
                if parts.get("products", 0) <= 0 and parts.get("graph", 0) <= 0:
                    continue  # semantic closeness alone is not evidence of a supply relation
                meta = self.firms_meta_[i]
                chain = self.firm_chain_[i]
                seg = self.firm_segment_[i]
                path = ""
                if top is not None and chain == top.target:
                    a, b = (seg or "?", top.data.get("segment") or "?") if up else (top.data.get("segment") or "?", seg or "?")
                    path = f"{chain}：{a} → {b}"
                kw = _shared_words(query_words, self.tokenizer_.words_of(self.firms_text_[i]))
                hits.append(Hit(kind=role[:-1], target=str(meta["id"]), label=str(meta["name"] or ""), parts=parts,
                                data={"firm_id": meta["id"], "region": meta["region"], "district": meta["district"],
                                      "chain": chain or None, "segment": seg or None, "path": path, "keywords": kw}))
                if len(hits) >= k:
                    break
            for h in hits:
                h.reason = render(h)
            out[role] = hits
        return out

    def match(self, query: str | int | dict[str, Any], filters: Filters | None = None, k: int | None = None,
              store: Store | None = None) -> MatchResult:
        """Everything for one firm (text, stored firm dict, or firm id with ``store``)."""
        filters = filters or Filters()
        k = k or self.k
        text, firm = self._resolve(query, store)
        chains, none_p, industries = self.classify(text, k=max(k, 8))
        if filters.system:
            allowed = {c["name"] for c in self.kb_["chains"]
                       if any(filters.system in (r.get("system"), self._system_name(r.get("system")))
                              for r in c.get("systems", []))}
            chains = [h for h in chains if h.target in allowed]
        if filters.chain:
            chains = sorted(chains, key=lambda h: h.target != filters.chain)
        parks = self.parks(text + " " + ((firm or {}).get("needs") or ""), chains, k=k, park=filters.park)
        cps = self.counterparts(firm if firm else text, region=filters.region, k=k, chains=chains)
        return MatchResult(query_text=text, firm=firm, chains=chains[:k], none=not chains, none_prob=none_p,
                           systems=self.systems_of(chains[:k]), industries=industries[:k], parks=parks,
                           suppliers=cps["suppliers"], customers=cps["customers"])

    def _system_name(self, system_id: str | None) -> str | None:
        return next((s["name"] for s in self.kb_["systems"] if s["id"] == system_id), None)


_KB_PARTS: dict[str, tuple[Any, ...]] = {}


def _kb_key(kb_dict: dict[str, Any], model_version: str) -> str:
    content = json.dumps({k: kb_dict.get(k) for k in ("systems", "chains", "parks")}, ensure_ascii=False, sort_keys=True)
    gb = config.DATA_DIR / "gbt4754"
    stamp = "|".join(f"{p.name}:{p.stat().st_size}" for p in sorted(gb.glob("*.csv")))
    return hashlib.sha1("|".join([ENGINE_VERSION, content, model_version, stamp]).encode()).hexdigest()[:16]


def _cache_file(key: str) -> Path:
    return config.MODELS_DIR / ".cache" / f"kb-{key}.joblib"


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


def _unit(ids: Any, scores: Any) -> dict[int, float]:
    scores = np.asarray(scores, dtype=np.float32)
    if len(scores) == 0:
        return {}
    top = float(scores.max())
    if top <= 0:
        return {}
    return {int(i): float(s) / top for i, s in zip(ids, scores) if s > 0}


def _fuse(views: dict[str, tuple[Any, Any]], weights: dict[str, float],
          absolute: tuple[str, ...] = ()) -> list[tuple[int, dict[str, float]]]:
    """Convex fusion of scores; each result keeps its weighted parts (they sum to the score).

    Scores are max-normalised per view, except the views named in ``absolute`` (already on a 0..1 scale).
    """
    normed = {name: ({int(i): float(s) for i, s in zip(*v) if s > 0} if name in absolute else _unit(*v))
              for name, v in views.items()}
    ids = set().union(*[set(d) for d in normed.values()]) if normed else set()
    rows = []
    for i in ids:
        parts = {name: weights[name] * normed[name].get(i, 0.0) for name in views}
        rows.append((i, parts))
    rows.sort(key=lambda r: (-sum(r[1].values()), r[0]))
    return rows


def _shared_words(query: list[str], candidate: list[str], n: int = 3) -> list[str]:
    """Words (two characters or more) that the query and a candidate share, in query order, for the reason."""
    have = set(candidate)
    out: list[str] = []
    for w in query:
        if len(w) > 1 and w in have and w not in out:
            out.append(w)
    return out[:n]


def _merge_max(a_ids: np.ndarray, a_s: np.ndarray, b_ids: np.ndarray, b_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    best: dict[int, float] = {}
    for i, s in list(zip(a_ids, a_s)) + list(zip(b_ids, b_s)):
        if s > best.get(int(i), -1.0):
            best[int(i)] = float(s)
    ids = np.array(list(best), dtype=np.int64)
    return ids, np.array([best[int(i)] for i in ids], dtype=np.float32)

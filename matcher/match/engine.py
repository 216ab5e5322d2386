"""The matching engine: one ``Matcher`` answers chains, GB/T 4754 classes, parks and counterparts for a firm.

Estimator-shaped: ``Matcher(...)`` stores parameters, ``fit(store)`` learns state (attributes ending in ``_``),
``save``/``load`` persist it beside the database, ``Matcher.for_store`` reuses a fresh build or makes one.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Sequence, Sized
from contextlib import contextmanager
from itertools import chain as chained
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from matcher import memory, paths
from matcher.files import atomic_path
from matcher.knowledge import kb
from matcher.match.chains import MODEL_FILE as CHAIN_MODEL_FILE
from matcher.match.chains import TERMS_FILE, ChainClassifier, terms_digest
from matcher.match.config import CONFIG_FILE, MatcherConfig, default_config
from matcher.match.counterparts import CounterpartFinder, TextLists
from matcher.match.counterparts import firm_work as counterpart_work
from matcher.match.embed import Embedder
from matcher.match.families import INPUTS_FILE, InputTable, table_digest
from matcher.match.firmwork import FILE as WORK_FILE
from matcher.match.firmwork import FirmColumns, FirmWork, WorkMerger, firm_key
from matcher.match.index import DenseIndex, LexicalIndex, term_counts
from matcher.match.industries import TERMS_FILE as INDUSTRY_TERMS_FILE
from matcher.match.industries import IndustryClassifier, chain_classes
from matcher.match.industries import terms_digest as industry_terms_digest  # beside the chains' terms_digest
from matcher.match.parks import NEEDS_FILE, ParkRanker, needs_digest
from matcher.match.query import Query, parse
from matcher.match.reasons import render
from matcher.match.results import Filters, Hit, MatchResult
from matcher.match.text import Tokenizer, clip, normalize
from matcher.parallel import Workers
from matcher.store.database import Store

ENGINE_VERSION = "21"  # bump when a change alters what a saved build holds
STAGES = {"上游": 0, "中游": 1, "下游": 2}
STATE_FILE = "matcher.pkl"  # a build's fitted state
_FIT_BLOCK = 10_000  # firms per block when indexing
PARALLEL_FROM = 5000  # fewer firms are indexed in this process: forking would cost more than it saves
FIRM_COLUMNS = ("id", "name", "uscc_valid", "region", "district", "description", "products", "needs")  # what indexing reads
_NONE = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))


class _HitMeta(Sequence[dict[str, Any]]):
    """Per stored firm, what a counterpart hit shows, made when a row is read: a dict per firm kept for the whole
    register cost ≈ 0.5 GB at 1M firms, and only the hits' rows are ever read."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher

    def __len__(self) -> int:
        return len(self.matcher.ids_)

    def __getitem__(self, r: Any) -> Any:
        m = self.matcher
        return {**m.firms_meta_[r], "chain": m.firm_chain_[r] or None, "segment": m.firm_segment_[r] or None}


def _blocks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of ``size`` items (the last one shorter), drawn as they are consumed."""
    it = iter(items)
    while block := list(islice(it, size)):
        yield block


def firm_text(firm: dict[str, Any]) -> str:
    """The text a stored firm is matched on: name, business description and products."""
    parts = [firm.get("name") or "", firm.get("description") or "", firm.get("products") or ""]
    return clip("，".join(p for p in parts if p), 3000)


def _firm_profile(firm: dict[str, Any]) -> str:
    """A stored firm or row as a query text ('name，主营产品：items'), the form the chain model was trained on; what
    is indexed for search is `firm_text` (name, description and products)."""
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
        self.kb_key_ = key
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
        tokenizer = Tokenizer(words + IndustryClassifier.vocabulary())
        industries = IndustryClassifier(weights=self.config.industries).fit(self.embedder_, tokenizer)
        chains = ChainClassifier(kb_dict, blend=self.config.chains).fit(self.embedder_)
        parks = ParkRanker(kb_dict, weights=self.config.parks).fit(self.embedder_, tokenizer)
        segments = {
            c["name"]: [(STAGES.get(s.get("stage", ""), 1), s) for s in c.get("segments", [])] for c in kb_dict["chains"]
        }
        return industries, tokenizer, chains, parks, segments

    def fit_firms(self, firms: Iterable[dict[str, Any]], workers: int = 1, previous: FirmWork | None = None,
                  count: int | None = None, spill: Path | None = None) -> Matcher:
        """Index stored firms (lexical + dense) and place each on its chain and segment.

        Args:
            firms: the firms in id order; a list, or an iterator that reads them as they are consumed (only a block
                of firms at a time is then held).
            workers: processes for the per-firm work (segmentation, embedding, chain placement), forked so they
                share the models; firms are processed in blocks either way, which also bounds memory.
            previous: the per-firm work of an earlier build: firms whose fields are unchanged take theirs from it.
            count: how many firms an iterator yields (decides whether forking pays; a list has its length).
            spill: a folder (the index folder) where the per-firm work is written as soon as it is combined, for
                ``save`` to move into the build; each index then lets go of the parts it has read. Without it the
                work stays in memory until ``save``.
        """
        count = len(firms) if isinstance(firms, Sized) else count
        meta = FirmColumns()
        valid: list[Any] = []
        keys: list[str] = []
        old: list[int] = []
        # the input table is read before the workers fork, so each inherits it
        table = InputTable.load(other_word=self.config.counterparts.get("other_word", 0.2))
        stamp = self.work_stamp()
        reusable = previous.rows_of(stamp) if previous is not None else {}

        def fresh_firms() -> Iterator[dict[str, Any]]:
            # Firms are read, noted (id, name, key) and dropped as they go; those without reusable work go on.
            for f in firms:
                key = firm_key(f)
                meta.add(f)
                valid.append(f.get("uscc_valid"))
                keys.append(key)
                old.append(reusable.get(key, -1))
                if old[-1] < 0:
                    yield f

        todo = fresh_firms()
        head = list(islice(todo, PARALLEL_FROM))  # fewer fresh firms are indexed here: a fork would cost more
        n = workers if len(head) >= PARALLEL_FROM else 1
        size = min(_FIT_BLOCK, -(-max(count or 0, len(head)) // max(1, n))) or 1
        blocks = _blocks(chained(head, todo), size)
        del head
        merger = WorkMerger(capacity=0 if reusable else count or 0)
        with Workers(lambda block: self._firm_block(block, table), n) as pool:
            for part in pool.imap(blocks):
                merger.add(part)
        reusable.clear()
        old_rows = np.array(old, dtype=np.int64)
        self.firms_meta_ = meta.freeze()
        self.ids_ = meta.id
        self.region_ = np.array([r or "" for r in meta.region], dtype=object)
        work = merger.finish(stamp, keys, previous, old_rows, self.embedder_.dim)
        del merger
        if spill is not None:
            self._work_file = spill / f".work-{os.getpid()}-{threading.get_ident()}.pkl"
            work.write(self._work_file)
        else:
            self._work = work  # written beside the build by ``save``, then dropped
        memory.release()  # the blocks as computed: the indexes below are built beside the combined work
        # A query term's postings beyond the cap are read only on a large register (the candidate stage).
        search = self.config.search
        caps = {"depth": int(search.get("posting_cap", 0)), "pool": int(search.get("candidate_pool", 1000)),
                "capped_from": int(search.get("capped_from", 0))}
        self.lexical_ = LexicalIndex(**caps).fit_counts([work.counts["lexical"]] if len(meta) else [])
        if spill is not None:
            work.counts.pop("lexical", None)
        memory.release()
        # from dense_from firms an inverted file (dense_nprobe lists read per query), else the float16 scan
        nprobe = int(search.get("dense_nprobe", 0))
        dense = DenseIndex(hnsw_from=int(search.get("dense_from", 200_000)), approx="ivf" if nprobe > 0 else "fp16",
                           nprobe=nprobe)
        self.dense_ = dense.fit(work.vectors) if len(meta) else None
        if spill is not None:
            work.vectors = work.vectors[:0]
        empty = np.empty(0, dtype=object)
        self.firm_chain_ = work.values.get("chain", empty)
        self.firm_stage_ = work.values.get("stage", np.empty(0, dtype=np.int8))
        self.firm_segment_ = work.values.get("segment", empty)
        self.reused_ = int((old_rows >= 0).sum())
        # Counterparts: their own answerer over products and needs; junk and invalid twins are never offered.
        finder = CounterpartFinder(self.config.counterparts, table)
        self.counterparts_ = finder.fit_work(meta.names, valid, {
            "products": work.counts["products"], "needs": work.counts["needs"],
            "items": work.values["items"], "need_items": work.values["need_items"],
            "families": work.rows["families"], "need_families": work.rows["need_families"],
        }) if len(meta) else finder.fit([])
        del work
        memory.release()
        self._give_vectors()
        return self

    def _give_vectors(self) -> None:
        """The counterpart answerer reads need items' embeddings against the firms' profile vectors (its
        ``similar`` part): this build's embedder and dense index, given after a fit or a load."""
        if self.dense_ is not None:
            self.counterparts_.use_vectors(self.embedder_.encode, self.dense_.vectors_of)

    def work_stamp(self) -> str:
        """What a firm's indexing work depends on besides its own fields: engine, models, knowledge base, config."""
        raw = "|".join([ENGINE_VERSION, self.kb_key_, self.model_version_, self.chains_.version, _chain_model_stamp(),
                        table_digest(), terms_digest()])
        return hashlib.sha1(raw.encode()).hexdigest()[:16]

    def _firm_block(self, firms: list[dict[str, Any]], table: InputTable | None) -> dict[str, Any]:
        """The per-firm work of indexing for a block of firms (see ``FirmWork``): term counts, vectors, chain
        placement, and what counterparts read of each firm (``table``: the input table of product families)."""
        texts = [firm_text(f) for f in firms]
        cp = counterpart_work(firms, table, self.config.counterparts.get("item_decay", 0.5))
        out: dict[str, Any] = {  # term counts, not token lists: a fraction of the memory to send back and hold
            "counts": {"lexical": term_counts([self.tokenizer_(t) for t in texts]),
                       "products": cp["products"], "needs": cp["needs"]},
            "rows": {"families": cp["families"], "need_families": cp["need_families"]},
            "vectors": self.embedder_.encode(texts),
        }
        chain, stage, segment = [], [], []
        # Chain placement of the block at once: one pass of the text model, one matrix product for similarities.
        for hits, _ in self.chains_.rank_many([parse(f) for f in firms], k=1):
            chain.append(hits[0].target if hits else "")
            stage.append(STAGES.get(hits[0].data.get("stage", ""), -1) if hits else -1)
            segment.append(hits[0].data.get("segment", "") if hits else "")
        out["values"] = {"chain": np.array(chain, dtype=object), "stage": np.array(stage, dtype=np.int8),
                         "segment": np.array(segment, dtype=object),
                         "items": _joined(cp["items"]), "need_items": _joined(cp["need_items"])}
        return out

    def fit(self, store: Store, workers: int = 1, previous: FirmWork | None = None,
            spill: Path | None = None) -> Matcher:
        """Learn from the store's current knowledge base and firms (``workers``, ``previous``, ``spill``: see
        ``fit_firms``)."""
        self.fit_kb(kb.current(store))
        # never a quarantined or invalid-twin row
        firms = chained.from_iterable(store.firm_blocks(_FIT_BLOCK, columns=FIRM_COLUMNS, offerable=True))
        self.fit_firms(firms, workers, previous, count=store.count_firms(), spill=spill)
        self.firms_version_ = store.firms_version()
        return self

    # -- persistence --------------------------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        """Write the fitted state into a new build folder and switch ``CURRENT`` to it atomically."""
        folder.mkdir(parents=True, exist_ok=True)
        build = folder / f"build-{self.build_key_}-{int(time.time() * 1000)}"
        tmp = folder / f".tmp-{os.getpid()}-{threading.get_ident()}"
        tmp.mkdir()
        if self.dense_ is not None:
            self.dense_.write(tmp)
        state = {k: v for k, v in self.__dict__.items() if k != "embedder_" and not k.startswith("_")}
        # plain pickle: joblib's pickler walks the firm lists in Python and took 20× longer to write and read
        with open(tmp / STATE_FILE, "wb") as f:
            pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
        work = self.__dict__.pop("_work", None)
        spilled = self.__dict__.pop("_work_file", None)
        if spilled is not None:
            os.replace(spilled, tmp / WORK_FILE)
        elif work is not None:
            work.save(tmp)
            del work
            memory.release()  # the per-firm work is kept on disk only
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
        for stray in folder.glob(".work-*"):  # the spilled work of a build that never reached ``save``
            if time.time() - stray.stat().st_mtime > 3600:
                stray.unlink(missing_ok=True)
        return build

    @classmethod
    def load(cls, folder: Path) -> Matcher:
        """Read the build that ``CURRENT`` points to."""
        build = current_build(folder)
        with open(build / STATE_FILE, "rb") as f:
            state = pickle.load(f)  # the project's own build files, written by ``save``
        self = cls.__new__(cls)
        self.__dict__.update(state)
        if self.dense_ is not None:
            self.dense_.read(build)
        self.embedder_ = Embedder(self.embed_model)
        self.chains_.fit(self.embedder_)  # re-reads the chain text model file
        self.industries_.embedder_ = self.embedder_
        self.parks_.embedder_ = self.embedder_
        self._give_vectors()
        return self

    @staticmethod
    def key_for(store: Store, embed_model: str | None = None, config: MatcherConfig | None = None) -> str:
        """What a build depends on: engine, firms, knowledge base, embedding and chain models, the config."""
        name = embed_model or paths.embed_model_name()
        manifest = Path(name) / "MANIFEST.json"
        files = (manifest, paths.MODELS_DIR / CHAIN_MODEL_FILE, paths.MODELS_DIR / CONFIG_FILE, paths.DATA_DIR / NEEDS_FILE,
                 paths.DATA_DIR / INPUTS_FILE, paths.DATA_DIR / TERMS_FILE, paths.DATA_DIR / INDUSTRY_TERMS_FILE)
        # The files' part is re-read only when one of them changed: the app asks for the key on every page view.
        stamp = (name, config.digest() if config else None, *(_stat(f) for f in files))
        shipped = _SHIPPED_KEYS.get(stamp)
        if shipped is None:
            model = manifest.read_text(encoding="utf-8") if manifest.exists() else name
            shipped = "|".join([model, _chain_model_stamp(), (config or default_config()).digest(), needs_digest(),
                                table_digest(), terms_digest(), industry_terms_digest()])
            if len(_SHIPPED_KEYS) > 64:
                _SHIPPED_KEYS.clear()
            _SHIPPED_KEYS[stamp] = shipped
        raw = "|".join([ENGINE_VERSION, store.firms_version(), str(kb.version(store)), shipped])
        return hashlib.sha1(raw.encode()).hexdigest()[:12]

    _cache: dict[str, Matcher] = {}
    _lock = threading.Lock()  # held while a build is loaded or made in this process
    _memo_lock = threading.Lock()  # held only to swap ``_cache``

    @classmethod
    def for_store(cls, store: Store, embed_model: str | None = None, rebuild: bool = False,
                  workers: int = 1, config: MatcherConfig | None = None) -> Matcher:
        """The matcher for a store: from memory, from disk when fresh, else built (``workers``: see ``fit_firms``),
        saved and reused."""
        config = config or default_config()
        kb.ensure_loaded(store)  # a new database loads its KB while building: the key must name that version
        key = cls.key_for(store, embed_model, config)
        folder = paths.index_dir(store.path)
        cache_key = f"{store.path.resolve()}:{key}"
        with cls._lock:
            if not rebuild and cache_key in cls._cache:
                return cls._cache[cache_key]
            m = None if rebuild else cls._load_fresh(folder, key)
            if m is None:
                # One build of a database at a time across processes (the app's refresh, batch runs): a second
                # builder waits, then loads what the first saved instead of building it again.
                with _build_lock(folder):
                    m = None if rebuild else cls._load_fresh(folder, key)
                    if m is None:
                        # Firms unchanged since the current build keep their indexing work (``rebuild``: all
                        # computed again).
                        previous = None if rebuild else _current_work(folder)
                        folder.mkdir(parents=True, exist_ok=True)
                        m = cls(embed_model, config=config).fit(store, workers, previous, spill=folder)
                        del previous
                        m.build_key_ = key
                        m.save(folder)
            cls.remember(store.path, m)
            return m

    @classmethod
    def _load_fresh(cls, folder: Path, key: str) -> Matcher | None:
        """The saved build when it was made for ``key``, else ``None`` (also for a damaged or half-deleted build)."""
        try:  # the key is in the build's meta: a stale build is not loaded only to be thrown away
            meta = current_build(folder) / "meta.json"
            if json.loads(meta.read_text(encoding="utf-8")).get("key") != key:
                return None
        except (OSError, ValueError):
            return None
        try:
            loaded = cls.load(folder)
        except Exception:  # a damaged or half-deleted build is rebuilt, never fatal
            return None
        return loaded if loaded.build_key_ == key else None

    @classmethod
    def remember(cls, db_path: str | Path, matcher: Matcher) -> None:
        """Keep ``matcher`` as the in-memory build of a database, dropping the one it replaces (frees its memory)."""
        prefix = f"{Path(db_path).resolve()}:"
        with cls._memo_lock:
            cls._cache = {k: v for k, v in cls._cache.items() if not k.startswith(prefix)}
            cls._cache[prefix + matcher.build_key_] = matcher

    def warm_up(self) -> Matcher:
        """Initialise what answering builds lazily (segmenters, models), e.g. before forking workers."""
        self.match_many(["光伏组件、逆变器"], k=1)
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

    def classify_many(self, texts: list[str | Query], k: int | None = None,
                      vectors: np.ndarray | None = None) -> list[tuple[list[Hit], float, list[Hit]]]:
        """``classify`` for many firms, the model and embedding steps done once for all of them.

        Args:
            texts: firm texts or parsed queries; what a firm makes (``Query.product_text``) decides both answers.
            vectors: embeddings of the product texts, when the caller has them.
        """
        return [(chains, none_p, industries) for chains, none_p, industries, _ in self._classify(texts, k, vectors)]

    def _classify(self, texts: Sequence[str | Query], k: int | None = None,
                  vectors: np.ndarray | None = None) -> list[tuple[list[Hit], float, list[Hit], list[Hit]]]:
        """(chains, P(none), classes, nearest chains when none) per firm."""
        if not texts:
            return []
        queries = [t if isinstance(t, Query) else parse(t) for t in texts]
        products = [q.product_text() for q in queries]
        vectors = self.embedder_.encode(products) if vectors is None else vectors
        answers = self.chains_.answer_many(queries, k=k or self.k, vectors=vectors)
        industries = self.industries_.rank_many(products, k=k or self.k, vectors=vectors,
                                                chains=self.chain_classes(answers))
        out = []
        for a, industry_hits in zip(answers, industries):
            for h in a.hits + a.nearest + industry_hits:
                h.reason = render(h)
            out.append((a.hits, a.none_prob, industry_hits, a.nearest))
        return out

    def chain_classes(self, answers: Sequence[Any]) -> list[dict[str, str]]:
        """Per chain answer, class code → chain for the GB/T 4754 classes the knowledge base lists for the firm's
        chain: a firm's chain is evidence for its class (the ``chain`` part of ``industries_``)."""
        gb_codes = {c["name"]: c.get("gb_codes") or [] for c in self.kb_["chains"]}
        return [chain_classes(a.hits, gb_codes) for a in answers]

    def systems_of(self, chains: list[Hit]) -> list[dict[str, Any]]:
        """Where the firm's chosen chain sits in each current industrial system (system → items).

        ``match`` passes the top chain only: the systems shown are those of the chain the firm was matched to, not
        of every candidate. An item under a parent is shown with it (先进制造业·新能源), ``name`` keeps the item.
        """
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
                item = ref.get("item")
                parent = next((it.get("parent") for it in s.get("items") or [] if it.get("name") == item), None)
                label = f"{parent}·{item}" if parent else item
                if not any(i["chain"] == h.target and i["name"] == item for i in entry["items"]):
                    entry["items"].append({"item": label, "name": item, "parent": parent, "chain": h.target,
                                           "score": round(h.score, 4)})
        return list(out.values())

    def parks(self, text: str, chains: list[Hit] | None = None, k: int | None = None,
              park: str | None = None, all_parks: bool = False) -> list[Hit]:
        """Ranked landing places for a firm text (every park when ``all_parks``)."""
        if chains is None:
            chains, _ = self.chains_.rank(text, k=8)
        hits = self.parks_.rank(text, chains, k=k or self.k, park=park, all_parks=all_parks)
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
        weights = {name: self.config.search.get(name, 0.0) for name in ("lexical", "dense")}
        n = int(self.config.search.get("candidates", 200))
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
        """Likely suppliers, customers and peers (同行) among stored firms (see :mod:`matcher.match.counterparts`)."""
        text, firm = self._resolve(query, store)
        if chains is None:
            chains, _ = self.chains_.rank(text, k=3)
        out = self._counterparts_many([(text, firm)], [chains], region, k or self.k)[0]
        for role in ("suppliers", "customers"):
            if direction not in ("both", role):
                out[role] = []
        return out

    def _counterparts_many(self, resolved: list[tuple[str, dict[str, Any] | None]], chains: list[list[Hit]],
                           region: str | None, k: int, queries: list[Query] | None = None) -> list[dict[str, list[Hit]]]:
        """Counterparts of many firms at once.

        Args:
            chains: per firm, its chains as decided by what it makes (``_classify`` on the parsed query).
            queries: the parsed firms, when the caller has them (parsed here otherwise).
        """
        if not len(self.ids_) or not resolved:
            return [{"suppliers": [], "customers": [], "peers": []} for _ in resolved]
        if queries is None:
            queries = [parse(firm) if firm is not None else parse(text) for text, firm in resolved]
        segments = [self._segments_around(hits[0] if hits else None) for hits in chains]
        meta = self.counterpart_meta_()
        return self.counterparts_.find_many(queries, segments, meta, self._mask(Filters(region=region)),
                                            [self._position(firm) for _, firm in resolved], k)

    def counterpart_meta_(self) -> Sequence[dict[str, Any]]:
        """Per stored firm: what a counterpart hit shows (id, name, region, district, chain, segment)."""
        return _HitMeta(self)

    def _segments_around(self, top: Hit | None) -> tuple[str, str]:
        """Text of the knowledge base's segments before and after the firm's own on its chain (keywords, products)."""
        if top is None:
            return "", ""
        mine = STAGES.get(top.data.get("stage", ""), 1)
        up, down = [], []
        for stage, seg in self.segments_.get(top.target, []):
            words = seg.get("keywords", []) + seg.get("products", [])
            if stage < mine:
                up += words
            elif stage > mine:
                down += words
        return "、".join(up), "、".join(down)

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
        # What the query says, as fields: products decide chains and classes; needs, customers and plans never do.
        understood = [parse(firm) if firm is not None else parse(text) for text, firm in resolved]
        products = [q.product_text() for q in understood]
        park_texts = [text + " " + ((firm or {}).get("needs") or "") for text, firm in resolved]
        vectors = self.embedder_.encode(products + park_texts)
        classified = self._classify(understood, k=max(k, 8), vectors=vectors[:len(texts)])
        allowed = {c["name"] for c in self.kb_["chains"]
                   if any(filters.system in (r.get("system"), self._system_name(r.get("system")))
                          for r in c.get("systems", []))} if filters.system else set()
        chain_lists = []
        for chains, _, _, _ in classified:
            if filters.system:
                chains = [h for h in chains if h.target in allowed]
            if filters.chain:
                chains = sorted(chains, key=lambda h: h.target != filters.chain)
            chain_lists.append(chains)
        counterparts = self._counterparts_many(resolved, chain_lists, filters.region, k, understood)
        parks = self.parks_.rank_many(park_texts, chain_lists, k=k, park=filters.park, vectors=vectors[len(texts):],
                                      all_parks=filters.all_parks, intents=[q.target for q in understood])
        out = []
        for i, ((text, firm), (_, none_p, industries, nearest), chains) in enumerate(zip(resolved, classified, chain_lists)):
            for h in parks[i]:
                h.reason = render(h)
            out.append(MatchResult(query_text=text, firm=firm, chains=chains[:k], none=not chains, none_prob=none_p,
                                   systems=self.systems_of(chains[:1]), industries=industries[:k], parks=parks[i],
                                   suppliers=counterparts[i]["suppliers"], customers=counterparts[i]["customers"],
                                   peers=counterparts[i]["peers"], query=understood[i], nearest=nearest[:3]))
        return out

    def _system_name(self, system_id: str | None) -> str | None:
        return next((s["name"] for s in self.kb_["systems"] if s["id"] == system_id), None)


_KB_PARTS: dict[str, tuple[Any, ...]] = {}
_SHIPPED_KEYS: dict[tuple[Any, ...], str] = {}  # ``key_for``'s part from the shipped files, by their stat


def _stat(path: Path) -> tuple[str, int, int] | tuple[str]:
    """A file's name, modification time and size (just the name when it does not exist)."""
    try:
        st = path.stat()
    except OSError:
        return (str(path),)
    return str(path), st.st_mtime_ns, st.st_size


@contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on a database's index folder, held across processes while a build is made."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # no advisory locks on this platform: builders may overlap, the CURRENT switch stays atomic
        yield
        return
    with open(folder / ".build.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _joined(rows: list[list[str]]) -> np.ndarray:
    """Per firm, its items as one string (``TextLists.join``): a list per firm is several objects to hold, send
    back from a worker and save."""
    return np.array([TextLists.join(r) for r in rows], dtype=object)


def current_build(folder: Path) -> Path:
    """The build folder ``CURRENT`` points to in a database's index folder (OSError when there is none)."""
    return folder / (folder / "CURRENT").read_text().strip()


def _current_work(folder: Path) -> FirmWork | None:
    """The per-firm work kept with the build ``CURRENT`` points to (``None`` without one)."""
    try:
        return FirmWork.load(current_build(folder))
    except OSError:
        return None


def _chain_model_stamp() -> str:
    """Size and time of the chain text model file (a retrained model changes both)."""
    model = paths.MODELS_DIR / CHAIN_MODEL_FILE
    return f"{model.stat().st_size}:{model.stat().st_mtime_ns}" if model.exists() else ""


def _kb_key(kb_dict: dict[str, Any], model_version: str, config: MatcherConfig) -> str:
    content = json.dumps({k: kb_dict.get(k) for k in ("systems", "chains", "parks")}, ensure_ascii=False, sort_keys=True)
    gb = paths.DATA_DIR / "gbt4754"
    stamp = "|".join(f"{p.name}:{p.stat().st_size}" for p in sorted(gb.glob("*.csv")))
    return hashlib.sha1("|".join([ENGINE_VERSION, content, model_version, stamp, config.digest(),
                                  needs_digest(), industry_terms_digest()]).encode()).hexdigest()[:16]


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

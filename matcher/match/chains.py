"""Chain classification: a firm → ranked key chains with segment (上游/中游/下游), or ``none``.

Two views are fused: a text model (TF-IDF character n-grams + logistic regression, trained by
``matcher train-chains``) and exact spotting of the knowledge base's segment keywords. Chains outside the model's
label set (e.g. 人工智能, 文化旅游) are ranked by keywords alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from matcher import paths
from matcher.files import atomic_path, file_digest
from matcher.match.config import default_config
from matcher.match.keywords import KeywordMatcher, split_items
from matcher.match.query import Query, parse
from matcher.match.results import Hit
from matcher.match.text import normalize

MODEL_FILE = "chains.joblib"
TERMS_FILE = "chain_terms.json"
NONE = "none"


def chain_profile(chain: dict[str, Any]) -> str:
    """A chain as text: name, aliases, description, segment keywords and products."""
    words = [chain["name"], *chain.get("aliases", []), chain.get("description") or ""]
    for seg in chain.get("segments", []):
        words += [seg.get("name") or "", *seg.get("keywords", []), *seg.get("products", [])]
    return " ".join(words)


def profile_text(text: str) -> str:
    """The text the chain model reads: firm name and items, separated by spaces."""
    name, items = split_items(text)
    return " ".join([name, *items]) if name or items else text


def load_terms(path: Path | None = None) -> dict[str, Any]:
    """The abbreviation and synonym table (``data/chain_terms.json``): ``synonyms`` term → KB keywords, ``words``."""
    path = path or paths.DATA_DIR / TERMS_FILE
    if not path.exists():
        return {"synonyms": {}, "words": []}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"synonyms": data.get("synonyms", {}), "words": data.get("words", [])}


def terms_digest(path: Path | None = None) -> str:
    """Short hash of the synonym table: part of the build keys, so an edited table re-places the stored firms."""
    return file_digest(path or paths.DATA_DIR / TERMS_FILE)


def understand(text: str | Query) -> Query:
    """The query fields of a firm text (a parsed Query is used as it is)."""
    return text if isinstance(text, Query) else parse(text)


_MODELS: dict[tuple[str, int, int], Any] = {}


def load_model(path: Path) -> dict[str, Any] | None:
    """The chain text model in ``path`` (``None`` without one), read once per process while the file is unchanged."""
    if not path.exists():
        return None
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _MODELS:
        import joblib

        _MODELS.clear()
        _MODELS[key] = joblib.load(path)
    return _MODELS[key]


class ChainClassifier:
    """Rank the knowledge base's chains for a firm: what it makes decides, never its needs, customers or plans.

    Args:
        kb: the knowledge-base dict (``matcher.kb.current``).
        model_path: the trained text model; without it the keyword view decides alone.
        blend: the ``[chains]`` weights and thresholds of ``models/matcher.toml``.
        terms: the synonym table (default ``data/chain_terms.json``).
    """

    def __init__(self, kb: dict[str, Any], model_path: Path | None = None, blend: dict[str, float] | None = None,
                 terms: dict[str, Any] | None = None) -> None:
        self.kb = kb
        self.model_path = model_path or paths.MODELS_DIR / MODEL_FILE
        self.blend = dict(blend) if blend is not None else dict(default_config().chains)
        self.terms = terms  # None: read data/chain_terms.json at every fit (it is data staff may edit)

    def __getstate__(self) -> dict[str, Any]:
        # The text model is re-read from its file on load (it may have been retrained since).
        return {k: v for k, v in self.__dict__.items() if k not in ("model_", "embedder_")}

    def fit(self, embedder: Any = None) -> ChainClassifier:
        """Index the keywords of every chain segment and their synonyms, embed chain profiles, load the text model."""
        self.chains_ = {c["name"]: c for c in self.kb["chains"]}
        self.terms_ = self.terms if self.terms is not None else load_terms()
        pairs = []
        for c in self.kb["chains"]:
            for alias in [c["name"], *c.get("aliases", [])]:
                pairs.append((alias, f"{c['name']}\t\t"))
            for seg in c.get("segments", []):
                for w in [*seg.get("keywords", []), *seg.get("products", [])]:
                    pairs.append((w, f"{c['name']}\t{seg.get('stage', '')}\t{seg.get('name', '')}"))
        labels: dict[str, set[str]] = {}
        for w, label in pairs:
            labels.setdefault(normalize(w).lower(), set()).add(label)
        # A synonym is evidence for whatever its knowledge-base keywords are evidence for.
        self.canonical_: dict[str, list[str]] = {}
        for term, targets in self.terms_.get("synonyms", {}).items():
            key = normalize(term).lower()
            found = [t for t in targets if normalize(t).lower() in labels]
            if not found:
                continue
            self.canonical_[key] = found
            pairs += [(term, label) for t in found for label in labels[normalize(t).lower()]]
        self.keywords_ = KeywordMatcher(pairs, words=self.terms_.get("words", []), whole_words=True)
        self.model_ = load_model(self.model_path)
        # Chains the text model saw too few examples of are decided like chains it never saw: by keyword evidence.
        self.blend_ = dict(self.blend)
        self.weak_classes_ = self.weak_classes((self.model_ or {}).get("class_counts", {}))
        if embedder is not None:
            self.names_ = [c["name"] for c in self.kb["chains"]]
            self.vectors_ = embedder.encode([chain_profile(c) for c in self.kb["chains"]])
        self.embedder_ = embedder
        return self

    def model_text(self, query: Query) -> str:
        """What the text model reads: name and product items, plus the KB words that abbreviations stand for."""
        profile = query.profile()
        extra = []
        for _, _, w in self.keywords_.spans(query.product_text()):
            extra += [t for t in self.canonical_.get(w, []) if t not in extra]
        return profile_text(profile) + (" " + " ".join(extra) if extra else "")

    def dense_matrix(self, vectors: np.ndarray) -> np.ndarray:
        """Cosine of many firm vectors to every chain profile at once (rows: firms, columns: ``names_``)."""
        return np.clip(vectors @ self.vectors_.T, 0.0, None)

    def dense_view(self, text: str | Query) -> dict[str, float]:
        """Cosine of the firm's products to each chain's profile (empty without an embedder)."""
        if getattr(self, "embedder_", None) is None:
            return {}
        sims = self.vectors_ @ self.embedder_.encode([understand(text).product_text()])[0]
        return {n: float(max(v, 0.0)) for n, v in zip(self.names_, sims)}

    @property
    def version(self) -> str:
        """Identifies the text model (hash of its training data) or ``keywords-only``."""
        return (self.model_ or {}).get("version", "keywords-only")

    def keyword_view(self, text: str | Query) -> tuple[dict[str, float], dict[str, list[str]], dict[str, dict[str, float]]]:
        """Per chain: share of the firm's product items with a keyword hit, the keywords, and hits per segment
        (each weighted by its item's position)."""
        query = understand(text)
        name, items = split_items(query.profile())
        units = items or [name or query.text]
        share: dict[str, float] = {}
        words: dict[str, list[str]] = {}
        segs: dict[str, dict[str, float]] = {}
        bonus = float(self.blend_.get("name_bonus", 0.0))
        name_hits = self.keywords_.labels_of(name) if name and bonus > 0 else {}  # (0: a name adds nothing)
        decay = float(self.blend_.get("position_decay", 0.0))
        weights = [1.0 / (1.0 + decay * i) for i in range(len(units))]
        total = sum(weights)
        for unit, weight in zip(units, weights):
            hit_chains = set()
            for label, kws in self.keywords_.labels_of(unit).items():
                chain, stage, seg = label.split("\t")
                hit_chains.add(chain)
                words.setdefault(chain, []).extend(k for k in kws if k not in words.get(chain, []))
                if seg:
                    # main products first: the segment of a firm is where its leading items are
                    segs.setdefault(chain, {}).setdefault(f"{stage}\t{seg}", 0.0)
                    segs[chain][f"{stage}\t{seg}"] += len(kws) * weight
            for chain in hit_chains:
                share[chain] = share.get(chain, 0.0) + weight / total
        for label, kws in name_hits.items():
            chain = label.split("\t")[0]
            share[chain] = share.get(chain, 0.0) + bonus
            words.setdefault(chain, []).extend(k for k in kws if k not in words.get(chain, []))
        return share, words, segs

    def model_view(self, texts: Sequence[str | Query]) -> tuple[list[str], np.ndarray]:
        """Class names and probabilities of the text model (empty when there is no model)."""
        if self.model_ is None:
            return [], np.zeros((len(texts), 0))
        pipe = self.model_["pipeline"]
        return list(pipe.classes_), self.model_probs(pipe, [understand(t) for t in texts])

    def model_probs(self, pipe: Any, queries: list[Query]) -> np.ndarray:
        """``pipe``'s class probabilities for parsed firms (the shipped model, or a cross-validation fold's)."""
        return pipe.predict_proba([self.model_text(q) for q in queries])

    def weak_classes(self, counts: dict[str, int]) -> set[str]:
        """Chains a text model trained with these class counts saw too rarely to be trusted (``min_support``)."""
        min_support = self.blend_.get("min_support", 10)
        return {c for c, n in counts.items() if c != NONE and n < min_support}

    def rank_many(self, texts: list[str | Query], k: int = 5,
                  vectors: np.ndarray | None = None) -> list[tuple[list[Hit], float]]:
        """``rank`` for many firms: one pass of the text model and one matrix product for the chain similarities.

        Args:
            vectors: embeddings of the firms' product texts when the caller has them (rows in ``texts`` order).
        """
        return [(a.hits, a.none_prob) for a in self.answer_many(texts, k, vectors)]

    def answer_many(self, texts: list[str | Query], k: int = 5,
                    vectors: np.ndarray | None = None) -> list[ChainAnswer]:
        """Chains, P(none) and the nearest chains for many firms (see ``answer``)."""
        if not texts:
            return []
        queries = [understand(t) for t in texts]
        classes, p = self.model_view(queries)
        sims = None
        if getattr(self, "embedder_", None) is not None and self.blend_.get("dense", 0) > 0:
            if vectors is None:
                vectors = self.embedder_.encode([q.product_text() for q in queries])
            sims = self.dense_matrix(vectors)
        return [self.answer(q, k, probs=(classes, p[i:i + 1]) if len(classes) else None,
                            dense=dict(zip(self.names_, sims[i].tolist())) if sims is not None else {})
                for i, q in enumerate(queries)]

    def rank(self, text: str | Query, k: int = 5, probs: tuple[list[str], np.ndarray] | None = None,
             use: tuple[str, ...] = ("model", "keywords", "dense"),
             dense: dict[str, float] | None = None) -> tuple[list[Hit], float]:
        """Top-k chains (empty when the firm fits no key chain) and the probability that it fits none."""
        a = self.answer(text, k, probs, use, dense)
        return a.hits, a.none_prob

    def answer(self, text: str | Query, k: int = 5, probs: tuple[list[str], np.ndarray] | None = None,
               use: tuple[str, ...] = ("model", "keywords", "dense"),
               dense: dict[str, float] | None = None) -> ChainAnswer:
        """The chains of a firm: named ones, P(none), and when none is named the nearest ones with their evidence.

        Products decide: the model, the keywords and the similarity all read the parsed product fields.
        Keyword evidence (at least ``kw_evidence`` of the products naming a chain) is not overruled by the text
        model unless its P(none) reaches ``kw_veto``.

        Args:
            use: which views to fuse (evaluation compares ``("dense",)``, ``("model", "keywords")`` and all).
            probs: the text model's output for this firm, when computed in a batch.
            dense: the chain similarities for this firm, when computed in a batch (see ``dense_matrix``).
        """
        query = understand(text)
        share, words, segs = self.keyword_view(query) if "keywords" in use else ({}, {}, {})
        classes, p = probs if probs is not None else (self.model_view([query]) if "model" in use else ([], None))
        prob = dict(zip(classes, p[0])) if len(classes) and p is not None else {}
        if dense is None:
            dense = self.dense_view(query) if "dense" in use and self.blend_.get("dense", 0) > 0 else {}
        b, w = float(self.blend_["keywords"]), float(self.blend_.get("dense", 0.0))
        if use == ("dense",):
            w = 1.0
        scores: dict[str, dict[str, float]] = {}
        for chain in self.chains_:
            parts = {"model": float(prob.get(chain, 0.0)), "keywords": b * min(share.get(chain, 0.0), 1.0),
                     "dense": w * dense.get(chain, 0.0)}
            if parts["model"] > 0 or parts["keywords"] > 0 or parts["dense"] > 0:
                scores[chain] = parts
        none_p = float(prob.get(NONE, 0.0))
        ranked = sorted(scores.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        if prob:
            none_score = none_p + float(self.blend_["none_bias"])
        elif use == ("dense",):
            none_score = float(self.blend_["dense_threshold"])
            none_p = 1.0 if not ranked else max(0.0, 1.0 - sum(ranked[0][1].values()))
        else:  # keyword view alone: 'none' unless enough of the firm's items name a chain
            none_score = float(self.blend_["kw_only_threshold"]) * b
            best = [v for _, v in ranked if v["keywords"] > 0]
            none_p = 1.0 if not best else max(0.0, 1.0 - max(sum(v.values()) for v in best))
        named = ranked if use == ("dense",) else [(c, v) for c, v in ranked if v["model"] > 0 or v["keywords"] > 0]
        if named and sum(named[0][1].values()) >= none_score:
            pass
        elif named and prob:
            # Keyword evidence stands unless the text model is very sure the firm is in no key chain; chains the
            # model does not know (or saw too rarely) are decided by keyword evidence alone.
            weak = self.weak_classes_ | (set(self.chains_) - set(prob))
            evidence = b * float(self.blend_.get("kw_evidence", 0.5))
            floor = b * float(self.blend_["kw_only_threshold_unmodelled"])
            veto = float(self.blend_.get("kw_veto", 1.0))
            named = [(c, v) for c, v in named
                     if (c in weak and v["keywords"] >= floor) or (v["keywords"] >= evidence and none_p < veto)]
            named.sort(key=lambda kv: (-kv[1]["keywords"], -sum(kv[1].values()), kv[0]))
            if named:
                none_p = min(none_p, 1.0 - named[0][1]["keywords"] / max(b, 1e-9))
        elif named and sum(named[0][1].values()) < none_score:
            named = []
        hits = [self._hit(c, v, segs, words) for c, v in (named if named else ranked)[:k]]
        if not named:
            for h in hits:
                h.data["nearest"] = True
            return ChainAnswer([], none_p, hits, query)
        return ChainAnswer(hits, none_p, [], query)

    def _hit(self, chain: str, parts: dict[str, float], segs: dict[str, dict[str, float]],
             words: dict[str, list[str]]) -> Hit:
        seg_counts = segs.get(chain, {})
        stage, seg = ("", "")
        if seg_counts:
            stage, seg = max(seg_counts.items(), key=lambda kv: (kv[1], kv[0]))[0].split("\t")
        return Hit(kind="chain", target=chain, label=chain, parts=parts,
                   data={"chain": chain, "stage": stage, "segment": seg, "keywords": words.get(chain, [])[:8],
                         "focus": bool(self.chains_[chain].get("focus"))})


@dataclass
class ChainAnswer:
    """A firm's chains: ``hits`` (empty for none), P(none), the ``nearest`` chains when none, the parsed query."""

    hits: list[Hit]
    none_prob: float
    nearest: list[Hit]
    query: Query


# ------------------------------------------------------------------------------------------------------------
# Training (development time: reads labelled data outside the repo, writes models/chains.joblib)
# ------------------------------------------------------------------------------------------------------------

def build_pipeline(C: float = 5.0) -> Any:
    """The text model: TF-IDF over character 1–3-grams, multinomial logistic regression with balanced classes."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2, sublinear_tf=True, max_features=60000),
        LogisticRegression(C=C, max_iter=3000, class_weight="balanced"),
    )


def text_hash(text: str) -> str:
    """Stable id of a training text, used to detect evaluation rows that were trained on."""
    return hashlib.sha1(profile_text(text).encode()).hexdigest()[:16]


def train(texts: list[str], labels: list[str], *, prepare: Any = None, out: Path | None = None,
          sources: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fit the text model and save it atomically with its training-text hashes and provenance.

    Args:
        prepare: text → what the model reads (``ChainClassifier.model_text`` of the parsed text); default
            ``profile_text``.
    """
    import joblib

    prepare = prepare or profile_text
    prepared = [prepare(t) for t in texts]
    pipe = build_pipeline().fit(prepared, labels)
    # The version names what the model read (the parsed texts), so a parser change gives a new version.
    version = hashlib.sha256("\n".join(f"{t}\t{y}" for t, y in zip(prepared, labels)).encode()).hexdigest()[:10]
    model = {
        "pipeline": pipe,
        "version": f"chains-tfidf-lr-{version}",
        "trained_on": sorted({text_hash(t) for t in texts}),
        "n": len(texts),
        "classes": list(pipe.classes_),
        "class_counts": {c: labels.count(c) for c in pipe.classes_},
        "sources": sources or {},
    }
    with atomic_path(out or paths.MODELS_DIR / MODEL_FILE) as tmp:
        joblib.dump(model, tmp, compress=3)
    return {k: v for k, v in model.items() if k not in ("pipeline", "trained_on")}

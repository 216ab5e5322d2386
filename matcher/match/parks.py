"""Park placement: a firm → ranked new cities and parks, from chain fit, lead industries and stated needs."""

from __future__ import annotations

from typing import Any

import numpy as np

from matcher.match.config import default_config
from matcher.match.embed import Embedder
from matcher.match.index import DenseIndex, LexicalIndex
from matcher.match.keywords import KeywordMatcher
from matcher.match.results import Hit
from matcher.match.text import Tokenizer, normalize


def park_text(park: dict[str, Any], chains: dict[str, dict[str, Any]]) -> str:
    """The profile a park is matched on: lead industries, features, lead chains with their aliases."""
    words = [park["name"], *park.get("lead_industries", []), *park.get("features", [])]
    for name in park.get("lead_chains", []):
        words += [name, *chains.get(name, {}).get("aliases", [])]
    return " ".join(words + [park.get("location") or ""])


class ParkRanker:
    """Rank parks and new cities for a firm.

    Args:
        kb: the knowledge-base dict.
        weights: fusion weights of ``chain`` (firm's chains among the park's lead chains), ``lead`` (BM25 of the
            firm text against the park profile), ``needs`` (park features named in the firm text) and ``dense``.
    """

    def __init__(self, kb: dict[str, Any], weights: dict[str, float] | None = None) -> None:
        self.kb = kb
        self.weights = dict(weights if weights is not None else default_config().parks)

    def __getstate__(self) -> dict[str, Any]:
        # The embedder is shared and reloaded by the owner; never pickled with the index.
        return {k: v for k, v in self.__dict__.items() if k != "embedder_"}

    def fit(self, embedder: Embedder | None, tokenizer: Tokenizer) -> ParkRanker:
        """Index park profiles lexically and densely, and their features for exact spotting."""
        chains = {c["name"]: c for c in self.kb["chains"]}
        self.parks_ = list(self.kb["parks"])
        texts = [park_text(p, chains) for p in self.parks_]
        self.tokenizer_ = tokenizer
        self.lexical_ = LexicalIndex().fit([tokenizer(t) for t in texts])
        pairs = []
        for i, p in enumerate(self.parks_):
            for f in [*p.get("features", []), *p.get("lead_industries", [])]:
                for piece in normalize(f).replace("/", " ").replace("(", " ").replace(")", " ").split():
                    pairs.append((piece, str(i)))
        self.features_ = KeywordMatcher(pairs)
        self.embedder_ = embedder
        self.dense_ = DenseIndex("numpy").fit(embedder.encode(texts)) if embedder is not None else None
        return self

    def rank(self, text: str, chain_hits: list[Hit], k: int = 5, park: str | None = None,
             xixian_only: bool = False, vector: np.ndarray | None = None,
             lead_scores: np.ndarray | None = None) -> list[Hit]:
        """Top-k parks for a firm text, given its chain hits; ``park`` keeps one park or new city only.

        ``vector`` (the text's embedding) and ``lead_scores`` (its BM25 scores over the parks) are passed by
        ``rank_many`` when computed for a block of firms.
        """
        n = len(self.parks_)
        lead = self.lexical_.scores(self.tokenizer_(text)) if lead_scores is None else lead_scores
        lead = lead / lead.max() if lead.max() > 0 else lead
        needs = np.zeros(n, dtype=np.float32)
        found: dict[int, list[str]] = {}
        for label, kws in self.features_.labels_of(text).items():
            found[int(label)] = kws
        if found:
            best = max(len(v) for v in found.values())
            for i, kws in found.items():
                needs[i] = len(kws) / best
        dense = np.zeros(n, dtype=np.float32)
        if self.dense_ is not None and self.embedder_ is not None and self.weights.get("dense", 0) > 0:
            d = self.dense_.all_scores(self.embedder_.encode([text])[0] if vector is None else vector)
            dense = np.clip((d - d.mean()) / (d.max() - d.mean() + 1e-9), 0, 1)
        top_chain = max((h.score for h in chain_hits), default=0.0)
        chain_score = {h.target: h.score / top_chain for h in chain_hits} if top_chain > 0 else {}
        scored = []
        for i, p in enumerate(self.parks_):
            if xixian_only and not p.get("new_city"):
                continue
            if park and park not in (p["name"], p.get("new_city")):
                continue
            matched = [c for c in p.get("lead_chains", []) if c in chain_score]
            parts = {
                "chain": self.weights["chain"] * max((chain_score[c] for c in matched), default=0.0),
                "lead": self.weights["lead"] * float(lead[i]),
                "needs": self.weights["needs"] * float(needs[i]),
                "dense": self.weights["dense"] * float(dense[i]),
            }
            scored.append((-float(sum(parts.values())), p["name"], i, parts, matched))
        scored.sort(key=lambda r: (r[0], r[1]))  # the score as ``Hit.score`` sums it, then the name
        hits = []
        for _, name, i, parts, matched in scored[:k]:  # evidence only for the parks shown
            p = self.parks_[i]
            hits.append(Hit(kind="park", target=name, label=name, parts=parts,
                            data={"new_city": p.get("new_city"), "city": p.get("city"), "kind": p.get("kind"),
                                  "chains": matched, "needs": found.get(i, [])[:5],
                                  "lead": [x for x in p.get("lead_industries", []) if x in text][:3],
                                  "confidence": p.get("confidence")}))
        return hits

    def rank_many(self, texts: list[str], chain_hits: list[list[Hit]], k: int = 5, park: str | None = None,
                  vectors: np.ndarray | None = None) -> list[list[Hit]]:
        """``rank`` for many firms: park BM25 in one product, embeddings passed in or computed once."""
        if vectors is None and self.embedder_ is not None:
            vectors = self.embedder_.encode(texts)
        lead = self.lexical_.scores_many([self.tokenizer_(t) for t in texts])
        return [self.rank(t, hits, k=k, park=park, vector=None if vectors is None else vectors[i], lead_scores=lead[i])
                for i, (t, hits) in enumerate(zip(texts, chain_hits))]

    def rank_new_cities(self, text: str, chain_hits: list[Hit]) -> list[tuple[str, float]]:
        """The five new cities ordered by their best park (the new city itself included)."""
        best: dict[str, float] = {}
        for h in self.rank(text, chain_hits, k=len(self.parks_), xixian_only=True):
            city = h.data.get("new_city")
            if city and h.score > best.get(city, -1.0):
                best[city] = h.score
        return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))

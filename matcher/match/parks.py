"""Landing places for a firm: ranked 承接地 (new cities, their parks, co-building 组团) with the fit named.

A firm leaving Xi'an's main city is recommended a place in 西咸新区; parks of the main city or of 咸阳 outside a
组团 are context (where the firm's chain already clusters), and are ranked only when the officer asks for all parks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from matcher import paths
from matcher.files import file_digest
from matcher.match.config import default_config
from matcher.match.embed import Embedder
from matcher.match.index import DenseIndex, LexicalIndex
from matcher.match.keywords import KeywordMatcher
from matcher.match.results import Hit
from matcher.match.text import Tokenizer, normalize

NEEDS_FILE = "park_needs.json"
WEIGHT_KEYS = ("chain", "lead", "needs", "dense")


def load_needs(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The needs table (``data/park_needs.json``): how firms say what a landing place must offer, and who offers it."""
    file = Path(path) if path else paths.DATA_DIR / NEEDS_FILE
    if not file.exists():
        return []
    return list(json.loads(file.read_text(encoding="utf-8")).get("needs", []))


def needs_digest(path: str | Path | None = None) -> str:
    """Short hash of the needs table: part of the build keys, so an edited table rebuilds the park ranker."""
    return file_digest(Path(path) if path else paths.DATA_DIR / NEEDS_FILE)


def is_landing(park: dict[str, Any]) -> bool:
    """Whether a park is a 承接地: a new city, a park inside one, or a co-building 组团 led by one."""
    return bool(park.get("new_city"))


def park_text(park: dict[str, Any], chains: dict[str, dict[str, Any]],
              members: list[dict[str, Any]] | None = None) -> str:
    """The profile a park is matched on: lead industries, features, lead chains with their aliases.

    Args:
        park: the park entry.
        chains: chain name → chain entry (for aliases).
        members: for a 组团, its member parks (the 咸阳 side included), whose lead industries it carries too.
    """
    words = [park["name"], *park.get("lead_industries", []), *park.get("features", [])]
    for m in members or []:
        words += [*m.get("lead_industries", []), *m.get("features", [])]
    for name in park.get("lead_chains", []):
        words += [name, *chains.get(name, {}).get("aliases", [])]
    return " ".join(words + [park.get("location") or ""])


def _pieces(phrase: str) -> list[str]:
    """The spottable parts of a lead-industry or feature phrase ("氢能(燃料电池系统及关键零部件、氢能装备)" → 3 parts)."""
    t = normalize(phrase)
    for sep in "/()、，,":
        t = t.replace(sep, " ")
    return [p for p in t.split() if len(p) >= 2]


class ParkRanker:
    """Rank landing places for a firm.

    Args:
        kb: the knowledge-base dict.
        weights: the ``[parks]`` section of ``models/matcher.toml``: fusion weights ``chain`` (the firm's chains
            among the park's lead chains), ``lead`` (BM25 of the firm text against the park profile), ``needs``
            (conditions the firm asks for that the park offers: its features and the needs table) and ``dense``;
            ``per_city`` (at most this many parks of one new city among those shown before the others).
        needs: the needs table (default :func:`load_needs`).
    """

    def __init__(self, kb: dict[str, Any], weights: dict[str, float] | None = None,
                 needs: list[dict[str, Any]] | None = None) -> None:
        self.kb = kb
        self.weights = dict(weights if weights is not None else default_config().parks)
        self.needs = load_needs() if needs is None else needs

    def __getstate__(self) -> dict[str, Any]:
        # The embedder is shared and reloaded by the owner; never pickled with the index.
        return {k: v for k, v in self.__dict__.items() if k not in ("embedder_", "_context")}

    def fit(self, embedder: Embedder | None, tokenizer: Tokenizer) -> ParkRanker:
        """Index park profiles lexically and densely, and their features and the needs table for exact spotting."""
        chains = {c["name"]: c for c in self.kb["chains"]}
        self.parks_ = list(self.kb["parks"])
        self.__dict__.pop("_context", None)
        by_name = {p["name"]: p for p in self.parks_}
        texts = [park_text(p, chains, [by_name[m] for m in p.get("members") or [] if m in by_name and m != p["name"]])
                 for p in self.parks_]
        self.tokenizer_ = tokenizer
        self.lexical_ = LexicalIndex().fit([tokenizer(t) for t in texts])
        index = {p["name"]: i for i, p in enumerate(self.parks_)}
        pairs = []
        for i, p in enumerate(self.parks_):
            for f in p.get("features", []):
                pairs += [(piece, f"f{i}") for piece in _pieces(f)]
            for f in p.get("lead_industries", []):
                pairs += [(piece, f"l{i}") for piece in _pieces(f)]
        self.features_ = KeywordMatcher(pairs)
        # need j → the parks that meet it; a firm naming any of its words asks for it
        self.need_parks_ = [[index[n] for n in need.get("parks", []) if n in index] for need in self.needs]
        self.need_words_ = KeywordMatcher((w, str(j)) for j, need in enumerate(self.needs) for w in need.get("words", []))
        self.landing_ = np.array([is_landing(p) for p in self.parks_], dtype=bool)
        self.led_ = {c for i, p in enumerate(self.parks_) if self.landing_[i] for c in p.get("lead_chains", [])}
        self.embedder_ = embedder
        self.dense_ = DenseIndex("numpy").fit(embedder.encode(texts)) if embedder is not None else None
        return self

    def _needs_of(self, text: str, spotted: dict[str, list[str]] | None = None
                  ) -> tuple[np.ndarray, dict[int, list[str]], dict[int, list[str]]]:
        """Per park: the needs score (0–1), the needs it meets (names) and the words of the firm that asked for them.

        The score counts the firm's words that point to the park (a need's words, or the park's own features named
        outright at half weight) and reaches 1 at ``needs_full`` words: one generic word is weak evidence.
        ``spotted``: the parks' features and lead industries found in ``text``, when the caller has them.
        """
        n = len(self.parks_)
        met: dict[int, list[str]] = {}
        said: dict[int, list[str]] = {}
        count = np.zeros(n, dtype=np.float32)
        for label, words in self.need_words_.labels_of(text).items():
            need = self.needs[int(label)]
            for i in self.need_parks_[int(label)]:
                met.setdefault(i, []).append(need["name"])
                said.setdefault(i, []).extend(w for w in words if w not in said.get(i, []))
                count[i] += len(words)
        for label, words in (self.features_.labels_of(text) if spotted is None else spotted).items():
            if label.startswith("f"):
                i = int(label[1:])
                new = [w for w in words if w not in said.get(i, [])]
                said.setdefault(i, []).extend(new)
                count[i] += 0.5 * len(new)
        full = max(float(self.weights.get("needs_full", 2.0)), 1e-9)
        return np.minimum(count / full, 1.0), met, said

    def rank(self, text: str, chain_hits: list[Hit], k: int = 5, park: str | None = None,
             all_parks: bool = False, vector: np.ndarray | None = None,
             lead_scores: np.ndarray | None = None, intent: str | None = None) -> list[Hit]:
        """Top-k landing places for a firm text, given its chain hits.

        Args:
            text: the firm's description (products, needs, situation).
            chain_hits: the firm's chains, best first.
            k: how many to return.
            park: keep one park or new city only.
            all_parks: rank every park, main-city and 咸阳 parks too (the officer asked for all parks).
            vector: the text's embedding; ``lead_scores``: its BM25 scores over the parks (passed by ``rank_many``).
            intent: where the firm says it wants to go (意向落地: a new city or a park). Its best place is always
                shown, marked, in the last slot if the fit ranks it lower; the order of the others stays the fit's.
        """
        n = len(self.parks_)
        lead = self.lexical_.scores(self.tokenizer_(text)) if lead_scores is None else lead_scores
        # relative to the best place, but never above what a clear whole-word match scores: overlaps of single
        # characters (术 in 技术) must not make a place look like a full match
        top = max(float(lead.max()), float(self.weights.get("lead_floor", 0.0)))
        lead = lead / top if top > 0 else lead
        lead_spotted = self.features_.labels_of(text)
        needs, met, said = self._needs_of(text, lead_spotted)
        dense = np.zeros(n, dtype=np.float32)
        if self.dense_ is not None and self.embedder_ is not None and self.weights.get("dense", 0) > 0:
            d = self.dense_.all_scores(self.embedder_.encode([text])[0] if vector is None else vector)
            dense = np.clip((d - d.mean()) / (d.max() - d.mean() + 1e-9), 0, 1)
        top_chain = max((h.score for h in chain_hits), default=0.0)
        chain_score = {h.target: h.score / top_chain for h in chain_hits} if top_chain > 0 else {}
        # Every chain counts in proportion to its score, but only the firm's own chains (at least ``chain_share``
        # of its best one) are named as the fit of a place: a text model's stray probability is no reason to give.
        own = [c for c, s in chain_score.items() if s >= float(self.weights.get("chain_share", 0.0))]
        unled = [c for c in own if c not in self.led_]
        scored = []
        for i, p in enumerate(self.parks_):
            if not all_parks and not self.landing_[i]:
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
        strong = {r[2] for r in scored if set(r[4]) & set(own) or r[2] in met or f"l{r[2]}" in lead_spotted}
        shown = self._spread(scored, k, strong)
        wanted = [r for r in scored if intent and intent in (self.parks_[r[2]]["name"], self.parks_[r[2]].get("new_city"))]
        asked = {r[2] for r in wanted}
        added = None
        if wanted and k > 0 and not any(r[2] in asked for r in shown):
            added = wanted[0][2]
            shown = shown[:k - 1] + wanted[:1]  # the place the firm asked for, with its own (lower) fit
        for _, name, i, parts, matched in shown:  # evidence only for the parks shown
            p = self.parks_[i]
            lead_words = [w for w in lead_spotted.get(f"l{i}", [])]
            named = [c for c in matched if c in own]
            hits.append(Hit(kind="park", target=name, label=name, parts=parts,
                            data={"new_city": p.get("new_city"), "city": p.get("city"), "kind": p.get("kind"),
                                  "landing": bool(self.landing_[i]), "members": list(p.get("members") or []),
                                  "chains": named, "needs": met.get(i, [])[:3], "asked": said.get(i, [])[:4],
                                  "lead": lead_words[:3], "lead_industries": list(p.get("lead_industries", []))[:3],
                                  "cluster": self._cluster(named or unled), "confidence": p.get("confidence"),
                                  "unled": [] if named else unled[:2],
                                  "intent": i in asked,
                                  "by_intent": i == added}))
        return hits

    def _spread(self, scored: list[tuple[Any, ...]], k: int, strong: set[int]) -> list[tuple[Any, ...]]:
        """The first k of ``scored``: at most ``per_city`` places of one new city ahead of the other new cities,
        and places without direct evidence (``strong``: a lead chain, a need or a lead industry named) last.

        The best place stays first; the officer sees alternatives in other new cities instead of five parks of one,
        but never a place with no evidence ahead of one with evidence.
        """
        cap = int(self.weights.get("per_city", 0))
        if cap <= 0:
            return scored[:k]
        shown, held, weak = [], [], []
        per: dict[str, int] = {}
        for row in scored:
            city = self.parks_[row[2]].get("new_city") or self.parks_[row[2]]["name"]
            if row[2] not in strong:
                weak.append(row)
            elif per.get(city, 0) < cap:
                per[city] = per.get(city, 0) + 1
                shown.append(row)
            else:
                held.append(row)
        return (shown + held + weak)[:k]

    def _cluster(self, chains: list[str]) -> list[str]:
        """Main-city and 咸阳 parks (not 承接地, not in a 组团) where the firm's chains already cluster: context only."""
        if not chains:
            return []
        context = self.__dict__.get("_context")  # parks that can be context: the same for every firm
        if context is None:
            in_group = {m for i, p in enumerate(self.parks_) if self.landing_[i] for m in p.get("members") or []}
            context = self.__dict__["_context"] = [p for i, p in enumerate(self.parks_)
                                                   if not self.landing_[i] and p["name"] not in in_group]
        return [p["name"] for p in context if any(c in p.get("lead_chains", []) for c in chains)][:2]

    def rank_many(self, texts: list[str], chain_hits: list[list[Hit]], k: int = 5, park: str | None = None,
                  vectors: np.ndarray | None = None, all_parks: bool = False,
                  intents: list[str] | None = None) -> list[list[Hit]]:
        """``rank`` for many firms: park BM25 in one product, embeddings passed in or computed once (``intents``:
        per firm, where it says it wants to go)."""
        if vectors is None and self.embedder_ is not None:
            vectors = self.embedder_.encode(texts)
        lead = self.lexical_.scores_many([self.tokenizer_(t) for t in texts])
        return [self.rank(t, hits, k=k, park=park, all_parks=all_parks,
                          vector=None if vectors is None else vectors[i], lead_scores=lead[i],
                          intent=intents[i] if intents else None)
                for i, (t, hits) in enumerate(zip(texts, chain_hits))]

    def rank_new_cities(self, text: str, chain_hits: list[Hit]) -> list[tuple[str, float]]:
        """The five new cities ordered by their best landing place (the new city itself included)."""
        best: dict[str, float] = {}
        for h in self.rank(text, chain_hits, k=len(self.parks_)):
            city = h.data.get("new_city")
            if city and h.score > best.get(city, -1.0):
                best[city] = h.score
        return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))

"""GB/T 4754-2017 小类 classification: class-level and item-level BM25, dense similarity, a 战新 prior and the firm's
chain (the classes the knowledge base lists for it), fused."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from matcher import paths
from matcher.files import file_digest
from matcher.knowledge import gbt
from matcher.knowledge.gbt import note_items
from matcher.match.config import default_config
from matcher.match.embed import Embedder
from matcher.match.index import DenseIndex, LexicalIndex, top_rows
from matcher.match.keywords import KeywordMatcher
from matcher.match.results import Hit
from matcher.match.text import Tokenizer, normalize

TERMS_FILE = "industry_terms.json"


def terms_digest(path: Path | None = None) -> str:
    """Short hash of the expansion table: part of the build keys, so an edited table takes effect."""
    return file_digest(path or paths.DATA_DIR / TERMS_FILE)


class TermsError(ValueError):
    """The expansion table is unreadable or malformed; the message names the file and the term."""


def load_terms(path: Path | None = None) -> dict[str, list[str]]:
    """The expansion table (``data/industry_terms.json``): term → the class notes' wording for it.

    Raises:
        TermsError: unreadable JSON, no ``expansions`` object, or a term whose wording is not a list of texts.
    """
    file = path or paths.DATA_DIR / TERMS_FILE
    if not file.exists():
        return {}
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TermsError(f"{file}：无法读取行业说法对照表（{exc}）") from exc
    table = raw.get("expansions") if isinstance(raw, dict) else None
    if not isinstance(table, dict):
        raise TermsError(f"{file}：缺少 expansions 对象")
    for term, wording in table.items():
        if not str(term).strip() or not isinstance(wording, list) or not wording \
                or not all(isinstance(w, str) and w.strip() for w in wording):
            raise TermsError(f"{file} 说法「{term}」：对应的规范说法应为非空文本列表")
    return dict(table)


_SPLIT = re.compile(r"[;；、\n]+")
# A firm that says it trades: only then are 批发和零售业 classes its own (a dairy is no 乳制品批发).
_TRADES = re.compile(r"批发|零售|销售|经销|代理|贸易|商贸|卖|电商|超市|门店|专卖|4S|进出口|外贸|跨境")
# A firm whose main line is a service and that never says it makes anything: then 制造业 classes are not its own
# (金属3D打印打样服务 is no printer maker, a fabless 芯片设计 house no fab); a device named for its use (检测仪,
# 运营平台 beside a 充电桩) does not count.
_SERVES = re.compile(r"(?:服务|设计|集成商|系统集成|平台|外包|咨询|检测|校准|认证|代理|机构|工作室|运营|fabless|CRO|SaaS|软件)"
                     r"(?![仪器机]|设备|装置|系统)", re.IGNORECASE)
_MAKES = re.compile(r"生产|制造|加工|产线|工厂|厂|产能|年产|量产|整机|封装|封测|组装|代工|OEM|ODM|EMS|[万千]吨|GW",
                    re.IGNORECASE)



def _sei_names(row: dict[str, Any]) -> list[str]:
    raw = row.get("tag_paths") or ""
    if not raw:
        return []
    try:
        tp = json.loads(raw).get("strategic")
    except (json.JSONDecodeError, AttributeError):
        return []
    if not tp:
        return []
    names = [p.split(" > ")[-1] for p in (tp[1] or [])]
    return names or [tp[0].split(" > ")[-1]]


class IndustryClassifier:
    """Rank the 1,382 GB/T 4754 小类 for a text.

    Args:
        weights: fusion weights of the parts ``lexical`` (class documents), ``items`` (best item per query item),
            ``dense`` (embedding cosine), ``prior`` (class tagged 战略性新兴产业), ``chain`` (1 for a class the
            knowledge base lists for the firm's first named chain), ``trade`` (−1 for a class of 批发和零售业
            when the text never says the firm sells) and ``service`` (−1 for a class of 制造业 when the firm's first
            item is a service and the text never says it makes anything).
        holdout: normalised texts of 战新 product lists to leave out of the documents (honest evaluation).
    """

    def __init__(self, weights: dict[str, float] | None = None, holdout: set[str] | None = None) -> None:
        self.weights = dict(weights if weights is not None else default_config().industries)
        self.holdout = holdout or set()

    def __getstate__(self) -> dict[str, Any]:
        # The embedder is shared and reloaded by the owner; never pickled with the index.
        return {k: v for k, v in self.__dict__.items() if k not in ("embedder_", "_item_memo")}

    @staticmethod
    def vocabulary() -> list[str]:
        """The class names and 战新 product names: terms a tokenizer for the class documents must keep whole."""
        tag_paths = {r["code"]: r for r in gbt._rows(str(gbt.GB_DIR))}
        rows = gbt.gb_classes()
        return [r["name"] for r in rows] + [n for r in rows for n in _sei_names(tag_paths[r["code"]])]

    def fit(self, embedder: Embedder | None, tokenizer: Tokenizer | None = None) -> IndustryClassifier:
        """Build class and item indexes from the shipped GB/T 4754 notes and 战新 crosswalk.

        Args:
            tokenizer: the engine's (its dictionary holds the knowledge base's chain terms too, so that 乳制品加工
                reads 乳制品 + 加工, not 乳 + the class-name fragment 制品加工); default one over ``vocabulary``.
        """
        rows = gbt.gb_classes()
        tag_paths = {r["code"]: r for r in gbt._rows(str(gbt.GB_DIR))}
        for r in rows:
            r["tag_paths"] = tag_paths[r["code"]].get("tag_paths", "")
        by_code = {r["code"]: r for r in rows}
        extra: dict[str, list[str]] = {}
        for r in gbt.sei_rows():
            text = "；".join(r["products"])
            if normalize(text) in self.holdout:
                continue
            extra.setdefault(r["gb_code"], []).append(text)
        table = load_terms()
        self.expansions_ = {normalize(t).lower(): v for t, v in table.items()}
        self.terms_ = KeywordMatcher(((t, t) for t in table), whole_words=True)
        self.codes_ = [r["code"] for r in rows]
        self.names_ = [r["name"] for r in rows]
        self.tokenizer_ = tokenizer or Tokenizer(self.vocabulary())
        docs, item_text, item_class = [], [], []
        for ci, r in enumerate(rows):
            sei = _sei_names(r)
            desc = normalize(r.get("description", "")).split("◆")[0]
            parent = r.get("group") or ""
            docs.append(" ".join([r["name"]] * 3 + [parent, desc] + sei * 2 + extra.get(r["code"], [])))
            items = {r["name"], *note_items(r.get("description", "")), *sei}
            for p in extra.get(r["code"], []):
                items.update(x.strip() for x in _SPLIT.split(p) if x.strip())
            for it in sorted(items):
                item_text.append(it)
                item_class.append(ci)
        # A class name's long term is read in parts too ("重卡零部件" names 零部件 of 汽车零部件及配件制造, a term
        # the dictionary keeps whole); notes and queries by their own words.
        tok = self.tokenizer_
        self.lexical_ = LexicalIndex().fit([tok(d) + tok.parts(r["name"]) for d, r in zip(docs, rows)])
        self.item_text_ = item_text
        self.item_class_ = np.asarray(item_class)
        self.items_ = LexicalIndex().fit([tok(t) + tok.parts(t) for t in item_text])
        self.prior_ = np.array([1.0 if "strategic" in r.get("tags", []) else 0.0 for r in rows], dtype=np.float32)
        # the trade part of a text that never says the firm sells: −1 on each class of 批发和零售业 (门类 F)
        self.untraded_ = -np.array([r.get("section") == "F" for r in rows], dtype=np.float32)
        # the service part of a text that says the firm serves and never that it makes: −1 on 制造业 (门类 C)
        self.unmade_ = -np.array([r.get("section") == "C" for r in rows], dtype=np.float32)
        self.embedder_ = embedder
        self.dense_ = DenseIndex("numpy").fit(embedder.encode(docs)) if embedder is not None else None
        self.by_code_ = by_code
        return self

    def score_parts(self, text: str, vector: np.ndarray | None = None
                    ) -> tuple[dict[str, np.ndarray], dict[int, list[str]]]:
        """Each part's score over all classes (each in 0..1), and per class (index) the query items that matched."""
        return self.score_parts_many([text], None if vector is None else vector.reshape(1, -1))[0]

    def score_parts_many(self, texts: list[str], vectors: np.ndarray | None = None
                         ) -> list[tuple[dict[str, np.ndarray], dict[int, list[str]]]]:
        """``score_parts`` for many texts: class BM25 in one product, each distinct item scored once.

        Args:
            vectors: the texts' embeddings when the caller has them (rows in ``texts`` order).
        """
        n = len(self.codes_)
        texts = [self.expand(t) for t in texts]
        lex = self.lexical_.scores_many([self.tokenizer_(t) for t in texts])
        item_lists = [([x.strip() for x in _SPLIT.split(normalize(t)) if x.strip()] or [t])[:60] for t in texts]
        best = self._best_items({q for items in item_lists for q in items})
        use_dense = self.dense_ is not None and self.embedder_ is not None and self.weights.get("dense", 0) > 0
        if use_dense and vectors is None:
            vectors = self.embedder_.encode(texts)  # type: ignore[union-attr]
        nothing = np.zeros(n, dtype=np.float32)  # a part that does not apply (read only)
        out = []
        for r, items in enumerate(item_lists):
            acc = np.zeros(n, dtype=np.float32)
            evidence: dict[int, list[str]] = {}
            found = [best[q] for q in items]
            for q, (classes, _) in zip(items, found):
                if len(classes):
                    evidence.setdefault(int(classes[0]), []).append(q)
            if any(len(c) for c, _ in found):
                # Each item adds, per class, its best matching note item's score (several notes can share a class).
                item = np.repeat(np.arange(len(found)), [len(c) for c, _ in found])
                cls = np.concatenate([c for c, _ in found]).astype(np.int64)
                val = np.concatenate([v for _, v in found])
                key = item * n + cls
                order = np.lexsort((-val, key))
                first = np.ones(len(order), dtype=bool)
                first[1:] = key[order][1:] != key[order][:-1]
                np.add.at(acc, cls[order][first], val[order][first])
            acc /= max(len(items), 1)
            dense = np.zeros(n, dtype=np.float32)
            if use_dense and vectors is not None:
                dense = np.clip(self.dense_.all_scores(vectors[r]), 0, None)  # type: ignore[union-attr]
            # a class of 批发和零售业 for a firm that never says it sells: the trade part takes weight off it
            trade = self.untraded_ if not _TRADES.search(texts[r]) else nothing
            serves = _SERVES.search(items[0]) and not _MAKES.search(texts[r])
            service = self.unmade_ if serves else nothing
            out.append(({"lexical": _unit(lex[r]), "items": acc, "dense": dense, "prior": self.prior_,
                         "trade": trade, "service": service}, evidence))
        return out

    def _best_items(self, items: set[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per query item: the classes of its five best-matching note items (and any tied with the fifth), with scores
        relative to the best.

        Item phrases such as 集成电路 recur across the firms of a batch, so results are remembered (bounded).
        """
        memo = self.__dict__.setdefault("_item_memo", {})
        todo = sorted(q for q in items if q not in memo)
        if todo:
            if len(memo) > 200_000:
                memo.clear()
            for q, (ids, s) in zip(todo, self.items_.search_many([self.tokenizer_(q) for q in todo], 5, ties=True)):
                memo[q] = (self.item_class_[ids], (s / s[0]).astype(np.float32)) if len(ids) else (ids, s)
        return {q: memo[q] for q in items}

    def expand(self, text: str) -> str:
        """The text with the class notes' wording for the abbreviations and everyday words it uses
        (``data/industry_terms.json``): the notes say 印制电路板 and 乳粉 where firms say PCB and 奶粉."""
        spotter = getattr(self, "terms_", None)
        if spotter is None:  # a build saved before the table
            return text
        found = [x for w in spotter.find(text) for x in self.expansions_.get(w, []) if x not in text]
        return f"{text}、{'、'.join(dict.fromkeys(found))}" if found else text

    def rank(self, text: str, k: int = 5, parts: tuple[str, ...] | None = None) -> list[Hit]:
        """Top-k classes with fused scores; ``parts`` restricts the fusion (e.g. lexical-only for evaluation)."""
        return self.rank_many([text], k, parts)[0]

    def rank_many(self, texts: list[str], k: int = 5, parts: tuple[str, ...] | None = None,
                  vectors: np.ndarray | None = None,
                  chains: list[dict[str, str]] | None = None) -> list[list[Hit]]:
        """``rank`` for many texts at once.

        Args:
            vectors: the texts' embeddings, when already computed.
            chains: per text, class code → chain for the classes of the firm's chain (``chain_classes``): the
                ``chain`` part, 0 when not given.
        """
        use = parts or tuple(self.weights)
        out: list[list[Hit]] = []
        for r, (scores, evidence) in enumerate(self.score_parts_many(texts, vectors)):
            by_chain = chains[r] if chains else {}
            scores["chain"] = self._chain_part(by_chain)
            total = sum(self.weights[p] * scores[p] for p in use)
            if not np.any(total > 0):
                out.append([])
                continue
            order = top_rows(np.arange(len(self.codes_)), np.asarray(total), k)  # equal totals in class order
            # each part at the classes shown, weighted as in the total (read as Python floats in one step per part)
            shown = {p: (self.weights[p] * scores[p][order]).tolist() for p in use}
            hits = []
            for j, i in enumerate(order):
                code = self.codes_[i]
                data = {"code": code, "name": self.names_[i], "evidence": evidence.get(int(i), [])[:5]}
                if "chain" in use and self.weights.get("chain") and code in by_chain:
                    data["chain"] = by_chain[code]
                hits.append(Hit(kind="industry", target=code, label=f"{code} {self.names_[i]}",
                                parts={p: shown[p][j] for p in use}, data=data))
            out.append(hits)
        return out

    def _chain_part(self, by_chain: dict[str, str]) -> np.ndarray:
        """The ``chain`` part over all classes: 1 for each class the firm's chain lists."""
        part = np.zeros(len(self.codes_), dtype=np.float32)
        if by_chain:
            # built on first use: builds saved before the chain part hold no index
            index = self.__dict__.get("_code_index")
            if index is None:
                index = self.__dict__["_code_index"] = {c: i for i, c in enumerate(self.codes_)}
            part[[index[c] for c in by_chain if c in index]] = 1.0
        return part


def chain_classes(chain_hits: list[Hit], gb_codes: dict[str, list[str]]) -> dict[str, str]:
    """Class code → chain for the classes the knowledge base lists (``gb_codes``: chain → codes) for the firm's
    chain, the first of its named chains (a second chain is often a neighbour: 陶瓷基复合材料 beside a SiC device)."""
    if not chain_hits:
        return {}
    chain = chain_hits[0].target
    return {code: chain for code in gb_codes.get(chain, [])}


def _unit(s: np.ndarray) -> np.ndarray:
    m = float(s.max()) if s.size else 0.0
    return s / m if m > 0 else s

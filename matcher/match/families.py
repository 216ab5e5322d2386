"""What goes into what: product families, the words firms use for them, and each family's inputs.

The table is data (``data/inputs.json``, staff may edit it). A product item belongs to the families whose words it
names as whole words; its head word — the last one, since a Chinese product name ends in what the thing is
(乳品超高温瞬时灭菌机 is a 灭菌机) — counts fully, the other words in it a little. A buyer's suppliers are the firms
of its families' inputs; its customers are the firms of the families that take its own as an input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from matcher import paths
from matcher.files import file_digest
from matcher.match.kernels import family_best
from matcher.match.keywords import KeywordMatcher

INPUTS_FILE = "inputs.json"


class TableError(ValueError):
    """The input table is unreadable or inconsistent; the message names the file, the family and the field."""


def table_digest(path: str | Path | None = None) -> str:
    """Short hash of the input table: part of the build key, so an edited table rebuilds the index."""
    return file_digest(Path(path) if path else paths.DATA_DIR / INPUTS_FILE)


class InputTable:
    """Product families with their words and inputs, and the firms' membership in them.

    Args:
        families: ``[{"name", "words": [...], "inputs": [family names]}]``.
        other_word: weight of a family named by a word that is not the item's head word.
        rank_decay: the i-th input of a family weighs ``1 / (1 + rank_decay * i)`` (main inputs are listed first).
        source: where the table came from (shown with the evidence).
    """

    def __init__(self, families: list[dict[str, Any]], other_word: float = 0.2, rank_decay: float = 0.05,
                 source: str = "") -> None:
        self.names = [f["name"] for f in families]
        self.index = {n: i for i, n in enumerate(self.names)}
        self.other_word = other_word
        self.source = source
        self.matcher = KeywordMatcher(((w, str(i)) for i, f in enumerate(families) for w in f["words"]),
                                      whole_words=True)
        n = len(families)
        self.inputs = np.zeros((n, n), dtype=np.float32)  # inputs[F, G]: G goes into F
        for i, f in enumerate(families):
            for rank, g in enumerate(f["inputs"]):
                self.inputs[i, self.index[g]] = 1.0 / (1.0 + rank_decay * rank)

    @classmethod
    def load(cls, path: str | Path | None = None, **kwargs: float) -> InputTable:
        """Read and check the table (default ``data/inputs.json``).

        Raises:
            TableError: unreadable JSON, a family without a name or words, a repeated name, or an input that is no
                family of the table.
        """
        file = Path(path) if path else paths.DATA_DIR / INPUTS_FILE
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TableError(f"{file}：无法读取投入品关系表（{exc}）") from exc
        families = raw.get("families") if isinstance(raw, dict) else None
        if not isinstance(families, list):
            raise TableError(f"{file}：缺少 families 列表")
        names: set[str] = set()
        for k, f in enumerate(families, 1):
            where = f"{file} 第 {k} 个产品族"
            if not isinstance(f, dict) or not str(f.get("name") or "").strip():
                raise TableError(f"{where}：name 为空")
            if f["name"] in names:
                raise TableError(f"{where}（{f['name']}）：name 重复")
            names.add(f["name"])
            for field in ("words", "inputs"):
                if not isinstance(f.get(field, []), list) or not all(isinstance(x, str) for x in f.get(field, [])):
                    raise TableError(f"{where}（{f['name']}）：{field} 应为字符串列表")
            if not f.get("words"):
                raise TableError(f"{where}（{f['name']}）：words 为空")
        for k, f in enumerate(families, 1):
            for g in f.get("inputs", []):
                if g not in names:
                    raise TableError(f"{file} 第 {k} 个产品族（{f['name']}）：inputs 中的「{g}」不是表中的产品族")
        families = [{"name": f["name"], "words": f["words"], "inputs": f.get("inputs", [])} for f in families]
        return cls(families, source=str(raw.get("source") or ""), **kwargs)

    def item_families(self, item: str) -> dict[int, tuple[float, str]]:
        """Families an item names: family → (weight, the word naming it); the head word weighs 1."""
        cache = self.__dict__.setdefault("_seen", {})  # product names repeat across firms and queries
        found = cache.get(item)
        if found is None:
            if len(cache) > 200_000:
                cache.clear()
            found = cache[item] = self._item_families(item)
        return found

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_seen"}  # a saved build holds no cache

    def _item_families(self, item: str) -> dict[int, tuple[float, str]]:
        spans = self.matcher.spans(item)
        if not spans:
            return {}
        head_end = max(e for _, e, _ in spans)
        out: dict[int, tuple[float, str]] = {}
        for _, e, word in spans:
            w = 1.0 if e == head_end else self.other_word
            for label in self.matcher.labels[word]:
                f = int(label)
                if w > out.get(f, (0.0, ""))[0]:
                    out[f] = (w, word)
        return out

    def member(self, items: list[str], decay: float) -> np.ndarray:
        """How much a firm belongs to each family: per family the best item, the i-th item weighing 1/(1+decay*i)."""
        v = np.zeros(len(self.names), dtype=np.float32)
        for i, item in enumerate(items):
            at = 1.0 / (1.0 + decay * i)
            for f, (w, _) in self.item_families(item).items():
                v[f] = max(v[f], at * w)
        return v

    def membership(self, item_lists: list[list[str]], decay: float) -> sparse.csr_matrix:
        """Firms × families membership (sparse: a firm names a few families)."""
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for r, items in enumerate(item_lists):
            v = self.member(items, decay)
            nz = np.flatnonzero(v)
            rows += [r] * len(nz)
            cols += nz.tolist()
            vals += v[nz].tolist()
        return sparse.csr_matrix((np.array(vals, dtype=np.float32), (rows, cols)),
                                 shape=(len(item_lists), len(self.names)))

    def evidence(self, items: list[str], family: int, prefer: str = "") -> tuple[str, str] | None:
        """(item, word) by which a product list names a family: an item naming it by the word ``prefer`` (the word
        the other side used) first, else the earliest item."""
        first = None
        for item in items:
            hit = self.item_families(item).get(family)
            if hit:
                if prefer and hit[1] == prefer:
                    return item, hit[1]
                if first is None:
                    first = (item, hit[1])
                    if not prefer:
                        break  # the earliest item is the answer
        return first


def best_of_sparse(by_family: sparse.csc_matrix, wanted: np.ndarray,
                   bufs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per firm of a wanted family, its best wanted family (membership × weight) plus a tenth of the sum over its
    families; as (firm rows, in no set order; scores), other firms scoring 0.

    The maximum keeps a firm that lists many trades from outscoring one that is squarely in the wanted family; the
    small sum breaks ties in favour of firms that offer more of what is wanted. ``by_family`` is the membership in
    column order: only the firms of the few wanted families are touched (:func:`matcher.match.kernels.family_best`).
    ``bufs``: two zeroed float32 rows and a zeroed bool row over all firms to work in (left zeroed; a large register
    makes new ones costly).
    """
    n = by_family.shape[0]
    if n == 0 or not wanted.any():
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    top, total, touched = bufs if bufs is not None else work_rows(n)
    return family_best(by_family.indptr, by_family.indices, by_family.data, wanted, top, total, touched)


def work_rows(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two zeroed float32 rows and a zeroed bool row over ``n`` firms: what the scoring loops work in."""
    return np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.float32), np.zeros(n, dtype=bool)


def family_score(top: np.ndarray, total: np.ndarray) -> np.ndarray:
    """A firm's score for the wanted families: its best one plus a tenth of the sum (see ``best_of_sparse``)."""
    return top + np.float32(0.1) * total


def best_of(by_family: sparse.csc_matrix, wanted: np.ndarray) -> np.ndarray:
    """``best_of_sparse`` as one score per firm (0 for firms of no wanted family)."""
    out = np.zeros(by_family.shape[0], dtype=np.float32)
    firms, scores = best_of_sparse(by_family, wanted)
    out[firms] = scores
    return out

"""Exact keyword spotting (every substring up to the longest keyword), fast enough for batch runs over many firms."""

from __future__ import annotations

import re
from collections.abc import Iterable

import ahocorasick

from matcher.match.text import Normalized, normalize

_ITEM_SPLIT = re.compile(r"[、,，;；。\n/|]+")


def split_items(text: str) -> tuple[str, list[str]]:
    """(firm name, product or business items) of a profile like ``某公司，主营产品：A、B、C``."""
    t = normalize(text)
    name = ""
    for marker in ("主营产品", "主要产品", "主营业务", "经营范围"):
        if marker in t:
            name, _, t = t.partition(marker)
            name = name.strip("，,:：。 ")
            t = t.strip(":： ")
            break
    items: list[str] = [Normalized(x.strip()) for x in _ITEM_SPLIT.split(t) if x.strip()]
    return Normalized(name), items


class KeywordMatcher:
    """Find which known keywords occur in a text; each keyword maps to one or more labels.

    Args:
        keywords: (keyword, label) pairs; keywords shorter than two characters are ignored.
    """

    def __init__(self, keywords: Iterable[tuple[str, str]]) -> None:
        self.labels: dict[str, set[str]] = {}
        for word, label in keywords:
            w = normalize(word).lower()
            if len(w) >= 2:
                self.labels.setdefault(w, set()).add(label)
        # Aho–Corasick finds every keyword in one pass over the text, overlapping hits included.
        self._automaton = ahocorasick.Automaton()
        for w in self.labels:
            self._automaton.add_word(w, w)
        if self.labels:
            self._automaton.make_automaton()

    def find(self, text: str) -> list[str]:
        """Keywords found in ``text`` (longest first, a keyword inside a longer hit still counts)."""
        if not self.labels:
            return []
        found = {w for _, w in self._automaton.iter(normalize(text).lower())}
        return sorted(found, key=lambda w: (-len(w), w))

    def labels_of(self, text: str) -> dict[str, list[str]]:
        """label → keywords of that label found in ``text``."""
        out: dict[str, list[str]] = {}
        for w in self.find(text):
            for label in self.labels[w]:
                out.setdefault(label, []).append(w)
        return out

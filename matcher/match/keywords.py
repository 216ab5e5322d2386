"""Exact keyword spotting on whole words, fast enough for batch runs over many firms.

Aho–Corasick finds every known word in one pass; a hit that lies inside a longer known word is not evidence of its
own (钙钛矿 is no 钛, 激光芯片 is no 芯片), and Latin terms must stand as words (the IC of SiC, the EMS of MEMS).
"""

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


def _may_clash(ch: str) -> bool:
    """Whether a word's first or last character can be glued to its neighbour (a Latin letter or a digit)."""
    return (ch.isascii() and ch.isalpha()) or ch.isdigit()


def _latin_boundary(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] stands as a word: no letter glued to a letter, no digit glued to a digit."""
    first, last = text[start], text[end - 1]
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "

    def clash(a: str, b: str) -> bool:
        return (a.isascii() and a.isalpha() and b.isascii() and b.isalpha()) or (a.isdigit() and b.isdigit())

    return not clash(before, first) and not clash(last, after)


class KeywordMatcher:
    """Find which known keywords occur in a text as whole words; each keyword maps to one or more labels.

    Args:
        keywords: (keyword, label) pairs; keywords shorter than two characters are ignored.
        words: other known words (no label): a keyword found inside one of them does not count.
        whole_words: apply the whole-word rules; off, every occurrence counts (a keyword inside a longer one too).
    """

    def __init__(self, keywords: Iterable[tuple[str, str]], words: Iterable[str] = (), whole_words: bool = False) -> None:
        self.whole_words = whole_words
        self.labels: dict[str, set[str]] = {}
        for word, label in keywords:
            w = normalize(word).lower()
            if len(w) >= 2:
                self.labels.setdefault(w, set()).add(label)
        known = set(self.labels) | {w for w in (normalize(x).lower() for x in words) if len(w) >= 2}
        # Aho–Corasick finds every known word in one pass over the text, overlapping hits included.
        self._automaton = ahocorasick.Automaton()
        for w in known:
            self._automaton.add_word(w, w)
        if known:
            self._automaton.make_automaton()
        self._empty = not known
        self._edged = self._edged_words(known)

    @staticmethod
    def _edged_words(known: Iterable[str]) -> frozenset[str]:
        """The known words that begin or end with a Latin letter or a digit: only their hits need a boundary check
        (a hit of 碳化硅 cannot be glued to anything)."""
        return frozenset(w for w in known if _may_clash(w[0]) or _may_clash(w[-1]))

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, keyword) of every keyword hit; with ``whole_words``, only whole words not inside longer ones."""
        if self._empty:
            return []
        low = normalize(text).lower()
        hits = [(end + 1 - len(w), end + 1, w) for end, w in self._automaton.iter(low)]
        if not self.whole_words:
            return [h for h in hits if h[2] in self.labels]
        edged = self.__dict__.get("_edged")
        if edged is None:  # a matcher saved before the set was kept: built once from its automaton
            edged = self._edged = self._edged_words(self._automaton.keys())
        hits = [h for h in hits if h[2] not in edged or _latin_boundary(low, h[0], h[1])]
        # Longest first: a hit strictly inside an accepted longer word is part of that word, not a word of its own.
        hits.sort(key=lambda h: (h[0] - h[1], h[0]))
        kept: list[tuple[int, int, str]] = []
        for s, e, w in hits:
            if any(ks <= s and e <= ke and (ke - ks) > (e - s) for ks, ke, _ in kept):
                continue
            kept.append((s, e, w))
        return [(s, e, w) for s, e, w in kept if w in self.labels]

    def find(self, text: str) -> list[str]:
        """Keywords found in ``text`` as whole words (longest first)."""
        found = {w for _, _, w in self.spans(text)}
        return sorted(found, key=lambda w: (-len(w), w))

    def labels_of(self, text: str) -> dict[str, list[str]]:
        """label → keywords of that label found in ``text``."""
        out: dict[str, list[str]] = {}
        for w in self.find(text):
            for label in self.labels[w]:
                out.setdefault(label, []).append(w)
        return out

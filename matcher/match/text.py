"""Chinese text pipeline: normalisation, jieba segmentation with a domain dictionary, stop-words."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import zhconv

# jieba_fast is jieba with its dictionary lookups in C: the same dictionary and algorithm, 2–3× faster; the only
# difference is which of two equally scored splits wins a tie (1 % of generated firm texts, no change on the dev sets).
try:
    import jieba_fast as jieba
except ImportError:  # pragma: no cover - depends on what is installed
    import jieba  # type: ignore[no-redef]

jieba.setLogLevel(logging.WARNING)

# Boilerplate of 经营范围 and company names: frequent, carries no industry signal.
STOPWORDS = frozenset(
    """
    的 和 与 及 或 等 其 在 为 对 了 是 以 于 由 从 向 之 并 且 含 除 外 上述 相关 有关 其他 其它 各类 各种 一般 主要
    产品 业务 项目 服务 经营 销售 生产 制造 加工 研发 开发 技术 咨询 批发 零售 代理 进出口 货物 许可 批准 依法 须经
    部门 开展 活动 方可 凭 证件 未经 不得 有效期 范围 企业 公司 有限 有限公司 股份 股份有限公司 集团 责任 分公司
    主营 主营产品 包括 以及 用于 用 类 个 种 家 年 亿元 万元 需要 寻求 计划 拟 希望 关注 从事 建设 新建 设立
    一家 企业 西安 咸阳 陕西 西咸 新区 中国 省 市 区 县
    """.split()
)

_PUNCT = re.compile(r"[\s,，.。;；:：、/|()（）\[\]【】<>《》\"'“”‘’!！?？·•…~\-—_=+*&^%$#@`]+")
_WS = re.compile(r"\s+")
_MEMO_SIZE = 200_000  # distinct chunks remembered per tokenizer (≈ 60 MB), then forgotten


_BASE_LOCK = threading.Lock()
_BASE: tuple[dict[str, int], int] | None = None


def _base_dictionary() -> tuple[dict[str, int], int]:
    """jieba's own dictionary (word → frequency, total), read once per process for every tokenizer.

    Reading it takes ≈ 1.5 s and each model (embedding, classes, lexical index) has its own tokenizer; workers
    forked after the first read inherit it.
    """
    global _BASE
    with _BASE_LOCK:
        if _BASE is None:
            base = jieba.Tokenizer()
            base.initialize()
            _BASE = (base.FREQ, base.total)
        return _BASE


class Normalized(str):
    """Text already in canonical form: ``normalize`` returns it as it is instead of converting it again.

    One firm's text passes through several steps (chain model, keyword spotting, segmentation) that each normalise
    their input; over a register of 100k firms the repeated conversions were a third of indexing time.
    """

    __slots__ = ()


def normalize(text: object) -> str:
    """Full-width → half-width, traditional → simplified, collapsed whitespace; the canonical form for matching."""
    if text is None:
        return ""
    if type(text) is Normalized:
        return text
    return _normalize(str(text))


def clip(text: str, n: int) -> Normalized:
    """The first ``n`` characters of normalised text, still marked as normalised."""
    return Normalized(normalize(text)[:n].rstrip())


class _Simplifier:
    """zhconv's zh-cn conversion, skipped (with the same result) for text it would leave unchanged.

    The pure-Python conversion dominated indexing time, yet most firm texts are already simplified. A text without
    any single traditional character can only change through the few hundred phrase entries made of other
    characters (公尺 → 米, 回覆 → 回复); one Aho–Corasick pass finds whether any of them occurs.
    """

    def __init__(self) -> None:
        import ahocorasick
        from zhconv import zhconv as tables

        table = tables.getdict("zh-cn")
        self.single = frozenset(k for k, v in table.items() if len(k) == 1 and k != v)
        self.phrases = ahocorasick.Automaton()
        for k, v in table.items():
            if len(k) > 1 and k != v and self.single.isdisjoint(k):
                self.phrases.add_word(k, k)
        self.phrases.make_automaton()

    def __call__(self, s: str) -> str:
        if self.single.isdisjoint(s) and next(self.phrases.iter(s), None) is None:
            return s
        return zhconv.convert(s, "zh-cn")


@lru_cache(maxsize=1)
def _simplifier() -> _Simplifier:
    return _Simplifier()


@lru_cache(maxsize=10_000)
def _normalize(text: str) -> str:
    # The same texts are normalised by several steps of one match; the cache makes the repeats free.
    s = unicodedata.normalize("NFKC", text)
    s = _simplifier()(s)
    if not s.isprintable():  # control and format characters (category C) removed; tabs and newlines kept
        s = "".join(ch for ch in s if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return Normalized(_WS.sub(" ", s).strip())


class Tokenizer:
    """jieba segmentation with a domain user dictionary, so terms like 碲化镉 or 膜电极 stay whole.

    Args:
        words: domain terms (chain keywords, GB/T 4754 class names) added to the dictionary.
    """

    def __init__(self, words: Iterable[str] = ()) -> None:
        self.words = sorted({w.strip() for w in words if w and 1 < len(w.strip()) <= 20})
        self._jieba = jieba.Tokenizer()
        self._lock = threading.Lock()
        self._ready = False
        self._memo: dict[str, list[str]] = {}

    def __getstate__(self) -> dict[str, object]:
        # The jieba instance and its lock are rebuilt on first use after unpickling.
        return {"words": self.words}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["words"])  # type: ignore[misc, arg-type]

    def _init(self) -> None:
        with self._lock:
            if self._ready:
                return
            freq, total = _base_dictionary()
            self._jieba.FREQ, self._jieba.total = dict(freq), total  # own copy: domain words are added below
            self._jieba.initialized = True
            for w in self.words:
                for part in _PUNCT.split(normalize(w)):
                    if len(part) > 1:
                        self._jieba.add_word(part.lower(), freq=50000)
            self._ready = True

    def words_of(self, text: str) -> list[str]:
        """Content words of a text, lower-cased, stop-words and punctuation removed."""
        if not self._ready:
            self._init()
        out: list[str] = []
        memo = self._memo
        canonical = type(text) is Normalized
        for raw in _PUNCT.split(str(text)):
            if not raw:
                continue
            words = memo.get(raw)
            if words is None:
                # Business-scope phrases repeat across firms and fields: normalise and segment each distinct chunk once.
                words = [w for piece in _PUNCT.split((raw if canonical else normalize(raw)).lower()) if piece
                         for w in (x.strip() for x in self._jieba.lcut(piece, HMM=False))
                         if w and w not in STOPWORDS and not w.isdigit()]
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                memo[raw] = words
            out.extend(words)
        return out

    def __call__(self, text: str) -> list[str]:
        """Tokens for retrieval: the words, plus the characters of multi-character words as back-off."""
        words = self.words_of(text)
        chars = [c for w in words if len(w) > 1 for c in w if "\u4e00" <= c <= "\u9fff" and c not in STOPWORDS]
        return words + chars

    def parts(self, text: str) -> list[str]:
        """The dictionary words of two and three characters inside each long word of a text, for a document whose
        long terms a query names in part: 汽车零部件及配件制造 holds 汽车, 零部件 and 配件."""
        tokens = self.words_of(text)
        freq = self._jieba.FREQ
        parts = [w[i:i + n] for w in tokens if len(w) >= 4 and all("\u4e00" <= c <= "\u9fff" for c in w)
                 for n in (2, 3) for i in range(len(w) - n + 1)]
        return [p for p in parts if freq.get(p) and p not in STOPWORDS]

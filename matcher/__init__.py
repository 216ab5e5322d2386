"""西咸新区产业链招商匹配: match firms to key chains, GB/T 4754 classes, parks and supply–demand counterparts."""

from typing import Any

from matcher.store import Store

__all__ = ["Matcher", "Store"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The engine pulls in numpy, faiss and the models: loaded on first use, so the CLI and the store start fast.
    if name == "Matcher":
        from matcher.match.engine import Matcher

        return Matcher
    raise AttributeError(name)

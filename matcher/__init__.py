"""西咸新区产业链招商匹配: match firms to key chains, GB/T 4754 classes, parks and supply–demand counterparts."""

from .store import Store

__all__ = ["Store"]
__version__ = "0.1.0"

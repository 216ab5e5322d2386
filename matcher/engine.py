"""Kept so ``from matcher.engine import Matcher`` goes on working; the engine lives in :mod:`matcher.match.engine`."""

from matcher.match.engine import Matcher

__all__ = ["Matcher"]

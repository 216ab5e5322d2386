"""The store layer: the SQLite database and every SQL statement of the project."""

from matcher.store.database import FEEDBACK_VERDICTS, Store, dumps, now

__all__ = ["FEEDBACK_VERDICTS", "Store", "dumps", "now"]

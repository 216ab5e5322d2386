"""The store layer: the SQLite database and every SQL statement of the project."""

from matcher.store.database import FEEDBACK_VERDICTS, ROLES, PermissionDenied, Store, dumps, now

__all__ = ["FEEDBACK_VERDICTS", "ROLES", "PermissionDenied", "Store", "dumps", "now"]

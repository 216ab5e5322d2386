"""Reading the audit trail: every change, who made it, when, and what it was before and after."""

from __future__ import annotations

import json
from typing import Any

from matcher.store.database import Store


def entries(store: Store, user: str | None = None, since: str | None = None, action: str | None = None,
            limit: int | None = 200) -> list[dict[str, Any]]:
    """Audit entries, newest first, optionally of one user, action (prefix) or from a UTC time on; JSON decoded."""
    where, args = [], []
    if user:
        where.append("user = ?")
        args.append(user)
    if since:
        where.append("at >= ?")
        args.append(since)
    if action:
        where.append("action LIKE ?")
        args.append(action.replace("%", "") + "%")
    rows = store.db["audit"].rows_where(" AND ".join(where) or None, args, order_by="id DESC",
                                        limit=int(limit) if limit else None)
    out = []
    for r in rows:
        r = dict(r)
        for key in ("before", "after"):
            r[key] = json.loads(r[key]) if r.get(key) else None
        out.append(r)
    return out

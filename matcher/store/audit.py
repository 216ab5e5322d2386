"""Reading the audit trail: every change, who made it, when, and what it was before and after."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from matcher.store.database import Store

LOCAL = ZoneInfo("Asia/Shanghai")  # the bureau's local time, in which the trail is shown


def local_time(stamp: str | None, seconds: bool = True) -> str:
    """A stored UTC ISO time as Beijing time in plain form (``2026-11-30 09:46:00``); empty for none."""
    if not stamp:
        return ""
    try:
        t = datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    if t.tzinfo is None:  # stored times are UTC
        t = t.replace(tzinfo=ZoneInfo("UTC"))
    return t.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def since_utc(day: str) -> str:
    """The UTC time at which a local date (``YYYY-MM-DD``, or a date and time) begins; raises ValueError if not a date."""
    return datetime.fromisoformat(day).replace(tzinfo=LOCAL).astimezone(ZoneInfo("UTC")).isoformat()


def entries(store: Store, user: str | None = None, since: str | None = None, action: str | None = None,
            limit: int | None = 200) -> list[dict[str, Any]]:
    """Audit entries, newest first, optionally of one user, action (prefix) or from a UTC time on; JSON decoded.

    Each entry also carries ``at_local``, its time in local time.
    """
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
        r["at_local"] = local_time(r["at"])
        out.append(r)
    return out

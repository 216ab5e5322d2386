"""Knowledge-base versions in the database: each version a full snapshot, plus flat tables of the current one."""

from __future__ import annotations

import json
from typing import Any

from matcher.store.database import Store, dumps, now


def latest_version(store: Store) -> int:
    """The highest stored knowledge-base version; 0 when none is loaded."""
    row = store.db.execute("SELECT max(version) FROM kb_versions").fetchone()
    return int(row[0] or 0)


def write_version(store: Store, snapshot: dict[str, Any], *, author: str, reason: str) -> int:
    """Append one version (who, when, why, the whole snapshot) and refresh the flat tables; returns its number.

    The caller holds the transaction (the version number is read and written inside it).
    """
    v = latest_version(store) + 1
    db = store.db
    db.table("kb_versions").insert({"version": v, "created_at": now(), "author": author, "reason": reason,
                              "snapshot": dumps(snapshot)})
    for table in ("segments", "chains", "systems", "parks"):
        db.execute(f"DELETE FROM {table}")
    db.table("systems").insert_all(
        ({"id": s.get("id"), "name": s.get("name"), "region": s.get("region"), "document": s.get("document"),
          "status": s.get("status"), "as_of": s.get("as_of"), "source": dumps(s.get("source")),
          "confidence": s.get("confidence"), "data": dumps(s)} for s in snapshot["systems"]), replace=True)
    db.table("chains").insert_all(
        ({"name": c.get("name"), "aliases": dumps(c.get("aliases") or []), "gb_codes": dumps(c.get("gb_codes") or []),
          "systems": dumps(c.get("systems") or []), "source": dumps(c.get("source")),
          "confidence": c.get("confidence"), "data": dumps(c)} for c in snapshot["chains"]), replace=True)
    db.table("segments").insert_all(
        {"chain": c.get("name"), "stage": sg.get("stage"), "name": sg.get("name"),
         "keywords": dumps(sg.get("keywords") or [])} for c in snapshot["chains"] for sg in c.get("segments") or [])
    db.table("parks").insert_all(
        ({"name": p.get("name"), "kind": p.get("kind"), "new_city": p.get("new_city"), "city": p.get("city"),
          "lead_chains": dumps(p.get("lead_chains") or []), "source": dumps(p.get("source")),
          "confidence": p.get("confidence"), "data": dumps(p)} for p in snapshot["parks"]), replace=True)
    return v


def version_stamp(store: Store, v: int) -> str | None:
    """When version ``v`` was written, or ``None`` when there is no such version."""
    row = store.db.execute("SELECT created_at FROM kb_versions WHERE version = ?", [int(v)]).fetchone()
    return None if row is None else row[0]


def read_version(store: Store, v: int) -> dict[str, Any]:
    """One stored version: its snapshot with ``version``, ``created_at``, ``author``, ``reason``."""
    row = store.db.execute("SELECT snapshot, created_at, author, reason FROM kb_versions WHERE version = ?",
                           [int(v)]).fetchone()
    return {"version": int(v), **json.loads(row[0]), "created_at": row[1], "author": row[2], "reason": row[3]}


def list_versions(store: Store) -> list[dict[str, Any]]:
    """All versions, oldest first: ``version``, ``created_at``, ``author``, ``reason``."""
    return list(store.db["kb_versions"].rows_where(select="version, created_at, author, reason", order_by="version"))

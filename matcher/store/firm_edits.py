"""Changing stored firms by hand: edit, delete, merge, undo an import, and the sample-firm marks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from matcher.store.database import Store, now

# the fields staff may edit (the rest — source file/row, import times, original values — record where a firm came from)
EDITABLE = ("name", "uscc", "uscc_valid", "region", "district", "description", "products", "needs", "industry",
            "employees", "revenue", "registered_capital")


def firm_row(store: Store, firm_id: int) -> dict[str, Any] | None:
    """One firm's stored columns, or ``None``."""
    rows = list(store.db.query("SELECT * FROM firms WHERE id = ?", [firm_id]))
    return dict(rows[0]) if rows else None


def update_firm(store: Store, firm_id: int, values: dict[str, Any]) -> None:
    """Set some editable columns of one firm (the caller checks and audits)."""
    bad = set(values) - set(EDITABLE)
    if bad:
        raise ValueError(f"这些字段不能修改：{sorted(bad)}")
    if not values:
        return
    cols = list(values)
    with store.transaction() as db:
        db.execute(f"UPDATE firms SET {', '.join(f'{c} = ?' for c in cols)}, updated_at = ? WHERE id = ?",
                   [values[c] for c in cols] + [now(), firm_id])


def delete_firms(store: Store, firm_ids: Sequence[int]) -> int:
    """Delete firms with their sample marks and spillover-list entries; how many were deleted."""
    if not firm_ids:
        return 0
    ids = [int(i) for i in firm_ids]
    marks = ", ".join("?" * len(ids))
    with store.transaction() as db:
        db.execute(f"DELETE FROM sample_firms WHERE firm_id IN ({marks})", ids)
        db.execute(f"DELETE FROM spillover_list WHERE firm_id IN ({marks})", ids)
        cur = db.execute(f"DELETE FROM firms WHERE id IN ({marks})", ids)
        return int(cur.rowcount or 0)


def repoint_firm(store: Store, old: int, new: int) -> None:
    """Make everything that names firm ``old`` (feedback, lists, investments, meetings) name firm ``new``."""
    with store.transaction() as db:
        db.execute("UPDATE feedback SET firm_id = ? WHERE firm_id = ?", [new, old])
        db.execute("UPDATE outward_investments SET firm_id = ? WHERE firm_id = ?", [new, old])
        db.execute("UPDATE event_meetings SET buyer_id = ? WHERE buyer_id = ?", [new, old])
        db.execute("UPDATE event_meetings SET supplier_id = ? WHERE supplier_id = ?", [new, old])
        db.execute("UPDATE event_invitees SET firm_id = ? WHERE firm_id = ?", [new, old])
        kept = db.execute("SELECT 1 FROM spillover_list WHERE firm_id = ?", [new]).fetchone()
        if not kept:
            db.execute("UPDATE spillover_list SET firm_id = ? WHERE firm_id = ?", [new, old])
        db.execute("DELETE FROM sample_firms WHERE firm_id = ?", [old])


def restore_firm(store: Store, values: dict[str, Any]) -> None:
    """Put a firm's earlier column values back (``values`` holds every column, ``id`` included)."""
    cols = [c for c in values if c != "id"]
    with store.transaction() as db:
        db.execute(f"UPDATE firms SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                   [values[c] for c in cols] + [values["id"]])


def import_changes(store: Store, run_id: int) -> list[dict[str, Any]]:
    """What an import did to each firm: ``firm_id``, ``action`` (inserted/updated), ``before`` (decoded)."""
    out = []
    for firm_id, action, before in store.db.execute(
            "SELECT firm_id, action, before FROM import_changes WHERE run_id = ? ORDER BY rowid", [run_id]):
        out.append({"firm_id": firm_id, "action": action, "before": json.loads(before) if before else None})
    return out


def later_imports_touching(store: Store, run_id: int, firm_ids: Sequence[int]) -> list[int]:
    """Later import runs (not undone) that changed any of these firms: an undo would also discard their changes."""
    if not firm_ids:
        return []
    marks = ", ".join("?" * len(firm_ids))
    rows = store.db.execute(
        f"SELECT DISTINCT c.run_id FROM import_changes c JOIN runs r ON r.id = c.run_id WHERE c.run_id > ? "
        f"AND r.status != 'undone' AND c.firm_id IN ({marks}) ORDER BY c.run_id", [run_id, *firm_ids]).fetchall()
    return [int(r[0]) for r in rows]


def set_run_status(store: Store, run_id: int, status: str) -> None:
    """Mark a run (e.g. an undone import)."""
    with store.transaction() as db:
        db.execute("UPDATE runs SET status = ?, ended_at = ? WHERE id = ?", [status, now(), run_id])


# -- sample firms ----------------------------------------------------------------------------------------------------
def mark_samples(store: Store, firm_ids: Sequence[int]) -> None:
    """Mark firms as bundled 示例 firms."""
    with store.transaction() as db:
        db.conn.executemany("INSERT OR IGNORE INTO sample_firms (firm_id) VALUES (?)", [(int(i),) for i in firm_ids])


def sample_ids(store: Store) -> set[int]:
    """The ids of the stored 示例 firms."""
    return {int(r[0]) for r in store.db.execute("SELECT s.firm_id FROM sample_firms s JOIN firms f ON f.id = s.firm_id")}


def count_samples(store: Store) -> int:
    """How many 示例 firms the database holds."""
    return int(store.db.execute(
        "SELECT count(*) FROM sample_firms s JOIN firms f ON f.id = s.firm_id").fetchone()[0])


def firm_history(store: Store, firm_id: int) -> list[dict[str, Any]]:
    """The audit entries about one firm (edits, merges), newest first, before/after decoded."""
    out = []
    for r in store.db["audit"].rows_where("target = ?", [f"企业 {firm_id}"], order_by="id DESC"):
        r = dict(r)
        for key in ("before", "after"):
            r[key] = json.loads(r[key]) if r.get(key) else None
        out.append(r)
    return out


def insert_firm(store: Store, values: dict[str, Any]) -> int:
    """Add a firm by hand (e.g. one named only on a list); its id."""
    cols = [c for c in EDITABLE if values.get(c) is not None]
    stamp = now()
    with store.transaction() as db:
        cur = db.execute(f"INSERT INTO firms ({', '.join(cols)}, imported_at, updated_at) "
                         f"VALUES ({', '.join('?' * len(cols))}, ?, ?)", [values[c] for c in cols] + [stamp, stamp])
        return int(cur.lastrowid or 0)

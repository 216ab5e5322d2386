"""The project pipeline (项目库): projects, their stage moves (history, never overwritten) and the targets."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from matcher.store.database import Store, dumps, now

PROJECT_COLUMNS = ("name", "kind", "chain", "new_city", "park", "investment", "stage", "owner", "notes", "firms",
                   "origin")


def _project(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["firms"] = json.loads(row.get("firms") or "[]")
    out["origin"] = json.loads(row.get("origin") or "{}")
    return out


def insert_project(store: Store, values: dict[str, Any], on_date: str, note: str = "") -> int:
    """Add a project and its first stage move; its id."""
    with store.transaction() as db:
        stamp = now()
        row = {c: values.get(c) for c in PROJECT_COLUMNS}
        row.update(firms=dumps(values.get("firms") or []), origin=dumps(values.get("origin") or {}),
                   created_at=stamp, updated_at=stamp)
        cur = db.execute(f"INSERT INTO projects ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                         list(row.values()))
        project_id = int(cur.lastrowid or 0)
        add_move(store, project_id, values["stage"], on_date, note)
        return project_id


def add_move(store: Store, project_id: int, stage: str, on_date: str, note: str = "") -> None:
    """Record a stage move (a new history row) and set the project's current stage."""
    with store.transaction() as db:
        db.execute("INSERT INTO project_moves (project_id, stage, on_date, user, note, at) VALUES (?, ?, ?, ?, ?, ?)",
                   [project_id, stage, on_date, store.user, note, now()])
        db.execute("UPDATE projects SET stage = ?, updated_at = ? WHERE id = ?", [stage, now(), project_id])


def update_project(store: Store, project_id: int, values: dict[str, Any]) -> None:
    """Change a project's fields other than its stage."""
    cols = [c for c in values if c in PROJECT_COLUMNS and c != "stage"]
    if not cols:
        return
    args = [dumps(values[c]) if c in ("firms", "origin") else values[c] for c in cols]
    with store.transaction() as db:
        db.execute(f"UPDATE projects SET {', '.join(f'{c} = ?' for c in cols)}, updated_at = ? WHERE id = ?",
                   [*args, now(), project_id])


def get_project(store: Store, project_id: int) -> dict[str, Any] | None:
    """One project with ``firms`` and ``origin`` decoded, or ``None``."""
    rows = list(store.db.query("SELECT * FROM projects WHERE id = ?", [project_id]))
    return _project(rows[0]) if rows else None


def list_projects(store: Store, kind: str | None = None, stage: str | None = None,
                  new_city: str | None = None, chain: str | None = None) -> list[dict[str, Any]]:
    """Projects, newest first, optionally of one type, stage, new city or chain."""
    where, args = [], []
    for col, value in (("kind", kind), ("stage", stage), ("new_city", new_city), ("chain", chain)):
        if value:
            where.append(f"{col} = ?")
            args.append(value)
    sql = "SELECT * FROM projects" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC"
    return [_project(r) for r in store.db.query(sql, args)]


def moves(store: Store, project_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Stage moves in the order they were made (of some projects, or all)."""
    if project_ids is None:
        return list(store.db.query("SELECT * FROM project_moves ORDER BY id"))
    if not project_ids:
        return []
    marks = ", ".join("?" * len(project_ids))
    return list(store.db.query(f"SELECT * FROM project_moves WHERE project_id IN ({marks}) ORDER BY id",
                               list(project_ids)))


def project_for_origin(store: Store, key: str) -> int | None:
    """The project started from this origin (e.g. a feedback mark ``feedback:12``), or ``None``."""
    row = store.db.execute("SELECT id FROM projects WHERE json_extract(origin, '$.key') = ?", [key]).fetchone()
    return int(row[0]) if row else None


# -- targets ---------------------------------------------------------------------------------------------------------
def targets(store: Store) -> list[dict[str, Any]]:
    """The stored targets in order, ``data`` merged in."""
    out = []
    for r in store.db.query("SELECT * FROM targets ORDER BY rowid"):
        d = json.loads(r.get("data") or "{}")
        out.append({**d, "id": r["id"], "name": r["name"], "unit": r["unit"], "target": r["target"],
                    "source": r["source"], "updated_at": r["updated_at"]})
    return out


def save_target(store: Store, target: dict[str, Any]) -> None:
    """Insert or replace one target (its rule fields kept in ``data``)."""
    core = ("id", "name", "unit", "target", "source", "updated_at")
    with store.transaction() as db:
        db.execute("INSERT OR REPLACE INTO targets (id, name, unit, target, data, source, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [target["id"], target["name"], target.get("unit"), target.get("target"),
                    dumps({k: v for k, v in target.items() if k not in core}), target.get("source"), now()])


def count_events_by_year(store: Store) -> dict[str, int]:
    """How many matchmaking events were held each year (by their date)."""
    return {str(y): int(n) for y, n in store.db.execute(
        "SELECT substr(on_date, 1, 4), count(*) FROM events WHERE on_date IS NOT NULL GROUP BY 1")}

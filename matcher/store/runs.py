"""Runs and their stored results: the ``runs`` and ``matches`` tables (imports, batch runs, stored-firm runs)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from matcher.store.database import Store, dumps, now

# what each run status means, in the words the CLI's runs table and the app's run list both show
STATUS_LABELS = {"running": "进行中", "done": "完成", "failed": "失败", "superseded": "已被新结果取代",
                 "undone": "已撤销"}
# what users call a run of each kind, before its number: 批次 3, 导入 2 (the app's and the CLI's words)
RUN_LABELS = {"import": "导入", "batch": "批次", "firms": "库内企业匹配"}
MATCH_COLUMNS = ("run_id", "firm_id", "row", "kind", "target", "rank", "score", "parts", "reason", "data",
                 "created_at")
_INSERT = f"INSERT INTO matches ({', '.join(MATCH_COLUMNS)}) VALUES ({', '.join('?' * len(MATCH_COLUMNS))})"


# A run's number as users see it: runs of each kind are numbered 1, 2, 3 … in the order they were started (runs are
# never deleted, so a number never changes). The CLI, the app and every command that takes a run use this number;
# ``id`` stays the database's own key.
_NUMBER = ("(SELECT count(*) FROM runs AS earlier WHERE earlier.kind = runs.kind AND earlier.id <= runs.id) "
           "AS number")


def _run_dict(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    try:
        out["params"] = json.loads(row.get("params") or "{}")
    except ValueError:
        out["params"] = {}
    return out


def get_run(store: Store, run_id: int) -> dict[str, Any] | None:
    """One ``runs`` row (``params`` decoded, ``number`` added), or ``None``."""
    rows = list(store.db.query(f"SELECT *, {_NUMBER} FROM runs WHERE id = ?", [run_id]))
    return _run_dict(rows[0]) if rows else None


def run_by_number(store: Store, kind: str, number: int) -> dict[str, Any] | None:
    """The run of ``kind`` that users know by ``number`` (1 = the first of that kind), or ``None``."""
    if number < 1:
        return None
    rows = list(store.db.query(f"SELECT *, {_NUMBER} FROM runs WHERE kind = ? ORDER BY id LIMIT 1 OFFSET ?",
                               [kind, number - 1]))
    return _run_dict(rows[0]) if rows else None


def run_label(run: dict[str, Any]) -> str:
    """A run as users name it: its kind's word and its number, e.g. “批次 3”, “导入 2”."""
    word = RUN_LABELS.get(run.get("kind") or "", run.get("kind") or "运行")
    return f"{word} {run['number']}" if run.get("number") else word


def run_number(store: Store, run_id: int) -> int | None:
    """The number users know a run by (see :func:`run_by_number`), or ``None`` for no such run."""
    row = store.db.execute(f"SELECT {_NUMBER} FROM runs WHERE id = ?", [run_id]).fetchone()
    return int(row[0]) if row else None


def list_runs(store: Store, kind: str | None = None, limit: int | None = 50, status: str | None = None,
              input_sha256: str | None = None, statuses: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Recorded runs, newest first, ``params`` decoded and ``number`` added; optionally of one kind, status(es) or
    input."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("kind", kind), ("status", status), ("input_sha256", input_sha256)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if statuses:
        where.append(f"status IN ({', '.join('?' * len(statuses))})")
        args += list(statuses)
    sql = f"SELECT *, {_NUMBER} FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id DESC"
    if limit:
        sql += " LIMIT ?"
        args.append(int(limit))
    return [_run_dict(r) for r in store.db.query(sql, args)]


def start_run(store: Store, fields: dict[str, Any], match_rows: Sequence[Sequence[Any]] = ()) -> int:
    """Record a new run (and rows of ``matches`` that belong to it from the start) in one transaction; its id."""
    with store.transaction() as db:
        table = db.table("runs")
        table.insert({**fields, "params": dumps(fields.get("params") or {}), "started_at": now()})
        run_id = int(table.last_pk or 0)
        if match_rows:
            db.conn.executemany(_INSERT, [(run_id, *r) for r in match_rows])
        return run_id


def update_run(store: Store, run_id: int, **columns: Any) -> None:
    """Set some columns of a run."""
    with store.transaction() as db:
        db.table("runs").update(run_id, columns)


def update_params(store: Store, run_id: int, changes: dict[str, Any], drop: Sequence[str] = (),
                  **columns: Any) -> None:
    """Merge ``changes`` into a run's params (dropping ``drop`` keys) and set other columns, in one transaction."""
    with store.transaction() as db:
        row = db.execute("SELECT params FROM runs WHERE id = ?", [run_id]).fetchone()
        params = json.loads(row[0] or "{}") if row else {}
        params.update(changes)
        for key in drop:
            params.pop(key, None)
        db.table("runs").update(run_id, {"params": dumps(params), **columns})


def done_rows(store: Store, run_id: int) -> set[int]:
    """Input rows of a run whose results are already checkpointed."""
    return {r[0] for r in store.db.execute("SELECT row FROM matches WHERE run_id = ? AND kind = 'firm'", [run_id])}


def write_checkpoint(store: Store, run_id: int, rows: Sequence[Sequence[Any]]) -> None:
    """One checkpoint: a chunk's ``matches`` rows (without run id) and the run's done count land together.

    The count grows by the chunk's firm rows rather than being recounted: a recount reads every row of the run so
    far, which made checkpoints of large runs slower and slower.
    """
    firms = sum(1 for r in rows if r[2] == "firm")
    with store.transaction() as db:
        db.conn.executemany(_INSERT, [(run_id, *r) for r in rows])
        db.execute("UPDATE runs SET done = COALESCE(done, 0) + ? WHERE id = ?", [firms, run_id])


def match_rows(store: Store, run_id: int) -> Iterator[tuple[Any, ...]]:
    """A run's result rows in firm order: (row, firm_id, kind, target, rank, score, parts, reason, data)."""
    return store.db.execute("SELECT row, firm_id, kind, target, rank, score, parts, reason, data FROM matches "
                            "WHERE run_id = ? AND kind != 'issue' ORDER BY row, id", [run_id])


def hit_count(store: Store, run_id: int) -> int:
    """How many answers (chains, classes, parks, counterparts, systems) a run stored: the rows of its 匹配明细."""
    row = store.db.execute("SELECT COUNT(*) FROM matches WHERE run_id = ? AND kind NOT IN ('firm', 'issue')",
                           [run_id]).fetchone()
    return int(row[0])


def issue_rows(store: Store, run_id: int) -> Iterator[tuple[Any, ...]]:
    """A run's recorded import issues: (row, field, reason, data)."""
    return store.db.execute("SELECT row, target, reason, data FROM matches WHERE run_id = ? AND kind = 'issue' "
                            "ORDER BY rank", [run_id])


def supersede_runs(store: Store, kind: str, keep: int) -> None:
    """Drop the results of older finished runs of one kind and mark them superseded (``keep`` and newer stay)."""
    with store.transaction() as db:
        old = [r[0] for r in db.execute("SELECT id FROM runs WHERE kind = ? AND status = 'done' AND id < ?",
                                        [kind, keep])]
        for run_id in old:
            db.execute("DELETE FROM matches WHERE run_id = ?", [run_id])
            db.execute("UPDATE runs SET status = 'superseded' WHERE id = ?", [run_id])

"""The firm register: one firm key, saving an import, linking input rows to stored firms, name search."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from matcher.store.database import Store, dumps, now

FIRM_COLUMNS = ("name", "uscc", "uscc_valid", "region", "district", "description", "products", "needs", "industry",
                "employees", "revenue", "registered_capital", "source_file", "source_row",
                "imported_at", "updated_at", "original")


def name_key(name: str | None) -> str:
    """A firm name as identity: NFKC (full-width brackets), no whitespace, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")).lower()


@dataclass
class FirmIndex:
    """Stored firms by valid credit code and by name key: how an input row finds the firm it is.

    The rule, shared by imports (update instead of duplicating) and batch runs (link results to stored firms):
    the same valid credit code is the same firm; otherwise the same name key, when exactly one stored firm has it
    and the two do not both carry (different) valid codes.
    """

    by_code: dict[str, int]
    by_name: dict[str, list[tuple[int, int | None]]]

    @classmethod
    def of(cls, store: Store) -> FirmIndex:
        """Read the keys of every stored firm."""
        by_code: dict[str, int] = {}
        by_name: dict[str, list[tuple[int, int | None]]] = {}
        for firm_id, name, code, valid in store.db.execute("SELECT id, name, uscc, uscc_valid FROM firms ORDER BY id"):
            if valid == 1 and code:
                by_code.setdefault(code, firm_id)
            by_name.setdefault(name_key(name), []).append((firm_id, valid))
        return cls(by_code, by_name)

    def find(self, firm: dict[str, Any], taken: set[int] | frozenset[int] = frozenset()) -> int | None:
        """The stored firm an input firm is, or ``None`` (``taken``: firms already claimed by other rows)."""
        if firm.get("uscc_valid") == 1 and firm.get("uscc") in self.by_code:
            return self.by_code[firm["uscc"]]
        candidates = [fid for fid, valid in self.by_name.get(name_key(firm.get("name")), [])
                      if firm.get("uscc_valid") != 1 or valid != 1]
        return candidates[0] if len(candidates) == 1 and candidates[0] not in taken else None


def _sql_value(value: Any) -> Any:
    """Dicts (the original values) become JSON text; everything else is stored as is."""
    return dumps(value) if isinstance(value, dict) else value


def save_import(store: Store, firms: Sequence[dict[str, Any]], merge: Callable[[dict[str, Any], dict[str, Any]], None],
                run: dict[str, Any], finish: Callable[[int, int, int], str]) -> tuple[int, int, int]:
    """Save an import's firms and its run record in one transaction.

    Each firm updates the stored firm it is (`FirmIndex.find`, merged with ``merge``) or is inserted. ``finish`` is
    called with the new run id and the counts inside the transaction (it writes the report and the audit entry and
    returns the report's path): if it fails, nothing is saved.

    Returns:
        ``(inserted, updated, run_id)``.
    """
    inserted = updated = 0
    with store.transaction() as db:
        conn = db.conn
        index = FirmIndex.of(store)
        stamp = now()
        new_rows: list[tuple[Any, ...]] = []
        changes: list[tuple[int, str, str | None]] = []  # (firm, inserted/updated, values before) per firm touched
        claimed: set[int] = set()  # a stored firm is updated by at most one firm of this file
        columns = [c for c in FIRM_COLUMNS if c != "imported_at"]
        for f in firms:
            firm = dict(f, updated_at=stamp)
            firm_id = index.find(firm, claimed)
            if firm_id is None:
                firm["imported_at"] = stamp
                new_rows.append(tuple(_sql_value(firm.get(c)) for c in FIRM_COLUMNS))
                continue
            claimed.add(firm_id)
            existing = dict(db.table("firms").get(firm_id))
            changes.append((firm_id, "updated", dumps(existing)))  # the earlier values, for `undo_import`
            try:
                existing["original"] = json.loads(existing.get("original") or "{}")
            except ValueError:
                pass
            merge(existing, firm)
            existing.update(source_file=firm.get("source_file"), updated_at=stamp)
            conn.execute(f"UPDATE firms SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                         [_sql_value(existing.get(c)) for c in columns] + [firm_id])
            updated += 1
        marks = ", ".join("?" for _ in FIRM_COLUMNS)
        for values in new_rows:
            cur = conn.execute(f"INSERT INTO firms ({', '.join(FIRM_COLUMNS)}) VALUES ({marks})", values)
            changes.append((int(cur.lastrowid or 0), "inserted", None))
        inserted = len(new_rows)
        params = dict(run.get("params") or {}, inserted=inserted, updated=updated)
        cur = conn.execute(
            "INSERT INTO runs (kind, status, input_path, input_sha256, rows, stored, rejected, done, params, "
            "kb_version, started_at, ended_at) VALUES ('import', 'done', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run["input_path"], run["input_sha256"], run["rows"], inserted + updated, run["rejected"], run["rows"],
             dumps(params), run.get("kb_version"), run["started_at"], now()])
        run_id = int(cur.lastrowid or 0)
        conn.executemany("INSERT INTO import_changes (run_id, firm_id, action, before) VALUES (?, ?, ?, ?)",
                         [(run_id, *c) for c in changes])
        report = finish(run_id, inserted, updated)  # inside the transaction: if the report cannot be written, nothing is imported
        conn.execute("UPDATE runs SET report_path = ? WHERE id = ?", [report, run_id])
    return inserted, updated, run_id


def find_firms(store: Store, text: str | None, limit: int = 200) -> list[dict[str, Any]]:
    """Stored firms whose name contains ``text`` in simplified or traditional characters (all when empty), by name."""
    import zhconv

    t = (text or "").strip()
    where, args = None, []
    if t:  # simplified and traditional spellings find each other (华晶 finds 陝西華晶)
        variants = sorted({t, zhconv.convert(t, "zh-hans"), zhconv.convert(t, "zh-hant"), zhconv.convert(t, "zh-tw")})
        where = " OR ".join("name LIKE ? ESCAPE '\\'" for _ in variants)
        args += ["%" + v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for v in variants]
    return list(store.db["firms"].rows_where(where, args, select="id, name, region, district", order_by="name",
                                             limit=int(limit)))

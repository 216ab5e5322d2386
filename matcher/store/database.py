"""The SQLite store (sqlite-utils): schema, migrations, WAL, short transactions."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from matcher import paths

# Each migration moves the schema from version i to i+1; never edit one that has shipped, append a new one.
MIGRATIONS: list[str] = [
    # 1: the base schema
    """
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE IF NOT EXISTS firms (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        uscc TEXT,
        uscc_valid INTEGER,
        region TEXT,
        district TEXT,
        description TEXT,
        products TEXT,
        needs TEXT,
        industry TEXT,
        employees REAL,
        revenue REAL,
        registered_capital TEXT,
        text_norm TEXT,
        source_file TEXT,
        source_row INTEGER,
        imported_at TEXT,
        updated_at TEXT,
        original TEXT
    );
    CREATE UNIQUE INDEX IF NOT EXISTS firms_uscc ON firms(uscc) WHERE uscc_valid = 1;
    CREATE INDEX IF NOT EXISTS firms_region ON firms(region);
    CREATE TABLE IF NOT EXISTS kb_versions (
        version INTEGER PRIMARY KEY,
        created_at TEXT, author TEXT, reason TEXT, snapshot TEXT
    );
    CREATE TABLE IF NOT EXISTS systems (
        id TEXT PRIMARY KEY, name TEXT, region TEXT, document TEXT, status TEXT, as_of TEXT,
        source TEXT, confidence TEXT, data TEXT
    );
    CREATE TABLE IF NOT EXISTS chains (
        name TEXT PRIMARY KEY, aliases TEXT, gb_codes TEXT, systems TEXT, source TEXT, confidence TEXT, data TEXT
    );
    CREATE TABLE IF NOT EXISTS segments (
        id INTEGER PRIMARY KEY, chain TEXT REFERENCES chains(name), stage TEXT, name TEXT, keywords TEXT
    );
    CREATE TABLE IF NOT EXISTS parks (
        name TEXT PRIMARY KEY, kind TEXT, new_city TEXT, city TEXT, lead_chains TEXT, source TEXT,
        confidence TEXT, data TEXT
    );
    CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY, kind TEXT, status TEXT, input_path TEXT, input_sha256 TEXT,
        rows INTEGER, stored INTEGER, rejected INTEGER, done INTEGER DEFAULT 0,
        params TEXT, model_version TEXT, kb_version INTEGER,
        started_at TEXT, ended_at TEXT, output_path TEXT, report_path TEXT
    );
    CREATE TABLE IF NOT EXISTS matches (
        id INTEGER PRIMARY KEY, run_id INTEGER, firm_id INTEGER, row INTEGER, kind TEXT, target TEXT,
        rank INTEGER, score REAL, parts TEXT, reason TEXT, data TEXT, created_at TEXT
    );
    CREATE INDEX IF NOT EXISTS matches_run ON matches(run_id, row);
    CREATE TABLE IF NOT EXISTS feedback (
        id INTEGER PRIMARY KEY, firm_id INTEGER, query TEXT, kind TEXT, target TEXT,
        verdict TEXT, note TEXT, author TEXT, created_at TEXT
    );
    """,
    # 2: look-ups of a firm's matches and feedback (the app lists them for every match shown)
    """
    CREATE INDEX IF NOT EXISTS matches_firm ON matches(firm_id, kind);
    CREATE INDEX IF NOT EXISTS feedback_firm ON feedback(firm_id, kind, target);
    """,
    # 3: the audit trail — one append-only row per change: who, when, what, before/after
    """
    CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY, at TEXT NOT NULL, user TEXT NOT NULL, action TEXT NOT NULL, target TEXT,
        before TEXT, after TEXT, note TEXT
    );
    CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
    CREATE INDEX IF NOT EXISTS audit_user ON audit(user, at);
    CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, '审计记录只能追加，不能修改'); END;
    CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, '审计记录只能追加，不能删除'); END;
    """,
    # 4: the 承接 work — what each import changed (undo), sample firms, the project pipeline and its targets,
    # matchmaking events, the two living lists (spillover firms, outward investments)
    """
    CREATE TABLE IF NOT EXISTS import_changes (
        run_id INTEGER NOT NULL, firm_id INTEGER NOT NULL, action TEXT NOT NULL, before TEXT
    );
    CREATE INDEX IF NOT EXISTS import_changes_run ON import_changes(run_id);
    CREATE TABLE IF NOT EXISTS sample_firms (firm_id INTEGER PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS projects (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, chain TEXT, new_city TEXT, park TEXT,
        investment REAL, stage TEXT NOT NULL, owner TEXT, notes TEXT, firms TEXT, origin TEXT,
        created_at TEXT, updated_at TEXT
    );
    CREATE TABLE IF NOT EXISTS project_moves (
        id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, stage TEXT NOT NULL, on_date TEXT NOT NULL,
        user TEXT, note TEXT, at TEXT
    );
    CREATE INDEX IF NOT EXISTS project_moves_project ON project_moves(project_id, id);
    CREATE TABLE IF NOT EXISTS targets (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, unit TEXT, target REAL, data TEXT, source TEXT, updated_at TEXT
    );
    CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY, name TEXT, chains TEXT, on_date TEXT, venue TEXT, slots INTEGER, tables INTEGER,
        cap INTEGER, score REAL, greedy_score REAL, created_at TEXT, created_by TEXT
    );
    CREATE TABLE IF NOT EXISTS event_invitees (
        event_id INTEGER NOT NULL, firm_id INTEGER, name TEXT, role TEXT, why TEXT, region TEXT
    );
    CREATE TABLE IF NOT EXISTS event_meetings (
        id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL, slot INTEGER, table_no INTEGER, buyer_id INTEGER,
        buyer TEXT, supplier_id INTEGER, supplier TEXT, score REAL, parts TEXT, reason TEXT, outcome TEXT,
        outcome_note TEXT, project_id INTEGER
    );
    CREATE INDEX IF NOT EXISTS event_meetings_event ON event_meetings(event_id, slot, table_no);
    CREATE TABLE IF NOT EXISTS spillover_list (
        firm_id INTEGER PRIMARY KEY, location TEXT, chain TEXT, segment TEXT, spill_type TEXT, land_mu REAL,
        plant_m2 REAL, power TEXT, talent TEXT, intended TEXT, status TEXT, owner TEXT, follow_date TEXT,
        follow_note TEXT, updated_at TEXT
    );
    CREATE TABLE IF NOT EXISTS outward_investments (
        id INTEGER PRIMARY KEY, firm_id INTEGER, firm TEXT NOT NULL, destination TEXT, amount REAL, chain TEXT,
        on_date TEXT, note TEXT, created_at TEXT
    );
    """,
    # 5: accounts (argon2 hashes, never clear text) and the quarantine of rows that must not become firms
    """
    CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT, updated_at TEXT, last_login_at TEXT, failed INTEGER NOT NULL DEFAULT 0, failed_at TEXT
    );
    CREATE TABLE IF NOT EXISTS quarantine (
        id INTEGER PRIMARY KEY, run_id INTEGER, source_file TEXT, source_row INTEGER, name TEXT, field TEXT,
        reason TEXT, original TEXT, created_at TEXT
    );
    CREATE INDEX IF NOT EXISTS quarantine_run ON quarantine(run_id);
    """,
    # 6: firms by name — the invalid-code twin check looks a name up for every row whose code fails (without the
    # index a full scan each: 50k firms with 10 % bad codes took 234 s to list, 0.5 s with it)
    """
    CREATE INDEX IF NOT EXISTS firms_name ON firms(name);
    """,
]
ROLES = ("查看", "招商", "管理")  # each role may do what the ones before it may


class PermissionDenied(PermissionError):
    """A change the acting user's role does not allow; the message names the user, the role and the action."""
SCHEMA_VERSION = len(MIGRATIONS)


def now() -> str:
    """UTC timestamp in ISO format, the one time format of the store."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _use_wal(conn: sqlite3.Connection, wait: float = 30.0) -> None:
    """Switch the file to WAL, retrying while another process creates it.

    Changing the journal mode needs the file to itself, and SQLite reports "database is locked" at once (without
    its busy handler) when a second connection is doing the same on a new file; so we wait here instead.
    """
    deadline = time.monotonic() + wait
    delay = 0.01
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


class Store:
    """One SQLite database: firms, knowledge base, runs, matches and feedback.

    Opening a store creates or migrates its schema; the knowledge base is loaded by the knowledge layer
    (:func:`matcher.knowledge.kb.open_store`, or on first use by :func:`matcher.knowledge.kb.current`).

    Every change is made by ``user`` and recorded in the audit trail (:meth:`audit`); with a ``role`` the write
    paths refuse what the role does not allow (:meth:`require`). Without one (``role=None``) the store is used by a
    single person on this machine and everything is allowed.

    Args:
        path: database file; ``None`` means ``MATCHER_DB`` or ``data/matcher.db``.
        user: who acts (default ``MATCHER_USER`` or the login name of this process).
        role: 查看 / 招商 / 管理, or ``None`` when the database runs without accounts.
    """

    def __init__(self, path: str | Path | None = None, *, user: str | None = None, role: str | None = None) -> None:
        if role is not None and role not in ROLES:
            raise ValueError(f"角色只能是 {'/'.join(ROLES)}，收到 {role!r}")
        self.user = user or os.environ.get("MATCHER_USER") or _login_name()
        self.role = role
        self.path = paths.db_path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False, isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        conn.execute("PRAGMA busy_timeout = 30000")
        _use_wal(conn)
        conn.execute("PRAGMA foreign_keys = ON")
        self.migrate()

    # -- schema ---------------------------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        """The schema version recorded in the database (0 for a new file)."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Bring the schema to ``SCHEMA_VERSION``, backing the file up first when it holds an older schema."""
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path}: 数据库版本 {current} 比本程序支持的 {SCHEMA_VERSION} 新，请升级软件。"
            )
        if current == SCHEMA_VERSION:
            return
        if current > 0:
            backup = self.path.with_name(f"{self.path.name}.bak-v{current}-{int(time.time())}")
            self.db.execute("PRAGMA wal_checkpoint(FULL)")
            shutil.copy2(self.path, backup)
        for version in range(current, SCHEMA_VERSION):
            with self.transaction():
                for stmt in _split_sql(MIGRATIONS[version]):
                    self.db.execute(stmt)
                self.db.execute(f"PRAGMA user_version = {version + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction (``BEGIN IMMEDIATE``): everything inside lands together or not at all."""
        conn = self.db.conn
        if conn.in_transaction:
            yield self.db
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    # -- who acts -------------------------------------------------------------------------------------------
    def require(self, role: str, what: str) -> None:
        """Refuse ``what`` unless the acting user's role is ``role`` or above (always allowed without accounts).

        Raises:
            PermissionDenied: the role is below ``role``.
        """
        if self.role is not None and ROLES.index(self.role) < ROLES.index(role):
            raise PermissionDenied(f"用户 {self.user}（{self.role}）无权{what}：需要“{role}”或以上权限")

    def audit(self, action: str, target: str | None = None, before: Any = None, after: Any = None,
              note: str = "") -> None:
        """Append one change to the audit trail, inside the caller's transaction when there is one."""
        with self.transaction() as db:
            db.execute("INSERT INTO audit (at, user, action, target, before, after, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [now(), self.user, action, target, None if before is None else dumps(before),
                        None if after is None else dumps(after), note])

    # -- meta -----------------------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """A value from the ``meta`` table."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        """Store a value in the ``meta`` table."""
        with self.transaction():
            self.db.table("meta").upsert({"key": key, "value": value}, pk="key")

    # -- firms ----------------------------------------------------------------------------------------------
    def firm(self, firm_id: int) -> dict[str, Any] | None:
        """One firm by id, or ``None``."""
        rows = list(self.db.query("SELECT * FROM firms WHERE id = ?", [firm_id]))
        return rows[0] if rows else None

    def firms(self, region: str | None = None, limit: int | None = None,
              columns: Sequence[str] | None = None, offerable: bool = False) -> list[dict[str, Any]]:
        """Stored firms, optionally only those of one region (西安 / 咸阳 / 西咸新区) and only some ``columns``.

        Args:
            offerable: only firms that may be offered as counterparts: not a row whose credit code fails its check
                digit while a firm of the same name has a valid one (its twin, most likely a mistyped copy).
                Quarantined rows (formula or link names) are never firms at all: they wait in ``quarantine``.
        """
        sql, args = self._firms_sql(region, limit, columns, offerable)
        return list(self.db.query(sql, args))

    def firm_blocks(self, size: int, columns: Sequence[str] | None = None,
                    offerable: bool = False) -> Iterator[list[dict[str, Any]]]:
        """The firms of ``firms(columns=…, offerable=…)`` in blocks of ``size``, read as they are consumed.

        One statement reads them all, so the blocks are one consistent snapshot of the table, while only the
        block being handed out is held (a register of 1M firms as dicts is ≈ 1 GB).
        """
        sql, args = self._firms_sql(None, None, columns, offerable)
        cursor = self.db.execute(sql, args)
        names = [d[0] for d in cursor.description]
        while rows := cursor.fetchmany(size):
            yield [dict(zip(names, row)) for row in rows]

    def _firms_sql(self, region: str | None, limit: int | None, columns: Sequence[str] | None,
                   offerable: bool) -> tuple[str, list[Any]]:
        known = set(self.db["firms"].columns_dict)
        if columns and not set(columns) <= known:
            raise ValueError(f"企业表没有这些列：{sorted(set(columns) - known)}")
        sql, args = f"SELECT {', '.join(columns) if columns else '*'} FROM firms f", []
        where = []
        if region:
            where.append("region = ?")
            args.append(region)
        if offerable:
            where.append("NOT (uscc_valid = 0 AND EXISTS (SELECT 1 FROM firms g WHERE g.name = f.name "
                         "AND g.uscc_valid = 1 AND g.id <> f.id))")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return sql, args

    def count_firms(self) -> int:
        """Number of stored firms."""
        return int(self.db.execute("SELECT count(*) FROM firms").fetchone()[0])

    def firms_version(self) -> str:
        """A cheap fingerprint of the firms table, used to tell whether indexes are stale."""
        n, mx, upd = self.db.execute("SELECT count(*), max(id), max(updated_at) FROM firms").fetchone()
        return f"{n}:{mx}:{upd}"

    def invalid_twins(self) -> set[int]:
        """Ids of firms whose credit code fails its check digit while a firm of the same name has a valid one."""
        return {r[0] for r in self.db.execute(
            "SELECT f.id FROM firms f WHERE f.uscc_valid = 0 AND EXISTS (SELECT 1 FROM firms g WHERE g.name = f.name "
            "AND g.uscc_valid = 1 AND g.id <> f.id)")}

    # -- quarantine -----------------------------------------------------------------------------------------
    def quarantine_rows(self, run_id: int, source_file: str, rows: Sequence[dict[str, Any]]) -> None:
        """Keep rows an import refused to store as firms (formula or link names) for review, in the caller's transaction."""
        if not rows:
            return
        with self.transaction():
            stamp = now()
            self.db.conn.executemany(
                "INSERT INTO quarantine (run_id, source_file, source_row, name, field, reason, original, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, source_file, r.get("source_row"), r.get("name"), r.get("field"), r.get("reason"),
                  dumps(r.get("original") or {}), stamp) for r in rows])

    def quarantined(self, limit: int = 500) -> list[dict[str, Any]]:
        """Quarantined rows, newest first: they are in no list, search, counterpart or export until re-imported fixed."""
        return list(self.db.query("SELECT * FROM quarantine ORDER BY id DESC LIMIT ?", [int(limit)]))

    # -- feedback -------------------------------------------------------------------------------------------
    def add_feedback(self, *, kind: str, target: str, verdict: str, firm_id: int | None = None,
                     query: str | None = None, note: str = "", author: str = "") -> int:
        """Record staff feedback on one match (有效 / 无效 / 已对接 / 已签约)."""
        self.require("招商", "标记匹配反馈")
        if verdict not in FEEDBACK_VERDICTS:
            raise ValueError(f"反馈只能是 {'/'.join(FEEDBACK_VERDICTS)}，收到 {verdict!r}")
        with self.transaction():
            table = self.db.table("feedback")
            row = {"firm_id": firm_id, "query": query, "kind": kind, "target": target, "verdict": verdict,
                   "note": note, "author": author or self.user, "created_at": now()}
            table.insert(row)
            feedback_id = int(table.last_pk or 0)
            self.audit("匹配反馈", f"{kind}:{target}", after=dict(row, id=feedback_id))
            return feedback_id

    def feedback_for(self, firm_id: int | None = None, query: str | None = None) -> list[dict[str, Any]]:
        """Feedback given on one firm's (or one query's) matches, newest first."""
        if firm_id is not None:
            return list(self.db.query("SELECT * FROM feedback WHERE firm_id = ? ORDER BY id DESC", [firm_id]))
        return list(self.db.query("SELECT * FROM feedback WHERE query = ? ORDER BY id DESC", [query]))

    def feedback_rows(self, kinds: Sequence[str] = ()) -> list[dict[str, Any]]:
        """All feedback (of some kinds only, when given), oldest first: what ``matcher tune`` learns from."""
        if not kinds:
            return list(self.db.query("SELECT * FROM feedback ORDER BY id"))
        marks = ", ".join("?" for _ in kinds)
        return list(self.db.query(f"SELECT * FROM feedback WHERE kind IN ({marks}) ORDER BY id", list(kinds)))

    def close(self) -> None:
        """Close the connection."""
        self.db.conn.close()


FEEDBACK_VERDICTS = ("有效", "无效", "已对接", "已签约")


def _split_sql(script: str) -> list[str]:
    """The statements of a migration script (a trigger body's inner semicolons do not end its statement)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip().rstrip(";").strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return [s for s in out if s]


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers): the process still acts as someone
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "本机用户"


def dumps(value: Any) -> str:
    """JSON for a column: UTF-8 kept readable."""
    return json.dumps(value, ensure_ascii=False)

"""Backups while the app runs: SQLite's online backup API, a verified copy, rotation, and an atomic restore."""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from matcher import paths
from matcher.store.database import SCHEMA_VERSION, Store

PATTERN = "{stem}-{stamp}.db"  # backups of matcher.db are matcher-20261130-101500-123456.db (sorted by time)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message (Chinese) names the file and the reason."""


def check(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Check a database file: ``PRAGMA integrity_check`` and its schema version (≤ this program's, > 0).

    Raises:
        BackupError: not a SQLite database, damaged, empty of our schema, or newer than this program.
    """
    p = Path(path)
    if not p.is_file():
        raise BackupError(f"{p}：文件不存在")
    try:
        conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=30)
        try:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            firms = int(conn.execute("SELECT count(*) FROM firms").fetchone()[0]) if "firms" in tables else 0
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{p}：不是有效的数据库文件或已损坏（{exc}）") from exc
    if result != ["ok"]:
        raise BackupError(f"{p}：完整性检查未通过：{'；'.join(result[:5])}")
    if version < 1 or "firms" not in tables:
        raise BackupError(f"{p}：不是本系统的数据库（没有企业表或版本号）")
    if version > SCHEMA_VERSION:
        raise BackupError(f"{p}：数据库版本 {version} 比本程序支持的 {SCHEMA_VERSION} 新，请先升级软件")
    return {"path": str(p), "schema_version": version, "firms": firms, "bytes": p.stat().st_size}


def _copy(src: Path, dst: Path) -> None:
    """Copy a live database with the online backup API: one consistent snapshot, writers are not blocked (WAL)."""
    source = sqlite3.connect(str(src), timeout=30)
    target = sqlite3.connect(str(dst))
    try:
        source.execute("PRAGMA busy_timeout = 30000")
        source.backup(target)  # all pages in one step: a single read transaction, so a consistent copy
        target.execute("PRAGMA journal_mode = DELETE")  # a backup is one self-contained file
    finally:
        target.close()
        source.close()


def backup(db: str | os.PathLike[str] | None = None, dest: str | os.PathLike[str] | None = None,
           keep: int = 7) -> dict[str, Any]:
    """Back up the database while it is in use, verify the copy and keep only the newest ``keep`` copies.

    Args:
        db: the database (default ``MATCHER_DB`` or ``data/matcher.db``).
        dest: folder for the copies (default ``backups/`` beside the database).
        keep: how many copies of this database to keep in ``dest`` (older ones are deleted; at least 1).

    Returns:
        ``{"backup": path, "bytes": n, "ok": True, "schema_version": v, "firms": n, "removed": [...]}``.
    """
    src = paths.db_path(db)
    if not src.is_file():
        raise BackupError(f"{src}：数据库文件不存在")
    folder = Path(dest) if dest else src.parent / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / PATTERN.format(stem=src.stem, stamp=datetime.now().strftime("%Y%m%d-%H%M%S-%f"))
    while target.exists():  # names sort by time; two backups in the same microsecond take the next one
        time.sleep(0.001)
        target = folder / PATTERN.format(stem=src.stem, stamp=datetime.now().strftime("%Y%m%d-%H%M%S-%f"))
    partial = target.with_name(target.name + ".partial")
    try:
        _copy(src, partial)
        info = check(partial)
        os.replace(partial, target)
    except (sqlite3.Error, OSError, BackupError) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"备份失败（{src} → {target}）：{exc}") from exc
    removed = rotate(folder, src.stem, keep)
    return {"backup": str(target), "bytes": target.stat().st_size, "ok": True,
            "schema_version": info["schema_version"], "firms": info["firms"], "removed": removed}


def backups(folder: str | os.PathLike[str], stem: str) -> list[Path]:
    """The finished backups of database ``stem`` in ``folder``, oldest first."""
    return sorted(p for p in Path(folder).glob(f"{stem}-*.db") if p.name[len(stem) + 1:][:8].isdigit())


def rotate(folder: str | os.PathLike[str], stem: str, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` (at least one) backups; returns the deleted paths."""
    old = backups(folder, stem)[:-max(1, keep)]
    for p in old:
        p.unlink(missing_ok=True)
    return [str(p) for p in old]


def restore(copy: str | os.PathLike[str], db: str | os.PathLike[str] | None = None,
            user: str | None = None) -> dict[str, Any]:
    """Put a backup in place of the database: check it, keep the current contents aside, swap atomically.

    The copy is written into the live file through SQLite's backup API, in one write transaction: the app and
    other open connections see the old contents or the restored ones, never a mix, and keep working on the
    restored database (replacing the file would leave them writing to the one set aside). The restore itself is
    recorded in the restored database's audit trail (by ``user``).

    Returns:
        ``{"restored": copy, "db": path, "previous": aside path or None, "ok": True, ...check info}``.
    """
    source = Path(copy)
    info = check(source)
    target = paths.db_path(db)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.restore-{os.getpid()}")
    aside = None
    try:
        _copy(source, staged)
        check(staged)
        if target.exists():
            aside = target.with_name(f"{target.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
            _copy(target, aside)  # the current contents, WAL included, as one file
            src = sqlite3.connect(str(staged))
            dst = sqlite3.connect(str(target), timeout=30)
            try:
                dst.execute("PRAGMA busy_timeout = 30000")
                src.backup(dst)  # every page in one step: one write transaction on the live file
            finally:
                dst.close()
                src.close()
            staged.unlink()
        else:
            os.replace(staged, target)
    except (sqlite3.Error, OSError) as exc:
        staged.unlink(missing_ok=True)
        raise BackupError(f"恢复失败，当前数据库未改动（{source} → {target}）：{exc}") from exc
    store = Store(target, user=user)
    try:
        store.audit("恢复备份", str(target), before={"previous": str(aside) if aside else None},
                    after={"restored": str(source), "firms": info["firms"], "schema_version": info["schema_version"]})
    finally:
        store.close()
    return dict(info, restored=str(source), db=str(target), previous=str(aside) if aside else None, ok=True)

"""Shared fixtures: real SQLite files in a temporary folder, never mocks of our own code."""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from matcher.knowledge import kb
from matcher.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Path of a database that does not exist yet."""
    return tmp_path / "test.db"


@pytest.fixture
def store(db_path: Path) -> Store:
    """A fresh store with the knowledge base loaded from data/kb."""
    s = kb.open_store(db_path)
    yield s
    s.close()


def shared_file(*parts: str) -> Path:
    """A file of ../shared; skipped where absent (a user's clone has none), but a failure under CI, which has it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI runs beside ../shared and these tests must run there")
        pytest.skip(f"{path} not available")
    return path


def write_register(path: Path, firms: list[tuple[str, str, str, str]]) -> Path:
    """A firm register CSV (企业名称, 所在地区, 主要产品, 采购需求) for import: the counterpart tests' made-up firms."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["企业名称", "所在地区", "主要产品", "采购需求"])
        w.writerows(firms)
    return path


def copy_database(source: Path, target: Path) -> Path:
    """A private copy of a test database and its indexes, taken with SQLite's backup API: a file copy would miss
    what is still in the source's WAL, so what it holds would depend on when the last checkpoint happened."""
    from matcher import paths

    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    if paths.index_dir(source).is_dir():
        shutil.copytree(paths.index_dir(source), paths.index_dir(target))
    return target

"""Paths and settings, read from the environment so every surface (CLI, app, library) agrees."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("MATCHER_DATA", ROOT / "data"))
KB_DIR = DATA_DIR / "kb"
MODELS_DIR = Path(os.environ.get("MATCHER_MODELS", ROOT / "models"))


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The database file: an explicit path, else ``MATCHER_DB``, else ``data/matcher.db``."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("MATCHER_DB", DATA_DIR / "matcher.db"))


def index_dir(db: Path) -> Path:
    """Index files live beside their database, so two databases never share an index."""
    return db.parent / (db.stem + ".indexes")


def embed_model_name() -> str:
    """The sentence-transformers model: ``MATCHER_EMBED_MODEL`` (name or path) or the project's own."""
    return os.environ.get("MATCHER_EMBED_MODEL", str(MODELS_DIR / "embedder"))

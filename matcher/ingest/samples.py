"""First-run setup and development-time data: bundled sample firms, training negatives for the chain model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matcher import paths
from matcher.store.database import Store

SAMPLE_FILES = ("firms_shaanxi.csv", "spillover_profiles.csv")


def load_samples(store: Store) -> int:
    """Import the bundled sample firms (data/sample) into a store; returns how many were stored."""
    from matcher.ingest.importer import import_file

    stored = 0
    for name in SAMPLE_FILES:
        path = paths.DATA_DIR / "sample" / name
        if path.exists():
            stored += import_file(store, path).stored
    return stored


def default_chainkg() -> Path | None:
    """The listed-company product data beside the project checkout, when present (development machines)."""
    path = paths.ROOT.parent / "shared" / "data" / "chainkg"
    return path if (path / "company_product.csv").exists() else None


def negatives_for(kb_dict: dict[str, Any], chainkg: Path, rows: list[dict[str, str]]) -> list[str]:
    """``none`` examples for the chain model: listed companies in no key chain and not among ``rows``."""
    from matcher.match.chains import chainkg_negatives

    chain_industries = {s for c in kb_dict["chains"] for s in c.get("sw_industries", [])}
    return chainkg_negatives(chainkg, {r.get("id", "") for r in rows}, chain_industries)

"""First-run setup and development-time data: bundled sample firms, training negatives for the chain model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matcher import paths
from matcher.store.database import Store

SAMPLE_FILES = ("firms_shaanxi.csv", "spillover_profiles.csv")


def load_samples(store: Store) -> int:
    """Import the bundled 示例 firms (data/sample) into a demo database, marked as samples; how many were stored.

    The marks keep them apart from real firms: ``matcher samples remove`` deletes exactly these, and the lists say
    which chain segments only 示例 firms cover.
    """
    from matcher.ingest.importer import import_file
    from matcher.store import firm_edits

    stored = 0
    for name in SAMPLE_FILES:
        path = paths.DATA_DIR / "sample" / name
        if path.exists():
            result = import_file(store, path)
            firm_edits.mark_samples(store, [c["firm_id"] for c in firm_edits.import_changes(store, result.run_id)
                                            if c["action"] == "inserted"])
            stored += result.stored
    return stored


def default_chainkg() -> Path | None:
    """The listed-company product data beside the project checkout, when present (development machines)."""
    path = paths.ROOT.parent / "shared" / "data" / "chainkg"
    return path if (path / "company_product.csv").exists() else None


def negatives_for(kb_dict: dict[str, Any], chainkg: Path, rows: list[dict[str, str]]) -> list[str]:
    """``none`` examples for the chain model: listed companies in no key chain and not among ``rows``."""
    from matcher.match.training import chainkg_negatives

    chain_industries = {s for c in kb_dict["chains"] for s in c.get("sw_industries", [])}
    return chainkg_negatives(chainkg, {r.get("id", "") for r in rows}, chain_industries)

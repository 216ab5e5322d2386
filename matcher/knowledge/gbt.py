"""GB/T 4754-2017 小类 and the 战略性新兴产业分类(2018) crosswalk, read from data/gbt4754 (shipped with attribution)."""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from matcher import paths
from matcher.match.text import normalize

GB_DIR = paths.DATA_DIR / "gbt4754"
GB_FILE = "gbt4754_2017_notes_tags.csv"
SEI_FILE = "sei2018_to_gbt4754_mapping.csv"

_SPACES = re.compile(r"\s*>\s*")


def normalize_sei_path(path: str) -> str:
    """One spelling of a 战新 path ("A > B > C"), so stray spaces in the source never break a lookup."""
    return _SPACES.sub(" > ", path.strip())


@lru_cache(maxsize=4)
def _rows(directory: str) -> tuple[dict[str, str], ...]:
    with open(Path(directory) / GB_FILE, encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


@lru_cache(maxsize=4)
def _classes(directory: str) -> tuple[dict[str, Any], ...]:
    rows = _rows(directory)
    names = {r["code"]: r["name"] for r in rows}
    parents = {r["code"]: r["parent"] for r in rows}
    out = []
    for r in rows:
        if r["level"] != "4":
            continue
        group = r["parent"]  # 中类 code (3 digits); its parent is the 大类 (2 digits)
        out.append({
            "code": r["code"],
            "name": r["name"],
            "description": r["description"],
            "tags": [t for t in r["tags"].split("|") if t],
            "division": names.get(group[:2], ""),
            "group": names.get(group, ""),
            "section": parents.get(group[:2], ""),  # 门类 letter (C 制造业, F 批发和零售业 …)
        })
    return tuple(out)


def gb_classes(directory: str | Path | None = None) -> list[dict[str, Any]]:
    """The 1,382 小类 (4-digit classes) of GB/T 4754-2017.

    Each row: ``code``, ``name``, ``description`` (the 注释 text), ``tags`` (NBS tags such as ``strategic``,
    ``highTech_mfg``, ``digital``), ``division`` (大类 name), ``group`` (中类 name) and ``section`` (门类 letter).

    Args:
        directory: folder holding the CSV files; default ``data/gbt4754``.
    """
    return list(_classes(str(directory or GB_DIR)))


def gb_codes(directory: str | Path | None = None) -> frozenset[str]:
    """The set of valid 4-digit 小类 codes, for validating a crosswalk."""
    return frozenset(r["code"] for r in _classes(str(directory or GB_DIR)))


def _sei(directory: str) -> tuple[dict[str, Any], ...]:
    with open(Path(directory) / SEI_FILE, encoding="utf-8", newline="") as f:
        return tuple(
            {
                "gb_code": r["gb_code"],
                "gb_name": r["gb_name"],
                "has_star": r["has_star"].strip().lower() == "true",  # ★: only part of the 小类 is 战新
                "sei_path": normalize_sei_path(r["sei_path"]),
                "products": [p.strip() for p in re.split(r"[；;]", r["products"] or "") if p.strip()],
            }
            for r in csv.DictReader(f)
        )


def sei_rows(directory: str | Path | None = None) -> list[dict[str, Any]]:
    """Rows of the 战新2018 → GB/T 4754 小类 crosswalk: ``gb_code``, ``gb_name``, ``has_star``, ``sei_path``, ``products``.

    Args:
        directory: folder holding the CSV files; default ``data/gbt4754``.
    """
    return list(_sei(str(directory or GB_DIR)))


def sei_paths(directory: str | Path | None = None) -> frozenset[str]:
    """The set of 战新2018 category paths, normalised with :func:`normalize_sei_path`."""
    return frozenset(r["sei_path"] for r in _sei(str(directory or GB_DIR)))


def note_items(description: str) -> list[str]:
    """Product/activity items listed in the 包括 part of a GB/T 4754 note (before any 不包括 / ◆)."""
    head = normalize(description.replace("◆", "\n不包括")).split("不包括")[0].replace("◇", " ")
    parts = [_unbracketed(p.strip()) for p in re.split(r"[;；:：,，、—\s]+", head)]
    return [p for p in parts if 1 < len(p) <= 20 and "包括" not in p]


def _unbracketed(part: str) -> str:
    """A split piece without the half of a bracket it was cut from: "高纯锑(主要应用于探测" → 高纯锑; the tail of a
    bracketed note ("半导体等领域)") is no item."""
    opened, closed = part.count("(") + part.count("（"), part.count(")") + part.count("）")
    if closed > opened:
        return ""
    if opened > closed:
        return re.split(r"[(（]", part)[0].strip()
    return part

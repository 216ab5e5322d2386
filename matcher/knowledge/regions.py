"""Regions as data (data/regions.json): which city and district/new city a free-text place names."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from typing import Any

from matcher import paths


@lru_cache(maxsize=1)
def gazetteer() -> dict[str, Any]:
    """The region word list: local regions, 西咸 new cities, districts, development zones, cities."""
    return json.loads((paths.DATA_DIR / "regions.json").read_text(encoding="utf-8"))


def local_regions() -> tuple[str, ...]:
    """The regions the plan is about (西咸新区, 西安, 咸阳): the choices of every region filter."""
    return tuple(gazetteer()["local_regions"])


@lru_cache(maxsize=1)
def _tables() -> tuple[Any, ...]:
    g = gazetteer()
    old, new = g["traditional"]
    return (
        [(e["key"], e["name"]) for e in g["new_cities"]],
        [(e["key"], e["region"], e["district"]) for e in g["districts"]],
        [(e["key"], e["district"], e["city"]) for e in g["zones"]],
        [(e["key"], e["name"]) for e in g["cities"]],
        str.maketrans(old, new),
    )


def spoken_new_city(text: str | None) -> str | None:
    """The new city a spoken short form names (想在泾河… → 泾河新城), for query sentences only: not read on import,
    where 空港 in another province's address means another airport zone."""
    t = unicodedata.normalize("NFKC", text or "")
    return next((e["name"] for e in gazetteer().get("spoken", []) if e["key"] in t), None)


@lru_cache(maxsize=8192)
def parse_region(text: str | None) -> tuple[str | None, str | None]:
    """Region (西安 / 咸阳 / 西咸新区, or another Shaanxi city) and district from free text.

    ``西安市灞桥区`` → (西安, 灞桥区); ``沣东新城`` → (西咸新区, 沣东新城); ``秦都区`` → (咸阳, 秦都区).
    A new city of 西咸新区 wins over the administrative district it lies in.
    """
    if not text:
        return None, None
    new_cities, districts, zones, cities, traditional = _tables()
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).translate(traditional).lower()
    t = t.replace("沔", "沣").replace("’", "'")  # OCR text of the source plan writes 沔 for 沣
    for key, new_city in new_cities:
        if key in t:
            return "西咸新区", new_city
    city, city_at = None, len(t) + 1
    for key, name in cities:
        at = t.find(key)
        if at >= 0 and at < city_at:
            city, city_at = name, at
    if city == "西咸新区":
        return city, None
    hits = sorted((t.find(key), region, district) for key, region, district in districts if key in t)
    for _at, region, district in hits:
        if city is None or city == region:
            return region, district
    for key, district, default_city in zones:
        if key in t and (city or default_city):
            return city or default_city, district
    return city, None

"""Where things are on the offline map: the five new cities, their parks and main-city places at approximate positions."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from matcher import paths
from matcher.knowledge.regions import parse_region

MAP_FILE = "map.json"
PARK_RING = 0.025  # degrees: parks without their own position are drawn on a small ring around their new city


@lru_cache(maxsize=1)
def map_data() -> dict[str, Any]:
    """``data/map.json``: approximate positions with their basis and source."""
    return json.loads((paths.DATA_DIR / MAP_FILE).read_text(encoding="utf-8"))


def place_of(location: str | None) -> dict[str, Any] | None:
    """The approximate position of a firm's location (district, zone or city), or ``None`` when unknown."""
    if not location:
        return None
    places = map_data()["places"]
    for name, pos in places.items():
        if name in location:
            return {"name": name, **pos}
    region, district = parse_region(location)
    if district and district in places:
        return {"name": district, **places[district]}
    if district and district in map_data()["new_cities"]:
        return {"name": district, **map_data()["new_cities"][district]}
    main = {"西安": "西安主城区", "咸阳": "咸阳主城区"}.get(region or "")
    return {"name": main, **places[main]} if main else None


def map_points(kbd: dict[str, Any], highlight: list[str] | None = None,
               firm: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The points to draw: new cities, their parks (on a ring around the city), the firm's current place.

    Args:
        kbd: the knowledge base (parks with ``new_city``).
        highlight: recommended landing places (park or new-city names), drawn highlighted.
        firm: the firm (``name``, ``region``, ``district``) whose current location is shown.
    """
    data = map_data()
    wanted = set(highlight or [])
    parks = [p for p in kbd.get("parks") or [] if p.get("new_city") in data["new_cities"]
             and p.get("kind") == "园区"]
    wanted |= {p["new_city"] for p in parks if p["name"] in wanted}  # a recommended park lights up its new city
    out = []
    for city, pos in data["new_cities"].items():
        out.append({"name": city, "kind": "新城", "lat": pos["lat"], "lon": pos["lon"], "new_city": city,
                    "highlight": city in wanted, "position": f"约（{pos['basis']}）"})
    by_city: dict[str, list[dict[str, Any]]] = {}
    for p in parks:
        by_city.setdefault(p["new_city"], []).append(p)
    for city, ps in by_city.items():
        c = data["new_cities"][city]
        for i, p in enumerate(ps):
            angle = 2 * math.pi * i / len(ps)
            out.append({"name": p["name"], "kind": "园区", "lat": c["lat"] + PARK_RING * math.sin(angle),
                        "lon": c["lon"] + PARK_RING * math.cos(angle), "new_city": city,
                        "highlight": p["name"] in wanted,
                        "position": f"约（位于{city}，按新城中心示意）"})
    for name in ("西安主城区", "咸阳主城区"):  # the two main cities, for orientation
        pos = data["places"][name]
        out.append({"name": name, "kind": "参照", "lat": pos["lat"], "lon": pos["lon"], "new_city": None,
                    "highlight": False, "position": "约（城区中心）"})
    if firm:
        pos = place_of(" ".join(str(firm.get(k) or "") for k in ("district", "region")).strip())
        if pos:
            out.append({"name": f"{firm.get('name') or '企业'}（现址）", "kind": "企业现址", "lat": pos["lat"],
                        "lon": pos["lon"], "new_city": None, "highlight": True, "position": f"约（{pos['name']}）"})
    return out

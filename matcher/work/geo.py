"""Where things are on the offline map: the five new cities and their parks, and main-city places, at approximate
positions, each with where the position comes from.

The new cities' and parks' positions are knowledge-base data (``position`` of each entry of ``data/kb/parks.json``,
checked by `matcher.knowledge.validate`); the main-city districts and zones a firm may be in are in ``data/map.json``.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from matcher import paths
from matcher.knowledge.regions import parse_region

MAP_FILE = "map.json"
PARK_RING = 0.025  # degrees: a park without a position of its own is drawn on a small ring around its new city
NO_POSITION = "本园区没有位置数据：画在所属新城位置附近，只表示所属新城"


@lru_cache(maxsize=1)
def map_data() -> dict[str, Any]:
    """``data/map.json``: main-city places at approximate positions, each with its source and confidence."""
    return json.loads((paths.DATA_DIR / MAP_FILE).read_text(encoding="utf-8"))


def approx_text(pos: dict[str, Any], label: str = "") -> str:
    """How the map names a position: 约 for an approximate one, then the label or the coordinates."""
    where = label or f"{pos['lat']:.2f}°N，{pos['lon']:.2f}°E"
    return f"{'约' if pos.get('approx', True) else ''}（{where}）"


def new_city_positions(kbd: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The new cities that have a position in the knowledge base: name → ``position``."""
    return {p["name"]: p["position"] for p in (kbd or {}).get("parks") or []
            if p.get("kind") == "新城" and isinstance(p.get("position"), dict)}


def place_of(location: str | None, kbd: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The approximate position of a firm's location (district, zone, new city or city), or ``None`` when unknown.

    Returns:
        ``{"name", "lat", "lon", "approx", "source", "confidence"}``; new cities come from ``kbd``'s positions.
    """
    if not location:
        return None
    places = map_data()["places"]
    for name, pos in places.items():
        if name in location:
            return {"name": name, **pos}
    region, district = parse_region(location)
    if district and district in places:
        return {"name": district, **places[district]}
    cities = new_city_positions(kbd)
    if district and district in cities:
        return {"name": district, **cities[district]}
    main = {"西安": "西安主城区", "咸阳": "咸阳主城区"}.get(region or "")
    return {"name": main, **places[main]} if main else None


def _point(name: str, kind: str, pos: dict[str, Any], new_city: str | None, highlight: bool,
           label: str = "") -> dict[str, Any]:
    return {"name": name, "kind": kind, "lat": pos["lat"], "lon": pos["lon"], "new_city": new_city,
            "highlight": highlight, "position": approx_text(pos, label), "source": pos.get("source") or "",
            "confidence": pos.get("confidence") or "待核实"}


def map_points(kbd: dict[str, Any], highlight: list[str] | None = None,
               firm: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The points to draw: new cities and their parks at their knowledge-base positions, the firm's current place.

    Every point carries ``position`` (约 and the coordinates), ``source`` (where the position comes from, or how it
    was estimated) and ``confidence``. A park without a position of its own is drawn near its new city and says so.

    Args:
        kbd: the knowledge base (parks with ``new_city`` and ``position``).
        highlight: recommended landing places (park or new-city names), drawn highlighted.
        firm: the firm (``name``, ``region``, ``district``) whose current location is shown.
    """
    cities = new_city_positions(kbd)
    wanted = set(highlight or [])
    parks = [p for p in kbd.get("parks") or [] if p.get("new_city") in cities and p.get("kind") == "园区"]
    wanted |= {p["new_city"] for p in parks if p["name"] in wanted}  # a recommended park lights up its new city
    out = [_point(city, "新城", pos, city, city in wanted) for city, pos in cities.items()]
    unplaced: dict[str, list[dict[str, Any]]] = {}
    for p in parks:
        if isinstance(p.get("position"), dict):
            out.append(_point(p["name"], "园区", p["position"], p["new_city"], p["name"] in wanted))
        else:
            unplaced.setdefault(p["new_city"], []).append(p)
    for city, ps in unplaced.items():
        c = cities[city]
        for i, p in enumerate(ps):
            angle = 2 * math.pi * i / len(ps)
            pos = {"lat": c["lat"] + PARK_RING * math.sin(angle), "lon": c["lon"] + PARK_RING * math.cos(angle),
                   "approx": True, "source": NO_POSITION, "confidence": "待核实"}
            out.append(_point(p["name"], "园区", pos, city, p["name"] in wanted, f"位于{city}，按新城位置示意"))
    for name in ("西安主城区", "咸阳主城区"):  # the two main cities, for orientation
        out.append(_point(name, "参照", map_data()["places"][name], None, False, "城区中心"))
    if firm:
        here = place_of(" ".join(str(firm.get(k) or "") for k in ("district", "region")).strip(), kbd)
        if here:
            out.append(_point(f"{firm.get('name') or '企业'}（现址）", "企业现址", here, None, True, here["name"]))
    return out

"""Set the offline map's positions that a public source gives: ``data/map.json`` and ``position`` in ``data/kb/parks.json``.

Sources (both MIT; only the few coordinates used are copied, each with its source written beside it):

- cpca (https://github.com/DQinYuan/chinese_province_city_area_mapper), ``cpca/resources/adcodes.csv``: a longitude and
  latitude for every county-level division. A main-city district in ``data/map.json`` gets its row's coordinate; a
  knowledge-base entry whose name names a district or county (``咸阳秦都区…`` → 秦都区, ``高陵区``) gets that
  coordinate, and a 组团 whose members include two or more districts/counties gets the mean of theirs. Old names in cpca
  (户县, 彬县) are matched through the project's own region vocabulary (``data/regions.json``). cpca does not say
  which datum its coordinates use (they may be GCJ-02, as Chinese web maps use: a few hundred metres off WGS-84, far
  below the map's precision).
- airportsdata (https://github.com/mborsetti/airportsdata, a fork of mwgg/Airports): 西安咸阳国际机场 (ICAO ZLXY), for
  the new city whose ``location`` is the airport's surroundings (空港新城). A park drawn on the ring around that new city
  (an estimate that only says which new city it belongs to) moves with it.

Everything else keeps its estimate (source ``估计…``, confidence 待核实) or stays without a position: no source is made
up. Only estimates, missing positions and this script's own earlier output are (re)written, so a position someone set
from another source is kept. 开发区 (西安高新区 …) stay estimates: the reference material does not say which district
each lies in; when it does, add the zone to ZONE_DISTRICTS with where it says so.

Run from the repository root after ``pip install cpca airportsdata`` (any environment; the app does not need them):
``python data/map_positions.py``, or point at unpacked wheels: ``--cpca DIR --airportsdata DIR``. ``--check`` only
reports whether the files are up to date (exit code 1 when not). Same output every time for the same package versions.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MAP = HERE / "map.json"
PARKS = HERE / "kb" / "parks.json"
CITY_CODES = {"6101": "西安", "6104": "咸阳"}  # adcode prefixes of the two main cities
AIRPORTS = {"西安咸阳国际机场": ("ZLXY", "Xianyang")}  # name in a location text → (ICAO code, word its name must contain)
# 开发区 → (the district it lies in, where the reference material says so). None is known yet.
ZONE_DISTRICTS: dict[str, tuple[str, str]] = {}
REWRITABLE = ("估计", "cpca ", "airportsdata ")  # sources this script may replace
ESTIMATE = "估计"
SOURCED = "single-source"  # one public source (the KB's confidence vocabulary: confirmed / single-source / 待核实)
Parse = Callable[[str], tuple[str | None, str | None]]


def parse_region(text: str) -> tuple[str | None, str | None]:
    """The project's own reading of a place name (region, district), e.g. 户县 → (西安, 鄠邑区)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from matcher.knowledge.regions import parse_region as parse

    return parse(text)


def package_file(name: str, inner: str, where: str | None) -> tuple[Path, str]:
    """A file shipped in an installed (or unpacked) package, and the package's version; its licence must be MIT.

    Raises:
        LookupError: the package is not there, its licence is not MIT, or it lacks the file.
    """
    dists = list(metadata.distributions(name=name, path=[where])) if where else list(metadata.distributions(name=name))
    if not dists:
        raise LookupError(f"找不到 {name}：先 pip install {name}，或用 --{name} 指向解压后的 wheel 目录")
    dist = dists[0]
    licence = [str(dist.metadata.get(k) or "") for k in ("License", "License-Expression")]
    if not any("MIT" in x for x in licence + (dist.metadata.get_all("Classifier") or [])):
        raise LookupError(f"{name} {dist.version} 的许可不是 MIT，不使用")
    path = Path(str(dist.locate_file(inner)))
    if not path.is_file():
        raise LookupError(f"{name} {dist.version} 中没有 {inner}")
    return path, dist.version


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def county_table(rows: Iterable[dict[str, str]], parse: Parse = parse_region) -> dict[str, dict[str, Any]]:
    """District/county name as the project writes it → its cpca row (adcode, name, lon, lat), for 西安 and 咸阳."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        code = r["adcode"]
        city = CITY_CODES.get(code[:4])
        if not city or code[4:6] == "00" or not r["longitude"] or not r["latitude"]:
            continue  # another city, the city itself, or a 市辖区 row without a coordinate
        region, district = parse(r["name"])
        if region == city and district:
            out[district] = {"adcode": code, "name": r["name"], "lon": float(r["longitude"]),
                             "lat": float(r["latitude"])}
    return out


def airport(rows: Iterable[dict[str, str]], icao: str, word: str) -> dict[str, Any]:
    """An airport's row in airportsdata (checked by a word of its name).

    Raises:
        LookupError: the code is missing or names another airport.
    """
    row = next((r for r in rows if r["icao"] == icao), None)
    if row is None or word not in row["name"]:
        raise LookupError(f"airportsdata 中 {icao} 不是预期的机场：{row}")
    return {"icao": icao, "name": row["name"], "lon": float(row["lon"]), "lat": float(row["lat"])}


def cpca_source(version: str, row: dict[str, Any], district: str) -> str:
    """How a district's coordinate is cited; an old name in cpca says which district it is."""
    text = f"cpca {version} resources/adcodes.csv（MIT，{row['adcode']} {row['name']}）：区县坐标"
    if row["name"] != district:
        text += f"（cpca 中为旧名{row['name']}，data/regions.json 地区词表将其归为{district}）"
    return text


def _rewritable(pos: Any) -> bool:
    return pos is None or (isinstance(pos, dict) and str(pos.get("source") or "").startswith(REWRITABLE))


def _pos(lon: float, lat: float, source: str, order: tuple[str, str] = ("lon", "lat")) -> dict[str, Any]:
    xy = {"lon": round(lon, 6), "lat": round(lat, 6)}
    return {order[0]: xy[order[0]], order[1]: xy[order[1]], "approx": True, "source": source, "confidence": SOURCED}


def map_places(places: dict[str, Any], counties: dict[str, dict[str, Any]], version: str,
               parse: Parse = parse_region) -> dict[str, Any]:
    """``data/map.json``'s places with every district at its cpca coordinate (zones: their district's, when known)."""
    out = {}
    for name, pos in places.items():
        _region, district = parse(name)
        new = pos
        if _rewritable(pos) and district == name and name in counties:
            row = counties[name]
            new = _pos(row["lon"], row["lat"], cpca_source(version, row, name), ("lat", "lon"))
        elif _rewritable(pos) and name in ZONE_DISTRICTS and ZONE_DISTRICTS[name][0] in counties:
            where, said = ZONE_DISTRICTS[name]
            row = counties[where]
            new = _pos(row["lon"], row["lat"], f"{cpca_source(version, row, where)}；位于{where}据{said}",
                       ("lat", "lon"))
        out[name] = new
    return out


def park_positions(parks: list[dict[str, Any]], counties: dict[str, dict[str, Any]], version: str,
                   airports: dict[str, dict[str, Any]], airport_source: str,
                   parse: Parse = parse_region) -> dict[str, dict[str, Any] | None]:
    """Each park's position after the update (name → position or None); unchanged unless a source gives one."""
    out: dict[str, dict[str, Any] | None] = {}
    for p in parks:
        pos = p.get("position")
        out[p["name"]] = pos
        if not _rewritable(pos):
            continue
        location = p.get("location") or ""
        near = next((a for a in airports if f"{a}周边" in location), None) if p.get("kind") == "新城" else None
        _region, district = parse(p["name"])
        members = [d for d in (parse(m)[1] for m in p.get("members") or []) if d in counties]
        if near:
            a = airports[near]
            out[p["name"]] = _pos(a["lon"], a["lat"], f"{airport_source}：{a['icao']} {near}（{a['name']}）机场基准点坐标；本条 "
                                  f"location 为“{near}周边”，以机场位置代表新城，精度约数公里")
        elif p.get("kind") != "组团" and district in counties:
            row = counties[district]
            said = ("本条即该区县" if p["name"] == district
                    else f"本条名称写明位于{district}，画在区县坐标处，不表示园区在区县内的具体位置")
            out[p["name"]] = _pos(row["lon"], row["lat"], f"{cpca_source(version, row, district)}；{said}")
        elif p.get("kind") == "组团" and len(members) >= 2:
            rows = [counties[d] for d in members]
            cited = "、".join(f"{r['adcode']} {r['name']}" for r in rows)
            left = [m for m in p["members"] if parse(m)[1] not in counties]
            text = f"cpca {version} resources/adcodes.csv（MIT）：成员区县坐标的平均（{cited}）"
            if left:
                text += f"；成员{'、'.join(left)}没有坐标出处，未计入"
            out[p["name"]] = _pos(sum(r["lon"] for r in rows) / len(rows), sum(r["lat"] for r in rows) / len(rows),
                                  text + "；只表示组团的大致范围")
    # a park drawn on the ring around its new city (an estimate) moves with the new city
    before = {p["name"]: p.get("position") for p in parks if p.get("kind") == "新城"}
    for p in parks:
        pos, city = p.get("position"), p.get("new_city")
        old, new = before.get(city or ""), out.get(city or "")
        if (p.get("kind") == "园区" and isinstance(pos, dict) and str(pos.get("source", "")).startswith(ESTIMATE)
                and isinstance(old, dict) and isinstance(new, dict) and old != new):
            out[p["name"]] = dict(pos, lon=round(pos["lon"] + new["lon"] - old["lon"], 6),
                                  lat=round(pos["lat"] + new["lat"] - old["lat"], 6))
    return out


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def map_text(data: dict[str, Any]) -> str:
    """``data/map.json`` in its layout: one place per line."""
    rows = ",\n".join(f"    {_dumps(name)}: {_dumps(pos)}" for name, pos in data["places"].items())
    return f'{{\n  "about": {_dumps(data["about"])},\n  "places": {{\n{rows}\n  }}\n}}\n'


def parks_text(text: str, positions: dict[str, dict[str, Any] | None]) -> str:
    """``parks.json`` with each entry's ``position`` line replaced or added (after ``location``); layout kept."""
    lines = text.split("\n")
    for name, pos in positions.items():
        if pos is None:
            continue
        start = lines.index(f'      "name": {_dumps(name)},')
        end = next(i for i in range(start, len(lines)) if lines[i].startswith("    }"))
        line = f'      "position": {_dumps(pos)},'
        at = next((i for i in range(start, end) if lines[i].startswith('      "position": ')), None)
        if at is not None:
            lines[at] = line
        else:
            after = next((i for i in range(start, end) if lines[i].startswith('      "location": ')), start)
            lines.insert(after + 1, line)
    out = "\n".join(lines)
    parks = json.loads(out)["parks"]
    assert all(p.get("position") == positions[p["name"]] for p in parks), "parks.json was not rewritten as intended"
    return out


def write(path: Path, text: str) -> None:
    """Replace a file atomically, keeping its permissions."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cpca", help="cpca 所在目录（site-packages 或解压后的 wheel；默认当前环境）")
    ap.add_argument("--airportsdata", help="airportsdata 所在目录（同上；找不到时空港新城保持估计）")
    ap.add_argument("--check", action="store_true", help="只检查文件是否已是最新，不写入")
    args = ap.parse_args(argv)
    try:
        adcodes, version = package_file("cpca", "cpca/resources/adcodes.csv", args.cpca)
    except LookupError as missing:
        print(missing, file=sys.stderr)
        return 2
    counties = county_table(read_csv(adcodes))
    airports: dict[str, dict[str, Any]] = {}
    airport_source = ""
    try:
        path, ap_version = package_file("airportsdata", "airportsdata/airports.csv", args.airportsdata)
        rows = read_csv(path)
        airports = {name: airport(rows, icao, word) for name, (icao, word) in AIRPORTS.items()}
        airport_source = f"airportsdata {ap_version} airports.csv（MIT，源自 mwgg/Airports）"
    except LookupError as missing:
        print(f"{missing}；空港新城的位置不变", file=sys.stderr)
    old_map, old_parks = MAP.read_text(encoding="utf-8"), PARKS.read_text(encoding="utf-8")
    data = json.loads(old_map)
    data["places"] = map_places(data["places"], counties, version)
    new_map = map_text(data)
    parks = json.loads(old_parks)["parks"]
    positions = park_positions(parks, counties, version, airports, airport_source)
    new_parks = parks_text(old_parks, positions)
    stale = [p for p, old, new in ((MAP, old_map, new_map), (PARKS, old_parks, new_parks)) if old != new]
    for label, values in (("data/map.json", data["places"].values()), ("data/kb/parks.json", positions.values())):
        placed = [v for v in values if isinstance(v, dict)]
        sourced = sum(1 for v in placed if not str(v.get("source", "")).startswith(ESTIMATE))
        none = sum(1 for v in values if v is None)
        print(f"{label}: 有出处 {sourced}，估计 {len(placed) - sourced}" + (f"，无位置 {none}" if none else ""))
    if args.check:
        for p in stale:
            print(f"{p.relative_to(ROOT)} 不是最新")
        return 1 if stale else 0
    for p, text in ((MAP, new_map), (PARKS, new_parks)):
        if p in stale:
            write(p, text)
            print(f"已更新 {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

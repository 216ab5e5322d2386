"""The offline map's positions: every new city and 西咸 park placed (approximately, from the knowledge base, each with
its source and confidence), recommendations highlighted."""

from __future__ import annotations

import copy

from matcher.knowledge import kb
from matcher.work import geo


def test_every_xixian_park_is_placed_near_its_new_city_at_its_knowledge_base_position() -> None:
    kbd = kb.load_dir()
    points = geo.map_points(kbd)
    cities = {p["name"]: p for p in points if p["kind"] == "新城"}
    assert set(cities) == {"空港新城", "沣东新城", "秦汉新城", "沣西新城", "泾河新城"}
    parks = {p["name"]: p for p in kbd["parks"] if p.get("kind") == "园区" and p.get("new_city") in cities}
    placed = {p["name"]: p for p in points if p["kind"] == "园区"}
    assert set(placed) == set(parks)
    for name, p in placed.items():
        assert (p["lat"], p["lon"]) == (parks[name]["position"]["lat"], parks[name]["position"]["lon"])
        c = cities[p["new_city"]]
        assert abs(p["lat"] - c["lat"]) < 0.05 and abs(p["lon"] - c["lon"]) < 0.05
    # every point is marked 约 and carries where its position comes from and how sure it is
    assert all(p["position"].startswith("约") and p["source"] and p["confidence"] for p in points)
    assert cities["空港新城"]["source"] == next(p for p in kbd["parks"] if p["name"] == "空港新城")["position"]["source"]
    assert all(p["confidence"] == "待核实" for p in points)  # no public source gives coordinates
    # the five new cities are where they lie relative to each other: 泾河 east of 沣西, 空港 north of 沣东
    assert cities["泾河新城"]["lon"] > cities["沣西新城"]["lon"] and cities["空港新城"]["lat"] > cities["沣东新城"]["lat"]


def test_a_park_without_a_position_is_drawn_near_its_new_city_and_says_so() -> None:
    kbd = copy.deepcopy(kb.load_dir())
    park = next(p for p in kbd["parks"] if p["name"] == "秦创原·氢合湾")
    del park["position"]
    point = next(p for p in geo.map_points(kbd) if p["name"] == "秦创原·氢合湾")
    city = next(p for p in kbd["parks"] if p["name"] == "泾河新城")["position"]
    assert abs(point["lat"] - city["lat"]) < 0.05 and abs(point["lon"] - city["lon"]) < 0.05
    assert point["position"] == "约（位于泾河新城，按新城位置示意）" and point["source"] == geo.NO_POSITION
    assert point["confidence"] == "待核实"


def test_recommendations_and_the_firm_are_highlighted() -> None:
    kbd = kb.load_dir()
    points = geo.map_points(kbd, ["秦创原·氢合湾"], {"name": "甲公司", "region": "西安", "district": "雁塔区"})
    lit = {p["name"] for p in points if p["highlight"]}
    assert lit == {"秦创原·氢合湾", "泾河新城", "甲公司（现址）"}
    firm = next(p for p in points if p["kind"] == "企业现址")
    assert firm["position"] == "约（雁塔区）" and firm["source"].startswith("估计") and firm["confidence"] == "待核实"
    assert geo.place_of("江苏省苏州市") is None and geo.place_of("咸阳市")["name"] == "咸阳主城区"
    assert geo.place_of("西咸新区沣西新城", kbd)["name"] == "沣西新城"


def test_every_main_city_place_has_a_source_and_confidence() -> None:
    for name, pos in geo.map_data()["places"].items():
        assert set(pos) == {"lat", "lon", "approx", "source", "confidence"}, name
        assert pos["approx"] is True and pos["source"] and pos["confidence"] in kb.CONFIDENCE, name

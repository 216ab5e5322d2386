"""The offline map's positions: every new city and 西咸 park placed (approximately), recommendations highlighted."""

from __future__ import annotations

from matcher.knowledge import kb
from matcher.work import geo


def test_every_xixian_park_is_placed_near_its_new_city() -> None:
    kbd = kb.load_dir()
    points = geo.map_points(kbd)
    cities = {p["name"]: p for p in points if p["kind"] == "新城"}
    assert set(cities) == {"空港新城", "沣东新城", "秦汉新城", "沣西新城", "泾河新城"}
    parks = [p for p in kbd["parks"] if p.get("kind") == "园区" and p.get("new_city") in cities]
    placed = {p["name"]: p for p in points if p["kind"] == "园区"}
    assert set(placed) == {p["name"] for p in parks}
    for p in placed.values():
        c = cities[p["new_city"]]
        assert abs(p["lat"] - c["lat"]) < 0.05 and abs(p["lon"] - c["lon"]) < 0.05
    assert all(p["position"].startswith("约") for p in points)
    # the five new cities are where they lie relative to each other: 泾河 east of 沣西, 空港 north of 沣东
    assert cities["泾河新城"]["lon"] > cities["沣西新城"]["lon"] and cities["空港新城"]["lat"] > cities["沣东新城"]["lat"]


def test_recommendations_and_the_firm_are_highlighted() -> None:
    kbd = kb.load_dir()
    points = geo.map_points(kbd, ["秦创原·氢合湾"], {"name": "甲公司", "region": "西安", "district": "雁塔区"})
    lit = {p["name"] for p in points if p["highlight"]}
    assert lit == {"秦创原·氢合湾", "泾河新城", "甲公司（现址）"}
    firm = next(p for p in points if p["kind"] == "企业现址")
    assert firm["position"] == "约（雁塔区）"
    assert geo.place_of("江苏省苏州市") is None and geo.place_of("咸阳市")["name"] == "咸阳主城区"

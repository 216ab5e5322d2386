"""The offline map's positions: every new city and 西咸 park placed (approximately, from the knowledge base, each with
its source and confidence), recommendations highlighted."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

from matcher.knowledge import kb
from matcher.work import geo

DISTRICTS = {"新城区", "碑林区", "莲湖区", "雁塔区", "未央区", "灞桥区", "长安区", "临潼区", "阎良区", "高陵区", "鄠邑区",
             "秦都区", "渭城区"}  # the main-city districts in data/map.json


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
    # 空港新城 is at 西安咸阳国际机场 (airportsdata); no public source gives the others' coordinates
    assert cities["空港新城"]["confidence"] == "single-source" and "ZLXY" in cities["空港新城"]["source"]
    assert all(p["confidence"] == "待核实" for p in points if p["name"] != "空港新城")
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
    assert firm["position"] == "约（雁塔区）" and firm["confidence"] == "single-source"
    assert firm["source"] == "cpca 0.5.5 resources/adcodes.csv（MIT，610113000000 雁塔区）：区县坐标"
    assert geo.place_of("江苏省苏州市") is None and geo.place_of("咸阳市")["name"] == "咸阳主城区"
    assert geo.place_of("西咸新区沣西新城", kbd)["name"] == "沣西新城"


def test_every_main_city_place_has_a_source_and_confidence() -> None:
    for name, pos in geo.map_data()["places"].items():
        assert set(pos) == {"lat", "lon", "approx", "source", "confidence"}, name
        assert pos["approx"] is True and pos["source"] and pos["confidence"] in kb.CONFIDENCE, name
        # a district is at its cpca coordinate; a zone or a city centre has no public source and says so
        if name in DISTRICTS:
            assert pos["source"].startswith(("cpca 0.5.5 resources/adcodes.csv（MIT，6101",
                                             "cpca 0.5.5 resources/adcodes.csv（MIT，6104")), name
            assert pos["confidence"] == "single-source", name
        else:
            assert pos["source"].startswith("估计，无坐标出处") and pos["confidence"] == "待核实", name
    assert "旧名户县" in geo.map_data()["places"]["鄠邑区"]["source"]


def _positions_script():
    path = Path(__file__).resolve().parent.parent / "data" / "map_positions.py"
    spec = importlib.util.spec_from_file_location("map_positions", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_positions_script_cites_what_it_uses_and_keeps_what_it_cannot_source() -> None:
    mp = _positions_script()
    rows = [{"adcode": "610100000000", "name": "西安市", "longitude": "108.9", "latitude": "34.3"},
            {"adcode": "610101000000", "name": "市辖区", "longitude": "", "latitude": ""},
            {"adcode": "610117000000", "name": "高陵区", "longitude": "109.0", "latitude": "34.5"},
            {"adcode": "610125000000", "name": "户县", "longitude": "108.6", "latitude": "34.1"},
            {"adcode": "610423000000", "name": "泾阳县", "longitude": "108.8", "latitude": "34.6"},
            {"adcode": "320102000000", "name": "玄武区", "longitude": "118.8", "latitude": "32.0"}]
    counties = mp.county_table(rows)
    assert set(counties) == {"高陵区", "鄠邑区", "泾阳县"}  # old names through data/regions.json; other cities left out
    estimate = {"lat": 34.2, "lon": 108.9, "approx": True, "source": "估计，无坐标出处：……", "confidence": "待核实"}
    places = mp.map_places({"鄠邑区": estimate, "西安高新区": estimate}, counties, "0.5.5")
    assert places["鄠邑区"]["source"].startswith("cpca 0.5.5 resources/adcodes.csv（MIT，610125000000 户县）")
    assert list(places["鄠邑区"])[:2] == ["lat", "lon"] and places["西安高新区"] is estimate
    staff = {"lon": 109.1, "lat": 34.5, "approx": True, "source": "某区政府网站", "confidence": "confirmed"}
    city = {"lon": 108.76, "lat": 34.43, "approx": True, "source": "估计：……", "confidence": "待核实"}
    ring = {"lon": 108.785, "lat": 34.43, "approx": True, "source": "估计：画在空港新城附近", "confidence": "待核实"}
    parks = [{"name": "空港新城", "kind": "新城", "new_city": "空港新城", "location": "西安咸阳国际机场周边",
              "position": city},
             {"name": "空港综合保税区", "kind": "园区", "new_city": "空港新城", "position": ring},
             {"name": "高陵区", "kind": "园区", "new_city": None, "location": "西安"},
             {"name": "西安高新区", "kind": "园区", "new_city": None, "location": "西安"},
             {"name": "某区园区", "kind": "园区", "new_city": None, "location": "高陵区", "position": staff},
             {"name": "组团", "kind": "组团", "members": ["高陵区", "泾河新城", "泾阳县"]}]
    airports = {"西安咸阳国际机场": {"icao": "ZLXY", "name": "Xi'an Xianyang International Airport",
                                    "lon": 108.752, "lat": 34.4471}}
    out = mp.park_positions(parks, counties, "0.5.5", airports, "airportsdata X")
    assert (out["空港新城"]["lon"], out["空港新城"]["lat"]) == (108.752, 34.4471)
    assert out["空港新城"]["source"].startswith("airportsdata X：ZLXY 西安咸阳国际机场")
    assert (out["空港综合保税区"]["lon"], out["空港综合保税区"]["lat"]) == (108.777, 34.4471)  # moved with its city
    assert out["高陵区"]["source"].endswith("本条即该区县") and out["高陵区"]["confidence"] == "single-source"
    assert out["西安高新区"] is None and out["某区园区"] is staff  # no source: none; another source: kept
    assert (out["组团"]["lon"], out["组团"]["lat"]) == (108.9, 34.55) and "泾河新城没有坐标出处" in out["组团"]["source"]
    assert mp.park_positions(parks, counties, "0.5.5", {}, "")["空港新城"] is city  # without airportsdata: kept

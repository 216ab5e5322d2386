"""The knowledge base: shipped data, validation, versioned edits, the co-building view and the kb commands."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher import paths
from matcher.cli import app
from matcher.knowledge import gbt, kb
from matcher.store.database import Store
from matcher.terminal import kb_view
from tests.conftest import shared_file

# The 西安 19 key chains as the official notice names them (ASCII parentheses, as in the reference).
XIAN_19 = [
    "光子", "重卡", "半导体和集成电路", "生物医药", "轨道交通", "航空", "钛及钛合金", "乘用车(新能源)", "乳制品", "航天",
    "输变电装备", "太阳能光伏", "无人机", "氢能", "增材制造", "智能终端", "物联网", "传感器", "陶瓷基复合材料",
]


@pytest.fixture(scope="module")
def files_kb() -> dict:
    """The shipped files, read once."""
    return kb.load_dir()


def _chain(data: dict, name: str) -> dict:
    return next(c for c in data["chains"] if c["name"] == name)


def _system(data: dict, sid: str) -> dict:
    return next(s for s in data["systems"] if s["id"] == sid)


def _messages(problems: list[kb.Problem]) -> str:
    return "\n".join(str(p) for p in problems)


# -- shipped content --------------------------------------------------------------------------------------------
def test_shipped_files_validate(files_kb):
    assert kb.validate(files_kb) == []


def test_xian_19_chains_verbatim(files_kb):
    names = {c["name"] for c in files_kb["chains"]}
    assert set(XIAN_19) <= names
    items = [it["name"] for it in _system(files_kb, "xian-19")["items"]]
    assert items == XIAN_19
    assert "新型显示" in names
    assert {c["name"] for c in kb.focus_chains(files_kb)} == set(XIAN_19) | {"新型显示"}


def test_xian_19_matches_reference(files_kb):
    facts = json.loads(shared_file("reference", "industry_systems_facts.json").read_text(encoding="utf-8"))
    reference = facts["xian_19_chains"]["items"]
    assert reference == XIAN_19
    names = {c["name"] for c in files_kb["chains"]}
    assert [n for n in reference if n not in names] == []


def test_xixian_4plus1_2024_items(files_kb):
    s = _system(files_kb, "xixian-4+1-2024")
    assert s["status"] == "current" and s["confidence"] == "confirmed" and s["source"]
    top = [it["name"] for it in s["items"] if it["parent"] is None]
    assert top == ["高新技术产业", "先进制造业", "现代服务业", "文旅体融合产业", "现代都市农业"]
    subs = {it["name"]: it["parent"] for it in s["items"] if it["parent"]}
    for name in ["人工智能", "量子信息", "低空经济", "大数据和云计算", "3D打印", "生命科学"]:
        assert subs[name] == "高新技术产业"
    for name in ["新能源", "新材料", "特种专用车", "生物医药", "高端装备制造", "航空航天", "电子信息制造"]:
        assert subs[name] == "先进制造业"
    older = _system(files_kb, "xixian-4+1-legacy")
    assert older["status"] == "superseded" and older["confidence"] == "待核实"


def test_crosswalk_of_solar(files_kb):
    """太阳能光伏 ∈ 西安19条, ∈ 咸阳16条, ∈ 西咸 先进制造业·新能源, ∈ 陕西23条."""
    refs = {(r["system"], r["item"]) for r in _chain(files_kb, "太阳能光伏")["systems"]}
    assert {("xian-19", "太阳能光伏"), ("xianyang-16+8+3", "光伏"), ("xixian-4+1-2024", "新能源"),
            ("shaanxi-23-2021", "太阳能光伏")} <= refs


def test_every_gb_code_exists_in_gbt4754(files_kb):
    codes = gbt.gb_codes()
    assert len(codes) == 1382
    for c in files_kb["chains"]:
        assert c["gb_codes"], c["name"]
        unknown = [g for g in c["gb_codes"] if g not in codes]
        assert unknown == [], f"{c['name']}: {unknown}"


def test_sei_paths_exist(files_kb):
    paths = gbt.sei_paths()
    for c in files_kb["chains"]:
        assert [p for p in c["sei"] if p not in paths] == [], c["name"]


def test_sw_industries_exist_in_shenwan(files_kb):
    path = shared_file("data", "chainkg", "industry.json")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    level3 = {r["name"] for r in rows if not r["code"].endswith("00")}  # 申万 codes: L1 xx0000, L2 xxxx00
    for c in files_kb["chains"]:
        assert [w for w in c["sw_industries"] if w not in level3] == [], c["name"]
    assert set(_chain(files_kb, "新型显示")["sw_industries"]) == {"面板", "LED"}


def test_segments_are_rich(files_kb):
    for c in files_kb["chains"]:
        assert [s["stage"] for s in c["segments"]] == ["上游", "中游", "下游"], c["name"]
        for s in c["segments"]:
            assert 10 <= len(s["keywords"]) <= 25, f"{c['name']} {s['stage']}: {len(s['keywords'])}"
            assert len(set(s["keywords"])) == len(s["keywords"]), f"{c['name']} {s['stage']} 关键词重复"


def test_parks_cover_new_cities_and_groups(files_kb):
    parks = {p["name"]: p for p in files_kb["parks"]}
    for city in kb.NEW_CITIES:
        assert parks[city]["kind"] == "新城" and parks[city]["lead_chains"] and parks[city]["features"]
    assert "临近西安咸阳国际机场" in parks["空港新城"]["features"]
    groups = {p["name"] for p in files_kb["parks"] if p["kind"] == "组团"}
    assert {"空港新城—咸阳经开区临空经济组团", "高陵—泾河新城—泾阳—三原组团"} <= groups
    assert parks["咸阳高新区"]["city"] == "咸阳" and parks["西安高新区"]["city"] == "西安"


def test_new_cities_and_their_parks_have_sourced_approximate_positions(files_kb):
    placed = [p for p in files_kb["parks"] if p.get("new_city") and p["kind"] in ("新城", "园区")]
    assert len([p for p in placed if p["kind"] == "新城"]) == 5 and len(placed) > 5
    for p in placed:
        pos = p["position"]
        assert set(pos) == {"lon", "lat", "approx", "source", "confidence"} and pos["approx"] is True, p["name"]
        assert 108.5 < pos["lon"] < 109.2 and 34.1 < pos["lat"] < 34.6, p["name"]  # 西咸新区, roughly
    city = {p["name"]: p["position"] for p in placed if p["kind"] == "新城"}
    # 空港新城 (西安咸阳国际机场周边) is drawn at the airport, from airportsdata (data/map_positions.py)
    assert city["空港新城"]["source"].startswith("airportsdata ") and "ZLXY 西安咸阳国际机场" in city["空港新城"]["source"]
    assert city["空港新城"]["confidence"] == "single-source"
    # no public source gives the others' coordinates: each says how it was estimated and stays 待核实 (none made up)
    for p in placed:
        if p["name"] != "空港新城":
            pos = p["position"]
            assert pos["confidence"] == "待核实" and pos["source"].startswith("估计，无坐标出处"), p["name"]
        if p["kind"] == "园区":
            assert p["new_city"] in p["position"]["source"]


def test_positions_from_a_district_cite_its_cpca_row(files_kb):
    parks = {p["name"]: p.get("position") for p in files_kb["parks"]}
    assert parks["高陵区"]["source"].startswith("cpca 0.5.5 resources/adcodes.csv（MIT，610117000000 高陵区）")
    assert (parks["高陵区"]["lon"], parks["高陵区"]["lat"]) == (109.088297, 34.534829)
    assert "610402000000 秦都区" in parks["咸阳秦都区LCD面板显示产业集群"]["source"]
    group = parks["高陵—泾河新城—泾阳—三原组团"]
    assert all(s in group["source"] for s in ("高陵区", "泾阳县", "三原县", "平均", "泾河新城没有坐标出处"))
    # the reference says nowhere which district these lie in: no position rather than a made-up one
    assert all(parks[n] is None for n in ("咸阳高新区", "咸阳经开区", "西安高新区", "西安经开区", "西安航天基地"))
    for name, pos in parks.items():
        if pos and pos["confidence"] != "待核实":
            assert pos["source"].startswith(("cpca ", "airportsdata ")) and "MIT" in pos["source"], name
        elif pos:
            assert pos["source"].startswith("估计"), name


def test_validate_checks_positions(files_kb):
    data = copy.deepcopy(files_kb)
    parks = {p["name"]: p for p in data["parks"]}
    parks["泾河新城"]["position"] = dict(parks["泾河新城"]["position"], lon=34.46, lat=108.97)  # swapped
    parks["秦创原·氢合湾"]["position"] = {"lon": 108.9, "lat": 34.4, "approx": "yes", "source": " ", "conf": "x"}
    del parks["沣西新城"]["position"]
    del parks["西部云谷"]["position"]  # a park may go without: the map draws it near its new city and says so
    text = _messages(kb.validate(data))
    assert "泾河新城：position lon = 34.46 不在陕西省范围" in text and "经纬度颠倒" in text
    assert "秦创原·氢合湾：position 有未知字段 conf" in text and "缺少 approx" in text and "缺少 source" in text
    assert "秦创原·氢合湾：position confidence 应为" in text
    assert "沣西新城：缺少 position" in text and "西部云谷" not in text
    assert len(kb.validate(data)) == 7  # both coordinates of the swapped one, four of the broken one, one missing


def test_xianyang_544_is_kept_but_unconfirmed(files_kb):
    s = _system(files_kb, "xianyang-544")
    assert s["confidence"] == "待核实" and s["items"] == []
    known = {it["name"] for it in _system(files_kb, "xianyang-16+8+3")["items"]}
    assert {"新型显示", "光伏", "输变电", "清洁低碳能化"} <= known


# -- validation catches mistakes ----------------------------------------------------------------------------
def test_validate_catches_broken_reference(files_kb):
    data = copy.deepcopy(files_kb)
    park = next(p for p in data["parks"] if p["name"] == "泾河新城")
    park["lead_chains"].append("不存在的链")
    item = next(it for it in _system(data, "xian-19")["items"] if it["name"] == "太阳能光伏")
    item["chains"] = ["光伏"]  # an alias, not the official name
    text = _messages(kb.validate(data))
    assert "parks.json" in text and "泾河新城" in text and "不存在的链" in text
    assert "systems.json" in text and "“光伏” 不存在" in text and "太阳能光伏" in text


def test_validate_catches_missing_source(files_kb):
    data = copy.deepcopy(files_kb)
    item = _system(data, "xixian-4+1-2024")["items"][0]
    del item["source"]
    problems = kb.validate(data)
    assert len(problems) == 1
    assert problems[0].file == "systems.json" and "xixian-4+1-2024" in problems[0].entry
    assert "高新技术产业" in problems[0].message and "source" in problems[0].message


def test_validate_rejects_empty_source_unless_unconfirmed(files_kb):
    data = copy.deepcopy(files_kb)
    _chain(data, "氢能")["source"] = []
    assert "source 为空" in _messages(kb.validate(data))
    _chain(data, "氢能")["confidence"] = "待核实"
    assert kb.validate(data) == []


def test_validate_catches_unknown_gb_code(files_kb):
    data = copy.deepcopy(files_kb)
    _chain(data, "航天")["gb_codes"] = ["3742", "9999", "382"]
    problems = kb.validate(data)
    assert [p.file for p in problems] == ["chains.json", "chains.json"]
    text = _messages(problems)
    assert "“9999”" in text and "“382”" in text and "航天" in text


def test_validate_catches_chain_without_codes_or_keywords(files_kb):
    data = copy.deepcopy(files_kb)
    c = _chain(data, "乳制品")
    c["gb_codes"] = []
    c["segments"][1]["keywords"] = []
    text = _messages(kb.validate(data))
    assert "没有 GB/T 4754-2017 行业代码" in text and "中游环节" in text and "没有关键词" in text


def test_validate_reports_misspelt_field(files_kb):
    data = copy.deepcopy(files_kb)
    park = next(p for p in data["parks"] if p["name"] == "秦汉新城")
    park["lead_chain"] = park.pop("lead_chains")
    text = _messages(kb.validate(data))
    assert "秦汉新城" in text and "未知字段 lead_chain" in text and "lead_chains 应为字符串列表" in text


def test_load_dir_names_the_bad_file(tmp_path: Path):
    (tmp_path / "chains.json").write_text('{"chains": [', encoding="utf-8")
    with pytest.raises(kb.KBError, match="chains.json"):
        kb.load_dir(tmp_path)


# -- the database: versions and edits -------------------------------------------------------------------------
def test_store_loads_version_one(store: Store, files_kb):
    assert kb.version(store) == 1
    cur = kb.current(store)
    assert cur["version"] == 1 and len(cur["chains"]) == len(files_kb["chains"])
    assert store.db["chains"].count == len(files_kb["chains"])
    assert store.db["segments"].count == 3 * len(files_kb["chains"])
    assert store.db["parks"].count == len(files_kb["parks"])
    store.close()
    again = kb.open_store(store.path)  # reopening does not load a second copy
    assert kb.version(again) == 1
    again.close()


def test_concurrent_first_open_loads_once(db_path: Path):
    from concurrent.futures import ThreadPoolExecutor

    def open_store(_: int) -> int:
        s = kb.open_store(db_path)
        try:
            return kb.version(s)
        finally:
            s.close()

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(open_store, range(4))) == [1, 1, 1, 1]
    s = Store(db_path)
    assert [v["version"] for v in kb.versions(s)] == [1]
    s.close()


def test_edit_creates_version_and_keeps_old_readable(store: Store):
    v = kb.edit(store, "chain", "光伏", {"aliases": ["光伏", "PV"]}, author="张三", reason="补充英文简称")
    assert v == 2 and kb.version(store) == 2
    assert _chain(kb.current(store), "太阳能光伏")["aliases"] == ["光伏", "PV"]
    assert "太阳能" in _chain(kb.at_version(store, 1), "太阳能光伏")["aliases"]
    row = store.db.execute("SELECT aliases FROM chains WHERE name = '太阳能光伏'").fetchone()
    assert json.loads(row[0]) == ["光伏", "PV"]
    hist = kb.history(store, "太阳能光伏")
    assert [(h["version"], h["change"]) for h in hist] == [(1, "载入"), (2, "修改")]
    assert hist[1]["author"] == "张三" and hist[1]["reason"] == "补充英文简称" and hist[1]["fields"] == ["aliases"]


def test_edit_renames_chain_everywhere(store: Store):
    kb.edit(store, "产业链", "氢能", {"name": "氢能源"}, author="李四", reason="统一名称")
    cur = kb.current(store)
    assert "氢能" in _chain(cur, "氢能源")["aliases"]
    assert "氢能源" in next(p for p in cur["parks"] if p["name"] == "泾河新城")["lead_chains"]
    assert ("xian-19", "氢能") in {(r["system"], r["item"]) for r in _chain(cur, "氢能源")["systems"]}
    assert kb.validate(cur) == []


def test_edit_system_item_updates_crosswalk(store: Store):
    s = copy.deepcopy(_system(kb.current(store), "xixian-4+1-2024"))
    next(it for it in s["items"] if it["name"] == "量子信息")["chains"] = ["光子"]
    kb.edit(store, "system", "xixian-4+1-2024", {"items": s["items"]}, author="王五", reason="量子信息对应光子")
    refs = {(r["system"], r["item"]) for r in _chain(kb.current(store), "光子")["systems"]}
    assert ("xixian-4+1-2024", "量子信息") in refs


def test_edit_refused_when_it_breaks_the_kb(store: Store):
    with pytest.raises(kb.KBError, match="不存在的链"):
        kb.edit(store, "park", "泾河新城", {"lead_chains": ["不存在的链"]}, author="张三", reason="测试")
    with pytest.raises(kb.KBError, match="修改人"):
        kb.edit(store, "park", "泾河新城", {"note": "x"}, author="", reason="测试")
    assert kb.version(store) == 1


def test_edit_moves_a_park_on_the_map_and_refuses_a_bad_position(store: Store):
    pos = {"lon": 108.95, "lat": 34.47, "approx": True, "source": "某园区公告（示例）", "confidence": "single-source"}
    assert kb.edit(store, "park", "秦创原·氢合湾", {"position": pos}, author="张三", reason="核实位置") == 2
    assert next(p for p in kb.current(store)["parks"] if p["name"] == "秦创原·氢合湾")["position"] == pos
    with pytest.raises(kb.KBError, match="position"):
        kb.edit(store, "park", "秦创原·氢合湾", {"position": {"lon": 108.95, "lat": 34.47}}, author="张三",
                reason="漏了来源")
    assert kb.version(store) == 2


def test_edit_adds_and_deletes_a_park(store: Store):
    new = {"kind": "园区", "new_city": "空港新城", "city": "西咸新区", "lead_industries": ["航空维修"],
           "lead_chains": ["航空"], "features": ["机库"], "location": "空港新城", "source": [],
           "confidence": "待核实", "as_of": "2026", "note": ""}
    assert kb.edit(store, "park", "测试航空维修园", new, author="张三", reason="新增园区") == 2
    assert kb.find(kb.current(store), "测试航空维修园")[0] == "parks"
    assert kb.edit(store, "park", "测试航空维修园", None, author="张三", reason="撤回", delete=True) == 3
    assert kb.find(kb.current(store), "测试航空维修园") is None
    assert [h["change"] for h in kb.history(store, "测试航空维修园")] == ["新增", "删除"]


def test_changed_files_reach_the_database_unless_staff_edited(tmp_path: Path, monkeypatch):
    folder = tmp_path / "kb"
    shutil.copytree(paths.KB_DIR, folder)
    monkeypatch.setattr(paths, "KB_DIR", folder)
    s = kb.open_store(tmp_path / "a.db")
    assert kb.version(s) == 1
    data = json.loads((folder / "chains.json").read_text(encoding="utf-8"))
    data["chains"][0]["description"] = "文件中更新的说明"
    (folder / "chains.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    s.close()
    s = kb.open_store(tmp_path / "a.db")
    assert kb.version(s) == 2 and kb.current(s)["chains"][0]["description"] == "文件中更新的说明"
    kb.edit(s, "chain", data["chains"][0]["name"], {"description": "业务人员修改"}, author="张三", reason="修订")
    data["chains"][0]["description"] = "文件再次更新"
    (folder / "chains.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    s.close()
    s = kb.open_store(tmp_path / "a.db")
    assert kb.version(s) == 3 and kb.current(s)["chains"][0]["description"] == "业务人员修改"
    assert kb.import_dir(s, author="张三", reason="采用文件版本") == 4  # an explicit import resumes following the files
    data["chains"][0]["description"] = "第三次更新"
    (folder / "chains.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    s.close()
    s = kb.open_store(tmp_path / "a.db")
    assert kb.version(s) == 5 and kb.current(s)["chains"][0]["description"] == "第三次更新"
    s.close()


# -- fact-audit corrections (each with its source in the entry) -------------------------------------------------
def test_fengxi_xianyang_hi_tech_is_a_sourced_demonstration_zone(files_kb):
    p = next(x for x in files_kb["parks"] if x["name"] == "沣西新城—咸阳高新区")
    assert p["confidence"] == "single-source" and any("咸发〔2024〕4号" in s for s in p["source"])
    assert p["lead_industries"] and p["lead_chains"] and p["new_city"] == "沣西新城"


def test_group_leads_follow_the_plan(files_kb):
    parks = {x["name"]: x for x in files_kb["parks"]}
    airport = parks["空港新城—咸阳经开区临空经济组团"]["lead_industries"]
    assert {"航空制造", "生物医药", "电子信息"} <= set(airport)
    north = parks["高陵—泾河新城—泾阳—三原组团"]["lead_industries"]
    assert {"光伏", "新能源", "新材料", "高端装备制造"} <= set(north)


def test_clean_energy_chemicals_is_single_source(files_kb):
    assert _chain(files_kb, "清洁低碳能化")["confidence"] == "single-source"
    item = next(i for i in _system(files_kb, "xianyang-16+8+3")["items"] if i["name"] == "清洁低碳能化")
    assert item["confidence"] == "single-source"


def test_crosswalk_corrections(files_kb):
    solar = _chain(files_kb, "太阳能光伏")
    assert "3099" in solar["gb_codes"]
    assert {"碲化镉", "薄膜电池"} <= {k for sg in solar["segments"] for k in sg["keywords"]}
    assert "3985" in _chain(files_kb, "氢能")["gb_codes"]
    titanium = _chain(files_kb, "钛及钛合金")
    if any("超导" in k for sg in titanium["segments"] for k in sg["keywords"]):
        assert "3254" in titanium["gb_codes"]
    drones = _chain(files_kb, "无人机")["gb_codes"]
    assert "3749" not in drones and {"3963", "3741"} <= set(drones)
    assert not any("树脂基" in x for x in _chain(files_kb, "陶瓷基复合材料")["sei"])
    assert "3423" not in _chain(files_kb, "数控机床")["gb_codes"]


def test_connected_vehicles_map_to_a_4plus1_item(files_kb):
    refs = _chain(files_kb, "乘用车(新能源)")["systems"]
    assert any(r["system"] == "xixian-4+1-2024" for r in refs)


def test_mirror_sources_name_their_publisher(files_kb):
    for kind in ("systems", "chains", "parks"):
        for row in files_kb[kind]:
            for src in row.get("source") or []:
                for mirror, publisher in (("www3333333.com", "西安市人民政府"), ("dentiste-levallois-perret", "中新网")):
                    if mirror in src:
                        assert src.startswith(publisher), src


def test_show_marks_old_wording_and_names_parents(store: Store):
    text = kb_view(store, "太阳能光伏")
    assert "先进制造业·新能源" in text
    old = next(line for line in text.splitlines() if "（早期）" in line)
    assert "待核实" in old
    assert "来源：西安市人民政府" in text and "\n  来源：http://www.www3333333.com" not in text
    landing = next(line for line in text.splitlines() if line.startswith("落地载体"))
    assert "西安经开区" not in landing and "同类集聚" in text
    assert "旧表述，待核实" in kb_view(store, "xixian-4+1-legacy")


def test_cobuild_rows_keep_main_city_parks_as_context(store: Store):
    solar = next(r for r in kb.cobuild_view(store) if r["chain"] == "太阳能光伏")
    assert all(x["new_city"] for x in solar["landing"])
    assert {x["park"] for x in solar["clusters"]} == {"西安经开区", "高陵区"}
    legacy = [x for x in solar["systems"]["西咸新区"] if "早期" in x]
    assert legacy and all("待核实" in x for x in legacy)
    assert "西咸新区“4+1”重点产业集群·先进制造业·新能源" in solar["systems"]["西咸新区"]


# -- reading ------------------------------------------------------------------------------------------------------
def test_cobuild_view(store: Store):
    rows = {r["chain"]: r for r in kb.cobuild_view(store)}
    solar = rows["太阳能光伏"]
    assert all(solar["systems"][region] for region in ("西咸新区", "西安", "咸阳", "陕西"))
    assert solar["new_cities"] == ["泾河新城"]
    assert "隆基绿能" in {a["name"] for a in solar["anchors"]}
    assert "空港新城" in rows["临空经济"]["new_cities"]


def test_show_chain_system_park(store: Store):
    text = kb_view(store, "光伏")
    assert text.startswith("产业链：太阳能光伏") and "3825 光伏设备及元器件制造" in text and "泾河新城" in text
    assert "西安市19条重点产业链" in text and "知识库版本 1" in text
    assert "现代都市农业" in kb_view(store, "xixian-4+1-2024")
    assert "临近西安咸阳国际机场" in kb_view(store, "空港新城")
    with pytest.raises(kb.KBError, match="太阳能光伏"):
        kb_view(store, "太阳能光")


def test_dump_has_the_documented_shape(store: Store):
    data = kb.dump(store)
    assert data["version"] == 1 and {"systems", "chains", "parks"} <= set(data)
    c = data["chains"][0]
    assert {"name", "segments", "gb_codes", "systems", "source", "confidence"} <= set(c)
    assert {"stage", "name", "keywords"} <= set(c["segments"][0])
    item = data["systems"][0]["items"][0]
    assert {"name", "source", "confidence"} <= set(item)
    for p in data["parks"]:
        assert {"name", "lead_chains", "source", "confidence"} <= set(p) and (p["new_city"] or p["city"])


def test_gb_classes_rows():
    rows = gbt.gb_classes()
    row = next(r for r in rows if r["code"] == "3825")
    assert row["name"] == "光伏设备及元器件制造" and "太阳能电池" in row["description"]
    assert row["division"] == "电气机械和器材制造业" and "strategic" in row["tags"]
    assert all("  " not in r["sei_path"] for r in gbt.sei_rows())


# -- command line -------------------------------------------------------------------------------------------------
runner = CliRunner()


def test_cli_validate_ok():
    result = runner.invoke(app, ["kb", "validate"])
    assert result.exit_code == 0, result.output
    assert "检查通过" in result.output
    assert json.loads(result.output.strip().splitlines()[-1])["problems"] == 0


def test_cli_validate_fails_with_file_and_entry(tmp_path: Path):
    folder = tmp_path / "kb"
    shutil.copytree(paths.KB_DIR, folder)
    data = json.loads((folder / "chains.json").read_text(encoding="utf-8"))
    next(c for c in data["chains"] if c["name"] == "航天")["gb_codes"] = ["9999"]
    (folder / "chains.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["kb", "validate", "--dir", str(folder)])
    assert result.exit_code == 1
    assert "chains.json · 产业链 航天" in result.output and "9999" in result.output and "发现 1 个问题" in result.output


def test_cli_dump_show_edit_history(db_path: Path):
    result = runner.invoke(app, ["kb", "dump", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["version"] == 1 and {c["name"] for c in data["chains"]} >= set(XIAN_19)
    result = runner.invoke(app, ["kb", "show", "乘用车(新能源)", "--db", str(db_path)])
    assert result.exit_code == 0 and "产业链：乘用车(新能源)" in result.output
    result = runner.invoke(app, ["kb", "show", "没有这个", "--db", str(db_path)])
    assert result.exit_code == 1 and "知识库中没有" in result.output
    result = runner.invoke(app, ["kb", "edit", "chain", "重卡", "--set", 'aliases=["重型卡车","商用车"]',
                                 "--author", "张三", "--reason", "精简别名", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["version"] == 2
    result = runner.invoke(app, ["kb", "history", "重卡", "--db", str(db_path)])
    assert result.exit_code == 0 and "张三" in result.output and "精简别名" in result.output


def test_cli_validate_stored_and_import(db_path: Path):
    result = runner.invoke(app, ["kb", "validate", "--stored", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "知识库版本 1" in result.output
    result = runner.invoke(app, ["kb", "import", "--author", "张三", "--reason", "重新导入", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == {"version": 2}

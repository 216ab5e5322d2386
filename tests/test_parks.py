"""Landing places: only 承接地 recommended, indirect needs met, reasons naming the fit, the eval scoring what is shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.knowledge import kb
from matcher.match.engine import Matcher
from matcher.match.evaluate import evaluate_parks
from matcher.match.parks import load_needs, needs_digest
from matcher.match.reasons import render
from matcher.store.database import Store


@pytest.fixture(scope="module")
def kb_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("parks") / "parks.db")
    yield s
    s.close()


@pytest.fixture(scope="module")
def matcher(kb_store: Store) -> Matcher:
    """The knowledge-base part of the matcher (chains, classes, parks): no stored firms needed for landing places."""
    return Matcher().fit_kb(kb.current(kb_store))


def _check(hits) -> None:
    for h in hits:
        assert abs(sum(h.parts.values()) - h.score) < 1e-9
        reason = render(h)
        assert "综合条件相近" not in reason and any("\u4e00" <= ch <= "\u9fff" for ch in reason)


@pytest.mark.parametrize("text", [
    "西安高新区一家12英寸晶圆代工与芯片封测企业，产能外溢，计划新建封测基地",
    "经开区一家新能源乘用车零部件企业，要扩产",
    "航天基地一家卫星载荷与运载火箭结构件企业，需要新厂房",
])
def test_recommendations_are_landing_places_only(matcher: Matcher, text: str) -> None:
    hits = matcher.parks(text, k=8)
    assert hits and all(h.data["new_city"] for h in hits), [(h.target, h.data["city"]) for h in hits]
    assert all(h.data["landing"] for h in hits)
    _check(hits)


def test_all_parks_lets_the_officer_see_main_city_parks(matcher: Matcher) -> None:
    text = "半导体和集成电路企业，晶圆制造、芯片设计与封测"
    every = matcher.parks(text, k=len(matcher.parks_.parks_), all_parks=True)
    outside = [h for h in every if not h.data["new_city"]]
    assert any(h.target == "西安高新区" for h in outside)
    assert all(not h.data["landing"] for h in outside)
    assert "非西咸新区承接地" in render(outside[0]) and render(outside[0]).startswith("参考")
    shown = matcher.parks(text, k=len(matcher.parks_.parks_))
    assert {h.target for h in shown} == {h.target for h in every if h.data["landing"]}


def test_main_city_cluster_is_context_in_the_reason(matcher: Matcher) -> None:
    hit = matcher.parks("主营产品：光伏组件、TOPCon电池片，计划新建组件工厂")[0]
    # the chain also leads 西安经开区: named as context, never recommended; 高陵区 is in a 组团, not context
    assert hit.data["new_city"] == "泾河新城" and "太阳能光伏" in hit.data["chains"]
    assert hit.data["cluster"] == ["西安经开区"]
    assert "同类集聚（主城、咸阳）：西安经开区" in render(hit)


@pytest.mark.parametrize("text, city, need", [
    ("一家国际快件公司，要建分拨中心，每天有夜间货机航班", "空港新城", "航空货运与快件"),
    ("做飞机部件维修和航材销售的公司，要靠近机务基地", "空港新城", "航空服务与维修"),
    ("一家智算服务商，要建机柜和服务器集群", "沣西新城", "算力与数据中心"),
    ("考古与文物数字化保护公司，想靠近帝陵遗址做展示", "秦汉新城", "文物遗址与文旅资源"),
    ("一家电解槽和加氢站设备企业，要有氢源", "泾河新城", "氢源与氢能场景"),
])
def test_indirect_needs_lead_to_the_place_that_meets_them(matcher: Matcher, text: str, city: str, need: str) -> None:
    hits = matcher.parks(text)
    top = hits[0]
    assert top.data["new_city"] == city, [(h.target, round(h.score, 3), h.parts) for h in hits]
    assert need in top.data["needs"] and top.parts["needs"] > 0
    reason = render(top)
    assert need in reason and any(w in reason for w in top.data["asked"])
    _check(hits)


def test_one_generic_word_is_weaker_than_two(matcher: Matcher) -> None:
    one, _, _ = matcher.parks_._needs_of("公司想做旅游")
    two, _, _ = matcher.parks_._needs_of("公司想做文物遗址旅游")
    i = next(j for j, p in enumerate(matcher.parks_.parks_) if p["name"] == "秦汉新城")
    assert 0 < one[i] < two[i] <= 1.0


def test_weak_evidence_is_said_plainly(matcher: Matcher) -> None:
    hit = matcher.parks("一家马术俱乐部")[0]
    assert not (hit.data["chains"] or hit.data["needs"] or hit.data["lead"])
    assert "证据较弱" in render(hit) and "主导产业为" in render(hit)


def test_group_carries_its_xianyang_member(matcher: Matcher) -> None:
    hits = matcher.parks("液晶面板和玻璃基板配套企业，主营偏光片、背光模组", k=10)
    group = next(h for h in hits if h.target == "沣西新城—咸阳高新区")
    assert group.data["new_city"] == "沣西新城" and "咸阳高新区" in group.data["members"]
    assert "组团成员" in render(group)


def test_shown_list_spreads_over_new_cities(matcher: Matcher) -> None:
    cap = int(matcher.parks_.weights["per_city"])
    hits = matcher.parks("氢燃料电池电堆、膜电极、双极板企业，需要扩产用地，催化剂靠进口，想用保税仓", k=5)
    cities = [h.data["new_city"] for h in hits]
    assert cities[0] == "泾河新城" and cities[:cap + 1].count("泾河新城") == cap, cities
    assert "空港新城" in cities[:cap + 1]  # the other new city with evidence comes before more of the first one


def test_places_without_evidence_come_last(matcher: Matcher) -> None:
    hits = matcher.parks("西安主城区一家氢燃料电池电堆企业，主营产品：膜电极、双极板、燃料电池电堆，需要扩产用地", k=5)
    evidence = [bool(h.data["chains"] or h.data["needs"] or h.data["lead"]) for h in hits]
    assert evidence[:3] == [True, True, True] and evidence == sorted(evidence, reverse=True), \
        [(h.target, h.data["new_city"], e) for h, e in zip(hits, evidence)]


def test_needs_table_names_known_parks_with_sources(matcher: Matcher) -> None:
    names = {p["name"] for p in matcher.kb_["parks"]}
    needs = load_needs()
    assert len(needs) >= 10
    for need in needs:
        assert need["words"] and need["parks"], need["name"]
        assert set(need["parks"]) <= names, need["name"]
        assert need["source"] and need["confidence"] in kb.CONFIDENCE, need["name"]
        assert any(names_city for names_city in need["parks"] if names_city in {p["name"] for p in matcher.kb_["parks"]
                                                                               if p.get("new_city")}), need["name"]


def test_needs_digest_follows_the_file(tmp_path: Path) -> None:
    f = tmp_path / "needs.json"
    f.write_text(json.dumps({"needs": []}), encoding="utf-8")
    before = needs_digest(f)
    f.write_text(json.dumps({"needs": [{"name": "x", "words": ["机场"], "parks": []}]}), encoding="utf-8")
    assert needs_digest(f) != before and load_needs(f)[0]["name"] == "x"


def test_eval_scores_the_top_park_shown(matcher: Matcher) -> None:
    rows = [{"id": "a", "text": "国际快件与航空货运代理企业，需要货站", "label": "空港新城"},
            {"id": "b", "text": "半导体和集成电路企业，晶圆制造", "label": "沣西新城|沣东新城|空港新城|秦汉新城|泾河新城"},
            {"id": "c", "text": "国际快件与航空货运代理企业，需要货站", "label": "秦汉新城"}]
    metrics, preds = evaluate_parks(rows, matcher)
    assert metrics["n"] == 3 and metrics["top_park_outside_xixian"] == 0.0
    assert metrics["hit1"] == metrics["top_park_in_gold"] == pytest.approx(2 / 3, abs=1e-3)
    assert preds[0][0] == "空港新城" and len(set(preds[0])) == len(preds[0])
    shown = matcher.parks(rows[0]["text"])
    assert shown[0].data["new_city"] == preds[0][0]


def test_systems_are_those_of_the_chosen_chain_with_parents(matcher: Matcher) -> None:
    chains, _, _ = matcher.classify("主营产品：光伏组件、TOPCon电池片、逆变器")
    assert chains[0].target == "太阳能光伏"
    systems = matcher.systems_of(chains[:1])
    items = [i for s in systems for i in s["items"]]
    assert {i["chain"] for i in items} == {"太阳能光伏"}
    xixian = next(s for s in systems if s["system_id"] == "xixian-4+1-2024")
    assert xixian["items"][0]["item"] == "先进制造业·新能源" and xixian["items"][0]["name"] == "新能源"
    assert all(s["system_id"] != "xixian-4+1-legacy" for s in systems)


def test_match_cli_all_parks(kb_store: Store) -> None:
    text = "半导体和集成电路企业，晶圆制造、芯片设计与封测"
    base = CliRunner().invoke(app, ["match", text, "--db", str(kb_store.path), "--json", "-k", "30"])
    every = CliRunner().invoke(app, ["match", text, "--db", str(kb_store.path), "--json", "-k", "30", "--all-parks"])
    assert base.exit_code == 0 and every.exit_code == 0, base.output + every.output
    shown = [p["data"]["city"] for p in json.loads(base.output)["parks"]]
    listed = [p["data"]["city"] for p in json.loads(every.output)["parks"]]
    assert set(shown) == {"西咸新区"} and "西安" in listed


def test_reasons_name_only_the_firms_own_chains_and_say_when_no_place_leads_them(matcher: Matcher) -> None:
    """A SiC device maker: no 西咸 place leads 半导体和集成电路, and a stray chain of the text model is not named."""
    text = "做SiC MOSFET功率器件的企业，想在西咸找地方扩产"
    chains, _, _ = matcher.classify(text)
    assert chains and chains[0].target == "半导体和集成电路"
    stray = {h.target for h in chains if h.score < 0.5 * chains[0].score}
    parks = matcher.parks(text, k=5)
    for h in parks:
        assert not set(h.data["chains"]) & stray, (h.target, h.data["chains"])
    first = parks[0]
    assert not first.data["chains"]
    assert "西咸新区暂无以「半导体和集成电路」为主导产业链的承接地" in first.reason
    assert "西安高新区" in first.reason  # where the chain clusters, as context

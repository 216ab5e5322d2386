"""Query understanding: free text, rows and stored firms as fields; products decide the chain, needs never do."""

from __future__ import annotations

import pytest

from matcher.match.query import Query, parse


def test_officer_sentence_fields():
    q = parse("西安高新区一家做氮化镓射频芯片的企业，计划在沣西新城扩产，需要30亩工业用地，拟投资5亿元，需要采购外延片和陶瓷管壳")
    assert q.products == ["氮化镓射频芯片"]
    assert "外延片" in q.needs and "陶瓷管壳" in q.needs
    assert "扩产" in q.plans
    assert q.land_mu == 30
    assert q.investment_yi == 5
    assert q.location  # where it is now was read
    # The needs are not what the firm makes.
    assert "外延片" not in q.product_text()


def test_labelled_sections():
    q = parse("秦川精工有限公司，主营产品：精密减速器、伺服电机；采购需求：铸件、轴承；计划：迁建到泾河新城")
    assert q.name == "秦川精工有限公司"
    assert q.products == ["精密减速器", "伺服电机"]
    assert q.needs == ["铸件", "轴承"]
    assert "迁建" in q.plans
    assert q.profile().startswith("秦川精工有限公司,主营产品:精密减速器")


def test_anonymous_opener_is_no_name():
    q = parse("某公司，主营产品：电解铝、铝型材")
    assert q.name == ""
    assert q.products == ["电解铝", "铝型材"]


def test_need_clause_inside_product_section_is_a_need():
    q = parse("主营产品：储氢瓶、加氢机，需要扩产用地")
    assert q.products == ["储氢瓶", "加氢机"]
    assert "扩产" in q.plans


def test_product_words_are_not_site_conditions():
    # 电力 in a product name is no power requirement; 双回路供电 in a need is one.
    assert "电力/机房" not in parse("电力电缆和电缆附件").special
    assert "电力/机房" in parse("数据中心服务，需要双回路供电").special


def test_customers_and_inputs_are_not_products():
    q = parse("汽车线束，给整车厂配套，原材料主要是铜杆")
    assert q.products == ["汽车线束"]
    assert q.customers == ["整车厂"]
    assert q.needs == ["铜杆"]


def test_plan_clause_is_not_a_product():
    q = parse("做锂电池隔膜的，想在咸阳找块地建新工厂")
    assert q.products == ["锂电池隔膜"]
    assert q.target == "咸阳" and not q.location  # where it wants to go, not where it is


def test_where_it_is_and_where_it_wants_to_go_are_apart():
    q = parse("主营产品：光伏组件；现所在地：经开区；计划：迁建至泾河新城")
    assert (q.location, q.target) == ("经开区", "泾河新城")
    q = parse("现在在长安区租厂房，做无人机飞控，想在空港新城新建基地")
    assert (q.location, q.target) == ("长安区", "空港新城")
    q = parse("一家做碳化硅功率器件的企业，计划在泾河新城扩产")
    assert (q.location, q.target) == ("", "泾河新城") and "意向落地 泾河新城" in q.summary()
    assert parse("从碑林区迁到沣西新城，做工业互联网平台").location == "碑林区"


def test_record_and_query_pass_through():
    q = parse({"id": 7, "name": "某材料公司", "products": "碳纤维；预浸料", "needs": "丙烯腈", "region": "咸阳"})
    assert q.firm_id == 7 and q.products == ["碳纤维", "预浸料"] and q.needs == ["丙烯腈"] and q.region == "咸阳"
    assert parse(q) is q
    d = q.as_dict()
    assert d["products"] == ["碳纤维", "预浸料"] and "land_mu" not in d


@pytest.mark.parametrize("text", ["", "   ", "，，。"])
def test_empty_input(text):
    q = parse(text)
    assert isinstance(q, Query)
    assert q.summary() == "" or isinstance(q.summary(), str)

"""Supply–demand counterparts on a small register of made-up firms: needs read from plain text, each firm its own
answer, 同行 apart, junk never offered, the region filter before the cut, reasons naming the evidence."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from matcher.ingest.importer import import_file
from matcher.match.counterparts import InputModel, Vocabulary, is_junk_name, needs_of
from matcher.match.engine import Matcher
from matcher.match.query import parse
from matcher.store.database import Store

FIRMS = [
    # name, region, products, needs
    ("秦岭电工变压器有限公司", "西安", "油浸式电力变压器、干式变压器、箱式变电站", "取向硅钢片、电磁线、变压器油"),
    ("渭河变压器制造有限公司", "咸阳", "电力变压器、干式变压器、组合式变电站", ""),
    ("沣东硅钢材料有限公司", "西安", "取向硅钢片、冷轧无取向硅钢", ""),
    ("泾河硅钢科技有限公司", "咸阳", "取向硅钢、变压器铁芯叠片", ""),
    ("长安铜线电磁线有限公司", "西安", "铜扁线、漆包电磁线、换位导线", ""),
    ("西部电网工程有限公司", "西咸新区", "输变电工程总承包、配电网建设运维", "电力变压器、开关柜、电力电缆"),
    ("关中电力能源集团有限公司", "西安", "火力发电、风力发电、售电", "升压变压器、箱式变电站"),
    ("秦川封装测试有限公司", "西咸新区", "集成电路封装测试、功率器件封装", "引线框架、环氧塑封料、键合金丝"),
    ("高陵引线框架有限公司", "西安", "蚀刻引线框架、冲压引线框架", ""),
    ("咸阳塑封材料有限公司", "咸阳", "环氧塑封料、电子封装胶", ""),
    ("华清乳业有限公司", "咸阳", "纯牛奶、酸奶、羊乳粉", "生鲜乳、包装材料"),
    ("渭北奶牛牧场有限公司", "咸阳", "生鲜乳、奶牛养殖", ""),
    ("=HYPERLINK(\"http://x.cn\",\"硅钢\")", "西安", "取向硅钢片", ""),
]


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Matcher]:
    folder = tmp_path_factory.mktemp("counterparts")
    path = folder / "firms.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["企业名称", "所在地区", "主要产品", "采购需求"])
        w.writerows(FIRMS)
    store = Store(folder / "cp.db")
    junk = sum(1 for f in FIRMS if f[0].startswith("="))  # formula names are quarantined at import, never stored
    result = import_file(store, path)
    assert result.stored == len(FIRMS) - junk and result.quarantined == junk
    yield store, Matcher.for_store(store)
    store.close()


def _names(hits):
    return [h.label for h in hits]


def _parts_add_up(hits):
    for h in hits:
        assert h.parts and abs(sum(h.parts.values()) - h.score) < 1e-9


def test_needs_in_plain_text_are_read(register) -> None:
    _, m = register
    res = m.match("主营产品：干式变压器；采购需求：取向硅钢片、漆包电磁线", k=3)
    top = _names(res.suppliers)
    assert top[:2] and set(top[:2]) <= {"沣东硅钢材料有限公司", "泾河硅钢科技有限公司", "长安铜线电磁线有限公司"}, top
    assert "长安铜线电磁线有限公司" in top
    best = res.suppliers[0]
    assert best.data["pair"] and "硅钢" in best.data["pair"][0] and "硅钢" in best.reason
    _parts_add_up(res.suppliers + res.customers + res.peers)


def test_competitors_are_peers_never_suppliers(register) -> None:
    _, m = register
    res = m.match("主营产品：电力变压器、干式变压器", k=5)
    peers = _names(res.peers)
    assert "渭河变压器制造有限公司" in peers and "秦岭电工变压器有限公司" in peers
    assert not set(peers) & set(_names(res.suppliers) + _names(res.customers))
    assert all("同行" in h.reason for h in res.peers)


def test_customers_state_needs_for_our_products(register) -> None:
    _, m = register
    res = m.match("主营产品：电力变压器", k=3)
    assert {"西部电网工程有限公司", "关中电力能源集团有限公司"} & set(_names(res.customers)[:2]), _names(res.customers)
    hit = next(h for h in res.customers if h.label == "西部电网工程有限公司")
    assert "变压器" in hit.reason


def test_each_firm_gets_its_own_list(register) -> None:
    store, m = register
    by_name = {f["name"]: f for f in store.firms()}
    a = m.counterparts(by_name["秦川封装测试有限公司"], store=store, k=3)["suppliers"]
    b = m.counterparts(by_name["华清乳业有限公司"], store=store, k=3)["suppliers"]
    assert _names(a)[:2] and set(_names(a)[:2]) == {"高陵引线框架有限公司", "咸阳塑封材料有限公司"}
    assert _names(b)[0] == "渭北奶牛牧场有限公司"
    assert all(h.target != str(by_name["华清乳业有限公司"]["id"]) for h in b)  # never itself


def test_junk_rows_are_never_offered(register) -> None:
    _, m = register
    assert is_junk_name('=HYPERLINK("http://x.cn","a")') and not is_junk_name("沣东硅钢材料有限公司")
    res = m.match("主营产品：变压器；采购需求：取向硅钢片", k=10)
    assert not [h for h in res.suppliers + res.peers if "HYPERLINK" in h.label]


def test_region_filter_applies_before_the_cut(register) -> None:
    store, m = register
    firm = next(f for f in store.firms() if f["name"] == "秦岭电工变压器有限公司")
    only = m.counterparts(firm, store=store, region="咸阳", k=1)
    assert _names(only["suppliers"]) == ["泾河硅钢科技有限公司"]  # the best 咸阳 supplier, not the best overall
    assert all(h.data["region"] == "咸阳" for hits in only.values() for h in hits)


def test_needs_of_keeps_the_whole_clause() -> None:
    items, whole = needs_of(parse("主营产品：机床；采购需求：灰铁铸件，另外防护罩钣金想在本地找外协"))
    assert "灰铁铸件" in items and "防护罩钣金" in whole


def test_input_model_learns_what_goes_into_what(tmp_path: Path) -> None:
    links = [("电力变压器", "硅钢片"), ("干式变压器", "硅钢片"), ("干式变压器", "环氧树脂"), ("酸奶", "生鲜乳"),
             ("纯牛奶", "生鲜乳"), ("面包", "面粉")]
    model = InputModel().fit(links)
    model.save(tmp_path / "inputs.joblib")
    model = InputModel.load(tmp_path / "inputs.joblib")
    vocab = Vocabulary().fit(["取向硅钢片", "生鲜乳", "高筋面粉"])
    offered = vocab.transform(["取向硅钢片", "生鲜乳", "高筋面粉"])
    sims = (model.inputs(["油浸式变压器", "羊奶酸奶"], vocab) @ offered.T).toarray()
    assert np.argmax(sims[0]) == 0 and np.argmax(sims[1]) == 1


def test_invalid_twin_and_formula_rows_are_quarantined() -> None:
    from matcher.match.counterparts import CounterpartFinder

    firms = [
        {"id": 1, "name": "沣东硅钢材料有限公司", "uscc_valid": 1, "products": "取向硅钢片"},
        {"id": 2, "name": "沣东硅钢材料有限公司", "uscc_valid": 0, "products": "取向硅钢片"},  # a bad-code twin
        {"id": 3, "name": "泾河硅钢科技有限公司", "uscc_valid": 0, "products": "取向硅钢"},  # no valid twin: kept
        {"id": 4, "name": "=HYPERLINK(\"http://x.cn\")", "uscc_valid": None, "products": "取向硅钢片"},
    ]
    finder = CounterpartFinder({"needs": 1.0}).fit(firms)
    assert finder.offer_.tolist() == [True, False, True, False]
    meta = [{"id": f["id"], "name": f["name"]} for f in firms]
    hits = finder.find_many(["主营产品：变压器；采购需求：取向硅钢片"], [("", "")], meta, None, [None], k=5)[0]
    assert sorted(int(h.target) for h in hits["suppliers"]) == [1, 3]

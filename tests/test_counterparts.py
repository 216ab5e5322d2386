"""Supply–demand counterparts on a small register of made-up firms: needs read from plain text, each firm its own
answer, 同行 apart, junk never offered, the region filter before the cut, reasons naming the evidence."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from matcher import paths
from matcher.ingest.importer import import_file
from matcher.match.counterparts import CounterpartFinder, is_junk_name, needs_of
from matcher.match.engine import Matcher
from matcher.match.families import InputTable, TableError, best_of
from matcher.match.query import parse
from matcher.match.results import Hit
from matcher.store.database import Store
from tests.conftest import write_register

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
    path = write_register(folder / "firms.csv", FIRMS)
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


TABLE = [
    {"name": "数控机床", "words": ["加工中心", "数控车床", "机床"], "inputs": ["铸锻件", "轴承", "钢材"]},
    {"name": "铸锻件", "words": ["铸件", "锻件"], "inputs": ["钢材"]},
    {"name": "轴承", "words": ["轴承"], "inputs": ["钢材"]},
    {"name": "钢材", "words": ["钢板", "特钢"], "inputs": []},
    {"name": "汽车零部件", "words": ["制动盘", "变速器"], "inputs": ["铸锻件", "数控机床"]},
    {"name": "食品机械", "words": ["灭菌机", "灌装机"], "inputs": ["钢材"]},
    {"name": "乳制品", "words": ["乳品", "酸奶"], "inputs": ["食品机械"]},
]


def test_the_head_word_decides_the_family() -> None:
    table = InputTable(TABLE)
    found = table.item_families("乳品超高温瞬时灭菌机")
    food_machines, dairy = table.index["食品机械"], table.index["乳制品"]
    assert found[food_machines] == (1.0, "灭菌机") and found[dairy][0] == table.other_word
    assert table.item_families("钙钛矿叠层电池") == {}  # no word of the table inside it


def test_suppliers_from_the_input_table_and_customers_the_other_way() -> None:
    table = InputTable(TABLE)
    firms = [
        {"id": 1, "name": "甲铸造有限公司", "products": "汽车铸件、机床铸件"},
        {"id": 2, "name": "乙轴承有限公司", "products": "精密轴承"},
        {"id": 3, "name": "丙汽车制动有限公司", "products": "制动盘、变速器壳体"},
        {"id": 4, "name": "丁乳业有限公司", "products": "酸奶"},
        {"id": 5, "name": "戊钢铁有限公司", "products": "特钢、钢板"},
    ]
    weights = {"inputs": 1.0, "peer_threshold": 0.9}
    finder = CounterpartFinder(weights, table).fit(firms)
    meta = [{"id": f["id"], "name": f["name"]} for f in firms]
    out = finder.find_many(["主营产品：五轴加工中心、数控车床"], [("", "")], meta, None, [None], k=5)[0]
    suppliers = [h.label for h in out["suppliers"]]
    # castings and bearings are the machine's own inputs, listed before steel; the dairy is nobody's supplier here
    assert suppliers[:2] == ["甲铸造有限公司", "乙轴承有限公司"] and "丁乳业有限公司" not in suppliers
    assert [h.label for h in out["customers"]] == ["丙汽车制动有限公司"]
    first = out["suppliers"][0]
    assert first.data["family_link"] == {"ours": "五轴加工中心", "our_family": "数控机床", "theirs": "汽车铸件",
                                         "their_family": "铸锻件"}
    assert "「汽车铸件」（铸锻件）是本企业「五轴加工中心」（数控机床）的投入品" in first.reason
    customer = out["customers"][0]
    assert "本企业「五轴加工中心」（数控机床）是其「制动盘」（汽车零部件）的投入品" in customer.reason


def test_best_of_prefers_a_firm_squarely_in_the_wanted_family() -> None:
    from scipy import sparse

    # firm 0 names the wanted family as its main product; firm 1 lists four weakly wanted trades
    m = sparse.csr_matrix(np.array([[1.0, 0, 0, 0], [0.3, 0.3, 0.3, 0.3]], dtype=np.float32))
    scores = best_of(m.tocsc(), np.array([1.0, 0.5, 0.5, 0.5], dtype=np.float32))
    assert scores[0] > scores[1]


def test_the_shipped_table_is_consistent() -> None:
    table = InputTable.load()
    assert len(table.names) > 100 and table.inputs.any()
    machine = table.index["数控机床"]
    assert table.inputs[machine, table.index["铸锻件"]] > 0  # a spot check of the data, not of the code


def test_a_broken_table_names_the_file_the_family_and_the_field(tmp_path: Path) -> None:
    import json

    path = tmp_path / "inputs.json"
    path.write_text(json.dumps({"families": [{"name": "机床", "words": ["机床"], "inputs": ["铸件"]}]},
                               ensure_ascii=False), encoding="utf-8")
    with pytest.raises(TableError, match=r"inputs.json 第 1 个产品族（机床）：inputs 中的「铸件」不是表中的产品族"):
        InputTable.load(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(TableError, match="无法读取"):
        InputTable.load(path)


def test_invalid_twin_and_formula_rows_are_quarantined() -> None:
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


def test_parts_the_weights_do_not_count_are_skipped_without_changing_answers(register, monkeypatch) -> None:
    store, m = register
    texts = ["主营产品：变压器；采购需求：取向硅钢片、电磁线", "主营产品：集成电路封装测试", "主营产品：纯牛奶；采购需求：生鲜乳"]
    finder = m.counterparts_
    queries = [parse(t) for t in texts]
    segments = [("", "")] * len(queries)
    skipped = finder.features(queries, segments, weighted_only=True)["suppliers"]
    full = finder.features(queries, segments)["suppliers"]
    # with its needs stated a query's suppliers are ranked by the needs alone: its other parts are not computed
    for part in ("pair", "chain", "inputs"):
        assert finder.weight("suppliers", part, True) == 0
        assert skipped[part].getrow(0).nnz == 0 and skipped[part].getrow(2).nnz == 0
        assert (skipped[part].getrow(1) != full[part].getrow(1)).nnz == 0  # a query without needs keeps them
    assert full["inputs"].getrow(0).nnz > 0
    answered = [m.match(t, k=5) for t in texts]
    original = CounterpartFinder.features
    monkeypatch.setattr(CounterpartFinder, "features",
                        lambda self, *a, weighted_only=False, **kw: original(self, *a, **kw))
    for t, res in zip(texts, answered):
        again = m.match(t, k=5)
        for role in ("suppliers", "customers", "peers"):
            assert [(h.label, h.parts) for h in getattr(again, role)] == [(h.label, h.parts) for h in getattr(res, role)]


def test_too_few_firms_for_the_stated_needs_are_followed_by_input_suppliers_said_so(register) -> None:
    """No stored firm makes what is asked: the suppliers of the firm's products in general follow, marked as such;
    when the needs find k firms nothing is added."""
    _, m = register
    res = m.match("主营产品：干式变压器；采购需求：碳纤维预浸料", k=3)
    assert res.suppliers, "the register holds transformer inputs (硅钢, 电磁线)"
    assert all(h.data.get("fill") and "按本企业产品的投入品补充" in h.reason for h in res.suppliers)
    assert set(_names(res.suppliers)) & {"沣东硅钢材料有限公司", "泾河硅钢科技有限公司", "长安铜线电磁线有限公司"}
    assert not set(_names(res.suppliers)) & set(_names(res.peers))  # 同行 stay apart
    _parts_add_up(res.suppliers)
    met = m.match("主营产品：干式变压器；采购需求：取向硅钢片、漆包电磁线", k=3)
    assert len(met.suppliers) == 3 and not any(h.data.get("fill") for h in met.suppliers)


def test_segment_parts_kept_for_a_batch_are_the_same_as_computed_fresh(register) -> None:
    """The chain-segment texts a batch repeats are computed once and kept: answers equal those of a fresh finder,
    and a saved build holds none of them."""
    _, m = register
    texts = ["主营产品：油浸式电力变压器", "主营产品：干式变压器、箱式变电站", "主营产品：组合式变电站"]
    finder = m.counterparts_
    finder.__dict__.pop("_segment_sims", None)
    fresh = [{role: [(h.target, h.score, h.reason) for h in hits] for role, hits in r.items()}
             for r in (m.counterparts(t, k=5) for t in texts)]
    assert finder.__dict__.get("_segment_sims"), "the segment texts of those firms were kept"
    again = [{role: [(h.target, h.score, h.reason) for h in hits] for role, hits in r.items()}
             for r in (m.counterparts(t, k=5) for t in texts)]
    assert again == fresh
    assert "_segment_sims" not in pickle.loads(pickle.dumps(finder)).__dict__


def _unit(i: int, dim: int = 4) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    v[i] = 1.0
    return v


def test_need_meaning_reorders_suppliers_the_words_found_and_proposes_none_alone() -> None:
    """Two firms offer the asked item word for word; the one whose profile means the need ranks first by the
    ``similar`` part, whose reason names the pair. A firm only alike in meaning is never offered."""
    firms = [
        {"id": 1, "name": "甲管件有限公司", "products": "精密管件"},
        {"id": 2, "name": "乙管件有限公司", "products": "精密管件"},
        {"id": 3, "name": "丙乳业有限公司", "products": "酸奶"},  # alike in meaning only (its vector), no word shared
    ]
    profile = {0: _unit(1), 1: _unit(0), 2: _unit(0)}
    meaning = {"精密管件": _unit(0)}

    def encode(texts: list[str]) -> np.ndarray:
        return np.stack([meaning.get(t, _unit(3)) for t in texts])

    def vectors_of(rows: np.ndarray) -> np.ndarray:
        return np.stack([profile[int(r)] for r in rows]) if len(rows) else np.zeros((0, 4), dtype=np.float32)

    weights = {"needs": 0.5, "suppliers_asked_similar": 0.5, "scale_by_best": 1, "peer_threshold": 0.9}
    meta = [{"id": f["id"], "name": f["name"]} for f in firms]
    query = "主营产品：输液器；采购需求：精密管件"
    plain = CounterpartFinder(weights).fit(firms).find_many([query], [("", "")], meta, None, [None], k=5)[0]
    assert [h.label for h in plain["suppliers"]] == ["甲管件有限公司", "乙管件有限公司"]  # a tie: the lower row first
    assert all(h.parts["similar"] == 0 for h in plain["suppliers"])

    finder = CounterpartFinder(weights).fit(firms).use_vectors(encode, vectors_of)
    out = finder.find_many([query], [("", "")], meta, None, [None], k=5)[0]
    assert [h.label for h in out["suppliers"]] == ["乙管件有限公司", "甲管件有限公司"]
    first, second = out["suppliers"]
    assert first.parts["similar"] == pytest.approx(0.5) and second.parts["similar"] == 0
    assert first.data["similar"] == ["精密管件", "精密管件"]
    _parts_add_up(out["suppliers"])
    assert "需求语义相近贡献 0.50" in first.reason
    assert "语义相近（" not in first.reason  # the need is named word for word already
    from matcher.match.reasons import render

    other = Hit(kind="supplier", target="2", label="乙管件有限公司", parts=dict(first.parts),
                data={**first.data, "similar": ["耐腐蚀接头", "精密管件"]})
    assert "采购需求「耐腐蚀接头」与其主营（精密管件）语义相近" in render(other)
    # customers and a query that states no needs have no such part
    assert all(h.parts["similar"] == 0 for h in out["customers"])
    no_needs = finder.find_many(["主营产品：精密管件"], [("", "")], meta, None, [None], k=5)[0]
    assert all(h.parts["similar"] == 0 for role in ("suppliers", "customers") for h in no_needs[role])
    # the part reads only the similar_pool best candidates by the other parts
    narrow = CounterpartFinder({**weights, "similar_pool": 1}).fit(firms).use_vectors(encode, vectors_of)
    assert [h.parts["similar"] for h in narrow.find_many([query], [("", "")], meta, None, [None], k=5)[0]["suppliers"]] \
        == [0.0, 0.0]  # the pool's one firm (甲, first on the tie) is unlike the need
    assert "_vectors" not in pickle.loads(pickle.dumps(finder)).__dict__


def test_the_engine_gives_its_vectors_to_counterparts_after_a_fit_and_a_load(register) -> None:
    store, m = register
    text = "主营产品：干式变压器；采购需求：取向硅钢片、漆包电磁线"
    hits = m.match(text, k=3).suppliers
    assert any(h.parts["similar"] > 0 for h in hits)
    _parts_add_up(hits)
    loaded = Matcher.load(paths.index_dir(store.path))  # the build as saved: its finder holds no vectors
    assert "_vectors" not in pickle.loads(pickle.dumps(m.counterparts_)).__dict__
    assert [(h.label, h.parts) for h in loaded.match(text, k=3).suppliers] == [(h.label, h.parts) for h in hits]


def test_item_lists_read_back_as_stored() -> None:
    from matcher.match.counterparts import TextLists

    rows = [["光伏组件", "逆变器"], [], ["单晶硅片"], ["碳纤维", "预浸料", "复合材料构件"]]
    packed = TextLists(rows)
    assert len(packed) == 4 and [packed[i] for i in range(4)] == rows


def test_counts_moved_onto_a_vocabulary_keep_known_terms_and_leave_the_input_alone() -> None:
    import random

    from matcher.match.counterparts import _remap
    from matcher.match.index import term_counts

    rng = random.Random(5)
    words = [f"w{i}" for i in range(40)]
    docs = [[rng.choice(words) for _ in range(rng.randint(0, 8))] for _ in range(50)]
    counts = term_counts(docs, empty=None)
    before = [a.copy() for a in (counts.counts.data, counts.counts.indices, counts.counts.indptr)]
    known = sorted(rng.sample(words, 25))
    index = {t: i for i, t in enumerate(known)}
    m = _remap(counts, index)
    want = np.zeros((len(docs), len(known)), dtype=np.float32)
    for r, doc in enumerate(docs):
        for t in doc:
            if t in index:
                want[r, index[t]] += 1
    assert np.array_equal(m.toarray(), want) and m.has_canonical_format
    assert all(np.array_equal(a, b) for a, b in zip(before, (counts.counts.data, counts.counts.indices,
                                                              counts.counts.indptr)))

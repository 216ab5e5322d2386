"""The matching engine on the bundled sample firms: chains, classes, parks, counterparts, search, persistence."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.ingest.samples import load_samples
from matcher.match.config import default_config
from matcher.match.embed import Embedder
from matcher.match.engine import Matcher, _fuse
from matcher.match.index import DenseIndex
from matcher.match.industries import chain_classes
from matcher.match.reasons import render
from matcher.match.results import Filters
from matcher.store.database import Store


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A store holding the bundled sample firms (37 real Shaanxi firms, 300 generated profiles)."""
    s = Store(tmp_path_factory.mktemp("engine") / "sample.db")
    assert load_samples(s) == 337
    yield s
    s.close()


@pytest.fixture(scope="module")
def matcher(sample_store: Store) -> Matcher:
    return Matcher.for_store(sample_store)


def _assert_parts_add_up(hits):
    for h in hits:
        assert h.parts, h
        assert abs(sum(h.parts.values()) - h.score) < 1e-9
        assert h.reason and any("\u4e00" <= ch <= "\u9fff" for ch in h.reason)


def test_pv_firm_goes_to_pv_chain_and_jinghe(matcher: Matcher) -> None:
    res = matcher.match("西安一家光伏组件企业，主营产品：TOPCon电池片、光伏组件，计划新建组件工厂，需要工业用地")
    assert not res.none
    assert res.chains[0].target == "太阳能光伏"
    assert res.chains[0].data["stage"] == "中游"
    assert res.parks[0].data["new_city"] == "泾河新城"
    assert any(s["system_id"] == "xian-19" for s in res.systems)
    for hits in (res.chains, res.industries, res.parks, res.suppliers, res.customers):
        _assert_parts_add_up(hits)


@pytest.mark.parametrize("text, chain", [
    ("某药业股份有限公司，主营产品：化学原料药、注射剂、片剂、中成药", "生物医药"),
    ("某电气公司，主营产品：变压器、高压开关、GIS组合电器、电抗器", "输变电装备"),
    ("某乳业公司，主营产品：液态奶、酸奶、婴幼儿配方奶粉", "乳制品"),
    ("某显示公司，主营产品：TFT-LCD液晶面板、显示模组、玻璃基板", "新型显示"),
])
def test_chain_classification(matcher: Matcher, text: str, chain: str) -> None:
    chains, none_p, _ = matcher.classify(text)
    assert chains and chains[0].target == chain, [h.target for h in chains]


def test_firm_outside_key_chains_is_none(matcher: Matcher) -> None:
    chains, none_p, _ = matcher.classify("某置业有限公司，主营产品：住宅开发、商业地产、物业管理、房屋租赁")
    # P(none) of the text model is about 0.37 here (balanced class weights over a large none set); none wins anyway,
    # since no chain's keywords or model probability come near it.
    assert chains == [] and none_p > 0.3


def test_industry_class(matcher: Matcher) -> None:
    _, _, industries = matcher.classify("晶硅光伏电池片；光伏组件；光伏逆变器")
    assert "3825" in [h.target for h in industries[:3]]
    _assert_parts_add_up(industries)


def test_industry_class_reads_chain_terms_whole(matcher: Matcher) -> None:
    # With class names alone in its dictionary the classifier read 乳 + 制品加工 (a fragment of 羽毛(绒)制品加工)
    # and answered 1942 羽毛(绒)制品加工; the engine's dictionary holds 乳制品 from the knowledge base.
    _, _, industries = matcher.classify("乳制品加工")
    assert industries[0].target.startswith("144"), [h.label for h in industries]


@pytest.mark.parametrize("text, code", [("HDI和多层PCB", "3982"), ("羊奶粉", "1442"), ("低温鲜奶", "1441")])
def test_industry_class_reads_the_notes_wording_of_everyday_words(matcher: Matcher, text: str, code: str) -> None:
    # data/industry_terms.json: the class notes say 印制电路板, 乳粉, 液体乳 where firms say PCB, 奶粉, 鲜奶
    clf = matcher.industries_
    assert clf.rank(text)[0].target == code, [h.label for h in clf.rank(text)]
    assert clf.expand("PCB板") == "PCB板、印制电路板"
    assert clf.expand("PCBA") == "PCBA"  # whole words only
    assert "移动通信手持机" in clf.expand("做手机的") and clf.expand("牙科手机") == "牙科手机"  # not inside a listed word
    saved = clf.terms_
    try:
        clf.terms_ = None  # a build saved before the table reads the text as it is
        assert clf.expand("PCB板") == "PCB板"
    finally:
        clf.terms_ = saved


@pytest.mark.parametrize("content, named", [
    ("{not json", "无法读取"), ('{"about": "x"}', "缺少 expansions"), ('{"expansions": {"PCB": "印制电路板"}}', "「PCB」"),
    ('{"expansions": {"PCB": []}}', "「PCB」"),
])
def test_a_broken_industry_terms_table_names_the_file_and_the_term(tmp_path, content: str, named: str) -> None:
    from matcher.match.industries import TermsError, load_terms

    bad = tmp_path / "industry_terms.json"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(TermsError) as err:
        load_terms(bad)
    assert str(bad) in str(err.value) and named in str(err.value)
    assert load_terms(tmp_path / "absent.json") == {}


def test_a_trade_class_needs_a_firm_that_sells(matcher: Matcher) -> None:
    # 门类 F (批发和零售业) classes lose the trade weight unless the text says the firm sells; the reason says so
    clf = matcher.industries_
    maker, = clf.rank_many(["低温鲜奶、酸奶"], k=len(clf.codes_))
    seller, = clf.rank_many(["低温鲜奶、酸奶批发"], k=len(clf.codes_))
    made = {h.target: h for h in maker}
    sold = {h.target: h for h in seller}
    assert made["5124"].parts["trade"] == pytest.approx(-clf.weights["trade"]) and "未说明销售" in render(made["5124"])
    assert sold["5124"].parts["trade"] == 0.0
    assert made["1441"].parts["trade"] == 0.0
    assert all(abs(sum(h.parts.values()) - h.score) < 1e-9 for h in maker)
    assert matcher.match("主要卖汽配").industries[0].target.startswith("51")  # a trader's goods: a trade class


def test_a_service_firm_is_not_placed_in_manufacturing(matcher: Matcher) -> None:
    # 门类 C (制造业) classes lose the service weight when the firm's first item is a service and its text never says
    # it makes anything; a device named for its use (检测仪) and a maker that also serves keep them
    clf = matcher.industries_
    manufacturing = {c for c, row in zip(clf.codes_, clf.unmade_) if row < 0}
    serves, = clf.rank_many(["金属3D打印打样服务、按件收费"], k=len(clf.codes_))
    assert all(h.parts["service"] == pytest.approx(-clf.weights["service"]) for h in serves if h.target in manufacturing)
    assert serves[0].target not in manufacturing, serves[0].label
    printer = next(h for h in serves if h.target in manufacturing)
    assert "未说明生产" in render(printer) and abs(sum(printer.parts.values()) - printer.score) < 1e-9
    for text in ("新能源汽车绝缘检测仪", "金属3D打印机整机，也提供打印服务", "芯片设计和封装测试"):
        hits, = clf.rank_many([text], k=len(clf.codes_))
        assert all(h.parts["service"] == 0.0 for h in hits), text
    assert clf.rank_many(["芯片设计、电源管理IC、fabless"], k=1)[0][0].target == "6520"  # 集成电路设计


def test_class_documents_hold_the_parts_of_their_long_terms(matcher: Matcher) -> None:
    tok = matcher.industries_.tokenizer_
    assert {"汽车", "零部件", "配件"} <= set(tok.parts("汽车零部件及配件制造"))
    assert "零部件" not in tok("汽车零部件及配件制造")  # queries are read by their own words
    i = matcher.industries_.codes_.index("3670")
    parts, _ = matcher.industries_.score_parts("重卡零部件")
    assert parts["lexical"][i] > 0.5  # 零部件 reaches 汽车零部件及配件制造 (it was only a back-off on single characters)


def test_the_firms_chain_is_evidence_for_its_class(matcher: Matcher) -> None:
    clf = matcher.industries_
    chains, _, _ = matcher.classify("做光伏组件和逆变器")
    assert chains[0].target == "太阳能光伏"
    by_chain = chain_classes(chains, {c["name"]: c.get("gb_codes") or [] for c in matcher.kb_["chains"]})
    assert "3825" in by_chain and set(by_chain.values()) == {"太阳能光伏"}
    without, = clf.rank_many(["光伏汇流箱"], k=10)  # 3825 third on the text alone
    with_chain, = clf.rank_many(["光伏汇流箱"], k=10, chains=[by_chain])
    plain = {h.target: h for h in without}
    ranked = {h.target: h for h in with_chain}
    # a class of the chain gains exactly the chain weight, named in its reason; the others are unchanged
    assert ranked["3825"].score == pytest.approx(plain["3825"].score + clf.weights["chain"])
    assert ranked["3825"].data["chain"] == "太阳能光伏" and "太阳能光伏产业链所列行业" in render(ranked["3825"])
    assert [h.target for h in with_chain].index("3825") < [h.target for h in without].index("3825")
    outside = next(t for t in plain if t not in by_chain and t in ranked)
    assert ranked[outside].score == pytest.approx(plain[outside].score) and "chain" not in ranked[outside].data
    assert all(abs(sum(h.parts.values()) - h.score) < 1e-9 for h in with_chain)
    # what match shows: the top class is one the chain lists (a bare 逆变器 is as much 3821 变压器、整流器…)
    assert matcher.match("做光伏组件和光伏逆变器").industries[0].target in by_chain


def test_the_place_a_firm_asks_for_is_shown_beside_the_best_fits(matcher: Matcher) -> None:
    res = matcher.match("一家做光伏支架的，镀锌钢，想在沣西落地", k=3)
    assert res.query.target == "沣西新城"
    assert len(res.parks) == 3 and res.parks[0].data["new_city"] == "泾河新城"  # the fit still leads
    asked = res.parks[-1]
    assert asked.data["new_city"] == "沣西新城" and asked.data["by_intent"] and asked.data["intent"]
    assert asked.reason.startswith("意向落地") and "按意向列出" in asked.reason
    assert not any(h.data["by_intent"] for h in res.parks[:-1])
    # the place asked for already among the best fits is only marked
    res = matcher.match("做光伏组件的，想在泾河新城扩产", k=3)
    assert res.parks[0].data["intent"] and not res.parks[0].data["by_intent"]
    assert "企业表示意向落地于此" in res.parks[0].reason
    _assert_parts_add_up(res.parks)


@pytest.mark.parametrize("text, city", [
    ("国际货运代理与跨境电商企业，需要保税仓储和航空货运", "空港新城"),
    ("氢燃料电池系统与电解槽制造企业，寻求氢能产业园", "泾河新城"),
    ("自动驾驶与智能网联汽车企业，需要开放测试道路", "秦汉新城"),
])
def test_parks_rank_new_city(matcher: Matcher, text: str, city: str) -> None:
    hits = matcher.parks(text)
    assert hits[0].data["new_city"] == city, [(h.target, h.score) for h in hits]
    _assert_parts_add_up(hits)


def test_counterparts_follow_the_chain(matcher: Matcher, sample_store: Store) -> None:
    firm = next(f for f in sample_store.firms() if f["name"].startswith("隆基"))
    cps = matcher.counterparts(firm, store=sample_store, k=5)
    assert cps["suppliers"] or cps["customers"]
    for role, hits in cps.items():
        assert all(h.kind == role[:-1] for h in hits)
        assert all(h.target != str(firm["id"]) for h in hits)  # never the firm itself
        _assert_parts_add_up(hits)
    only_xy = matcher.counterparts(firm, store=sample_store, region="咸阳", k=5)
    assert all(h.data["region"] == "咸阳" for hits in only_xy.values() for h in hits)


def test_search_filters_apply_before_the_cut(matcher: Matcher, sample_store: Store) -> None:
    n_xianyang = sum(1 for f in sample_store.firms() if f["region"] == "咸阳")
    hits = matcher.search("光伏 组件 硅片", k=10, filters=Filters(region="咸阳"))
    assert hits and all(h.data["region"] == "咸阳" for h in hits)
    assert len(hits) == min(10, n_xianyang) or len(hits) > 0
    assert matcher.search("光伏 组件 硅片", k=3)[0].data["chain"] == "太阳能光伏"


def test_match_by_firm_id_and_unknown_id(matcher: Matcher, sample_store: Store) -> None:
    firm = sample_store.firms(limit=1)[0]
    res = matcher.match(firm["id"], store=sample_store)
    assert res.firm["id"] == firm["id"]
    with pytest.raises(KeyError):
        matcher.match(999999, store=sample_store)


def test_saved_build_is_reused_and_damage_is_rebuilt(sample_store: Store) -> None:
    first = Matcher.for_store(sample_store)
    Matcher._cache.clear()
    loaded = Matcher.for_store(sample_store)
    assert loaded is not first and loaded.build_key_ == first.build_key_
    text = "光伏组件 逆变器"
    assert [h.target for h in loaded.search(text)] == [h.target for h in first.search(text)]
    folder = sample_store.path.parent / (sample_store.path.stem + ".indexes")
    build = folder / (folder / "CURRENT").read_text().strip()
    (build / "matcher.pkl").write_bytes(b"damaged")
    Matcher._cache.clear()
    rebuilt = Matcher.for_store(sample_store)
    assert [h.target for h in rebuilt.search(text)] == [h.target for h in first.search(text)]


def test_no_network_during_build_and_match(sample_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    Matcher._cache.clear()
    m = Matcher.for_store(sample_store, rebuild=True)
    assert m.match("光伏组件").chains
    assert Embedder(backend="torch").encode(["光伏组件"]).shape == (1, m.embedder_.dim)


def test_numpy_embedder_equals_sentence_transformers() -> None:
    texts = ["光伏组件 逆变器", "西安某医药公司，主营产品：原料药、注射剂", "", "碲化镉 未知词XYZ"]
    a = Embedder(backend="numpy").encode(texts)
    b = Embedder(backend="torch").encode(texts)
    assert np.abs(a - b).max() < 1e-5


@pytest.mark.parametrize("n", [50, 3000])
def test_faiss_matches_numpy_oracle(n: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    exact, ref = DenseIndex("faiss").fit(x), DenseIndex("numpy").fit(x)
    hnsw = DenseIndex("faiss", hnsw_from=1).fit(x)
    allowed = np.arange(0, n, 3)
    recall = []
    for q in x[:20]:
        assert list(exact.search(q, 10)[0]) == list(ref.search(q, 10)[0])
        assert list(exact.search(q, 5, allowed)[0]) == list(ref.search(q, 5, allowed)[0])
        recall.append(len(set(hnsw.search(q, 10)[0]) & set(ref.search(q, 10)[0])) / 10)
    assert np.mean(recall) >= 0.95


def test_fusion_parts_sum_to_score() -> None:
    ids, parts = _fuse({"lexical": ([1, 2, 5], [4.0, 2.0, 0.0]), "dense": ([2, 3], [0.9, 0.3])},
                       {"lexical": 0.6, "dense": 0.4})
    assert list(ids) == [2, 1, 3]  # a zero score is no evidence: candidate 5 is dropped
    assert parts["lexical"][0] == pytest.approx(0.3) and parts["dense"][0] == pytest.approx(0.4)
    assert parts["lexical"][1] + parts["dense"][1] == pytest.approx(0.6)


def test_reason_names_evidence(matcher: Matcher) -> None:
    hit = matcher.classify("光伏组件；逆变器")[0][0]
    assert "太阳能光伏" in render(hit) and "光伏" in render(hit)


def test_eval_cli_prints_metrics_and_predictions(tmp_path: Path, sample_store: Store) -> None:
    labelled = tmp_path / "parks.csv"
    labelled.write_text("id,text,label\np1,航空物流企业需要保税仓储,空港新城\np2,光伏组件工厂,泾河新城|沣西新城\n",
                        encoding="utf-8")
    pred = tmp_path / "pred.csv"
    result = CliRunner().invoke(app, ["eval", "parks", str(labelled), "--db", str(sample_store.path),
                                      "--predictions", str(pred)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output.strip().splitlines()[-1])
    assert metrics["n"] == 2 and metrics["hit1"] == 1.0
    lines = pred.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "id,label,prediction,top5" and lines[1].startswith("p1,空港新城,空港新城,")


def test_eval_cli_rejects_file_without_label(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text\n1,abc\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "industries", str(bad)])
    assert result.exit_code == 1 and "label" in result.output


def test_first_build_of_a_new_database_is_reused(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.db")  # no knowledge base yet: the first build loads it
    first = Matcher.for_store(store)
    folder = tmp_path / "new.indexes"
    current = (folder / "CURRENT").read_text()
    Matcher._cache.clear()
    again = Matcher.for_store(store)
    assert again is not first and again.build_key_ == first.build_key_
    assert (folder / "CURRENT").read_text() == current  # loaded from disk, not built a second time
    store.close()


def test_rebuild_after_changes_reuses_unchanged_firms_and_equals_a_full_build(tmp_path: Path) -> None:
    from matcher.store.firm_edits import insert_firm
    from matcher.work.firms import edit_firm

    store = Store(tmp_path / "inc.db")
    load_samples(store)
    before = Matcher.for_store(store)
    pv = next(i for i, m in enumerate(before.firms_meta_) if before.firm_chain_[i] == "太阳能光伏")
    edit_firm(store, int(before.ids_[pv]), {"name": "陕西测试电池有限公司", "description": "",
                                            "products": "动力电池电芯、电池管理系统BMS"})
    new_id = insert_firm(store, {"name": "陕西测试钛材有限公司", "products": "钛合金棒材、海绵钛", "region": "西咸新区"})
    Matcher._cache.clear()
    incremental = Matcher.for_store(store)
    assert incremental.reused_ == len(before.ids_) - 1  # all but the edited firm; the new one is computed
    full = Matcher.for_store(store, rebuild=True)
    assert full.reused_ == 0
    assert list(incremental.ids_) == list(full.ids_) and new_id in incremental.ids_
    assert list(incremental.firm_chain_) == list(full.firm_chain_)
    assert incremental.firm_chain_[pv] != "太阳能光伏"  # the edit was computed, not taken from the old build
    for text in ("钛合金棒材", "光伏组件 逆变器", "动力电池 电池管理系统"):
        a, b = incremental.search(text), full.search(text)
        assert [h.target for h in a] == [h.target for h in b]
        assert [round(h.score, 5) for h in a] == [round(h.score, 5) for h in b]
    ra, rb = incremental.match("主营产品：光伏组件；采购需求：光伏玻璃、银浆"), full.match("主营产品：光伏组件；采购需求：光伏玻璃、银浆")
    assert [h.target for h in ra.suppliers] == [h.target for h in rb.suppliers]
    store.close()


def test_empty_database_still_answers(tmp_path: Path) -> None:
    store = Store(tmp_path / "empty.db")
    m = Matcher.for_store(store)
    res = m.match("主营产品：光伏组件、逆变器")
    assert res.chains[0].target == "太阳能光伏" and res.suppliers == [] and m.search("光伏") == []


def _summary(res) -> dict:
    return {kind: [(h.target, round(h.score, 5)) for h in getattr(res, kind)]
            for kind in ("chains", "industries", "parks", "suppliers", "customers", "peers")}


def test_match_many_equals_match_per_firm(matcher: Matcher, sample_store: Store) -> None:
    ids = [r[0] for r in sample_store.db.execute("SELECT id FROM firms ORDER BY id LIMIT 12")]
    queries = [*ids, "光伏组件、逆变器", {"name": "某新材料公司", "products": "碳纤维复合材料", "needs": "航空结构件"},
               "完全无关的餐饮服务"]
    one_by_one = [matcher.match(q, k=5, store=sample_store) for q in queries]
    together = matcher.match_many(queries, k=5, store=sample_store)
    assert [_summary(r) for r in together] == [_summary(r) for r in one_by_one]
    for fid, res in zip(ids, together):  # a stored firm is never its own supplier or customer
        assert str(fid) not in {h.target for h in res.suppliers + res.customers}
        peers = {h.target for h in res.peers}
        for h in res.suppliers + res.customers:
            _assert_parts_add_up([h])
            assert h.target not in peers and h.score > 0  # a firm making the same things is never a counterpart


def test_lexical_batch_equals_single_queries() -> None:
    from matcher.match.index import LexicalIndex

    docs = [["光伏", "组件"], ["组件", "逆变器", "逆变器"], ["硅片"], [], ["光伏", "光伏", "支架"]]
    index = LexicalIndex().fit(docs)
    queries = [["光伏"], ["组件", "组件"], ["逆变器", "光伏"], ["不存在"], []]
    mask = np.array([True, True, True, True, False])
    batch = index.search_many(queries, 3, mask, exclude=[0, None, None, None, None])
    for q, (ids, scores), gone in zip(queries, batch, [0, None, None, None, None]):
        full = index.scores(q)
        want = [i for i in np.argsort(-full, kind="stable") if full[i] > 0 and mask[i] and i != gone][:3]
        assert list(ids) == want and np.allclose(scores, full[want])


def test_index_built_by_worker_processes_equals_one_process(sample_store: Store, monkeypatch) -> None:
    from matcher.knowledge import kb
    from matcher.match import engine

    monkeypatch.setattr(engine, "PARALLEL_FROM", 0)
    monkeypatch.setattr(engine, "_FIT_BLOCK", 60)  # several blocks per worker
    firms = sample_store.firms(columns=engine.FIRM_COLUMNS)
    one = Matcher().fit_kb(kb.current(sample_store)).fit_firms(firms, workers=1)
    two = Matcher().fit_kb(kb.current(sample_store)).fit_firms(firms, workers=2)
    assert list(one.firm_chain_) == list(two.firm_chain_) and list(one.firm_stage_) == list(two.firm_stage_)
    assert np.array_equal(one.dense_.vectors_of(np.arange(len(firms))), two.dense_.vectors_of(np.arange(len(firms))))
    for text in ("光伏组件 逆变器", "碳纤维复合材料", "生物医药 疫苗"):
        assert [h.target for h in one.search(text)] == [h.target for h in two.search(text)]
        assert _summary(one.match(text)) == _summary(two.match(text))


def test_bm25_equals_the_bm25s_reference_and_blocks_add_up() -> None:
    import random

    import bm25s

    from matcher.match.index import LexicalIndex, term_counts

    rng = random.Random(7)
    words = [f"词{i}" for i in range(300)]
    docs = [[rng.choice(words) for _ in range(rng.randint(0, 30))] for _ in range(400)]
    ours = LexicalIndex(k1=1.2, b=0.75).fit(docs)
    blocked = LexicalIndex(k1=1.2, b=0.75).fit_counts([term_counts(docs[:97]), term_counts(docs[97:])])
    ref = bm25s.BM25(k1=1.2, b=0.75)
    ref.index([d or ["∅"] for d in docs], show_progress=False)
    for _ in range(40):
        query = [rng.choice(words) for _ in range(rng.randint(1, 6))]
        want = np.asarray(ref.get_scores([t for t in query if t in ref.vocab_dict]))
        assert np.allclose(ours.scores(query), want, atol=1e-5)
        assert np.array_equal(blocked.scores(query), ours.scores(query))


def test_an_edited_synonym_table_changes_the_build_key(sample_store: Store, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Staff edit data/chain_terms.json: stored firms are placed again (their kept work is not reused)."""
    import shutil

    from matcher import paths

    data = tmp_path / "data"
    shutil.copytree(paths.DATA_DIR, data, ignore=shutil.ignore_patterns("*.db*", "*.indexes", "reports", "uploads",
                                                                        "outputs"))
    monkeypatch.setattr(paths, "DATA_DIR", data)
    before = Matcher.key_for(sample_store)
    terms = json.loads((data / "chain_terms.json").read_text(encoding="utf-8"))
    terms["synonyms"]["某新缩写"] = ["光伏组件"]
    (data / "chain_terms.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
    assert Matcher.key_for(sample_store) != before


def test_tiny_caps_from_the_config_keep_the_best_answers(matcher: Matcher, sample_store: Store) -> None:
    """The candidate stage wired through models/matcher.toml's keys: with caps far below the register's size the
    capped indexes are used, and the best search hit and counterparts are those of the uncapped matcher."""
    config = (default_config().with_values("search", posting_cap=20, candidate_pool=60, capped_from=0)
              .with_values("counterparts", posting_cap=20, candidate_pool=60, part_leaders=5, capped_from=0))
    capped = Matcher(config=config).fit(sample_store)
    assert capped.lexical_.heads_ is not capped.lexical_.matrix_ and capped.counterparts_.heads_ is not None
    for text in ("光伏组件", "锂电池正极材料、电解液", "无人机飞控系统"):
        assert capped.search(text, k=5)[0].target == matcher.search(text, k=5)[0].target
    query = "主营产品：光伏组件；采购需求：光伏玻璃、EVA胶膜、逆变器"
    got, want = capped.match(query, k=5), matcher.match(query, k=5)
    for role in ("suppliers", "customers"):
        assert [h.target for h in getattr(got, role)][:1] == [h.target for h in getattr(want, role)][:1]


def test_dense_index_kind_comes_from_the_config(matcher: Matcher, sample_store: Store) -> None:
    """dense_from / dense_nprobe of [search]: from that many firms an inverted file; reading every list it answers as
    the exact index does."""
    assert type(matcher.dense_.index_).__name__ == "IndexFlatIP"  # the sample register is below dense_from
    config = default_config().with_values("search", dense_from=100, dense_nprobe=10_000)
    ivf = Matcher(config=config).fit(sample_store)
    assert type(ivf.dense_.index_).__name__ == "IndexIVFScalarQuantizer"
    for text in ("光伏组件", "锂电池正极材料、电解液", "无人机飞控系统"):
        assert [h.target for h in ivf.search(text, k=5)] == [h.target for h in matcher.search(text, k=5)]


def test_a_bracket_cut_by_the_split_leaves_no_item() -> None:
    from matcher.knowledge.gbt import note_items

    items = note_items("包括：精锑；高纯锑(主要应用于探测、半导体等领域)；生锑(硫化锑)")
    assert items == ["精锑", "高纯锑", "生锑(硫化锑)"]  # "半导体等领域)" was an item of 锑冶炼


def test_build_streams_the_store_in_blocks_and_equals_a_build_from_a_list(sample_store: Store, monkeypatch) -> None:
    from matcher.knowledge import kb
    from matcher.match import engine

    monkeypatch.setattr(engine, "PARALLEL_FROM", 0)
    monkeypatch.setattr(engine, "_FIT_BLOCK", 40)
    drawn: list[int] = []  # blocks read from the store when each block of work was computed
    read = {"blocks": 0}
    blocks = sample_store.firm_blocks

    def counted(*args, **kwargs):
        for block in blocks(*args, **kwargs):
            read["blocks"] += 1
            yield block

    work = Matcher._firm_block

    def noted(self, firms, table):
        drawn.append(read["blocks"])
        return work(self, firms, table)

    monkeypatch.setattr(sample_store, "firm_blocks", counted)
    monkeypatch.setattr(Matcher, "_firm_block", noted)
    streamed = Matcher().fit(sample_store, workers=1)
    firms = sample_store.firms(columns=engine.FIRM_COLUMNS, offerable=True)
    assert len(drawn) == -(-len(firms) // 40) > 2
    # the k-th block of work is computed when at most one block more has been read: never the whole table
    assert all(n <= k + 2 for k, n in enumerate(drawn))
    monkeypatch.setattr(Matcher, "_firm_block", work)
    listed = Matcher().fit_kb(kb.current(sample_store)).fit_firms(firms, workers=1)
    assert list(streamed.ids_) == [f["id"] for f in firms] == list(listed.ids_)
    assert list(streamed.firms_meta_) == list(listed.firms_meta_) and list(streamed.firm_chain_) == list(listed.firm_chain_)
    assert (streamed.lexical_.matrix_ != listed.lexical_.matrix_).nnz == 0
    assert streamed.lexical_.vocab_ == listed.lexical_.vocab_
    assert (streamed.counterparts_.products_ != listed.counterparts_.products_).nnz == 0
    assert np.array_equal(streamed.counterparts_.offer_, listed.counterparts_.offer_)
    every = np.arange(len(firms))
    assert np.array_equal(streamed.dense_.vectors_of(every), listed.dense_.vectors_of(every))


def test_store_blocks_hold_the_same_rows_as_one_read(sample_store: Store) -> None:
    from matcher.match.engine import FIRM_COLUMNS

    whole = sample_store.firms(columns=FIRM_COLUMNS, offerable=True)
    blocks = list(sample_store.firm_blocks(7, columns=FIRM_COLUMNS, offerable=True))
    assert [len(b) for b in blocks[:-1]] == [7] * (len(blocks) - 1) and 0 < len(blocks[-1]) <= 7
    assert [f for b in blocks for f in b] == whole
    with pytest.raises(ValueError, match="企业表没有这些列"):
        next(sample_store.firm_blocks(7, columns=["id", "no_such_column"]))


def test_bm25_weights_computed_in_blocks_equal_one_pass(monkeypatch) -> None:
    import random

    from matcher.match import index
    from matcher.match.index import LexicalIndex

    rng = random.Random(3)
    words = [f"词{i}" for i in range(200)]
    docs = [[rng.choice(words) for _ in range(rng.randint(0, 25))] for _ in range(500)]
    whole = LexicalIndex(k1=1.2, b=0.75).fit(docs)
    monkeypatch.setattr(index, "_WEIGHT_BLOCK", 7)
    blocked = LexicalIndex(k1=1.2, b=0.75).fit(docs)
    for part in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(whole.matrix_, part), getattr(blocked.matrix_, part))


def test_workers_draw_parts_as_results_are_taken() -> None:
    from matcher.parallel import Workers, can_fork

    drawn = {"n": 0}

    def parts():
        for i in range(12):
            drawn["n"] += 1
            yield i

    with Workers(lambda x: x * x, 2) as pool:
        seen = []
        for i, result in enumerate(pool.imap(parts(), ahead=1)):
            # at most one part per worker in flight beyond the results taken
            assert drawn["n"] <= i + 1 + (2 if can_fork() else 0)
            seen.append(result)
    assert seen == [i * i for i in range(12)]

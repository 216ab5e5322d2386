"""Chains on any wording: whole-word keywords, synonyms, products deciding, nearest chains with a none answer."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.knowledge import kb
from matcher.match.chains import ChainClassifier, load_terms
from matcher.match.keywords import KeywordMatcher
from matcher.match.query import parse
from matcher.match.training import kb_sentences, officer_sentence
from matcher.store.database import Store


@pytest.fixture(scope="module")
def kb_dict(tmp_path_factory: pytest.TempPathFactory) -> dict:
    s = Store(tmp_path_factory.mktemp("chains") / "kb.db")
    d = kb.current(s)
    s.close()
    return d


@pytest.fixture(scope="module")
def clf(kb_dict: dict) -> ChainClassifier:
    from matcher.match.embed import Embedder

    return ChainClassifier(kb_dict).fit(Embedder())


def test_keyword_inside_longer_word_is_not_evidence():
    m = KeywordMatcher([("钛", "钛"), ("钛合金", "钛"), ("钙钛矿", "光伏"), ("芯片", "半导体"), ("激光芯片", "光子")],
                       whole_words=True)
    assert m.find("钙钛矿叠层电池") == ["钙钛矿"]
    assert m.find("激光芯片和驱动芯片") == ["激光芯片", "芯片"]  # 芯片 of 驱动芯片 still counts
    assert m.labels_of("激光芯片") == {"光子": ["激光芯片"]}
    # Without whole-word rules every occurrence counts (what other answerers rely on).
    assert "芯片" in KeywordMatcher([("芯片", "a"), ("激光芯片", "b")]).find("激光芯片")


def test_known_words_block_keywords_inside_them():
    m = KeywordMatcher([("钛白", "钛")], words=["钛白粉"], whole_words=True)
    assert m.find("钛白粉") == [] and m.find("钛白板") == ["钛白"]


def test_latin_terms_must_stand_as_words():
    m = KeywordMatcher([("IC", "半导体"), ("EMS", "终端"), ("SiC", "半导体"), ("kV", "输变电")], whole_words=True)
    assert m.find("SiC MOSFET") == ["sic"]
    assert m.find("MEMS麦克风") == []
    assert m.find("IC设计") == ["ic"]
    assert m.find("110kV变压器") == ["kv"]  # a number before a unit is no clash


def test_synonym_table_points_at_kb_keywords(kb_dict: dict):
    words = {w for c in kb_dict["chains"] for s in c.get("segments", []) for w in s.get("keywords", []) + s.get("products", [])}
    words |= {a for c in kb_dict["chains"] for a in [c["name"], *c.get("aliases", [])]}
    terms = load_terms()
    missing = {t: v for t, v in terms["synonyms"].items() if not any(x in words for x in v)}
    assert not missing, missing


@pytest.mark.parametrize("text, chain", [
    ("做SiC MOSFET的", "半导体和集成电路"),
    ("一家做钙钛矿叠层电池的企业", "太阳能光伏"),
    ("锂电池PACK和BMS，计划在西咸扩产", "乘用车(新能源)"),
    ("IVD化学发光试剂盒", "生物医药"),
])
def test_officer_wording(clf: ChainClassifier, text: str, chain: str):
    hits, _ = clf.rank(text)
    assert hits and hits[0].target == chain, [(h.target, h.parts) for h in hits]


def test_needs_and_customers_do_not_decide(clf: ChainClassifier):
    alone, _ = clf.rank("乳酸菌饮料和液态奶")
    with_needs, _ = clf.rank("乳酸菌饮料和液态奶，需要采购高温合金和钛合金，客户是航空主机厂")
    assert alone and with_needs and alone[0].target == with_needs[0].target == "乳制品"
    assert "高温合金" not in with_needs[0].data["keywords"]


def test_none_comes_with_nearest_chains(clf: ChainClassifier):
    a = clf.answer("住宅开发和物业管理，计划在沣东新城拿地")
    assert a.hits == []
    assert a.none_prob > 0.5
    for h in a.nearest:
        assert h.data.get("nearest") and abs(sum(h.parts.values()) - h.score) < 1e-9


def test_query_object_and_text_agree(clf: ChainClassifier):
    text = "主营产品：光伏组件、逆变器；采购需求：光伏玻璃"
    assert [h.target for h in clf.rank(text)[0]] == [h.target for h in clf.rank(parse(text))[0]]


def test_generated_sentences_keep_their_label(kb_dict: dict):
    rng = random.Random(1)
    out = kb_sentences(kb_dict, load_terms(), rng, per_chain=5)
    labels = {y for _, y in out}
    assert "none" in labels and "航天" in labels
    s = officer_sentence(["燃料电池电堆"], random.Random(3), ["质子交换膜"])
    assert "燃料电池电堆" in parse(s).product_text()


def test_match_json_has_query(tmp_path):
    db = tmp_path / "m.db"
    runner = CliRunner()
    r = runner.invoke(app, ["match", "一家做光伏组件的企业，计划在泾河新城扩产，需要50亩工业用地", "--db", str(db), "--json",
                            "-k", "2"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output.strip().splitlines()[-1]) if r.output.strip().startswith("{") is False else json.loads(r.output)
    assert data["query"]["products"] == ["光伏组件"]
    assert data["query"]["land_mu"] == 50
    assert data["chains"][0]["target"] == "太阳能光伏"
    r = runner.invoke(app, ["match", "一家做光伏组件的企业，计划在泾河新城扩产", "--db", str(db), "-k", "2"])
    assert "识别为：产品 光伏组件" in r.output


def test_weak_classes_follow_the_counts_given(clf: ChainClassifier):
    # a cross-validation fold's model is judged by its own training counts, not the shipped model's
    assert clf.weak_classes({"none": 500, "重卡": 3, "生物医药": 120}) == {"重卡"}
    assert clf.weak_classes({"none": 5}) == set()


def test_chain_metrics_give_f1_by_label():
    from matcher.match.evaluate import chain_metrics

    gold = ["none", "none", "重卡", "生物医药"]
    pred = ["none", "重卡", "重卡", "none"]
    m = chain_metrics(gold, pred, [[p] for p in pred])
    assert m["f1_by_label"] == {"none": "0.50 (n=2)", "生物医药": "0.00 (n=1)", "重卡": "0.67 (n=1)"}
    assert m["macro_f1"] == round((0.5 + 0 + 2 / 3) / 3, 4)


@pytest.mark.parametrize("name, floor", [("chains_a", 0.86), ("chains_b", 0.89), ("chains_c", 0.90), ("chains_d", 0.90),
                                         ("chains_e", 0.80), ("chains_f", 0.89)])
def test_officer_style_sets_hold(name: str, floor: float, clf: ChainClassifier) -> None:
    """The project's own officer-style sets (eval/officer): accuracy stays near what README 评估 reports."""
    import csv
    from pathlib import Path

    from matcher.match.chains import NONE

    path = Path(__file__).resolve().parent.parent / "eval" / "officer" / f"{name}.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    answers = clf.answer_many([r["text"] for r in rows])
    focus = {c["name"] for c in clf.kb["chains"] if c.get("focus")}
    got = [a.hits[0].target if a.hits and a.hits[0].target in focus else NONE for a in answers]
    accuracy = sum(g == r["label"] for g, r in zip(got, rows)) / len(rows)
    assert accuracy >= floor, (name, accuracy)


def test_cross_validation_learns_from_the_models_other_labelled_files(tmp_path: Path) -> None:
    """The chain CV builds each fold like the shipped model: its other labelled files are in, the evaluated one is
    not (recognised by content, wherever it lies)."""
    from types import SimpleNamespace

    from matcher.match.evaluate import _training_files

    evaluated = tmp_path / "dev.csv"
    evaluated.write_text("id,text,label\n1,甲公司，主营产品：IGBT模块,半导体和集成电路\n", encoding="utf-8")
    copy = tmp_path / "copy_of_dev.csv"
    copy.write_text(evaluated.read_text(encoding="utf-8"), encoding="utf-8")
    other = tmp_path / "train.csv"
    other.write_text("id,text,label\nt1,做光模块的,光子\n", encoding="utf-8")
    clf = SimpleNamespace(model_={"sources": {"labelled_files": [str(evaluated), str(copy), str(other),
                                                                   str(tmp_path / "gone.csv")]}})
    rows = [{"id": "1", "text": "甲公司，主营产品：IGBT模块", "label": "半导体和集成电路"}]
    assert _training_files(clf, rows) == [other]


def test_service_sentences_name_a_chain_product_and_are_none() -> None:
    """The ``none`` examples of firms that only sell, carry or design for a chain carry the chain's own product words."""
    from matcher.match.chains import NONE
    from matcher.match.training import SERVICES, service_none_sentences

    kb_dict = json.loads((Path(__file__).resolve().parent.parent / "data" / "kb" / "chains.json").read_text("utf-8"))
    out = service_none_sentences(kb_dict, random.Random(0), per_chain=3)
    focus = [c for c in kb_dict["chains"] if c.get("focus")]
    assert len(out) == 3 * len(focus)
    products = {p for c in focus for seg in c["segments"] for p in seg.get("products", [])}
    assert all(label == NONE for _, label in out)
    assert all(any(p in text for p in products) for text, _ in out)
    assert all(any(s.replace("{p}", "") in text for s in SERVICES) for text, _ in out)

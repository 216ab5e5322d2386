"""Learning counterpart weights from marks: feedback on some queries moves the ranking of others the expected way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher.ingest.importer import import_file
from matcher.match.counterparts import PARTS
from matcher.match.engine import Matcher
from matcher.store.database import Store
from matcher.work.tune import Examples, cross_validate, fit_weights, from_feedback, tune, write_weights
from tests.conftest import write_register

FIRMS = [
    ("甲电气变压器有限公司", "西安", "电力变压器", "硅钢片、铜线"),
    ("乙电机有限公司", "西安", "交流电机", "硅钢片、铜线"),
    ("丙电抗器有限公司", "咸阳", "干式电抗器", "硅钢片、铜线"),
    ("丁电感器有限公司", "咸阳", "功率电感器", "硅钢片、铜线"),
    # A trader whose goods name the needs word for word, and a maker of parts for electrical machines.
    ("通达金属贸易有限公司", "西安", "硅钢片、铜线、钢材贸易", ""),
    ("精工绕组有限公司", "咸阳", "变压器绕组、电机定子铁芯、电抗器线圈、电感器磁芯", ""),
]


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Matcher]:
    folder = tmp_path_factory.mktemp("tune")
    path = write_register(folder / "firms.csv", FIRMS)
    store = Store(folder / "tune.db")
    import_file(store, path)
    yield store, Matcher.for_store(store)
    store.close()


def _margin(m: Matcher, store: Store, firm: dict) -> float:
    """Score of the parts maker minus the trader among the firm's suppliers."""
    hits = {h.label: h.score for h in m.counterparts(firm, store=store, k=5)["suppliers"]}
    return hits.get("精工绕组有限公司", 0.0) - hits.get("通达金属贸易有限公司", 0.0)


def test_feedback_moves_the_ranking(register) -> None:
    store, m = register
    firms = {f["name"]: f for f in store.firms()}
    maker, trader = firms["精工绕组有限公司"], firms["通达金属贸易有限公司"]
    for name in ("甲电气变压器有限公司", "乙电机有限公司", "丙电抗器有限公司"):
        store.add_feedback(kind="supplier", target=str(maker["id"]), verdict="已签约", firm_id=firms[name]["id"])
        store.add_feedback(kind="supplier", target=str(trader["id"]), verdict="有效", firm_id=firms[name]["id"])
        store.add_feedback(kind="supplier", target=str(trader["id"]), verdict="无效", firm_id=firms[name]["id"])
    examples = from_feedback(m, store)
    assert len(examples.y) == 6 and sum(examples.y) == 3  # the later mark on the trader replaces the earlier one
    report = tune(examples, m.config.counterparts, folds=3)
    learned = report["weights"]
    assert set(learned) == {f"suppliers_asked_{p}" for p in PARTS}  # only the role that was marked
    assert abs(sum(learned.values()) - 1) < 1e-3 and min(learned.values()) >= 0
    unseen = firms["丁电感器有限公司"]  # no marks on this firm's suppliers
    before = _margin(m, store, unseen)
    tuned = Matcher.for_store(store, config=m.config.with_values("counterparts", **learned))
    after = _margin(tuned, store, unseen)
    assert before < 0 < after, (before, after, learned)


def test_cross_validation_compares_with_the_current_weights() -> None:
    rng = np.random.default_rng(0)
    ex = Examples()
    for g in range(20):  # the good firm of each query is strong on "inputs", the bad ones on "needs"
        for label in (1, 0, 0):
            parts = rng.uniform(0, 0.3, len(PARTS))
            parts[PARTS.index("inputs" if label else "needs")] += 0.6
            ex.add(parts.tolist(), label, f"q{g}")
    current = {p: (1.0 if p == "needs" else 0.0) for p in PARTS}
    cv = cross_validate(ex, current, folds=4)
    assert cv["learned"] > cv["current"]
    X, y, _ = ex.arrays()
    assert max(fit_weights(X, y), key=fit_weights(X, y).get) == "inputs"


def test_write_weights_keeps_other_sections(tmp_path: Path) -> None:
    path = tmp_path / "matcher.toml"
    path.write_text("[parks]\nchain = 0.4\n\n[counterparts]\n# hand-set\nneeds = 0.3   # stated needs\n"
                    "peer_threshold = 0.5\n\n[search]\nlexical = 0.6\n", encoding="utf-8")
    write_weights(path, {"needs": 0.25, "customers_near": 0.4}, "learned")
    text = path.read_text(encoding="utf-8")
    assert "chain = 0.4" in text and "lexical = 0.6" in text and "peer_threshold = 0.5" in text
    assert "needs = 0.25" in text and "# stated needs" in text and "# learned" in text and "hand-set" not in text
    assert "customers_near = 0.4\n\n[search]" in text


def _park_margin(m: Matcher, text: str, good: str, bad: str) -> float:
    chains = m.chains_.rank(text, k=8)[0]
    scores = {h.target: h.score for h in m.parks_.rank(text, chains, k=len(m.parks_.parks_))}
    return scores[good] - scores[bad]


def test_marks_on_landing_places_move_the_place_ranking(register) -> None:
    """Officers keep choosing the airport city over the chain's own cluster for battery firms that ship by air:
    the learned place weights put it first for a solar-module maker shipping by air that nobody marked."""
    from matcher.work.tune import answer_examples, current_answer_weights, tune_answer

    store, m = register
    good, bad = "空港新城", "高陵—泾河新城—泾阳—三原组团"
    marked = ["生产电池正极材料，产品要走航空货运出口", "做动力电池电芯的企业，产品主要空运出口",
              "一家锂电池负极材料厂，需要航空货运出口"]
    for text in marked:
        store.add_feedback(kind="park", target=good, verdict="已签约", query=text)
        store.add_feedback(kind="park", target=bad, verdict="无效", query=text)
    examples = answer_examples(m, store, "park")
    assert len(examples.y) == 6 and sum(examples.y) == 3 and examples.parts == ("chain", "lead", "needs", "dense")
    report = tune_answer(examples, current_answer_weights(m, "park"), "park", folds=3)
    assert report["accept"] and abs(sum(report["weights"].values()) - 1) < 1e-3
    unseen = "光伏组件厂，产品航空货运出口"
    before = _park_margin(m, unseen, good, bad)
    tuned = Matcher.for_store(store, config=m.config.with_values("parks", **report["weights"]))
    after = _park_margin(tuned, unseen, good, bad)
    assert before < 0 < after, (before, after, report["weights"])


def test_chain_weights_are_learned_relative_to_the_text_model() -> None:
    from matcher.work.tune import CHAIN_PARTS, tune_answer

    rng = np.random.default_rng(1)
    ex = Examples(parts=CHAIN_PARTS)
    for g in range(30):  # the right chain: a little more likely by the text model, much more by keyword evidence
        for label in (1, 0, 0, 0):
            x = rng.uniform(0, 0.5, 3)
            x[0] += 0.15 * label
            x[1] += 0.5 * label
            ex.add(x.tolist(), label, f"q{g}|chain")
    report = tune_answer(ex, {"model": 1.0, "keywords": 0.1, "dense": 0.1}, "chain", folds=3)
    assert report["accept"] and set(report["weights"]) == {"keywords", "dense"}
    assert report["weights"]["keywords"] > 1.0  # keywords now outweigh the text model

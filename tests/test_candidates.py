"""The candidate stage of large registers: capped posting lists give the uncapped answer whenever no cap binds, and
with tiny caps still find the best document and firm, scored exactly."""

from __future__ import annotations

import random

import numpy as np
from scipy import sparse

from matcher.match.counterparts import CounterpartFinder
from matcher.match.families import InputTable
from matcher.match.index import LexicalIndex, impact_heads

PRODUCTS = ["油浸式电力变压器", "干式变压器", "箱式变电站", "取向硅钢片", "冷轧无取向硅钢", "漆包电磁线",
            "铜扁线", "环氧塑封料", "蚀刻引线框架", "集成电路封装测试", "纯牛奶", "生鲜乳", "包装材料", "电力电缆",
            "开关柜"]


def _docs(n: int, seed: int = 7) -> list[list[str]]:
    """Token lists where a few terms are in nearly every document and the rest are rare."""
    rng = random.Random(seed)
    common = ["有限公司", "生产", "销售", "技术"]
    rare = [f"词{i}" for i in range(60)]
    return [rng.sample(common, rng.randint(1, 4)) * rng.randint(1, 3) + rng.sample(rare, rng.randint(1, 4))
            for _ in range(n)]


def _firms(n: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    return [{"id": i + 1, "name": f"企业{i + 1}有限公司", "uscc_valid": 1,
             "products": "、".join(rng.sample(PRODUCTS, rng.randint(1, 3))),
             "needs": "、".join(rng.sample(PRODUCTS, rng.randint(0, 2)))} for i in range(n)]


QUERIES = ["主营产品：干式变压器；采购需求：取向硅钢片、漆包电磁线",
           "主营产品：集成电路封装测试；采购需求：环氧塑封料", "主营产品：纯牛奶", "主营产品：电力电缆、开关柜"]


def test_impact_heads_keep_each_rows_best_postings() -> None:
    m = sparse.csr_matrix(np.array([[0.5, 0.9, 0.5, 0.1, 0.5], [0.2, 0, 0, 0.3, 0]], dtype=np.float32))
    heads = impact_heads(m, 2)
    # row 0: the best value, then the lowest column of those tied at 0.5; row 1 is short enough to keep whole
    want = [[0.5, np.float32(0.9), 0, 0, 0], [np.float32(0.2), 0, 0, np.float32(0.3), 0]]
    assert heads.toarray().tolist() == want
    assert impact_heads(m, 5) is m and impact_heads(m, 0) is m


def test_uncapped_lexical_answer_when_no_cap_binds() -> None:
    docs = _docs(300)
    plain = LexicalIndex().fit(docs)
    capped = LexicalIndex(depth=300, pool=5).fit(docs)  # no term is in more than 300 documents
    queries = [["有限公司", "词3"], ["生产", "销售", "技术"], ["词5"], ["有限公司", "有限公司", "词9", "词10"]]
    for got, want in zip(capped.search_many(queries, k=20), plain.search_many(queries, k=20)):
        assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()


def test_tiny_lexical_cap_finds_the_best_document_and_scores_it_exactly() -> None:
    docs = _docs(400)
    plain = LexicalIndex().fit(docs)
    capped = LexicalIndex(depth=5, pool=30).fit(docs)
    assert capped.heads_ is not plain.matrix_ and capped.heads_.nnz < plain.matrix_.nnz
    for q in (["有限公司", "词3"], ["生产", "技术", "词17", "词40"], ["销售", "词1", "词2"]):
        assert capped._binds(q)
        ids, scores = capped.search(q, k=5)
        want_ids, _ = plain.search(q, k=5)
        full = plain.scores(q)
        assert ids[0] == want_ids[0]  # the rare term's documents are read whole: the best one is among them
        np.testing.assert_allclose(scores, full[ids], rtol=1e-6)  # candidates get their exact BM25
        assert len(set(ids) & set(want_ids)) >= 4


def test_a_filter_too_narrow_for_the_capped_candidates_scores_every_document() -> None:
    docs = _docs(400)
    plain = LexicalIndex().fit(docs)
    capped = LexicalIndex(depth=5, pool=30).fit(docs)
    mask = np.zeros(400, dtype=bool)
    mask[::37] = True
    q = ["有限公司", "生产"]
    got, want = capped.search(q, k=5, mask=mask), plain.search(q, k=5, mask=mask)
    assert got[0].tolist() == want[0].tolist()


class _Vectors:
    """Fixed random vectors standing in for the engine's embedder and dense index (the ``similar`` part)."""

    def __init__(self, n: int, dim: int = 8, seed: int = 5) -> None:
        rng = np.random.default_rng(seed)
        self.firms = rng.normal(size=(n, dim)).astype(np.float32)
        self.firms /= np.linalg.norm(self.firms, axis=1, keepdims=True)
        self.dim = dim

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.stack([np.random.default_rng(sum(map(ord, t))).normal(size=self.dim) for t in texts])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        return self.firms[np.asarray(rows, dtype=np.int64)]


def _answers(finder: CounterpartFinder, firms: list[dict]) -> list[dict]:
    vectors = _Vectors(len(firms))
    finder.use_vectors(vectors.encode, vectors.vectors_of)
    meta = [{"id": f["id"], "name": f["name"]} for f in firms]
    segments = [("取向硅钢片、电磁线", "电力电缆、开关柜")] * len(QUERIES)
    return finder.find_many(QUERIES, segments, meta, None, [None] * len(QUERIES), k=5)


def _lists(out: list[dict]) -> list[dict]:
    return [{role: [(h.label, h.parts) for h in ans[role]] for role in ("suppliers", "customers", "peers")}
            for ans in out]


def test_counterparts_equal_the_uncapped_answer_when_no_cap_binds() -> None:
    firms = _firms(120)
    table = InputTable.load()
    weights = {"needs": 0.3, "pair": 0.1, "asked": 0.3, "inputs": 0.3, "chain": 0.1, "near": 0.05,
               "suppliers_asked_similar": 0.5, "scale_by_best": 1, "min_score": 0.02}
    plain = CounterpartFinder(weights, table).fit(firms)
    roomy_weights = {**weights, "posting_cap": 120, "candidate_pool": 3, "part_leaders": 1, "query_terms": 1}
    roomy = CounterpartFinder(roomy_weights, table).fit(firms)
    assert roomy.heads_ is None  # no bigram or family is in more than 120 firms
    want = _lists(_answers(plain, firms))
    assert any(parts["similar"] > 0 for ans in want for _, parts in ans["suppliers"])  # the part is exercised
    assert _lists(_answers(roomy, firms)) == want


def test_tiny_counterpart_caps_still_find_the_best_firm() -> None:
    firms = _firms(120)
    table = InputTable.load()
    weights = {"needs": 0.3, "pair": 0.1, "asked": 0.3, "inputs": 0.3, "chain": 0.1, "near": 0.05,
               "suppliers_asked_similar": 0.5, "scale_by_best": 1, "min_score": 0.02}
    plain = _answers(CounterpartFinder(weights, table).fit(firms), firms)
    tiny_weights = {**weights, "posting_cap": 8, "candidate_pool": 10, "part_leaders": 3, "query_terms": 24}
    tiny = CounterpartFinder(tiny_weights, table).fit(firms)
    assert tiny.heads_ is not None
    capped = _answers(tiny, firms)
    for got, want in zip(capped, plain):
        for role in ("suppliers", "customers", "peers"):
            if want[role]:
                assert got[role] and got[role][0].label == want[role][0].label, (role, got[role], want[role])


def test_no_candidate_stage_below_capped_from() -> None:
    docs = _docs(400)
    assert LexicalIndex(depth=5, pool=30, capped_from=401).fit(docs)._binds(["有限公司"]) is False
    assert LexicalIndex(depth=5, pool=30, capped_from=400).fit(docs)._binds(["有限公司"]) is True
    firms = _firms(120)
    small = CounterpartFinder({"posting_cap": 8, "capped_from": 121}, InputTable.load()).fit(firms)
    assert small.heads_ is None

"""The fast paths of the embedder and the dense index give the same answers as the reference paths."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from matcher import paths
from matcher.match.embed import Embedder
from matcher.match.index import DenseIndex

TEXTS = [
    "西安某光伏企业，主要从事单晶硅片、光伏电池和组件的研发、生产与销售",
    "氢燃料电池电堆；双极板；膜电极",
    "",
    "软件开发 信息技术咨询服务 " * 200,  # longer than the 512-token cut
    "ABC Laser 激光切割机 VCSEL",
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    """The project's own model (shipped in models/embedder), numpy backend."""
    if not (paths.MODELS_DIR / "embedder" / "MANIFEST.json").exists():
        pytest.skip("models/embedder 不存在")
    return Embedder()


def test_numpy_path_equals_sentence_transformers(embedder: Embedder) -> None:
    assert embedder.backend == "numpy"  # the shipped model is a StaticEmbedding over words
    reference = Embedder(backend="torch").encode(TEXTS)
    fast = embedder.encode(TEXTS)
    assert fast.shape == (len(TEXTS), embedder.dim) and fast.dtype == np.float32
    np.testing.assert_allclose(fast, reference, atol=1e-6)
    # Encoding in small chunks (as for large collections) gives the same vectors.
    assert embedder.tokenizer is not None
    tokens = [embedder.tokenizer(t) for t in TEXTS]
    np.testing.assert_allclose(embedder._encode_numpy(tokens, chunk=2), fast, atol=1e-7)


def test_encode_with_given_tokens_equals_plain_encode(embedder: Embedder) -> None:
    assert embedder.tokenizer is not None
    tokens = [embedder.tokenizer(t) for t in TEXTS]
    np.testing.assert_array_equal(embedder.encode(TEXTS, tokens=tokens), embedder.encode(TEXTS))
    # Mismatched token lists are ignored rather than silently misaligned.
    np.testing.assert_array_equal(embedder.encode(TEXTS, tokens=tokens[:2]), embedder.encode(TEXTS))


def _unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_faiss_flat_equals_numpy_with_and_without_filter() -> None:
    vecs = _unit_rows(600, 16, 1)
    queries = _unit_rows(20, 16, 2)
    fast, ref = DenseIndex("faiss").fit(vecs), DenseIndex("numpy").fit(vecs)
    allowed = np.arange(0, 600, 3)
    for q in queries:
        assert fast.search(q, 10)[0].tolist() == ref.search(q, 10)[0].tolist()
        ids, _ = fast.search(q, 10, allowed)
        assert set(ids.tolist()) <= set(allowed.tolist())
        assert ids.tolist() == ref.search(q, 10, allowed)[0].tolist()
        np.testing.assert_allclose(fast.all_scores(q), ref.all_scores(q), atol=1e-5)
        # All but one id allowed (a firm excluded from its own counterparts): the over-fetch path.
        most = np.delete(np.arange(600), 7)
        ids, _ = fast.search(q, 10, most)
        assert 7 not in ids.tolist() and ids.tolist() == ref.search(q, 10, most)[0].tolist()


def test_hnsw_filtered_search_respects_allowed_ids() -> None:
    vecs = _unit_rows(3000, 16, 5)
    approx, exact = DenseIndex("faiss", hnsw_from=1000, approx="hnsw").fit(vecs), DenseIndex("numpy").fit(vecs)
    allowed = np.arange(1, 3000, 2)
    q = _unit_rows(1, 16, 6)[0]
    ids, _ = approx.search(q, 10, allowed)
    assert len(ids) == 10 and all(i % 2 == 1 for i in ids.tolist())
    assert len(set(ids.tolist()) & set(exact.search(q, 10, allowed)[0].tolist())) >= 9


def test_hnsw_above_threshold_has_high_recall() -> None:
    vecs = _unit_rows(3000, 16, 3)
    queries = _unit_rows(50, 16, 4)
    approx, exact = DenseIndex("faiss", hnsw_from=1000, approx="hnsw").fit(vecs), DenseIndex("numpy").fit(vecs)
    assert type(approx.index_).__name__ == "IndexHNSWFlat"
    found = sum(len(set(approx.search(q, 10)[0].tolist()) & set(exact.search(q, 10)[0].tolist())) for q in queries)
    assert found / (10 * len(queries)) >= 0.95


@pytest.mark.parametrize("approx, floor", [("fp16", 0.99), ("sq8", 0.9)])
def test_scalar_quantized_index_above_threshold(approx: str, floor: float) -> None:
    vecs = _unit_rows(3000, 16, 7)
    queries = _unit_rows(50, 16, 8)
    index, exact = DenseIndex("faiss", hnsw_from=1000, approx=approx).fit(vecs), DenseIndex("numpy").fit(vecs)
    assert type(index.index_).__name__ == "IndexScalarQuantizer"
    found = sum(len(set(index.search(q, 10)[0].tolist()) & set(exact.search(q, 10)[0].tolist())) for q in queries)
    assert found / (10 * len(queries)) >= floor
    allowed = np.arange(0, 3000, 3)
    ids, _ = index.search(queries[0], 10, allowed)
    assert len(ids) == 10 and all(i % 3 == 0 for i in ids.tolist())
    again = pickle.loads(pickle.dumps(index))  # how a build is saved (joblib pickles the fitted indexes)
    assert again.search(queries[1], 10)[0].tolist() == index.search(queries[1], 10)[0].tolist()


def test_inverted_file_index_above_threshold() -> None:
    vecs = _unit_rows(5000, 16, 9)
    queries = _unit_rows(40, 16, 10)
    exact = DenseIndex("numpy").fit(vecs)
    every = DenseIndex("faiss", hnsw_from=1000, approx="ivf", nprobe=10_000).fit(vecs)  # every list read: exact
    assert type(every.index_).__name__ == "IndexIVFScalarQuantizer"
    for q in queries:
        assert every.search(q, 10)[0].tolist() == exact.search(q, 10)[0].tolist()
    few = DenseIndex("faiss", hnsw_from=1000, approx="ivf", nprobe=4).fit(vecs)
    lists = few.index_.nlist
    found = sum(len(set(few.search(q, 10)[0].tolist()) & set(exact.search(q, 10)[0].tolist())) for q in queries)
    assert 4 < lists and found < 10 * len(queries)  # reading 4 of the lists is approximate on random vectors
    # A narrow filter reads proportionally more lists (all of them here): its answer is the exact one.
    narrow = np.arange(0, 5000, 40)
    for q in queries[:10]:
        ids, _ = few.search(q, 10, narrow)
        assert ids.tolist() == exact.search(q, 10, narrow)[0].tolist()
    half = np.arange(1, 5000, 2)
    ids, _ = few.search(queries[0], 10, half)
    assert len(ids) == 10 and all(i % 2 == 1 for i in ids.tolist())
    again = pickle.loads(pickle.dumps(few))
    assert again.search(queries[1], 10)[0].tolist() == few.search(queries[1], 10)[0].tolist()
    np.testing.assert_allclose(few.vectors_of(np.array([3, 7])), vecs[[3, 7]], atol=1e-3)

"""The compiled counterpart loops give, bit for bit, what the plain numpy steps they replace give."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from matcher.match.families import best_of_sparse, work_rows
from matcher.match.index import top_rows
from matcher.match.kernels import group_max, weighted_best, weighted_sum


def _numpy_best(parts: list[tuple[np.ndarray, np.ndarray]], weights: list[float], blocked: np.ndarray, floor: float,
                k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference: scatter the weighted parts, keep what passes, cut with ``top_rows``, read the parts back."""
    buf = np.zeros(n, dtype=np.float32)
    weighted = [w * np.clip(vals, 0.0, 1.0) for (_, vals), w in zip(parts, weights)]
    for (cols, _), vals in zip(parts, weighted):
        np.add.at(buf, cols, vals)
    cand = np.flatnonzero(buf)
    total = buf[cand].astype(np.float64)
    keep = (total > floor) & ~blocked[cand]
    cand, total = cand[keep], total[keep]
    best = cand[top_rows(cand, total, k)]
    out = np.zeros((len(best), len(parts)), dtype=np.float32)
    for p, ((cols, _), vals) in enumerate(zip(parts, weighted)):
        for j, r in enumerate(best):
            hit = np.flatnonzero(cols == r)
            if len(hit):
                out[j, p] = vals[hit[0]]
    return best, out


def _random_parts(rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    parts = []
    for _ in range(rng.integers(1, 6)):
        cols = rng.choice(n, size=rng.integers(0, n // 2), replace=False)
        # coarse values so that many firms tie; some above 1 (clipped) and some exact zeros
        vals = (rng.integers(0, 12, size=len(cols)) / 10).astype(np.float32)
        parts.append((cols.astype(np.int64), vals))
    return parts


@pytest.mark.parametrize("seed", range(40))
def test_weighted_best_matches_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    parts = _random_parts(rng, n)
    # a learned weight may be negative (every third seed has one to choose from): sums can then fall back to 0
    choices = [0.05, 0.1, 0.3, 0.5, 1.0] + ([-0.3, -1.0] if seed % 3 == 0 else [])
    weights = [float(w) for w in rng.choice(choices, size=len(parts))]
    blocked = rng.random(n) < 0.2
    floor = float(rng.choice([0.0, 0.02, 0.3]))
    k = int(rng.integers(1, 12))
    expect_rows, expect_parts = _numpy_best(parts, weights, blocked, floor, k, n)
    buf, _, touched = work_rows(n)
    cols = np.concatenate([c for c, _ in parts])
    vals = np.concatenate([v for _, v in parts])
    starts = np.cumsum([0] + [len(c) for c, _ in parts])
    rows, got = weighted_best(cols, vals, starts, np.array(weights, dtype=np.float32), True, blocked, floor, k,
                              buf, touched)
    assert rows.tolist() == expect_rows.tolist()
    assert got.tobytes() == expect_parts.tobytes()
    assert not buf.any() and not touched.any()  # the work rows are left zeroed for the next query


def test_best_of_sparse_matches_numpy() -> None:
    rng = np.random.default_rng(7)
    for _ in range(30):
        n, f = int(rng.integers(1, 300)), int(rng.integers(1, 40))
        member = sparse.random(n, f, density=0.1, format="csc", dtype=np.float32, random_state=rng)
        wanted = np.where(rng.random(f) < 0.3, rng.random(f), 0).astype(np.float32)
        cols = np.flatnonzero(wanted)
        top = np.zeros(n, dtype=np.float32)
        total = np.zeros(n, dtype=np.float32)
        for c in cols:  # column by column, as the membership lists them
            lo, hi = member.indptr[c], member.indptr[c + 1]
            vals = member.data[lo:hi] * wanted[c]
            np.maximum.at(top, member.indices[lo:hi], vals)
            np.add.at(total, member.indices[lo:hi], vals)
        expect = np.flatnonzero(top)
        bufs = work_rows(n)
        firms, scores = best_of_sparse(member, wanted, bufs)
        order = np.argsort(firms)
        assert firms[order].tolist() == expect.tolist()
        assert scores[order].tobytes() == (top[expect] + np.float32(0.1) * total[expect]).tobytes()
        assert not any(b.any() for b in bufs)


def test_group_max_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    for _ in range(30):
        n_rows, n = int(rng.integers(1, 20)), int(rng.integers(1, 200))
        m = sparse.random(n_rows, n, density=0.2, format="csr", dtype=np.float32, random_state=rng)
        cuts = np.sort(rng.integers(0, n_rows + 1, size=int(rng.integers(0, 4))))
        groups = np.concatenate(([0], cuts, [n_rows]))
        buf, _, touched = work_rows(n)
        indptr, cols, vals = group_max(m.indptr, m.indices, m.data, groups, buf, touched)
        got = sparse.csr_matrix((vals, cols, indptr), shape=(len(groups) - 1, n)).toarray()
        dense = m.toarray()
        for g in range(len(groups) - 1):
            rows = dense[groups[g]:groups[g + 1]]
            expect = rows.max(axis=0) if len(rows) else np.zeros(n, dtype=np.float32)
            assert got[g].tobytes() == expect.tobytes()
        assert not buf.any() and not touched.any()


@pytest.mark.parametrize("seed", range(20))
def test_weighted_sum_matches_numpy(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(5, 400))
    parts = _random_parts(rng, n)
    weights = [float(w) for w in rng.choice([0.05, 0.3, 1.0, -0.3], size=len(parts))]
    buf = np.zeros(n, dtype=np.float32)
    for (cols, vals), w in zip(parts, weights):
        np.add.at(buf, cols, w * np.clip(vals, 0.0, 1.0))
    expect = np.flatnonzero(buf)
    work, _, touched = work_rows(n)
    firms, total = weighted_sum(np.concatenate([c for c, _ in parts]), np.concatenate([v for _, v in parts]),
                                np.cumsum([0] + [len(c) for c, _ in parts]), np.array(weights, dtype=np.float32),
                                True, work, touched)
    order = np.argsort(firms)
    assert firms[order].tolist() == expect.tolist()
    assert total[order].tobytes() == buf[expect].astype(np.float64).tobytes()
    assert not work.any() and not touched.any()

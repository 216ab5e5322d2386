"""Compiled loops for the counterpart scores: the steps that touch every firm a query's parts reach.

A query's parts reach tens of thousands of firms each on a large register. Summed, filtered and cut with numpy,
every step is its own pass over those entries (scatter, scan, gather, mask, partition); here each is one loop,
compiled by numba (``cache=True``: compiled once per machine, then read from ``__pycache__``). Every loop adds and
compares in the same order and the same float32 arithmetic as the numpy steps it replaces, so the answers are the
same to the last bit (tests/test_kernels.py compares them).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _weighted(v: np.float32, w: np.float32, clip: bool) -> np.float32:
    """One part's value of a firm as it counts: clipped to 0..1 when asked, times the part's weight (float32)."""
    if clip:
        v = min(max(v, np.float32(0.0)), np.float32(1.0))
    return w * v


@njit(cache=True, nogil=True, inline="always")
def _scatter(cols: np.ndarray, vals: np.ndarray, starts: np.ndarray, weights: np.ndarray, clip: bool, plain: bool,
             buf: np.ndarray, touched: np.ndarray, order: np.ndarray) -> int:
    """Add every part's weighted values into ``buf``, part after part, and list each firm reached in ``order``;
    returns how many are listed.

    ``plain`` (no negative weight, values clipped): a firm's sum never returns to 0 once above it, so its first
    positive term marks it as reached and ``touched`` is left alone (a firm whose first term is 0 may be listed
    twice; its second reading finds 0). Otherwise ``touched`` marks each firm once.
    """
    m = 0
    for p in range(len(weights)):
        w = weights[p]
        for j in range(starts[p], starts[p + 1]):
            c = cols[j]
            x = _weighted(vals[j], w, clip)
            if plain:
                if buf[c] == 0:
                    order[m] = c
                    m += 1
                buf[c] += x
            else:
                buf[c] += x
                if not touched[c]:
                    touched[c] = True
                    order[m] = c
                    m += 1
    return m


@njit(cache=True, nogil=True)
def weighted_best(cols: np.ndarray, vals: np.ndarray, starts: np.ndarray, weights: np.ndarray, clip: bool,
                  blocked: np.ndarray, floor: float, k: int, buf: np.ndarray,
                  touched: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The k best firms by the weighted sum of their parts, and each one's weighted parts.

    Args:
        cols, vals: every part's (firm rows, values) one after the other; part p is ``starts[p]:starts[p + 1]``
            (a part's rows are distinct).
        weights: per part, its weight (float32); ``clip``: values clipped to 0..1 before weighting.
        blocked: per firm, whether it may not be offered; ``floor``: a firm must score more.
        buf: a zeroed float32 row over all firms, ``touched`` a zeroed bool row (both left zeroed).

    Returns:
        (rows of the best firms, best first: higher sum, then lower row; their weighted parts, firms × parts).
    """
    n_parts = len(weights)
    order = np.empty(len(cols), dtype=np.int64)
    plain = clip
    for p in range(n_parts):
        if weights[p] < 0:
            plain = False
    m = _scatter(cols, vals, starts, weights, clip, plain, buf, touched, order)
    best = np.full(k, -1, dtype=np.int64)
    score = np.zeros(k, dtype=np.float64)
    held = 0
    for j in range(m):
        c = order[j]
        t = np.float64(buf[c])
        buf[c] = 0.0
        touched[c] = False
        if t == 0.0:
            continue  # nothing reached it, or listed twice (``plain``: a zero term first) and already read
        if held == k and (t < score[k - 1] or (t == score[k - 1] and c > best[k - 1])):
            continue
        if t <= floor or blocked[c]:
            continue
        at = held if held < k else k - 1  # insertion into the sorted few kept so far
        while at > 0 and (t > score[at - 1] or (t == score[at - 1] and c < best[at - 1])):
            best[at], score[at] = best[at - 1], score[at - 1]
            at -= 1
        best[at], score[at] = c, t
        if held < k:
            held += 1
    best = best[:held]
    parts = np.zeros((held, n_parts), dtype=np.float32)
    for i in range(held):
        buf[best[i]] = np.float32(i + 1)  # each best firm's place, read back below
    for p in range(n_parts):
        w = weights[p]
        for j in range(starts[p], starts[p + 1]):
            at = int(buf[cols[j]])
            if at > 0:
                parts[at - 1, p] = _weighted(vals[j], w, clip)
    for i in range(held):
        buf[best[i]] = 0.0
    return best, parts


@njit(cache=True, nogil=True)
def family_best(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, wanted: np.ndarray, top: np.ndarray,
                total: np.ndarray, touched: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per firm of a wanted family: its best (membership × weight) plus a tenth of the sum, over the wanted families.

    Args:
        indptr, indices, data: the firms × families membership in CSC form (a family's firms are one run).
        wanted: per family, its weight (float32).
        top, total: zeroed float32 rows over all firms, ``touched`` a zeroed bool row (all left zeroed).

    Returns:
        (firm rows, in the order first reached; their scores, float32).
    """
    size = 0
    for f in range(len(wanted)):
        if wanted[f] != 0:
            size += indptr[f + 1] - indptr[f]
    order = np.empty(size, dtype=np.int64)
    m = 0
    for f in range(len(wanted)):
        w = wanted[f]
        if w == 0:
            continue
        for j in range(indptr[f], indptr[f + 1]):
            r = indices[j]
            v = np.float32(data[j] * w)  # float32 × float32 stays float32, as numpy multiplies them
            if v > top[r]:
                top[r] = v
            total[r] += v
            if not touched[r]:
                touched[r] = True
                order[m] = r
                m += 1
    firms = np.empty(m, dtype=np.int64)
    scores = np.empty(m, dtype=np.float32)
    kept = 0
    tenth = np.float32(0.1)
    for j in range(m):
        r = order[j]
        if top[r] != 0:
            firms[kept] = r
            scores[kept] = top[r] + tenth * total[r]
            kept += 1
        top[r] = 0.0
        total[r] = 0.0
        touched[r] = False
    return firms[:kept], scores[:kept]


@njit(cache=True, nogil=True)
def group_max(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, groups: np.ndarray, buf: np.ndarray,
              touched: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group of consecutive sparse rows, the largest value of each column over its rows (the best single item
    of a query against each firm), as CSR arrays (indptr, columns in the order first reached, values).

    Args:
        indptr, indices, data: the rows (CSR); group g is rows ``groups[g]:groups[g + 1]``.
        buf: a zeroed float32 row over all columns, ``touched`` a zeroed bool row (both left zeroed).
    """
    n_groups = len(groups) - 1
    out_ptr = np.zeros(n_groups + 1, dtype=np.int64)
    out_cols = np.empty(indptr[groups[n_groups]] - indptr[groups[0]], dtype=np.int64)
    out_vals = np.empty(len(out_cols), dtype=np.float32)
    m = 0
    for g in range(n_groups):
        first = m
        for r in range(groups[g], groups[g + 1]):
            for j in range(indptr[r], indptr[r + 1]):
                c = indices[j]
                v = data[j]
                if not touched[c]:
                    touched[c] = True
                    out_cols[m] = c
                    m += 1
                    buf[c] = v
                elif v > buf[c]:
                    buf[c] = v
        kept = first
        for j in range(first, m):
            c = out_cols[j]
            if buf[c] != 0:
                out_cols[kept] = c
                out_vals[kept] = buf[c]
                kept += 1
            buf[c] = 0.0
            touched[c] = False
        m = kept
        out_ptr[g + 1] = m
    return out_ptr, out_cols[:m], out_vals[:m]


@njit(cache=True, nogil=True)
def weighted_sum(cols: np.ndarray, vals: np.ndarray, starts: np.ndarray, weights: np.ndarray, clip: bool,
                 buf: np.ndarray, touched: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every firm the parts reach with a non-zero weighted sum, and the sum (float64 of the float32 total), in the
    order first reached (arguments as for ``weighted_best``; ``buf`` and ``touched`` are left zeroed)."""
    order = np.empty(len(cols), dtype=np.int64)
    m = _scatter(cols, vals, starts, weights, clip, False, buf, touched, order)
    firms = np.empty(m, dtype=np.int64)
    total = np.empty(m, dtype=np.float64)
    kept = 0
    for j in range(m):
        c = order[j]
        if buf[c] != 0:
            firms[kept] = c
            total[kept] = np.float64(buf[c])
            kept += 1
        buf[c] = 0.0
        touched[c] = False
    return firms[:kept], total[:kept]

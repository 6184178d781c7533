"""Compiled (numba) one-pass versions of the per-profile preparation: segment seconds and the search graph's arcs.

Optional, like :mod:`siting.travel._kernels`: :mod:`siting.travel.speed` and :mod:`siting.travel.arcs` use these
(through :mod:`siting.travel.prep`) when numba is installed and fall back to their numpy code otherwise. Both give
the same bits: every value is computed by the same floating-point operations in the same order (``exp`` is the C
library's in both; sums run in piece order as :func:`numpy.bincount` does), which
``tests/travel/test_compiled_prep.py`` checks.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["segment_seconds", "search_arcs"]


@njit(cache=True, nogil=True, error_model="numpy")
def _flat_rise(rise: float) -> float:
    """``numpy.nan_to_num`` of one rise: NaN -> 0, +-inf -> the largest finite float of that sign."""
    if math.isfinite(rise):  # nearly always: one predictable test
        return rise
    if rise != rise:
        return 0.0
    return 1.7976931348623157e308 if rise > 0 else -1.7976931348623157e308


@njit(cache=True, nogil=True, error_model="numpy")
def _stair_seconds(length: float, rise: float, flat_m_s: float, ascent_m_per_s: float,
                   descent_m_per_s: float) -> float:
    """:meth:`siting.travel.speed.StairRates.seconds` of one piece (unknown rise: the standard grade)."""
    if math.isfinite(rise):
        up = max(rise, 0.0)
        down = max(-rise, 0.0)
    else:
        up = 0.25 * length  # 0.5 * STANDARD_STAIR_GRADE, half up, half down
        down = 0.25 * length
    return length / flat_m_s + up / ascent_m_per_s + down / descent_m_per_s


@njit(cache=True, nogil=True, error_model="numpy")
def _slope_factor(slope: float, uphill_k: float, downhill_k: float, optimum_grade: float,
                  flat_term: float) -> float:
    """:meth:`siting.travel.slopes.SlopeResponse.factor` of one grade (``flat_term = k0 * |S*|``)."""
    k = uphill_k if slope > optimum_grade else downhill_k
    return math.exp(-k * abs(slope - optimum_grade) + flat_term)


@njit(cache=True, nogil=True, error_model="numpy")
def segment_seconds(piece_seg: np.ndarray, piece_len_m: np.ndarray, piece_rise_m: np.ndarray,
                    seg_stairs: np.ndarray, seg_fwd: np.ndarray, seg_bwd: np.ndarray, flat_m_s: float,
                    use_slope: bool, uphill_k: float, downhill_k: float, optimum_grade: float, flat_term: float,
                    legacy_stairs: bool, stairs_factor: float, ascent_m_per_s: float, descent_m_per_s: float,
                    scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Seconds (times ``scale``) to walk each segment forward and backward, ``inf`` where not walkable.

    One pass over the pieces, no temporaries: :meth:`siting.travel.speed.SpeedProfile.segment_seconds` of one
    group, whose parameters are passed unpacked (``flat_term = k0 * |optimum_grade|`` as Python computes it).
    """
    n = seg_fwd.shape[0]
    fwd = np.zeros(n)
    bwd = np.zeros(n)
    for i in range(piece_seg.shape[0]):
        s = piece_seg[i]
        length = piece_len_m[i]
        rise = piece_rise_m[i]
        if seg_stairs[s]:
            if legacy_stairs:
                up = length / (flat_m_s * stairs_factor)
                down = up
            else:
                r = rise if use_slope else np.nan
                up = _stair_seconds(length, r, flat_m_s, ascent_m_per_s, descent_m_per_s)
                down = _stair_seconds(length, -r, flat_m_s, ascent_m_per_s, descent_m_per_s)
        elif use_slope:
            slope = _flat_rise(rise) / length if length > 0 else 0.0
            up = length / (flat_m_s * _slope_factor(slope, uphill_k, downhill_k, optimum_grade, flat_term))
            down = length / (flat_m_s * _slope_factor(-slope, uphill_k, downhill_k, optimum_grade, flat_term))
        else:
            up = length / (flat_m_s * 1.0)
            down = up
        fwd[s] += up
        bwd[s] += down
    for s in range(n):  # inf (not walkable) is scaled too, as numpy does: any scale gives its bits
        fwd[s] = (fwd[s] if seg_fwd[s] else np.inf) * scale
        bwd[s] = (bwd[s] if seg_bwd[s] else np.inf) * scale
    return fwd, bwd


@njit(cache=True, nogil=True, error_model="numpy")
def search_arcs(pair: np.ndarray, starts: np.ndarray, grouped: bool, group_ptr: np.ndarray, group_head: np.ndarray,
                fwd_m: np.ndarray, bwd_m: np.ndarray, arcs: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The CSR arcs of :func:`siting.travel.arcs.search_graph` in one pass over the :class:`ArcLayout`.

    Arc ``j`` of the layout costs ``(fwd_m[s], bwd_m[s])[pair[j] - 2 * s]`` with ``s = pair[j] // 2``; a group of
    parallel arcs (``starts``, when ``grouped``) keeps its minimum (NaN if any is NaN, as
    :func:`numpy.minimum.reduceat`); non-finite arcs are dropped.

    Returns
    -------
    indptr, n_arcs, max_out_degree
        The first ``n_arcs`` records of ``arcs`` (``ARC_DTYPE``, one per group, filled here) are the
        ``(head, cost)`` of the finite arcs.
    """
    m = fwd_m.shape[0]
    n_nodes = group_ptr.shape[0] - 1
    n_groups = group_head.shape[0]
    n_arcs_in = pair.shape[0]
    # the costs interleaved once (sequential): an arc's cost is then one load, with no branch on its direction
    costs = np.empty(2 * m, dtype=np.float64)
    for s in range(m):
        costs[2 * s] = fwd_m[s]
        costs[2 * s + 1] = bwd_m[s]
    indptr = np.empty(n_nodes + 1, dtype=np.int64)
    indptr[0] = 0
    k = 0
    degree = 0
    for x in range(n_nodes):
        first = k
        for g in range(group_ptr[x], group_ptr[x + 1]):
            if grouped:
                lo = starts[g]
                hi = starts[g + 1] if g + 1 < n_groups else n_arcs_in
                best = costs[pair[lo]]
                for j in range(lo + 1, hi):
                    c = costs[pair[j]]
                    if c < best or c != c:
                        best = c
                        if c != c:
                            break
            else:
                best = costs[pair[g]]
            if math.isfinite(best):
                arcs[k].head = group_head[g]
                arcs[k].cost = best
                k += 1
        indptr[x + 1] = k
        degree = max(degree, k - first)
    return indptr, k, degree

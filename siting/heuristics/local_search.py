"""Local search on a plan: add / swap / drop moves under the budget and the site limit.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> a = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.MCLP, a, np.array([3.0, 3.0, 1.0, 1.0]), np.ones(3), np.zeros(3, bool),
...                     np.zeros(3, bool), np.ones(3, bool), max_sites=1, total_weight=8.0)
>>> local_search(p, np.array([False, False, True])).tolist()
[False, True, False]
"""
from __future__ import annotations

import time

import numpy as np

from ..interrupt import expired
from ..problem import CoverageProblem, ModelType
from .arrays import CoverArrays
from .greedy import greedy_mclp

__all__ = ["local_search", "swap_mclp", "improve_cover"]


def _segment_sum(arr: CoverArrays, rows: np.ndarray, row_weight: np.ndarray) -> np.ndarray:
    """``A[rows]^T row_weight[rows]`` as a dense (n_sites,) vector."""
    deg = arr.row_degree(rows)
    return np.bincount(arr.rows_sites(rows), weights=np.repeat(row_weight[rows], deg), minlength=arr.n_sites)


def swap_mclp(problem: CoverageProblem, x: np.ndarray, *, arrays: CoverArrays | None = None,
              time_limit_s: float | None = None, max_passes: int = 50, seed: int = 0) -> np.ndarray:
    r"""Best-improvement 1-1 swaps and greedy additions for MCLP until no move improves.

    Parameters
    ----------
    problem : CoverageProblem (MCLP)
    x : feasible bool plan
    arrays : prebuilt :class:`CoverArrays`
    time_limit_s : stop after this many seconds (the plan stays feasible at every step)
    max_passes : passes over the open sites
    seed : order in which open sites are tried

    Notes
    -----
    With ``n_i`` = number of open sites covering row ``i``, closing ``j`` loses
    :math:`\ell_j = \sum_{i \in \mathrm{cover}(j), n_i = 1} w_i` and the gain of opening ``k`` afterwards is
    :math:`g_k + \sum_{i \in \mathrm{cover}(j) \cap \mathrm{cover}(k), n_i = 1} w_i` where
    :math:`g_k = \sum_{i \in \mathrm{cover}(k), n_i = 0} w_i` is maintained incrementally. One trial of ``j``
    costs ``O(nnz(rows uniquely covered by j) + n_sites)``. Every accepted move strictly increases the
    covered weight, so the search terminates.
    """
    arr = arrays if arrays is not None else CoverArrays.of(problem)
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    rng = np.random.default_rng(seed)
    w = np.asarray(problem.demand_weight, dtype=np.float64)
    cost, counts = problem.site_cost, problem.counts_toward_limit
    x = np.asarray(x, dtype=bool).copy()
    x = greedy_mclp(problem, start=x, arrays=arr, seed=seed)
    cnt = arr.counts(x)
    gain = arr.site_weight(np.where(cnt == 0, w, 0.0))
    budget = np.inf if problem.budget is None else float(problem.budget)
    slots = np.inf if problem.max_sites is None else float(problem.max_sites)
    closed = problem.fixed_closed
    tol = 1e-9 * max(1.0, float(w.sum()))
    for _ in range(max_passes):
        improved = False
        spent, used = float(cost[x].sum()), float((x & counts).sum())
        for j in rng.permutation(np.flatnonzero(x & ~problem.fixed_open)):
            if expired(deadline):
                return x
            rows = arr.site_rows(j)
            uniq = rows[cnt[rows] == 1]
            loss = float(w[uniq].sum())
            delta = gain.copy()
            if uniq.size:
                delta += _segment_sum(arr, uniq, w)
            delta -= loss
            ok = ~x & ~closed & (cost <= budget - spent + cost[j] + 1e-9)
            if used - int(counts[j]) + 1 > slots:
                ok &= ~counts
            delta[~ok] = -np.inf
            k = int(np.argmax(delta))
            if not delta[k] > tol:
                continue
            # apply the swap j -> k and update cnt / gain incrementally
            x[j] = False
            cnt[rows] -= 1
            gain += _segment_sum(arr, uniq, w) if uniq.size else 0.0
            rows_k = arr.site_rows(k)
            new = rows_k[cnt[rows_k] == 0]
            if new.size:
                gain -= _segment_sum(arr, new, w)
            cnt[rows_k] += 1
            x[k] = True
            spent += cost[k] - cost[j]
            used += int(counts[k]) - int(counts[j])
            improved = True
        before = x.sum()
        x = greedy_mclp(problem, start=x, arrays=arr, seed=seed)
        if x.sum() != before:
            cnt = arr.counts(x)
            gain = arr.site_weight(np.where(cnt == 0, w, 0.0))
            improved = True
        if not improved:
            break
    return x


def _need(problem: CoverageProblem, arr: CoverArrays) -> tuple[np.ndarray, float]:
    """Row weights for the covering models and how much covered weight a plan must keep."""
    if problem.model == ModelType.LSCP:
        w = (arr.counts(~problem.fixed_closed) > 0).astype(np.float64)
        return w, float(w.sum())
    w = np.asarray(problem.demand_weight, dtype=np.float64)
    return w, problem.target_weight - problem.base_covered_weight


def improve_cover(problem: CoverageProblem, x: np.ndarray, *, arrays: CoverArrays | None = None,
                  time_limit_s: float | None = None, max_passes: int = 20, seed: int = 0) -> np.ndarray:
    """Drop redundant sites and swap sites for cheaper ones (LSCP / partial covering), keeping feasibility.

    Notes
    -----
    Sites are tried from the most expensive. Drop: ``j`` is removed when the covered weight without it still
    meets the requirement (LSCP: every coverable row, i.e. no row covered only by ``j``). Swap: the cheapest
    closed ``k`` with :math:`c_k < c_j` such that the plan ``x - j + k`` still meets it. Every move lowers
    the cost, so the search terminates. ``O(n_sites + nnz(rows of j))`` per trial.
    """
    arr = arrays if arrays is not None else CoverArrays.of(problem)
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    w, need = _need(problem, arr)
    tol = 1e-9 * max(1.0, abs(need))
    cost, counts = problem.site_cost, problem.counts_toward_limit
    x = np.asarray(x, dtype=bool).copy()
    cnt = arr.counts(x)
    covered = float(w[cnt > 0].sum())
    gain = arr.site_weight(np.where(cnt == 0, w, 0.0))
    slots = np.inf if problem.max_sites is None else float(problem.max_sites)
    for _ in range(max_passes):
        improved = False
        order = np.flatnonzero(x & ~problem.fixed_open)
        order = order[np.lexsort((np.random.default_rng(seed).random(order.size), -cost[order]))]
        for j in order:
            if expired(deadline):
                return x
            rows = arr.site_rows(j)
            uniq = rows[cnt[rows] == 1]
            loss = float(w[uniq].sum())
            extra = _segment_sum(arr, uniq, w) if uniq.size else np.zeros(arr.n_sites)
            if covered - loss >= need - tol:            # drop j
                k = -1
            else:                                      # swap j -> cheapest k that keeps the requirement
                ok = ~x & ~problem.fixed_closed & (cost < cost[j] - 1e-12)
                ok &= covered - loss + gain + extra >= need - tol
                if int((x & counts).sum()) - int(counts[j]) + 1 > slots:
                    ok &= ~counts
                if not ok.any():
                    continue
                cand = np.flatnonzero(ok)
                k = int(cand[np.argmin(cost[cand])])
            x[j] = False
            cnt[rows] -= 1
            gain += extra
            covered -= loss
            if k >= 0:
                rows_k = arr.site_rows(k)
                new = rows_k[cnt[rows_k] == 0]
                if new.size:
                    gain -= _segment_sum(arr, new, w)
                covered += float(w[new].sum())
                cnt[rows_k] += 1
                x[k] = True
            improved = True
        if not improved:
            break
    return x


def local_search(problem: CoverageProblem, x: np.ndarray, *, arrays: CoverArrays | None = None,
                 time_limit_s: float | None = None, seed: int = 0) -> np.ndarray:
    """Improve a feasible plan: :func:`swap_mclp` for MCLP, :func:`improve_cover` for LSCP / partial."""
    if problem.model == ModelType.MCLP:
        return swap_mclp(problem, x, arrays=arrays, time_limit_s=time_limit_s, seed=seed)
    return improve_cover(problem, x, arrays=arrays, time_limit_s=time_limit_s, seed=seed)

"""Lazy greedy for coverage problems: gain per unit cost with a heap over sites.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> a = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.MCLP, a, np.array([5.0, 1.0, 1.0, 4.0]), np.ones(3), np.zeros(3, bool),
...                     np.zeros(3, bool), np.ones(3, bool), max_sites=2, total_weight=11.0)
>>> greedy(p).tolist()
[True, False, True]
"""
from __future__ import annotations

import heapq

import numpy as np

from ..problem import CoverageProblem, ModelType
from .arrays import CoverArrays

__all__ = ["greedy", "greedy_mclp", "greedy_cover"]

_FREE_KEY = 1e18  # ratio used for zero-cost sites: they come first


def _key(gain: float, cost: float, by_ratio: bool) -> float:
    if not by_ratio:
        return gain
    return gain / cost if cost > 0 else gain * _FREE_KEY


def _start(problem: CoverageProblem, start: np.ndarray | None) -> np.ndarray:
    x = problem.fixed_open.copy()
    if start is not None:
        x |= np.asarray(start, dtype=bool)
    return x & ~problem.fixed_closed


def _lazy(arr: CoverArrays, x: np.ndarray, weight: np.ndarray, *, by_ratio: bool, budget_left: float,
          slots_left: float, stop_weight: float | None, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Shared lazy-greedy loop; ``weight`` is the uncovered weight per row (modified in place)."""
    p = arr.problem
    cost, counts = p.site_cost, p.counts_toward_limit
    gains = arr.site_weight(weight)
    cand = np.flatnonzero(~x & ~p.fixed_closed & (gains > 0))
    tie = 1.0 + 1e-9 * rng.random(cand.size)
    keys = np.where(cost[cand] > 0, gains[cand] / np.where(cost[cand] > 0, cost[cand], 1.0),
                    gains[cand] * _FREE_KEY) if by_ratio else gains[cand]
    heap = list(zip((-keys * tie).tolist(), cand.tolist(), strict=True))
    heapq.heapify(heap)
    tol = 1e-9 * max(1.0, abs(budget_left)) if np.isfinite(budget_left) else 0.0
    covered_gain = 0.0
    while heap:
        if stop_weight is not None and covered_gain >= stop_weight - 1e-9:
            break
        _, j = heapq.heappop(heap)
        if cost[j] > budget_left + tol or (counts[j] and slots_left < 1):
            continue
        rows = arr.site_rows(j)
        g = float(weight[rows].sum())
        if g <= 0:
            continue
        k = _key(g, float(cost[j]), by_ratio)
        if heap and k < -heap[0][0] * (1 - 1e-12):
            heapq.heappush(heap, (-k, j))
            continue
        x[j] = True
        weight[rows] = 0.0
        covered_gain += g
        budget_left -= cost[j]
        slots_left -= 1 if counts[j] else 0
    return x, weight


def greedy_mclp(problem: CoverageProblem, *, by_ratio: bool = True, start: np.ndarray | None = None,
                arrays: CoverArrays | None = None, seed: int = 0) -> np.ndarray:
    r"""Lazy greedy for MCLP: repeatedly open the affordable site with the largest gain (per cost).

    Parameters
    ----------
    problem : CoverageProblem (MCLP)
    by_ratio : rank by newly covered weight per unit cost (True) or by newly covered weight (False)
    start : optional bool mask of sites open from the start (must be feasible)
    arrays : prebuilt :class:`CoverArrays` (saves the CSC build on big problems)
    seed : breaks ties between equal keys

    Returns
    -------
    (n_sites,) bool mask, feasible for budget, ``max_sites`` and the fixed sites.

    Notes
    -----
    The gain :math:`g_j(S) = \sum_{i \in \mathrm{cover}(j) \setminus \mathrm{cover}(S)} w_i` is submodular,
    so a key in the heap is an upper bound of the current key and a popped site whose recomputed key still
    tops the heap is the true argmax (lazy evaluation, Minoux 1978). With only ``max_sites``, the result is
    within :math:`1 - 1/e` of the optimum (Nemhauser, Wolsey & Fisher 1978); under a budget, the best of
    the ratio greedy and the best single site is within :math:`\tfrac12(1 - 1/e)` (Khuller, Moss & Naor
    1999). Each pop costs ``O(deg(j))``; typically ``O(nnz + n log n)`` overall.
    """
    arr = arrays if arrays is not None else CoverArrays.of(problem)
    x = _start(problem, start)
    weight = np.asarray(problem.demand_weight, dtype=np.float64).copy()
    weight[arr.counts(x) > 0] = 0.0
    budget_left = np.inf if problem.budget is None else problem.budget - problem.cost_of(x)
    slots_left = np.inf if problem.max_sites is None else problem.max_sites - int(
        (x & problem.counts_toward_limit).sum())
    x, _ = _lazy(arr, x, weight, by_ratio=by_ratio, budget_left=budget_left, slots_left=slots_left,
                 stop_weight=None, rng=np.random.default_rng(seed))
    return x


def greedy_cover(problem: CoverageProblem, *, start: np.ndarray | None = None, arrays: CoverArrays | None = None,
                 seed: int = 0) -> np.ndarray | None:
    r"""Greedy set cover for LSCP / partial covering: cheapest cost per newly covered row (LSCP) or weight.

    Returns the plan, or None when the greedy plan breaks the budget / site limit or cannot reach the
    coverage target.

    Notes
    -----
    Chvatal's greedy: the LSCP plan costs at most :math:`H(\max_j |\mathrm{cover}(j)|)` times the optimum.
    LSCP rows no open-able site covers are ignored (the model drops them).
    """
    arr = arrays if arrays is not None else CoverArrays.of(problem)
    x = _start(problem, start)
    if problem.model == ModelType.LSCP:
        weight = np.ones(problem.n_demand)
        coverable = arr.counts(~problem.fixed_closed) > 0
        weight[~coverable] = 0.0
        weight[arr.counts(x) > 0] = 0.0
        need = float(weight.sum())
    else:
        weight = np.asarray(problem.demand_weight, dtype=np.float64).copy()
        weight[arr.counts(x) > 0] = 0.0
        need = problem.target_weight - problem.covered_weight(x)
    x, weight = _lazy(arr, x, weight, by_ratio=True, budget_left=np.inf, slots_left=np.inf,
                      stop_weight=max(need, 0.0), rng=np.random.default_rng(seed))
    if not _cover_feasible(problem, x, arr):
        return None
    return x


def _cover_feasible(problem: CoverageProblem, x: np.ndarray, arr: CoverArrays) -> bool:
    if problem.budget is not None and problem.cost_of(x) > problem.budget * (1 + 1e-9) + 1e-9:
        return False
    if problem.max_sites is not None and int((x & problem.counts_toward_limit).sum()) > problem.max_sites:
        return False
    if problem.model == ModelType.LSCP:
        coverable = arr.counts(~problem.fixed_closed) > 0
        return bool((arr.counts(x)[coverable] > 0).all())
    return problem.covered_weight(x) >= problem.target_weight * (1 - 1e-12) - 1e-9


def greedy(problem: CoverageProblem, *, arrays: CoverArrays | None = None, seed: int = 0) -> np.ndarray | None:
    """The best greedy plan for the problem's model (None only for an infeasible covering greedy).

    MCLP: the best of the ratio greedy, the plain-gain greedy and the best single affordable site.
    """
    arr = arrays if arrays is not None else CoverArrays.of(problem)
    if problem.model != ModelType.MCLP:
        return greedy_cover(problem, arrays=arr, seed=seed)
    plans = [greedy_mclp(problem, by_ratio=True, arrays=arr, seed=seed)]
    if problem.budget is not None:
        plans.append(greedy_mclp(problem, by_ratio=False, arrays=arr, seed=seed))
        base = _start(problem, None)
        gains = arr.site_weight()
        afford = ~base & ~problem.fixed_closed & (problem.site_cost <= problem.budget - problem.cost_of(base))
        if problem.max_sites is not None and problem.max_sites - int((base & problem.counts_toward_limit).sum()) < 1:
            afford &= ~problem.counts_toward_limit
        if afford.any():
            single = base.copy()
            single[np.flatnonzero(afford)[np.argmax(gains[afford])]] = True
            plans.append(single)
    values = [problem.covered_weight(x) for x in plans]
    return plans[int(np.argmax(values))]


def open_in_order(problem: CoverageProblem, order: np.ndarray) -> np.ndarray:
    """The fixed-open sites plus the longest head of ``order`` (site indices, best first) the budget and limit allow.

    Sites are taken up to the first that does not fit: a later, cheaper site must not jump the queue of one the
    relaxation ranks higher.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix(np.ones((1, 3), dtype=bool))
    >>> p = CoverageProblem(ModelType.MCLP, a, np.ones(1), np.array([5.0, 3.0, 1.0]), np.zeros(3, bool),
    ...                     np.zeros(3, bool), np.ones(3, bool), budget=6.0)
    >>> open_in_order(p, np.array([1, 0, 2])).astype(int).tolist()
    [0, 1, 0]
    """
    p = problem
    start = p.fixed_open & ~p.fixed_closed
    order = order[~start[order]]
    spent = float(p.site_cost[start].sum())
    used = int((start & p.counts_toward_limit).sum())
    budget = np.inf if p.budget is None else p.budget
    slots = np.inf if p.max_sites is None else p.max_sites
    take = ((np.cumsum(p.site_cost[order]) + spent <= budget + 1e-9)
            & (np.cumsum(p.counts_toward_limit[order]) + used <= slots))
    # both running totals only grow (costs and limits are >= 0), so ``take`` is already a head of ``order``
    start = start.copy()
    start[order[take]] = True
    return start

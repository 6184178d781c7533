r"""Lagrangian relaxation of the coverage constraints, optimised by subgradient steps (Polyak).

MCLP (upper bound). Relaxing :math:`y_i \le \sum_j a_{ij} x_j` with :math:`u_i \ge 0`:

.. math::

    L(u) = w_0 + \sum_i \max(0, w_i - u_i) + \max_{x \in X} \sum_j (A^T u)_j\, x_j,
    \qquad X = \{x \in \{0,1\}^n : c^T x \le B,\ \ell^T x \le P\}.

The inner maximum is replaced by the LP relaxation of the two-constraint knapsack, bounded through its
own dual: for every :math:`\lambda \ge 0`,
:math:`\max_{x \in X} v^T x \le \lambda B + \max_{x \in [0,1]^n, \ell^T x \le P} (v - \lambda c)^T x`
(a top-``P`` sum). Any ``u`` and any ``lambda`` give a valid upper bound; the subgradient only makes it tight.
When every weight is an integer the bound is rounded down.

LSCP / partial (lower bound). Relaxing the covering rows with :math:`u \ge 0`:
LSCP :math:`L(u) = \sum_i u_i + \sum_j \min(0, c_j - (A^T u)_j)`; partial
:math:`L(u) = \sum_j \min(0, c_j - (A^T u)_j) + \min\{u^T y : y \in [0,1]^m, w^T y \ge T\}` (a fractional
knapsack). Budget and site-limit rows are dropped, which only lowers the minimum. With integer costs the
bound is rounded up.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> a = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.MCLP, a, np.array([4.0, 1.0, 3.0]), np.ones(2), np.zeros(2, bool),
...                     np.zeros(2, bool), np.ones(2, bool), max_sites=1, total_weight=8.0)
>>> r = lagrangian(p, iterations=200)
>>> r.bound >= 5.0, r.best_value
(True, 5.0)
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..interrupt import expired
from ..problem import CoverageProblem, ModelType
from .arrays import CoverArrays
from .greedy import greedy, greedy_cover, greedy_mclp, open_in_order
from .local_search import local_search

__all__ = ["LagrangianResult", "lagrangian", "knapsack_upper_bound"]


@dataclass(frozen=True)
class LagrangianResult:
    """bound : best valid bound (upper for MCLP, lower otherwise); best_plan / best_value : best repaired plan."""

    bound: float
    best_plan: np.ndarray | None
    best_value: float | None
    iterations: int
    seconds: float
    multipliers: np.ndarray
    history: list = field(default_factory=list)


def _top_sum(values: np.ndarray, limit: float) -> tuple[float, np.ndarray]:
    """Sum of the ``limit`` largest positive values and their indicator."""
    pos = np.flatnonzero(values > 0)
    if not np.isfinite(limit) or pos.size <= limit:
        chosen = pos
    else:
        k = int(limit)
        if k <= 0:
            return 0.0, np.zeros(values.size, bool)
        chosen = pos[np.argpartition(-values[pos], k - 1)[:k]]
    ind = np.zeros(values.size, bool)
    ind[chosen] = True
    return float(values[chosen].sum()), ind


def knapsack_upper_bound(v: np.ndarray, cost: np.ndarray, counts: np.ndarray, budget: float | None,
                         slots: float | None, *, steps: int = 30) -> tuple[float, np.ndarray]:
    r"""Upper bound on a 0/1 knapsack with a budget and a slot limit, and a maximiser of its relaxation.

    The knapsack is :math:`\max\{v^T x : c^T x \le B, \ell^T x \le P, x \in \{0,1\}^n\}`; the maximiser is
    the (integral) one of the relaxed problem at the best multiplier, for subgradients.

    Notes
    -----
    .. math::

        f(\lambda) = \lambda B + \sum_{j: \ell_j = 0} (v_j - \lambda c_j)^+
        + \mathrm{top}_P\{(v_j - \lambda c_j)^+ : \ell_j = 1\}

    is convex in :math:`\lambda` and every value is a valid bound (weak duality); it is minimised by bisection
    on the slope :math:`B - c^T x(\lambda)` (``steps`` evaluations of ``O(n)`` each). Without a budget the
    bound is the exact top-``P`` sum.
    """
    slots = np.inf if slots is None else float(slots)

    def f(lam: float) -> tuple[float, np.ndarray]:
        r = v - lam * cost
        free_val = r[~counts]
        ind = np.zeros(v.size, bool)
        ind[np.flatnonzero(~counts)[free_val > 0]] = True
        top, ind_c = _top_sum(r[counts], slots)
        ind[np.flatnonzero(counts)[ind_c]] = True
        b = 0.0 if budget is None else lam * budget
        return b + float(free_val[free_val > 0].sum()) + top, ind

    if budget is None:
        return f(0.0)
    best_val, best_ind = f(0.0)
    if float(cost[best_ind].sum()) <= budget:
        return best_val, best_ind
    pos = cost > 0
    hi = float(np.max(v[pos] / cost[pos])) if pos.any() else 0.0
    lo = 0.0
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        val, ind = f(mid)
        if val < best_val:
            best_val, best_ind = val, ind
        if float(cost[ind].sum()) > budget:
            lo = mid
        else:
            hi = mid
    val, ind = f(hi)
    if val < best_val:
        best_val, best_ind = val, ind
    return best_val, best_ind


def lagrangian(problem: CoverageProblem, *, iterations: int = 300, time_limit_s: float | None = None,
               incumbent: np.ndarray | None = None, repairs: int = 4, arrays: CoverArrays | None = None,
               multipliers: np.ndarray | None = None, seed: int = 0) -> LagrangianResult:
    r"""Subgradient optimisation of the Lagrangian dual; returns the best bound and the best repaired plan.

    Parameters
    ----------
    problem : CoverageProblem (MCLP, LSCP or partial)
    iterations : subgradient steps
    time_limit_s : wall-clock limit (the first step runs whatever the limit, so a bound always exists)
    incumbent : a feasible plan (its value drives the Polyak step); a greedy plan is used when None
    repairs : at most this many repairs of the relaxed solution into a feasible plan (greedy + local search),
        at iterations 30, 100, 250, 600, 1500, 4000, 10000
    arrays : prebuilt :class:`CoverArrays`
    multipliers : starting ``u`` (e.g. from an earlier run); a default start otherwise
    seed : passed to the repair heuristics

    Notes
    -----
    Step :math:`u \leftarrow \Pi(u \mp \theta\,(L(u) - z^*) g / \lVert g \rVert^2)` with the incumbent value
    :math:`z^*`; :math:`\theta` starts at 2 and halves after 20 steps without a better bound; :math:`\Pi`
    projects on :math:`[0, w]` (MCLP; multipliers above ``w_i`` never help) or :math:`u \ge 0`.
    Each step costs two sparse matvecs ``O(nnz)`` plus ``O(n)`` (LSCP) or ``O(n * steps)`` (MCLP with a
    budget). The bound is valid at every step, whatever the convergence.
    """
    arr = arrays if arrays is not None else CoverArrays.of(problem)
    t0 = time.perf_counter()
    deadline = None if time_limit_s is None else t0 + time_limit_s
    p = problem
    maximise = p.model == ModelType.MCLP
    w = np.asarray(p.demand_weight, dtype=np.float64)
    cost = np.asarray(p.site_cost, dtype=np.float64)
    open_ = ~p.fixed_closed
    fixed = p.fixed_open & open_
    integral_w = bool(np.all(w == np.round(w))) and float(p.base_covered_weight).is_integer()
    integral_c = bool(np.all(cost == np.round(cost)))
    best_plan = None if incumbent is None else np.asarray(incumbent, dtype=bool)
    if best_plan is None:
        best_plan = greedy(p, arrays=arr, seed=seed)
    best_value = None if best_plan is None else p.value_of(best_plan)

    if p.model == ModelType.LSCP:
        w_row = (arr.counts(open_) > 0).astype(np.float64)
    else:
        w_row = w
    # the partial-covering weight still to cover beyond the rows presolve removed (unused by the other models)
    target = p.target_weight - p.base_covered_weight if p.model == ModelType.PARTIAL else 0.0
    # free-site data for the MCLP knapsack (fixed-open sites are taken, their cost leaves the budget)
    free = open_ & ~fixed
    budget = None if p.budget is None else float(p.budget - cost[fixed].sum())
    slots = None if p.max_sites is None else float(p.max_sites - np.count_nonzero(fixed & p.counts_toward_limit))

    # initial multipliers
    if multipliers is not None:
        u = np.asarray(multipliers, dtype=np.float64).copy()
    elif maximise:
        u = 0.5 * w
    else:
        # price per unit of covered weight of the cheapest site covering the row, times the row's weight
        col_weight = np.maximum(arr.site_weight(w_row), 1e-12)
        ratio = np.where(open_, cost / col_weight, np.inf)
        per_row = np.full(p.n_demand, np.inf)
        np.minimum.at(per_row, arr.col_rows, np.repeat(ratio, np.diff(arr.col_ptr)))
        u = np.where(np.isfinite(per_row), per_row, 0.0) * w_row
    bound = np.inf if maximise else -np.inf
    cap = float(p.base_covered_weight + w[arr.counts(open_) > 0].sum()) if maximise else np.inf
    theta, stall = 2.0, 0
    history = []
    # repairs on a geometric schedule (the relaxed x gets more useful as u converges)
    repair_at = set(sorted(k for k in (30, 100, 250, 600, 1500, 4000, 10000) if k < iterations)[:max(repairs, 0)])
    steps = 0
    for it in range(iterations):
        # the first step always runs: it costs O(nnz) and is what turns a time-limited call into a bound
        if it > 0 and expired(deadline):
            break
        steps = it + 1                  # a step begun (the stop above comes before one)
        v = arr.site_weight(u)
        if maximise:
            knap, xs = knapsack_upper_bound(v[free], cost[free], p.counts_toward_limit[free], budget, slots)
            x = fixed.copy()
            x[np.flatnonzero(free)[xs]] = True
            value = float(p.base_covered_weight + np.maximum(w - u, 0.0).sum() + knap + v[fixed].sum())
            raw = value
            value = min(value, cap)  # covering every coverable row is a bound too
            if integral_w:
                value = float(np.floor(value + 1e-6))
            g = np.asarray(arr.csr @ x.astype(np.float32), dtype=np.float64) - (u < w)
            improved = value < bound - 1e-9
            bound = min(bound, value)
        else:
            red = cost - v
            x = open_ & ((red < 0) | fixed)
            value = float(np.minimum(red[open_ & ~fixed], 0.0).sum() + cost[fixed].sum() - v[fixed].sum())
            if p.model == ModelType.LSCP:
                y = w_row
                value += float(u.sum())
            else:
                y, yval = _fractional_cover(u, w, target)
                value += yval
            raw = value
            if integral_c:
                value = float(np.ceil(value - 1e-6))
            g = y - np.asarray(arr.csr @ x.astype(np.float32), dtype=np.float64)
            improved = value > bound + 1e-9
            bound = max(bound, value)
        history.append(value)
        if not maximise and value == np.inf:  # the coverage target cannot be reached at all
            break
        if improved:
            stall = 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta / 2, 0
        if it in repair_at:
            plan = _repair(p, x, v, arr, seed)
            if plan is not None:
                val = p.value_of(plan)
                if best_value is None or (val > best_value if maximise else val < best_value):
                    best_plan, best_value = plan, val
        if best_value is not None and (bound - best_value if maximise else best_value - bound) <= 1e-9 * max(
                1.0, abs(bound)):
            break
        # projected direction: components that would leave the box [0, w] (MCLP) / u >= 0 do not count
        if maximise:
            g[((u <= 0) & (g > 0)) | ((u >= w) & (g < 0))] = 0.0
        else:
            g[(u <= 0) & (g < 0)] = 0.0
        norm = float(np.multiply(g, g).sum())  # not BLAS: a threaded dot on a busy machine costs milliseconds
        if norm == 0 or theta < 1e-6:
            break
        ref = best_value if best_value is not None else (0.0 if maximise else 2 * abs(raw) + 1.0)
        step = theta * max(abs(raw - ref), 1e-4 * max(1.0, abs(raw))) / norm
        if maximise:
            u = np.clip(u - step * g, 0.0, w)
        else:
            u = np.maximum(u + step * g, 0.0)
    return LagrangianResult(float(bound), best_plan, best_value, steps, time.perf_counter() - t0, u, history)


def _fractional_cover(u: np.ndarray, w: np.ndarray, target: float) -> tuple[np.ndarray, float]:
    """``min u^T y  s.t.  w^T y >= target, 0 <= y <= 1``: rows by ``u_i / w_i`` ascending, last one fractional."""
    y = np.zeros(u.size)
    if target <= 0:
        return y, 0.0
    pos = w > 0
    idx = np.flatnonzero(pos)
    order = idx[np.argsort(u[idx] / w[idx], kind="stable")]
    cum = np.cumsum(w[order])
    k = int(np.searchsorted(cum, target))
    if k >= order.size:  # target unreachable even with every row: the relaxation is infeasible
        y[order] = 1.0
        return y, np.inf
    y[order[:k]] = 1.0
    prev = cum[k - 1] if k > 0 else 0.0
    y[order[k]] = (target - prev) / w[order[k]]
    return y, float(np.multiply(u, y).sum())


def _repair(p: CoverageProblem, x: np.ndarray, v: np.ndarray, arr: CoverArrays, seed: int) -> np.ndarray | None:
    """Turn a relaxed site choice into a feasible plan, then improve it by local search."""
    if p.model == ModelType.MCLP:
        cand = np.flatnonzero(x & ~p.fixed_closed)
        start = open_in_order(p, cand[np.argsort(-v[cand], kind="stable")])
        plan = greedy_mclp(p, start=start, arrays=arr, seed=seed)
    else:
        cover = greedy_cover(p, start=x & ~p.fixed_closed, arrays=arr, seed=seed)
        if cover is None:
            return None
        plan = cover
    return local_search(p, plan, arrays=arr, seed=seed)

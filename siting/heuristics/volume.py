r"""MCLP upper bounds that converge to the LP value: the volume algorithm, and reduced-cost fixing with them.

The Lagrangian of :mod:`siting.heuristics.lagrangian` relaxes the coverage rows :math:`y_i \le (Ax)_i` with
:math:`u \in [0, w]` and bounds the knapsack over sites through a price :math:`\lambda \ge 0` on the budget:

.. math::

    L(u, \lambda) = W_0 + \sum_i (w_i - u_i)^+ + \lambda B + \sum_{j \in F_0} r_j^+ + \mathrm{top}_P\{r_j^+ : j \in F_1\}
    + \sum_{j \in O} v_j, \qquad v = A^T u,\ r = v - \lambda c,

(``F_0`` / ``F_1``: free sites that do not / do count toward the site limit ``P``; ``O``: fixed-open sites, whose
cost left ``B``). Every ``(u, lambda)`` gives a valid upper bound; :math:`\min_u \min_\lambda L` is the LP bound.

**Volume algorithm** (Barahona & Anbil 2000). Plain subgradient steps zig-zag near the optimum; the volume
algorithm steps along the violation of an exponentially averaged primal point
:math:`(\bar x, \bar y) \leftarrow \alpha (x_t, y_t) + (1 - \alpha)(\bar x, \bar y)`, which converges towards an LP
solution, from the best multipliers so far (a serious step moves them, a null step only updates the average).
The step is Polyak's, :math:`s = f (L(\bar u) - z^*) / \lVert \bar g \rVert^2` with the incumbent value ``z*``;
``f`` grows after improving steps whose subgradient agrees with the direction and shrinks after a run of
non-improving ones. :math:`\lambda` is re-optimised at every step (warm-started bisection on the slope
:math:`B - c^T x(\lambda)`, stopped when convexity proves it within a relative ``1e-7`` of its minimum).

**Reduced-cost fixing** (:func:`fixable_mclp`). For fixed ``(u, lambda)`` the same relaxation with a site
forced open or closed is a bound on every plan with that site open or closed. Forcing a site that the relaxed
solution leaves out costs :math:`t_{in} - r_j` (``t_in``: the smallest chosen ``r`` of a full top-``P``, else 0;
``-r_j`` for sites outside the limit); forcing a chosen site out costs :math:`r_j - t_{out}` (``t_out``: the
best left-out positive ``r`` of a full top-``P``, else 0). When the bound after the change is below the incumbent
value, no plan as good as the incumbent — in particular no optimal plan — has that site in the other state.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> a = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.MCLP, a, np.array([5.0, 1.0, 1.0, 4.0]), np.ones(3), np.zeros(3, bool),
...                     np.zeros(3, bool), np.ones(3, bool), max_sites=1, total_weight=11.0)
>>> d = volume_mclp(p, iterations=300)
>>> d.bound >= 6.0, d.value
(True, 6.0)
>>> closed, opened = fixable_mclp(p, p.demand_weight, 0.0, 6.0)   # u = w: L = 6, the LP bound
>>> closed.tolist(), opened.tolist()
([False, True, True], [True, False, False])
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..interrupt import expired
from ..problem import CoverageProblem, ModelType
from .arrays import CoverArrays, expand_segments
from .greedy import greedy_mclp, open_in_order
from .knapsack import KnapsackDual, at_price, knapsack_dual, rounding_margin
from .local_search import local_search

__all__ = ["MclpDual", "volume_mclp", "fixable_mclp", "round_primal", "knapsack_dual", "KnapsackDual"]

#: non-improving steps in a row before the step factor shrinks (Barahona & Anbil use 20)
RED_STEPS = 20
#: the search stops when the step factor falls below this (the bound no longer moves)
MIN_FACTOR = 1e-5
#: plain subgradient steps (Polyak, factor 2 halving after RED_STEPS without progress) before the volume steps
WARMUP_STEPS = 150
#: the warm-up also ends when its factor falls below this
WARMUP_MIN_THETA = 0.25
#: steps after which the averaged primal is rounded into a plan (when ``repairs``): it approaches an LP solution
REPAIR_AT = frozenset({300, 600, 1000, 1500, 2500, 4000, 7000, 12000})
#: the search stops when STALL_WINDOW volume steps improved the bound by less than STALL_TOL (relative)
STALL_WINDOW = 300
STALL_TOL = 2e-6
#: the first step factor (Barahona & Anbil start at 0.1)
START_FACTOR = 0.1
#: the largest weight of the newest subproblem solution in the primal average
ALPHA_MAX = 0.1


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """``a . b`` without BLAS.

    A threaded OpenBLAS dot on a busy machine costs milliseconds per call (3.9x on the whole search at load 5,
    measured); an element-wise product and a sum do not.
    """
    return float(np.multiply(a, b).sum())


@dataclass(frozen=True)
class MclpDual:
    r"""What :func:`volume_mclp` found.

    bound : best valid upper bound (capped by the coverable weight; rounded down for integer weights)
    raw_bound : :math:`L(u, \lambda)` at the best multipliers, unrounded (for reduced-cost fixing)
    multipliers, knapsack_price : the best ``u`` and ``lambda``
    primal : (n_sites,) the averaged site vector :math:`\bar x` (an approximate LP solution in ``[0, 1]``)
    plan, value : best plan found (the incumbent, or a repair of :math:`\bar x`) and its covered weight
    iterations, seconds, history : work done, and the bound after each step
    """

    bound: float
    raw_bound: float
    multipliers: np.ndarray
    knapsack_price: float
    primal: np.ndarray
    plan: np.ndarray | None
    value: float | None
    iterations: int
    seconds: float
    history: list[float]


@dataclass(frozen=True)
class _Parts:
    """The problem's data for the relaxation: free sites, fixed-open sites, the budget and slots they leave."""

    w: np.ndarray
    cost: np.ndarray
    free: np.ndarray        # indices of free sites
    fixed: np.ndarray       # bool mask of fixed-open sites
    counts: np.ndarray      # (n_free,) bool
    budget: float | None
    slots: float
    cap: float
    integral: bool
    tcsr32: sp.csr_matrix   # A^T with float32 data: the search's matvecs (the final bound is recomputed in float64)

    @classmethod
    def of(cls, p: CoverageProblem, arr: CoverArrays) -> _Parts:
        w = np.asarray(p.demand_weight, dtype=np.float64)
        cost = np.asarray(p.site_cost, dtype=np.float64)
        usable = ~p.fixed_closed
        fixed = p.fixed_open & usable
        free = np.flatnonzero(usable & ~fixed)
        budget = None if p.budget is None else float(p.budget - cost[fixed].sum())
        slots = np.inf if p.max_sites is None else float(p.max_sites - np.count_nonzero(fixed & p.counts_toward_limit))
        cap = float(p.base_covered_weight + w[arr.counts(usable) > 0].sum())
        integral = bool(np.all(w == np.round(w))) and float(p.base_covered_weight).is_integer()
        tcsr32 = sp.csr_matrix((np.ones(arr.tcsr.nnz, np.float32), arr.tcsr.indices, arr.tcsr.indptr),
                               shape=arr.tcsr.shape)
        return cls(w, cost, free, fixed, p.counts_toward_limit[free], budget, slots, cap, integral, tcsr32)

    def evaluate(self, p: CoverageProblem, arr: CoverArrays, u: np.ndarray, price: float, *, exact: bool = True
                 ) -> tuple[float, np.ndarray, KnapsackDual, np.ndarray]:
        """``L(u)`` (knapsack price re-optimised from ``price``), the site vector x(u), the knapsack, and v.

        ``exact=False`` sums ``A^T u`` in float32 (1.5x faster at 6 M nonzeros, measured): a guide for the search,
        not a bound.
        """
        if exact:
            v = arr.site_weight(u)
        else:
            v = np.asarray(self.tcsr32 @ u.astype(np.float32), dtype=np.float64)
        knap = knapsack_dual(v[self.free], self.cost[self.free], self.counts, self.budget, self.slots, price=price)
        x = self.fixed.copy()
        x[self.free[knap.chosen]] = True
        value = float(p.base_covered_weight + np.maximum(self.w - u, 0.0).sum() + knap.value + v[self.fixed].sum())
        return value, x, knap, v

    def rounded(self, value: float) -> float:
        value = min(value, self.cap)
        return float(np.floor(value + rounding_margin(value))) if self.integral else value


def volume_mclp(problem: CoverageProblem, *, arrays: CoverArrays | None = None, iterations: int = 1_000,
                time_limit_s: float | None = None, incumbent: np.ndarray | None = None,
                multipliers: np.ndarray | None = None, repairs: bool = False, warmup: int = WARMUP_STEPS,
                seed: int = 0) -> MclpDual:
    r"""The volume algorithm on the MCLP Lagrangian dual: a bound near the LP value and an averaged primal.

    Parameters
    ----------
    problem : CoverageProblem (MCLP)
    arrays : prebuilt :class:`CoverArrays`
    iterations : at most this many steps (each two sparse matvecs ``O(nnz)`` plus the knapsack ``O(n_sites)``
        per price evaluation)
    time_limit_s : wall-clock limit (the first step always runs, so a bound always exists)
    incumbent : a feasible plan; its value ``z*`` sets the step length (a greedy plan when None)
    multipliers : starting ``u`` (``w / 2`` when None)
    repairs : at the steps of ``REPAIR_AT`` and at the end, round the averaged primal into a plan (sites by
        decreasing :math:`\bar x_j`, then greedy and local search) and keep it when it is better
    warmup : at most this many plain subgradient steps first (Polyak steps from the current point)
    seed : passed to the repair heuristics

    Notes
    -----
    With the projected direction :math:`\bar g = \Pi(A\bar x - \bar y)` (components leaving the box
    ``[0, w]`` zeroed), the trial point is :math:`u_t = \mathrm{clip}(\bar u - s \bar g, 0, w)`; the subproblem
    at ``u_t`` gives :math:`(x_t, y_t)` with :math:`y_t = [u_t < w]`, and
    :math:`\alpha = \mathrm{argmin}\, \lVert \alpha g_t + (1 - \alpha) \bar g \rVert` clipped to
    ``[ALPHA_MAX / 10, ALPHA_MAX]``. The search stops on time, iterations, a vanishing factor or a closed gap.
    """
    if problem.model is not ModelType.MCLP:
        raise ValueError("volume_mclp solves the MCLP dual only")
    arr = arrays if arrays is not None else CoverArrays.of(problem)
    t0 = time.perf_counter()
    p = problem
    parts = _Parts.of(p, arr)
    w = parts.w
    plan = np.asarray(incumbent, dtype=bool) if incumbent is not None else greedy_mclp(p, arrays=arr, seed=seed)
    value = p.value_of(plan)
    u_best = np.clip(np.asarray(multipliers, dtype=np.float64), 0.0, w) if multipliers is not None else 0.5 * w
    raw_best, x, knap, _ = parts.evaluate(p, arr, u_best, 0.0)
    price_best = knap.price
    bound = parts.rounded(raw_best)
    history = [bound]
    x_bar = x.astype(np.float64)
    gb = _cover_counts(arr, x) - (u_best < w)     # A x_bar - y_bar, the averaged subgradient
    factor, reds = START_FACTOR, 0
    # warm-up: plain projected subgradient steps from the current point (they move fast while far from the optimum)
    u_cur, raw_cur, g_cur, price = u_best, raw_best, gb, price_best
    theta, stall = 2.0, 0
    warm = warmup > 0
    it = 1
    repair_s = 0.0   # what the last repair took: the final one must fit in the time limit too
    while it < iterations and bound - value > 1e-9 * max(1.0, abs(bound)) and factor >= MIN_FACTOR:
        if expired(None if time_limit_s is None else t0 + time_limit_s - (repair_s if repairs else 0.0)):
            break
        base_u, base_raw = (u_cur, raw_cur) if warm else (u_best, raw_best)
        g_bar = (g_cur if warm else gb).copy()
        g_bar[((base_u <= 0) & (g_bar > 0)) | ((base_u >= w) & (g_bar < 0))] = 0.0
        norm = _dot(g_bar, g_bar)
        if norm <= 0:
            break
        step = (theta if warm else factor) * max(base_raw - value, 1e-6 * max(1.0, abs(base_raw))) / norm
        u = np.clip(base_u - step * g_bar, 0.0, w)
        raw, x, knap, _ = parts.evaluate(p, arr, u, price, exact=False)
        price = knap.price
        g = _cover_counts(arr, x) - (u < w)
        diff = g - g_bar
        dd = _dot(diff, diff)
        alpha = ALPHA_MAX if dd <= 0 else min(max(-_dot(g_bar, diff) / dd, ALPHA_MAX / 10), ALPHA_MAX)
        x_bar = alpha * x + (1 - alpha) * x_bar
        gb = alpha * g + (1 - alpha) * gb
        improved = raw < raw_best - 1e-12 * max(1.0, abs(raw_best))
        if improved:
            if not warm and _dot(g, g_bar) < 0:
                # serious step whose new subgradient still points the same way: the step was short
                factor = min(2.0, 1.1 * factor)
            u_best, raw_best, price_best, reds = u, raw, knap.price, 0
            bound = min(bound, parts.rounded(raw))
        if warm:
            u_cur, raw_cur, g_cur = u, raw, g
            stall = 0 if improved else stall + 1
            if stall >= RED_STEPS:
                theta, stall = theta / 2, 0
            warm = it < warmup and theta >= WARMUP_MIN_THETA
        elif not improved:
            reds += 1
            if reds >= RED_STEPS:
                factor, reds = 0.66 * factor, 0
        history.append(bound)
        it += 1
        if repairs and it in REPAIR_AT:
            t1 = time.perf_counter()
            # an intermediate repair's local search gets a tenth of the limit: at 1M x 50k a full one costs ~10 s
            plan, value = _keep_better(p, arr, plan, value, x_bar, seed,
                                       None if time_limit_s is None else 0.1 * time_limit_s)
            repair_s = time.perf_counter() - t1
        if not warm and it % STALL_WINDOW == 0:
            # the bound has converged when a whole window moved it by less than STALL_TOL (the LP value is reached)
            if history[-STALL_WINDOW] - bound <= STALL_TOL * max(1.0, abs(bound)):
                break
    if repairs:
        left = None if time_limit_s is None else max(0.0, time_limit_s - (time.perf_counter() - t0))
        plan, value = _keep_better(p, arr, plan, value, x_bar, seed, left)
    # the search compared float32 sums; the bound reported is L at the best multipliers in float64
    raw_best, _, knap, _ = parts.evaluate(p, arr, u_best, price_best)
    bound = parts.rounded(raw_best)
    return MclpDual(bound, raw_best, u_best, knap.price, x_bar, plan, value, it, time.perf_counter() - t0, history)


def _cover_counts(arr: CoverArrays, x: np.ndarray) -> np.ndarray:
    """``A x`` (float64) from the columns of the open sites: cheaper than a matvec when few sites are open."""
    cols = np.flatnonzero(x)
    rows = arr.col_rows[expand_segments(arr.col_ptr[cols], arr.col_ptr[cols + 1] - arr.col_ptr[cols])]
    return np.bincount(rows, minlength=arr.n_demand).astype(np.float64)


def round_primal(problem: CoverageProblem, primal: np.ndarray, arrays: CoverArrays, seed: int = 0) -> np.ndarray:
    """A plan from an averaged site vector: sites by decreasing value while budget and slots allow, then greedy."""
    p = problem
    cand = np.flatnonzero(~p.fixed_closed & (primal > 1e-3))
    cand = cand[np.argsort(-primal[cand], kind="stable")]
    start = open_in_order(p, cand)
    return greedy_mclp(p, start=start, arrays=arrays, seed=seed)


def _keep_better(p: CoverageProblem, arr: CoverArrays, plan: np.ndarray, value: float, primal: np.ndarray,
                 seed: int, time_limit_s: float | None) -> tuple[np.ndarray, float]:
    cand = local_search(p, round_primal(p, primal, arr, seed), arrays=arr, seed=seed, time_limit_s=time_limit_s)
    cand_value = p.value_of(cand)
    return (cand, cand_value) if cand_value > value + 1e-9 else (plan, value)


def fixable_mclp(problem: CoverageProblem, multipliers: np.ndarray, price: float, value: float, *,
                 arrays: CoverArrays | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Sites whose state no plan covering at least ``value`` can change: (fixed closed, fixed open) masks.

    Parameters
    ----------
    problem : CoverageProblem (MCLP)
    multipliers, price : any ``u`` in ``[0, w]`` and ``lambda >= 0`` (the tighter the bound, the more is fixed)
    value : the covered weight of a feasible plan (the incumbent)

    Notes
    -----
    A site is fixed when the bound with its state flipped (module notes) is below ``value`` by more than a
    relative ``1e-9`` (with integer weights: when even its rounding down is below), so every plan worth at least
    ``value`` — every optimal plan — keeps it; the incumbent stays feasible for the restricted problem.
    """
    arr = arrays if arrays is not None else CoverArrays.of(problem)
    p = problem
    parts = _Parts.of(p, arr)
    u = np.clip(np.asarray(multipliers, dtype=np.float64), 0.0, parts.w)
    v = arr.site_weight(u)
    knap = at_price(v[parts.free], parts.cost[parts.free], parts.counts, parts.budget, parts.slots, price)
    raw = float(p.base_covered_weight + np.maximum(parts.w - u, 0.0).sum() + knap.value + v[parts.fixed].sum())
    r = v[parts.free] - knap.price * parts.cost[parts.free]   # knap.price is 0 without a budget
    chosen = knap.chosen
    t_in = t_out = 0.0
    if np.isfinite(parts.slots):
        lim_pos = np.sort(r[parts.counts & (r > 0)])[::-1]
        k = max(int(parts.slots), 0)
        if lim_pos.size >= k and k > 0:
            t_in = float(lim_pos[k - 1])
        if lim_pos.size > k:
            t_out = float(lim_pos[k])
    open_pen = np.where(parts.counts, t_in - r, -r)          # forcing a left-out site in
    if np.isfinite(parts.slots) and int(parts.slots) <= 0:
        open_pen = np.where(parts.counts, np.inf, open_pen)  # no slot left: a counting site cannot open
    close_pen = np.where(parts.counts, r - t_out, r)         # forcing a chosen site out
    tol = 1e-9 * max(1.0, abs(value))

    def below(bound: np.ndarray) -> np.ndarray:
        if parts.integral:
            return np.floor(bound + rounding_margin(bound)) < value - 0.5
        return bound < value - tol

    closed = np.zeros(p.n_sites, bool)
    opened = np.zeros(p.n_sites, bool)
    closed[parts.free[~chosen & below(raw - np.maximum(open_pen, 0.0))]] = True
    opened[parts.free[chosen & below(raw - np.maximum(close_pen, 0.0))]] = True
    return closed, opened

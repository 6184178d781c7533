r"""Lagrangian bound and reduced-cost fixing for the p-median, by subgradient steps over the sparse pairs.

Relaxing the assignment rows :math:`\sum_j x_{ij} = 1` of the p-median with free multipliers :math:`u_i`
(pairs :math:`P`, costs :math:`c_{ij} = w_i t_{ij}`; a missing pair is unreachable and has no ``x``):

.. math::

    L(u) = \sum_i u_i + \min_{y} \sum_j \rho_j(u)\, y_j, \qquad
    \rho_j(u) = \sum_{i:(i,j) \in P} \min(0,\ c_{ij} - u_i),

with ``y`` ranging over the site rules: fixed-open sites open, excluded ones closed, exactly ``m`` of the free
(counted) sites open, ``m = p -`` the fixed-open counted ones. The inner minimum opens the ``m`` smallest
``rho``. Every ``u`` gives a valid lower bound (Beasley 1993, "Lagrangean heuristics for location problems");
the subgradient :math:`g_i = 1 - \sum_{j\ \text{open}} [c_{ij} < u_i]` with Polyak steps only makes it tight
(for OR-Library pmed it reaches the LP value in a few hundred steps).

**Fixing.** With ``rho`` sorted over the free sites and :math:`\rho_{(m)}` the ``m``-th smallest, a plan that
opens a free site ``j`` outside the subproblem's choice costs at least :math:`L + \rho_j - \rho_{(m)}`; one that
closes a chosen ``j`` at least :math:`L - \rho_j + \rho_{(m+1)}`. When that exceeds the incumbent (by more
than ``UB - 1`` with integral data), no better plan changes ``j``'s state.

Only the pairs with :math:`c_{ij} < u_i` enter ``rho``: with the pairs sorted by (demand, cost) they are a
window at the start of each demand's run, so a step costs the pairs inside the windows, not all pairs. With
numba the windows are scanned by compiled loops (:mod:`siting.heuristics._pmedian_kernels`, about 4x faster
on pmed39); without it one ``searchsorted`` per step finds them.

Example
-------
>>> import numpy as np
>>> d = np.array([0, 0, 1, 1, 2, 2]); s = np.array([0, 1, 0, 1, 0, 1]); t = np.array([1., 5., 4., 1., 6., 2.])
>>> r = pmedian_lagrangian(d, s, t, np.ones(3), np.zeros(2, bool), np.ones(2, bool), 1, upper_bound=11.0,
...                        heuristic_every=1)
>>> r.bound, r.best_value     # site 1 alone: 5 + 1 + 2, proven by the bound
(8.0, 8.0)
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..interrupt import expired

__all__ = ["PMedianLagrangian", "PairWindows", "subgradient", "pmedian_lagrangian", "lagrangian_fixing"]


@dataclass(frozen=True)
class PMedianLagrangian:
    """The Lagrangian's outcome.

    bound : best valid lower bound; rho / multipliers : at the best bound; best_plan / best_value : best
    subproblem plan found (true weighted minutes), None / inf when none was evaluated; m : free sites to open.
    """

    bound: float
    rho: np.ndarray
    multipliers: np.ndarray
    best_plan: np.ndarray | None
    best_value: float
    m: int
    iterations: int
    seconds: float


class PairWindows:
    """The pairs sorted by (demand, cost), with exact per-demand windows of the pairs cheaper than a multiplier.

    Each cost gets the integer rank "number of distinct costs strictly below it"; then ``c < u`` exactly
    when ``rank(c) < #distinct costs below u``, so one ``searchsorted`` on integer keys ``demand * K + rank`` gives each
    demand's window of pairs with ``c_ij < u_i`` (no float key, no loop over demand points).
    """

    def __init__(self, d: np.ndarray, s: np.ndarray, cost: np.ndarray, n_demand: int, n_sites: int, *,
                 compile_ok: bool = True) -> None:
        order = np.lexsort((cost, d))
        self.d, self.s, self.cost = d[order], s[order], cost[order]
        self.n_demand, self.n_sites = n_demand, n_sites
        self.sorted_cost = np.unique(self.cost)   # distinct costs: ranks among them decide "<" just as well
        self.stride = np.int64(self.sorted_cost.shape[0] + 1)
        rank = np.searchsorted(self.sorted_cost, self.cost, side="left").astype(np.int64)
        self.key = self.d.astype(np.int64) * self.stride + rank
        self.start = np.searchsorted(self.d, np.arange(n_demand), side="left")
        self.stop = np.searchsorted(self.d, np.arange(n_demand), side="right")
        self.active = np.zeros(n_demand, bool)
        self.active[self.d] = True
        self.compiled = _kernels(compile_ok)
        if self.compiled is not None:
            # the same pairs grouped by site: the relaxation's "sum x" then reads only the open sites' pairs
            by_site = np.argsort(self.s, kind="stable")
            self.site_demand, self.site_cost = self.d[by_site], self.cost[by_site]
            sorted_site = self.s[by_site]
            self.site_start = np.searchsorted(sorted_site, np.arange(n_sites), side="left")
            self.site_stop = np.searchsorted(sorted_site, np.arange(n_sites), side="right")

    def rho(self, u: np.ndarray) -> np.ndarray:
        """(n_sites,) ``rho_j(u)``: the sum of ``cost - u_i`` over the pairs with ``cost < u_i``."""
        if self.compiled is not None:
            return self.compiled.rho_kernel(self.start, self.stop, self.s, self.cost, u, self.n_sites)
        idx = self.below(u)
        return np.bincount(self.s[idx], weights=self.cost[idx] - u[self.d[idx]], minlength=self.n_sites)

    def served(self, u: np.ndarray, open_mask: np.ndarray) -> np.ndarray:
        """(n_demand,) open sites among each demand's pairs with ``cost < u_i`` (the relaxation's ``sum x``)."""
        if self.compiled is not None:
            return self.compiled.served_by_site_kernel(self.site_start, self.site_stop, self.site_demand,
                                                       self.site_cost, u, np.flatnonzero(open_mask))
        idx = self.below(u)
        idx = idx[open_mask[self.s[idx]]]
        return np.bincount(self.d[idx], minlength=self.n_demand).astype(float)

    def below(self, u: np.ndarray) -> np.ndarray:
        """Positions (in the sorted pairs) of every pair with ``cost < u[demand]``."""
        below_u = np.searchsorted(self.sorted_cost, u, side="left").astype(np.int64)
        ends = np.searchsorted(self.key, np.arange(u.shape[0], dtype=np.int64) * self.stride + below_u, side="left")
        counts = ends - self.start
        offsets = np.repeat(self.start - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        return offsets + np.arange(int(counts.sum()))

    def plan_cost(self, open_mask: np.ndarray) -> float:
        """Sum over the active demand of its cheapest open pair (inf when one has no open pair)."""
        if self.compiled is not None:
            return float(self.compiled.plan_cost_kernel(self.start, self.stop, self.s, self.cost, open_mask))
        near = np.full(self.n_demand, np.inf)
        on = open_mask[self.s]
        np.minimum.at(near, self.d[on], self.cost[on])
        return float(near[self.active].sum())

    def assignment_costs(self, open_mask: np.ndarray) -> np.ndarray:
        """(n_demand,) cheapest open pair of each demand (its cheapest pair when none is open; 0 inactive)."""
        near, cheapest = np.full(self.n_demand, np.inf), np.full(self.n_demand, np.inf)
        on = open_mask[self.s]
        np.minimum.at(near, self.d[on], self.cost[on])
        np.minimum.at(cheapest, self.d, self.cost)
        return np.where(self.active, np.where(np.isfinite(near), near, cheapest), 0.0)


def _kernels(compile_ok: bool = True) -> Any:
    """The compiled loops (:mod:`siting.heuristics._pmedian_kernels`), or None without numba.

    Importing numba and loading the kernels takes ~3 s in a fresh process; with ``compile_ok`` False (a short
    time limit) they are used only when numba is already loaded.
    """
    if not compile_ok and "numba" not in sys.modules:
        return None
    try:
        from . import _pmedian_kernels
    except ImportError:   # numba is optional: the numpy windows give the same figures
        return None
    return _pmedian_kernels


def subgradient(pairs: PairWindows, fixed_open: np.ndarray, free: np.ndarray, m: int, *, upper_bound: float,
                multipliers: np.ndarray, integral: bool = False, max_iterations: int = 1500, patience: int = 25,
                min_factor: float = 1e-4, initial_factor: float = 2.0, deadline: float | None = None,
                heuristic_every: int = 10,
                improve: Callable[[np.ndarray], np.ndarray] | None = None) -> PMedianLagrangian:
    """Subgradient optimisation of :math:`L(u)` from ``multipliers`` (see :func:`pmedian_lagrangian`).

    ``improve`` (e.g. a local search) is applied to each subproblem plan that beats the earlier subproblem
    plans (before the local search).
    """
    started = time.perf_counter()
    n_sites = pairs.n_sites
    active = pairs.active
    free_idx = np.flatnonzero(free)
    u = np.where(active, multipliers, 0.0)
    best_bound, best_u = -np.inf, u.copy()
    best_rho: np.ndarray = np.zeros(n_sites)
    best_plan: np.ndarray | None = None
    best_value = best_raw = np.inf
    target = upper_bound
    factor, since = initial_factor, 0
    done = 0
    for done in range(1, max_iterations + 1):
        rho = pairs.rho(u)
        order = free_idx[np.argsort(rho[free_idx], kind="stable")]
        open_mask = fixed_open.copy()
        open_mask[order[:m]] = True
        value = float(u[active].sum() + rho[open_mask].sum())
        if value > best_bound + 1e-12 * max(1.0, abs(value)):
            best_bound, best_u, best_rho, since = value, u.copy(), rho, 0
        else:
            since += 1
            if since >= patience:
                factor, since = factor / 2.0, 0
        if done % heuristic_every == 1 or heuristic_every == 1:
            plan_value = pairs.plan_cost(open_mask)
            if plan_value < best_raw:   # the subproblem's plans improve: the local search starts from each
                best_raw = plan_value
                if plan_value < best_value:
                    best_plan, best_value = open_mask.copy(), plan_value
                if improve is not None:
                    better = improve(open_mask)
                    better_value = pairs.plan_cost(better)
                    if better_value < best_value:
                        best_plan, best_value = better, better_value
                target = min(target, plan_value)
        gap_closed = best_bound > target - 1.0 + 1e-6 if integral else best_bound >= target - 1e-9 * max(1.0, target)
        if gap_closed or factor < min_factor or expired(deadline):
            break
        g = 1.0 - pairs.served(u, open_mask)
        g[~active] = 0.0
        norm = float(g @ g)
        if norm == 0.0:
            break   # u solves the relaxation with a feasible assignment: the bound is the plan's cost
        # no feasible plan known yet: aim a little above the bound instead of at an infinite target
        aim = target if np.isfinite(target) else value + max(1.0, 0.05 * abs(value))
        u = u + factor * max(aim - value, 1e-9 * max(1.0, abs(aim))) / norm * g
    return PMedianLagrangian(best_bound, best_rho, best_u, best_plan, best_value, m, done,
                             time.perf_counter() - started)


def pmedian_lagrangian(d: np.ndarray, s: np.ndarray, t: np.ndarray, weight: np.ndarray, fixed_open: np.ndarray,
                       free: np.ndarray, m: int, *, upper_bound: float, start: np.ndarray | None = None,
                       integral: bool = False, max_iterations: int = 1500, patience: int = 25,
                       deadline: float | None = None, heuristic_every: int = 10,
                       pairs: PairWindows | None = None,
                       improve: Callable[[np.ndarray], np.ndarray] | None = None) -> PMedianLagrangian:
    """Subgradient optimisation of :math:`L(u)` (module notes).

    Parameters
    ----------
    d, s, t : (n_pairs,) demand index, site index and minutes of the reachable pairs (positive weight only)
    weight : (n_demand,) demand weight
    fixed_open : (n_sites,) bool, sites open in every plan
    free : (n_sites,) bool, sites the plan chooses (exactly ``m`` of them open)
    m : int
    upper_bound : float
        An incumbent's objective: the Polyak target, and the stop once the bound proves it.
    start : (n_sites,) bool, optional
        The incumbent's open sites: the multipliers start at its assignment costs.
    integral : bool
        Every plan's objective is an integer: stop at a bound above ``upper_bound - 1``.
    max_iterations, patience : int
        Step budget; the step factor halves after ``patience`` steps without a better bound.
    deadline : float, optional
        ``time.perf_counter()`` value to stop at.
    heuristic_every : int
        Every so many steps the subproblem's plan is evaluated (true cost) as a candidate incumbent.
    pairs : PairWindows, optional
        The sorted pairs when the caller already built them (``d, s, t, weight`` are then not read).
    improve : callable, optional
        Plan -> better plan (a local search), applied to each subproblem plan that beats the earlier ones.
    """
    if pairs is None:
        pairs = PairWindows(d, s, weight[d] * t, weight.shape[0], free.shape[0])
    u0 = pairs.assignment_costs(start if start is not None else np.zeros(free.shape[0], bool))
    return subgradient(pairs, fixed_open, free, m, upper_bound=upper_bound, multipliers=u0, integral=integral,
                       max_iterations=max_iterations, patience=patience, deadline=deadline,
                       heuristic_every=heuristic_every, improve=improve)


def lagrangian_fixing(result: PMedianLagrangian, free: np.ndarray, incumbent: float,
                      integral: bool) -> tuple[np.ndarray, np.ndarray]:
    """(closed, opened) masks: free sites whose state is the same in every plan better than ``incumbent``.

    See the module notes; with integral data "better" means at most ``incumbent - 1``.
    """
    n_sites = free.shape[0]
    closed, opened = np.zeros(n_sites, bool), np.zeros(n_sites, bool)
    free_idx = np.flatnonzero(free)
    m = result.m
    if free_idx.size == 0 or not np.isfinite(result.bound) or m < 0 or m > free_idx.size:
        return closed, opened
    order = free_idx[np.argsort(result.rho[free_idx], kind="stable")]
    rho = result.rho[order]
    # a plan is kept when its cost can be below this: better than the incumbent (by 1 with integral data)
    limit = (incumbent - 1.0 if integral else incumbent) + 1e-6 * max(1.0, abs(incumbent))
    if m < order.size:
        last_in = rho[m - 1] if m > 0 else -np.inf
        out = order[m:]
        closed[out] = result.bound + result.rho[out] - last_in > limit
    if m > 0:
        first_out = rho[m] if m < order.size else np.inf
        chosen = order[:m]
        opened[chosen] = result.bound - result.rho[chosen] + first_out > limit
    return closed, opened

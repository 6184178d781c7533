"""Capacitated coverage: maximise the population *assigned* to open sites within the walking threshold,
each site serving at most its capacity.

Example
-------
>>> from siting.family.testing import random_instance
>>> r = solve_capacitated(random_instance(6, 4, seed=2, capacity=True), threshold_min=10, budget=8)  # doctest: +SKIP
"""
from __future__ import annotations

import time

import numpy as np

from ..data.instance import Instance
from ..errors import InputError, VerificationError
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ..result import Result
from . import _common as c

__all__ = ["solve_capacitated", "build_capacitated", "site_capacity", "assignment_program", "check_assignment"]


def site_capacity(instance: Instance, capacity=None) -> np.ndarray:
    """Per-site capacity (``inf`` = unlimited): the argument (scalar or array) or ``Sites.capacity`` (NaN = unlimited)."""
    n = instance.n_sites
    if capacity is None:
        cap = instance.sites.capacity if instance.sites.capacity is not None else np.full(n, np.inf)
    else:
        cap = np.broadcast_to(np.asarray(capacity, dtype=float), (n,))
    cap = np.where(np.isnan(cap), np.inf, np.asarray(cap, dtype=float))
    if np.any(cap < 0):
        raise InputError("capacity must be >= 0", column="capacity")
    return cap


def assignment_program(instance: Instance, pairs, *, weight: np.ndarray, cap: np.ndarray, rules: c.SiteRules,
                       sense: Sense, site_cost: np.ndarray, pair_cost: np.ndarray, assign_equal: bool,
                       budget: float | None, max_sites: int | None, name: str) -> LinearProgram:
    """Shared builder: ``y_j`` binary, ``x_ij`` in [0, 1] per pair; rows ``sum_j x_ij (=|<=) 1``,
    ``sum_i w_i x_ij <= cap_j y_j`` (finite capacities) and ``x_ij <= y_j``."""
    d, s = pairs[0], pairs[1]
    n, npairs = instance.n_sites, d.shape[0]
    active, row = np.unique(d, return_inverse=True)
    pair = np.arange(npairs)
    rows = c.Rows(n + npairs)
    rows.add(row, n + pair, np.ones(npairs), active.shape[0], 1.0 if assign_equal else -np.inf, 1.0)
    finite = np.flatnonzero(np.isfinite(cap))
    if finite.size:
        cap_row = np.full(n, -1, dtype=np.int64)
        cap_row[finite] = np.arange(finite.size)
        on = cap_row[s] >= 0
        rows.add(np.concatenate([cap_row[s[on]], np.arange(finite.size)]),
                 np.concatenate([n + pair[on], finite]),
                 np.concatenate([weight[d[on]], -cap[finite]]), finite.size, -np.inf, 0.0)
    rows.add(np.repeat(pair, 2), np.column_stack([n + pair, s]).ravel(), np.tile([1.0, -1.0], npairs),
             npairs, -np.inf, 0.0)
    rows.add_limits(slice(0, n), rules, budget, max_sites)
    lower = np.concatenate([rules.lower, np.zeros(npairs)])
    upper = np.concatenate([rules.upper, np.ones(npairs)])
    integer = np.concatenate([np.ones(n, bool), np.zeros(npairs, bool)])
    return c.lp(sense, np.concatenate([site_cost, pair_cost]), rows, lower, upper, integer, name,
                {"site": (0, n), "assign": (n, n + npairs)})


def check_assignment(instance: Instance, pairs, x_assign: np.ndarray, open_mask: np.ndarray, *, weight: np.ndarray,
                     cap: np.ndarray, model: str, assign_equal: bool) -> tuple[np.ndarray, np.ndarray]:
    """Recompute shares and loads of an assignment from the raw pairs; raise on a broken row.

    Returns ``(share_i, load_j)``.
    """
    d, s = pairs[0], pairs[1]
    xa = np.clip(x_assign, 0.0, 1.0)
    share = np.bincount(d, weights=xa, minlength=instance.n_demand)
    load = np.bincount(s, weights=weight[d] * xa, minlength=instance.n_sites)
    tol = 1e-6
    if np.any(xa[~open_mask[s]] > tol):
        raise VerificationError(f"{model}: demand assigned to a closed site")
    if np.any(share > 1 + tol):
        raise VerificationError(f"{model}: a demand point is assigned more than once")
    if assign_equal and np.any(np.abs(share[np.unique(d)] - 1) > tol):
        raise VerificationError(f"{model}: a demand point is not fully assigned")
    over = load - cap
    if np.any(over > tol * np.maximum(1.0, np.where(np.isfinite(cap), cap, 0.0))):
        raise VerificationError(f"{model}: a site serves more than its capacity")
    return share, load


def largest_share(demand_of_pair: np.ndarray, x_assign: np.ndarray) -> np.ndarray:
    """Per demand point with pairs, the index of its pair with the largest assigned share (its main site)."""
    order = np.lexsort((-x_assign, demand_of_pair))
    first = np.ones(order.shape[0], bool)
    first[1:] = demand_of_pair[order][1:] != demand_of_pair[order][:-1]
    return order[first]


def build_capacitated(instance: Instance, *, threshold_min: float, budget: float | None = None,
                      max_sites: int | None = None, weight_column: str = "population", capacity=None):
    """The capacitated maximal-coverage program (returns ``(program, pairs, weight, cap, rules)``).

    Notes
    -----
    Pairs ``P_r`` = table pairs with ``t_ij <= r``, ``w_i > 0`` and a usable site:

    .. math::

        \\max \\sum_{(i,j)\\in P_r} w_i z_{ij} \\quad\\text{s.t.}\\quad \\sum_j z_{ij} \\le 1,\\quad
        \\sum_i w_i z_{ij} \\le \\mathrm{cap}_j y_j,\\quad z_{ij} \\le y_j,\\quad
        \\sum_j c_j y_j \\le B,\\; \\sum_{j\\in C} y_j \\le p,\\; y \\in \\{0,1\\},\\; z \\in [0,1]

    Split assignment is allowed (``z`` continuous): a demand point may be served partly by several sites.
    """
    rules = c.site_rules(instance)
    weight = c.demand_weight(instance, weight_column)
    cap = site_capacity(instance, capacity)
    tr = instance.travel
    keep = (tr.minutes <= threshold_min) & (weight[tr.demand_index] > 0) & (rules.upper[tr.site_index] > 0)
    d, s = tr.demand_index[keep], tr.site_index[keep]
    order = np.lexsort((s, d))
    pairs = (d[order], s[order], tr.minutes[keep][order])
    program = assignment_program(instance, pairs, weight=weight, cap=cap, rules=rules, sense=Sense.MAXIMIZE,
                                 site_cost=np.zeros(instance.n_sites), pair_cost=weight[pairs[0]],
                                 assign_equal=False, budget=budget, max_sites=max_sites, name="capacitated")
    return program, pairs, weight, cap, rules


def solve_capacitated(instance: Instance, *, threshold_min: float, budget: float | None = None,
                      max_sites: int | None = None, backend: str = "highs", options: SolveOptions = SolveOptions(),
                      weight_column: str = "population", capacity=None) -> Result:
    """Maximise population assigned within ``threshold_min`` with site capacities, under a budget.

    Parameters
    ----------
    instance : Instance
    threshold_min : float
        Walking threshold; only pairs at or below it may be assigned.
    budget, max_sites : optional limits (at least one is usual)
    capacity : scalar or (n_sites,) array, optional
        Overrides ``Sites.capacity``; NaN or absent = unlimited.

    Returns
    -------
    Result
        ``covered_population`` = assigned population (recomputed from the assignment); ``sites`` has
        ``load`` and ``capacity``; ``coverage`` has ``share`` (assigned fraction) and the main site.

    Notes
    -----
    Program: see :func:`build_capacitated`. Existing sites are open at no cost and keep their capacity.
    """
    t0 = time.perf_counter()
    program, pairs, weight, cap, rules = build_capacitated(
        instance, threshold_min=threshold_min, budget=budget, max_sites=max_sites,
        weight_column=weight_column, capacity=capacity)
    c.check_limits(instance, rules, budget, max_sites, "capacitated")
    sol = c.solve_program(program, backend, options)
    total = float(weight.sum())
    if not sol.has_solution:
        return c.no_solution_result("capacitated", sol, total, t0)
    open_mask = c.open_sites(program, sol.x)
    cost = c.check_plan(instance, rules, open_mask, budget=budget, max_sites=max_sites, model="capacitated")
    xa = program.block(sol.x, "assign")
    share, load = check_assignment(instance, pairs, xa, open_mask, weight=weight, cap=cap, model="capacitated",
                                   assign_equal=False)
    covered = float(np.sum(weight * share))
    c.agree("capacitated", "assigned population", sol.objective, covered)
    d, s = pairs[0], pairs[1]
    main = np.full(instance.n_demand, -1)
    pick = largest_share(d, xa)
    main[d[pick]] = np.where(xa[pick] > 1e-9, s[pick], -1)
    site, minutes = c.nearest_open(instance.travel, open_mask)
    mins = np.full(instance.n_demand, np.inf)
    mins[d[pick]] = np.where(xa[pick] > 1e-9, pairs[2][pick], np.inf)
    return c.make_result(
        "capacitated", instance, sol, open_mask, objective=covered, bound=sol.bound, total_cost=cost,
        covered_population=covered, total_population=total, t0=t0,
        sites=c.sites_frame(instance, open_mask, rules, load=load, capacity=cap),
        coverage=c.coverage_frame(instance, weight, main, mins, share > 1e-9, share=share,
                                  nearest_open_minutes=minutes),
        stats={"threshold_min": threshold_min, "n_pairs": int(d.shape[0]),
               "uncapacitated_covered": float(weight[(minutes <= threshold_min)].sum())},
    )

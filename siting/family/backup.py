"""Backup coverage (BACOP, Hogan & ReVelle 1986): maximise the population covered at least twice.

Example
-------
>>> from siting.family.testing import random_instance
>>> r = solve_backup(random_instance(6, 5, seed=3), threshold_min=10, max_sites=3)  # doctest: +SKIP
"""
from __future__ import annotations

import time

import numpy as np

from ..data.instance import Instance
from ..errors import InfeasibleError, InputError
from ..options import SolveOptions
from ..program import Sense
from ..result import Result
from . import _common as c

__all__ = ["solve_backup", "build_backup"]


def build_backup(instance: Instance, *, threshold_min: float, budget: float | None = None,
                 max_sites: int | None = None, single_weight: float = 0.0, cover_all: bool = False,
                 weight_column: str = "population"):
    """The backup-coverage program (returns ``(program, a, active, weight, rules)``).

    Notes
    -----
    ``a_ij = 1`` iff ``t_ij <= r``; ``v_i`` = covered at least once, ``u_i`` = covered at least twice:

    .. math::

        \\max \\; \\theta \\sum_i w_i v_i + (1-\\theta) \\sum_i w_i u_i \\quad\\text{s.t.}\\quad
        v_i + u_i \\le \\sum_j a_{ij} y_j,\\quad u_i \\le v_i,\\quad
        \\sum_j c_j y_j \\le B,\\; \\sum_{j\\in C} y_j \\le p,\\; y, u \\in\\{0,1\\},\\; v \\in [0,1]

    ``theta`` = ``single_weight`` (0: pure backup coverage, BACOP2 with weight 0). ``cover_all=True`` adds
    ``v_i = 1`` for every coverable point (BACOP1). ``u`` is binary (as in Hogan & ReVelle): with a
    continuous ``u`` one covering site would give ``v = u = 1/2``. ``v`` may stay continuous. Existing sites are open and count toward both levels.
    """
    if not 0.0 <= single_weight <= 1.0:
        raise InputError(f"backup: single_weight must be in [0, 1], got {single_weight}")
    rules = c.site_rules(instance)
    weight = c.demand_weight(instance, weight_column)
    a = c.within_usable(instance, threshold_min, rules)
    reach = np.diff(a.indptr)
    active = np.flatnonzero((weight > 0) & (reach >= 1))
    n, k = instance.n_sites, active.shape[0]
    v0, u0 = n, n + k
    rows = c.Rows(n + 2 * k)
    sub = a[active].tocoo()
    idx = np.arange(k)
    rows.add(np.concatenate([idx, idx, sub.row]), np.concatenate([v0 + idx, u0 + idx, sub.col]),
             np.concatenate([np.ones(2 * k), -np.ones(sub.nnz)]), k, -np.inf, 0.0)
    rows.add(np.concatenate([idx, idx]), np.concatenate([u0 + idx, v0 + idx]),
             np.concatenate([np.ones(k), -np.ones(k)]), k, -np.inf, 0.0)
    rows.add_limits(slice(0, n), rules, budget, max_sites)
    w = weight[active]
    cost = np.concatenate([np.zeros(n), single_weight * w, (1.0 - single_weight) * w])
    lower = np.concatenate([rules.lower, np.full(k, 1.0 if cover_all else 0.0), np.zeros(k)])
    upper = np.concatenate([rules.upper, np.ones(2 * k)])
    u_upper = (reach[active] >= 2).astype(float)  # u_i = 0 where fewer than two sites can reach
    upper[u0:] = u_upper
    # u must be integer: with v + u <= 1 a continuous u could take 1/2 from a single covering site
    integer = np.concatenate([np.ones(n, bool), np.zeros(k, bool), np.ones(k, bool)])
    program = c.lp(Sense.MAXIMIZE, cost, rows, lower, upper, integer, "backup",
                   {"site": (0, n), "once": (v0, u0), "twice": (u0, u0 + k)})
    return program, a, active, weight, rules


def solve_backup(instance: Instance, *, threshold_min: float, budget: float | None = None,
                 max_sites: int | None = None, single_weight: float = 0.0, cover_all: bool = False,
                 backend: str = "highs", options: SolveOptions = SolveOptions(),
                 weight_column: str = "population") -> Result:
    """Maximise the population within ``threshold_min`` of at least two open sites.

    Parameters
    ----------
    threshold_min : float
    budget, max_sites : limits on new conversions (existing sites are free and not counted)
    single_weight : float in [0, 1]
        Weight ``theta`` of single coverage in the objective (0 = only backup coverage counts).
    cover_all : bool
        Require every coverable demand point to be covered at least once.

    Returns
    -------
    Result
        ``objective`` = recomputed ``theta * once + (1 - theta) * twice``; ``covered_population`` = covered
        at least once; ``stats``: ``covered_twice``, ``covered_once``. ``coverage`` has ``n_covering``.

    Notes
    -----
    Program: see :func:`build_backup`. Verification counts the open sites within the threshold of each
    demand point from the raw travel table.
    """
    t0 = time.perf_counter()
    rules = c.site_rules(instance)
    c.check_limits(instance, rules, budget, max_sites, "backup")
    program, a, active, weight, rules = build_backup(
        instance, threshold_min=threshold_min, budget=budget, max_sites=max_sites,
        single_weight=single_weight, cover_all=cover_all, weight_column=weight_column)
    sol = c.solve_program(program, backend, options)
    total = float(weight.sum())
    if not sol.has_solution:
        if cover_all and sol.termination is c.Termination.INFEASIBLE:
            raise InfeasibleError("backup: the limits do not allow covering every coverable point once")
        return c.no_solution_result("backup", sol, total, t0)
    open_mask = c.open_sites(program, sol.x)
    cost = c.check_plan(instance, rules, open_mask, budget=budget, max_sites=max_sites, model="backup")
    tr = instance.travel
    hit = open_mask[tr.site_index] & (tr.minutes <= threshold_min)
    count = np.bincount(tr.demand_index[hit], minlength=instance.n_demand)
    once = float(weight[count >= 1].sum())
    twice = float(weight[count >= 2].sum())
    if cover_all and np.any(count[active] < 1):
        raise c.VerificationError("backup: a coverable demand point is not covered")
    objective = single_weight * once + (1 - single_weight) * twice
    c.agree("backup", "objective", sol.objective, objective, direction="ge")
    site, minutes = c.nearest_open(tr, open_mask)
    return c.make_result(
        "backup", instance, sol, open_mask, objective=objective, bound=sol.bound, total_cost=cost,
        covered_population=once, total_population=total, t0=t0, sites=c.sites_frame(instance, open_mask, rules),
        coverage=c.coverage_frame(instance, weight, site, minutes, count >= 1, n_covering=count),
        stats={"threshold_min": threshold_min, "covered_once": once, "covered_twice": twice,
               "single_weight": single_weight},
    )

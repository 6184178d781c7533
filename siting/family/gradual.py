"""Gradual coverage (Berman, Krass & Drezner 2003): full credit up to ``threshold_min``, linear decay to
zero at ``outer_threshold_min``.

Example
-------
>>> credit(np.array([3.0, 10.0, 12.5, 15.0]), 10.0, 15.0)
array([1. , 1. , 0.5, 0. ])
"""
from __future__ import annotations

import time

import numpy as np

from ..data.instance import Instance
from ..errors import InputError
from ..options import SolveOptions
from ..program import Sense
from ..result import Result
from . import _common as c

__all__ = ["solve_gradual", "build_gradual", "credit"]


def credit(minutes: np.ndarray, threshold_min: float, outer_threshold_min: float) -> np.ndarray:
    """``f(t)`` = 1 for ``t <= r``, ``(R - t) / (R - r)`` for ``r < t < R``, 0 beyond ``R``."""
    if outer_threshold_min <= threshold_min:
        return (minutes <= threshold_min).astype(float)
    return np.clip((outer_threshold_min - minutes) / (outer_threshold_min - threshold_min), 0.0, 1.0)


def build_gradual(instance: Instance, *, threshold_min: float, outer_threshold_min: float,
                  budget: float | None = None, max_sites: int | None = None, weight_column: str = "population"):
    """The gradual-coverage program (returns ``(program, pairs, weight, rules)``).

    Notes
    -----
    ``P`` = table pairs with ``f(t_ij) > 0`` (``t_ij < R``), ``w_i > 0``, site usable:

    .. math::

        \\max \\sum_{(i,j)\\in P} w_i f(t_{ij}) z_{ij} \\quad\\text{s.t.}\\quad \\sum_j z_{ij} \\le 1,\\quad
        z_{ij} \\le y_j,\\quad \\sum_j c_j y_j \\le B,\\; \\sum_{j\\in C} y_j \\le p,\\;
        y \\in \\{0,1\\},\\; z \\in [0,1]

    For integer ``y`` the optimal ``z`` picks the open site of largest credit, so each demand point earns
    ``max_{j open} f(t_ij)``.
    """
    if outer_threshold_min < threshold_min:
        raise InputError(f"gradual: outer_threshold_min {outer_threshold_min} < threshold_min {threshold_min}")
    rules = c.site_rules(instance)
    weight = c.demand_weight(instance, weight_column)
    tr = instance.travel
    f = credit(tr.minutes, threshold_min, outer_threshold_min)
    keep = (f > 0) & (weight[tr.demand_index] > 0) & (rules.upper[tr.site_index] > 0)
    d, s, fk = tr.demand_index[keep], tr.site_index[keep], f[keep]
    order = np.lexsort((s, d))
    d, s, fk = d[order], s[order], fk[order]
    n, npairs = instance.n_sites, d.shape[0]
    active, row = np.unique(d, return_inverse=True)
    pair = np.arange(npairs)
    rows = c.Rows(n + npairs)
    rows.add(row, n + pair, np.ones(npairs), active.shape[0], -np.inf, 1.0)
    rows.add(np.repeat(pair, 2), np.column_stack([n + pair, s]).ravel(), np.tile([1.0, -1.0], npairs),
             npairs, -np.inf, 0.0)
    rows.add_limits(slice(0, n), rules, budget, max_sites)
    cost = np.concatenate([np.zeros(n), weight[d] * fk])
    program = c.lp(Sense.MAXIMIZE, cost, rows, np.concatenate([rules.lower, np.zeros(npairs)]),
                   np.concatenate([rules.upper, np.ones(npairs)]),
                   np.concatenate([np.ones(n, bool), np.zeros(npairs, bool)]), "gradual",
                   {"site": (0, n), "assign": (n, n + npairs)})
    return program, (d, s, fk), weight, rules


def solve_gradual(instance: Instance, *, threshold_min: float, outer_threshold_min: float,
                  budget: float | None = None, max_sites: int | None = None, backend: str = "highs",
                  options: SolveOptions = SolveOptions(), weight_column: str = "population") -> Result:
    """Maximise gradually-credited coverage: full within ``threshold_min``, linear decay to ``outer_threshold_min``.

    Returns
    -------
    Result
        ``objective`` = recomputed ``sum_i w_i max_{j open} f(t_ij)``; ``covered_population`` = population
        with full credit (within ``threshold_min``); ``coverage`` has ``credit``; ``stats``: ``partial_credit``
        (credited population between the two thresholds).

    Notes
    -----
    Program: see :func:`build_gradual`.
    """
    t0 = time.perf_counter()
    rules = c.site_rules(instance)
    c.check_limits(instance, rules, budget, max_sites, "gradual")
    program, _, weight, rules = build_gradual(instance, threshold_min=threshold_min,
                                              outer_threshold_min=outer_threshold_min, budget=budget,
                                              max_sites=max_sites, weight_column=weight_column)
    sol = c.solve_program(program, backend, options)
    total = float(weight.sum())
    if not sol.has_solution:
        return c.no_solution_result("gradual", sol, total, t0)
    open_mask = c.open_sites(program, sol.x)
    cost = c.check_plan(instance, rules, open_mask, budget=budget, max_sites=max_sites, model="gradual")
    site, minutes = c.nearest_open(instance.travel, open_mask)
    got = credit(minutes, threshold_min, outer_threshold_min)  # nearest open site has the largest credit
    got[site < 0] = 0.0
    objective = float(weight @ got)
    c.agree("gradual", "objective", sol.objective, objective, direction="ge")
    full = minutes <= threshold_min
    return c.make_result(
        "gradual", instance, sol, open_mask, objective=objective, bound=sol.bound, total_cost=cost,
        covered_population=float(weight[full].sum()), total_population=total, t0=t0,
        sites=c.sites_frame(instance, open_mask, rules),
        coverage=c.coverage_frame(instance, weight, site, minutes, full, credit=got),
        stats={"threshold_min": threshold_min, "outer_threshold_min": outer_threshold_min,
               "partial_credit": float(weight[~full] @ got[~full])},
    )

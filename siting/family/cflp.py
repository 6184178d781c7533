"""Capacitated facility location (CFLP): pay fixed costs to open sites and assignment costs to serve all
demand, within site capacities. Reproduces OR-Library cap41-cap134 (split demand allowed).

Example
-------
>>> from siting.family.orlib import read_cap
>>> r = solve_cflp(read_cap("../shared/instances/orlib-cap/cap41.txt"), per_person=False)  # doctest: +SKIP
>>> round(r.objective, 3)  # doctest: +SKIP
1040444.375
"""
from __future__ import annotations

import time

import numpy as np

from ..data.instance import Instance
from ..errors import InfeasibleError
from ..options import SolveOptions
from ..program import Sense
from ..result import Result
from . import _common as c
from .capacitated import assignment_program, check_assignment, largest_share, site_capacity

__all__ = ["solve_cflp", "build_cflp"]


def build_cflp(instance: Instance, *, per_person: bool = True, rate: float = 1.0,
               weight_column: str = "population", capacity=None, budget: float | None = None,
               max_sites: int | None = None):
    """The CFLP program (returns ``(program, pairs, weight, cap, rules)``).

    Notes
    -----
    Pair cost ``a_ij = rate * w_i * t_ij`` (``per_person=True``: minutes are per person) or
    ``a_ij = rate * t_ij`` (``per_person=False``: the table holds the cost of serving all of ``i``, as in
    OR-Library). With ``f_j`` the conversion (fixed) cost and ``P`` the reachable pairs:

    .. math::

        \\min \\sum_j f_j y_j + \\sum_{(i,j)\\in P} a_{ij} x_{ij} \\quad\\text{s.t.}\\quad
        \\sum_j x_{ij} = 1,\\quad \\sum_i w_i x_{ij} \\le \\mathrm{cap}_j y_j,\\quad x_{ij} \\le y_j,\\quad
        y \\in \\{0,1\\},\\; x \\in [0,1]

    Demand may be split (``x`` continuous), as in Beasley's capopt table. ``x_ij <= y_j`` is redundant
    for finite capacities but tightens the LP relaxation a lot.
    """
    rules = c.site_rules(instance)
    weight = c.demand_weight(instance, weight_column)
    cap = site_capacity(instance, capacity)
    tr = instance.travel
    need = weight > 0 if per_person else np.ones(instance.n_demand, bool)
    keep = need[tr.demand_index] & (rules.upper[tr.site_index] > 0)
    d, s, t = tr.demand_index[keep], tr.site_index[keep], tr.minutes[keep]
    order = np.lexsort((s, d))
    d, s, t = d[order], s[order], t[order]
    has = np.zeros(instance.n_demand, bool)
    has[d] = True
    lost = np.flatnonzero(need & ~has)
    if lost.size:
        raise InfeasibleError(f"cflp: demand point(s) {', '.join(map(str, instance.demand.ids[lost[:5]]))} reach "
                              "no usable site in the travel table (missing pairs are unreachable)")
    if np.all(np.isfinite(cap)) and cap[rules.upper > 0].sum() < weight[need].sum() - 1e-9:
        raise InfeasibleError("cflp: total capacity of usable sites is below total demand")
    pair_cost = rate * (weight[d] * t if per_person else t)
    program = assignment_program(instance, (d, s, t), weight=weight, cap=cap, rules=rules, sense=Sense.MINIMIZE,
                                 site_cost=rules.cost, pair_cost=pair_cost, assign_equal=True, budget=budget,
                                 max_sites=max_sites, name="cflp")
    return program, (d, s, t, pair_cost), weight, cap, rules


def solve_cflp(instance: Instance, *, per_person: bool = True, rate: float = 1.0, backend: str = "highs",
               options: SolveOptions = SolveOptions(), weight_column: str = "population", capacity=None,
               budget: float | None = None, max_sites: int | None = None) -> Result:
    """Minimise conversion cost plus assignment cost, serving every demand point within capacities.

    Parameters
    ----------
    instance : Instance
        ``Sites.cost`` = fixed cost, ``Sites.capacity`` (or ``capacity``) = capacity; travel minutes
        = per-person cost (``per_person=True``) or total assignment cost (``False``).
    rate : float
        Currency per person-minute (or per unit of the table).
    budget, max_sites : optional extra limits on the fixed-cost part / counted sites.

    Returns
    -------
    Result
        ``objective`` = recomputed fixed + assignment cost; ``stats``: ``fixed_cost``, ``assignment_cost``;
        ``sites`` has ``load`` and ``capacity``; ``coverage`` has ``share`` (1 for all served points).

    Notes
    -----
    Program: see :func:`build_cflp`.
    """
    t0 = time.perf_counter()
    program, pairs, weight, cap, rules = build_cflp(instance, per_person=per_person, rate=rate,
                                                    weight_column=weight_column, capacity=capacity,
                                                    budget=budget, max_sites=max_sites)
    c.check_limits(instance, rules, budget, max_sites, "cflp")
    sol = c.solve_program(program, backend, options)
    total = float(weight.sum())
    if not sol.has_solution:
        return c.no_solution_result("cflp", sol, total, t0)
    open_mask = c.open_sites(program, sol.x)
    fixed = c.check_plan(instance, rules, open_mask, budget=budget, max_sites=max_sites, model="cflp")
    xa = program.block(sol.x, "assign")
    share, load = check_assignment(instance, pairs, xa, open_mask, weight=weight, cap=cap, model="cflp",
                                   assign_equal=True)
    assign_cost = float(np.clip(xa, 0, 1) @ pairs[3])
    objective = fixed + assign_cost
    c.agree("cflp", "cost", sol.objective, objective)
    site, minutes = c.nearest_open(instance.travel, open_mask)
    d = pairs[0]
    main = np.full(instance.n_demand, -1)
    pick = largest_share(d, xa)
    main[d[pick]] = pairs[1][pick]
    return c.make_result(
        "cflp", instance, sol, open_mask, objective=objective, bound=sol.bound, total_cost=fixed,
        covered_population=float(weight @ share), total_population=total, t0=t0,
        sites=c.sites_frame(instance, open_mask, rules, load=load, capacity=cap),
        coverage=c.coverage_frame(instance, weight, main, minutes, share > 1 - 1e-6, share=share),
        stats={"fixed_cost": fixed, "assignment_cost": assign_cost, "n_pairs": int(d.shape[0])},
    )

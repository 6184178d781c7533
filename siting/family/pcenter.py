"""p-center: open at most ``p`` sites to minimise the worst walking time to the nearest open site.

Two methods. ``"search"`` (default): binary search over the distinct travel times, each step a set-cover
MIP; ``"direct"``: the classic single MIP with an assignment per reachable pair. On pmed1-10 the search
was faster (see ``models/pcenter.md`` and ``benchmarks/pmed_bench.py``), and its LPs are much tighter.
"""
from __future__ import annotations

import time

import numpy as np

from ..backends.base import Termination
from ..data.instance import Instance
from ..errors import InfeasibleError, InputError
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ..result import Result
from . import _common as c
from .pmedian import _reachable_pairs

__all__ = ["solve_pcenter", "build_cover_at", "build_pcenter_direct"]


def build_cover_at(instance: Instance, radius: float, *, pairs, p: int, rules: c.SiteRules,
                   budget: float | None = None) -> LinearProgram:
    """Set-cover feasibility program at ``radius``: fewest counted sites covering every demand point.

    Notes
    -----
    .. math::

        \\min \\sum_{j\\in C} y_j \\quad\\text{s.t.}\\quad \\sum_{j: t_{ij} \\le r} y_j \\ge 1 \\;\\forall i
        \\text{ with } w_i > 0,\\quad \\sum_{j\\in C} y_j \\le p,\\; y_j \\in \\{0,1\\}

    (plus the budget row when given). Radius ``r`` is feasible iff this program is.
    """
    d, s, t = pairs
    n = instance.n_sites
    keep = t <= radius
    active, row = np.unique(d[keep], return_inverse=True)
    rows = c.Rows(n)
    rows.add(row, s[keep], np.ones(row.shape[0]), active.shape[0], 1.0, np.inf)
    rows.add_limits(slice(0, n), rules, budget, p)
    return c.lp(Sense.MINIMIZE, rules.counts.astype(float), rows, rules.lower, rules.upper, np.ones(n, bool),
                f"pcenter_cover_{radius:g}", {"site": (0, n)})


def build_pcenter_direct(instance: Instance, *, pairs, p: int, rules: c.SiteRules,
                         budget: float | None = None) -> LinearProgram:
    """The direct p-center MIP.

    Notes
    -----
    .. math::

        \\min r \\quad\\text{s.t.}\\quad r \\ge \\sum_j t_{ij} x_{ij},\\; \\sum_j x_{ij} = 1,\\;
        x_{ij} \\le y_j,\\; \\sum_{j\\in C} y_j \\le p,\\; y_j, x_{ij} \\in \\{0,1\\}
    """
    d, s, t = pairs
    n, npairs = instance.n_sites, d.shape[0]
    active, row = np.unique(d, return_inverse=True)
    na = active.shape[0]
    ncols = n + npairs + 1
    rcol = ncols - 1
    pair = np.arange(npairs)
    rows = c.Rows(ncols)
    rows.add(row, n + pair, np.ones(npairs), na, 1.0, 1.0)
    rows.add(np.repeat(pair, 2), np.column_stack([n + pair, s]).ravel(), np.tile([1.0, -1.0], npairs),
             npairs, -np.inf, 0.0)
    rows.add(np.concatenate([row, np.arange(na)]), np.concatenate([n + pair, np.full(na, rcol)]),
             np.concatenate([t, -np.ones(na)]), na, -np.inf, 0.0)
    rows.add_limits(slice(0, n), rules, budget, p)
    cost = np.zeros(ncols)
    cost[rcol] = 1.0
    lower = np.concatenate([rules.lower, np.zeros(npairs), [0.0]])
    upper = np.concatenate([rules.upper, np.ones(npairs), [np.inf]])
    integer = np.concatenate([np.ones(n + npairs, bool), [False]])
    return c.lp(Sense.MINIMIZE, cost, rows, lower, upper, integer, "pcenter_direct",
                {"site": (0, n), "assign": (n, n + npairs), "radius": (rcol, ncols)})


def _search(instance, pairs, p, rules, budget, backend, options):
    """Binary search on the sorted distinct times. Returns (best solution, its program, lower bound, steps)."""
    d, s, t = pairs
    levels = np.unique(t)
    # lower bound: every demand point needs its nearest usable site
    nearest = np.full(instance.n_demand, np.inf)
    np.minimum.at(nearest, d, t)
    lb = float(nearest[np.isfinite(nearest)].max(initial=0.0))
    lo = int(np.searchsorted(levels, lb))           # levels[lo] may be feasible
    hi = levels.shape[0] - 1                         # levels[hi]: check first
    best = best_prog = None
    steps = 0
    incomplete = False

    def feasible(k: int):
        nonlocal steps
        steps += 1
        prog = build_cover_at(instance, float(levels[k]), pairs=pairs, p=p, rules=rules, budget=budget)
        return prog, c.solve_program(prog, backend, options)

    prog, sol = feasible(hi)
    if sol.termination is Termination.INFEASIBLE:
        return None, None, None, steps, sol
    if not sol.has_solution:
        return None, None, None, steps, sol
    best, best_prog = sol, prog
    # the plan's actual radius may be below levels[hi]
    hi = int(np.searchsorted(levels, _radius(instance, c.open_sites(prog, sol.x), d, t)))
    while lo < hi:
        mid = (lo + hi) // 2
        prog, sol = feasible(mid)
        if sol.has_solution:
            best, best_prog = sol, prog
            hi = int(np.searchsorted(levels, _radius(instance, c.open_sites(prog, sol.x), d, t)))
        elif sol.termination is Termination.INFEASIBLE:
            lo = mid + 1
        else:  # time limit without an answer at this radius: stop, report what is proven
            incomplete = True
            break
    bound = float(levels[lo])
    return best, best_prog, bound, steps, (Termination.TIME_LIMIT if incomplete else Termination.OPTIMAL)


def _radius(instance, open_mask, d, t) -> float:
    _, minutes = c.nearest_open(instance.travel, open_mask)
    return float(minutes[np.unique(d)].max(initial=0.0))


def solve_pcenter(instance: Instance, *, p: int, backend: str = "highs", options: SolveOptions = SolveOptions(),
                  weight_column: str = "population", budget: float | None = None,
                  method: str = "search") -> Result:
    """Open at most ``p`` counted sites minimising the largest walking time of any demand point.

    Parameters
    ----------
    instance : Instance
    p : int
        Limit on counted sites (existing sites are open on top; required sites count).
    backend, options :
        Solver and its options; with ``method="search"`` the time limit applies to each MIP.
    weight_column : str
        Demand points with zero weight in this column are ignored.
    budget : float, optional
    method : {"search", "direct"}

    Returns
    -------
    Result
        ``objective`` = recomputed radius (minutes); ``best_bound`` = proven lower bound;
        ``stats``: ``radius_min``, ``steps`` (MIPs solved), ``method``, ``n_open``.

    Raises
    ------
    InfeasibleError
        if a demand point reaches no usable site (pairs missing from the table are unreachable).

    Notes
    -----
    .. math:: \\min_{S,\\,|S \\cap C| \\le p} \\; \\max_{i: w_i > 0} \\; \\min_{j \\in S} t_{ij}

    The optimum is one of the distinct table times. ``search`` starts from the lower bound
    :math:`\\max_i \\min_j t_{ij}` and bisects with :func:`build_cover_at`; each feasible plan's own radius
    becomes the new upper end. ``direct`` solves :func:`build_pcenter_direct`.
    """
    t0 = time.perf_counter()
    if method not in ("search", "direct"):
        raise InputError(f"pcenter: method must be 'search' or 'direct', got {method!r}")
    weight = c.demand_weight(instance, weight_column)
    rules = c.site_rules(instance)
    c.check_limits(instance, rules, budget, p, "pcenter")
    pairs = _reachable_pairs(instance, weight, rules, "pcenter")
    total = float(weight.sum())
    stats: dict = {"p": int(p), "method": method}
    if method == "direct":
        program = build_pcenter_direct(instance, pairs=pairs, p=p, rules=rules, budget=budget)
        sol = c.solve_program(program, backend, options)
        bound, term, steps = sol.bound, None, 1
    else:
        sol, program, bound, steps, term = _search(instance, pairs, p, rules, budget, backend, options)
        if sol is None:
            bs = term
            if bs.termination is Termination.INFEASIBLE:
                raise InfeasibleError(f"pcenter: no plan with at most {p} sites covers every demand point "
                                      "within the table" + (" and the budget" if budget is not None else ""))
            return c.no_solution_result("pcenter", bs, total, t0, stats)
    stats["steps"] = steps
    if not sol.has_solution:
        return c.no_solution_result("pcenter", sol, total, t0, stats)
    open_mask = c.open_sites(program, sol.x)
    cost = c.check_plan(instance, rules, open_mask, budget=budget, max_sites=p, model="pcenter")
    site, minutes = c.nearest_open(instance.travel, open_mask)
    positive = weight > 0
    if np.any(site[positive] < 0):
        raise c.VerificationError("pcenter: a demand point has no reachable open site")
    radius = float(minutes[positive].max(initial=0.0))
    if method == "direct":
        c.agree("pcenter", "radius", sol.objective, radius, direction="le")
    elif bound is not None and radius < bound - 1e-9:
        raise c.VerificationError(f"pcenter: radius {radius} below the proven bound {bound}")
    stats.update(radius_min=radius, n_open=int((open_mask & rules.counts).sum()))
    return c.make_result(
        "pcenter", instance, sol, open_mask, objective=radius, bound=bound, total_cost=cost,
        covered_population=float(weight[site >= 0].sum()), total_population=total, t0=t0,
        sites=c.sites_frame(instance, open_mask, rules), coverage=c.coverage_frame(instance, weight, site, minutes, site >= 0),
        stats=stats, termination=term if isinstance(term, Termination) else None,
    )

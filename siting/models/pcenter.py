"""p-center: open at most ``p`` sites to minimise the worst walking time to the nearest open site.

Two methods. ``"search"`` (default): bisection over the distinct travel times, each step a set-cover MIP
(:func:`build_cover_at`), started from a farthest-point greedy plan; ``"direct"``: the classic single MIP with
an assignment per reachable pair (:func:`build_pcenter_direct`). On pmed1-10 the search was faster (see
``models/pcenter.md`` and ``benchmarks/pmed_bench.py``), and its LPs are much tighter.

Example
-------
>>> from siting.testing import random_instance
>>> r = solve_pcenter(random_instance(6, 4, seed=1), p=2)
>>> r.status.value, r.objective, r.best_bound, r.selected
('optimal', 15.0, 15.0, ('s0', 's2'))
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..backends.registry import get_backend
from ..data.instance import Instance
from ..errors import InfeasibleError, VerificationError
from ..formulations.lexicographic import cost_then_count
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ..reach import nearest_open_site, nearest_two
from ..result import Result
from ..rules import Limits, SiteRules
from ..status import Termination
from .base import Evaluation, Marginal, Model, Outcome, Plan, SolveContext
from .driver import solve_model
from .params import ModelParams, budget_param, choice, integer, param, speed_group_param, weight_column_param
from .parts import Rows, demand_weight, milp
from .reachable import dropped_demand, reachable_pairs, unreachable_param
from .secondary import MIN_STAGE_S
from .tables import coverage_table, served_by_site, sites_table

__all__ = ["MODEL", "PCenterParams", "solve_pcenter", "build_cover_at", "build_pcenter_direct", "greedy_pcenter"]

METHODS = ("search", "direct")
#: share of the time left a backend call may use; the rest is for decoding and verification
_CALL_SHARE = 0.95
#: below this many seconds left the bisection starts no further MIP
_MIN_CALL_S = 0.05

Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True, kw_only=True)
class PCenterParams(ModelParams):
    """Parameters of :data:`MODEL` (p-center)."""

    model_name = "pcenter"
    p: int = param(check=integer(ge=1), doc="limit on counted sites open (candidate and required; existing on top)")
    budget: float | None = budget_param()
    weight_column: str = weight_column_param()
    speed_group: str | None = speed_group_param()
    method: str = param("search", check=choice(METHODS),
                        doc="search (bisection over table times with set-cover MIPs) or direct (one MIP)")
    unreachable: str = unreachable_param()

    def limits(self) -> Limits:
        """At most ``p`` counted sites, and the budget."""
        return Limits(budget=self.budget, max_sites=self.p)


def build_cover_at(instance: Instance, radius: float, *, pairs: Pairs, p: int, rules: SiteRules,
                   budget: float | None = None) -> LinearProgram:
    r"""Set-cover feasibility program at ``radius``: fewest counted sites covering every demand point.

    Notes
    -----
    .. math::

        \min \sum_{j\in C} y_j \quad\text{s.t.}\quad \sum_{j: t_{ij} \le r} y_j \ge 1 \;\forall i
        \text{ with } w_i > 0,\quad \sum_{j\in C} y_j \le p,\; y_j \in \{0,1\}

    (plus the budget row when given). Radius ``r`` is feasible iff this program is. Its objective and bound
    are site counts: the search reads only feasibility and the plan from it.
    """
    d, s, t = pairs
    n = instance.n_sites
    keep = t <= radius
    active, row = np.unique(d[keep], return_inverse=True)
    rows = Rows(n)
    rows.add(row, s[keep], np.ones(row.shape[0]), active.shape[0], 1.0, np.inf)
    rows.add_limits(slice(0, n), rules, Limits(budget, p))
    return milp(Sense.MINIMIZE, rules.counts.astype(float), rows, rules.lower, rules.upper, np.ones(n, bool),
                f"pcenter_cover_{radius:g}", {"site": (0, n)})


def build_pcenter_direct(instance: Instance, *, pairs: Pairs, p: int, rules: SiteRules,
                         budget: float | None = None) -> LinearProgram:
    r"""The direct p-center MIP.

    Notes
    -----
    .. math::

        \min r \quad\text{s.t.}\quad r \ge \sum_j t_{ij} x_{ij},\; \sum_j x_{ij} = 1,\;
        x_{ij} \le y_j,\; \sum_{j\in C} y_j \le p,\; y_j, x_{ij} \in \{0,1\}
    """
    d, s, t = pairs
    n, npairs = instance.n_sites, d.shape[0]
    active, row = np.unique(d, return_inverse=True)
    na = active.shape[0]
    ncols = n + npairs + 1
    rcol = ncols - 1
    pair = np.arange(npairs)
    rows = Rows(ncols)
    rows.add(row, n + pair, np.ones(npairs), na, 1.0, 1.0)
    rows.add(np.repeat(pair, 2), np.column_stack([n + pair, s]).ravel(), np.tile([1.0, -1.0], npairs),
             npairs, -np.inf, 0.0)
    rows.add(np.concatenate([row, np.arange(na)]), np.concatenate([n + pair, np.full(na, rcol)]),
             np.concatenate([t, -np.ones(na)]), na, -np.inf, 0.0)
    rows.add_limits(slice(0, n), rules, Limits(budget, p))
    cost = np.zeros(ncols)
    cost[rcol] = 1.0
    lower = np.concatenate([rules.lower, np.zeros(npairs), [0.0]])
    upper = np.concatenate([rules.upper, np.ones(npairs), [np.inf]])
    integer_cols = np.concatenate([np.ones(n + npairs, bool), [False]])
    return milp(Sense.MINIMIZE, cost, rows, lower, upper, integer_cols, "pcenter_direct",
                {"site": (0, n), "assign": (n, n + npairs), "radius": (rcol, ncols)})


def _radius(instance: Instance, open_sites: np.ndarray, active: np.ndarray) -> float:
    """Worst nearest-open-site time over the ``active`` demand points (inf when one reaches no open site)."""
    _, minutes = nearest_open_site(instance.travel, open_sites)
    return float(minutes[active].max(initial=0.0))


def greedy_pcenter(instance: Instance, *, pairs: Pairs, p: int, rules: SiteRules,
                   budget: float | None = None) -> np.ndarray | None:
    """Farthest-point greedy: open the counted site nearest to the worst-served point, up to ``p`` times.

    Returns the open-site mask, or None when the greedy leaves a point of ``pairs`` without an open site
    (the budget or ``p`` ran out first). One pass over the pairs per opened site.
    """
    d, s, t = pairs
    active = np.unique(d)
    open_sites = rules.lower > 0
    _, near = nearest_open_site(instance.travel, open_sites)
    left = np.inf if budget is None else budget - float(rules.cost[open_sites].sum())
    for _ in range(p - int((open_sites & rules.counts).sum())):
        worst = active[int(np.argmax(near[active]))] if active.size else -1
        if worst < 0 or near[worst] == 0.0:
            break
        ok = (d == worst) & ~open_sites[s] & rules.counts[s] & (rules.upper[s] > 0) & (rules.cost[s] <= left + 1e-9)
        if not ok.any():
            break
        k = np.flatnonzero(ok)[int(np.argmin(t[ok]))]
        j = int(s[k])
        open_sites[j] = True
        left -= float(rules.cost[j])
        on = s == j
        np.minimum.at(near, d[on], t[on])
    return open_sites if np.all(np.isfinite(near[active])) else None


def _call(program: LinearProgram, ctx: SolveContext) -> tuple[np.ndarray | None, Termination, float | None,
                                                               float | None]:
    """One backend call on what is left of the time limit: (open sites or None, termination, objective, bound)."""
    program.check()
    sol = get_backend(ctx.backend).solve(program, ctx.options_now(share=_CALL_SHARE))
    plan = None if sol.x is None else program.block(sol.x, "site") > 0.5
    return plan, sol.termination, sol.objective, sol.bound


def _direct(instance: Instance, params: PCenterParams, rules: SiteRules, pairs: Pairs,
            ctx: SolveContext) -> Outcome:
    program = build_pcenter_direct(instance, pairs=pairs, p=params.p, rules=rules, budget=params.budget)
    plan, termination, objective, bound = _call(program, ctx)
    if bound is not None and np.isfinite(bound):
        # the optimum is a table time: the smallest one at or above the solver's bound is a bound too (the
        # tolerance keeps a bound printed as 8.99999 from being rounded past 9)
        levels = np.unique(pairs[2])
        k = int(np.searchsorted(levels, bound - 1e-6 * max(1.0, abs(bound))))
        bound = float(levels[k]) if k < levels.shape[0] else bound
    stats = {"method": "direct", "steps": 1, "n_cols": program.n_cols, "n_rows": program.n_rows}
    return Outcome(None if plan is None else Plan(plan), termination, objective, bound, ctx.backend, stats)


def _bisect(instance: Instance, params: PCenterParams, rules: SiteRules, pairs: Pairs,
            ctx: SolveContext) -> Outcome:
    """Bisection over the distinct table times; every bound it reports is a table time (minutes).

    Invariant: every level below ``levels[lo]`` is proven infeasible (the first ``lo`` is the largest
    nearest-site time, which no plan beats), and ``best`` has radius ``levels[hi]``.
    """
    d, s, t = pairs
    active = np.unique(d)
    levels = np.unique(t)
    nearest = np.full(instance.n_demand, np.inf)
    np.minimum.at(nearest, d, t)
    lo = int(np.searchsorted(levels, float(nearest[active].max(initial=0.0))))
    stats: dict[str, Any] = {"method": "search", "lower_bound_min": float(levels[lo]) if levels.size else 0.0}
    best = greedy_pcenter(instance, pairs=pairs, p=params.p, rules=rules, budget=params.budget)
    if best is not None:
        stats["greedy_radius_min"] = _radius(instance, best, active)
        hi = int(np.searchsorted(levels, stats["greedy_radius_min"]))
    steps, stopped = 0, False

    def cover(k: int) -> tuple[np.ndarray | None, Termination]:
        nonlocal steps
        steps += 1
        program = build_cover_at(instance, float(levels[k]), pairs=pairs, p=params.p, rules=rules,
                                 budget=params.budget)
        plan, termination, _, _ = _call(program, ctx)   # objective and bound are site counts: not used
        return plan, termination

    def out_of_time() -> bool:
        left = ctx.remaining_s()
        return left is not None and left < _MIN_CALL_S

    if best is None and levels.size:
        if out_of_time():
            return Outcome(None, Termination.TIME_LIMIT, None, float(levels[lo]), "pcenter_search",
                           dict(stats, steps=0), "pcenter: the time limit ran out before any plan was found")
        best, termination = cover(levels.shape[0] - 1)
        if best is None:
            if termination is Termination.INFEASIBLE:
                raise InfeasibleError(f"pcenter: no plan with at most {params.p} sites covers every demand point "
                                      "within the table" + (" and the budget" if params.budget is not None else ""))
            return Outcome(None, termination, None, float(levels[lo]), f"pcenter_search({ctx.backend})",
                           dict(stats, steps=steps))
        hi = int(np.searchsorted(levels, _radius(instance, best, active)))
    while lo < hi:
        if out_of_time():
            stopped = True
            break
        mid = (lo + hi) // 2
        plan, termination = cover(mid)
        if plan is not None:
            # the plan's own radius is often below levels[mid]: it becomes the new upper end
            best, hi = plan, int(np.searchsorted(levels, _radius(instance, plan, active)))
        elif termination is Termination.INFEASIBLE:
            lo = mid + 1
        else:      # stopped without an answer at this radius: keep what is proven
            stopped = True
            break
    if best is None:      # no table times at all: nothing to bisect (reachable_pairs refuses that earlier)
        return Outcome(None, Termination.ERROR, None, None, f"pcenter_search({ctx.backend})", stats)
    radius = _radius(instance, best, active)
    bound = float(levels[lo]) if levels.size else 0.0
    stats.update(steps=steps, lower_bound_min=bound)
    return Outcome(Plan(best), Termination.TIME_LIMIT if stopped else Termination.OPTIMAL, radius, bound,
                   f"pcenter_search({ctx.backend})", stats)


def _cheapest_cover(instance: Instance, params: PCenterParams, rules: SiteRules, pairs: Pairs, ctx: SolveContext,
                    outcome: Outcome) -> Outcome:
    """Among the plans with the found radius, the cheapest, then the fewest new sites (one more cover MIP).

    The cover program at the plan's radius with the objective of
    :func:`siting.formulations.lexicographic.cost_then_count`, warm-started with the plan; kept when it is
    cheaper (or as cheap with fewer sites). Termination and bound stay the search's.
    """
    assert outcome.plan is not None
    plan = outcome.plan.open_sites
    count = rules.counts & (rules.lower == 0)
    before = (float(rules.cost[plan].sum()), int((plan & count).sum()))
    info: dict[str, Any] = {"goal": "min_cost", "cost_before": before[0], "new_sites_before": before[1]}
    left = ctx.remaining_s()
    if left is not None and left < MIN_STAGE_S:
        return replace(outcome, stats=dict(outcome.stats, secondary=dict(info, termination="skipped: no time left")))
    active = np.unique(pairs[0])
    radius = _radius(instance, plan, active)
    program = build_cover_at(instance, radius, pairs=pairs, p=params.p, rules=rules, budget=params.budget)
    program = replace(program, objective=cost_then_count(rules.cost, count)[0], name="pcenter_cheapest")
    program.check()
    sol = get_backend(ctx.backend).solve(program, ctx.options_now(share=_CALL_SHARE), warm_start=plan.astype(float))
    info["termination"] = str(sol.termination)
    if sol.x is not None:
        found = program.block(sol.x, "site") > 0.5
        after = (float(rules.cost[found].sum()), int((found & count).sum()))
        accepted = after < before and _radius(instance, found, active) <= radius
        info.update(accepted=bool(accepted), cost_after=after[0], new_sites_after=after[1])
        if accepted:
            return replace(outcome, plan=Plan(found), stats=dict(outcome.stats, secondary=info))
    return replace(outcome, stats=dict(outcome.stats, secondary=info))


def _search(instance: Instance, params: PCenterParams, rules: SiteRules, ctx: SolveContext) -> Outcome:
    """The radius by bisection or one MIP; then, with ``secondary = "min_cost"``, the cheapest plan at it."""
    weight = demand_weight(instance, params.weight_column)
    pairs = reachable_pairs(instance, weight, rules, "pcenter", unreachable=params.unreachable)
    run = _direct if params.method == "direct" else _bisect
    outcome = run(instance, params, rules, pairs, ctx)
    if outcome.plan is None or ctx.options.secondary != "min_cost":
        return outcome
    return _cheapest_cover(instance, params, rules, pairs, ctx, outcome)


def _evaluate(instance: Instance, params: PCenterParams, rules: SiteRules, plan: Plan) -> Evaluation:
    """Nearest open site of every demand point from the raw table; objective = the worst time (weight > 0).

    Points left out by ``unreachable = "drop"`` count in ``total_weight`` but not in the radius.
    """
    weight = demand_weight(instance, params.weight_column)
    site, minutes = nearest_open_site(instance.travel, plan.open_sites)
    reached = site >= 0
    dropped = dropped_demand(instance, weight, rules, params.unreachable)
    positive = weight > 0
    positive[dropped] = False
    if np.any(positive & ~reached):
        raise VerificationError("pcenter: a demand point has no reachable open site")
    radius = float(minutes[positive].max(initial=0.0))
    return Evaluation(
        objective=radius, covered_weight=float(weight[reached].sum()), total_weight=float(weight.sum()),
        total_cost=float(rules.cost[plan.open_sites].sum()),
        sites=sites_table(instance, plan.open_sites, rules,
                          served_weight=served_by_site(instance.n_sites, site, weight, reached)),
        coverage=coverage_table(instance, weight, site, minutes, reached),
        stats={"p": params.p, "radius_min": radius, "n_open": int((plan.open_sites & rules.counts).sum())},
    )


def _marginal(instance: Instance, params: PCenterParams, rules: SiteRules, plan: Plan) -> Marginal:
    """Radius added without each open site: its points walk to their second-nearest open site.

    ``radius_without_j = max(max_{i: near(i) != j} t1_i, max_{i: near(i) = j} t2_i)`` over points with weight,
    from the two largest per-site maxima of ``t1``; closing the only site a point reaches breaks the plan.
    """
    weight = demand_weight(instance, params.weight_column)
    site, first, second = nearest_two(instance.travel, plan.open_sites)
    n = instance.n_sites
    mine = (weight > 0) & (site >= 0)
    radius = float(first[mine].max(initial=0.0))      # points dropped as unreachable have no site
    own = np.full(n, -np.inf)          # worst first time among the points each site serves
    np.maximum.at(own, site[mine], first[mine])
    fallback = np.full(n, -np.inf)     # worst second time among them
    np.maximum.at(fallback, site[mine], second[mine])
    order = np.argsort(-own, kind="stable")
    top, runner = own[order[0]] if n else -np.inf, own[order[1]] if n > 1 else -np.inf
    others = np.full(n, top)
    if n:
        others[order[0]] = runner
    without = np.maximum(np.maximum(others, fallback), 0.0)
    alone = mine & ~np.isfinite(second)
    only = np.bincount(site[alone], weights=weight[alone], minlength=n)
    return Marginal(without - radius, np.bincount(site[alone], minlength=n) > 0, only)


MODEL = Model(
    name="pcenter", params=PCenterParams, sense=Sense.MINIMIZE, search=_search, evaluate=_evaluate,
    marginal=_marginal,
    covered="with a reachable open site",
    summary="open at most p sites minimising the worst minutes from a demand point to its nearest open site",
)


def solve_pcenter(instance: Instance, *, backend: str = "auto", options: SolveOptions | None = None,
                  **params: Any) -> Result:
    r"""Open at most ``p`` counted sites minimising the largest walking time of any demand point.

    Parameters
    ----------
    instance : Instance
    backend, options : see :func:`siting.models.driver.solve_model`; ``time_limit_s`` caps the whole search
        (every MIP of the bisection gets what is left)
    **params : the fields of :class:`PCenterParams` (``p``, ``budget``, ``weight_column``: demand points with
        zero weight are ignored, ``method``: ``search`` or ``direct``)

    Returns
    -------
    Result
        ``objective`` = recomputed radius (minutes); ``best_bound`` = proven lower bound in minutes (a table
        time; equal to the radius when optimal); ``stats``: ``radius_min``, ``steps`` (MIPs solved),
        ``method``, ``n_open``, ``lower_bound_min``.

    Notes
    -----
    .. math:: \min_{S,\,|S \cap C| \le p} \; \max_{i: w_i > 0} \; \min_{j \in S} t_{ij}

    The optimum is one of the distinct table times. ``search`` starts from the lower bound
    :math:`\max_i \min_j t_{ij}` and the greedy plan's radius, and bisects with :func:`build_cover_at`; each
    feasible plan's own radius becomes the new upper end. When the time limit stops it, the best plan found
    is returned with status ``time_limit`` and the proven bound. ``direct`` solves :func:`build_pcenter_direct`.
    A demand point (weight > 0) with no usable pair, or no plan reaching everyone, gives ``infeasible``.
    """
    return solve_model(MODEL, instance, PCenterParams.from_kwargs(params), backend=backend, options=options)

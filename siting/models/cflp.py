"""Capacitated facility location (CFLP): serve all demand within capacities at least fixed + assignment cost.

Fixed costs open sites, assignment costs serve demand. Reproduces OR-Library cap41-cap134 (split demand allowed).

Example
-------
>>> from siting.testing import random_instance
>>> r = solve_cflp(random_instance(5, 4, seed=0, capacity=True, density=1.0))
>>> r.status.value, r.objective == r.stats["fixed_cost"] + r.stats["assignment_cost"]
('optimal', True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.instance import Instance
from ..errors import InfeasibleError, VerificationError
from ..heuristics.cflp_drop import close_sites
from ..heuristics.cflp_lagrangian import cflp_bound
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ..reach import nearest_open_site
from ..result import Result
from ..rules import SiteRules
from .assignment import best_assignment
from .base import Built, Evaluation, Model, Plan
from .capacitated import (
    CapacityParams,
    assignment_program,
    assignment_vector,
    assignment_verify_share,
    check_assignment,
    decode_assignment,
    fill_greedy,
    site_capacity,
)
from .driver import solve_model
from .params import boolean, budget_param, max_sites_param, number, param, speed_group_param, weight_column_param
from .parts import demand_weight
from .tables import coverage_table, sites_table

__all__ = ["MODEL", "CflpParams", "solve_cflp", "build_cflp", "cflp_pairs"]


@dataclass(frozen=True, kw_only=True)
class CflpParams(CapacityParams):
    """Parameters of :data:`MODEL` (capacitated facility location)."""

    model_name = "cflp"
    per_person: bool = param(True, check=boolean(),
                             doc="travel minutes are per person (cost rate * weight * minutes); false: the table "
                                 "holds the cost of serving the whole demand point (OR-Library)")
    rate: float = param(1.0, check=number(gt=0), doc="assignment cost per person-minute (or per table unit)")
    weight_column: str = weight_column_param()
    speed_group: str | None = speed_group_param()
    budget: float | None = budget_param(doc="limit on the fixed (conversion) cost of the plan")
    max_sites: int | None = max_sites_param()


def cflp_pairs(instance: Instance, weight: np.ndarray, rules: SiteRules,
               per_person: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(demand, site, minutes)`` of the usable table pairs of the demand points to serve.

    Sorted by demand then site (the column order of :func:`build_cflp`). With ``per_person`` only positive
    weights are served.

    Raises
    ------
    InfeasibleError
        when a demand point to serve reaches no usable site in the table.
    """
    tr = instance.travel
    need = weight > 0 if per_person else np.ones(instance.n_demand, bool)
    keep = need[tr.demand_index] & rules.usable[tr.site_index]
    d, s, t = tr.demand_index[keep], tr.site_index[keep], tr.minutes[keep]
    order = np.lexsort((s, d))
    d, s, t = d[order], s[order], t[order]
    has = np.zeros(instance.n_demand, bool)
    has[d] = True
    lost = np.flatnonzero(need & ~has)
    if lost.size:
        more = f" and {lost.size - 5} more" if lost.size > 5 else ""
        raise InfeasibleError(f"cflp: demand point(s) {', '.join(map(str, instance.demand.ids[lost[:5]]))}{more} "
                              "reach no usable site in the travel table (missing pairs are unreachable)")
    return d, s, t


def _pair_cost(params: CflpParams, weight: np.ndarray, pairs: tuple[np.ndarray, ...]) -> np.ndarray:
    d, t = pairs[0], pairs[2]
    return params.rate * (weight[d] * t if params.per_person else t)


def build_cflp(instance: Instance, params: CflpParams, rules: SiteRules | None = None) -> LinearProgram:
    r"""The CFLP program (``rules`` default: :meth:`SiteRules.of` the instance).

    Raises
    ------
    InfeasibleError
        when a demand point reaches no usable site, or the usable capacity is below the total demand.

    Notes
    -----
    Pair cost ``a_ij = rate * w_i * t_ij`` (``per_person=True``: minutes are per person) or
    ``a_ij = rate * t_ij`` (``per_person=False``: the table holds the cost of serving all of ``i``, as in
    OR-Library). With ``f_j`` the conversion (fixed) cost and ``P`` the reachable pairs:

    .. math::

        \min \sum_j f_j y_j + \sum_{(i,j)\in P} a_{ij} x_{ij} \quad\text{s.t.}\quad
        \sum_j x_{ij} = 1,\quad \sum_i w_i x_{ij} \le \mathrm{cap}_j y_j,\quad x_{ij} \le y_j,\quad
        y \in \{0,1\},\; x \in [0,1]

    Demand may be split (``x`` continuous), as in Beasley's capopt table. ``x_ij <= y_j`` is redundant
    for finite capacities but tightens the LP relaxation a lot.
    """
    rules = rules or SiteRules.of(instance)
    weight = demand_weight(instance, params.weight_column)
    cap = site_capacity(instance, params.capacity)
    pairs = cflp_pairs(instance, weight, rules, params.per_person)
    need = weight > 0 if params.per_person else np.ones(instance.n_demand, bool)
    usable_cap = cap[rules.usable].sum()
    if usable_cap < weight[need].sum() - 1e-9:
        raise InfeasibleError(f"cflp: the usable sites' capacity ({usable_cap:,.6g}) is below the total demand "
                              f"({weight[need].sum():,.6g})")
    return assignment_program(instance, pairs, weight=weight, cap=cap, rules=rules, sense=Sense.MINIMIZE,
                              site_cost=rules.cost, pair_cost=_pair_cost(params, weight, pairs), assign_equal=True,
                              limits=params.limits(), name="cflp")


def _build(instance: Instance, params: CflpParams, rules: SiteRules) -> Built:
    program = build_cflp(instance, params, rules)
    return Built(program, decode=decode_assignment(program), stats={"n_pairs": program.n_cols - instance.n_sites})


def _evaluate(instance: Instance, params: CflpParams, rules: SiteRules, plan: Plan) -> Evaluation:
    """Fixed cost plus the cost of the plan's cheapest assignment (solved here, not the solver's).

    The solver's assignment, when the plan has one, is only checked for feasibility.

    Raises
    ------
    VerificationError
        when the plan's open sites cannot serve every demand point within their capacities.
    """
    weight = demand_weight(instance, params.weight_column)
    cap = site_capacity(instance, params.capacity)
    pairs = cflp_pairs(instance, weight, rules, params.per_person)
    if plan.assignment is not None:
        check_assignment(instance, pairs, plan.assignment, plan.open_sites, weight=weight, cap=cap,
                         model="cflp", assign_equal=True)
    best = best_assignment(pairs, weight, cap, plan.open_sites, serve_all=True,
                           pair_cost=_pair_cost(params, weight, pairs), model="cflp", demand_ids=instance.demand.ids)
    fixed = float(rules.cost[plan.open_sites].sum())
    _, nearest_minutes = nearest_open_site(instance.travel, plan.open_sites)
    served = best.covered > 1 - 1e-6
    return Evaluation(
        objective=fixed + best.cost, covered_weight=float(weight @ best.covered), total_weight=float(weight.sum()),
        total_cost=fixed,
        sites=sites_table(instance, plan.open_sites, rules, load=best.load, capacity=cap),
        coverage=coverage_table(instance, weight, np.where(served, best.site, -1), best.minutes, served,
                                share=best.covered, nearest_open_minutes=nearest_minutes),
        stats={"fixed_cost": fixed, "assignment_cost": best.cost, "assignment_method": best.method},
    )


def greedy_cflp(instance: Instance, params: CflpParams, rules: SiteRules,
                deadline: float | None = None) -> np.ndarray | None:
    """Greedy plan: open the site serving the most unserved demand per yuan until every point is served.

    A site's gain is ``min(cap_j, unserved demand it reaches)``, per unit of its conversion cost (a free site
    first); it takes its nearest unserved demand up to its capacity
    (:func:`~siting.models.capacitated.fill_greedy`); then sites close while what they serve fits elsewhere for
    less than they cost (:func:`~siting.heuristics.cflp_drop.close_sites`). None when the budget, the site limit
    or ``deadline`` stops it first, or when the plan's best assignment cannot serve everyone.

    >>> from siting.testing import random_instance
    >>> inst = random_instance(6, 4, seed=2, capacity=True, density=1.0)
    >>> plan = greedy_cflp(inst, CflpParams(), SiteRules.of(inst))
    >>> plan is None or bool(plan.any())
    True
    """
    weight = demand_weight(instance, params.weight_column)
    return _greedy(instance, params, rules, weight, cflp_pairs(instance, weight, rules, params.per_person), deadline)


def _greedy(instance: Instance, params: CflpParams, rules: SiteRules, weight: np.ndarray,
            pairs: tuple[np.ndarray, ...], deadline: float | None) -> np.ndarray | None:
    """:func:`greedy_cflp` on the weights and :func:`cflp_pairs` its caller already has."""
    need = weight > 0 if params.per_person else np.ones(instance.n_demand, bool)
    load = np.where(need, weight, 0.0)
    unserved = load.copy()
    cap = site_capacity(instance, params.capacity)
    took = np.zeros(pairs[0].shape[0])
    open_sites = fill_greedy(rules, params.limits(), pairs, cap, unserved, deadline, per_cost=True, took=took)
    if np.any(unserved > 1e-9 * max(1.0, float(weight.max(initial=0.0)))):
        return None
    open_sites, _, _ = close_sites(pairs[0], pairs[1], _pair_cost(params, weight, pairs), load, cap, open_sites,
                                   rules.free, rules.cost, took, deadline=deadline)
    return open_sites


def _warm_start(instance: Instance, params: CflpParams, rules: SiteRules, built: Built,
                deadline: float | None) -> np.ndarray | None:
    """The greedy plan with its cheapest assignment as a column vector (None without a plan that fits)."""
    weight = demand_weight(instance, params.weight_column)
    pairs = cflp_pairs(instance, weight, rules, params.per_person)
    open_sites = _greedy(instance, params, rules, weight, pairs, deadline)
    if open_sites is None:
        return None
    try:
        best = best_assignment(pairs, weight, site_capacity(instance, params.capacity), open_sites, serve_all=True,
                               pair_cost=_pair_cost(params, weight, pairs), model="cflp")
    except VerificationError:
        return None   # the nearest-first filling served everyone; split assignment found no way: no start
    return assignment_vector(built.program, open_sites, best.share)


#: up to this many table pairs the model's bound is not computed: HiGHS proves these itself (OR-Library's
#: largest, capa-c, have 100,000; with the bound cap41-134 took 22.0 s in all instead of 18.6 s)
BOUND_MIN_PAIRS = 100_000


def _bound(instance: Instance, params: CflpParams, rules: SiteRules, known: float | None = None,
           deadline: float | None = None) -> float | None:
    """The Lagrangian lower bound of :mod:`siting.heuristics.cflp_lagrangian`, before ``deadline``.

    Its steps aim at ``known``, else the greedy plan's cost; None when there is no plan to aim at. At 19,378 x
    2,000 HiGHS had no bound of its own after 20 s (its root LP unfinished).
    """
    if instance.travel.minutes.shape[0] <= BOUND_MIN_PAIRS:
        return None
    weight = demand_weight(instance, params.weight_column)
    pairs = cflp_pairs(instance, weight, rules, params.per_person)
    if known is None:
        plan = _greedy(instance, params, rules, weight, pairs, deadline)
        if plan is None:
            return None
        try:
            known = _evaluate(instance, params, rules, Plan(open_sites=plan)).objective
        except VerificationError:
            return None
    limits = params.limits()
    out = cflp_bound(pairs[0], pairs[1], _pair_cost(params, weight, pairs), weight, instance.n_demand,
                     instance.n_sites, cost=rules.cost, capacity=site_capacity(instance, params.capacity),
                     fixed_open=rules.fixed_open, free=rules.free,
                     counts=rules.counts, budget=limits.budget, max_sites=limits.max_sites, target=known,
                     deadline=deadline)
    return out.bound


#: the bound's share of the time after the warm start: BOUND_SHARE_SMALL up to BOUND_MIN_PAIRS table pairs, growing to
#: BOUND_SHARE_LARGE at BOUND_LARGE_PAIRS, where HiGHS does not finish its root LP within minutes and the Lagrangian
#: keeps rising (19,371 x 2,000, 431,000 pairs: HiGHS's bound 419.5 M after 300 s; the Lagrangian alone 432.2 M in
#: 60 s, 316.5 M in the 4.5 s a quarter of a 20-s solve gave it)
BOUND_SHARE_SMALL = 0.25
BOUND_SHARE_LARGE = 0.75
BOUND_LARGE_PAIRS = 400_000


def bound_share(built: Built) -> float:
    """The share of the time left the Lagrangian bound may use, by the program's table pairs (above)."""
    pairs = float(built.stats.get("n_pairs", 0))
    grow = (pairs - BOUND_MIN_PAIRS) / (BOUND_LARGE_PAIRS - BOUND_MIN_PAIRS)
    return float(BOUND_SHARE_SMALL + (BOUND_SHARE_LARGE - BOUND_SHARE_SMALL) * np.clip(grow, 0.0, 1.0))


def verify_share(built: Built) -> float:
    """The evaluation's share: :func:`~siting.models.capacitated.assignment_verify_share` of what the bound leaves.

    That share is of the time left after the warm start; the bound (above ``BOUND_MIN_PAIRS``) has taken its
    own share of it by then. 19,371 x 2,000, 20 s: the solve returned after 22.5 s with the plain share.
    """
    share = assignment_verify_share(built)
    if float(built.stats.get("n_pairs", 0)) <= BOUND_MIN_PAIRS:
        return share        # no bound is computed: nothing took its share
    return min(0.9, share / (1.0 - bound_share(built)))


MODEL = Model(
    name="cflp", params=CflpParams, sense=Sense.MINIMIZE, build=_build, evaluate=_evaluate,
    warm_start=_warm_start, bound=_bound, bound_share=bound_share,
    verify_share=verify_share,
    covered="assigned to an open site (every demand point is, within capacities)",
    summary="serve every demand point within site capacities at least fixed plus assignment cost",
)


def solve_cflp(instance: Instance, *, backend: str = "auto", options: SolveOptions | None = None,
               **params: Any) -> Result:
    """Minimise conversion cost plus assignment cost, serving every demand point within capacities.

    Parameters
    ----------
    instance : Instance
        ``Sites.cost`` = fixed cost, ``Sites.capacity`` (or ``capacity``) = capacity; travel minutes
        = per-person cost (``per_person=True``) or total assignment cost (``False``).
    backend, options : see :func:`siting.models.driver.solve_model`
    **params : the fields of :class:`CflpParams` (``per_person``, ``rate`` = currency per person-minute or per
        table unit, ``weight_column``, ``capacity``, ``budget`` / ``max_sites`` = optional limits on the
        fixed-cost part / counted sites)

    Returns
    -------
    Result
        ``objective`` = recomputed fixed + assignment cost; ``total_cost`` = the fixed part; ``stats``:
        ``fixed_cost``, ``assignment_cost``; ``sites`` has ``load`` and ``capacity``; ``coverage`` has
        ``share`` (1 for every served point). A demand point with no usable site, or too little usable
        capacity, gives status ``infeasible`` with the reason in ``message``.
    """
    return solve_model(MODEL, instance, CflpParams.from_kwargs(params), backend=backend, options=options)

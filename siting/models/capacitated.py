"""Capacitated coverage: maximise the weight *assigned* to open sites within the walking threshold.

Each site serves at most its capacity; a demand point's weight may be split between sites.

Example
-------
>>> from siting.testing import random_instance
>>> r = solve_capacitated(random_instance(6, 4, seed=2, capacity=True), threshold_min=10, budget=8)
>>> r.status.value, bool((r.sites["load"] <= r.sites["capacity"]).all())
('optimal', True)
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from ..data.instance import Instance
from ..errors import VerificationError
from ..heuristics.credit_lagrangian import credit_bound
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ..reach import nearest_open_site
from ..result import Result
from ..rules import Limits, SiteRules
from .assignment import best_assignment
from .base import Built, Evaluation, Model, Plan
from .driver import solve_model
from .greedy_sites import ratio_greedy
from .params import (
    Check,
    ModelParams,
    ParamError,
    budget_param,
    max_sites_param,
    number,
    param,
    speed_group_param,
    threshold_param,
    weight_column_param,
)
from .parts import Rows, demand_weight, milp
from .tables import coverage_table, sites_table

__all__ = ["MODEL", "CapacitatedParams", "CapacityParams", "solve_capacitated", "build_capacitated", "greedy_capacitated",
           "site_capacity", "fill_greedy", "assignment_program", "assignment_vector",
           "assignment_verify_share", "check_assignment", "capacity_param"]


def _capacity_value() -> Check:
    """A number > 0 (every site: 0 would serve no one), or one value per site (>= 0, NaN = unlimited), as a tuple."""
    scalar = number(gt=0)

    def check(v: Any) -> float | tuple[float, ...]:
        if isinstance(v, numbers.Real) and not isinstance(v, bool):
            return scalar(v)
        if isinstance(v, (str, bytes, bool)) or not hasattr(v, "__len__"):
            raise ValueError(f"expected a number or one number per site, got {v!r}")
        try:
            values = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise ValueError("expected a number or one number per site (NaN = unlimited)") from None
        if values.ndim != 1:
            raise ValueError(f"expected one number per site, got an array of shape {values.shape}")
        if np.any(values < 0):
            raise ValueError(f"capacities must be >= 0 (NaN = unlimited), got {float(values[values < 0][0]):g}")
        return tuple(values.tolist())
    return check


def capacity_param() -> Any:
    """The ``capacity`` field: a scalar from a scenario, or (Python) a per-site sequence checked at build."""
    return param(None, check=_capacity_value(),
                 doc="capacity of every site (weight units), overriding the candidates' capacity column; "
                     "Python callers may give one value per site (NaN = unlimited)")


@dataclass(frozen=True, kw_only=True)
class CapacityParams(ModelParams):
    """Base of the parameters with a ``capacity`` override (a per-site tuple is not written to solution.json)."""

    capacity: float | tuple[float, ...] | None = capacity_param()

    def described(self) -> dict[str, Any]:
        """The parameters for ``solution.json``; a per-site capacity shows as its length."""
        out = super().described()
        if isinstance(self.capacity, tuple):
            out["capacity"] = f"per-site values ({len(self.capacity)})"
        return out


@dataclass(frozen=True, kw_only=True)
class CapacitatedParams(CapacityParams):
    """Parameters of :data:`MODEL` (capacitated coverage)."""

    model_name = "capacitated"
    threshold_min: float = threshold_param(doc="a demand point may be assigned to an open site within this many "
                                               "minutes")
    budget: float | None = budget_param()
    max_sites: int | None = max_sites_param()
    weight_column: str = weight_column_param()
    speed_group: str | None = speed_group_param()

    def check_together(self) -> None:
        """A maximisation needs a limit (budget or max_sites)."""
        self.require_a_limit()


def site_capacity(instance: Instance, capacity: float | tuple[float, ...] | np.ndarray | None = None) -> np.ndarray:
    """Per-site capacity (``inf`` = unlimited): ``capacity`` (scalar or per site) or ``Sites.capacity``.

    NaN means unlimited. Raises a one-line :class:`ParamError` for a per-site ``capacity`` of the wrong
    length or with negative values.
    """
    n = instance.n_sites
    if capacity is None:
        cap = instance.sites.capacity if instance.sites.capacity is not None else np.full(n, np.inf)
        cap = np.asarray(cap, dtype=float)
    elif np.ndim(capacity) == 0:
        cap = np.full(n, float(capacity))  # type: ignore[arg-type]
    else:
        cap = np.asarray(capacity, dtype=float)
        if cap.shape != (n,):
            raise ParamError(f"expected one value per site ({n}), got {cap.shape[0] if cap.ndim else 1}",
                             param="capacity")
    if np.any(cap < 0):
        raise ParamError(f"capacities must be >= 0, got {float(cap[cap < 0][0]):g}", param="capacity")
    return np.where(np.isnan(cap), np.inf, cap)


def assignment_program(instance: Instance, pairs: tuple[np.ndarray, ...], *, weight: np.ndarray, cap: np.ndarray,
                       rules: SiteRules, sense: Sense, site_cost: np.ndarray, pair_cost: np.ndarray,
                       assign_equal: bool, limits: Limits, name: str) -> LinearProgram:
    """The assignment program shared by capacitated coverage and CFLP.

    ``y_j`` binary, ``x_ij`` in [0, 1] per pair; rows ``sum_j x_ij (=|<=) 1``, ``sum_i w_i x_ij <= cap_j y_j``
    (finite capacities) and ``x_ij <= y_j``. Column blocks ``"site"`` then ``"assign"`` (one column per pair, in the order of ``pairs``).
    """
    d, s = pairs[0], pairs[1]
    n, npairs = instance.n_sites, d.shape[0]
    active, row = np.unique(d, return_inverse=True)
    pair = np.arange(npairs)
    rows = Rows(n + npairs)
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
    rows.add_limits(slice(0, n), rules, limits)
    lower = np.concatenate([rules.lower, np.zeros(npairs)])
    upper = np.concatenate([rules.upper, np.ones(npairs)])
    integer = np.concatenate([np.ones(n, bool), np.zeros(npairs, bool)])
    return milp(sense, np.concatenate([site_cost, pair_cost]), rows, lower, upper, integer, name,
                {"site": (0, n), "assign": (n, n + npairs)})


def decode_assignment(program: LinearProgram) -> Any:
    """Decoder of an :func:`assignment_program` vector: open sites and the ``"assign"`` block."""

    def decode(x: np.ndarray) -> Plan:
        return Plan(open_sites=program.block(x, "site") > 0.5, assignment=program.block(x, "assign").copy())
    return decode


def check_assignment(instance: Instance, pairs: tuple[np.ndarray, ...], x_assign: object,
                     open_mask: np.ndarray, *, weight: np.ndarray, cap: np.ndarray, model: str,
                     assign_equal: bool) -> tuple[np.ndarray, np.ndarray]:
    """Recompute shares and loads of an assignment (one value per pair) from the raw pairs; raise on a broken row.

    Returns ``(share_i, load_j)``.
    """
    d, s = pairs[0], pairs[1]
    if not isinstance(x_assign, np.ndarray) or x_assign.shape != d.shape:
        got = "none" if x_assign is None else f"{np.size(cast(Any, x_assign))} values"
        raise VerificationError(f"{model}: the plan's assignment ({got}) does not match the {d.shape[0]} pairs")
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


def coverage_pairs(instance: Instance, weight: np.ndarray, rules: SiteRules,
                   threshold_min: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(demand, site, minutes)`` of the table pairs with ``t_ij <= threshold_min``, ``w_i > 0``, usable site.

    Sorted by demand then site (the column order of :func:`build_capacitated`).
    """
    tr = instance.travel
    keep = (tr.minutes <= threshold_min) & (weight[tr.demand_index] > 0) & rules.usable[tr.site_index]
    d, s, t = tr.demand_index[keep], tr.site_index[keep], tr.minutes[keep]
    order = np.lexsort((s, d))
    return d[order], s[order], t[order]


def build_capacitated(instance: Instance, params: CapacitatedParams, rules: SiteRules | None = None) -> LinearProgram:
    r"""The capacitated maximal-coverage program (``rules`` default: :meth:`SiteRules.of` the instance).

    Notes
    -----
    Pairs ``P_r`` = table pairs with ``t_ij <= r``, ``w_i > 0`` and a usable site (:func:`coverage_pairs`):

    .. math::

        \max \sum_{(i,j)\in P_r} w_i z_{ij} \quad\text{s.t.}\quad \sum_j z_{ij} \le 1,\quad
        \sum_i w_i z_{ij} \le \mathrm{cap}_j y_j,\quad z_{ij} \le y_j,\quad
        \sum_j c_j y_j \le B,\; \sum_{j\in C} y_j \le p,\; y \in \{0,1\},\; z \in [0,1]

    Split assignment is allowed (``z`` continuous): a demand point may be served partly by several sites.
    """
    rules = rules or SiteRules.of(instance)
    weight = demand_weight(instance, params.weight_column)
    cap = site_capacity(instance, params.capacity)
    pairs = coverage_pairs(instance, weight, rules, params.threshold_min)
    return assignment_program(instance, pairs, weight=weight, cap=cap, rules=rules, sense=Sense.MAXIMIZE,
                              site_cost=np.zeros(instance.n_sites), pair_cost=weight[pairs[0]],
                              assign_equal=False, limits=params.limits(), name="capacitated")


def _build(instance: Instance, params: CapacitatedParams, rules: SiteRules) -> Built:
    program = build_capacitated(instance, params, rules)
    return Built(program, decode=decode_assignment(program), stats={"n_pairs": program.n_cols - instance.n_sites})


def _evaluate(instance: Instance, params: CapacitatedParams, rules: SiteRules, plan: Plan) -> Evaluation:
    """Figures of the plan's best assignment (:func:`~siting.models.assignment.best_assignment`).

    The solver's assignment, when the plan has one, is only checked for feasibility: every backend
    reports the same figures for the same plan.
    """
    weight = demand_weight(instance, params.weight_column)
    cap = site_capacity(instance, params.capacity)
    pairs = coverage_pairs(instance, weight, rules, params.threshold_min)
    if plan.assignment is not None:
        check_assignment(instance, pairs, plan.assignment, plan.open_sites, weight=weight, cap=cap,
                         model="capacitated", assign_equal=False)
    best = best_assignment(pairs, weight, cap, plan.open_sites, model="capacitated")
    _, nearest_minutes = nearest_open_site(instance.travel, plan.open_sites)
    return Evaluation(
        objective=best.assigned_weight, covered_weight=best.assigned_weight, total_weight=float(weight.sum()),
        total_cost=float(rules.cost[plan.open_sites].sum()),
        sites=sites_table(instance, plan.open_sites, rules, load=best.load, capacity=cap),
        coverage=coverage_table(instance, weight, best.site, best.minutes, best.site >= 0, share=best.covered,
                                nearest_open_minutes=nearest_minutes),
        stats={"uncapacitated_covered": float(weight[nearest_minutes <= params.threshold_min].sum()),
               "assignment_method": best.method},
    )


def greedy_capacitated(instance: Instance, params: CapacitatedParams, rules: SiteRules,
                       deadline: float | None = None) -> np.ndarray:
    """Greedy plan: repeatedly open the site that can take the most unserved weight (per unit cost under a budget).

    A site's gain is ``g_j = min(k_j, sum_{i in N_j} r_i)``: its capacity ``k_j`` or the unserved weight ``r_i`` it
    reaches within the threshold, one ``bincount`` over the pairs per step. The opened site takes its nearest
    unserved weight up to its capacity (the last point in part). Stops when nothing fits, nothing gains, the
    site limit is reached or ``deadline`` passes. The figures of the plan come from its best assignment, not
    from this one.

    >>> from siting.testing import random_instance
    >>> inst = random_instance(6, 4, seed=2, capacity=True)
    >>> greedy_capacitated(inst, CapacitatedParams(threshold_min=10, budget=8), SiteRules.of(inst)).nonzero()[0]
    array([3])
    """
    weight = demand_weight(instance, params.weight_column)
    pairs = coverage_pairs(instance, weight, rules, params.threshold_min)
    return fill_greedy(rules, params.limits(), pairs, site_capacity(instance, params.capacity),
                       weight.astype(float), deadline)


def fill_greedy(rules: SiteRules, limits: Limits, pairs: tuple[np.ndarray, ...], cap: np.ndarray,
                unserved: np.ndarray, deadline: float | None = None, *, per_cost: bool | None = None,
                took: np.ndarray | None = None) -> np.ndarray:
    """The capacity-filling greedy of :func:`greedy_capacitated` and CFLP's over ``pairs`` (demand, site, minutes).

    The fixed-open sites serve first, then :func:`~siting.models.greedy_sites.ratio_greedy` with gain
    ``min(k_j, unserved weight in reach)``; ``unserved`` (per demand point) is updated in place, and ``took`` (per
    pair, when given) gains the weight each pair serves.
    """
    d, s, t = pairs[0], pairs[1], pairs[2]
    open_sites = rules.lower > 0
    for fixed in np.flatnonzero(open_sites):
        _serve(int(fixed), d, s, t, cap, unserved, took)

    def gain(candidates: np.ndarray) -> np.ndarray:
        return np.minimum(cap, np.bincount(s, weights=unserved[d], minlength=cap.shape[0]))

    return ratio_greedy(rules, limits, open_sites, gain, lambda j: _serve(j, d, s, t, cap, unserved, took),
                        deadline, per_cost=per_cost)


def _serve(j: int, d: np.ndarray, s: np.ndarray, t: np.ndarray, cap: np.ndarray, unserved: np.ndarray,
           took: np.ndarray | None = None) -> None:
    """Site ``j`` takes its nearest unserved weight up to its capacity (in place on ``unserved`` and ``took``).

    ``(d, s, t)``: the pairs it may serve over (demand, site, minutes).
    """
    mine = np.flatnonzero(s == j)
    mine = mine[np.argsort(t[mine], kind="stable")]
    want = unserved[d[mine]]
    before = np.cumsum(want) - want
    take = np.clip(cap[j] - before, 0.0, want)
    np.subtract.at(unserved, d[mine], take)
    if took is not None:
        took[mine] += take


def _warm_start(instance: Instance, params: CapacitatedParams, rules: SiteRules, built: Built,
                deadline: float | None) -> np.ndarray | None:
    """The greedy plan with its best assignment as a column vector (None when it does not fit the program)."""
    open_sites = greedy_capacitated(instance, params, rules, deadline)
    weight = demand_weight(instance, params.weight_column)
    pairs = coverage_pairs(instance, weight, rules, params.threshold_min)
    best = best_assignment(pairs, weight, site_capacity(instance, params.capacity), open_sites, model="capacitated")
    return assignment_vector(built.program, open_sites, best.share)


def assignment_verify_share(built: Built) -> float:
    """The share of the time left to keep for evaluating an assignment model's plan: its assignment LP.

    5 % up to 250,000 pairs, growing with them to 25 % at 1,100,000. Measured at 60,000 x 5,000 (1.1 M pairs,
    60 s): evaluation 6.3 s and HiGHS 3.6 s past its own limit; the solve took 69-71 s with 5 % kept, 65 s with
    15 %, 62 s with 25 %. At 20,000 x 2,000 (250,000 pairs) 25 % cost HiGHS its root LP (gap 0.87 -> 3.3 %).
    """
    pairs = float(built.stats.get("n_pairs", 0))
    return float(np.clip(0.05 + 0.2 * (pairs - 250_000) / 850_000, 0.05, 0.25))


def assignment_vector(program: LinearProgram, open_sites: np.ndarray, share: np.ndarray) -> np.ndarray | None:
    """A plan and its assignment (one share per pair) as an :func:`assignment_program` vector.

    The inverse of :func:`decode_assignment`; None when it breaks a row (a warm start the driver would refuse).
    """
    x = np.zeros(program.n_cols)
    start, stop = program.blocks["site"]
    x[start:stop] = open_sites
    start, stop = program.blocks["assign"]
    x[start:stop] = share
    # the assignment LP's tolerances may leave a capacity row a hair over
    return x if program.max_violation(x, relative=True) <= 1e-8 else None


def _bound(instance: Instance, params: CapacitatedParams, rules: SiteRules, known: float | None = None,
           deadline: float | None = None) -> float:
    """The Lagrangian bound of :mod:`siting.heuristics.credit_lagrangian` with the sites' capacities.

    HiGHS's own bound was its root LP's when that finished (20,000 x 2,000 at 20 s: a gap of 0.87 % on one run,
    none on another, the LP unfinished); this one needs no LP (steps aimed at ``known``, else the greedy plan).
    """
    weight = demand_weight(instance, params.weight_column)
    cap = site_capacity(instance, params.capacity)
    d, s, t = coverage_pairs(instance, weight, rules, params.threshold_min)
    if known is None:
        best = best_assignment((d, s, t), weight, cap, greedy_capacitated(instance, params, rules, deadline),
                               model="capacitated")
        known = best.assigned_weight
    limits = params.limits()
    out = credit_bound(d, s, weight[d], instance.n_demand, instance.n_sites, cost=rules.cost,
                       fixed_open=rules.fixed_open,
                       free=rules.free, counts=rules.counts, budget=limits.budget,
                       max_sites=limits.max_sites, target=known, deadline=deadline, capacity=cap, load=weight[d])
    return out.bound


MODEL = Model(
    name="capacitated", params=CapacitatedParams, sense=Sense.MAXIMIZE, build=_build, evaluate=_evaluate,
    warm_start=_warm_start, bound=_bound,
    verify_share=assignment_verify_share,
    covered="assigned to an open site within capacity and threshold (split assignment allowed)",
    summary="maximise the weight assigned to open sites within the threshold, each site serving at most its "
            "capacity",
)


def solve_capacitated(instance: Instance, *, backend: str = "auto", options: SolveOptions | None = None,
                      **params: Any) -> Result:
    """Maximise the weight assigned within ``threshold_min`` with site capacities, under a budget.

    Parameters
    ----------
    instance : Instance
    backend, options : see :func:`siting.models.driver.solve_model`
    **params : the fields of :class:`CapacitatedParams` (``threshold_min``, ``budget`` and/or ``max_sites``,
        ``weight_column``, ``capacity`` = a number or one value per site overriding ``Sites.capacity``;
        NaN or absent = unlimited)

    Returns
    -------
    Result
        ``covered_weight`` = ``objective`` = the plan's largest assignable weight (the best assignment of
        the open sites, solved in verification, not the solver's); ``sites`` has ``load`` and ``capacity``;
        ``coverage`` has ``share`` (assigned fraction), the main site (``covered`` exactly when it is named)
        and ``nearest_open_minutes``; ``stats``: ``uncapacitated_covered`` (what the plan covers without
        capacities), ``assignment_method``.
    """
    return solve_model(MODEL, instance, CapacitatedParams.from_kwargs(params), backend=backend, options=options)

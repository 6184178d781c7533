"""The coverage pipeline: instance -> coverage problem -> (presolve, strategy, backend) -> verified result.

Examples
--------
>>> import pandas as pd
>>> from siting.data import instance_from_frames
>>> demand = pd.DataFrame({"id": ["a", "b", "c"], "population": [50, 30, 40], "x": [0, 1, 2], "y": [0, 0, 0]})
>>> sites = pd.DataFrame({"id": ["s1", "s2"], "cost": [10.0, 10.0], "x": [0, 2], "y": [0, 0]})
>>> times = pd.DataFrame({"demand_id": ["a", "b", "b", "c"], "candidate_id": ["s1", "s1", "s2", "s2"],
...                       "minutes": [1.0, 9.0, 4.0, 2.0]})
>>> inst = instance_from_frames(demand, sites, times)
>>> res = solve(inst, model="mclp", threshold_min=5, budget=10)
>>> res.status.value, res.selected, res.covered_population
('optimal', ('s2',), 70.0)
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from .backends.base import Termination
from .build import coverage_problem
from .data.instance import Instance, SiteStatus
from .errors import InfeasibleError
from .options import SolveOptions
from .problem import CoverageOutcome, CoverageProblem, ModelType
from .result import Result, Status, status_from
from .verify import check_claims, check_plan, coverage_table

__all__ = ["solve", "relative_gap"]


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``|bound - objective| / max(|objective|, 1e-9)`` (the conservative denominator), None if either is missing."""
    if objective is None or bound is None or not np.isfinite(bound):
        return None
    return abs(bound - objective) / max(abs(objective), 1e-9)


def _solve_problem(problem: CoverageProblem, backend: str, strategy: str, options: SolveOptions) -> CoverageOutcome:
    from .strategy import solve_coverage

    return solve_coverage(problem, backend=backend, strategy=strategy, options=options)


def _sites_table(instance: Instance, check, weight: np.ndarray) -> pd.DataFrame:
    sites = instance.sites
    n = len(sites)
    served = np.bincount(
        check.nearest_site[check.covered], weights=weight[check.covered], minlength=n
    ) if check.covered.any() else np.zeros(n)
    return pd.DataFrame(
        {
            "site_id": sites.ids,
            "status": [str(s) for s in sites.status],
            "cost": sites.cost.astype(float),
            "selected": check.new_sites,
            "open": check.open_sites,
            "served_population": served,
            "x": sites.x,
            "y": sites.y,
        }
    )


def solve(
    instance: Instance,
    *,
    model: ModelType | str = ModelType.MCLP,
    threshold_min: float,
    budget: float | None = None,
    max_sites: int | None = None,
    target_coverage: float | None = None,
    weight_column: str = "population",
    backend: str = "highs",
    strategy: str = "auto",
    options: SolveOptions = SolveOptions(),
) -> Result:
    """Site facilities for a coverage model and return a verified :class:`~siting.result.Result`.

    Parameters
    ----------
    instance : the demand, sites and travel times
    model : ``"mclp"`` (max covered weight under budget / max_sites), ``"lscp"`` (min cost to cover
        every coverable point) or ``"partial"`` (min cost to cover ``target_coverage`` of the weight)
    threshold_min : a point is covered when an open site is within this many minutes
    budget, max_sites : limits on the new sites (existing sites are free and not counted)
    backend : solver backend name (``highs``, ``cbc``, ``scipy``, ``ortools``)
    strategy : ``auto``, ``exact``, ``hybrid`` or ``heuristic`` (see :mod:`siting.strategy`)

    Returns
    -------
    Result
        Figures recomputed from the raw inputs (:mod:`siting.verify`). Infeasibility proven from
        the data (budget below the required sites' cost, unreachable targets) gives a result with
        status ``infeasible`` and the reason in ``message``.
    """
    started = time.perf_counter()
    model = ModelType(model)
    total_weight = float(np.asarray(instance.demand.weight(weight_column), dtype=float).sum()) \
        if weight_column == "population" or weight_column in instance.demand.groups else 0.0
    # the same parameters define the problem and, independently, the plan's verification
    spec = dict(model=model, threshold_min=threshold_min, budget=budget, max_sites=max_sites,
                target_coverage=target_coverage, weight_column=weight_column)
    try:
        problem = coverage_problem(instance, **spec)
    except InfeasibleError as exc:
        return _no_plan(model, Termination.INFEASIBLE, str(exc), backend, started, total_weight)

    outcome = _solve_problem(problem, backend, strategy, options)
    if not outcome.has_solution:
        status = status_from(outcome.termination, False)
        message = outcome.stats.get("solver_message") or f"{backend} found no feasible plan"
        return _no_plan(model, outcome.termination, message, outcome.method, started, total_weight,
                        bound=outcome.bound, stats=outcome.stats, status=status)

    check = check_plan(instance, outcome.open_sites, **spec)
    verified = check_claims(
        check,
        model=model,
        objective=outcome.objective,
        bound=outcome.bound,
        proven_optimal=outcome.termination is Termination.OPTIMAL,
    )
    weight = np.asarray(instance.demand.weight(weight_column), dtype=float)
    stats: dict[str, Any] = dict(outcome.stats)
    stats["threshold_min"] = threshold_min
    stats["weight_column"] = weight_column
    stats["n_demand"] = instance.n_demand
    stats["n_sites"] = instance.n_sites
    stats["n_pairs"] = len(instance.travel)
    uncoverable = instance.demand.ids[~check.coverable]
    stats["uncoverable_count"] = int(uncoverable.size)
    stats["uncoverable"] = [str(v) for v in uncoverable[:1000]]
    sites_df = _sites_table(instance, check, weight)
    selected = tuple(str(v) for v in instance.sites.ids[check.new_sites])
    return Result(
        model=str(model),
        status=status_from(outcome.termination, True),
        termination=outcome.termination,
        has_solution=True,
        objective=verified,
        best_bound=outcome.bound,
        gap=relative_gap(verified, outcome.bound),
        selected=selected,
        total_cost=check.total_cost,
        covered_population=check.covered_weight,
        total_population=check.total_weight,
        solver=outcome.method,
        seconds=time.perf_counter() - started,
        sites=sites_df,
        coverage=coverage_table(instance, check, weight_column),
        stats=stats,
        message=_describe(model, check, instance),
    )


def _describe(model: ModelType, check, instance: Instance) -> str:
    share = check.covered_weight / check.total_weight if check.total_weight else 0.0
    return (
        f"{int(check.new_sites.sum())} new sites, cost {check.total_cost:,.0f}, "
        f"{share:.1%} of the weight covered"
    )


def _no_plan(
    model: ModelType,
    termination: Termination,
    message: str,
    solver: str,
    started: float,
    total_weight: float,
    *,
    bound: float | None = None,
    stats: dict | None = None,
    status: Status | None = None,
) -> Result:
    return Result(
        model=str(model),
        status=status or status_from(termination, False),
        termination=termination,
        has_solution=False,
        objective=None,
        best_bound=bound,
        gap=None,
        selected=(),
        total_cost=0.0,
        covered_population=0.0,
        total_population=total_weight,
        solver=solver,
        seconds=time.perf_counter() - started,
        stats=dict(stats or {}),
        message=message,
    )

"""The coverage models on the model contract: MCLP, LSCP and partial covering.

All three are solved by :func:`siting.strategy.solve_coverage` (presolve, greedy, local search, Lagrangian
bounds and the MIP of :mod:`siting.formulations.coverage`, chosen by the ``strategy`` option), through a
``search`` hook that builds the :class:`~siting.problem.CoverageProblem` (:func:`siting.build.coverage_problem`).
``evaluate`` recomputes every figure from the raw travel triples (:func:`siting.verify.check_plan`), never from
the coverage matrix the search used.

Examples
--------
>>> from siting.testing import random_instance
>>> inst = random_instance(8, 5, seed=2)
>>> r = solve_mclp(inst, threshold_min=10, max_sites=2)
>>> r.status.value, r.objective, r.selected
('optimal', 238.0, ('s0', 's1'))
>>> solve_lscp(inst, threshold_min=10).objective
6.0
>>> r = solve_partial(inst, threshold_min=10, target_coverage=0.5)
>>> r.objective, r.covered_weight >= 0.5 * r.total_weight
(2.0, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..build import coverage_problem
from ..data.instance import Instance
from ..options import SolveOptions
from ..problem import ModelType
from ..program import Sense
from ..reach import open_within
from ..result import Result
from ..rules import REL_TOL, SiteRules
from ..strategy import solve_coverage
from ..verify import check_plan, sole_reach
from .base import Evaluation, Marginal, Model, Outcome, Plan, SolveContext
from .driver import solve_model
from .params import (
    ModelParams,
    budget_param,
    max_sites_param,
    number,
    param,
    speed_group_param,
    threshold_param,
    weight_column_param,
)
from .parts import demand_weight
from .tables import coverage_table, served_by_site, sites_table

__all__ = ["MCLP", "LSCP", "PARTIAL", "MCLPParams", "LSCPParams", "PartialParams", "solve_mclp", "solve_lscp",
           "solve_partial"]

#: share of the time left that the search may use; the rest is for evaluation and the result tables
_SEARCH_SHARE = 0.95
#: uncoverable demand ids listed in ``stats["uncoverable"]`` (the count is always complete)
LISTED_UNCOVERABLE = 1000


@dataclass(frozen=True, kw_only=True)
class _CoverageParams(ModelParams):
    threshold_min: float = threshold_param()
    budget: float | None = budget_param()
    max_sites: int | None = max_sites_param()
    weight_column: str = weight_column_param()
    speed_group: str | None = speed_group_param()

    @property
    def target(self) -> float | None:
        return None


@dataclass(frozen=True, kw_only=True)
class MCLPParams(_CoverageParams):
    """Parameters of :data:`MCLP`: maximise the covered weight under a budget and/or a site limit."""

    model_name = "mclp"

    def check_together(self) -> None:
        """MCLP needs a limit: without one every site opens."""
        self.require_a_limit()


@dataclass(frozen=True, kw_only=True)
class LSCPParams(_CoverageParams):
    """Parameters of :data:`LSCP`: cover every coverable demand point at least cost."""

    model_name = "lscp"


@dataclass(frozen=True, kw_only=True)
class PartialParams(_CoverageParams):
    """Parameters of :data:`PARTIAL`: cover ``target_coverage`` of the total weight at least cost."""

    model_name = "partial"
    target_coverage: float = param(check=number(gt=0, le=1),
                                   doc="share of the total weight (0-1] the plan must cover within the threshold")

    @property
    def target(self) -> float | None:
        """The coverage target (share of the total weight)."""
        return self.target_coverage


def _search(instance: Instance, params: _CoverageParams, rules: SiteRules, ctx: SolveContext) -> Outcome:
    """Build the coverage problem and run the chosen strategy on what is left of the time limit."""
    weight = demand_weight(instance, params.weight_column)
    problem = coverage_problem(instance, model=params.model_name, threshold_min=params.threshold_min,
                               budget=params.budget, max_sites=params.max_sites, target_coverage=params.target,
                               weight=weight, rules=rules)
    out = solve_coverage(problem, backend=ctx.backend, strategy=ctx.strategy,
                         options=ctx.options_now(share=_SEARCH_SHARE))
    stats = dict(out.stats, search_seconds=out.seconds)
    plan = None if out.open_sites is None else Plan(open_sites=out.open_sites | rules.existing)
    raw_mip = stats.get("mip")
    mip: dict[str, Any] = raw_mip if isinstance(raw_mip, dict) else {}
    message = str(stats.get("message") or (mip.get("solver_message") if plan is None else "") or "")
    return Outcome(plan, out.termination, out.objective, out.bound, out.method, stats, message)


def left_out_warning(weight: np.ndarray, left: np.ndarray, threshold_min: float) -> str:
    """The warning of a "cover everyone" plan (LSCP, backup's ``cover_all``) for the points it leaves out.

    ``left``: the points no usable site reaches within the threshold; the warning says how many, and what share of
    the weight.
    """
    share = float(weight[left].sum()) / max(float(weight.sum()), 1e-300)
    return (f"{int(left.sum())} demand point(s) ({share:.1%} of the weight) have no usable site within "
            f"{threshold_min:g} min and are left out of the cover (stats.uncoverable)")


def _evaluate(instance: Instance, params: _CoverageParams, rules: SiteRules, plan: Plan) -> Evaluation:
    """Coverage by the nearest open site from the raw triples; cost from the site table."""
    model = ModelType(params.model_name)
    weight = demand_weight(instance, params.weight_column)
    check = check_plan(instance, plan.open_sites, model=model, threshold_min=params.threshold_min,
                       target_coverage=params.target, weight=weight, rules=rules)
    uncoverable = instance.demand.ids[~check.coverable]
    served = served_by_site(instance.n_sites, check.nearest_site, weight, check.covered)
    warnings: tuple[str, ...] = ()
    if model is ModelType.LSCP and uncoverable.size:
        # "cover everyone" left some out by construction: the plan must not read as covering them
        warnings = (left_out_warning(weight, ~check.coverable, params.threshold_min),)
    return Evaluation(
        objective=check.covered_weight if model is ModelType.MCLP else check.total_cost,
        covered_weight=check.covered_weight, total_weight=check.total_weight, total_cost=check.total_cost,
        sites=sites_table(instance, check.open_sites, rules, served_weight=served),
        coverage=coverage_table(instance, weight, check.nearest_site, check.nearest_minutes, check.covered,
                                coverable=check.coverable),
        stats={"threshold_min": params.threshold_min, "n_demand": instance.n_demand, "n_sites": instance.n_sites,
               "n_pairs": len(instance.travel), "coverable_weight": float(weight[check.coverable].sum()),
               "uncoverable_count": int(uncoverable.size),
               "uncoverable": [str(v) for v in uncoverable[:LISTED_UNCOVERABLE]]},
        warnings=warnings,
    )


def _marginal(instance: Instance, params: _CoverageParams, rules: SiteRules, plan: Plan) -> Marginal:
    """What each open site alone covers, from the raw triples (one ``bincount``; :func:`siting.verify.sole_reach`).

    MCLP loses that weight; LSCP breaks its cover when a site alone reaches a coverable point; partial breaks
    its target when the weight left falls below it. LSCP and partial save the site's cost (a negative loss).
    """
    weight = demand_weight(instance, params.weight_column)
    alone = sole_reach(instance.travel, plan.open_sites, params.threshold_min, weight)
    model = ModelType(params.model_name)
    if model is ModelType.MCLP:
        return Marginal(alone, np.zeros(instance.n_sites, bool), alone)
    if model is ModelType.LSCP:
        coverable = open_within(instance.travel, rules.usable, params.threshold_min) > 0
        breaks = sole_reach(instance.travel, plan.open_sites, params.threshold_min, coverable.astype(float)) > 0
    else:
        covered = open_within(instance.travel, plan.open_sites, params.threshold_min) > 0
        need = float(params.target_coverage) * float(weight.sum()) * (1 - REL_TOL) - 1e-9 \
            if isinstance(params, PartialParams) else 0.0
        breaks = float(weight[covered].sum()) - alone < need
    return Marginal(-rules.cost, breaks, alone)


_COVERED = "within threshold_minutes of an open site"

MCLP = Model(
    name="mclp", params=MCLPParams, sense=Sense.MAXIMIZE, search=_search, evaluate=_evaluate, covered=_COVERED,
    marginal=_marginal, uses_strategy=True,
    summary="maximise the weight within the threshold of an open site, under a budget and/or a site limit",
)
LSCP = Model(
    name="lscp", params=LSCPParams, sense=Sense.MINIMIZE, search=_search, evaluate=_evaluate, covered=_COVERED,
    marginal=_marginal, uses_strategy=True,
    summary="least cost to cover every coverable demand point (the others are listed)",
)
PARTIAL = Model(
    name="partial", params=PartialParams, sense=Sense.MINIMIZE, search=_search, evaluate=_evaluate,
    covered=_COVERED, marginal=_marginal, uses_strategy=True,
    summary="least cost to cover a target share of the weight",
)


def _solve(model: Model[Any], instance: Instance, backend: str, strategy: str, options: SolveOptions | None,
           params: dict[str, Any]) -> Result:
    return solve_model(model, instance, model.params.from_kwargs(params), backend=backend, strategy=strategy,
                       options=options)


def solve_mclp(instance: Instance, *, backend: str = "auto", strategy: str = "auto",
               options: SolveOptions | None = None, **params: Any) -> Result:
    """Maximal covering under a budget; ``objective`` = covered weight.

    ``params``: the fields of :class:`MCLPParams` (``threshold_min``, ``budget``, ``max_sites``,
    ``weight_column``). See :func:`siting.models.driver.solve_model`.
    """
    return _solve(MCLP, instance, backend, strategy, options, params)


def solve_lscp(instance: Instance, *, backend: str = "auto", strategy: str = "auto",
               options: SolveOptions | None = None, **params: Any) -> Result:
    """Location set covering (:class:`LSCPParams`); ``objective`` = cost of the new sites."""
    return _solve(LSCP, instance, backend, strategy, options, params)


def solve_partial(instance: Instance, *, backend: str = "auto", strategy: str = "auto",
                  options: SolveOptions | None = None, **params: Any) -> Result:
    """Partial covering (:class:`PartialParams`, ``target_coverage`` required); ``objective`` = cost."""
    return _solve(PARTIAL, instance, backend, strategy, options, params)

"""From a validated :class:`~siting.data.instance.Instance` to a :class:`~siting.problem.CoverageProblem`.

Site statuses become bounds: ``existing`` and ``required`` sites are fixed open (existing
ones cost nothing and do not count toward ``max_sites``), ``excluded`` sites are fixed closed.
Infeasibility that the data alone proves is reported here, before any solver runs.
"""
from __future__ import annotations

import numpy as np

from .data.instance import Instance, SiteStatus
from .errors import InfeasibleError, InputError
from .problem import CoverageProblem, ModelType

__all__ = ["coverage_problem"]


def _fmt(amount: float) -> str:
    return f"{amount:,.0f}" if abs(amount) >= 100 else f"{amount:g}"


def coverage_problem(
    instance: Instance,
    *,
    model: ModelType | str,
    threshold_min: float,
    budget: float | None = None,
    max_sites: int | None = None,
    target_coverage: float | None = None,
    weight_column: str = "population",
) -> CoverageProblem:
    """Turn travel times and site statuses into the covering problem solved by every backend.

    Raises
    ------
    InfeasibleError
        when the required sites alone break the budget or the site limit, or when a partial
        target exceeds what all usable sites together can cover.
    InputError
        for a weight column the demand layer does not have, or a non-positive threshold.
    """
    model = ModelType(model)
    if not threshold_min > 0:
        raise InputError(f"threshold_minutes must be > 0, got {threshold_min}", column="threshold_minutes")
    sites = instance.sites
    try:
        weight = np.asarray(instance.demand.weight(weight_column), dtype=float)
    except KeyError:
        known = ["population", *instance.demand.groups]
        raise InputError(
            f"weight column '{weight_column}' is not in the demand layer (has: {', '.join(known)})",
            file=instance.demand.source,
            column=weight_column,
        ) from None

    existing = sites.mask(SiteStatus.EXISTING)
    required = sites.mask(SiteStatus.REQUIRED)
    excluded = sites.mask(SiteStatus.EXCLUDED)
    cost = np.where(existing, 0.0, sites.cost.astype(float))

    required_cost = float(cost[required].sum())
    if budget is not None and required_cost > budget * (1 + 1e-12):
        raise InfeasibleError(
            f"budget {_fmt(budget)} is below the cost of the {int(required.sum())} required sites "
            f"({_fmt(required_cost)})"
        )
    if max_sites is not None and int(required.sum()) > max_sites:
        raise InfeasibleError(f"max_sites {max_sites} is below the number of required sites ({int(required.sum())})")

    coverage = instance.travel.within(threshold_min)
    problem = CoverageProblem(
        model=model,
        coverage=coverage,
        demand_weight=weight,
        site_cost=cost,
        fixed_open=existing | required,
        fixed_closed=excluded,
        counts_toward_limit=~existing,
        budget=budget,
        max_sites=max_sites,
        target_coverage=target_coverage,
        total_weight=float(weight.sum()),
        site_origin=np.arange(len(sites)),
    )
    if model is ModelType.PARTIAL:
        if target_coverage is None or not 0 < target_coverage <= 1:
            raise InputError(f"target_coverage must be in (0, 1], got {target_coverage}", column="target_coverage")
        usable = (coverage @ (~excluded).astype(np.int64)) > 0
        reachable = float(weight[usable].sum())
        if reachable < target_coverage * problem.total_weight * (1 - 1e-12):
            share = reachable / problem.total_weight if problem.total_weight else 0.0
            raise InfeasibleError(
                f"target coverage {target_coverage:.1%} is unreachable: even opening every usable site "
                f"covers {share:.1%} within {threshold_min:g} min"
            )
    return problem

"""From a validated :class:`~siting.data.instance.Instance` to a :class:`~siting.problem.CoverageProblem`.

Site statuses become bounds through :class:`~siting.rules.SiteRules`: ``existing`` and ``required`` sites are
fixed open (existing ones cost nothing and do not count toward ``max_sites``), ``excluded`` sites are fixed
closed. Limits the fixed sites already break are proven by :func:`siting.rules.check_fixed_limits` (the model
driver runs it before any build); what is left to prove here is a partial-covering target that no plan can
reach.

Examples
--------
>>> from siting.testing import random_instance
>>> p = coverage_problem(random_instance(6, 4, seed=1), model="mclp", threshold_min=10, max_sites=2)
>>> p.coverage.shape, p.max_sites
((6, 4), 2)
"""
from __future__ import annotations

import numpy as np

from .data.instance import Instance
from .errors import InfeasibleError, InputError
from .problem import CoverageProblem, ModelType
from .rules import SiteRules

__all__ = ["coverage_problem"]


def coverage_problem(
    instance: Instance,
    *,
    model: ModelType | str,
    threshold_min: float,
    budget: float | None = None,
    max_sites: int | None = None,
    target_coverage: float | None = None,
    weight: np.ndarray | None = None,
    rules: SiteRules | None = None,
) -> CoverageProblem:
    """Turn travel times and site statuses into the covering problem every strategy solves.

    Parameters
    ----------
    instance : Instance
    model : ``mclp``, ``lscp`` or ``partial``
    threshold_min : ``a_ij = 1`` iff the pair is in the table with ``t_ij <= threshold_min``
    budget, max_sites, target_coverage : the model's limits and target (see :class:`CoverageProblem`)
    weight : (n_demand,) demand weights ``w_i``; the population when None (the models look a group column up
        with :func:`siting.models.parts.demand_weight`, which names the columns on a typo)
    rules : the instance's :class:`SiteRules` when already computed

    Raises
    ------
    InfeasibleError
        when a partial target exceeds what all usable sites together can cover.
    InputError
        for a threshold that is not positive or a target outside (0, 1].
    """
    model = ModelType(model)
    if not threshold_min > 0:
        raise InputError(f"parameter 'threshold_min': must be greater than 0, got {threshold_min}")
    rules = SiteRules.of(instance) if rules is None else rules
    weight = np.asarray(instance.demand.population if weight is None else weight, dtype=float)
    coverage = instance.travel.within(threshold_min)
    problem = CoverageProblem(
        model=model,
        coverage=coverage,
        demand_weight=weight,
        site_cost=rules.cost,
        fixed_open=rules.lower > 0,
        fixed_closed=rules.excluded.copy(),
        counts_toward_limit=rules.counts.copy(),
        budget=budget,
        max_sites=max_sites,
        target_coverage=target_coverage,
        total_weight=float(weight.sum()),
        site_origin=np.arange(instance.n_sites),
    )
    if model is ModelType.PARTIAL:
        _check_target(problem, threshold_min)
    return problem


def _check_target(problem: CoverageProblem, threshold_min: float) -> None:
    """Raise :class:`InfeasibleError` when even every usable site together misses the partial target."""
    target = problem.target_coverage
    if target is None or not 0 < target <= 1:
        raise InputError(f"parameter 'target_coverage': must be in (0, 1], got {target}")
    usable = (problem.coverage @ (~problem.fixed_closed).astype(np.int64)) > 0
    reachable = float(problem.demand_weight[usable].sum())
    if reachable < target * problem.total_weight * (1 - 1e-12):
        share = reachable / problem.total_weight if problem.total_weight else 0.0
        raise InfeasibleError(
            f"partial: target coverage {target:.1%} is unreachable: even opening every usable site "
            f"covers {share:.1%} within {threshold_min:g} min"
        )

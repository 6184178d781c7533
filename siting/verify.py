"""Independent recomputation of a coverage plan (MCLP, LSCP, partial) from the raw instance.

Nothing here uses the coverage matrix, the presolved problem or the solver's numbers: coverage is recomputed
from the travel-time triples (:func:`siting.reach.nearest_open_site`), cost from the site table. The
checks every model shares (statuses, budget, number of sites) are :func:`siting.rules.check_plan_rules`, and
the solver's claims are compared by :func:`siting.models.driver.check_claims`; this module adds what only the
coverage models require: LSCP covers every coverable point, partial covering reaches its target.

Examples
--------
>>> import numpy as np
>>> from siting.testing import random_instance
>>> inst = random_instance(6, 4, seed=1)
>>> check = check_plan(inst, np.array([True, False, False, False]), model="mclp", threshold_min=10)
>>> int(check.covered.sum()), check.total_cost
(1, 9.0)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data.instance import Instance
from .errors import VerificationError
from .problem import ModelType
from .reach import nearest_open_site, open_within
from .rules import REL_TOL, SiteRules

__all__ = ["PlanCheck", "check_plan"]


@dataclass(frozen=True)
class PlanCheck:
    """Figures recomputed from the raw instance for one plan."""

    open_sites: np.ndarray        # (n_sites,) bool, existing sites included
    nearest_site: np.ndarray      # (n_demand,) int, -1 when no open site is reachable
    nearest_minutes: np.ndarray   # (n_demand,) float, inf when unreachable
    covered: np.ndarray           # (n_demand,) bool: an open site within the threshold
    coverable: np.ndarray         # (n_demand,) bool: a site that is not excluded within the threshold
    covered_weight: float
    total_weight: float
    total_cost: float             # conversion cost of the open sites (existing sites cost nothing)


def check_plan(
    instance: Instance,
    open_sites: np.ndarray,
    *,
    model: ModelType | str,
    threshold_min: float,
    target_coverage: float | None = None,
    weight: np.ndarray | None = None,
    rules: SiteRules | None = None,
) -> PlanCheck:
    """Recompute a plan's coverage and cost and check the constraints only coverage models have.

    Parameters
    ----------
    instance : Instance
    open_sites : (n_sites,) bool mask; existing sites count as open whatever it says (they are open in the
        real world)
    model : ``mclp``, ``lscp`` or ``partial``
    threshold_min : a point is covered when an open site is within this many minutes (inclusive)
    target_coverage : partial covering's share of the total weight
    weight : (n_demand,) demand weights; the population when None
    rules : the instance's :class:`SiteRules` when already computed

    Raises
    ------
    VerificationError
        when an LSCP plan leaves a coverable point uncovered or a partial plan misses its target.
    """
    model = ModelType(model)
    rules = SiteRules.of(instance) if rules is None else rules
    open_sites = np.asarray(open_sites, dtype=bool)
    if open_sites.shape != rules.cost.shape:
        raise VerificationError(f"{model}: plan has {open_sites.shape} entries for {rules.cost.shape[0]} sites")
    open_sites = open_sites | rules.existing
    weight = np.asarray(instance.demand.population if weight is None else weight, dtype=float)
    nearest, minutes = nearest_open_site(instance.travel, open_sites)
    covered = minutes <= threshold_min
    coverable = open_within(instance.travel, rules.usable, threshold_min) > 0
    check = PlanCheck(open_sites=open_sites, nearest_site=nearest, nearest_minutes=minutes, covered=covered,
                      coverable=coverable, covered_weight=float(weight[covered].sum()),
                      total_weight=float(weight.sum()), total_cost=float(rules.cost[open_sites].sum()))
    if model is ModelType.LSCP and (coverable & ~covered).any():
        missing = instance.demand.ids[coverable & ~covered]
        raise VerificationError(f"lscp: plan fails verification: {missing.size} coverable demand points left "
                                f"uncovered (e.g. {', '.join(map(str, missing[:5]))})")
    if model is ModelType.PARTIAL and target_coverage is not None:
        need = target_coverage * check.total_weight
        if check.covered_weight < need * (1 - REL_TOL) - 1e-9:
            share = check.covered_weight / check.total_weight if check.total_weight else 0.0
            raise VerificationError(f"partial: plan fails verification: covered share {share:.4%} is below the "
                                    f"target {target_coverage:.4%}")
    return check

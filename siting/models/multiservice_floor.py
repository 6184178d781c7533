r"""What closing each converted building certainly loses in a multi-service plan (the ``marginal_floor`` hook).

The driver's "no redundant site" check re-evaluates a multi-service plan once per converted building; most
of them are plainly needed, and this cheap, exact lower bound spares their re-evaluation
(:func:`siting.models.secondary.prune_and_check`).

Notes
-----
For an uncapacitated service :math:`k` with objective weight :math:`\lambda_k > 0`, let :math:`O_k` be its
open providers in the plan's last year (every placement, plus the existing facilities) and :math:`A^k` the
0/1 matrix of pairs within its threshold. A demand point :math:`i` with weight :math:`w^k_i > 0` and
:math:`\sum_{j \in O_k} A^k_{ij} = 1` loses service :math:`k` in the last year when its one provider closes,
so closing site :math:`j` loses at least

.. math:: \ell_j = \sum_k \lambda_k \sum_{i:\ \text{only } j \text{ reaches } i} w^k_i ,

and the objective loses no less: every year's coverage of every service can only shrink when a site closes
(earlier years and other services add to the loss, never subtract). The covered weight (last year,
person-services) lost is exactly the same sum without :math:`\lambda_k` when no capacitated service is
placed at :math:`j`; with one it is unknown here (NaN). Capacitated services add nothing to the bound.

Example
-------
>>> from siting.testing import random_instance
>>> from siting.rules import SiteRules
>>> from siting.services import load_catalog
>>> from siting.models.multiservice_params import MultiserviceParams
>>> inst = random_instance(10, 5, seed=1, groups=True, floor_area=True)
>>> params = MultiserviceParams(budget=2e6, catalog=load_catalog().select(["health_station"]))
>>> rules = SiteRules.of(inst)
>>> open_sites = rules.usable & ~rules.existing
>>> floor = marginal_floor(inst, params, rules, Plan(open_sites, {"health_station": open_sites.copy()}))
>>> bool((floor.loss >= 0).all()), bool(floor.breaks.any())
(True, False)
"""
from __future__ import annotations

import numpy as np

from ..data.instance import Instance
from ..rules import SiteRules
from .base import Marginal, Plan
from .multiservice_inputs import inputs_of
from .multiservice_params import MultiserviceParams

__all__ = ["marginal_floor"]


def marginal_floor(instance: Instance, params: MultiserviceParams, rules: SiteRules, plan: Plan) -> Marginal:
    """A certain lower bound of each open site's loss, and its exact covered-weight loss where known (see Notes)."""
    n = instance.n_sites
    loss, weight = np.zeros(n), np.zeros(n)
    breaks = np.zeros(n, bool)
    placements = plan.placements or {}
    for d in inputs_of(instance, params, rules).services:
        placed = np.asarray(placements.get(d.service.key, np.zeros(n, bool)), bool)
        if placed.shape != (n,):
            return Marginal(np.zeros(n), breaks, np.full(n, np.nan))    # evaluate reports the broken plan
        if d.service.capacity is not None:
            weight[placed] = np.nan
            continue
        providers = np.flatnonzero(placed | d.existing)
        reach = d.travel.within(d.service.threshold_minutes)[:, providers].tocsr()
        reach.eliminate_zeros()
        alone = np.flatnonzero((np.diff(reach.indptr) == 1) & (d.weight > 0))
        only = providers[reach.indices[reach.indptr[alone]]]
        lost = np.bincount(only, weights=d.weight[alone], minlength=n)
        weight += lost
        loss += max(d.per_weight, 0.0) * lost
    return Marginal(loss, breaks, weight)

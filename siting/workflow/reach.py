r"""Per-service reach of a plan, for ranking buildings and drawing maps (not for the plan's covered weight).

The covered weight of a plan is the model's own ``evaluate`` (``solution.json``,
:func:`siting.workflow.evaluation.covered_by_service`). Ranking and maps need more: which demand each provider
reaches, what a site would add, what only it covers. :class:`PlanReach` answers these from the services of
:func:`siting.workflow.evaluation.service_reach`, i.e. from the very travel table (the service's speed group,
else the default rows), weight and existing providers the model evaluates with.

A *service* ``k`` has a reach matrix :math:`A^k_{ij} = [t_{ij} \\le T_k]` and a weight :math:`w^k`; with
:math:`P^k` the sites providing ``k`` (existing providers plus plan sites hosting ``k``):

* demand ``i`` is reached for ``k`` iff :math:`(A^k P^k)_i > 0`;
* the *marginal gain* of hosting ``k`` at site ``j`` is :math:`\\sum_i A^k_{ij} w^k_i [i \\text{ unreached}]`;
* the *drop loss* of a provider ``j`` is :math:`\\sum_i A^k_{ij} w^k_i [(A^k P^k)_i = 1]` (what only it reaches).

For a service without capacities (``ServiceReach.exact``) the reached weight is the model's covered weight.

Example
-------
>>> plan_services([], ["s1"], ["mclp"])
{'s1': {'mclp'}}
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .evaluation import ModelInputs, ServiceReach, service_reach

__all__ = ["PlanReach", "plan_services"]


def plan_services(selected_sites: Iterable[Mapping[str, Any]], selected: Iterable[str],
                  keys: Sequence[str]) -> dict[str, set[str]]:
    """Site id -> services the plan places there (a single model's one service at every selected site)."""
    out: dict[str, set[str]] = {}
    rows = list(selected_sites or [])
    if rows and any(r.get("services") not in (None, "") for r in rows):
        for r in rows:
            v = r.get("services")
            items = v if isinstance(v, (list, tuple)) else str(v or "").split(";")
            out[str(r.get("site_id", r.get("id")))] = {str(s).strip() for s in items if s and str(s).strip()}
        return out
    for sid in selected:
        out[str(sid)] = {keys[0]} if len(keys) == 1 else set()
    return out


class PlanReach:
    """Reach of every service of a prepared model (see module docstring).

    Parameters
    ----------
    inputs : ModelInputs
        From :func:`siting.workflow.evaluation.model_inputs` (the inputs ``siting solve`` uses).
    """

    def __init__(self, inputs: ModelInputs) -> None:
        self.inputs = inputs
        self.specs: list[ServiceReach] = service_reach(inputs)
        self.demand = inputs.instance.demand
        self.sites = inputs.instance.sites
        self.ids = self.sites.ids.astype(str)
        self.site_index = pd.Index(self.ids)
        self.w = {s.key: s.weight for s in self.specs}
        self.A = {s.key: s.within for s in self.specs}

    @property
    def keys(self) -> list[str]:
        """The service keys, in catalogue order."""
        return [s.key for s in self.specs]

    def existing_services(self) -> list[str]:
        """Per site, the services it already provides (``;``-separated)."""
        per_site = [[s.key for s in self.specs if s.existing[j]] for j in range(len(self.ids))]
        return [";".join(sorted(v)) for v in per_site]

    def providers(self, plan: Mapping[str, set[str]] | None = None, *, existing: bool = True) -> dict[str, np.ndarray]:
        """Service -> boolean mask of providing sites (existing providers, plus the plan's placements)."""
        out = {s.key: (s.existing.copy() if existing else np.zeros(len(self.ids), dtype=bool)) for s in self.specs}
        for sid, services in (plan or {}).items():
            j = int(self.site_index.get_indexer([sid])[0])
            if j < 0:
                continue
            for k in services:
                if k in out:
                    out[k][j] = True
        return out

    def counts(self, providers: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Service -> number of providers within reach of every demand point."""
        return {k: self.A[k] @ providers[k].astype(np.float64) for k in providers}

    def reached(self, providers: Mapping[str, np.ndarray]) -> dict[str, float]:
        """Service -> weight within reach of a provider."""
        return {k: float(self.w[k][c > 0].sum()) for k, c in self.counts(providers).items()}

    def marginal_gain(self, providers: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Service -> weight newly reached if each site additionally provided the service."""
        return {k: self.A[k].T @ (self.w[k] * (c == 0)) for k, c in self.counts(providers).items()}

    def drop_loss(self, providers: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Service -> weight no longer reached if the site stopped providing it (0 for non-providers)."""
        return {k: (self.A[k].T @ (self.w[k] * (c == 1))) * providers[k] for k, c in self.counts(providers).items()}

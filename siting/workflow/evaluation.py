"""The one evaluation path of the workflow: a scenario's model inputs, a plan's figures, per-service reach.

Every command reads a scenario's inputs the way ``siting solve`` does (:func:`siting.run.prepare_model`: the
model's own ``prepare`` hook, each service's travel table chosen by its speed group and the default rows
otherwise) and takes a plan's covered weight from the model's ``evaluate`` (through the solve's
``solution.json``), never from a second computation.

* :func:`model_inputs` / :func:`evaluate_plan`: the prepared model and ``model.evaluate`` of a plan;
* :func:`covered_by_service` / :func:`total_by_service`: the covered and total weight per service as
  ``solution.json`` (``Result.summary()``) states them: one service named after a single model, or
  ``stats.services`` of a multi-service plan;
* :func:`service_reach`: for ranking and maps, each service's reach matrix ``a_ij = [t_ij <= T]`` built
  from the very travel table, weight and existing providers the model evaluates with.

Example
-------
>>> covered_by_service({"model": "mclp", "covered_weight": 12.0, "stats": {}})
{'mclp': 12.0}
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..models import multiservice
from ..models.base import Evaluation, Plan
from ..models.driver import walking_table
from ..models.parts import demand_weight
from ..result import Result
from ..run import ModelInputs, model_inputs

__all__ = ["ModelInputs", "model_inputs", "evaluate_plan", "covered_by_service", "total_by_service",
           "ServiceReach", "service_reach", "with_served_weight", "CAPACITY_MODELS"]

#: models whose covered weight depends on the solver's assignment (capacities), not on reach alone
CAPACITY_MODELS = ("capacitated", "cflp")


def evaluate_plan(inputs: ModelInputs, plan: Plan) -> Evaluation:
    """The model's own ``evaluate`` of ``plan`` (raises what it raises for a plan breaking its rules)."""
    return inputs.model.evaluate(inputs.instance, inputs.params, inputs.rules, plan)


def _services(summary: Mapping[str, Any]) -> dict[str, Mapping[str, Any]] | None:
    stats = summary.get("stats") or {}
    services = stats.get("services") if isinstance(stats, Mapping) else None
    if isinstance(services, Mapping) and services:
        return {str(k): v for k, v in services.items() if isinstance(v, Mapping)}
    return None


def covered_by_service(summary: Mapping[str, Any]) -> dict[str, float]:
    """Covered weight per service as ``solution.json`` states it (``{model: covered_weight}`` for one model)."""
    services = _services(summary)
    if services is not None:
        return {k: float(v.get("covered") or 0.0) for k, v in services.items()}
    value = summary.get("covered_weight", summary.get("covered_population"))
    return {str(summary.get("model")): float(value or 0.0)}


def total_by_service(summary: Mapping[str, Any]) -> dict[str, float]:
    """Total weight per service as ``solution.json`` states it."""
    services = _services(summary)
    if services is not None:
        return {k: float(v.get("total") or 0.0) for k, v in services.items()}
    value = summary.get("total_weight", summary.get("total_population"))
    return {str(summary.get("model")): float(value or 0.0)}


@dataclass(frozen=True)
class ServiceReach:
    """One service as the model sees it: travel table, weight, threshold and existing providers.

    within : (n_demand, n_sites) float CSR, ``1`` where the site is within ``threshold_min`` (every reachable
        pair for a model without a threshold)
    exact : True when the model counts a demand point as covered exactly when a provider is within reach
        (no capacities): then reach and ``evaluate`` agree on the covered weight
    """

    key: str
    label: str
    weight_column: str
    threshold_min: float | None
    weight: np.ndarray
    within: sp.csr_matrix
    existing: np.ndarray
    fitout_cost: float = 0.0
    exact: bool = True


def _reach_matrix(instance_travel: Any, threshold_min: float | None) -> sp.csr_matrix:
    limit = np.inf if threshold_min is None else float(threshold_min)
    return sp.csr_matrix(instance_travel.within(limit).astype(np.float64))


def service_reach(inputs: ModelInputs) -> list[ServiceReach]:
    """Every service of the scenario's model with the travel table and weight its ``evaluate`` uses."""
    model, params, instance = inputs.model, inputs.params, inputs.instance
    if isinstance(params, multiservice.MultiserviceParams):
        data = multiservice.inputs_of(instance, params, inputs.rules).services
        return [ServiceReach(key=d.service.key, label=d.service.name or "", weight_column=d.service.demand_column,
                             threshold_min=float(d.service.threshold_minutes), weight=d.weight,
                             within=_reach_matrix(d.travel, d.service.threshold_minutes), existing=d.existing,
                             fitout_cost=float(d.service.fitout_cost or 0.0), exact=d.service.capacity is None)
                for d in data]
    column = str(getattr(params, "weight_column", "population"))
    threshold = getattr(params, "threshold_min", None)
    travel = walking_table(instance, params).travel     # the speed group's table, as the model walks it
    return [ServiceReach(key=model.name, label="", weight_column=column,
                         threshold_min=None if threshold is None else float(threshold),
                         weight=demand_weight(instance, column), within=_reach_matrix(travel, threshold),
                         existing=inputs.rules.existing.copy(), exact=model.name not in CAPACITY_MODELS)]


def with_served_weight(result: Result) -> Result:
    """``result`` with a ``served_weight`` column in a multi-service sites table (one row per site and service).

    The weight each (site, service) serves, from the result's own coverage table (the assigned ``load`` of a
    capacitated service), so ``sites.csv`` sums to the covered weight per service in ``solution.json``.
    """
    sites, coverage = result.sites, result.coverage
    if sites is None or coverage is None or "served_weight" in sites.columns or \
            not {"service", "site_id"} <= set(sites.columns) or "service" not in coverage.columns:
        return result
    share = coverage["share"] if "share" in coverage.columns else coverage["covered"].astype(float)
    served = (coverage["weight"] * share).where(coverage["covered"].astype(bool), 0.0)
    by_pair = served.groupby([coverage["service"].astype(str), coverage["site_id"].astype(str)]).sum()
    keys = pd.MultiIndex.from_arrays([sites["service"].astype(str), sites["site_id"].astype(str)])
    value = by_pair.reindex(keys).fillna(0.0).to_numpy(dtype=float)
    if "load" in sites.columns:
        load = pd.to_numeric(sites["load"], errors="coerce").to_numpy(dtype=float)
        value = np.where(np.isnan(load), value, load)
    new_sites = sites.assign(served_weight=value)
    return replace(result, sites=new_sites)

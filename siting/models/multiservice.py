"""Multi-service co-location: convert buildings once and fit several services into each, under one budget.

Each enabled service of a :class:`~siting.services.catalog.Catalog` has its own walking threshold, demand
column (target group), speed group (travel table in ``Instance.group_travel``), fit-out cost, floor area
and optional capacity. See ``models/multiservice.md``.

Example
-------
>>> from siting.testing import random_instance
>>> from siting.services import load_catalog
>>> inst = random_instance(10, 5, seed=1, groups=True, floor_area=True)
>>> cat = load_catalog().select(["health_station", "childcare"])
>>> r = solve_multiservice(inst, cat, budget=2e6)
>>> r.status.value, r.sites.groupby("service").size().to_dict()
('optimal', {'childcare': 2, 'health_station': 2})
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ..data import read_table
from ..data.instance import Instance
from ..errors import InputError
from ..options import SolveOptions
from ..program import Sense
from ..result import Result
from ..rules import SiteRules
from ..services.catalog import Catalog, load_catalog, service_masks
from ..status import Status
from . import multiservice_heuristic as heuristic
from .base import Built, Evaluation, Model, Plan, ScenarioInputs, SolveContext
from .driver import solve_model
from .multiservice_evaluate import evaluate_multiservice
from .multiservice_floor import marginal_floor
from .multiservice_inputs import ServiceData, demand_of, inputs_of
from .multiservice_params import MultiserviceParams, resolved_catalog
from .multiservice_program import build_multiservice

__all__ = ["MODEL", "MultiserviceParams", "solve_multiservice", "build_multiservice", "inputs_of", "ServiceData"]


def _build(instance: Instance, params: MultiserviceParams, rules: SiteRules) -> Built:
    return build_multiservice(instance, params, rules)


def _evaluate(instance: Instance, params: MultiserviceParams, rules: SiteRules, plan: Plan) -> Evaluation:
    return evaluate_multiservice(instance, params, rules, plan)


def _alone(params: MultiserviceParams, key: str) -> MultiserviceParams:
    """The same budget, years and sites, for one service with no floor, duty, earmark or complex rule."""
    catalog = resolved_catalog(params)
    services = tuple(replace(s, enabled=s.key == key, min_share=None, min_share_per_community=None,
                                     min_providers_per_community=0, priority=None) for s in catalog.services)
    return replace(params, catalog=replace(catalog, services=services), objective="share", budget_groups=None,
                   min_complexes=0, all_complexes=False, min_new_per_community_per_year=0)


def _explain_infeasible(instance: Instance, params: MultiserviceParams, rules: SiteRules,
                        ctx: SolveContext, proven: bool) -> str | None:
    """Which floor the budget cannot reach: each floored service solved alone for its largest share.

    Solving a floored service alone (same budget, years and buildings, no other rule) relaxes the
    program, so an optimal share below the floor proves infeasibility even when the solver failed.
    """
    catalog = resolved_catalog(params)
    floored = [s for s in catalog if s.min_share is not None]
    rules_set = [f"{s.key}.{k}" for s in catalog for k, v in s.policy_info().items()
                 if k.startswith("min_") and v] + [k for k in ("budget_groups", "min_complexes", "all_complexes",
                                                              "min_new_per_community_per_year") if getattr(params, k)]
    if not rules_set:
        return None
    reached = []
    for i, s in enumerate(floored):
        options = ctx.options_now(share=0.5 / (len(floored) - i))
        alone = solve_model(MODEL, instance, _alone(params, s.key), backend=ctx.backend,
                            options=replace(options, secondary="none"))
        if alone.status is Status.INFEASIBLE or alone.stats.get("services") is None:
            continue
        best = float(alone.stats["services"][s.key]["share"])
        floor = float(s.min_share or 0.0)
        proven = alone.status is Status.OPTIMAL
        if best < floor - 1e-9 and (proven or alone.status is Status.OPTIMAL):
            return (f"multiservice: {s.key} min_share {s.min_share:g} cannot be met within the budget: "
                    f"the largest share it can reach is {best:.3f}"
                    + ("" if proven else " (or a little more: that solve stopped before its proof)")
                    + " with all the money on it alone")
        reached.append(f"{s.key} {best:.3f} (floor {s.min_share:g})")
    if not proven:
        return None
    return (f"multiservice: the policy rules ({', '.join(rules_set)}) cannot all be met together within the "
            "budget" + (f"; each floor alone is reachable: {', '.join(reached)}" if reached else ""))


def _total_weight(instance: Instance, params: MultiserviceParams) -> float:
    """Person-services: the sum over enabled services of their demand columns."""
    return float(sum(demand_of(instance, s).sum() for s in resolved_catalog(params)))


# ------------------------------------------------------------------------------------------ scenario
def _load_with_groups(inputs: ScenarioInputs, groups: tuple[str, ...]) -> Instance:
    """The instance with the travel tables of ``groups``; groups without a table are left out (they warn)."""
    try:
        return inputs.load_instance(groups)
    except InputError as exc:
        if exc.column != "group" or not groups:
            raise
    base = inputs.load_instance(())
    tables = dict(base.group_travel)
    for group in groups:
        try:
            tables[group] = inputs.load_instance((group,)).travel_for(group)
        except InputError as exc:
            if exc.column != "group":
                raise
    return replace(base, group_travel=tables)


def _network_speeds(network: Mapping[str, Any]) -> dict[str, float] | None:
    """The walking speeds the scenario's ``[network]`` computes its tables with (the first is the default table).

    The catalog turns a service's distance into minutes at its group's flat speed; it must be the speed the
    travel table was walked at, or the slower pace would be counted twice (or not at all).
    """
    speeds = network.get("speeds")
    if not isinstance(speeds, Mapping) or not speeds:
        return None
    out = {str(k): float(v) for k, v in speeds.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if not out:
        return None
    first = next(iter(out))
    return {"default": out[first], **{k: v for k, v in out.items() if k != first}}


def _prepare(params: MultiserviceParams, inputs: ScenarioInputs) -> tuple[MultiserviceParams, Instance]:
    """Catalog (``services`` file or the default, ``[services]`` overrides), speed-group tables, site masks."""
    catalog = params.catalog if params.catalog is not None else \
        load_catalog(params.services, inputs.sections.get("services") or None,
                     speeds=_network_speeds(inputs.sections.get("network") or {}))
    groups = tuple(sorted({s.speed_group for s in catalog if s.speed_group}))
    instance = _load_with_groups(inputs, groups)
    raw = read_table(inputs.candidates, text_columns=None)
    existing, allowed = service_masks(raw.frame, instance, catalog, file=raw.source, row_number=raw.row_number)
    return replace(params, catalog=catalog, existing_services={**existing, **(params.existing_services or {})},
                   allowed_services={**allowed, **(params.allowed_services or {})}), instance


MODEL = Model(
    name="multiservice", params=MultiserviceParams, sense=Sense.MAXIMIZE, build=_build, evaluate=_evaluate,
    prepare=_prepare, total_weight=_total_weight, explain_infeasible=_explain_infeasible, marginal_floor=marginal_floor,
    warm_start=heuristic.warm_start, improve_start=heuristic.improve_start,
    warm_start_share=heuristic.warm_start_share, bound=heuristic.bound, level_bound=heuristic.level_bound,
    covered="covered by each service within its threshold (within capacity if capacitated), summed over services",
    summary="one budget, many services per building (conversion once + fit-outs, floor area), per-service "
            "thresholds and target groups",
)


def _with_group_tables(instances: Instance | Mapping[Any, Instance]) -> Instance:
    """An Instance as is; the 0.1 ``{group: Instance}`` form as its default Instance with ``group_travel``."""
    if isinstance(instances, Instance):
        return instances
    if not isinstance(instances, Mapping) or not instances:
        raise InputError("multiservice: pass an Instance (per-group tables in Instance.group_travel) or a "
                         "non-empty {group: Instance} mapping")
    default = [instances[k] for k in (None, "default") if k in instances]
    base = default[0] if default else next(iter(instances.values()))
    for group, inst in instances.items():
        if not (np.array_equal(inst.demand.ids, base.demand.ids) and np.array_equal(inst.sites.ids, base.sites.ids)):
            raise InputError(f"multiservice: instance for group {group!r} has other demand or site ids than the "
                             "default")
    tables = {str(g): inst.travel for g, inst in instances.items() if g not in (None, "default")}
    return replace(base, group_travel={**base.group_travel, **tables})


def solve_multiservice(instances: Instance | Mapping[Any, Instance], catalog: Catalog | None = None, *,
                       backend: str = "auto", options: SolveOptions | None = None, **params: Any) -> Result:
    """Choose buildings to convert and services to place in them, maximising weighted coverage under a budget.

    Parameters
    ----------
    instances : Instance, or the 0.1 mapping {group: Instance}
        Per-speed-group travel tables in ``Instance.group_travel`` (the mapping form: key ``None`` or
        ``"default"`` is the default table, other keys become ``group_travel``; same demand and site ids).
        A service whose speed group has no table walks on the default one (a warning in ``stats`` and
        ``message``).
    catalog : Catalog, optional
        Enabled services (:func:`siting.services.load_catalog`); default: the ``services`` file or the shipped one.
    backend, options : see :func:`siting.models.driver.solve_model`
    **params : the fields of :class:`MultiserviceParams` (``budget``, ``max_sites``, ``objective``,
        ``existing_services``, ``allowed_services``; see :func:`siting.services.service_masks`).

    Returns
    -------
    Result
        ``objective`` = recomputed ``sum_k lambda_k covered_k``; ``covered_weight`` / ``total_weight`` = sums
        over services (person-services); ``selected`` = converted buildings; ``total_cost`` = conversion +
        fit-out; ``sites`` = one row per (site, service, origin new|existing); ``coverage`` = one row per
        (demand point, service); ``stats["services"][k]``: ``covered, total, share, already_covered,
        new_sites, existing_sites`` and how the threshold was set (``category, tier, radius_m, speed_group,
        flat_speed_m_s, threshold_minutes, threshold_source``: :meth:`~siting.services.Service.threshold_info`).
    """
    if catalog is not None:
        params["catalog"] = catalog
    return solve_model(MODEL, _with_group_tables(instances), MultiserviceParams.from_kwargs(params),
                       backend=backend, options=options)

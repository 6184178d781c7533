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
('optimal', {'childcare': 1, 'health_station': 3})
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data import read_table
from ..data.instance import Instance, TravelTimes
from ..errors import InputError, VerificationError
from ..options import SolveOptions
from ..program import Sense
from ..reach import nearest_open_site, open_within
from ..result import Result
from ..rules import SiteRules
from ..services.catalog import Catalog, load_catalog, service_masks
from .assignment import Assignment, best_assignment
from .base import Built, Evaluation, Model, Plan, ScenarioInputs
from .driver import solve_model
from .tables import coverage_table

__all__ = ["MODEL", "MultiserviceParams", "solve_multiservice", "build_multiservice", "service_data", "ServiceData"]
from .multiservice_inputs import TOL, MultiserviceParams, ServiceData, demand_of, resolved_catalog, service_data
from .multiservice_program import build_multiservice


def _build(instance: Instance, params: MultiserviceParams, rules: SiteRules) -> Built:
    return build_multiservice(instance, params, rules)


# ---------------------------------------------------------------------------------------- evaluation
def _pair_minutes(travel: TravelTimes, dem: np.ndarray, site: np.ndarray) -> np.ndarray:
    """Minutes of the pairs ``(dem, site)`` in the raw table (``inf`` for pairs it does not have)."""
    keys = travel.demand_index * travel.n_sites + travel.site_index
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    wanted = dem.astype(np.int64) * travel.n_sites + site
    pos = np.minimum(np.searchsorted(sorted_keys, wanted), max(sorted_keys.shape[0] - 1, 0))
    found = sorted_keys[pos] == wanted if sorted_keys.shape[0] else np.zeros(wanted.shape[0], bool)
    return np.where(found, travel.minutes[order][pos] if sorted_keys.shape[0] else np.inf, np.inf)


def _check_assignment(d: ServiceData, assigned: Any, open_k: np.ndarray,
                      ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shares and loads of a capacitated service's assignment, checked against the raw table."""
    key, n_demand, n = d.service.key, d.weight.shape[0], open_k.shape[0]
    cap = float(d.service.capacity or 0.0)
    z = sp.coo_matrix(cast(Any, assigned)) if sp.issparse(assigned) else None
    if z is None or z.shape != (n_demand, n):
        raise VerificationError(f"multiservice: the plan has no ({n_demand}, {n}) assignment for capacitated "
                                f"service {key}")
    on = z.data > TOL
    dem, site, share = z.row[on], z.col[on], np.minimum(z.data[on], 1.0)
    if np.any(~open_k[site]):
        raise VerificationError(f"multiservice: {key} demand assigned to a site without {key}: "
                                f"{', '.join(map(str, ids[np.unique(site[~open_k[site]])][:5]))}")
    if np.any(_pair_minutes(d.travel, dem, site) > d.service.threshold_minutes):
        raise VerificationError(f"multiservice: {key} demand assigned beyond {d.service.threshold_minutes:g} "
                                "minutes or over a pair missing from the travel table")
    shares = np.bincount(dem, weights=share, minlength=n_demand)
    if np.any(shares > 1 + TOL):
        raise VerificationError(f"multiservice: a demand point is assigned more than once for {key}")
    load = np.bincount(site, weights=d.weight[dem] * share, minlength=n)
    if np.any(load > cap * (1 + TOL)):
        raise VerificationError(f"multiservice: a {key} site serves more than its capacity {cap:g}")
    return np.minimum(shares, 1.0), load


def _best_service_assignment(d: ServiceData, open_k: np.ndarray) -> Assignment:
    """The best assignment of a capacitated service to the sites that provide it (the plan's, not the solver's)."""
    tr = d.travel
    keep = (tr.minutes <= d.service.threshold_minutes) & (d.weight[tr.demand_index] > 0) & open_k[tr.site_index]
    cap = np.full(open_k.shape[0], float(d.service.capacity or 0.0))
    return best_assignment((tr.demand_index[keep], tr.site_index[keep], tr.minutes[keep]), d.weight, cap, open_k,
                           model=f"multiservice ({d.service.key})")


def _evaluate(instance: Instance, params: MultiserviceParams, rules: SiteRules, plan: Plan) -> Evaluation:
    """Placements, floor area, cost and every service's coverage recomputed from the raw tables.

    A capacitated service's coverage is the best assignment of the plan's placements
    (:func:`~siting.models.assignment.best_assignment`); the solver's assignment, when the plan has one,
    is only checked for feasibility. Every converted building must host at least one new service.
    """
    data, warnings = service_data(instance, params, rules)
    n = instance.n_sites
    ids = instance.sites.ids.astype(str)
    converted = np.asarray(plan.open_sites, bool) & ~rules.existing
    placements = plan.placements or {}
    assignments: Mapping[str, Any] = plan.assignment if isinstance(plan.assignment, Mapping) else {}
    area = instance.sites.floor_area if instance.sites.floor_area is not None else np.full(n, np.nan)
    used_area = np.zeros(n)
    hosting = np.zeros(n, bool)
    fitout = objective = covered = total_weight = 0.0
    per: dict[str, dict[str, Any]] = {}
    site_frames, cover_frames = [], []
    for d in data:
        s = d.service
        placed = np.asarray(placements.get(s.key, np.zeros(0)), bool)
        if placed.shape != (n,):
            raise VerificationError(f"multiservice: the plan has no placement mask over the {n} sites for {s.key}")
        if np.any(placed & ~converted):
            raise VerificationError(f"multiservice: {s.key} placed in a building that is not converted: "
                                    f"{', '.join(ids[placed & ~converted][:5])}")
        if np.any(placed & ~d.allowed):
            raise VerificationError(f"multiservice: {s.key} placed where it may not go (existing, excluded, too "
                                    f"small or not allowed): {', '.join(ids[placed & ~d.allowed][:5])}")
        used_area += s.min_floor_area_m2 * placed
        fitout += s.fitout_cost * int(placed.sum())
        open_k = placed | d.existing
        nearest, nearest_minutes = nearest_open_site(d.travel, open_k)
        if s.capacity is None:
            site, minutes = nearest, nearest_minutes
            share = (minutes <= s.threshold_minutes).astype(float)
            load = np.full(n, np.nan)
        else:
            if s.key in assignments:               # the solver's assignment: feasibility only
                _check_assignment(d, assignments[s.key], open_k, ids)
            best = _best_service_assignment(d, open_k)
            site, minutes, share, load = best.site, best.minutes, best.covered, best.load
        got = float(d.weight @ share)
        objective += d.per_weight * got
        already = float(d.weight[open_within(d.travel, d.existing, s.threshold_minutes) > 0].sum())
        total = float(d.weight.sum())
        covered += got
        total_weight += total
        per[s.key] = {"name": s.name, **s.threshold_info(), "demand_column": s.demand_column,
                      "covered": got, "total": total, "share": got / total if total else 0.0,
                      "already_covered": already, "new_sites": int(placed.sum()),
                      "existing_sites": int(d.existing.sum())}
        for origin, mask in (("new", placed), ("existing", d.existing)):
            idx = np.flatnonzero(mask)
            site_frames.append(pd.DataFrame({
                "site_id": ids[idx], "service": s.key, "origin": origin,
                "status": np.asarray(instance.sites.status).astype(str)[idx], "building_cost": rules.cost[idx],
                "fitout_cost": s.fitout_cost if origin == "new" else 0.0, "area_m2": s.min_floor_area_m2,
                "load": load[idx], "x": instance.sites.x[idx], "y": instance.sites.y[idx]}))
        covered_k = share > TOL if s.capacity is None else site >= 0
        cover_frames.append(coverage_table(instance, d.weight, site, minutes, covered_k, service=s.key,
                                           share=share, nearest_open_minutes=nearest_minutes))
        hosting |= placed
    if np.any(used_area - np.where(np.isnan(area), np.inf, area) > 1e-6):
        raise VerificationError("multiservice: services placed in a building exceed its floor area")
    if np.any(converted & ~hosting):
        raise VerificationError(f"multiservice: converted building(s) host no new service: "
                                f"{', '.join(ids[converted & ~hosting][:5])}")
    conversion = float(rules.cost[np.asarray(plan.open_sites, bool)].sum())
    return Evaluation(
        objective=objective, covered_weight=covered, total_weight=total_weight,
        total_cost=conversion + fitout, sites=pd.concat(site_frames, ignore_index=True),
        coverage=pd.concat(cover_frames, ignore_index=True),
        stats={"services": per, "conversion_cost": conversion, "fitout_cost": fitout,
               "buildings_converted": int(converted.sum()), "warnings": warnings, "objective_kind": params.objective},
    )


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
    prepare=_prepare, total_weight=_total_weight,
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

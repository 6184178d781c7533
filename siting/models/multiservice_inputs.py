"""Multi-service inputs: each enabled service's demand, travel table, site masks and placement costs.

Shared by the formulation (:mod:`siting.models.multiservice_program`) and the model
(:mod:`siting.models.multiservice`), which evaluates plans from the same inputs. Parameters are in
:mod:`siting.models.multiservice_params`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..data.instance import Instance, TravelTimes
from ..errors import InputError, ScenarioError
from ..rules import SiteRules
from ..services.catalog import Service
from .multiservice_params import TOL, MultiserviceParams, resolved_catalog
from .params import ParamError
from .parts import travel_of

__all__ = ["ServiceData", "Inputs", "inputs_of", "demand_of", "community_codes", "TOL"]


@dataclass(frozen=True)
class ServiceData:
    """One service's raw inputs: its travel table, demand weight, where it exists and where it may go.

    placement_cost : (n_sites,) what placing the service in each site costs against the budget: fit-out, the
        site's ``cost_per_m2`` times the service's floor area (partial conversion), and with
        ``budget_basis = "life_cycle"`` the discounted operating cost
    capital_cost, operating_pv : (n_sites,) the capital part of that cost and the discounted operating cost
    """

    service: Service
    travel: TravelTimes
    weight: np.ndarray
    existing: np.ndarray      # (n_sites,) bool, already provides the service
    allowed: np.ndarray       # (n_sites,) bool, may receive it: buildable, floor area fits, mask
    per_weight: float         # objective coefficient per unit of demand weight (lambda_k)
    placement_cost: np.ndarray
    capital_cost: np.ndarray
    operating_pv: np.ndarray


@dataclass(frozen=True)
class Inputs:
    """Everything a multi-service plan is built and judged from.

    building_cost : (n_sites,) conversion cost paid once per converted building (``cost``, or ``cost_fixed``
        for rows priced per m2)
    demand_community, site_community : integer codes of the community column (-1: none), None without it
    communities : the community labels the codes index
    """

    services: list[ServiceData]
    building_cost: np.ndarray
    demand_community: np.ndarray | None
    site_community: np.ndarray | None
    communities: tuple[str, ...]


def demand_of(instance: Instance, service: Service) -> np.ndarray:
    """The demand column a service serves (its target group), or a one-line error naming the service."""
    try:
        return np.asarray(instance.demand.weight(service.demand_column), dtype=float)
    except KeyError:
        raise ScenarioError(f"demand has no column {service.demand_column!r} (have population, "
                            f"{', '.join(instance.demand.groups)})",
                            key=f"services.{service.key}.demand_column") from None


def _mask(masks: Mapping[str, np.ndarray] | None, key: str, n: int, default: bool, label: str) -> np.ndarray:
    if masks is None or key not in masks:
        return np.full(n, default)
    if masks[key].shape != (n,):
        raise ParamError(f"[{key!r}] must be a mask over the {n} sites, got shape {masks[key].shape}", param=label,
                         model="multiservice")
    return masks[key]


def _column(table: object, name: str) -> np.ndarray | None:
    """A column of Demand/Sites as text labels (text or numeric columns alike), None when absent."""
    for holder in ("labels", "groups", "extra"):
        values = getattr(table, holder, {}).get(name)
        if values is not None:
            arr = np.asarray(values)
            if arr.dtype.kind == "f":       # 3.0 -> "3": numeric community codes read as numbers
                return np.array([("" if np.isnan(v) else f"{v:g}") for v in arr], dtype=object)
            return np.array(["" if v is None else str(v).strip() for v in arr], dtype=object)
    return None


def community_codes(instance: Instance, column: str, *, required: bool) -> tuple[np.ndarray | None,
                                                                                  np.ndarray | None, tuple[str, ...]]:
    """Integer community codes of demand points and sites (-1: blank), and the labels in sorted order.

    Raises
    ------
    InputError
        when ``required`` and the demand or candidates table has no such column.
    """
    demand = _column(instance.demand, column)
    sites = _column(instance.sites, column)
    if demand is None or sites is None:
        if not required:
            return None, None, ()
        which = instance.demand.source if demand is None else instance.sites.source
        raise InputError(f"a floor or duty per community needs a {column!r} column (set [model] community_column)",
                         file=which, column=column)
    labels = tuple(sorted({v for v in demand if v}))
    index = {c: i for i, c in enumerate(labels)}
    return (np.array([index.get(v, -1) for v in demand], dtype=np.int64),
            np.array([index.get(v, -1) for v in sites], dtype=np.int64), labels)


def _needs_communities(params: MultiserviceParams, services: list[Service]) -> bool:
    return bool(params.min_new_per_community_per_year) or any(
        s.min_share_per_community is not None or s.min_providers_per_community > 0 for s in services)


def _building_cost(instance: Instance, rules: SiteRules) -> tuple[np.ndarray, np.ndarray]:
    """Conversion cost per building and the per-m2 price of rows priced by the area they use (0 elsewhere)."""
    extra = instance.sites.extra
    per_m2 = np.asarray(extra.get("cost_per_m2", np.full(instance.n_sites, np.nan)), dtype=float)
    fixed = np.asarray(extra.get("cost_fixed", np.full(instance.n_sites, np.nan)), dtype=float)
    partial = np.isfinite(per_m2) & ~rules.existing
    bad = np.flatnonzero(partial & (per_m2 < 0) | (partial & np.isfinite(fixed) & (fixed < 0)))
    if bad.size:
        raise InputError("cost_fixed and cost_per_m2 must be >= 0", file=instance.sites.source,
                         row=int(bad[0]) + 2, column="cost_per_m2")
    cost = np.where(partial, np.nan_to_num(fixed, nan=0.0), rules.cost)
    return cost, np.where(partial, per_m2, 0.0)


def _check_groups(params: MultiserviceParams, keys: set[str]) -> None:
    for group in params.budget_groups or ():
        unknown = sorted(set(group.services) - keys)
        if unknown:
            raise ParamError(f"group {group.name!r} names service(s) {', '.join(unknown)} that are not enabled "
                             f"(enabled: {', '.join(sorted(keys))})", param="budget_groups", model="multiservice")


def inputs_of(instance: Instance, params: MultiserviceParams, rules: SiteRules) -> Inputs:
    """Every enabled service's inputs, the buildings' conversion costs and the communities.

    Raises
    ------
    InputError
        a service whose speed group has no travel table (never walked at the default pace in silence), a
        community column that is missing, negative per-m2 prices.
    """
    n = instance.n_sites
    area = instance.sites.floor_area if instance.sites.floor_area is not None else np.full(n, np.nan)
    buildable = rules.usable & ~rules.existing
    catalog = resolved_catalog(params)
    _check_groups(params, set(catalog.keys))
    building_cost, per_m2 = _building_cost(instance, rules)
    annuity = params.annuity()
    out = []
    for s in catalog:
        if s.speed_group and s.speed_group != "default" and s.speed_group not in instance.group_travel:
            raise InputError(f"service {s.key!r} walks at speed group {s.speed_group!r} but no travel table was "
                             f"loaded for it (groups: {', '.join(sorted(instance.group_travel)) or 'none'}); add its "
                             "rows or [network.speeds], or set speed_group = \"default\" for the service on purpose",
                             file=instance.travel.source, column="group")
        travel = travel_of(instance, s.speed_group)
        weight = demand_of(instance, s)
        fits = np.isnan(area) | (area >= s.min_floor_area_m2)
        existing = _mask(params.existing_services, s.key, n, False, "existing_services")
        # a building already providing the service gets no second placement of it (a capacitated service would
        # count its capacity twice)
        allowed = buildable & fits & _mask(params.allowed_services, s.key, n, True, "allowed_services") & ~existing
        total = float(weight.sum())
        per_weight = s.weight / total if params.objective == "share" and total > 0 else s.weight
        capital = s.fitout_cost + per_m2 * s.min_floor_area_m2
        operating = np.full(n, s.operating_cost_per_year * annuity)
        cost = capital + (operating if params.budget_basis == "life_cycle" else 0.0)
        out.append(ServiceData(s, travel, weight, existing, allowed, per_weight, cost, capital, operating))
    dem_c, site_c, labels = community_codes(instance, params.community_column,
                                            required=_needs_communities(params, list(catalog)))
    return Inputs(out, building_cost, dem_c, site_c, labels)


"""Multi-service inputs: the parameters and each enabled service's demand, travel table and site masks.

Shared by the formulation (:mod:`siting.models.multiservice_program`) and the model
(:mod:`siting.models.multiservice`), which evaluates plans from the same inputs.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.instance import Instance, TravelTimes
from ..errors import ScenarioError
from ..rules import SiteRules
from ..services.catalog import Catalog, Service, load_catalog
from .params import ModelParams, ParamError, choice, max_sites_param, number, param, path
from .parts import travel_of

__all__ = ["MultiserviceParams", "ServiceData", "service_data", "resolved_catalog", "demand_of", "OBJECTIVES", "TOL"]

OBJECTIVES = ("population", "share")
#: tolerance of the plan checks (solver values are read to ~8 digits)
TOL = 1e-6


def _catalog_value(value: Any) -> Catalog:
    if not isinstance(value, Catalog):
        raise ValueError(f"expected a Catalog (siting.services.load_catalog), got {type(value).__name__}")
    return value


def _mask_mapping(value: Any) -> dict[str, np.ndarray]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping {{service: (n_sites,) bool mask}}, got {type(value).__name__}")
    out = {}
    for key, mask in value.items():
        arr = np.asarray(mask)
        binary = arr.dtype == bool or (np.issubdtype(arr.dtype, np.number) and bool(np.isin(arr, (0, 1)).all()))
        if arr.ndim != 1 or not binary:
            raise ValueError(f"[{key!r}] must be a 1-D mask of True/False over the sites")
        out[str(key)] = arr.astype(bool)
    return out


def _check_mask_keys(catalog: Catalog, masks: Mapping[str, np.ndarray] | None, name: str) -> None:
    known = {s.key for s in catalog.services}
    unknown = sorted(set(masks or {}) - known)
    if unknown:
        raise ParamError(f"unknown service(s) {', '.join(unknown)}; catalog has {', '.join(sorted(known))}",
                         param=name, model="multiservice")


@dataclass(frozen=True, kw_only=True)
class MultiserviceParams(ModelParams):
    """Parameters of :data:`MODEL` (multi-service co-location)."""

    model_name = "multiservice"
    budget: float = param(check=number(gt=0),
                          doc="limit on conversion cost (once per building) plus fit-out cost (per service placed)")
    max_sites: int | None = max_sites_param()
    objective: str = param("population", check=choice(OBJECTIVES),
                           doc="population: weight per covered person; share: weight per unit of each service's "
                               "coverage share, so small target groups count as much as the whole population")
    services: Path | None = param(None, check=path(), is_path=True,
                                  doc="service catalog TOML (default: the shipped basket); [services] overrides it")
    catalog: Catalog | None = param(None, check=_catalog_value, scenario=False,
                                    doc="the catalog itself (default: read from 'services', else the shipped one)")
    existing_services: Mapping[str, np.ndarray] | None = param(
        None, check=_mask_mapping, scenario=False, doc="{service: (n_sites,) bool}: facilities already providing it")
    allowed_services: Mapping[str, np.ndarray] | None = param(
        None, check=_mask_mapping, scenario=False, doc="{service: (n_sites,) bool}: where it may be placed")

    def check_together(self) -> None:
        """A given catalog has an enabled service and knows every service the masks name."""
        if self.catalog is not None:
            resolved_catalog(self)

    def thresholds_min(self) -> dict[str, float]:
        """Each enabled service's threshold (minutes on its own speed group's table)."""
        return {f"services.{s.key}.threshold_minutes": float(s.threshold_minutes) for s in resolved_catalog(self)}


def resolved_catalog(params: MultiserviceParams) -> Catalog:
    """The catalog to solve with (given, read from ``services``, or the default), its mask keys checked."""
    catalog = params.catalog if params.catalog is not None else load_catalog(params.services)
    if not len(catalog):
        raise ParamError("the catalog has no enabled service", param="catalog", model="multiservice")
    _check_mask_keys(catalog, params.existing_services, "existing_services")
    _check_mask_keys(catalog, params.allowed_services, "allowed_services")
    return catalog


@dataclass(frozen=True)
class ServiceData:
    """One service's raw inputs: its travel table, demand weight, where it exists and where it may go."""

    service: Service
    travel: TravelTimes
    weight: np.ndarray
    existing: np.ndarray      # (n_sites,) bool, already provides the service
    allowed: np.ndarray       # (n_sites,) bool, may receive it: buildable, floor area fits, mask
    per_weight: float         # objective coefficient per unit of demand weight (lambda_k)


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


def service_data(instance: Instance, params: MultiserviceParams,
                 rules: SiteRules) -> tuple[list[ServiceData], list[str]]:
    """Every enabled service's inputs, and a warning per service whose speed group has no travel table."""
    n = instance.n_sites
    area = instance.sites.floor_area if instance.sites.floor_area is not None else np.full(n, np.nan)
    buildable = rules.usable & ~rules.existing
    out, warnings = [], []
    for s in resolved_catalog(params):
        if s.speed_group and s.speed_group not in instance.group_travel:
            # issue 15/10 will make this an error; until then the service walks at the default speed
            warnings.append(f"{s.key}: no travel table for speed group {s.speed_group!r}; default table used")
            travel = instance.travel
        else:
            travel = travel_of(instance, s.speed_group)
        weight = demand_of(instance, s)
        fits = np.isnan(area) | (area >= s.min_floor_area_m2)
        allowed = buildable & fits & _mask(params.allowed_services, s.key, n, True, "allowed_services")
        total = float(weight.sum())
        per_weight = s.weight / total if params.objective == "share" and total > 0 else s.weight
        out.append(ServiceData(s, travel, weight, _mask(params.existing_services, s.key, n, False,
                                                         "existing_services"), allowed, per_weight))
    return out, warnings


# ------------------------------------------------------------------------------------------ program

"""Multi-service parameters: the budget, the objective and the policy keys (``models/policy.md``).

:class:`MultiserviceParams` validates each value on construction (one-line :class:`ParamError`); what needs the
instance or the catalog (service keys, communities) is checked where the inputs are read
(:mod:`siting.models.multiservice_inputs`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..rules import Limits
from ..services.catalog import Catalog, load_catalog
from .params import (
    ModelParams,
    ParamError,
    boolean,
    choice,
    integer,
    max_sites_param,
    number,
    param,
    path,
    text,
    text_list,
)

__all__ = ["MultiserviceParams", "Phase", "BudgetGroup", "resolved_catalog", "OBJECTIVES", "BUDGET_BASES", "TOL"]

OBJECTIVES = ("share", "weighted")
#: the 0.2 name of ``weighted``, still read
_OLD_OBJECTIVES = {"population": "weighted"}
BUDGET_BASES = ("capital", "life_cycle")
#: tolerance of the plan checks (solver values are read to ~8 digits)
TOL = 1e-6


def _catalog_value(value: Any) -> Catalog:
    if not isinstance(value, Catalog):
        raise ValueError(f"expected a Catalog (siting.services.load_catalog), got {type(value).__name__}")
    return value


def _objective(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() in _OLD_OBJECTIVES:
        return _OLD_OBJECTIVES[value.strip().lower()]
    return choice(OBJECTIVES)(value)


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


@dataclass(frozen=True)
class Phase:
    """One year of a phased plan: what may be spent that year."""

    year: int
    budget: float


@dataclass(frozen=True)
class BudgetGroup:
    """Earmarked money: the spend on a named group of services stays within [min, max]."""

    name: str
    services: tuple[str, ...]
    min: float | None = None
    max: float | None = None


def _phases(value: Any) -> tuple[Phase, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)) or not value:
        raise ValueError("expected a list of phases, each {year = ..., budget = ...}")
    out: list[Phase] = []
    for n, item in enumerate(value, start=1):
        if isinstance(item, Phase):
            out.append(item)
            continue
        if isinstance(item, Mapping):
            unknown = sorted(set(item) - {"year", "budget"})
            if unknown:
                raise ValueError(f"phase {n}: unknown key(s) {', '.join(map(str, unknown))}; a phase has year, budget")
            if "year" not in item or "budget" not in item:
                raise ValueError(f"phase {n}: needs both year and budget")
            year, budget = item["year"], item["budget"]
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            year, budget = item
        else:
            raise ValueError(f"phase {n}: expected {{year = ..., budget = ...}}, got {item!r}")
        try:
            out.append(Phase(integer(ge=1900)(year), number(gt=0)(budget)))
        except ValueError as exc:
            raise ValueError(f"phase {n}: {exc}") from None
    years = [ph.year for ph in out]
    for a, b in zip(years, years[1:], strict=False):
        if b <= a:
            raise ValueError(f"phases out of order: year {b} follows {a} (years must increase)")
    return tuple(out)


def _budget_groups(value: Any) -> tuple[BudgetGroup, ...]:
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, BudgetGroup) for v in value):
        return tuple(value)
    if not isinstance(value, Mapping) or not value:
        raise ValueError("expected tables [model.budget_groups.NAME] with services = [...], min and/or max")
    out = []
    for name, spec in value.items():
        if isinstance(spec, BudgetGroup):
            out.append(spec)
            continue
        if not isinstance(spec, Mapping):
            raise ValueError(f"group {name!r}: expected a table with services, min, max; got {spec!r}")
        unknown = sorted(set(spec) - {"services", "min", "max"})
        if unknown:
            raise ValueError(f"group {name!r}: unknown key(s) {', '.join(map(str, unknown))}; allowed: services, min, max")
        try:
            services = text_list()(spec.get("services"))
            low = None if spec.get("min") is None else number(ge=0)(spec["min"])
            high = None if spec.get("max") is None else number(ge=0)(spec["max"])
        except ValueError as exc:
            raise ValueError(f"group {name!r}: {exc}") from None
        if low is None and high is None:
            raise ValueError(f"group {name!r}: give min, max or both")
        if low is not None and high is not None and low > high:
            raise ValueError(f"group {name!r}: min {low:,.0f} is above max {high:,.0f}")
        out.append(BudgetGroup(str(name), services, low, high))
    return tuple(out)


def _check_mask_keys(catalog: Catalog, masks: Mapping[str, np.ndarray] | None, name: str) -> None:
    known = {s.key for s in catalog.services}
    unknown = sorted(set(masks or {}) - known)
    if unknown:
        raise ParamError(f"unknown service(s) {', '.join(unknown)}; catalog has {', '.join(sorted(known))}",
                         param=name, model="multiservice")


@dataclass(frozen=True, kw_only=True)
class MultiserviceParams(ModelParams):
    """Parameters of :data:`MODEL` (multi-service co-location). Policy keys: ``models/policy.md``."""

    model_name = "multiservice"
    budget: float | None = param(None, check=number(gt=0),
                                 doc="limit on conversion cost (once per building) plus the placements' costs; "
                                     "with [[phases]] a cap on the total over the years")
    max_sites: int | None = max_sites_param()
    objective: str = param("share", check=_objective,
                           doc="share: weight per unit of each service's coverage share of its target group (small "
                               "groups count as much as the whole population); weighted: weight per covered person")
    services: Path | None = param(None, check=path(), is_path=True,
                                  doc="service catalog TOML (default: the shipped basket); [services] overrides it")
    priority_tolerance: float = param(0.0, check=number(ge=0, le=0.999),
                                      doc="share of an earlier priority level's best that later levels may give up")
    community_column: str = param("community", check=text(),
                                  doc="demand and candidates column naming the community (floors per community)")
    budget_groups: tuple[BudgetGroup, ...] | None = param(
        None, check=_budget_groups, doc="earmarked spend per group of services: {NAME: {services, min, max}}")
    min_complexes: int = param(0, check=integer(ge=0),
                               doc="at least this many converted buildings are embedded complexes (see complex_*)")
    all_complexes: bool = param(False, check=boolean(), doc="every converted building must be an embedded complex")
    complex_min_area_m2: float = param(600.0, check=number(ge=0), doc="floor area of an embedded complex, m2")
    complex_min_services: int = param(3, check=integer(ge=1), doc="new services an embedded complex hosts")
    complex_min_core: int = param(2, check=integer(ge=0),
                                  doc="of them, services marked complex_core (elderly, infant, child, meal)")
    horizon_years: int = param(0, check=integer(ge=0), doc="years of operating cost in the life-cycle cost")
    discount_rate: float = param(0.0, check=number(ge=0, le=0.999), doc="yearly discount rate of operating costs")
    budget_basis: str = param("capital", check=choice(BUDGET_BASES),
                              doc="capital: the budget binds conversion and fit-out; life_cycle: also the "
                                  "discounted operating costs over horizon_years")
    phases: tuple[Phase, ...] | None = param(None, check=_phases,
                                             doc="[[phases]] year and budget: one nested plan per year")
    carry_over: bool = param(False, check=boolean(), doc="with phases: unspent money of a year may be spent later")
    min_new_per_community_per_year: int = param(0, check=integer(ge=0),
                                                doc="with phases: new placements in every community every year")
    catalog: Catalog | None = param(None, check=_catalog_value, scenario=False,
                                    doc="the catalog itself (default: read from 'services', else the shipped one)")
    existing_services: Mapping[str, np.ndarray] | None = param(
        None, check=_mask_mapping, scenario=False, doc="{service: (n_sites,) bool}: facilities already providing it")
    allowed_services: Mapping[str, np.ndarray] | None = param(
        None, check=_mask_mapping, scenario=False, doc="{service: (n_sites,) bool}: where it may be placed")

    def check_together(self) -> None:
        """A limit is given; complexes are consistent; a given catalog knows every service named."""
        if self.budget is None and self.max_sites is None and self.phases is None:
            raise ParamError("multiservice needs a limit: give budget, max_sites or [[phases]] (without one every "
                             "usable building converts)", param="budget", model=self.model_name)
        if self.complex_min_core > self.complex_min_services:
            raise ParamError(f"{self.complex_min_core} core services cannot fit in complexes of "
                             f"{self.complex_min_services} services", param="complex_min_core", model=self.model_name)
        if self.min_new_per_community_per_year and self.phases is None:
            raise ParamError("applies to phased plans: give [[phases]]", param="min_new_per_community_per_year",
                             model=self.model_name)
        if self.carry_over and self.phases is None:
            raise ParamError("applies to phased plans: give [[phases]]", param="carry_over", model=self.model_name)
        total = self.limits().budget
        for group in self.budget_groups or ():
            if total is not None and group.min is not None and group.min > total * (1 + 1e-12):
                raise ParamError(f"group {group.name!r}: min {group.min:,.0f} is above the budget of {total:,.0f} "
                                 "(with [[phases]] the total over the years)", param="budget_groups",
                                 model=self.model_name)
        if self.catalog is not None:
            resolved_catalog(self)

    @property
    def n_years(self) -> int:
        """How many yearly plans the program nests: one per ``[[phases]]`` entry, else one."""
        return len(self.phases) if self.phases else 1

    def limits(self) -> Limits:
        """``budget`` (else the phases' total) and ``max_sites``."""
        budget = self.budget
        if self.phases is not None:
            total = float(sum(ph.budget for ph in self.phases))
            budget = total if budget is None else min(float(budget), total)
        return Limits(budget=budget, max_sites=self.max_sites)

    def annuity(self) -> float:
        """Present value of 1 per year over ``horizon_years`` at ``discount_rate``: sum_t (1 + r)^-t."""
        t = np.arange(1, self.horizon_years + 1, dtype=float)
        return float(np.sum((1.0 + self.discount_rate) ** -t))

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



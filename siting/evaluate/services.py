"""The services an evaluation measures: what a scenario's model serves, with its travel table and supply.

* A single-service model (mclp, lscp, p-median, ...) is one pseudo-service named after the model: its
  ``weight_column``, its ``threshold_minutes`` (none for p-median / p-center: every reachable pair), the
  travel table of its ``speed_group`` (:func:`siting.models.driver.walking_table`, the one it is solved on), the
  existing facilities (status ``existing``) as providers before the plan, and as supply ``S_j`` the site's
  capacity (the model's ``capacity`` or the candidates' ``capacity`` column) where finite, else 1.
* A multi-service model: every enabled catalogue service from the very inputs the model evaluates with
  (:func:`siting.models.multiservice_inputs.inputs_of`: demand column, speed group table, threshold,
  existing providers), ``S_j`` = the catalogue ``capacity`` when set, else 1.

Example
-------
>>> s = EvalService("mclp", demand_column="population", threshold_min=10.0)
>>> s.key, s.speed_group
('mclp', None)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..data.instance import Instance, SiteStatus, TravelTimes
from ..models import multiservice
from ..models.base import Model
from ..models.capacitated import site_capacity
from ..models.driver import walking_table
from ..models.params import ModelParams, ParamError
from ..models.parts import demand_weight, travel_of
from ..rules import SiteRules

__all__ = ["EvalService", "ResolvedService", "PreparedModel", "resolve", "services_of"]


class PreparedModel(Protocol):
    """A scenario's prepared model (:class:`siting.workflow.evaluation.ModelInputs` is one)."""

    @property
    def model(self) -> Model[Any]: ...  # noqa: D102

    @property
    def params(self) -> ModelParams: ...  # noqa: D102

    @property
    def instance(self) -> Instance: ...  # noqa: D102

    @property
    def rules(self) -> SiteRules: ...  # noqa: D102


@dataclass(frozen=True)
class EvalService:
    """One service to evaluate (the Python form; :func:`services_of` builds them from a scenario).

    key : service name in the tables
    demand_column : ``population`` or a numeric group column of the demand table (``D_i``)
    threshold_min : catchment in minutes; None = every reachable pair
    speed_group : travel table of this speed group (None / ``"default"``: the default table)
    capacity : ``S_j``: one number for every provider, one per site (NaN / inf = 1), or None = 1
    existing : (n_sites,) bool, providers before the plan; None = the sites of status ``existing``
    travel : the travel table itself (wins over ``speed_group``)
    label, area_norm_m2, norm_per_1000 : catalogue name, per-facility area norm (low, high) and floor area
        per 1,000 of the target group the norm asks for (for ``supply.csv``)
    """

    key: str
    demand_column: str = "population"
    threshold_min: float | None = None
    speed_group: str | None = None
    capacity: float | np.ndarray | None = None
    existing: np.ndarray | None = None
    travel: TravelTimes | None = field(default=None, repr=False)
    label: str = ""
    area_norm_m2: tuple[float, float] | None = None
    norm_per_1000: float | None = None


@dataclass(frozen=True)
class ResolvedService:
    """An :class:`EvalService` resolved against an instance: arrays of the right length."""

    spec: EvalService
    travel: TravelTimes
    demand: np.ndarray      # (n_demand,) D_i
    supply: np.ndarray      # (n_sites,) S_j of a provider (> 0)
    existing: np.ndarray    # (n_sites,) bool

    @property
    def key(self) -> str:
        """The service key."""
        return self.spec.key


def _supply(instance: Instance, capacity: float | np.ndarray | None, key: str) -> np.ndarray:
    n = instance.n_sites
    if capacity is None:
        return np.ones(n)
    cap = np.broadcast_to(np.asarray(capacity, dtype=float), (n,)) if np.ndim(capacity) == 0 \
        else np.asarray(capacity, dtype=float)
    if cap.shape != (n,):
        raise ParamError(f"service {key!r}: {cap.shape[0]} values for {n} sites", param="capacity")
    # a capacity of 0 would make the provider vanish from the ratio; unknown or unlimited counts as one unit
    return np.where(np.isfinite(cap) & (cap > 0), cap, 1.0)


def resolve(instance: Instance, spec: EvalService) -> ResolvedService:
    """The arrays of ``spec`` on ``instance`` (one-line errors for an unknown column or speed group)."""
    travel = spec.travel if spec.travel is not None else travel_of(instance, spec.speed_group)
    existing = instance.sites.mask(SiteStatus.EXISTING) if spec.existing is None \
        else np.asarray(spec.existing, dtype=bool)
    if existing.shape != (instance.n_sites,):
        raise ParamError(f"service {spec.key!r}: a mask of shape {existing.shape}, expected ({instance.n_sites},)",
                         param="existing")
    return ResolvedService(spec, travel, demand_weight(instance, spec.demand_column),
                           _supply(instance, spec.capacity, spec.key), existing)


def _norm_per_1000(service: Any) -> float | None:
    # the catalogue holds per-facility norms only (area_norm_m2); a per-1,000 norm is read when one is given
    value = getattr(service, "area_per_1000_m2", None)
    return None if value is None else float(value)


def services_of(inputs: PreparedModel) -> list[ResolvedService]:
    """Every service of a prepared scenario model, resolved on its instance (module docstring)."""
    model, params, instance = inputs.model, inputs.params, inputs.instance
    if isinstance(params, multiservice.MultiserviceParams):
        data = multiservice.inputs_of(instance, params, inputs.rules).services
        out = []
        for d in data:
            s = d.service
            spec = EvalService(s.key, demand_column=s.demand_column, threshold_min=float(s.threshold_minutes),
                               speed_group=s.speed_group, capacity=s.capacity, existing=d.existing,
                               travel=d.travel, label=s.name or "", area_norm_m2=s.area_norm_m2,
                               norm_per_1000=_norm_per_1000(s))
            out.append(ResolvedService(spec, d.travel, np.asarray(d.weight, dtype=float),
                                       _supply(instance, s.capacity, s.key), np.asarray(d.existing, dtype=bool)))
        return out
    threshold = getattr(params, "threshold_min", None)
    capacity = site_capacity(instance, getattr(params, "capacity", None))
    spec = EvalService(model.name, demand_column=str(getattr(params, "weight_column", "population")),
                       threshold_min=None if threshold is None else float(threshold),
                       speed_group=getattr(params, "speed_group", None), capacity=capacity,
                       existing=inputs.rules.existing.copy(), travel=walking_table(instance, params).travel)
    return [resolve(instance, spec)]

"""Per-service coverage of a plan, recomputed from the scenario's raw tables (for ranking and reports).

A *service* ``k`` has a walking threshold :math:`T_k`, a demand weight column :math:`w_k` (``population``,
``elderly``, ``children``...) and optionally a travel-time group :math:`g_k` (e.g. elderly walking speed).
With :math:`A^k_{ij} = [t^{g_k}_{ij} \\le T_k]` and :math:`P^k` the sites providing ``k`` (existing facilities
that list ``k`` in their ``services`` column plus plan sites hosting ``k``):

* demand ``i`` is covered for ``k`` iff :math:`(A^k P^k)_i > 0`;
* the *marginal gain* of hosting ``k`` at site ``j`` is :math:`\\sum_i A^k_{ij} w^k_i [i \\text{ uncovered}]`
  (one sparse product for all ``j``);
* the *drop loss* of a provider ``j`` is :math:`\\sum_i A^k_{ij} w^k_i [(A^k P^k)_i = 1]` (the demand only it covers).

Single-service models (``mclp``, ``lscp``, ...) are one service named after the model, provided by every open site.

Example
-------
>>> spec = ServiceSpec("elderly_care", threshold_min=10.0, weight_column="elderly", group="elderly")
>>> spec.key, spec.threshold_min
('elderly_care', 10.0)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...data import read_table
from ...data.instance import Instance
from ...errors import ScenarioError
from ...run import scenario_instance
from ...scenario import Scenario
from ...services.catalog import load_catalog

__all__ = ["ServiceSpec", "service_specs", "CoverageModel", "plan_services"]


@dataclass(frozen=True)
class ServiceSpec:
    key: str
    threshold_min: float
    weight_column: str = "population"
    group: str | None = None          # travel-time group (None: the table's only / first group)
    fitout_cost: float = 0.0          # yuan added to the building's conversion cost when it hosts this service
    min_floor_area_m2: float = 0.0
    label: str = ""
    weight: float = 1.0               # objective weight of one covered person


def service_specs(scenario: Scenario) -> list[ServiceSpec]:
    """The services of a scenario: the multi-service catalogue, or one service for a single-service model."""
    m = scenario.model
    if m.type != "multiservice":
        return [ServiceSpec(key=m.type, threshold_min=float(m.threshold_minutes or 15.0),
                            weight_column=m.weight_column or "population")]
    # the same catalogue (model.services file + [services] overrides) the multi-service solve reads
    catalog = load_catalog(m.services, scenario.services or None)
    return [ServiceSpec(key=s.key, threshold_min=float(s.threshold_minutes), weight_column=s.demand_column,
                        group=s.speed_group, fitout_cost=float(s.fitout_cost or 0.0),
                        min_floor_area_m2=float(s.min_floor_area_m2 or 0.0), label=s.name or "",
                        weight=float(s.weight)) for s in catalog]


def plan_services(selected_sites: Iterable[dict], selected: Iterable[str], specs: list[ServiceSpec]) -> dict[str, set]:
    """site id -> services hosted by the plan (all services of a single-service model for every selected site)."""
    out: dict[str, set] = {}
    single = len(specs) == 1
    rows = list(selected_sites or [])
    if rows and any(r.get("services") not in (None, "") for r in rows):
        for r in rows:
            v = r.get("services")
            items = v if isinstance(v, (list, tuple)) else str(v or "").split(";")
            out[str(r.get("site_id", r.get("id")))] = {s.strip() for s in items if s and s.strip()}
        return out
    for sid in selected:
        out[str(sid)] = {specs[0].key} if single else set()
    return out


class CoverageModel:
    """Coverage matrices per service for one scenario (travel times from its table or the cached network table)."""

    def __init__(self, scenario: Scenario, specs: list[ServiceSpec] | None = None) -> None:
        self.scenario = scenario
        self.specs = specs or service_specs(scenario)
        groups = self._travel_groups()
        self.instances: dict[str | None, Instance] = {}
        # each service reads the travel times of its speed group (the table's first group if it has no such group)
        self._group_of = {s.key: (s.group if s.group in groups else (groups[0] if groups else None))
                          for s in self.specs}
        for g in dict.fromkeys(self._group_of.values()):
            self.instances[g] = scenario_instance(scenario, group=g if groups else None)
        inst = next(iter(self.instances.values()))
        self.demand = inst.demand
        self.sites = inst.sites
        self.site_index = pd.Index(self.sites.ids.astype(str))
        labels = getattr(self.sites, "labels", None) or {}
        if "services" in labels:
            col = pd.Series(labels["services"], dtype=object)
        else:
            raw = read_table(scenario.data.candidates).frame
            col = raw["services"] if "services" in raw.columns else pd.Series([""] * len(raw), dtype=object)
        self.site_services = [
            {x.strip() for x in str(v).split(";") if x.strip()} if isinstance(v, str) else set() for v in col
        ]
        self.existing = np.array([str(s) == "existing" for s in self.sites.status])
        self.A: dict[str, sp.csr_matrix] = {}
        self.w: dict[str, np.ndarray] = {}
        for s in self.specs:
            inst = self.instances[self._group_of[s.key]]
            self.A[s.key] = inst.travel.within(s.threshold_min).astype(np.float64).tocsr()
            if s.weight_column == "population" or s.weight_column in self.demand.groups:
                self.w[s.key] = np.asarray(self.demand.weight(s.weight_column), dtype=float)
            else:
                raise ScenarioError(f"no demand column '{s.weight_column}' for service '{s.key}'",
                                    file=str(scenario.path), key="model.services")

    def _travel_groups(self) -> list[str]:
        path = self.scenario.data.travel_times
        if path is None:
            return []
        p = Path(path)
        if p.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            if "group" not in pq.read_schema(p).names:
                return []
            vals = pd.read_parquet(p, columns=["group"])["group"]
        else:
            head = pd.read_csv(p, nrows=0)
            if "group" not in head.columns:
                return []
            vals = pd.read_csv(p, usecols=["group"])["group"]
        return [str(v) for v in pd.unique(vals.astype(str))]

    # ------------------------------------------------------------------ providers and coverage
    def providers(self, plan: dict[str, set] | None = None, *, existing: bool = True) -> dict[str, np.ndarray]:
        """Service -> boolean mask of providing sites (existing facilities + plan)."""
        single = len(self.specs) == 1
        out = {}
        for s in self.specs:
            if single:
                mask = self.existing.copy() if existing else np.zeros(len(self.existing), dtype=bool)
            else:
                mask = np.array([existing and e and (s.key in svc) for e, svc in zip(self.existing, self.site_services)])
            out[s.key] = mask
        for sid, services in (plan or {}).items():
            j = self.site_index.get_indexer([sid])[0]
            if j < 0:
                continue
            for k in services:
                if k in out:
                    out[k][j] = True
        return out

    def counts(self, providers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Service -> number of providers within the threshold of every demand point."""
        return {k: self.A[k] @ providers[k].astype(np.float64) for k in providers}

    def summary(self, providers: dict[str, np.ndarray]) -> pd.DataFrame:
        """One row per service: covered weight, total weight, share, providers."""
        rows = []
        for s in self.specs:
            cov = self.counts({s.key: providers[s.key]})[s.key] > 0
            total = float(self.w[s.key].sum())
            c = float(self.w[s.key][cov].sum())
            rows.append({"service": s.key, "weight_column": s.weight_column, "threshold_min": s.threshold_min,
                         "covered": c, "total": total, "share": c / total if total else 0.0,
                         "providers": int(providers[s.key].sum())})
        return pd.DataFrame(rows)

    def marginal_gain(self, providers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Service -> weight newly covered if each site additionally hosted the service."""
        out = {}
        for k, cnt in self.counts(providers).items():
            out[k] = self.A[k].T @ (self.w[k] * (cnt == 0))
        return out

    def drop_loss(self, providers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Service -> weight that loses coverage if the site stopped providing it (0 for non-providers)."""
        out = {}
        for k, cnt in self.counts(providers).items():
            out[k] = (self.A[k].T @ (self.w[k] * (cnt == 1))) * providers[k]
        return out

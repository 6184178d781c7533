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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data import read_table
from ..data.instance import Instance, TravelTimes
from ..errors import InfeasibleError, InputError, ScenarioError, VerificationError
from ..options import SolveOptions
from ..program import Sense
from ..reach import nearest_open_site, open_within
from ..result import Result
from ..rules import SiteRules
from ..services.catalog import Catalog, Service, load_catalog, service_masks
from .assignment import Assignment, best_assignment
from .base import Built, Evaluation, Model, Plan, ScenarioInputs
from .driver import solve_model
from .params import ModelParams, ParamError, choice, max_sites_param, number, param, path
from .parts import Rows, milp, travel_of
from .tables import coverage_table

__all__ = ["MODEL", "MultiserviceParams", "solve_multiservice", "build_multiservice", "service_data", "ServiceData"]

OBJECTIVES = ("population", "share")
_TOL = 1e-6


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
            _resolved_catalog(self)

    def thresholds_min(self) -> dict[str, float]:
        """Each enabled service's threshold (minutes on its own speed group's table)."""
        return {f"services.{s.key}.threshold_minutes": float(s.threshold_minutes) for s in _resolved_catalog(self)}


def _resolved_catalog(params: MultiserviceParams) -> Catalog:
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


def _demand_weight(instance: Instance, service: Service) -> np.ndarray:
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
    for s in _resolved_catalog(params):
        if s.speed_group and s.speed_group not in instance.group_travel:
            # issue 15/10 will make this an error; until then the service walks at the default speed
            warnings.append(f"{s.key}: no travel table for speed group {s.speed_group!r}; default table used")
            travel = instance.travel
        else:
            travel = travel_of(instance, s.speed_group)
        weight = _demand_weight(instance, s)
        fits = np.isnan(area) | (area >= s.min_floor_area_m2)
        allowed = buildable & fits & _mask(params.allowed_services, s.key, n, True, "allowed_services")
        total = float(weight.sum())
        per_weight = s.weight / total if params.objective == "share" and total > 0 else s.weight
        out.append(ServiceData(s, travel, weight, _mask(params.existing_services, s.key, n, False,
                                                         "existing_services"), allowed, per_weight))
    return out, warnings


# ------------------------------------------------------------------------------------------ program
@dataclass(frozen=True)
class _Cover:
    """A service's cover columns from ``start``: ``v`` per demand row in ``active``, or ``z`` per pair."""

    start: int
    within: sp.csr_matrix | None = None        # a^k_ij over all sites (uncapacitated)
    pre_covered: np.ndarray | None = None      # demand within r_k of an existing k facility (uncapacitated)
    active: np.ndarray | None = None           # demand indices with a v column (uncapacitated)
    pairs: tuple[np.ndarray, np.ndarray] | None = None   # (demand, site) of the z columns (capacitated)


def build_multiservice(instance: Instance, params: MultiserviceParams,
                       rules: SiteRules | None = None) -> Built:
    r"""The co-location program and its decoder to a :class:`Plan`.

    Returns
    -------
    Built
        Columns: block ``"site"`` (``y_j``), ``"service"`` (``s_jk`` for allowed pairs, service by service),
        ``"cover"`` (``v_ik`` per uncovered reachable demand point, or ``z_ijk`` per pair for a capacitated
        service). The decoder gives ``open_sites`` = converted buildings and existing sites,
        ``placements[k]`` = new ``k`` placements and ``assignment[k]`` = a sparse (n_demand, n_sites) matrix
        of assigned shares for each capacitated service.

    Notes
    -----
    ``a^k_ij = [t^{g(k)}_ij <= r_k]`` on service ``k``'s travel table, ``w^k`` its demand column,
    ``lambda_k`` its weight (divided by ``W_k = sum_i w^k_i`` for ``objective="share"``), ``A_k`` its floor
    area, ``f_k`` its fit-out cost, ``F_j`` the building's floor area:

    .. math::

        \max \sum_k \lambda_k \Big( W^0_k + \sum_i w^k_i v_{ik} \Big) \quad\text{s.t.}\quad
        s_{jk} \le y_j \le \sum_k s_{jk},\quad \sum_k A_k s_{jk} \le F_j y_j,\quad
        v_{ik} \le \sum_j a^k_{ij} s_{jk},\quad
        \sum_j c_j y_j + \sum_{j,k} f_k s_{jk} \le B

    ``y_j <= sum_k s_jk`` (every building the plan may convert): no conversion without a service.
    ``W^0_k`` is the weight already within ``r_k`` of an existing ``k`` facility (those rows get no ``v``).
    A capacitated service uses ``z`` instead of ``v``: ``sum_j z_ijk <= 1``,
    ``sum_i w^k_i z_ijk <= cap_k s_jk`` (``<= cap_k`` at existing facilities), ``z_ijk <= s_jk``.
    ``y, s`` binary; ``v, z`` in [0, 1].
    """
    rules = rules or SiteRules.of(instance)
    data, warnings = service_data(instance, params, rules)
    n, n_demand = instance.n_sites, instance.n_demand
    s_sites = [np.flatnonzero(d.allowed) for d in data]
    s_start = n + np.concatenate([[0], np.cumsum([x.shape[0] for x in s_sites])]).astype(np.int64)
    pieces: list[_Cover] = []
    col = int(s_start[-1])
    for d in data:
        if d.service.capacity is None:
            a = d.travel.within(d.service.threshold_minutes).astype(np.float64).tocsr()
            pre = (a @ d.existing.astype(float)) > 0
            reach = (a @ d.allowed.astype(float)) > 0
            active = np.flatnonzero((d.weight > 0) & ~pre & reach)
            pieces.append(_Cover(col, within=a, pre_covered=pre, active=active))
            col += active.shape[0]
        else:
            tr = d.travel
            keep = (tr.minutes <= d.service.threshold_minutes) & (d.weight[tr.demand_index] > 0) & \
                (d.allowed | d.existing)[tr.site_index]
            order = np.lexsort((tr.site_index[keep], tr.demand_index[keep]))
            pieces.append(_Cover(col, pairs=(tr.demand_index[keep][order], tr.site_index[keep][order])))
            col += int(keep.sum())
    n_cols = col
    rows = Rows(n_cols)
    objective = np.zeros(n_cols)
    offset = 0.0
    fit_cols, fit_vals, area_sites, area_cols, area_vals = [], [], [], [], []
    for k, (d, piece) in enumerate(zip(data, pieces, strict=True)):
        v0 = piece.start
        sites_k, m = s_sites[k], s_sites[k].shape[0]
        s_cols = s_start[k] + np.arange(m)
        scol = np.full(n, -1, np.int64)
        scol[sites_k] = s_cols
        rows.add(np.repeat(np.arange(m), 2), np.column_stack([s_cols, sites_k]).ravel(),
                 np.tile([1.0, -1.0], m), m, -np.inf, 0.0)                                   # s_jk <= y_j
        fit_cols.append(s_cols)
        fit_vals.append(np.full(m, d.service.fitout_cost))
        if d.service.min_floor_area_m2 > 0:
            area_sites.append(sites_k)
            area_cols.append(s_cols)
            area_vals.append(np.full(m, d.service.min_floor_area_m2))
        if piece.pairs is None:
            assert piece.within is not None and piece.active is not None and piece.pre_covered is not None
            active = piece.active
            cover = (piece.within[active] @ sp.diags(d.allowed.astype(float))).tocoo()
            cover.eliminate_zeros()
            kk = active.shape[0]
            rows.add(np.concatenate([np.arange(kk), cover.row]), np.concatenate([v0 + np.arange(kk), scol[cover.col]]),
                     np.concatenate([np.ones(kk), -np.ones(cover.nnz)]), kk, -np.inf, 0.0)
            objective[v0:v0 + kk] = d.per_weight * d.weight[active]
            offset += d.per_weight * float(d.weight[piece.pre_covered].sum())
        else:
            dem, site = piece.pairs
            n_pairs = dem.shape[0]
            z = v0 + np.arange(n_pairs)
            _, demand_row = np.unique(dem, return_inverse=True)
            rows.add(demand_row, z, np.ones(n_pairs), int(demand_row.max(initial=-1)) + 1, -np.inf, 1.0)
            hosts = np.flatnonzero(d.allowed | d.existing)       # one capacity row per possible host
            cap_row = np.full(n, -1, np.int64)
            cap_row[hosts] = np.arange(hosts.shape[0])
            cap = float(d.service.capacity or 0.0)
            rows.add(np.concatenate([cap_row[site], cap_row[sites_k]]), np.concatenate([z, scol[sites_k]]),
                     np.concatenate([d.weight[dem], np.full(m, -cap)]), hosts.shape[0], -np.inf,
                     np.where(d.existing[hosts], cap, 0.0))
            new = np.flatnonzero(d.allowed[site] & ~d.existing[site])                       # z_ijk <= s_jk
            rows.add(np.repeat(np.arange(new.shape[0]), 2), np.column_stack([z[new], scol[site[new]]]).ravel(),
                     np.tile([1.0, -1.0], new.shape[0]), new.shape[0], -np.inf, 0.0)
            objective[z] = d.per_weight * d.weight[dem]
    floor = instance.sites.floor_area
    if area_sites and floor is not None:
        known = np.flatnonzero(np.isfinite(floor) & rules.counts)
        area_row = np.full(n, -1, np.int64)
        area_row[known] = np.arange(known.shape[0])
        r = area_row[np.concatenate(area_sites)]
        on = r >= 0
        rows.add(np.concatenate([r[on], np.arange(known.shape[0])]),
                 np.concatenate([np.concatenate(area_cols)[on], known]),
                 np.concatenate([np.concatenate(area_vals)[on], -floor[known]]), known.shape[0], -np.inf, 0.0)
    rows.add_limits(slice(0, n), rules, params.limits(),
                    extra_cost=(np.concatenate(fit_cols), np.concatenate(fit_vals)))
    s_end = int(s_start[-1])
    _add_a_service_per_conversion(rows, rules, s_sites, s_end, instance.sites.ids)
    integer = np.zeros(n_cols, bool)
    integer[:s_end] = True
    program = milp(Sense.MAXIMIZE, objective, rows, np.concatenate([rules.lower, np.zeros(n_cols - n)]),
                   np.concatenate([rules.upper, np.ones(n_cols - n)]), integer, "multiservice",
                   {"site": (0, n), "service": (n, s_end), "cover": (s_end, n_cols)}, offset=offset)

    def decode(x: np.ndarray) -> Plan:
        placements: dict[str, np.ndarray] = {}
        assignment: dict[str, sp.csr_matrix] = {}
        for k, (d, piece) in enumerate(zip(data, pieces, strict=True)):
            placed = np.zeros(n, bool)
            placed[s_sites[k]] = x[s_start[k]:s_start[k + 1]] > 0.5
            placements[d.service.key] = placed
            if piece.pairs is not None:
                share = np.clip(x[piece.start:piece.start + piece.pairs[0].shape[0]], 0.0, 1.0)
                assignment[d.service.key] = sp.csr_matrix((share, piece.pairs), shape=(n_demand, n))
        # Plan.assignment holds {service: sparse shares} here (several capacitated services, one plan)
        return Plan(open_sites=(x[:n] > 0.5) | rules.existing, placements=placements,
                    assignment=assignment or None)

    # the cheapest-plan stage pays conversions and fit-outs alike
    plan_cost = np.zeros(n_cols)
    plan_cost[:n] = rules.cost
    plan_cost[np.concatenate(fit_cols)] = np.concatenate(fit_vals)
    return Built(program, decode, stats={"warnings": warnings}, plan_cost=plan_cost)


def _add_a_service_per_conversion(rows: Rows, rules: SiteRules, s_sites: list[np.ndarray], s_end: int,
                                  ids: np.ndarray) -> None:
    """``y_j <= sum_k s_jk`` for every building the plan may convert: no conversion without a service.

    The ``s`` columns run from ``n`` to ``s_end``, service by service over ``s_sites``.

    Raises
    ------
    InfeasibleError
        when a required building can host none of the enabled services.
    """
    n = rules.usable.shape[0]
    buildable = np.flatnonzero(rules.usable & ~rules.existing)
    hosts = np.zeros(n, bool)
    for sites_k in s_sites:
        hosts[sites_k] = True
    stranded = np.flatnonzero(rules.required & ~hosts)
    if stranded.size:
        raise InfeasibleError(f"multiservice: required building(s) {', '.join(map(str, ids[stranded][:5]))} can "
                              "host none of the enabled services (floor area or allowed services), and a "
                              "conversion must host at least one")
    row_of = np.full(n, -1, np.int64)
    row_of[buildable] = np.arange(buildable.shape[0])
    placed_at = np.concatenate(s_sites)               # allowed sites are buildable: every row_of is set
    rows.add(np.concatenate([np.arange(buildable.shape[0]), row_of[placed_at]]),
             np.concatenate([buildable, np.arange(n, s_end)]),
             np.concatenate([np.ones(buildable.shape[0]), -np.ones(placed_at.shape[0])]),
             buildable.shape[0], -np.inf, 0.0)


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
    on = z.data > _TOL
    dem, site, share = z.row[on], z.col[on], np.minimum(z.data[on], 1.0)
    if np.any(~open_k[site]):
        raise VerificationError(f"multiservice: {key} demand assigned to a site without {key}: "
                                f"{', '.join(map(str, ids[np.unique(site[~open_k[site]])][:5]))}")
    if np.any(_pair_minutes(d.travel, dem, site) > d.service.threshold_minutes):
        raise VerificationError(f"multiservice: {key} demand assigned beyond {d.service.threshold_minutes:g} "
                                "minutes or over a pair missing from the travel table")
    shares = np.bincount(dem, weights=share, minlength=n_demand)
    if np.any(shares > 1 + _TOL):
        raise VerificationError(f"multiservice: a demand point is assigned more than once for {key}")
    load = np.bincount(site, weights=d.weight[dem] * share, minlength=n)
    if np.any(load > cap * (1 + _TOL)):
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
        covered_k = share > _TOL if s.capacity is None else site >= 0
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
    return float(sum(_demand_weight(instance, s).sum() for s in _resolved_catalog(params)))


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

"""A multi-service plan's figures, recomputed from the raw tables, and every policy rule checked on them.

Nothing here reads the solver's columns: placements (and the year each opens) are the whole plan; coverage
is the nearest open provider within the service's threshold on its own travel table (a capacitated
service: the plan's best assignment, :func:`~siting.models.assignment.best_assignment`). A broken rule
(budget of a year, floor, duty per community, earmarked spend, complex) raises
:class:`~siting.errors.VerificationError` — a plan that breaks one is a bug, never a result.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data.instance import Instance, TravelTimes
from ..errors import VerificationError
from ..reach import nearest_open_site, open_within
from ..rules import SiteRules
from .assignment import Assignment, best_assignment
from .base import Evaluation, Plan
from .multiservice_inputs import Inputs, ServiceData, inputs_of
from .multiservice_params import TOL, MultiserviceParams, resolved_catalog
from .tables import coverage_table

__all__ = ["evaluate_multiservice"]


@dataclass(frozen=True)
class _Reach:
    """One service in one year: who is covered (share per demand point), by which site, the loads."""

    share: np.ndarray
    site: np.ndarray
    minutes: np.ndarray
    nearest_minutes: np.ndarray
    load: np.ndarray


def _pair_minutes(travel: TravelTimes, dem: np.ndarray, site: np.ndarray) -> np.ndarray:
    """Minutes of the pairs ``(dem, site)`` in the raw table (``inf`` for pairs it does not have)."""
    keys = travel.demand_index * travel.n_sites + travel.site_index
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    wanted = dem.astype(np.int64) * travel.n_sites + site
    pos = np.minimum(np.searchsorted(sorted_keys, wanted), max(sorted_keys.shape[0] - 1, 0))
    found = sorted_keys[pos] == wanted if sorted_keys.shape[0] else np.zeros(wanted.shape[0], bool)
    return np.where(found, travel.minutes[order][pos] if sorted_keys.shape[0] else np.inf, np.inf)


def _check_assignment(d: ServiceData, assigned: Any, open_k: np.ndarray, ids: np.ndarray) -> None:
    """The solver's assignment of a capacitated service is feasible for the plan (its figures are not used)."""
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
    if np.any(np.bincount(dem, weights=share, minlength=n_demand) > 1 + TOL):
        raise VerificationError(f"multiservice: a demand point is assigned more than once for {key}")
    if np.any(np.bincount(site, weights=d.weight[dem] * share, minlength=n) > cap * (1 + TOL)):
        raise VerificationError(f"multiservice: a {key} site serves more than its capacity {cap:g}")


def _reach(d: ServiceData, open_k: np.ndarray) -> _Reach:
    """Coverage of one service by the sites ``open_k`` (existing ones included)."""
    n = open_k.shape[0]
    nearest, nearest_minutes = nearest_open_site(d.travel, open_k)
    if d.service.capacity is None:
        share = (nearest_minutes <= d.service.threshold_minutes).astype(float)
        return _Reach(share, nearest, nearest_minutes, nearest_minutes, np.full(n, np.nan))
    tr = d.travel
    keep = (tr.minutes <= d.service.threshold_minutes) & (d.weight[tr.demand_index] > 0) & open_k[tr.site_index]
    best: Assignment = best_assignment((tr.demand_index[keep], tr.site_index[keep], tr.minutes[keep]), d.weight,
                                       np.full(n, float(d.service.capacity)), open_k,
                                       model=f"multiservice ({d.service.key})")
    return _Reach(best.covered, best.site, best.minutes, nearest_minutes, best.load)


def _placements(instance: Instance, params: MultiserviceParams, plan: Plan, data: list[ServiceData],
                n_phases: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each service's placement mask and the year index of each placement, checked against the plan's shape."""
    n = instance.n_sites
    ids = instance.sites.ids.astype(str)
    converted = np.asarray(plan.open_sites, bool)
    placed_by: dict[str, np.ndarray] = {}
    year_by: dict[str, np.ndarray] = {}
    for d in data:
        key = d.service.key
        placed = np.asarray((plan.placements or {}).get(key, np.zeros(0)), bool)
        if placed.shape != (n,):
            raise VerificationError(f"multiservice: the plan has no placement mask over the {n} sites for {key}")
        if np.any(placed & ~converted):
            raise VerificationError(f"multiservice: {key} placed in a building that is not converted: "
                                    f"{', '.join(ids[placed & ~converted][:5])}")
        if np.any(placed & ~d.allowed):
            raise VerificationError(f"multiservice: {key} placed where it may not go (existing, excluded, too "
                                    f"small or not allowed): {', '.join(ids[placed & ~d.allowed][:5])}")
        if params.phases:
            year = np.asarray((plan.phase or {}).get(key, np.full(n, -1)), dtype=np.int64)
            if year.shape != (n,) or np.any(placed & ((year < 0) | (year >= n_phases))):
                raise VerificationError(f"multiservice: {key} placements without a year of the {n_phases} phases")
        else:
            year = np.zeros(n, np.int64)
        placed_by[key] = placed
        year_by[key] = np.where(placed, year, -1)
    return placed_by, year_by


def evaluate_multiservice(instance: Instance, params: MultiserviceParams, rules: SiteRules,
                          plan: Plan) -> Evaluation:
    """Placements, floor area, costs per year and every service's coverage per year, from the raw tables.

    Every converted building must host at least one new service; a phased plan's buildings convert in the
    first year one of their services opens and pay then.
    """
    inputs = inputs_of(instance, params, rules)
    data = inputs.services
    n = instance.n_sites
    ids = instance.sites.ids.astype(str)
    n_phases = params.n_years
    placed_by, year_by = _placements(instance, params, plan, data, n_phases)
    converted = np.asarray(plan.open_sites, bool) & ~rules.existing
    hosting = np.zeros(n, bool)
    for placed in placed_by.values():
        hosting |= placed
    if np.any(converted & ~hosting):
        raise VerificationError(f"multiservice: converted building(s) host no new service: "
                                f"{', '.join(ids[converted & ~hosting][:5])}")
    _check_area(instance, data, placed_by)
    conv_year = np.full(n, n_phases, np.int64)
    for key, year in year_by.items():
        conv_year = np.where(placed_by[key], np.minimum(conv_year, year), conv_year)
    conv_year = np.where(converted, conv_year, -1)
    spend, rows = _spend(instance, params, inputs, placed_by, year_by, conv_year, n_phases)
    _check_budgets(params, spend)
    years: list[Any] = [ph.year for ph in params.phases] if params.phases else [None]
    objective = 0.0
    per_year: list[dict[str, Any]] = [{"objective": 0.0, "services": {}} for _ in range(n_phases)]
    level_of = {k: i + 1 for i, keys in enumerate(resolved_catalog(params).priority_levels()) for k in keys}
    level_values: dict[int, float] = {}
    final: dict[str, _Reach] = {}
    witness: dict[str, np.ndarray] = {}
    for d in data:
        key = d.service.key
        total = float(d.weight.sum())
        for t in range(n_phases):
            open_k = (placed_by[key] & (year_by[key] <= t)) | d.existing
            reach = _reach(d, open_k)
            got = float(d.weight @ reach.share)
            objective += d.per_weight * got
            per_year[t]["objective"] += d.per_weight * got
            level = level_of.get(key, 0)
            level_values[level] = level_values.get(level, 0.0) + d.per_weight * got
            per_year[t]["services"][key] = {"covered": got, "total": total, "share": got / total if total else 0.0}
            if t == n_phases - 1:
                final[key] = reach
        if d.service.capacity is not None and isinstance(plan.assignment, Mapping) and key in plan.assignment:
            _check_assignment(d, plan.assignment[key], placed_by[key] | d.existing, ids)
            witness[key] = _assigned_share(plan.assignment[key], d.weight.shape[0])
    communities = _check_policy(instance, params, inputs, placed_by, year_by, final, conv_year, n_phases, witness)
    per: dict[str, dict[str, Any]] = {}
    site_frames, cover_frames = [], []
    for d in data:
        s, key, reach = d.service, d.service.key, final[d.service.key]
        total = float(d.weight.sum())
        got = float(d.weight @ reach.share)
        already = float(d.weight[open_within(d.travel, d.existing, s.threshold_minutes) > 0].sum())
        per[key] = {"name": s.name, **s.threshold_info(), **s.policy_info(), "demand_column": s.demand_column,
                    "covered": got, "total": total, "share": got / total if total else 0.0,
                    "already_covered": already, "new_sites": int(placed_by[key].sum()),
                    "existing_sites": int(d.existing.sum())}
        for origin, mask in (("new", placed_by[key]), ("existing", d.existing)):
            idx = np.flatnonzero(mask)
            opened = [years[int(t)] if origin == "new" else None for t in year_by[key][idx]]
            site_frames.append(pd.DataFrame({
                "site_id": ids[idx], "service": key, "origin": origin, "year": pd.array(opened, dtype="Int64"),
                "status": np.asarray(instance.sites.status).astype(str)[idx],
                "building_cost": inputs.building_cost[idx],
                "fitout_cost": d.capital_cost[idx] if origin == "new" else 0.0,
                "operating_cost_pv": d.operating_pv[idx] if origin == "new" else 0.0,
                "area_m2": s.min_floor_area_m2, "load": reach.load[idx],
                "x": instance.sites.x[idx], "y": instance.sites.y[idx]}))
        covered_k = reach.share > TOL if s.capacity is None else reach.site >= 0
        cover_frames.append(coverage_table(instance, d.weight, reach.site, reach.minutes, covered_k, service=key,
                                           share=reach.share, nearest_open_minutes=reach.nearest_minutes))
    stats = _stats(params, inputs, per, per_year, spend, rows, years, converted, conv_year, communities,
                   level_values, placed_by, year_by)
    covered = sum(v["covered"] for v in per.values())
    # an enabled service nobody is counted for (an empty or wrongly mapped group column) serves no one in any plan
    nobody = tuple(f"{key}: its demand column {v['demand_column']!r} totals 0, so it counts for no one (is it the "
                   "right column?)" for key, v in per.items() if not v["total"] > 0)
    return Evaluation(objective=objective, covered_weight=covered, total_weight=sum(v["total"] for v in per.values()),
                      total_cost=float(spend["budgeted"].sum()), sites=pd.concat(site_frames, ignore_index=True),
                      coverage=pd.concat(cover_frames, ignore_index=True), stats=stats, warnings=nobody)


def _check_area(instance: Instance, data: list[ServiceData], placed_by: dict[str, np.ndarray]) -> None:
    n = instance.n_sites
    area = instance.sites.floor_area if instance.sites.floor_area is not None else np.full(n, np.nan)
    used = np.zeros(n)
    for d in data:
        used += d.service.min_floor_area_m2 * placed_by[d.service.key]
    if np.any(used - np.where(np.isnan(area), np.inf, area) > 1e-6):
        raise VerificationError("multiservice: services placed in a building exceed its floor area")


def _spend(instance: Instance, params: MultiserviceParams, inputs: Inputs, placed_by: dict[str, np.ndarray],
           year_by: dict[str, np.ndarray], conv_year: np.ndarray,
           n_phases: int) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """Spend per year (budgeted basis, capital, operating) and one row per conversion or placement."""
    ids = instance.sites.ids.astype(str)
    years: list[Any] = [ph.year for ph in params.phases] if params.phases else [None]
    on = conv_year >= 0
    conversion = np.bincount(conv_year[on], weights=inputs.building_cost[on], minlength=n_phases)
    budgeted, capital, operating = conversion.copy(), conversion.copy(), np.zeros(n_phases)
    rows: list[dict[str, Any]] = [{"year": years[int(conv_year[j])], "site_id": ids[j], "service": "",
                                   "kind": "conversion", "cost": float(inputs.building_cost[j])}
                                  for j in np.flatnonzero(on)]
    for d in inputs.services:
        placed = placed_by[d.service.key]
        t = year_by[d.service.key][placed]
        budgeted += np.bincount(t, weights=d.placement_cost[placed], minlength=n_phases)
        capital += np.bincount(t, weights=d.capital_cost[placed], minlength=n_phases)
        operating += np.bincount(t, weights=d.operating_pv[placed], minlength=n_phases)
        rows.extend({"year": years[int(y)], "site_id": ids[j], "service": d.service.key, "kind": "service",
                     "cost": float(d.placement_cost[j])} for j, y in zip(np.flatnonzero(placed), t, strict=True))
    return {"budgeted": budgeted, "capital": capital, "operating_pv": operating, "conversion": conversion}, rows


def _check_budgets(params: MultiserviceParams, spend: dict[str, np.ndarray]) -> None:
    if not params.phases:
        return
    budgets = np.array([ph.budget for ph in params.phases])
    paid = spend["budgeted"]
    over = np.cumsum(paid) - np.cumsum(budgets) if params.carry_over else paid - budgets
    bad = np.flatnonzero(over > 1e-6 * np.maximum(1.0, budgets))
    if bad.size:
        t = int(bad[0])
        raise VerificationError(f"multiservice: year {params.phases[t].year} spends {paid[t]:,.0f}, over its budget "
                                f"{budgets[t]:,.0f}" + (" (carried over)" if params.carry_over else ""))


def _community_shares(weight: np.ndarray, share: np.ndarray, codes: np.ndarray, n_comm: int) -> np.ndarray:
    on = codes >= 0
    got = np.bincount(codes[on], weights=(weight * share)[on], minlength=n_comm)
    total = np.bincount(codes[on], weights=weight[on], minlength=n_comm)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, got / total, np.nan)


def _below(shares: np.ndarray, floor: float) -> bool:
    """Whether a community's share (NaN: no people there) is below ``floor``."""
    return bool(np.any(np.nan_to_num(shares, nan=1.0) < floor - TOL))


def _assigned_share(assigned: Any, n_demand: int) -> np.ndarray:
    """Each demand point's share served by a (checked) assignment matrix."""
    z = sp.coo_matrix(assigned)
    on = z.data > TOL
    return np.minimum(np.bincount(z.row[on], weights=np.minimum(z.data[on], 1.0), minlength=n_demand), 1.0)


def _check_policy(instance: Instance, params: MultiserviceParams, inputs: Inputs, placed_by: dict[str, np.ndarray],
                  year_by: dict[str, np.ndarray], final: dict[str, _Reach], conv_year: np.ndarray,
                  n_phases: int, witness: dict[str, np.ndarray] | None = None) -> dict[str, dict[str, float]]:
    """Floors, duties per community, earmarked spend and complexes on the final year; per-community shares.

    A capacitated service's coverage is the assignment serving the most people (:func:`best_assignment`); that
    one may leave a community below its floor where the plan's own checked assignment (``witness``: each demand
    point's share) meets every floor. The floors hold then, and the community shares reported are the plan's.
    """
    witness = witness or {}
    labels = inputs.communities
    n_comm = len(labels)
    communities: dict[str, dict[str, float]] = {}
    for d in inputs.services:
        s, key, reach = d.service, d.service.key, final[d.service.key]
        total = float(d.weight.sum())
        share = float(d.weight @ reach.share) / total if total else 1.0
        if s.min_share is not None and share < s.min_share - TOL:
            raise VerificationError(f"multiservice: {key} covers {share:.6f}, below its min_share {s.min_share:g}")
        if inputs.demand_community is not None:
            by = _community_shares(d.weight, reach.share, inputs.demand_community, n_comm)
            floor = s.min_share_per_community
            if floor is not None and key in witness and _below(by, floor):
                own = _community_shares(d.weight, witness[key], inputs.demand_community, n_comm)
                by = by if _below(own, floor) else own
            communities[key] = {c: float(v) for c, v in zip(labels, by, strict=True) if np.isfinite(v)}
            if floor is not None and _below(by, floor):
                c = int(np.nanargmin(by))
                raise VerificationError(f"multiservice: {key} covers {by[c]:.6f} in community {labels[c]}, below "
                                        f"min_share_per_community {floor:g}")
        if s.min_providers_per_community and inputs.site_community is not None:
            sc = inputs.site_community
            on = (sc >= 0) & (placed_by[key] | d.existing)
            have = np.bincount(sc[on], minlength=n_comm)
            if np.any(have < s.min_providers_per_community):
                c = int(np.argmin(have))
                raise VerificationError(f"multiservice: community {labels[c]} has {int(have[c])} {key} provider(s), "
                                        f"below min_providers_per_community {s.min_providers_per_community}")
    if params.min_new_per_community_per_year and inputs.site_community is not None:
        sc = inputs.site_community
        for t in range(n_phases):
            count = np.zeros(n_comm)
            for key, placed in placed_by.items():
                on = placed & (year_by[key] == t) & (sc >= 0)
                count += np.bincount(sc[on], minlength=n_comm)
            if np.any(count < params.min_new_per_community_per_year):
                c = int(np.argmin(count))
                raise VerificationError(f"multiservice: community {labels[c]} gets {int(count[c])} new placement(s) "
                                        f"in phase {t + 1}, below min_new_per_community_per_year")
    _check_groups(params, inputs, placed_by)
    _check_complexes(instance, params, inputs, placed_by, conv_year >= 0)
    return communities


def _group_spend(params: MultiserviceParams, inputs: Inputs, placed_by: dict[str, np.ndarray]) -> dict[str, float]:
    by_key = {d.service.key: d for d in inputs.services}
    out = {}
    for group in params.budget_groups or ():
        hosts = np.zeros(inputs.building_cost.shape[0], bool)
        paid = 0.0
        for key in group.services:
            hosts |= placed_by[key]
            paid += float(by_key[key].placement_cost[placed_by[key]].sum())
        out[group.name] = paid + float(inputs.building_cost[hosts].sum())
    return out


def _check_groups(params: MultiserviceParams, inputs: Inputs, placed_by: dict[str, np.ndarray]) -> None:
    spent = _group_spend(params, inputs, placed_by)
    for group in params.budget_groups or ():
        paid = spent[group.name]
        slack = 1e-6 * max(1.0, paid)
        if (group.min is not None and paid < group.min - slack) or (group.max is not None and paid > group.max + slack):
            raise VerificationError(f"multiservice: budget group {group.name!r} spends {paid:,.0f}, outside "
                                    f"[{group.min or 0:,.0f}, {group.max if group.max is not None else np.inf:,.0f}]")


def _complex_mask(instance: Instance, params: MultiserviceParams, inputs: Inputs,
                  placed_by: dict[str, np.ndarray], converted: np.ndarray) -> np.ndarray:
    n = instance.n_sites
    area = instance.sites.floor_area if instance.sites.floor_area is not None else np.full(n, np.nan)
    services = np.zeros(n)
    core = np.zeros(n)
    for d in inputs.services:
        services += placed_by[d.service.key]
        if d.service.complex_core:
            core += placed_by[d.service.key]
    return converted & np.isfinite(area) & (area >= params.complex_min_area_m2) & \
        (services >= params.complex_min_services) & (core >= params.complex_min_core)


def _check_complexes(instance: Instance, params: MultiserviceParams, inputs: Inputs,
                     placed_by: dict[str, np.ndarray], converted: np.ndarray) -> None:
    if not (params.min_complexes or params.all_complexes):
        return
    is_complex = _complex_mask(instance, params, inputs, placed_by, converted)
    if int(is_complex.sum()) < params.min_complexes:
        raise VerificationError(f"multiservice: {int(is_complex.sum())} embedded complex(es), below min_complexes "
                                f"{params.min_complexes}")
    if params.all_complexes and np.any(converted & ~is_complex):
        raise VerificationError("multiservice: all_complexes, but converted building(s) "
                                f"{', '.join(instance.sites.ids[converted & ~is_complex][:5].astype(str))} are not")


def _stats(params: MultiserviceParams, inputs: Inputs, per: dict[str, Any], per_year: list[dict[str, Any]],
           spend: dict[str, np.ndarray], rows: list[dict[str, Any]], years: list[Any], converted: np.ndarray,
           conv_year: np.ndarray, communities: dict[str, dict[str, float]], level_values: dict[int, float],
           placed_by: dict[str, np.ndarray], year_by: dict[str, np.ndarray]) -> dict[str, Any]:
    fitout = float(sum(float(d.capital_cost[placed_by[d.service.key]].sum()) for d in inputs.services))
    stats: dict[str, Any] = {
        "services": per, "conversion_cost": float(spend["conversion"].sum()), "fitout_cost": fitout,
        "capital_cost": float(spend["capital"].sum()), "operating_cost_pv": float(spend["operating_pv"].sum()),
        "budget_basis": params.budget_basis, "buildings_converted": int(converted.sum()),
        "objective_kind": params.objective, "level_values": level_values,
    }
    if communities:
        stats["communities"] = communities
    if params.budget_groups:
        stats["budget_groups"] = {g.name: {"spent": v, "min": g.min, "max": g.max, "services": list(g.services)}
                                  for g, v in zip(params.budget_groups, _group_spend(params, inputs, placed_by).values(),
                                                  strict=True)}
    if params.phases:
        phases = []
        for t, ph in enumerate(params.phases):
            new = int(sum(int((placed_by[k] & (year_by[k] == t)).sum()) for k in placed_by))
            phases.append({"year": ph.year, "budget": ph.budget, "spent": float(spend["budgeted"][t]),
                           "new_placements": new, "buildings_converted": int((conv_year == t).sum()),
                           **per_year[t]})
        stats["phases"] = phases
        stats["phase_rows"] = rows
    return stats


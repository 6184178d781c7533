"""Multi-service co-location: convert buildings once and fit several services into each, under one budget.

Example
-------
>>> from siting.family.testing import random_instance
>>> from siting.services import load_catalog
>>> inst = random_instance(10, 5, seed=1, groups=True, floor_area=True)
>>> cat = load_catalog().select(["elderly_care", "health_station"])
>>> r = solve_multiservice(inst, cat, budget=2e6)  # doctest: +SKIP
>>> sorted(r.sites.columns)[:3]  # doctest: +SKIP
['area_m2', 'building_cost', 'fitout_cost']
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data.instance import Instance, SiteStatus
from ..errors import InputError, ScenarioError, VerificationError
from ..family import _common as c
from ..family.capacitated import check_assignment
from ..options import SolveOptions
from ..program import Sense
from ..result import Result
from .catalog import Catalog, Service

__all__ = ["solve_multiservice", "service_masks"]


@dataclass
class _Part:
    """Per-service pieces of the program (column offsets filled in later)."""

    service: Service
    travel: object
    weight: np.ndarray
    a: sp.csr_matrix          # within threshold, all sites
    existing: np.ndarray      # (n_sites,) bool, already provides the service
    allowed: np.ndarray       # (n_sites,) bool, may receive it
    base: float               # weight pre-covered by existing facilities (uncapacitated services)
    active: np.ndarray        # demand indices with a v column (uncapacitated)
    pairs: tuple | None       # (d, s, t) assignment pairs (capacitated)
    s_sites: np.ndarray       # site indices with an s column
    s0: int = 0
    v0: int = 0


def _instances(arg) -> tuple[Instance, dict[str, Instance]]:
    if isinstance(arg, Instance):
        return arg, {}
    if not isinstance(arg, Mapping) or not arg:
        raise InputError("multiservice: pass an Instance or a non-empty {group: Instance} mapping")
    base = arg.get(None) or arg.get("default") or next(iter(arg.values()))
    for g, inst in arg.items():
        if not (np.array_equal(inst.demand.ids, base.demand.ids) and np.array_equal(inst.sites.ids, base.sites.ids)):
            raise InputError(f"multiservice: instance for group {g!r} has other demand or site ids than the default")
    return base, {str(g): inst for g, inst in arg.items() if g not in (None, "default")}


def _mask(masks, key: str, n: int, default: bool, label: str) -> np.ndarray:
    if masks is None or key not in masks:
        return np.full(n, default)
    m = np.asarray(masks[key], dtype=bool)
    if m.shape != (n,):
        raise InputError(f"multiservice: {label}[{key!r}] must be a bool mask over the {n} sites, got {m.shape}")
    return m


def service_masks(frame: pd.DataFrame, instance: Instance, catalog: Catalog, *, id_column: str = "id",
                  column: str = "services", file: str | None = None, row_number=None) -> tuple[dict, dict]:
    """``(existing_services, allowed_services)`` from a candidates table's ``services`` column (``a;b``).

    Rows with status ``existing`` list what they already provide; on other rows a non-empty value restricts
    which services may be placed there. Unknown keys raise :class:`InputError` naming the row
    (``row_number(k)`` maps a 0-based frame position to the number shown; default ``k + 1``).
    """
    row_number = row_number or (lambda k: k + 1)
    n = instance.n_sites
    if column not in frame.columns:
        return {}, {}
    pos = pd.Series(np.arange(n), index=instance.sites.ids.astype(str))
    ids = frame[id_column].astype(str)
    where = pos.reindex(ids.to_numpy()).to_numpy()
    if np.isnan(where).any():
        bad = int(np.flatnonzero(np.isnan(where))[0])
        raise InputError("id not among the instance's sites", file=file, row=row_number(bad), row_id=ids.iloc[bad],
                         column=id_column)
    where = where.astype(np.int64)
    lists = frame[column].fillna("").astype(str).str.split(";").map(lambda xs: {x.strip() for x in xs if x.strip()})
    known = set(catalog.keys) | {s.key for s in catalog.services}
    unknown = lists.map(lambda xs: sorted(xs - known))
    bad_rows = np.flatnonzero(unknown.map(len).to_numpy() > 0)
    if bad_rows.size:
        r = int(bad_rows[0])
        raise InputError(f"unknown service(s) {', '.join(unknown.iloc[r])}; catalog has {', '.join(sorted(known))}",
                         file=file, row=row_number(r), row_id=ids.iloc[r], column=column)
    status = np.asarray(instance.sites.status).astype(str)[where]
    is_existing = status == SiteStatus.EXISTING.value
    restricted = lists.map(len).to_numpy() > 0
    existing, allowed = {}, {}
    for s in catalog:
        has = lists.map(lambda xs, k=s.key: k in xs).to_numpy()
        e = np.zeros(n, bool)
        e[where[is_existing & has]] = True
        a = np.ones(n, bool)
        a[where[~is_existing & restricted & ~has]] = False
        existing[s.key], allowed[s.key] = e, a
    return existing, allowed


def _prepare(base, groups, catalog, rules, existing_services, allowed_services, warnings) -> list[_Part]:
    n = base.n_sites
    area = base.sites.floor_area if base.sites.floor_area is not None else np.full(n, np.nan)
    buildable = (rules.upper > 0) & ~rules.existing
    parts = []
    for s in catalog:
        inst = base
        if s.speed_group:
            if s.speed_group in groups:
                inst = groups[s.speed_group]
            else:
                warnings.append(f"{s.key}: no travel table for speed group {s.speed_group!r}; default table used")
        try:
            w = np.asarray(base.demand.weight(s.demand_column), dtype=float)
        except KeyError:
            raise ScenarioError(f"demand has no column {s.demand_column!r} (have population, "
                                f"{', '.join(base.demand.groups)})", key=f"services.{s.key}.demand_column") from None
        a = inst.travel.within(s.threshold_minutes).astype(np.float64).tocsr()
        existing = _mask(existing_services, s.key, n, False, "existing_services")
        fits = np.isnan(area) | (area >= s.min_floor_area_m2)
        allowed = buildable & fits & _mask(allowed_services, s.key, n, True, "allowed_services")
        s_sites = np.flatnonzero(allowed)
        if s.capacity is None:
            pre = (a @ existing.astype(float)) > 0
            reach = (a @ allowed.astype(float)) > 0
            active = np.flatnonzero((w > 0) & ~pre & reach)
            parts.append(_Part(s, inst.travel, w, a, existing, allowed, float(w[pre].sum()), active, None, s_sites))
        else:
            tr = inst.travel
            keep = (tr.minutes <= s.threshold_minutes) & (w[tr.demand_index] > 0) & \
                (allowed | existing)[tr.site_index]
            d, j = tr.demand_index[keep], tr.site_index[keep]
            order = np.lexsort((j, d))
            pairs = (d[order], j[order], tr.minutes[keep][order])
            parts.append(_Part(s, tr, w, a, existing, allowed, 0.0, np.zeros(0, np.int64), pairs, s_sites))
    return parts


def solve_multiservice(instances, catalog: Catalog, *, budget: float, existing_services=None,
                       allowed_services=None, max_sites: int | None = None, objective: str = "population",
                       backend: str = "highs", options: SolveOptions = SolveOptions()) -> Result:
    """Choose buildings to convert and services to place in them, maximising weighted coverage under a budget.

    Parameters
    ----------
    instances : Instance or mapping {group: Instance}
        The default travel table (key ``None`` or ``"default"``, or the only Instance) plus per-group tables
        (e.g. ``"elderly"``) used by services with that ``speed_group``. All share demand and site ids.
    catalog : Catalog
        Enabled services (see :func:`siting.services.load_catalog`).
    budget : float
        Limit on conversion cost (paid once per building) plus fit-out costs (per service placed).
    existing_services : {service: (n_sites,) bool}, optional
        Facilities already providing a service (they cover without cost; no new service is placed in an
        ``existing`` building). See :func:`service_masks`.
    allowed_services : {service: (n_sites,) bool}, optional
        Where each service may be placed (default: every candidate/required site whose floor area fits).
    max_sites : int, optional
        Limit on converted buildings.
    objective : {"population", "share"}
        ``population`` (default): ``lambda_k`` per covered person; ``share``: ``lambda_k`` per unit of
        coverage share (``lambda_k / W_k`` per person, ``W_k`` = total of the service's demand column), so
        small target groups (children, elderly) are not outweighed by whole-population services.

    Returns
    -------
    Result
        ``model="multiservice"``; ``objective`` = recomputed ``sum_k weight_k * covered_k``;
        ``covered_population`` / ``total_population`` = sums over services (person-services);
        ``selected`` = converted buildings; ``total_cost`` = conversion + fit-out;
        ``sites`` = one row per (site, service) placement (``origin`` new/existing);
        ``coverage`` = one row per (demand point, service); ``stats["services"][k]`` = per-service
        ``covered``, ``total``, ``share``, ``already_covered``, ``new_sites``.

    Notes
    -----
    ``y_j`` converts building ``j``; ``s_jk`` places service ``k`` there; ``v_ik`` = demand ``i`` covered for
    ``k``; ``a^k_ij = [t^{g(k)}_{ij} \\le r_k]`` on service ``k``'s travel table; ``w^k`` its demand column;
    ``A_k`` its floor area, ``F_j`` the building's floor area, ``f_k`` its fit-out cost:

    .. math::

        \\max \\sum_k \\lambda_k \\Big( W^0_k + \\sum_i w^k_i v_{ik} \\Big) \\quad\\text{s.t.}\\quad
        s_{jk} \\le y_j,\\quad \\sum_k A_k s_{jk} \\le F_j y_j,\\quad
        v_{ik} \\le \\sum_j a^k_{ij} s_{jk},\\quad
        \\sum_j c_j y_j + \\sum_{j,k} f_k s_{jk} \\le B

    ``W^0_k`` is the weight already covered by existing ``k`` facilities (those rows get no ``v``).
    ``s_jk`` exists only where ``k`` is allowed and ``A_k <= F_j`` (unknown ``F_j`` = no area limit).
    A service with a ``capacity`` uses assignment variables instead of ``v``:
    ``sum_j z_ijk <= 1``, ``sum_i w^k_i z_ijk <= cap_k s_jk`` (``<= cap_k`` at existing facilities),
    ``z_ijk <= s_jk``, split assignment allowed. ``y, s`` binary; ``v, z`` in [0, 1].
    """
    t0 = time.perf_counter()
    if objective not in ("population", "share"):
        raise InputError(f"multiservice: objective must be 'population' or 'share', got {objective!r}")
    base, groups = _instances(instances)
    known = {s.key for s in catalog.services}
    for label, masks in (("existing_services", existing_services), ("allowed_services", allowed_services)):
        unknown = sorted(set(masks or {}) - known)
        if unknown:
            raise ScenarioError(f"unknown service(s) {', '.join(unknown)}; catalog has {', '.join(sorted(known))}",
                                key=label)
    rules = c.site_rules(base)
    c.check_limits(base, rules, budget, max_sites, "multiservice")
    warnings: list[str] = []
    parts = _prepare(base, groups, catalog, rules, existing_services, allowed_services, warnings)
    lam = {p.service.key: p.service.weight / (p.weight.sum() if objective == "share" and p.weight.sum() > 0 else 1.0)
           for p in parts}
    n = base.n_sites
    col = n
    for p in parts:
        p.s0, col = col, col + p.s_sites.shape[0]
    for p in parts:
        p.v0 = col
        col += p.active.shape[0] if p.pairs is None else p.pairs[0].shape[0]
    ncols = col
    rows = c.Rows(ncols)
    obj = np.zeros(ncols)
    offset = 0.0
    fit_cols, fit_vals = [], []
    area_rows, area_cols, area_vals = [], [], []
    for p in parts:
        m = p.s_sites.shape[0]
        scol = np.full(n, -1, np.int64)
        scol[p.s_sites] = p.s0 + np.arange(m)
        rows.add(np.repeat(np.arange(m), 2), np.column_stack([p.s0 + np.arange(m), p.s_sites]).ravel(),
                 np.tile([1.0, -1.0], m), m, -np.inf, 0.0)
        fit_cols.append(p.s0 + np.arange(m))
        fit_vals.append(np.full(m, p.service.fitout_cost))
        if p.service.min_floor_area_m2 > 0:
            area_rows.append(p.s_sites)
            area_cols.append(p.s0 + np.arange(m))
            area_vals.append(np.full(m, p.service.min_floor_area_m2))
        lam_k = lam[p.service.key]
        if p.pairs is None:
            k = p.active.shape[0]
            sub = (p.a[p.active] @ sp.diags(p.allowed.astype(float))).tocoo()
            sub.eliminate_zeros()
            rows.add(np.concatenate([np.arange(k), sub.row]),
                     np.concatenate([p.v0 + np.arange(k), scol[sub.col]]),
                     np.concatenate([np.ones(k), -np.ones(sub.nnz)]), k, -np.inf, 0.0)
            obj[p.v0:p.v0 + k] = lam_k * p.weight[p.active]
            offset += lam_k * p.base
        else:
            d, j, _ = p.pairs
            npairs = d.shape[0]
            z = p.v0 + np.arange(npairs)
            _, drow = np.unique(d, return_inverse=True)
            rows.add(drow, z, np.ones(npairs), int(drow.max(initial=-1)) + 1, -np.inf, 1.0)
            # capacity rows, one per site with a column or an existing facility
            sites_k = np.flatnonzero(p.allowed | p.existing)
            crow = np.full(n, -1, np.int64)
            crow[sites_k] = np.arange(sites_k.shape[0])
            new_sites = np.flatnonzero(p.allowed)
            cap = p.service.capacity
            rows.add(np.concatenate([crow[j], crow[new_sites]]), np.concatenate([z, scol[new_sites]]),
                     np.concatenate([p.weight[d], np.full(new_sites.shape[0], -cap)]), sites_k.shape[0],
                     -np.inf, np.where(p.existing[sites_k], cap, 0.0))
            new = p.allowed[j] & ~p.existing[j]
            idx = np.flatnonzero(new)
            rows.add(np.repeat(np.arange(idx.shape[0]), 2), np.column_stack([z[idx], scol[j[idx]]]).ravel(),
                     np.tile([1.0, -1.0], idx.shape[0]), idx.shape[0], -np.inf, 0.0)
            obj[z] = lam_k * p.weight[d]
    area = base.sites.floor_area
    if area_rows and area is not None:
        r = np.concatenate(area_rows)
        known = np.flatnonzero(np.isfinite(area) & rules.counts)
        rid = np.full(n, -1, np.int64)
        rid[known] = np.arange(known.shape[0])
        on = rid[r] >= 0
        rows.add(np.concatenate([rid[r[on]], np.arange(known.shape[0])]),
                 np.concatenate([np.concatenate(area_cols)[on], known]),
                 np.concatenate([np.concatenate(area_vals)[on], -area[known]]), known.shape[0], -np.inf, 0.0)
    extra = (np.concatenate(fit_cols), np.concatenate(fit_vals)) if fit_cols else None
    rows.add_limits(slice(0, n), rules, budget, max_sites, extra_cost=extra)
    lower = np.concatenate([rules.lower, np.zeros(ncols - n)])
    upper = np.concatenate([rules.upper, np.ones(ncols - n)])
    s_end = parts[-1].s0 + parts[-1].s_sites.shape[0] if parts else n
    integer = np.zeros(ncols, bool)
    integer[:s_end] = True
    program = c.lp(Sense.MAXIMIZE, obj, rows, lower, upper, integer, "multiservice",
                   {"site": (0, n), "service": (n, s_end), "cover": (s_end, ncols)}, offset=offset)
    sol = c.solve_program(program, backend, options)
    if not sol.has_solution:
        totals = float(sum(p.weight.sum() for p in parts))
        return c.no_solution_result("multiservice", sol, totals, t0, {"warnings": warnings})
    result = _decode_and_verify(base, parts, rules, program, sol, budget, max_sites, warnings, t0, lam)
    result.stats["objective_kind"] = objective
    return result


def _decode_and_verify(base, parts, rules, program, sol, budget, max_sites, warnings, t0, lam) -> Result:
    n = base.n_sites
    x = sol.x
    converted = program.block(x, "site") > 0.5
    area = base.sites.floor_area if base.sites.floor_area is not None else np.full(n, np.nan)
    used_area = np.zeros(n)
    fitout_total = 0.0
    placements, cover_frames, per = [], [], {}
    objective = 0.0
    ids = base.sites.ids.astype(str)
    for p in parts:
        s = p.service
        placed = np.zeros(n, bool)
        placed[p.s_sites] = x[p.s0:p.s0 + p.s_sites.shape[0]] > 0.5
        if np.any(placed & ~converted):
            raise VerificationError(f"multiservice: {s.key} placed in a building that is not converted")
        if np.any(placed & (rules.existing | (rules.upper < 0.5))):
            raise VerificationError(f"multiservice: {s.key} placed in an existing or excluded building")
        used_area += s.min_floor_area_m2 * placed
        fitout_total += s.fitout_cost * int(placed.sum())
        open_k = placed | p.existing
        site, minutes = c.nearest_open(p.travel, open_k)
        if s.capacity is None:
            covered = minutes <= s.threshold_minutes
            got = float(p.weight[covered].sum())
            share = covered.astype(float)
            load = np.full(n, np.nan)
        else:
            d, j, _ = p.pairs
            xa = x[p.v0:p.v0 + d.shape[0]]
            share, load = check_assignment(base, p.pairs, xa, open_k, weight=p.weight,
                                           cap=np.full(n, s.capacity), model=f"multiservice[{s.key}]",
                                           assign_equal=False)
            got = float(p.weight @ share)
            covered = share > 1e-9
        objective += lam[s.key] * got
        already = float(p.weight[(p.a @ p.existing.astype(float)) > 0].sum())
        total = float(p.weight.sum())
        per[s.key] = {"name": s.name, "threshold_minutes": s.threshold_minutes, "demand_column": s.demand_column,
                      "covered": got, "total": total, "share": got / total if total else 0.0,
                      "already_covered": already, "new_sites": int(placed.sum()),
                      "existing_sites": int(p.existing.sum())}
        for origin, mask in (("new", placed), ("existing", p.existing)):
            idx = np.flatnonzero(mask)
            placements.append(pd.DataFrame({
                "site_id": ids[idx], "service": s.key, "origin": origin,
                "building_cost": rules.cost[idx], "fitout_cost": s.fitout_cost if origin == "new" else 0.0,
                "area_m2": s.min_floor_area_m2, "load": load[idx]}))
        cover_frames.append(pd.DataFrame({
            "demand_id": base.demand.ids.astype(str), "service": s.key, "weight": p.weight,
            "covered": covered, "share": share,
            "site_id": np.where(site >= 0, ids[np.maximum(site, 0)], None), "minutes": minutes}))
    over = used_area - np.where(np.isnan(area), np.inf, area)
    if np.any(converted & (over > 1e-6)):
        raise VerificationError("multiservice: services placed in a building exceed its floor area")
    conversion = c.check_plan(base, rules, converted, budget=budget, max_sites=max_sites, model="multiservice",
                              extra_cost=fitout_total)
    c.agree("multiservice", "weighted coverage", sol.objective, objective, direction="ge")
    stats = {"services": per, "conversion_cost": conversion - fitout_total, "fitout_cost": fitout_total,
             "buildings_converted": int((converted & rules.counts).sum()), "warnings": warnings,
             "n_cols": program.n_cols, "n_rows": program.n_rows}
    new_buildings = converted & rules.counts
    return Result(
        model="multiservice", status=c.status_from(sol.termination, True), termination=sol.termination,
        has_solution=True, objective=objective, best_bound=sol.bound, gap=c.gap_of(objective, sol.bound),
        selected=tuple(ids[new_buildings].tolist()), total_cost=conversion,
        covered_population=float(sum(v["covered"] for v in per.values())),
        total_population=float(sum(v["total"] for v in per.values())), solver=sol.backend,
        seconds=time.perf_counter() - t0, sites=pd.concat(placements, ignore_index=True),
        coverage=pd.concat(cover_frames, ignore_index=True),
        stats={**stats, "backend_seconds": sol.seconds}, message=sol.message,
    )

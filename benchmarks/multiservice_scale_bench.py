"""City-wide multi-service benchmark: time, gap and peak memory per phase, plain and with policy rules.

Cases (demand points x candidate buildings x services): ``20k`` (20,000 x 2,000 x 8), ``60k`` (60,000 x 5,000
x 8) and ``150k`` (150,000 x 10,000 x 8). Each runs ``plain`` (one budget) and ``policy`` (floors: elderly care
>= 15 %, childcare >= 8 %; priorities: elderly care, then childcare; three yearly phases with carry-over).
Per-community floors are left out there: with 1.2 km communities many have no building within reach, so any
per-community floor would be infeasible by construction. ``stations`` asks the demo's policy at city size — an
elderly-care station in every community (``min_providers_per_community = 1``), elderly care first, childcare
next, the three phases — on communities that can each host one: the Voronoi cells of one building per 400 demand
points, drawn among those that may host elderly care (:func:`station_communities`).

Generator (:func:`city_multiservice`): towns of :func:`generate.city_points` (clustered demand and buildings);
per point elderly ~18 % and children ~10 % of the population; communities = 1.2 km grid cells; buildings with
log-normal floor area (median 600 m2) and conversion cost; 1 % existing facilities, each providing one
service. Walking minutes = distance x detour (1.2-1.5 per pair) / speed, 60 m/min (default table) and
45.6 m/min (``elderly`` table), both kept only up to the largest threshold walked on that table (KD-tree,
chunked; never a dense matrix). Eight services with thresholds 5 / 10 / 15 min.

Phases: ``build`` (the program), ``heuristic`` (the model's warm start: greedy + local search),
``bound`` (the model's Lagrangian bound), ``mip`` (the backend on what is left of the time limit),
``verify`` (the independent evaluation, every call). Peak RSS is the process maximum after each phase.

Usage::

    .venv/bin/python benchmarks/multiservice_scale_bench.py --case 20k --time-limit 300
    .venv/bin/python benchmarks/multiservice_scale_bench.py --case 150k --variant plain --time-limit 300
    .venv/bin/python benchmarks/multiservice_scale_bench.py --case 20k --variant policy --bound-only
    .venv/bin/python benchmarks/multiservice_scale_bench.py --case 150k --variant plain --budget-scale 3
    .venv/bin/python benchmarks/multiservice_scale_bench.py --case 60k --variant stations --time-limit 180

Prints a markdown table per case with ``uptime`` load averages (figures depend on the machine's load).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import DETOUR_MIN, _detour, city_points  # noqa: E402

from siting.data.instance import Demand, Instance, Sites, SiteStatus, TravelTimes  # noqa: E402
from siting.services import load_catalog  # noqa: E402

CASES = {"20k": (20_000, 2_000), "60k": (60_000, 5_000), "150k": (150_000, 10_000)}
SPEED_M_MIN = {"default": 60.0, "elderly": 45.6}
#: (service, threshold minutes): eight services, 5 / 10 / 15 min (elderly services on the elderly table)
SERVICES = {"elderly_care": 10.0, "canteen": 5.0, "health_station": 10.0, "childcare": 5.0, "fresh_market": 10.0,
            "culture_sports": 10.0, "service_centre": 15.0, "health_centre": 15.0}
COMMUNITY_CELL_M = 1200.0


def _pairs(demand_xy: np.ndarray, site_xy: np.ndarray, max_minutes: float, speed_m_min: float,
           chunk: int = 20_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(demand, site, minutes) of every pair within ``max_minutes`` (KD-tree, chunked)."""
    radius = max_minutes * speed_m_min / DETOUR_MIN
    tree = cKDTree(site_xy)
    out_i, out_j, out_t = [], [], []
    for start in range(0, demand_xy.shape[0], chunk):
        d = cKDTree(demand_xy[start:start + chunk]).sparse_distance_matrix(tree, radius, output_type="coo_matrix")
        i = d.row.astype(np.int64) + start
        j = d.col.astype(np.int64)
        minutes = d.data * _detour(i, j) / speed_m_min
        keep = minutes <= max_minutes
        out_i.append(i[keep])
        out_j.append(j[keep])
        out_t.append(np.round(minutes[keep], 3))
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_t)


def city_multiservice(n_demand: int, n_sites: int, *, seed: int = 0) -> Instance:
    """A generated city with groups, communities, floor areas and per-speed-group tables (see module notes)."""
    rng = np.random.default_rng(seed + 7)
    pts = city_points(n_demand, n_sites, seed=seed)
    pop = pts.population
    elderly = np.round(pop * rng.beta(2.0, 9.0, n_demand))
    children = np.round(pop * rng.beta(1.5, 13.0, n_demand))
    cell = np.floor(pts.demand_xy / COMMUNITY_CELL_M).astype(np.int64)
    site_cell = np.floor(pts.site_xy / COMMUNITY_CELL_M).astype(np.int64)
    comm = np.array([f"c{a}_{b}" for a, b in cell], dtype=object)
    site_comm = np.array([f"c{a}_{b}" for a, b in site_cell], dtype=object)
    status = np.array([SiteStatus(s) for s in pts.site_status], dtype=object)
    area = np.round(rng.lognormal(np.log(600.0), 0.8, n_sites), -1)
    demand = Demand(ids=np.array([f"d{i}" for i in range(n_demand)], dtype=object), population=pop,
                    x=pts.demand_xy[:, 0], y=pts.demand_xy[:, 1], groups={"elderly": elderly, "children": children},
                    labels={"community": comm}, source="generated demand")
    sites = Sites(ids=np.array([f"b{j}" for j in range(n_sites)], dtype=object), cost=pts.site_cost,
                  x=pts.site_xy[:, 0], y=pts.site_xy[:, 1], status=status, floor_area=area,
                  labels={"community": site_comm}, source="generated buildings")
    catalog = load_catalog()
    tables = {}
    for group in ("default", "elderly"):
        top = max(t for k, t in SERVICES.items() if (catalog[k].speed_group or "default") == group)
        i, j, t = _pairs(pts.demand_xy, pts.site_xy, top, SPEED_M_MIN[group])
        tables[group] = TravelTimes(i, j, t, n_demand, n_sites, source=f"generated {group} table")
    return Instance(demand, sites, tables["default"], name=f"city{n_demand}", group_travel={"elderly":
                                                                                           tables["elderly"]})


def station_communities(instance: Instance, seed: int) -> Instance:
    """Communities as the Voronoi cells of one building per 400 demand points, each able to host elderly care."""
    rng = np.random.default_rng(seed + 13)
    need = load_catalog()["elderly_care"].min_floor_area_m2
    able = np.flatnonzero((instance.sites.status == SiteStatus.CANDIDATE) & (instance.sites.floor_area >= need))
    centres = rng.choice(able, max(1, instance.n_demand // 400), replace=False)
    tree = cKDTree(np.column_stack([instance.sites.x[centres], instance.sites.y[centres]]))

    def label(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.array([f"k{c}" for c in tree.query(np.column_stack([x, y]))[1]], dtype=object)

    return replace(instance, demand=replace(instance.demand, labels={"community": label(instance.demand.x,
                                                                                       instance.demand.y)}),
                   sites=replace(instance.sites, labels={"community": label(instance.sites.x, instance.sites.y)}))


def variant_city(n_demand: int, n_sites: int, variant: str, seed: int) -> Instance:
    """The generated city of a variant: ``stations`` draws its own communities (:func:`station_communities`)."""
    instance = city_multiservice(n_demand, n_sites, seed=seed)
    return station_communities(instance, seed) if variant == "stations" else instance


def catalog_of(policy: bool, stations: bool = False):
    """The eight services at the bench thresholds; with ``policy``: elderly care first, floors on it; with
    ``stations``: the same order, a station in every community instead of the share floors."""
    base = load_catalog()
    services = []
    for s in base.services:
        if s.key not in SERVICES:
            services.append(replace(s, enabled=False))
            continue
        extra: dict[str, Any] = {}
        if policy and s.key == "elderly_care":
            extra = {"priority": 1, "min_share": 0.15}
        if policy and s.key == "childcare":
            extra = {"priority": 2, "min_share": 0.08}
        if stations and s.key == "elderly_care":
            extra = {"priority": 1, "min_providers_per_community": 1}
        if stations and s.key == "childcare":
            extra = {"priority": 2}
        services.append(replace(s, enabled=True, threshold_minutes=SERVICES[s.key], **extra))
    return replace(base, services=tuple(services))


def existing_services(instance: Instance, seed: int) -> dict[str, np.ndarray]:
    """Each existing facility provides one service (round robin over the services, seeded)."""
    rng = np.random.default_rng(seed + 11)
    existing = np.flatnonzero(instance.sites.status == SiteStatus.EXISTING)
    keys = list(SERVICES)
    which = rng.integers(0, len(keys), existing.shape[0])
    out = {}
    for n, key in enumerate(keys):
        mask = np.zeros(instance.n_sites, bool)
        mask[existing[which == n]] = True
        out[key] = mask
    return out


def params_of(instance: Instance, policy: bool, seed: int, budget_scale: float = 1.0,
              stations: bool = False) -> dict[str, Any]:
    """Budget for ~3 % of the buildings with ~3 services each (times ``budget_scale``); ``policy`` (or
    ``stations``) adds three yearly phases."""
    candidates = instance.sites.status == SiteStatus.CANDIDATE
    mean_cost = float(instance.sites.cost[candidates].mean())
    budget = budget_scale * 0.03 * instance.n_sites * (mean_cost + 3 * 5e5)
    out: dict[str, Any] = {"budget": budget, "catalog": catalog_of(policy, stations),
                           "existing_services": existing_services(instance, seed), "objective": "share"}
    if policy or stations:
        out["phases"] = [{"year": 2026, "budget": 0.4 * budget}, {"year": 2027, "budget": 0.3 * budget},
                         {"year": 2028, "budget": 0.3 * budget}]
        out["carry_over"] = True
    return out


class PhaseClock:
    """Seconds and peak RSS per phase, from wrapped model hooks."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.rss_gb: dict[str, float] = {}

    def wrap(self, name: str, fn):
        if fn is None:
            return None

        def timed(*args, **kwargs):
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - began
                self.rss_gb[name] = _rss_gb()
        return timed


def _rss_gb() -> float:
    """Peak RSS of this process or of its largest child (the backends solve in a child process)."""
    return max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) \
        / 1024 ** 2


def _load() -> str:
    return "load avg " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_case(case: str, variant: str, time_limit_s: float, seed: int, warm_share: float | None = None,
             budget_scale: float = 1.0) -> dict[str, Any]:
    """Generate, solve through the driver with timed hooks, and return the figures.

    ``warm_share``: the share of the remaining time the warm start gets instead of the model's own
    (``Model.warm_start_share``: 95 % from 200,000 nonzeros, else half), to measure another share;
    ``budget_scale``: the budget times this (another planning question on the same city).
    """
    from siting.backends import get_backend
    from siting.models.driver import solve_model
    from siting.models.multiservice import MODEL, MultiserviceParams
    from siting.options import SolveOptions

    n_demand, n_sites = CASES[case]
    clock = PhaseClock()
    began = time.perf_counter()
    instance = variant_city(n_demand, n_sites, variant, seed)
    clock.seconds["load"] = time.perf_counter() - began
    clock.rss_gb["load"] = _rss_gb()
    pairs = len(instance.travel) + len(instance.group_travel["elderly"])
    params = MultiserviceParams.from_kwargs(params_of(instance, variant == "policy", seed, budget_scale,
                                                      stations=variant == "stations"))
    model = replace(MODEL, build=clock.wrap("build", MODEL.build), evaluate=clock.wrap("verify", MODEL.evaluate),
                    warm_start=clock.wrap("heuristic", MODEL.warm_start), bound=clock.wrap("bound", MODEL.bound),
                    warm_start_share=MODEL.warm_start_share if warm_share is None else warm_share)
    backend = get_backend("highs")
    original = backend.solve

    def timed_solve(*args, **kwargs):
        began_mip = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            clock.seconds["mip"] += time.perf_counter() - began_mip
            clock.rss_gb["mip"] = _rss_gb()
    backend.solve = timed_solve
    try:
        started = time.perf_counter()
        result = solve_model(model, instance, params, backend="highs",
                             options=SolveOptions(time_limit_s=time_limit_s, mip_gap=0.01))
        total_s = time.perf_counter() - started
    finally:
        backend.solve = original
    from siting.models import multiservice_heuristic
    run = multiservice_heuristic.last_run()
    note = (f"greedy starts + local search {run.get('greedy_objective', float('nan')):.4f} in "
            f"{run.get('greedy_s', 0.0):.1f} s, then {run.get('lns_solves', 0)} neighbourhood sub-MIPs "
            f"({run.get('lns_kept', 0)} kept) {run.get('lns_objective', float('nan')):.4f} at "
            f"{run.get('search_s', 0.0):.1f} s; "
            + (f"{len(run['level_rounds'])} level cores ({sum(r[4] for r in run['level_rounds'])} kept, level/"
               f"buildings beside/columns/s/w whole core/+: "
               + " ".join(f"{r[0]}/{r[1]}/{r[2]:,}/{r[3]:.0f}{'w' if r[5] is None else ''}{'+' if r[4] else ''}"
                          for r in run["level_rounds"])
               + f") {run['level_core_objective']:.4f} in {run['level_core_s']:.1f} s; "
               if "level_rounds" in run else "")
            + (f"{run['core_solves']} core MIPs ({run['core_kept']} kept; first: {run.get('core_sites', 0)} more "
               f"buildings, {run.get('core_cover_columns', 0):,} cover columns in {run.get('core_cover_groups', 0):,}"
               f" groups, {run.get('core_columns', 0):,} columns) {run['core_objective']:.4f} in "
               f"{run['core_seconds']:.1f} s ({run.get('balls_skipped', 0)} balls proven on the same plan "
               f"skipped), rounds (s, + gained, r region, c component ball): "
               + " ".join(f"{r['seconds']:.0f}{'+' if r['gained'] else ''}{'r' if r['regional'] else ''}"
                          f"{'c' if r.get('component') is not None else ''}"
                          for r in run.get("core_rounds", [])) + "; " if "core_solves" in run else "")
            + f"Lagrangian bound {run.get('bound', float('nan')):.4f} ({run.get('bound_iterations', 0)} it, "
            f"{run.get('bound_s', 0.0):.1f} s{' beside the greedy search' if run.get('bound_beside') else ''})"
            + (f", lowered by {run['hull_lowered']:.6f} by {run['hull_solved']} components' hull LPs beside the search "
               f"({run['hull_s']:.0f} s)" if "hull_solved" in run else "")
            + (f" ({len(run['hull_errors'])} LPs failed, first: {run['hull_errors'][0]})"
               if run.get("hull_errors") else "")
            + (f"; the objective's bound with level 1 held {run['held_objective_bound']:.4f}"
               if run.get("held_objective_bound") is not None else "")
            + (f"; no start: {run['no_start']}" if run.get("no_start") else "")
            + "".join(f"; level {row['level']} held at {float(row['value']):.4f}"
                      + ("" if row.get("bound") is None else
                         f" (its bound {float(row['bound']):.4f}, gap {100 * float(row['gap']):.1f} %)")
                      for row in result.stats.get("priority_levels", []))
            + (f"; level bounds {run['level_bounds_s']:.1f} s" if "level_bounds_s" in run else ""))
    return {"note": note, "case": case if budget_scale == 1.0 else f"{case} budget x{budget_scale:g}",
            "variant": variant, "pairs": pairs, "status": str(result.status.value),
            "objective": result.objective, "bound": result.best_bound, "gap": result.gap, "total_s": total_s,
            "seconds": dict(clock.seconds), "rss_gb": dict(clock.rss_gb), "peak_gb": _rss_gb(),
            "sites": len(result.selected), "method": result.solver, "n_cols": result.stats.get("n_cols"),
            "nnz": result.stats.get("nnz")}


PHASES = ("load", "build", "heuristic", "bound", "mip", "verify")


def bound_only(case: str, variant: str, seed: int, max_iterations: int) -> None:
    """Greedy plan, then the Lagrangian bound with and without the floors dualised, in the same run.

    The first row is the peer: the cover rows and budget dualised with fractional bundles (each building short
    of floor area takes the knapsack's LP relaxation), the subproblem of the bound before integral bundles.
    """
    from siting.models import multiservice_bundles as bundles
    from siting.models import multiservice_lagrange as lagrange
    from siting.models.multiservice import MultiserviceParams
    from siting.models.multiservice_local import improved_plan
    from siting.models.multiservice_reach import reach_of
    from siting.rules import SiteRules

    n_demand, n_sites = CASES[case]
    instance = variant_city(n_demand, n_sites, variant, seed)
    params = MultiserviceParams.from_kwargs(params_of(instance, variant == "policy", seed,
                                                      stations=variant == "stations"))
    rules = SiteRules.of(instance)
    reach = reach_of(instance, params, rules)
    began = time.perf_counter()
    plan = improved_plan(reach, params, rules, deadline=began + 120.0)
    greedy_s = time.perf_counter() - began
    n_years = len(params.phases) if params.phases else 1
    # the plan's objective: every year's coverage of what is open by then (the program's objective)
    per = np.array([[reach.services[k].offset + float(s.value[(s.by_demand @ ((plan.year[:, k] >= 0)
                                                                                 & (plan.year[:, k] <= t))
                                                                .astype(np.int8)) > 0].sum())
                     for k, s in enumerate(reach.services)] for t in range(n_years)])
    years = per.sum(axis=1)
    plan_value = float(years.sum())
    target = float(years[-1]) - reach.offset
    # the first priority level held at the greedy plan's value (the driver starts the level from it)
    first = sorted({s.data.service.priority for s in reach.services if s.data.service.priority is not None})
    keys = tuple(s.key for s in reach.services if first and s.data.service.priority == first[0])
    in_level = [s.key in keys for s in reach.services]
    held = (keys, float(per[:, in_level].sum()) * (1 - 1e-6)) if keys else None
    found = lagrange.floors_of
    print(f"\ngreedy plan {plan_value:.4f} (years {[round(float(y), 4) for y in years]}) in {greedy_s:.1f} s, "
          f"floors met: {plan.floors_met}; {len(found(reach))} floor row group(s); level held: {held} ({_load()})\n")
    print("| case | variant | dualised | bundles | bound | iterations (year terms) | seconds | gap to the greedy plan "
          "| final-year bound after 50 / 150 / 300 / 600 iterations (s) |")
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    rows = (("cover rows + budget", False, None, False), ("cover rows + budget", False, None, None),
            ("+ floors", True, None, None), ("+ floors + level 1", True, held, None))
    original = bundles.Buildings.__init__
    for name, floors, level, exact in rows:
        if (level is None and name.endswith("level 1")) or (floors and not found(reach)):
            continue
        lagrange.floors_of = found if floors else (lambda reach: [])
        # the peer: the same iteration with every building short of floor area taking fractional services
        bundles.Buildings.__init__ = lambda self, *a, _e=exact, **k: original(self, *a, **{**k, "exact": _e})
        try:
            began = time.perf_counter()
            b = lagrange.lagrange_bound(reach, params, rules.counts, target=target, max_iterations=max_iterations,
                                        held=level)
            seconds = time.perf_counter() - began
        finally:
            lagrange.floors_of = found
            bundles.Buildings.__init__ = original
        marks = " / ".join(f"{h[2]:.4f} ({h[1]:.1f})" for h in b.history if h[0] in (50, 150, 300, 600))
        print(f"| {case} | {variant} | {name} | {b.bundles} | {b.bound:.4f} | {b.iterations} "
              f"({', '.join(f'{y:.3f}' for y in b.year_bounds)}) | {seconds:.1f} | "
              f"{100 * (b.bound - plan_value) / abs(b.bound):.2f}% | {marks} |", flush=True)


def print_row(r: dict[str, Any]) -> None:
    gap = "-" if r["gap"] is None else f"{100 * r['gap']:.2f}%"
    phases = " | ".join(f"{r['seconds'].get(p, 0.0):.1f} s / {r['rss_gb'].get(p, float('nan')):.1f} GB"
                        for p in PHASES)
    obj = "-" if r["objective"] is None else f"{r['objective']:.4f}"
    print(f"| {r['case']} | {r['variant']} | {r['pairs']:,} | {r['status']} | {obj} | {gap} | {r['total_s']:.1f} | "
          f"{r['peak_gb']:.2f} | {phases} | {r['sites']} | {r['method']} | {r['note']} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=list(CASES), default="20k")
    ap.add_argument("--variant", choices=["plain", "policy", "stations", "both"], default="both")
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bound-only", action="store_true",
                    help="greedy plan and the Lagrangian bound with and without the floors dualised (no MIP)")
    ap.add_argument("--iterations", type=int, default=1000, help="subgradient iterations of --bound-only (at most)")
    ap.add_argument("--budget-scale", type=float, default=1.0,
                    help="the budget times this (default 1: ~3 %% of the buildings with ~3 services each)")
    ap.add_argument("--warm-share", type=float, default=None,
                    help="share of the remaining time for the warm start (default: the model's own)")
    args = ap.parse_args(argv)
    if args.bound_only:
        for variant in (["plain", "policy"] if args.variant == "both" else [args.variant]):
            bound_only(args.case, variant, args.seed, args.iterations)
        print(f"\n({_load()} at the end)")
        return 0
    share = "" if args.warm_share is None else f", warm start share {args.warm_share:g}"
    print(f"\n### multiservice {args.case}, time limit {args.time_limit:g} s{share} ({_load()})\n")
    print("| case | variant | pairs | status | objective | gap | total s | peak GB | "
          + " | ".join(f"{p} (s / GB)" for p in PHASES) + " | buildings | method | heuristics |")
    print("|---" * (12 + len(PHASES)) + "|", flush=True)
    variants = ["plain", "policy"] if args.variant == "both" else [args.variant]
    for variant in variants:
        print_row(run_case(args.case, variant, args.time_limit, args.seed, args.warm_share, args.budget_scale))
    print(f"\n({_load()} at the end)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The issue-10 policy features of multiservice against brute force, for every installed backend.

Each case is a tiny random instance (5 buildings, 2-3 services, 2 phases when phased) with one policy feature
switched on; :mod:`tests.models.policy_oracle` enumerates every plan without using :mod:`siting.models`. The
model's optimum must equal the enumerated one, its plan must pass the oracle's checks, and a case no plan can
meet must come back ``infeasible``. Floors, groups and budgets are chosen from the enumeration so that they bind
(the unconstrained optimum breaks them) yet some plan meets them.

Two readings policy.md leaves open are switches of the oracle: ``policy_oracle.REQUIRED_BY`` (a phased plan
converts a required building by the last year, or in the first) and ``policy_oracle.LAST_STAGE`` (with a
priority tolerance, the last stage maximises the services without a priority, or the whole objective).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np
import pytest

from siting.backends import available_backends
from siting.data.instance import SiteStatus
from siting.options import SolveOptions
from siting.services import load_catalog
from siting.testing import random_instance

from .policy_oracle import Optimum, Oracle

BACKENDS = available_backends()
#: ``SITING_POLICY_SEEDS=0-30`` sweeps more seeds (a few minutes per backend); the default keeps the file < 60 s
_FIRST, _, _LAST = os.environ.get("SITING_POLICY_SEEDS", "0-2").partition("-")
SEEDS = tuple(range(int(_FIRST), int(_LAST or _FIRST) + 1))
REL = 1e-6

#: every service at the scale of random_instance (site costs 1-9, floor areas 100-1500 m2, minutes 0-20)
TINY: dict[str, dict[str, Any]] = {
    "elderly_care": {"threshold_minutes": 9.0, "fitout_cost": 2.0, "min_floor_area_m2": 300.0, "weight": 1.0,
                     "operating_cost_per_year": 0.0},
    "canteen": {"threshold_minutes": 8.0, "fitout_cost": 1.0, "min_floor_area_m2": 150.0, "weight": 0.8,
                "operating_cost_per_year": 0.0},
    "health_station": {"threshold_minutes": 7.0, "fitout_cost": 1.0, "min_floor_area_m2": 200.0, "weight": 1.0,
                       "operating_cost_per_year": 0.0},
}
THREE = ("elderly_care", "canteen", "health_station")
TWO = ("elderly_care", "health_station")


@dataclass(frozen=True)
class Case:
    """One feature on one seed: what the model is asked, and what the oracle says."""

    feature: str
    seed: int
    instance: Any
    catalog: Any
    params: dict[str, Any]
    oracle: Oracle
    best: Optimum | None

    def describe(self) -> str:
        shown = {k: v for k, v in self.params.items() if k not in ("existing_services",)}
        policy = {s.key: s.policy_info() for s in self.catalog}
        extra = {k: np.round(v, 4).tolist() for k, v in self.instance.sites.extra.items()}
        return f"[{self.feature} seed={self.seed}] params={shown} services={policy} site extra={extra}"


def catalog_of(keys: tuple[str, ...], **policy: dict[str, Any]) -> Any:
    """The shipped catalog scaled to the tiny instances, ``keys`` enabled, policy fields per service."""
    overrides = {k: {**TINY[k], **policy.get(k, {})} for k in keys}
    return load_catalog(overrides=overrides).select(keys)


def instance_of(seed: int, *, partial: bool = False) -> Any:
    """random_instance with an elderly travel table (slower), communities north/south on demand and sites,
    an existing and an excluded building (seeds 1, 4, ...) or a required one (seeds 2, 5, ...), and per-m2
    prices on some rows when ``partial``."""
    inst = random_instance(8, 5, seed=seed, groups=True, floor_area=True)
    rng = np.random.default_rng(100 + seed)
    status = np.array([SiteStatus.CANDIDATE] * 5, dtype=object)
    if seed % 3 == 1:
        order = np.argsort(-inst.sites.cost)
        status[order[0]], status[order[1]] = SiteStatus.EXISTING, SiteStatus.EXCLUDED
    elif seed % 3 == 2:
        roomy = np.flatnonzero(np.asarray(inst.sites.floor_area) >= 450)
        if roomy.size:
            status[roomy[np.argmin(inst.sites.cost[roomy])]] = SiteStatus.REQUIRED
    slow = replace(inst.travel, minutes=np.ceil(inst.travel.minutes * 1.3))
    demand_community = np.where(inst.demand.groups["district"] % 2 == 0, "north", "south").astype(object)
    site_community = np.array(["north", "south", "north", "south", "north"], dtype=object)[rng.permutation(5)]
    extra = dict(inst.sites.extra)
    if partial:
        priced = rng.random(5) < 0.6
        extra["cost_fixed"] = np.where(priced & (rng.random(5) < 0.7), rng.integers(0, 3, 5).astype(float), np.nan)
        extra["cost_per_m2"] = np.where(priced, rng.choice([0.005, 0.01], 5), np.nan)
    return replace(inst, group_travel={"elderly": slow},
                   demand=replace(inst.demand, labels={**inst.demand.labels, "community": demand_community}),
                   sites=replace(inst.sites, labels={**inst.sites.labels, "community": site_community},
                                 extra=extra, status=status))


def existing_for(inst: Any, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The existing building provides health_station."""
    mask = np.asarray(inst.sites.status).astype(str) == "existing"
    return {"health_station": mask} if mask.any() and "health_station" in keys else {}


def binding_value(values: np.ndarray, base: float) -> float:
    """A floor above ``base`` (the unconstrained optimum's value) that some plan reaches, rounded down."""
    above = np.unique(values[values > base + 1e-9])
    if above.size == 0:
        return float(np.floor(base * 1e4) / 1e4)
    return float(np.floor(above[(above.size - 1) // 2] * 1e4) / 1e4)


def _budget_ok(oracle: Oracle) -> tuple[np.ndarray, np.ndarray]:
    """All plans and the mask of those within the budgets (the duties off)."""
    plans = oracle.plans()
    fig = oracle.evaluate(plans)
    ok = np.ones(len(plans), bool)
    for name, bad in fig.violations.items():
        if "budget" in name and "group" not in name:
            ok &= ~bad
    return plans, ok


def _make(feature: str, seed: int) -> tuple[Any, Any, dict[str, Any]]:
    partial = feature in ("partial_conversion", "phased_policy")
    inst = instance_of(seed, partial=partial)
    phased = feature.startswith("phase") or feature == "new_per_community"
    keys = TWO if phased else THREE
    params: dict[str, Any] = {"existing_services": existing_for(inst, keys)}
    if seed % 2:
        params["objective"] = "weighted"          # even seeds: the default, "share"
    if phased:
        params["phases"] = [{"year": 2025, "budget": 5.0}, {"year": 2026, "budget": 6.0}]
    else:
        params["budget"] = 8.0
    policy: dict[str, dict[str, Any]] = {}
    base = Oracle(inst, catalog_of(keys), **params)
    if feature == "floor":
        plans, ok = _budget_ok(base)
        k = base.keys.index("elderly_care")
        shares = base.evaluate(plans[ok]).covered[:, -1, k] / base.weight[k].sum()
        best = base.optimum()
        assert best is not None
        policy = {"elderly_care": {"min_share": binding_value(shares, base.share_by_service(best.plan)["elderly_care"])}}
    elif feature == "community_floor":
        plans, ok = _budget_ok(base)
        lowest = np.nanmin(base.community_shares(plans[ok], "health_station"), axis=1)
        best = base.optimum()
        assert best is not None
        at_best = float(np.nanmin(base.community_shares(best.plan[None], "health_station")))
        policy = {"health_station": {"min_share_per_community": binding_value(lowest, at_best)}}
    elif feature == "providers":
        policy = {"health_station": {"min_providers_per_community": 1}}
    elif feature in ("priorities", "priorities_tolerance"):
        policy = {"canteen": {"priority": 1}, "health_station": {"priority": 2}}
        if feature == "priorities_tolerance":
            params["priority_tolerance"] = 0.3
    elif feature == "budget_groups":
        best = base.optimum()
        assert best is not None
        elderly = float(base.group_spend(best.plan[None], ["elderly_care", "canteen"])[0])
        health = float(base.group_spend(best.plan[None], ["health_station"])[0])
        params["budget_groups"] = {"elderly": {"services": ["elderly_care", "canteen"], "max": max(elderly - 1, 1.0)},
                                   "health": {"services": ["health_station"], "min": health + 1}}
    elif feature == "phases_carry_over":
        # nothing costs 1: without carry-over the first year's money is lost, with it the second year has 8
        params["phases"] = [{"year": 2025, "budget": 1.0}, {"year": 2026, "budget": 7.0}]
        params["carry_over"] = True
    elif feature == "new_per_community":
        params["min_new_per_community_per_year"] = 1
        params["phases"] = [{"year": 2025, "budget": 10.0}, {"year": 2026, "budget": 6.0}]
    elif feature == "complex":
        params.update(budget=12.0, min_complexes=1, complex_min_area_m2=900.0)
    elif feature == "all_complexes":
        params.update(budget=10.0, all_complexes=True, complex_min_services=2, complex_min_core=1)
    elif feature == "life_cycle":
        policy = {"elderly_care": {"operating_cost_per_year": 0.5}, "canteen": {"operating_cost_per_year": 0.4},
                  "health_station": {"operating_cost_per_year": 0.3}}
        params.update(budget=11.0, horizon_years=5, discount_rate=0.05, budget_basis="life_cycle")
    elif feature == "infeasible_floor":
        # a floor above what the budget reaches but below what converting every building would reach
        reach_all = Oracle(inst, catalog_of(keys), **{**params, "budget": 1e6}).best_share("elderly_care")
        for budget in (5.0, 6.0, 7.0, 4.0, 3.0):
            params["budget"] = budget
            reach = Oracle(inst, catalog_of(keys), **params).best_share("elderly_care")
            if reach_all > reach + 0.02 and reach > 0:
                break
        top = reach_all if reach_all > reach + 0.02 else 1.0
        policy = {"elderly_care": {"min_share": float(np.ceil((reach + (top - reach) / 2) * 1e4) / 1e4)}}
    elif feature == "phases":
        params["budget"] = 9.0          # a cap on the total below the sum of the years
    elif feature == "phased_priorities":
        policy = {"health_station": {"priority": 1}}
    elif feature == "phased_policy":
        # per-m2 prices, life-cycle costs and an earmarked group over the years, a floor on the last year
        params.update(horizon_years=3, discount_rate=0.1, budget_basis="life_cycle")
        running = {"elderly_care": {"operating_cost_per_year": 0.4}, "health_station": {"operating_cost_per_year": 0.2}}
        base = Oracle(inst, catalog_of(keys, **running), **params)
        best = base.optimum()
        assert best is not None
        spent = float(base.group_spend(best.plan[None], ["elderly_care"])[0])
        params["budget_groups"] = {"elderly": {"services": ["elderly_care"], "max": max(spent - 0.5, 0.0)}}
        plans, ok = _budget_ok(base)
        k = base.keys.index("health_station")
        shares = base.evaluate(plans[ok]).covered[:, -1, k] / base.weight[k].sum()
        floor = binding_value(shares, base.share_by_service(best.plan)["health_station"])
        policy = {**running, "health_station": {**running["health_station"], "min_share": floor}}
    elif feature != "partial_conversion":
        raise ValueError(feature)
    return inst, catalog_of(keys, **policy), params


FEATURES = ("floor", "community_floor", "providers", "priorities", "priorities_tolerance", "budget_groups",
            "phases", "phases_carry_over", "phased_priorities", "phased_policy", "new_per_community", "complex", "all_complexes", "partial_conversion",
            "life_cycle", "infeasible_floor")


@cache
def case(feature: str, seed: int) -> Case:
    inst, catalog, params = _make(feature, seed)
    oracle = Oracle(inst, catalog, **params)
    return Case(feature, seed, inst, catalog, params, oracle, oracle.optimum())


def options_for(backend: str) -> SolveOptions | None:
    # OR-Tools runs the cheapest-plan stage in a child process (~2.5 s a solve): the objective is judged here
    return SolveOptions(secondary="none") if backend == "ortools" else None


def solve(c: Case, backend: str) -> Any:
    from siting.models.multiservice import solve_multiservice

    return solve_multiservice(c.instance, c.catalog, backend=backend, options=options_for(backend), **c.params)


def check_plan(c: Case, r: Any) -> None:
    """The model's plan passes the oracle, its figures are the oracle's and its objective is the optimum."""
    where = c.describe()
    assert c.best is not None
    assert r.status.value == "optimal", f"{where}: expected optimal {c.best.objective:.6g}, got {r.status.value}: " \
                                        f"{r.message}"
    plan = c.oracle.plan_of(r.sites)
    fig = c.oracle.evaluate(plan[None])
    assert fig.broken() == [], f"{where}: the model's plan breaks {fig.broken()}; plan (years per site x " \
                               f"{c.oracle.keys}) {plan.tolist()}"
    new_sites = {str(c.instance.sites.ids[j]) for j in np.flatnonzero(plan.any(axis=1))}
    existing = {str(x) for x in c.instance.sites.ids[c.oracle.existing_site]}
    assert set(r.selected) - existing == new_sites, f"{where}: converted {sorted(set(r.selected) - existing)} " \
                                                   f"but new placements in {sorted(new_sites)}"
    assert fig.objective[0] == pytest.approx(r.objective, rel=REL), \
        f"{where}: model claims {r.objective!r}, the oracle recomputes {fig.objective[0]!r} for its plan"
    assert fig.levels[0] == pytest.approx(c.best.levels, rel=REL), \
        f"{where}: level values expected {c.best.levels.tolist()}, got {fig.levels[0].tolist()}; best plan " \
        f"{c.best.plan.tolist()}, model plan {plan.tolist()}"
    assert r.objective == pytest.approx(c.best.objective, rel=REL), \
        f"{where}: expected {c.best.objective!r}, got {r.objective!r}; best plan {c.best.plan.tolist()}, " \
        f"model plan {plan.tolist()}"
    shares = c.oracle.share_by_service(plan)
    for key, share in shares.items():
        assert r.stats["services"][key]["share"] == pytest.approx(share, rel=REL, abs=1e-9), \
            f"{where}: stats share of {key} {r.stats['services'][key]['share']!r}, oracle {share!r}"
    if c.oracle.phases:
        phases = r.stats.get("phases")
        assert phases is not None and [ph["year"] for ph in phases] == c.oracle.years, f"{where}: stats phases {phases}"
        for t, ph in enumerate(phases):
            assert ph["spent"] == pytest.approx(fig.spend[0, t], rel=REL, abs=1e-9), \
                f"{where}: year {ph['year']} spent {ph['spent']!r}, oracle {fig.spend[0, t]!r}"
            assert ph["spent"] <= ph["budget"] * (1 + REL) or c.params.get("carry_over"), f"{where}: {ph}"
            year_value = float(fig.covered[0, t] @ c.oracle.per_weight)
            assert ph["objective"] == pytest.approx(year_value, rel=REL, abs=1e-9), \
                f"{where}: year {ph['year']} objective {ph['objective']!r}, oracle {year_value!r}"
            for k, key in enumerate(c.oracle.keys):
                assert ph["services"][key]["covered"] == pytest.approx(fig.covered[0, t, k], rel=REL, abs=1e-9), \
                    f"{where}: year {ph['year']} {key} covered {ph['services'][key]['covered']!r}, oracle " \
                    f"{fig.covered[0, t, k]!r}"
        rows = r.stats.get("phase_rows") or []
        for t, year in enumerate(c.oracle.years):
            booked = sum(float(row["cost"]) for row in rows if int(row["year"]) == year)
            assert booked == pytest.approx(fig.spend[0, t], rel=REL, abs=1e-9), \
                f"{where}: phase_rows of {year} add up to {booked!r}, oracle spend {fig.spend[0, t]!r}"
    for key, by_community in (r.stats.get("communities") or {}).items():
        shares_c = c.oracle.community_shares(plan[None], key)[0]
        for name, share_c in by_community.items():
            want = shares_c[c.oracle.communities.index(str(name))]
            assert share_c == pytest.approx(want, rel=REL, abs=1e-9), \
                f"{where}: stats communities {key} {name} {share_c!r}, oracle {want!r}"


#: seeds beyond SEEDS that once caught a model fault (found by sweeping seeds 0-30)
EXTRA_SEEDS = {
    "priorities": (6, 11),            # HiGHS: level plan 1e-6 below the held row; unpolished cover column
    "priorities_tolerance": (21,),    # tolerance > 0: the last stage must maximise the last level
}
CASES = [(f, s) for f in FEATURES for s in sorted(set(SEEDS) | set(EXTRA_SEEDS.get(f, ())))]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("feature, seed", CASES)
def test_policy_feature_matches_brute_force(feature, seed, backend):
    c = case(feature, seed)
    r = solve(c, backend)
    if c.best is None:
        assert r.status.value == "infeasible", \
            f"{c.describe()}: no plan meets the policy ({c.oracle.keys}), got {r.status.value} {r.objective!r}: " \
            f"{r.message}"
        return
    check_plan(c, r)


def test_the_cases_bind():
    """The brute force is not vacuous: most cases have a feasible optimum and the infeasible ones are infeasible."""
    feasible = {f: sum(case(f, s).best is not None for s in SEEDS) for f in FEATURES}
    assert feasible["infeasible_floor"] == 0
    assert all(n >= 2 for f, n in feasible.items() if f not in ("infeasible_floor", "providers",
                                                                 "new_per_community", "complex")), feasible


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_unmet_floor_names_the_service_and_its_reach(seed, backend):
    c = case("infeasible_floor", seed)
    assert c.best is None
    reach = c.oracle.best_share("elderly_care")
    r = solve(c, backend)
    assert r.status.value == "infeasible", f"{c.describe()}: got {r.status.value}: {r.message}"
    assert "elderly_care" in r.message, f"{c.describe()}: {r.message}"
    numbers = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", r.message)]
    assert any(abs(x - reach) <= 0.006 or abs(x - 100 * reach) <= 0.6 for x in numbers), \
        f"{c.describe()}: the largest share the budget reaches is {reach:.4f}; message: {r.message}"


def test_oracle_costs_and_objective_by_hand():
    """The judge itself, on a plan priced by hand: partial conversion, phases, groups, life-cycle, complexes."""
    from siting.data.orlib import instance_from_pairs

    inst = instance_from_pairs(np.array([0, 0]), np.array([0, 1]), np.array([3.0, 12.0]), population=np.array([10.0]),
                               cost=np.array([5.0, 4.0]), floor_area=np.array([700.0, 300.0]),
                               groups={"elderly": np.array([4.0])})
    inst = replace(inst, group_travel={"elderly": inst.travel},
                   sites=replace(inst.sites, extra={"cost_fixed": np.array([np.nan, 1.0]),
                                                    "cost_per_m2": np.array([np.nan, 0.01])}))
    cat = catalog_of(THREE, **{k: {"operating_cost_per_year": 0.5} for k in THREE})
    phases = [{"year": 2025, "budget": 7.0}, {"year": 2026, "budget": 5.0}]
    groups = {"elderly": {"services": ["elderly_care", "canteen"], "max": 8.0},
              "health": {"services": ["health_station"], "min": 4.0}}
    plan = np.array([[[1, 2, 0], [0, 0, 2]]])       # s0: elderly_care 2025, canteen 2026; s1: health 2026
    capital = Oracle(inst, cat, phases=phases, budget_groups=groups, min_complexes=1)
    fig = capital.evaluate(plan)
    assert fig.spend.tolist() == [[5 + 2, 1 + (1 + 1 + 0.01 * 200)]]   # canteen; s1 fixed + health + 200 m2
    assert capital.group_spend(plan, ["elderly_care", "canteen"]).tolist() == [8.0]
    assert fig.broken() == ["min_complexes"]                # 700 m2 but two services
    assert fig.objective[0] == pytest.approx(1.0 + (1.0 + 0.8))   # elderly 2025; elderly + canteen 2026
    life = Oracle(inst, cat, phases=phases, budget_basis="life_cycle", horizon_years=2)
    assert life.evaluate(plan).spend.tolist() == [[8.0, 7.0]]      # + 0.5 x 2 years per placement
    assert life.evaluate(plan).broken() == ["phase budget"]
    carried = Oracle(inst, cat, phases=phases, budget_basis="life_cycle", horizon_years=2, carry_over=True,
                     objective="weighted")
    assert carried.evaluate(plan).broken() == ["phase budget (cumulative, carry_over)"]   # 8 > 7 in 2025
    assert carried.evaluate(plan).objective[0] == pytest.approx(4 + (4 + 0.8 * 4))

"""Shared small multi-service instances for the multi-service hook tests."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from siting.services import load_catalog
from siting.testing import random_instance

KEYS = ["health_station", "childcare", "elderly_care", "fresh_market"]


def multiservice_instance(seed: int, n_demand: int = 40, n_sites: int = 12):
    """A random instance with groups, floor areas, statuses, three communities and a slower elderly table."""
    base = random_instance(n_demand, n_sites, seed=seed, groups=True, floor_area=True, statuses=True)
    rng = np.random.default_rng(seed)
    demand_c = np.array([f"c{v}" for v in rng.integers(0, 3, n_demand)], dtype=object)
    site_c = np.array([f"c{v}" for v in rng.integers(0, 3, n_sites)], dtype=object)
    slow = replace(base.travel, minutes=base.travel.minutes * 1.3)
    return replace(base, demand=replace(base.demand, labels={"community": demand_c}),
                   sites=replace(base.sites, labels={"community": site_c}), group_travel={"elderly": slow})


def catalog_of(**policy):
    """The catalog's KEYS services at 8 minutes, each with its ``policy[key]`` fields (priority, floors, ...)."""
    cat = load_catalog().select(KEYS)
    return replace(cat, services=tuple(replace(s, threshold_minutes=8.0, **policy.get(s.key, {}))
                                       for s in cat.services))


def greedy_start(seed: int, kwargs: dict, n_demand: int, n_sites: int):
    """The instance, params, rules, reach and program of ``kwargs``, and the greedy plan encoded as a start.

    Returns ``(inst, params, rules, reach, built, x, n_phases, floors_met)``.
    """
    from siting.models import multiservice_heuristic as heuristic
    from siting.models.multiservice_greedy import GreedyPlan, floors_met, greedy_state
    from siting.models.multiservice_params import MultiserviceParams
    from siting.models.multiservice_program import build_multiservice
    from siting.models.multiservice_reach import reach_of
    from siting.rules import SiteRules

    inst = multiservice_instance(seed, n_demand=n_demand, n_sites=n_sites)
    params = MultiserviceParams.from_kwargs(kwargs)
    rules = SiteRules.of(inst)
    reach = reach_of(inst, params, rules)
    state, _ = greedy_state(reach, params, rules, cost_power=1.0)
    built = build_multiservice(inst, params, rules)
    n_phases = len(params.phases) if params.phases else 1
    x = heuristic.encode(GreedyPlan(state.year, True), reach, rules, built, n_phases)
    return inst, params, rules, reach, built, x, n_phases, floors_met(state)


def plain_and_policy(budget: float, phase_budgets: tuple[float, float, float]) -> dict:
    """The multiservice parameters of a plain case (one budget) and a policy case (priorities, floors, 3 phases)."""
    years = (2026, 2027, 2028)
    return {
        "plain": lambda: {"catalog": catalog_of(), "budget": budget},
        "policy": lambda: {"catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.2,
                                                             "min_share_per_community": 0.05},
                                               childcare={"priority": 2, "min_share": 0.1}),
                           "phases": [{"year": y, "budget": b} for y, b in zip(years, phase_budgets, strict=True)],
                           "carry_over": True},
    }


def towns(seed: int, n_demand: int = 1500, n_sites: int = 150, policy: bool = False):
    """The benchmark's generated city at a small size (clustered towns: several reach components), plain budget.

    Returns ``(inst, params, rules)`` as ``benchmarks/multiservice_scale_bench.py`` makes them.
    """
    import sys
    from pathlib import Path

    from siting.models.multiservice_params import MultiserviceParams
    from siting.rules import SiteRules

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import multiservice_scale_bench as bench

    inst = bench.city_multiservice(n_demand, n_sites, seed=seed)
    params = MultiserviceParams.from_kwargs(bench.params_of(inst, policy, seed))
    return inst, params, SiteRules.of(inst)

"""The multi-service greedy's provider floors, and a previous plan refilled when a re-plan gives more money.

``min_providers_per_community`` alone (no share floor) once left the greedy without its providers-first step, so
every phased plan with it missed the floor and the warm start gave up; :func:`improve_start` keeps a plan's
placements and spends what a larger budget adds, and must stay feasible in every year (money, floor area, sites).
"""
from __future__ import annotations

import numpy as np
import pytest

from siting.backends import get_backend
from siting.models import multiservice_heuristic as heuristic
from siting.models.driver import solve_model
from siting.models.multiservice import MODEL, MultiserviceParams
from siting.models.multiservice_evaluate import evaluate_multiservice
from siting.models.multiservice_greedy import floors_met, greedy_state, loaded_state
from siting.models.multiservice_level_core import ahead
from siting.models.multiservice_local import improved_plan
from siting.models.multiservice_program import build_multiservice
from siting.models.multiservice_reach import reach_of
from siting.options import SolveOptions
from siting.rules import SiteRules

from ._instances import catalog_of, multiservice_instance


def _phases(budget: float, n: int = 3) -> list[dict]:
    return [{"year": 2026 + t, "budget": budget} for t in range(n)]


@pytest.mark.parametrize("seed", range(4))
def test_provider_floors_alone_are_met_by_the_greedy(seed):
    # 2 M a year buys a station in each of the three communities (the code before met it only at 4 M a year)
    inst = multiservice_instance(seed)
    params = MultiserviceParams.from_kwargs({"catalog": catalog_of(elderly_care={"min_providers_per_community": 1}),
                                             "phases": _phases(2e6)})
    rules = SiteRules.of(inst)
    reach = reach_of(inst, params, rules)
    state, _ = greedy_state(reach, params, rules)
    assert floors_met(state)
    plan = improved_plan(reach, params, rules)
    assert plan.floors_met
    built = build_multiservice(inst, params, rules)
    x = heuristic.encode(plan, reach, rules, built, 3)
    assert built.program.max_violation(x, relative=True) <= 1e-7
    evaluate_multiservice(inst, params, rules, built.plan_of(x))      # raises on a broken plan or floor


CASES = {
    "budget": lambda s: {"catalog": catalog_of(), "budget": 3e6 * s},
    "max_sites": lambda s: {"catalog": catalog_of(), "budget": 4e6 * s, "max_sites": 3},
    "phases": lambda s: {"catalog": catalog_of(), "phases": _phases(1e6 * s)},
    "carry_over": lambda s: {"catalog": catalog_of(), "phases": _phases(1e6 * s), "carry_over": True},
    "phased_total": lambda s: {"catalog": catalog_of(), "phases": _phases(1.5e6 * s), "budget": 3e6 * s},
    "providers": lambda s: {"catalog": catalog_of(elderly_care={"min_providers_per_community": 1}),
                            "phases": _phases(2e6 * s)},
    "levels": lambda s: {"catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.2},
                                               childcare={"priority": 2}), "phases": _phases(1.5e6 * s)},
}


def _spent(inst, params, rules, built, x) -> float:
    return float(evaluate_multiservice(inst, params, rules, built.plan_of(x)).total_cost)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", range(2))
def test_a_larger_budget_refills_the_previous_plan(case, seed):
    inst = multiservice_instance(seed, n_demand=30, n_sites=10)
    rules = SiteRules.of(inst)
    small = MultiserviceParams.from_kwargs(CASES[case](1.0))
    previous = build_multiservice(inst, small, rules)
    # a good plan, not necessarily proven (phased programs are slow to prove even when tiny)
    sol = get_backend("highs").solve(previous.program, SolveOptions(mip_gap=0.02, time_limit_s=5.0))
    if sol.x is None:
        pytest.skip("the smaller budget has no plan")
    x_small = np.where(previous.program.integrality, np.round(sol.x), sol.x)
    large = MultiserviceParams.from_kwargs(CASES[case](1.6))
    built = build_multiservice(inst, large, rules)
    assert built.program.n_cols == previous.program.n_cols
    assert built.program.max_violation(x_small, relative=True) <= 1e-7
    x = heuristic.improve_start(inst, large, rules, built, x_small, None)
    assert x is not None
    assert built.program.max_violation(x, relative=True) <= 1e-7            # money, floor area, sites, floors
    figures = evaluate_multiservice(inst, large, rules, built.plan_of(x))    # raises on a broken plan
    assert figures.objective == pytest.approx(built.program.objective_value(x), rel=1e-9, abs=1e-12)
    assert not ahead(built, x_small, x)                  # not behind: the levels in order, then the objective
    if not built.levels:
        assert built.program.objective_value(x) >= built.program.objective_value(x_small) - 1e-9
    # the refill (before its local search) keeps every placement of the previous plan, no later than it was
    reach = reach_of(inst, large, rules)
    n_phases = len(large.phases) if large.phases else 1
    before = heuristic.decode_years(x_small, reach, built, n_phases)
    state, _ = loaded_state(reach, large, rules, before)
    kept = before >= 0
    assert (state.year[kept] >= 0).all() and (state.year[kept] <= before[kept]).all()
    assert (state.area_left >= -1e-9).all()
    assert _spent(inst, large, rules, built, x) >= _spent(inst, large, rules, built, x_small) - 1e-6
    if case in ("budget", "max_sites"):      # quick to prove: the refill never beats the optimum
        exact = solve_model(MODEL, inst, large, backend="highs", options=SolveOptions(mip_gap=0.0, secondary="none"))
        assert built.program.objective_value(x) <= exact.objective + 1e-9 * max(1.0, abs(exact.objective))


def test_the_refill_spends_what_the_larger_budget_adds():
    """On one instance the refill converts more buildings than the previous plan and earns more."""
    inst = multiservice_instance(3, n_demand=60, n_sites=16)
    rules = SiteRules.of(inst)
    small = MultiserviceParams.from_kwargs(CASES["phases"](1.0))
    large = MultiserviceParams.from_kwargs(CASES["phases"](2.0))
    reach = reach_of(inst, small, rules)
    previous = build_multiservice(inst, small, rules)
    x_small = heuristic.encode(improved_plan(reach, small, rules), reach, rules, previous, 3)
    built = build_multiservice(inst, large, rules)
    x = heuristic.improve_start(inst, large, rules, built, x_small, None)
    assert built.program.objective_value(x) > built.program.objective_value(x_small)
    assert _spent(inst, large, rules, built, x) > _spent(inst, large, rules, built, x_small)


def test_the_refill_leaves_room_for_the_plans_later_placements():
    """A building the plan fills only in its last year is not filled earlier beyond its floor area (or sites)."""
    from dataclasses import replace

    base = multiservice_instance(1, n_demand=40, n_sites=12)
    params = MultiserviceParams.from_kwargs({"catalog": catalog_of(), "phases": _phases(4e6), "max_sites": 8})
    # every building holds exactly the largest service: once it hosts that, nothing else fits
    need = reach_of(base, params, SiteRules.of(base)).area_need
    inst = replace(base, sites=replace(base.sites, floor_area=np.full(base.sites.ids.shape[0], float(need.max()))))
    rules = SiteRules.of(inst)
    reach = reach_of(inst, params, rules)
    big = int(np.argmax(need))
    hosts = np.flatnonzero(reach.allowed[:, big] & reach.buildable)[:4]
    assert hosts.size == 4
    year = np.full(reach.allowed.shape, -1)
    year[hosts, big] = 2                                     # the plan opens them in its last year only
    state, money = loaded_state(reach, params, rules, year)
    assert (state.year[hosts, big] >= 0).all()
    assert (state.area_left >= -1e-9).all()
    assert state.n_new <= 8
    assert state.converted.sum() > hosts.size                 # the money was spent on other buildings
    built = build_multiservice(inst, params, rules)
    from siting.models.multiservice_greedy import GreedyPlan

    x = heuristic.encode(GreedyPlan(state.year, True), reach, rules, built, 3)
    assert built.program.max_violation(x, relative=True) <= 1e-7


def test_the_refill_leaves_the_total_budget_for_the_plans_later_years():
    inst = multiservice_instance(2, n_demand=40, n_sites=12)
    loose = MultiserviceParams.from_kwargs({"catalog": catalog_of(), "phases": _phases(4e6)})
    rules = SiteRules.of(inst)
    reach = reach_of(inst, loose, rules)
    hosts = np.flatnonzero(reach.allowed[:, 0] & reach.buildable)[:3]
    year = np.full(reach.allowed.shape, -1)
    year[hosts, 0] = 2
    later = float(reach.building_cost[hosts].sum() + reach.placement_cost[hosts, 0].sum())
    # the total leaves 1 M beside the last year's placements; each year alone could spend 4 M
    params = MultiserviceParams.from_kwargs({"catalog": catalog_of(), "phases": _phases(4e6),
                                             "budget": later + 1e6})
    state, money = loaded_state(reach, params, rules, year)
    assert (state.year[hosts, 0] >= 0).all()
    assert money.total_left >= -1e-6
    assert money.total_left < 1e6                           # and the 1 M was spent


@pytest.mark.parametrize("case", ["phases", "levels", "budget"])
def test_a_city_size_refill_goes_on_through_the_warm_starts_search(case, monkeypatch):
    """Above MIN_NNZ the refilled plan continues as a warm start does (bound, core MIPs): still feasible, no worse."""
    import time

    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)            # this program stands for a city-sized one
    inst = multiservice_instance(4, n_demand=40, n_sites=12)
    rules = SiteRules.of(inst)
    small = MultiserviceParams.from_kwargs(CASES[case](1.0))
    reach = reach_of(inst, small, rules)
    n_phases = len(small.phases) if small.phases else 1
    previous = build_multiservice(inst, small, rules)
    x_small = heuristic.encode(improved_plan(reach, small, rules), reach, rules, previous, n_phases)
    large = MultiserviceParams.from_kwargs(CASES[case](1.6))
    built = build_multiservice(inst, large, rules)
    x = heuristic.improve_start(inst, large, rules, built, x_small, time.perf_counter() + 3.0)
    assert x is not None
    assert built.program.max_violation(x, relative=True) <= 1e-7
    assert not ahead(built, x_small, x)
    assert "bound" in heuristic.last_run()                   # the search went on past the refill
    assert heuristic.bound(inst, large, rules) >= built.program.objective_value(x) - 1e-9

"""The multi-service plan's improvement moves never return a worse plan, nor one the program refuses.

Empty-and-refill (:func:`~siting.models.multiservice_local.improve`), drop-and-refill and swap moves
(:mod:`siting.models.multiservice_swap`), the greedy starts of
:func:`~siting.models.multiservice_local.improved_plan` and the neighbourhood sub-MIPs
(:mod:`siting.models.multiservice_regions`) on small random instances, plain and with policy rules (floors,
priorities, phases with and without carry-over): each result keeps every priority level and the objective
at least at the start's value, satisfies the program itself and meets every floor.
"""
from __future__ import annotations

import numpy as np
import pytest

from siting.models import multiservice_heuristic as heuristic
from siting.models.multiservice import MultiserviceParams
from siting.models.multiservice_greedy import GreedyPlan, floors_met, greedy_state
from siting.models.multiservice_local import held_levels, improve, improved_plan
from siting.models.multiservice_program import build_multiservice
from siting.models.multiservice_reach import reach_of
from siting.models.multiservice_regions import neighbourhood, neighbourhood_search, restricted
from siting.models.multiservice_swap import drop_search, plan_key, swap_search
from siting.rules import SiteRules

from ._instances import catalog_of, multiservice_instance

CASES = {
    "plain": lambda: {"catalog": catalog_of(), "budget": 6e6},
    "max_sites": lambda: {"catalog": catalog_of(), "budget": 9e6, "max_sites": 3},
    "policy": lambda: {"catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.2},
                                           childcare={"priority": 2, "min_share": 0.1}),
                       "phases": [{"year": 2026, "budget": 3e6}, {"year": 2027, "budget": 2e6},
                                  {"year": 2028, "budget": 2e6}], "carry_over": True},
    "phases": lambda: {"catalog": catalog_of(elderly_care={"priority": 1}),
                       "phases": [{"year": 2026, "budget": 2.5e6}, {"year": 2027, "budget": 3e6}]},
}


def _setup(case, seed):
    inst = multiservice_instance(seed, n_demand=80, n_sites=24)
    params = MultiserviceParams.from_kwargs(CASES[case]())
    rules = SiteRules.of(inst)
    return inst, params, rules, reach_of(inst, params, rules)


def _no_lower(new, old):
    return all(a >= b - 1e-12 * max(1.0, abs(b)) for a, b in zip(new, old, strict=True))


def _vector(inst, params, rules, reach, year):
    built = build_multiservice(inst, params, rules)
    n_phases = len(params.phases) if params.phases else 1
    x = heuristic.encode(GreedyPlan(year, True), reach, rules, built, n_phases)
    return built, x, n_phases


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_moves_never_worsen_the_plan_nor_break_the_program(case, seed):
    inst, params, rules, reach = _setup(case, seed)
    n_years = len(params.phases) if params.phases else 1
    levels = held_levels(reach, params)
    state, money = greedy_state(reach, params, rules, cost_power=0.8 if seed else 1.0)
    if not floors_met(state):
        pytest.skip("the greedy misses a floor here: no start to improve")
    start = plan_key(state, n_years, levels)
    for move in (improve, drop_search, swap_search):
        before = plan_key(state, n_years, levels)
        move(state, money, rules, check=floors_met, levels=levels)
        after = plan_key(state, n_years, levels)
        assert _no_lower(after, before), move.__name__
        assert floors_met(state)
        built, x, _ = _vector(inst, params, rules, reach, state.year)
        assert built.program.max_violation(x, relative=True) <= 1e-7
        # the key is the program's own objective (less what existing facilities earn every year)
        assert after[-1] == pytest.approx(built.program.objective_value(x) - n_years * reach.offset, abs=1e-9)
        assert money.total_left >= -1e-6
    assert _no_lower(plan_key(state, n_years, levels), start)


@pytest.mark.parametrize("case", sorted(CASES))
def test_more_starts_never_lose_to_the_first(case):
    inst, params, rules, reach = _setup(case, 3)
    first = improved_plan(reach, params, rules, cost_powers=(1.0,))
    best = improved_plan(reach, params, rules)
    assert best.floors_met == first.floors_met
    if not best.floors_met:
        return
    keys = []
    for plan in (first, best):
        built, x, _ = _vector(inst, params, rules, reach, plan.year)
        assert built.program.max_violation(x, relative=True) <= 1e-7
        keys.append(tuple(float(level.objective @ x) for level in built.levels)
                    + (built.program.objective_value(x),))
    assert keys[1] >= keys[0]


def test_restricted_program_keeps_the_fixed_columns_values():
    inst, params, rules, reach = _setup("policy", 0)
    plan = improved_plan(reach, params, rules, cost_powers=(1.0,))
    built, x, n_phases = _vector(inst, params, rules, reach, plan.year)
    free = np.zeros(built.program.n_cols, bool)
    free[np.random.default_rng(0).choice(free.shape[0], free.shape[0] // 3, replace=False)] = True
    sub = restricted(built.program, free, x)
    assert sub.objective_value(x[free]) == pytest.approx(built.program.objective_value(x), rel=1e-12)
    assert sub.max_violation(x[free], relative=True) <= 1e-7
    region = neighbourhood(reach, int(np.flatnonzero(plan.placed.any(axis=1))[0]), 5, plan.placed.any(axis=1))
    assert 1 <= region.sum() <= max(6, int(plan.placed.any(axis=1).sum()))


@pytest.mark.parametrize("case", ["plain", "policy"])
def test_neighbourhood_sub_mips_keep_levels_and_never_lose(case):
    import time
    inst, params, rules, reach = _setup(case, 4)
    plan = improved_plan(reach, params, rules, cost_powers=(1.0,), swaps=False)
    if not plan.floors_met:
        pytest.skip("the greedy misses a floor here")
    built, x, n_phases = _vector(inst, params, rules, reach, plan.year)
    y, info = neighbourhood_search(built, reach, x, n_phases, deadline=time.perf_counter() + 2.5, size=6,
                                   step_s=0.5)
    assert info["lns_solves"] >= 1
    assert built.program.max_violation(y, relative=True) <= 1e-7
    assert built.program.objective_value(y) >= built.program.objective_value(x) - 1e-12
    for level in built.levels:
        start_value = float(level.objective @ x)
        assert float(level.objective @ y) >= start_value - 1e-6 * max(1.0, abs(start_value))

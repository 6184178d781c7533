"""Core MIP rounds of a multi-service plan that rotate over regions and shift a solved core on.

A round whose column budget cannot take the plan's own buildings (a short round, a large city) re-plans a
region instead: a converted building no region has taken in yet and the buildings sharing most demand with
it. Such rounds must never return a plan worse than the start, nor one the full program, a floor or a held
priority level refuses; successive regions centre on different converted buildings until every one was in a
region; a global core that gains nothing climbs GLOBAL_TOLERANCES (RINS, then HiGHS on the whole core), then
the ranking shifts on.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from siting.backends import get_backend
from siting.models.levels import hold_level
from siting.models.multiservice import MODEL
from siting.models.multiservice_core import (
    GLOBAL_TOLERANCES,
    REGION_TOLERANCE,
    _region_core,
    aggregate,
    core_search,
    cover_columns,
)
from siting.models.multiservice_lagrange import lagrange_bound
from siting.models.multiservice_regions import building_columns
from siting.options import SolveOptions

from ._instances import catalog_of, greedy_start, plain_and_policy

CASES = plain_and_policy(8e6, (3e6, 3e6, 2e6))


def _start(case: str, seed: int, n_demand: int = 90, n_sites: int = 30):
    inst, params, rules, reach, built, x, n_phases, met = greedy_start(seed, CASES[case](), n_demand, n_sites)
    if not met or built.program.max_violation(x, relative=True) > 1e-7:
        pytest.skip("the greedy misses a floor here: no start to improve")
    return inst, params, rules, reach, built, x, n_phases


def _converted(built, n_sites: int, x: np.ndarray, n_phases: int) -> np.ndarray:
    start, stop = built.program.blocks["year"]
    last = start + (n_phases - 1) * ((stop - start) // n_phases)
    return x[last:last + n_sites] > 0.5


def _plan_columns(built, reach, x, n_phases) -> int:
    converted = _converted(built, reach.allowed.shape[0], x, n_phases)
    return aggregate(built.program, building_columns(built, reach, ~(converted & reach.buildable), n_phases), x,
                     cover_columns(built.program)).program.n_cols


def _upper(built, x) -> float:
    """HiGHS's bound on the program with the levels held at ``x`` (proven within a few seconds or not)."""
    held = built.program
    for level in built.levels:
        held, _, _ = hold_level(held, level, x=x, tolerance=0.0)
    return get_backend("highs").solve(held, SolveOptions(time_limit_s=1.5, mip_gap=0.0, secondary="none")).bound


@pytest.mark.parametrize(("case", "seed"), [("plain", 0), ("policy", 0), ("policy", 4)])
def test_regional_rounds_never_worsen_nor_break_the_program(case, seed):
    inst, params, rules, reach, built, x, n_phases = _start(case, seed)
    lagrange = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=30)
    # a column budget below what the plan's own buildings make: every round is a region
    budget = max(30, _plan_columns(built, reach, x, n_phases) // 3)
    y, info = core_search(built, reach, x, n_phases, lagrange.site_score, lagrange.site_services,
                          deadline=time.perf_counter() + 1.0, size=4, min_solve_s=0.1, max_columns=budget)
    rounds = info["core_rounds"]
    assert rounds and all(r["regional"] for r in rounds)
    assert built.program.max_violation(y, relative=True) <= 1e-7
    start_value, value = built.program.objective_value(x), built.program.objective_value(y)
    assert start_value - 1e-12 <= value <= _upper(built, x) + 1e-9 * max(1.0, abs(value))
    assert value == pytest.approx(info["core_objective"], rel=1e-12)
    for level in built.levels:
        assert float(level.objective @ y) >= float(level.objective @ x)
    plan = built.plan_of(y)
    assert MODEL.evaluate(inst, params, rules, plan) is not None    # raises on a broken plan


@pytest.mark.parametrize("case", ["plain", "policy"])
def test_regions_centre_on_every_converted_building_before_repeating(case):
    _, _, _, reach, built, x, n_phases = _start(case, 2)
    held = built.program
    covers = cover_columns(held)
    by_column = held.constraints.tocsc()
    n = reach.allowed.shape[0]
    converted = _converted(built, n, x, n_phases)
    own = converted & reach.buildable
    assert own.sum() >= 3
    plan_columns = _plan_columns(built, reach, x, n_phases)
    visited = np.zeros(n, bool)
    for _ in range(int(own.sum())):
        before = visited.copy()
        agg, extra = _region_core(built, reach, held, x, covers, by_column, converted, visited, plan_columns // 4,
                                  n_phases, plan_columns)
        assert agg is not None and extra >= 0
        # each region takes in at least one converted building no earlier region had
        assert (visited & ~before & own).any()
        assert not (visited & ~own).any()
        if visited[own].all():
            break
    assert visited[own].all()
    # the pass is over: no further region until the caller starts another one
    assert _region_core(built, reach, held, x, covers, by_column, converted, visited, plan_columns // 4, n_phases,
                        plan_columns)[0] is None


def test_a_global_core_climbs_the_tolerances_before_the_ranking_shifts_on():
    # a small budget: each core is solved within its round, with gains at every rung; a core that gains nothing
    # is tried again at the next rung (RINS, then HiGHS on the whole core), then the ranking shifts on, and a
    # gain starts the ranking again on the new plan
    inst, params, rules, reach, built, x, n_phases, met = greedy_start(4, {"catalog": catalog_of(), "budget": 3e6},
                                                                       40, 14)
    lagrange = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=30)
    _, info = core_search(built, reach, x, n_phases, lagrange.site_score, lagrange.site_services,
                          deadline=time.perf_counter() + 4.0, size=2, min_solve_s=0.1, round_share=0.35)
    rounds = info["core_rounds"]
    ladder = list(GLOBAL_TOLERANCES)
    assert all(r["tolerance"] in ladder for r in rounds if not r["regional"])
    assert all(r["tolerance"] == REGION_TOLERANCE for r in rounds if r["regional"])     # RINS on a region
    pairs = [(a, b) for a, b in zip(rounds, rounds[1:], strict=False) if not a["regional"] and not b["regional"]]
    assert {a["tolerance"] for a, _ in pairs if a["gained"]} == set(ladder)
    assert any(not a["gained"] and a["tolerance"] == ladder[-1] for a, _ in pairs)
    for a, b in pairs:
        if a["gained"]:
            assert (b["skip"], b["tolerance"]) == (0, ladder[0])
        elif a["tolerance"] == ladder[-1]:
            assert b["skip"] > a["skip"] and b["tolerance"] == ladder[0]
        else:
            assert (b["skip"], b["tolerance"]) == (a["skip"], ladder[ladder.index(a["tolerance"]) + 1])
    # once the ranking is used up, regions follow
    assert any(r["regional"] for r in rounds)

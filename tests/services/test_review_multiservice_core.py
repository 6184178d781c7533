"""Review of the aggregated core MIP (:mod:`siting.models.multiservice_core`) and the warm start's time share.

Random small plans with mixed rules (phases with and without carry-over, floors overall and per community,
priority levels with a tolerance, ``max_sites``, share objective, budgets from nothing to everything) go
through :func:`core_search`; the answer must be a point of the program, hold every priority level at the
start's value, never fall below the start nor rise above HiGHS's exact optimum of the program with the
levels held, and verify from the raw inputs. The deadline it is given is a promise, and a warm start that
gives the driver no start must leave the backend the time it needs to find a plan on its own.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from siting.backends import get_backend
from siting.models import multiservice_core as core
from siting.models import multiservice_heuristic as heuristic
from siting.models.levels import hold_level
from siting.models.multiservice import MODEL, MultiserviceParams
from siting.models.multiservice_core import GLOBAL_TOLERANCES, core_search
from siting.models.multiservice_lagrange import LagrangeBound, lagrange_bound
from siting.models.multiservice_program import build_multiservice
from siting.options import SolveOptions
from siting.rules import SiteRules

from ._instances import catalog_of, greedy_start, multiservice_instance


def _random_params(rng: np.random.Generator) -> dict:
    policy: dict = {}
    if rng.random() < 0.6:
        policy["elderly_care"] = {"priority": 1, "min_share": float(rng.choice([0.0, 0.1, 0.2]))}
        if rng.random() < 0.5:
            policy["elderly_care"]["min_share_per_community"] = 0.05
        if rng.random() < 0.5:
            policy["childcare"] = {"priority": 2, "min_share": 0.05}
    kwargs: dict = {"catalog": catalog_of(**policy)}
    if rng.random() < 0.5:
        kwargs["budget"] = float(rng.choice([1.0, 1e5, 2e6, 6e6, 1e9]))
    else:
        kwargs["phases"] = [{"year": 2026, "budget": float(rng.choice([1e6, 3e6]))}, {"year": 2027, "budget": 2e6}]
        kwargs["carry_over"] = bool(rng.random() < 0.5)
    if rng.random() < 0.3:
        kwargs["max_sites"] = int(rng.integers(1, 5))
    if rng.random() < 0.3:
        kwargs["objective"] = "share"
    if rng.random() < 0.3:
        kwargs["priority_tolerance"] = 0.01
    return kwargs


def _start(seed: int, kwargs: dict, n_demand: int = 60, n_sites: int = 16):
    inst, params, rules, reach, built, x, n_phases, met = greedy_start(seed, kwargs, n_demand, n_sites)
    if not met or built.program.max_violation(x, relative=True) > 1e-7:
        pytest.skip("the greedy misses a floor here: no start to improve")
    return inst, params, rules, reach, built, x, n_phases


# seeds chosen so that every kind of rule above occurs, the greedy meets the floors and a few rounds gain
@pytest.mark.parametrize("seed", [1, 2, 6])
def test_core_search_is_safe_and_never_beats_the_exact_optimum(seed):
    rng = np.random.default_rng(seed)
    kwargs = _random_params(rng)
    inst, params, rules, reach, built, x, n_phases = _start(seed, kwargs)
    lagrange = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=30)
    y, info = core_search(built, reach, x, n_phases, lagrange.site_score, lagrange.site_services,
                          deadline=time.perf_counter() + 0.5, size=int(rng.integers(1, 8)), min_solve_s=0.2,
                          round_share=0.5, tolerance=params.priority_tolerance)
    program = built.program
    assert program.max_violation(y, relative=True) <= 1e-7
    assert program.objective_value(y) >= program.objective_value(x) - 1e-12
    held = program
    for level in built.levels:
        assert float(level.objective @ y) >= float(level.objective @ x)
        held, _, _ = hold_level(held, level, x=x, tolerance=0.0)
    exact = get_backend("highs").solve(held, SolveOptions(mip_gap=0.0, secondary="none"))
    assert exact.objective is not None
    assert program.objective_value(y) <= exact.objective + 1e-7 * max(1.0, abs(exact.objective))
    # the decoded plan verifies from the raw inputs at the program's value
    figures = MODEL.evaluate(inst, params, rules, built.plan_of(y))
    assert figures.objective == pytest.approx(program.objective_value(y), rel=1e-7, abs=1e-9)
    assert info["core_objective"] == pytest.approx(program.objective_value(y), rel=1e-12)


@pytest.mark.parametrize("budget", [1.0, 1e9])
def test_core_search_on_an_empty_plan_and_on_every_building_converted(budget):
    # 1 yuan: nothing is converted (empty core, no score); 1e9: every building that gains is in the plan
    inst, params, rules, reach, built, x, n_phases = _start(3, {"catalog": catalog_of(), "budget": budget})
    lagrange = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=30)
    y, info = core_search(built, reach, x, n_phases, lagrange.site_score, lagrange.site_services,
                          deadline=time.perf_counter() + 0.6, size=4, min_solve_s=0.2)
    assert built.program.max_violation(y, relative=True) <= 1e-7
    assert built.program.objective_value(y) >= built.program.objective_value(x) - 1e-12


def test_core_search_never_gives_highs_more_time_than_its_deadline_leaves(monkeypatch):
    # the warm start's deadline is the driver's: the levels, the backend and the verification follow it, so a
    # round may not hand HiGHS more time than is left (a floor of 0.5 s on the round's limit overruns it)
    _, params, rules, reach, built, x, n_phases = _start(2, {"catalog": catalog_of(), "budget": 6e6})
    lagrange = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=30)
    real = core.get_backend
    given: list[tuple[float, float]] = []
    deadline = 0.0

    class Recording:
        def __init__(self, name):
            # what is left when the round asks for its backend, before building it (a first HiGHS object took
            # 4 ms on a loaded machine, which the round's limit cannot know about)
            self.left = deadline - time.perf_counter()
            self.inner = real(name)

        def solve(self, program, options, warm_start=None):
            given.append((float(options.time_limit_s), self.left))
            return self.inner.solve(program, options, warm_start=warm_start)

    monkeypatch.setattr(core, "get_backend", Recording)
    for span_s in (0.25, 0.3, 0.45):
        deadline = time.perf_counter() + span_s
        core_search(built, reach, x, n_phases, lagrange.site_score, lagrange.site_services, deadline=deadline,
                    size=6, min_solve_s=0.2)
    assert given
    assert all(limit <= left + 1e-3 for limit, left in given), given


def test_a_warm_start_without_a_start_leaves_the_backend_half_the_time(monkeypatch):
    # a capacitated service: the greedy cannot plan it, the warm start gives no start and only the bound
    # runs; at city size the bound runs until its deadline, so that deadline decides the backend's time,
    # which must find a plan on its own (the driver's half, as before the 95 % share of large programs)
    catalog = catalog_of(health_station={"capacity": 200.0})
    inst = multiservice_instance(4, n_demand=60, n_sites=16)
    params = MultiserviceParams.from_kwargs({"catalog": catalog, "budget": 6e6})
    rules = SiteRules.of(inst)
    built = build_multiservice(inst, params, rules)
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    monkeypatch.setattr(heuristic, "LARGE_NNZ", 0)          # this program stands for a city-sized one
    seen: dict[str, float | None] = {}

    def bound_until(reach, params, counts, *, target, deadline=None, max_iterations=1000, held=None):
        seen["deadline"] = deadline
        return LagrangeBound(bound=1e9, iterations=0, year_bounds=(1e9,))

    monkeypatch.setattr(heuristic, "lagrange_bound", bound_until)
    total_s = 100.0
    began = time.perf_counter()
    share = heuristic.warm_start_share(built)
    assert share > 0.5                                       # the large-program share applies
    start = heuristic.warm_start(inst, params, rules, built, began + share * total_s)
    assert start is None and heuristic.last_run()["no_start"]
    assert seen["deadline"] is not None
    assert seen["deadline"] - began <= 0.5 * total_s + 1.0


def test_a_round_without_gain_is_not_solved_again_on_the_same_core():
    # a budget that converts all but one building: the ranking has no building beyond the plan, so a core
    # that gains nothing is the same core next round (same program, same start: the same answer); the search
    # may try it once at each rung of GLOBAL_TOLERANCES (a gain starts the ladder again), then must move on (one region
    # pass here) or stop instead of re-solving it until the deadline
    inst, params, rules, reach, built, x, n_phases = _start(3, {"catalog": catalog_of(), "budget": 1e9})
    lagrange = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=30)
    _, info = core_search(built, reach, x, n_phases, lagrange.site_score, lagrange.site_services,
                          deadline=time.perf_counter() + 1.5, size=4, min_solve_s=0.2)
    assert info["core_solves"] <= (info["core_kept"] + 1) * len(GLOBAL_TOLERANCES) + 1, info

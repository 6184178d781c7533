"""Review of the first priority level's own bound (commit 1bf853a: ``level_bounds``, the ``level_bound`` hook).

The bound must stay at or above the level's exact optimum (its stage program solved by HiGHS at gap 0) with
phases with and without carry-over, floors overall and per community, ``max_sites``, existing facilities of the
level's services (offsets), the weighted and share objectives and two services in the level; rules the greedy
does not plan for give no bound. It must be in the units of the level's row (existing facilities counted once per
year) and never above what the level's services could cover at all, even where existing facilities cover most of
the level. The hook must answer for its own solve only (other rules, a solve in between, a warm start that
computed nothing), and with ``priority_tolerance`` the level's row and warning must still describe level 1.
"""
from __future__ import annotations

import re
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from siting.backends import get_backend
from siting.models import levels as levels_module
from siting.models import multiservice_heuristic as heuristic
from siting.models.driver import solve_model
from siting.models.multiservice import MODEL
from siting.models.multiservice_greedy import GreedyPlan, greedy_state
from siting.models.multiservice_params import MultiserviceParams
from siting.models.multiservice_reach import reach_of
from siting.options import SolveOptions
from siting.program import Sense
from siting.rules import SiteRules
from siting.status import relative_gap

sys.path.insert(0, str(Path(__file__).parent))
from _instances import catalog_of, multiservice_instance  # noqa: E402
from test_multiservice_level_bound import check_level_bounds  # noqa: E402
from test_review_levels_first import _Stopped  # noqa: E402

_N_DEMAND, _N_SITES = 40, 12
_YEARS = [{"year": 2026, "budget": 1e6}, {"year": 2027, "budget": 1.5e6}]


def _existing(seed: int, share: float = 0.4) -> np.ndarray:
    """A random mask of buildings that already host a service."""
    return np.random.default_rng(seed).random(_N_SITES) < share


_CASES = {
    "carry_over_floor": lambda seed: {
        "catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.2}, childcare={"priority": 2}),
        "phases": _YEARS, "carry_over": True},
    "no_carry_over_community_floors": lambda seed: {
        "catalog": catalog_of(elderly_care={"priority": 1, "min_share_per_community": 0.1},
                              childcare={"priority": 2, "min_share": 0.1}),
        "phases": _YEARS, "carry_over": False},
    "max_sites_floors": lambda seed: {
        "budget": 4e6, "max_sites": 3,
        "catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.3},
                              childcare={"min_share_per_community": 0.1})},
    "existing_level_services_phased": lambda seed: {
        "catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.2}, childcare={"priority": 2}),
        "phases": _YEARS, "carry_over": True, "existing_services": {"elderly_care": _existing(seed)}},
    "weighted_two_services": lambda seed: {
        "budget": 3e6, "objective": "weighted",
        "catalog": catalog_of(elderly_care={"priority": 1}, health_station={"priority": 1},
                              childcare={"priority": 2})},
    "share_two_services_existing": lambda seed: {
        "budget": 3e6, "existing_services": {"health_station": _existing(seed + 7, 0.3)},
        "catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.15}, health_station={"priority": 1})},
    "weighted_existing_no_budget": lambda seed: {
        "max_sites": 2, "objective": "weighted", "existing_services": {"elderly_care": _existing(seed + 3)},
        "catalog": catalog_of(elderly_care={"priority": 1})},
}


def _setup(seed: int, kwargs: dict):
    inst = multiservice_instance(seed, _N_DEMAND, _N_SITES)
    params = MultiserviceParams.from_kwargs(kwargs)
    rules = SiteRules.of(inst)
    return inst, params, rules, MODEL.build(inst, params, rules)


def _level_optimum(built, level) -> float:
    """The level's own optimum over the program (its stage: nothing held before it), proven by HiGHS."""
    stage = replace(built.program, sense=Sense.MAXIMIZE, objective=level.objective, objective_offset=level.offset)
    sol = get_backend("highs").solve(stage, SolveOptions(mip_gap=0.0, secondary="none"))
    assert sol.termination.value == "optimal" and sol.objective is not None
    return float(sol.objective)


def _ceiling(reach, level, n_years: int) -> float:
    """What the level's services could earn at all: every point covered in every year, existing ones included."""
    return n_years * sum(float(s.value.sum()) + s.offset for s in reach.services if s.key in level.services)


def _no_sub_mips(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm start without its neighbourhood and core MIPs (they only use its time; not under review)."""
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    monkeypatch.setattr(heuristic, "neighbourhood_search", lambda built, reach, x, *args, **kwargs: (x, {}))
    monkeypatch.setattr(heuristic, "core_search", lambda built, reach, x, *args, **kwargs: (x, {}))


def _stopped_solve(monkeypatch: pytest.MonkeyPatch, kwargs: dict, seed: int):
    """(instance, params, result) of a driver solve whose level stages stop with no bound of their own."""
    inst = multiservice_instance(seed, _N_DEMAND, _N_SITES)
    params = MultiserviceParams.from_kwargs(kwargs)
    _no_sub_mips(monkeypatch)
    monkeypatch.setattr(levels_module, "get_backend", lambda name: _Stopped(None))
    result = solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(time_limit_s=20, secondary="none"))
    return inst, params, result


def _years(params) -> int:
    return len(params.phases) if params.phases else 1


# --- 1. validity --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("case", "seed"), [("carry_over_floor", 0), ("no_carry_over_community_floors", 1),
                                           ("max_sites_floors", 2), ("existing_level_services_phased", 0),
                                           ("weighted_two_services", 1), ("share_two_services_existing", 2),
                                           ("weighted_existing_no_budget", 0)])
def test_the_level_bound_covers_the_exact_level_optimum(case: str, seed: int) -> None:
    inst, params, rules, built = _setup(seed, _CASES[case](seed))
    level = built.levels[0]
    reach = reach_of(inst, params, rules)
    # the plain greedy's plan sets the search's target only (any multipliers give a bound)
    state, _ = greedy_state(reach, params, rules, cost_power=1.0)
    x = heuristic.encode(GreedyPlan(state.year, True), reach, rules, built, _years(params))
    found = heuristic.level_bounds(built, reach, params, rules.counts, x, deadline=None)
    optimum = _level_optimum(built, level)
    assert found[level.number] >= optimum - 1e-9 * max(1.0, abs(optimum)), (case, found, optimum)
    # later levels (lead, after the review): the first level held at the start's value
    check_level_bounds(built, reach, params, x, found)


@pytest.mark.parametrize("kwargs", [
    {"budget": 3e6, "catalog": catalog_of(elderly_care={"priority": 1, "capacity": 50})},
    {"budget": 3e6, "catalog": catalog_of(elderly_care={"priority": 1}),
     "budget_groups": {"care": {"services": ["elderly_care"], "max": 2e6}}},
    {"budget": 5e5, "catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.7})},
], ids=["capacitated", "budget_groups", "floor_out_of_reach"])
def test_rules_the_greedy_does_not_plan_for_give_no_level_bound(kwargs: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    inst, params, rules, built = _setup(0, kwargs)
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    assert heuristic.warm_start(inst, params, rules, built, None) is None
    assert heuristic.last_run()["no_start"] and "level_bounds" not in heuristic.last_run()
    assert heuristic.level_bound(inst, params, rules, 1) is None


# --- 2. units: existing facilities of the level ----------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_existing_facilities_leave_the_level_bound_between_the_optimum_and_the_ceiling(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # existing elderly care in ~40 % of the buildings already earns most of the level (seed 1: 0.60 of 0.95).
    # The Lagrangian's search stops once its value (net of existing facilities) falls to the Polyak target;
    # a target that includes them stops it early: seed 1 gave 1.037 > 1, more elderly people than there are
    inst, params, rules, built = _setup(seed, {"budget": 2.5e6, "catalog": catalog_of(elderly_care={"priority": 1}),
                                               "existing_services": {"elderly_care": _existing(seed)}})
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    x = heuristic.warm_start(inst, params, rules, built, None)
    assert x is not None
    level = built.levels[0]
    reached = float(level.objective @ x + level.offset)
    bound = heuristic.level_bound(inst, params, rules, level.number)
    assert bound is not None and level.offset > 0.3 * reached
    optimum = _level_optimum(built, level)
    assert bound >= optimum - 1e-9 >= reached - 2e-9
    ceiling = _ceiling(reach_of(inst, params, rules), level, 1)
    assert ceiling <= 1.0 + 1e-12             # share objective, one year
    assert bound <= ceiling + 1e-9, f"level bound {bound:.4f} above all the level could earn ({ceiling:.4f})"


def test_the_rows_value_and_bound_count_existing_facilities_once_a_year(monkeypatch: pytest.MonkeyPatch) -> None:
    # the stages stop with no bound of their own: the row's bound is the model's
    inst, params, result = _stopped_solve(monkeypatch, _CASES["existing_level_services_phased"](0), 0)
    row = result.stats["priority_levels"][0]
    found = heuristic.last_run()["level_bounds"][1]
    assert row["model_bound"] == found == row["bound"]
    # the row's value is the level recomputed from the raw inputs on the stage's plan: the same units as the plan's
    assert result.stats["level_values"][1] >= row["held_at"] - 1e-9
    rules = SiteRules.of(inst)
    built = MODEL.build(inst, params, rules)
    level = built.levels[0]
    optimum = _level_optimum(built, level)
    assert row["value"] <= optimum + 1e-9 <= found + 2e-9
    assert found <= _ceiling(reach_of(inst, params, rules), level, 2) + 1e-9


# --- 3. the stash answers for its own solve only --------------------------------------------------------------------

def test_the_hook_never_returns_another_solves_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    kwargs = {"budget": 2.5e6, "catalog": catalog_of(elderly_care={"priority": 1})}
    inst, params, rules, built = _setup(1, kwargs)
    assert heuristic.warm_start(inst, params, rules, built, None) is not None
    first = heuristic.level_bound(inst, params, rules, 1)
    assert first is not None and heuristic.level_bound(inst, params, rules, 2) is None     # no level 2 here
    # serve / replan: the greedy's buildings locked out -> other rules, another program
    locked = replace(rules, upper=np.where(_greedy_sites(inst, params, rules), 0.0, rules.upper))
    assert heuristic.level_bound(inst, params, locked, 1) is None
    locked_built = MODEL.build(inst, params, locked)
    assert heuristic.warm_start(inst, params, locked, locked_built, None) is not None
    again = heuristic.level_bound(inst, params, locked, 1)
    # a solve in between (or at once, in another thread): each keeps its own
    assert heuristic.level_bound(inst, params, rules, 1) == first
    assert again is not None and again >= _level_optimum(locked_built, locked_built.levels[0]) - 1e-9
    # the locked solve's bound is below the unlocked level's optimum: handed to the first solve it would be wrong
    assert again < _level_optimum(built, built.levels[0])
    # the same objects, a warm start that computed nothing (too small for the heuristics): no stale bound
    monkeypatch.setattr(heuristic, "MIN_NNZ", 10 ** 9)
    assert heuristic.warm_start(inst, params, locked, locked_built, None) is None
    assert heuristic.level_bound(inst, params, locked, 1) is None


def _greedy_sites(inst, params, rules) -> np.ndarray:
    """The buildings the plain greedy converts."""
    reach = reach_of(inst, params, rules)
    state, _ = greedy_state(reach, params, rules, cost_power=1.0)
    return (state.year >= 0).any(axis=1)


def test_a_warm_start_out_of_time_leaves_no_level_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    inst, params, rules, built = _setup(0, {"budget": 2.5e6, "catalog": catalog_of(elderly_care={"priority": 1})})
    assert heuristic.warm_start(inst, params, rules, built, None) is not None
    assert heuristic.level_bound(inst, params, rules, 1) is not None
    # the same objects again with the deadline already passed: the level bound gets no time
    x = heuristic.warm_start(inst, params, rules, built, time.perf_counter() - 1.0)
    assert x is not None and heuristic.last_run()["level_bounds"] == {}
    assert heuristic.level_bound(inst, params, rules, 1) is None


# --- 4. priority_tolerance ------------------------------------------------------------------------------------------

def test_with_priority_tolerance_the_row_and_warning_describe_level_one(monkeypatch: pytest.MonkeyPatch) -> None:
    inst, params, result = _stopped_solve(monkeypatch, {**_CASES["max_sites_floors"](0), "priority_tolerance": 0.3}, 1)
    row = result.stats["priority_levels"][0]
    rules = SiteRules.of(inst)
    built = MODEL.build(inst, params, rules)
    optimum = _level_optimum(built, built.levels[0])
    # the bound is the level's own (no tolerance in it), above its optimum and above what the final plan keeps
    assert row["bound"] == row["model_bound"] >= optimum - 1e-9
    assert row["held_at"] == pytest.approx(0.7 * row["value"], rel=1e-9)
    assert result.stats["level_values"][1] <= row["bound"] + 1e-9
    # the gap is the stage's reached value's (the warning says so), not the tolerance's
    assert row["gap"] == pytest.approx(relative_gap(row["value"], row["bound"]), rel=1e-12)
    match = re.search(r"priority level 1 \(elderly_care\) not proven \(time_limit\): held at ([0-9.e+-]+) \(its stage "
                      r"reached ([0-9.e+-]+) less priority_tolerance 0.3\), its bound is ([0-9.e+-]+) \(gap "
                      r"([0-9.]+) %\)", result.message)
    assert match, result.message
    held, reached, bound, gap = (float(v) for v in match.groups())
    assert held == pytest.approx(row["held_at"], rel=1e-5) and reached == pytest.approx(row["value"], rel=1e-5)
    assert bound == pytest.approx(row["bound"], rel=1e-5) and gap == pytest.approx(100 * row["gap"], abs=0.051)

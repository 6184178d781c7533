"""Each priority level's own cores (``multiservice_level_core``): elderly care first, as the policy says.

The weighted warm start can leave level 1 far below its best (on these small cities the greedy start gives elderly
care 0.30 where 0.78 is reachable by taking childcare's money); the level cores must raise it, never lower it, stay
feasible, never pass the level's exact optimum, and compare plans lexicographically (a higher level 1 wins whatever
level 2 loses; with level 1 equal, a lower level 2 loses whatever the objective gains).
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from siting.backends import get_backend
from siting.models import multiservice_heuristic as heuristic
from siting.models.multiservice import MODEL
from siting.models.multiservice_level_core import ahead, level_columns, level_search
from siting.models.multiservice_params import MultiserviceParams
from siting.models.multiservice_phase import site_columns
from siting.models.multiservice_reach import reach_of
from siting.options import SolveOptions
from siting.program import Sense
from siting.rules import SiteRules

sys.path.insert(0, str(Path(__file__).parent))
from _instances import catalog_of, multiservice_instance  # noqa: E402


def _policy_city(seed: int):
    """A 400 x 60 city, elderly care first (a floor), childcare second, two phased years; the greedy's plan."""
    inst = multiservice_instance(seed, 400, 60)
    params = MultiserviceParams.from_kwargs({
        "catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.1}, childcare={"priority": 2}),
        "phases": [{"year": 2026, "budget": 1e6}, {"year": 2027, "budget": 1e6}], "carry_over": True})
    rules = SiteRules.of(inst)
    built = MODEL.build(inst, params, rules)
    return inst, params, rules, built


def _fake(levels: list[list[float]], objective: list[float]):
    """A stand-in with the two attributes :func:`ahead` reads."""
    program = SimpleNamespace(objective_value=lambda x: float(np.dot(objective, x)))
    return SimpleNamespace(levels=[SimpleNamespace(objective=np.array(v, float)) for v in levels], program=program)


def test_ahead_compares_levels_in_order_then_the_objective() -> None:
    built = _fake([[1, 0, 0], [0, 1, 0]], [1, 1, 1])
    old = np.array([0.5, 0.5, 0.5])
    assert ahead(built, np.array([0.6, 0.0, 0.0]), old)           # level 1 up: whatever level 2 and the rest lose
    assert not ahead(built, np.array([0.4, 1.0, 1.0]), old)       # level 1 down: whatever the rest gain
    assert not ahead(built, np.array([0.5, 0.4, 9.0]), old)       # level 1 equal, level 2 down
    assert ahead(built, np.array([0.5, 0.5, 0.6]), old)           # levels equal, the objective up
    assert not ahead(built, old.copy(), old)                      # equal is not ahead
    assert not ahead(built, np.array([0.5 + 1e-12, 0.5, 0.5]), old)   # rounding decides nothing


def test_level_columns_free_the_level_and_every_placement_only() -> None:
    inst, params, rules, built = _policy_city(0)
    reach = reach_of(inst, params, rules)
    heuristic.MIN_NNZ, saved = 0, heuristic.MIN_NNZ
    try:
        x = heuristic.warm_start(inst, params, rules, built, None)
    finally:
        heuristic.MIN_NNZ = saved
    assert x is not None
    n_phases = len(params.phases)
    sites = np.zeros(reach.allowed.shape[0], bool)
    sites[:5] = True
    on = np.array([s.key == "elderly_care" for s in reach.services])
    free = level_columns(built, reach, x, sites, on, n_phases)
    start, stop = built.program.blocks["year"]
    width = (stop - start) // n_phases
    owner, service = site_columns(reach.allowed)
    for t in range(n_phases):
        block = free[start + t * width:start + (t + 1) * width]
        placed = (x[start + t * width:start + t * width + owner.shape[0]] > 0.5) & (service >= 0)
        expected = (sites[owner] & ((service < 0) | on[np.maximum(service, 0)])) | placed
        assert np.array_equal(block[:owner.shape[0]], expected)
        assert not block[owner.shape[0]:].any()                   # no cover column: aggregation decides those
    assert not free[:start].any() and not free[stop:].any()


def _level_optimum(built, number: int) -> float:
    level = built.levels[number - 1]
    stage = replace(built.program, sense=Sense.MAXIMIZE, objective=level.objective, objective_offset=level.offset)
    sol = get_backend("highs").solve(stage, SolveOptions(mip_gap=0.0, secondary="none"))
    assert sol.termination.value == "optimal" and sol.objective is not None
    return float(sol.objective)


@pytest.mark.parametrize("seed", [1])
def test_level_cores_raise_level_one_never_lower_it_and_stay_feasible(seed: int) -> None:
    inst, params, rules, built = _policy_city(seed)
    reach = reach_of(inst, params, rules)
    heuristic.MIN_NNZ, saved = 0, heuristic.MIN_NNZ
    try:
        x = heuristic.warm_start(inst, params, rules, built, None)     # no deadline: no cores, the greedy's plan
    finally:
        heuristic.MIN_NNZ = saved
    assert x is not None
    search_built, _ = heuristic.weighted(built, reach, heuristic.level_weights(built, reach))
    y, info = level_search(built, search_built, reach, x, len(params.phases), deadline=time.perf_counter() + 10)
    assert info["level_rounds"] and {r[0] for r in info["level_rounds"]} == {1, 2}
    assert built.program.max_violation(y, relative=True) <= 1e-7
    first = built.levels[0]
    before, after = float(first.objective @ x + first.offset), float(first.objective @ y + first.offset)
    assert after >= before - 1e-12
    assert after <= _level_optimum(built, 1) + 1e-9
    assert ahead(built, y, x) or np.array_equal(y, x)
    if seed == 1:
        # the greedy put the money into childcare (level 2); the policy puts elderly care first
        assert after > before + 0.1, (before, after)


def test_the_warm_start_runs_the_level_cores_with_a_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    inst, params, rules, built = _policy_city(1)
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    greedy = heuristic.warm_start(inst, params, rules, built, None)
    x = heuristic.warm_start(inst, params, rules, built, time.perf_counter() + 8)
    assert greedy is not None and x is not None
    run = heuristic.last_run()
    assert run["level_rounds"] and any(r[4] for r in run["level_rounds"])
    assert built.program.max_violation(x, relative=True) <= 1e-7
    first = built.levels[0]
    assert float(first.objective @ x) > float(first.objective @ greedy) + 0.1


def test_a_replan_runs_the_level_cores_and_may_trade_level_two_for_level_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-plan from the greedy's plan (the same program: nothing to refill) raises elderly care as a warm start
    does, though childcare falls: its promise is lexicographic (until 2026-12-02 it was every level no lower, which
    kept the level cores out and returned elderly care where the greedy left it)."""
    inst, params, rules, built = _policy_city(1)
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    previous = heuristic.warm_start(inst, params, rules, built, None)     # no deadline: the greedy's plan
    assert previous is not None
    x = heuristic.improve_start(inst, params, rules, built, previous, time.perf_counter() + 8)
    run = heuristic.last_run()
    assert run["level_rounds"] and any(r[4] for r in run["level_rounds"])
    assert built.program.max_violation(x, relative=True) <= 1e-7
    first, second = built.levels
    assert float(first.objective @ x) > float(first.objective @ previous) + 0.1
    assert float(second.objective @ x) < float(second.objective @ previous)     # childcare's money moved
    assert ahead(built, x, previous)

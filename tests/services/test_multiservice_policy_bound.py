"""The multi-service Lagrangian bound with the policy rows dualised, against the exact MIP on small instances.

The bound must stay above the proven optimum for any multipliers (floors overall and per community, phases,
priority levels, which the bound leaves out) and, with a binding floor, come closer to the optimum than the
bound that ignores the floors.
"""
from __future__ import annotations

import numpy as np
import pytest

from siting.models import multiservice_heuristic as heuristic
from siting.models import multiservice_lagrange as lagrange
from siting.models.driver import solve_model
from siting.models.multiservice import MODEL, MultiserviceParams
from siting.models.multiservice_reach import reach_of
from siting.options import SolveOptions
from siting.rules import SiteRules

from ._instances import catalog_of, multiservice_instance

_instance = multiservice_instance


FLOORS = {"elderly_care": {"min_share": 0.35, "priority": 1}, "childcare": {"min_share_per_community": 0.25}}
CASES = {
    "floors": lambda: {"budget": 4e6, "catalog": catalog_of(**FLOORS)},
    "floors_phased": lambda: {"catalog": catalog_of(**FLOORS), "carry_over": True,
                              "phases": [{"year": 2026, "budget": 1.5e6}, {"year": 2027, "budget": 2e6}]},
    "floors_sites": lambda: {"budget": 9e6, "max_sites": 2,
                             "catalog": catalog_of(elderly_care={"min_share": 0.3}, childcare={"priority": 1})},
}


def _exact(inst, params):
    return solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(mip_gap=0.0, secondary="none"))


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1])
def test_bound_with_floors_stays_above_the_optimum(case, seed):
    inst = _instance(seed, *((20, 7) if case == "floors_phased" else (36, 10)))
    params = MultiserviceParams.from_kwargs(CASES[case]())
    rules = SiteRules.of(inst)
    exact = _exact(inst, params)
    if exact.status.value == "infeasible":
        pytest.skip("floors out of reach on this draw")
    assert exact.status.value == "optimal"
    reach = reach_of(inst, params, rules)
    assert lagrange.floors_of(reach), "the case must carry a floor the existing facilities do not meet"
    tol = 1e-9 * max(1.0, abs(exact.objective))
    for target in (0.0, exact.objective - reach.offset):
        assert lagrange.lagrange_bound(reach, params, rules.counts, target=target,
                                       max_iterations=40).bound >= exact.objective - tol


def test_any_floor_multipliers_give_a_valid_bound():
    """Valid for any lambda >= 0: the iteration is pinned to random multipliers and must stay above."""
    inst = _instance(4, 36, 10)
    params = MultiserviceParams.from_kwargs(CASES["floors"]())
    rules = SiteRules.of(inst)
    exact = _exact(inst, params)
    assert exact.status.value == "optimal"
    reach = reach_of(inst, params, rules)
    floors = lagrange.floors_of(reach)
    rng = np.random.default_rng(0)
    for _ in range(5):
        lam = [rng.uniform(0, 5, f.need.shape[0]) * f.scale for f in floors]
        caps = lagrange._caps(reach, floors, lam)
        u = [rng.uniform(0, 1, c.shape[0]) * c for c in caps]
        inner = lagrange._Buildings(reach, rules.counts, params.max_sites)
        value = lagrange._final_value(inner, reach, floors, lam, caps, u, lagrange.year_money(params)[-1], 1e-9)[0]
        assert reach.offset + value >= exact.objective - 1e-9


def test_a_binding_floor_tightens_the_bound(monkeypatch):
    inst = _instance(0, 60, 12)
    # a floor that costs the optimum a third of its value (1.70 without it on this draw)
    params = MultiserviceParams.from_kwargs({"budget": 3e6, "catalog": catalog_of(elderly_care={"min_share": 0.6})})
    rules = SiteRules.of(inst)
    exact = _exact(inst, params)
    assert exact.status.value == "optimal"
    reach = reach_of(inst, params, rules)
    target = exact.objective - reach.offset
    with_floors = lagrange.lagrange_bound(reach, params, rules.counts, target=target).bound
    monkeypatch.setattr(lagrange, "floors_of", lambda reach: [])
    without = lagrange.lagrange_bound(reach, params, rules.counts, target=target).bound
    assert exact.objective - 1e-9 <= with_floors < without - 0.1 * (without - exact.objective)


@pytest.mark.parametrize("seed", [0, 1])
def test_driver_bound_with_a_held_priority_level(monkeypatch, seed):
    """The warm start's level value is dualised; the bound still covers the driver's proven optimum."""
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    inst = _instance(seed, 24, 8)
    params = MultiserviceParams.from_kwargs({"catalog": catalog_of(**FLOORS), "carry_over": True,
                                             "phases": [{"year": 2026, "budget": 1.5e6},
                                                        {"year": 2027, "budget": 2e6}]})
    result = _exact(inst, params)
    if result.status.value == "infeasible":
        pytest.skip("floors out of reach on this draw")
    run = heuristic.last_run()
    assert result.status.value == "optimal"
    assert run["bound"] >= result.objective - 1e-9 * max(1.0, abs(result.objective))
    # the value the final program held the level at: dualised, the bound stays above and gets no looser
    rules = SiteRules.of(inst)
    reach = reach_of(inst, params, rules)
    level = result.stats["priority_levels"][0]
    held = (tuple(level["services"]), float(level["held_at"]))
    with_level = lagrange.lagrange_bound(reach, params, rules.counts, target=0.0, held=held).bound
    without = lagrange.lagrange_bound(reach, params, rules.counts, target=0.0).bound
    assert result.objective - 1e-9 * max(1.0, abs(result.objective)) <= with_level <= without + 1e-12


@pytest.mark.parametrize(("start", "better"), [(4_999_999.0, 5_000_001.0), (10.0, 11.0), (3e9, 3.2e9)])
def test_held_level_is_never_above_what_the_program_holds(start, better):
    # hold_level's slack jumps from half a unit to 1e-6 x value at 5e6: the bound's held value must stay below
    # what the program holds for any level value the solver may return at or above the start's
    from types import SimpleNamespace

    import scipy.sparse as sp

    from siting.models.base import Level
    from siting.models.levels import hold_level
    from siting.models.multiservice_heuristic import held_level
    from siting.program import LinearProgram, Sense

    obj = np.array([1.0, 1.0])
    level = Level(1, ("elderly_care",), obj, 0.0)
    _, held = held_level(SimpleNamespace(levels=(level,)), np.array([start, 0.0]), tolerance=0.0)
    program = LinearProgram(Sense.MAXIMIZE, obj, sp.csr_matrix(np.ones((1, 2))), np.array([-np.inf]),
                            np.array([1e10]), np.zeros(2), np.full(2, 1e10), np.zeros(2, bool))
    for value in (start, (start + better) / 2, better):
        _, _, info = hold_level(program, level, x=np.array([value, 0.0]), tolerance=0.0)
        assert held <= info["held_at"]


@pytest.mark.parametrize("seed", [0, 1])
def test_earlier_years_start_from_the_multipliers_given(seed):
    """Each earlier year's own search gives its multipliers back (``year_multipliers``) and starts from
    ``year_starts``: one step from random starts keeps them (clipped to each point's value), and any start is a
    bound."""
    inst = _instance(seed, 20, 7)
    params = MultiserviceParams.from_kwargs(CASES["floors_phased"]())
    rules = SiteRules.of(inst)
    exact = _exact(inst, params)
    if exact.status.value == "infeasible":
        pytest.skip("floors out of reach on this draw")
    reach = reach_of(inst, params, rules)
    first = lagrange.lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=40)
    assert len(first.year_multipliers) == len(params.phases) - 1
    rng = np.random.default_rng(seed)
    starts = tuple(tuple(rng.uniform(-0.5, 1.5, s.value.shape[0]) * s.value for s in reach.services)
                   for _ in first.year_multipliers)
    again = lagrange.lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=1, year_starts=starts)
    for got, given in zip(again.year_multipliers, starts, strict=True):
        for u, start, s in zip(got, given, reach.services, strict=True):
            assert np.allclose(u, np.clip(start, 0.0, s.value))
    tol = 1e-9 * max(1.0, abs(exact.objective))
    for found in (first, again, lagrange.lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=40,
                                                         start=list(first.multipliers),
                                                         year_starts=first.year_multipliers)):
        assert found.bound >= exact.objective - tol

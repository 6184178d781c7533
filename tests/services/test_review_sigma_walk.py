"""Review of the held-level sigma walk (commit 9026b31: ``held_level_bound``, ``lagrange_bound(start=...)``).

For a later priority level ``l`` with level 1 held at ``H``, every ``sigma >= 0`` gives
``level_l <= L_sigma - sigma H`` (``L_sigma`` the Lagrangian bound of ``level_l + sigma level_1``). Every sigma the
walk tries, and the least it keeps, must stay at or above the level's exact optimum with level 1 held at ``H``,
also with ``H`` at level 1's own optimum (where a wrong ``sigma H`` term shows at once), with phases and existing
facilities (offsets in every year), floors, two services in a level, a level 3 (level 2 dropped) and
``max_sites``; with starts outside the multipliers' caps or none; with the deadline already passed (one sigma
still runs). The walk itself must end on any dual function, never repeat a sigma, never leave ``SIGMA_RANGE`` and
return the least value it tried.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from siting.backends import get_backend
from siting.models import multiservice_lagrange as lagrange_module
from siting.models import multiservice_level_bound as level_bound_module
from siting.models.multiservice import MODEL
from siting.models.multiservice_params import MultiserviceParams
from siting.models.multiservice_reach import reach_of
from siting.options import SolveOptions
from siting.program import Sense
from siting.rules import SiteRules

sys.path.insert(0, str(Path(__file__).parent))
from _instances import catalog_of, multiservice_instance  # noqa: E402
from test_multiservice_level_bound import _fake_bounds, level_optimum  # noqa: E402

_N_DEMAND, _N_SITES = 40, 12
_YEARS = [{"year": 2026, "budget": 1e6}, {"year": 2027, "budget": 1.5e6}]


def _existing(seed: int, share: float) -> np.ndarray:
    return np.random.default_rng(seed).random(_N_SITES) < share


_CASES = {
    # phases, floors on both levels, existing elderly care (level 1's offset counted in both years)
    "phased_floors_existing_level_one": lambda seed: {
        "catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.2}, childcare={"priority": 2, "min_share": 0.1}),
        "phases": _YEARS, "carry_over": True, "existing_services": {"elderly_care": _existing(seed, 0.4)}},
    # level 2 with two services, existing facilities in both levels
    "two_services_in_level_two": lambda seed: {
        "budget": 3e6, "catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.2}, childcare={"priority": 2},
                                             health_station={"priority": 2}),
        "existing_services": {"childcare": _existing(seed + 5, 0.3), "elderly_care": _existing(seed + 9, 0.3)}},
    # level 1 with two services, per-community floor, phases without carry-over
    "two_services_in_level_one": lambda seed: {
        "phases": _YEARS, "carry_over": False,
        "catalog": catalog_of(elderly_care={"priority": 1},
                              health_station={"priority": 1, "min_share_per_community": 0.1},
                              childcare={"priority": 2}),
        "existing_services": {"health_station": _existing(seed + 2, 0.3)}},
    # levels 2 and 3 bounded (level 2 dropped from level 3's), max_sites; the relaxation is tight here, so a
    # bound off by sigma times a millionth of H shows
    "level_three_max_sites": lambda seed: {
        "budget": 4e6, "max_sites": 3,
        "catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.2}, childcare={"priority": 2},
                              health_station={"priority": 3})},
}


def _setup(case: str, seed: int):
    inst = multiservice_instance(seed, _N_DEMAND, _N_SITES)
    params = MultiserviceParams.from_kwargs(_CASES[case](seed))
    rules = SiteRules.of(inst)
    return params, rules, MODEL.build(inst, params, rules), reach_of(inst, params, rules)


def _first_level_plan(built) -> np.ndarray:
    """A plan at level 1's exact optimum (the highest level 1 any plan may be held at)."""
    first = built.levels[0]
    stage = replace(built.program, sense=Sense.MAXIMIZE, objective=first.objective, objective_offset=first.offset)
    sol = get_backend("highs").solve(stage, SolveOptions(mip_gap=0.0, secondary="none"))
    assert sol.termination.value == "optimal" and sol.x is not None
    return sol.x


def _final_year(built, params, objective: np.ndarray, x: np.ndarray) -> float:
    n_years = len(params.phases) if params.phases else 1
    start, stop = built.program.blocks["year"]
    last = start + (n_years - 1) * ((stop - start) // n_years)
    return float(objective[last:stop] @ x[last:stop])


def _level_two(params, built, reach):
    """(level 1's best plan, the value it holds level 1 at, level 2, its exact optimum so held, its masks)."""
    x = _first_level_plan(built)
    held = level_bound_module.held_level(built, x, params.priority_tolerance)
    assert held is not None
    level = built.levels[1]
    optimum = level_optimum(built, level, held[1])
    assert optimum is not None
    own, first = _masks(built, reach, level)
    return x, held, level, optimum, own, first


def _masks(built, reach, level):
    first = np.array([s.key in built.levels[0].services for s in reach.services])
    own = np.array([s.key in level.services for s in reach.services])
    return own, first


def _recording(monkeypatch: pytest.MonkeyPatch, reach0, first_key: str) -> list[tuple[float, float, int]]:
    """Wrap the Lagrangian the walk calls: (sigma read off level 1's scaled values, L_sigma, iterations)."""
    base = next(float(s.value.sum()) for s in reach0.services if s.key == first_key)
    calls: list[tuple[float, float, int]] = []
    real = level_bound_module.lagrange_bound

    def wrapped(reach, *args, **kwargs):
        found = real(reach, *args, **kwargs)
        sigma = next(float(s.value.sum()) for s in reach.services if s.key == first_key) / base
        calls.append((sigma, float(found.bound), found.iterations))
        return found

    monkeypatch.setattr(level_bound_module, "lagrange_bound", wrapped)
    return calls


def _ok(bound: float, optimum: float) -> bool:
    return bound >= optimum - 1e-9 * max(1.0, abs(optimum))


# --- 1. validity with level 1 held at its best -----------------------------------------------------------------------

@pytest.mark.parametrize(("case", "seed"), [("phased_floors_existing_level_one", 0), ("two_services_in_level_two", 0),
                                           ("two_services_in_level_one", 0), ("level_three_max_sites", 2)])
def test_every_sigma_tried_and_the_walk_bound_the_level_with_level_one_at_its_optimum(
        case: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    params, rules, built, reach = _setup(case, seed)
    x = _first_level_plan(built)
    first_level = built.levels[0]
    best_first = float(first_level.objective @ x + first_level.offset)
    held = best_first - 1e-6 * max(1.0, abs(best_first))       # a hair below level 1's optimum
    calls = _recording(monkeypatch, reach, first_level.services[0])
    for level in built.levels[1:]:
        optimum = level_optimum(built, level, held)
        assert optimum is not None
        own, first = _masks(built, reach, level)
        target = _final_year(built, params, level.objective, x)
        first_target = _final_year(built, params, first_level.objective, x)
        del calls[:]
        walked = level_bound_module.held_level_bound(reach, params, rules.counts, own & ~first, first, held, target,
                                                     first_target, (), (), deadline=None)
        assert walked is not None and _ok(walked, optimum), (level.number, walked, optimum)
        # every sigma tried is a bound on its own, and the walk keeps the least
        assert 1 <= len(calls) <= level_bound_module.SIGMA_TRIES
        values = [bound - sigma * held for sigma, bound, _ in calls]
        assert all(_ok(v, optimum) for v in values), (level.number, calls, optimum)
        assert walked == pytest.approx(min(values), rel=1e-12, abs=1e-12)
        # the ends of the range, where an error in sigma H or in level 1's scaled offset is largest
        walk = (level_bound_module.SIGMA_START, level_bound_module.SIGMA_TRIES)
        for sigma in (level_bound_module.SIGMA_RANGE[0], 64.0):
            monkeypatch.setattr(level_bound_module, "SIGMA_START", sigma)
            monkeypatch.setattr(level_bound_module, "SIGMA_TRIES", 1)
            alone = level_bound_module.held_level_bound(reach, params, rules.counts, own & ~first, first, held,
                                                        target, first_target, (), (), deadline=None)
            assert alone is not None and _ok(alone, optimum), (level.number, sigma, alone, optimum)
        monkeypatch.setattr(level_bound_module, "SIGMA_START", walk[0])
        monkeypatch.setattr(level_bound_module, "SIGMA_TRIES", walk[1])


@pytest.mark.parametrize(("case", "seed"), [("phased_floors_existing_level_one", 1), ("level_three_max_sites", 0)])
@pytest.mark.parametrize("program_multipliers", [True, False], ids=["program_start", "no_start"])
def test_level_bounds_cover_each_level_held_where_the_driver_holds_level_one(
        case: str, seed: int, program_multipliers: bool) -> None:
    """Through ``level_bounds`` (the driver's held value of level 1 from its best plan), with the program's own
    bound's multipliers as the start or none; also the ceiling."""
    params, rules, built, reach = _setup(case, seed)
    x = _first_level_plan(built)
    multipliers: tuple[np.ndarray, ...] = ()
    if program_multipliers:
        multipliers = lagrange_module.lagrange_bound(reach, params, rules.counts, target=0.0,
                                                     max_iterations=100).multipliers
        assert len(multipliers) == len(reach.services)
    found = level_bound_module.level_bounds(built, reach, params, rules.counts, x, deadline=None,
                                            multipliers=multipliers)
    assert sorted(found) == [level.number for level in built.levels]
    held = level_bound_module.held_level(built, x, params.priority_tolerance)
    assert held is not None
    n_years = len(params.phases) if params.phases else 1
    for i, level in enumerate(built.levels):
        optimum = level_optimum(built, level, None if i == 0 else held[1])
        assert optimum is not None and _ok(found[level.number], optimum), (level.number, found, optimum)
        ceiling = n_years * sum(float(s.value.sum()) + s.offset for s in reach.services if s.key in level.services)
        assert found[level.number] <= ceiling + 1e-9


# --- 2. starts outside the caps, deadlines ---------------------------------------------------------------------------

def test_starts_outside_the_caps_still_give_bounds() -> None:
    params, rules, built, reach = _setup("level_three_max_sites", 2)
    x, held, level, optimum, own, first = _level_two(params, built, reach)
    target = _final_year(built, params, level.objective, x)
    first_target = _final_year(built, params, built.levels[0].objective, x)
    for scale in (-3.0, 0.0, 50.0):
        garbage = tuple(scale * s.value + 1.0 for s in reach.services)
        bound = level_bound_module.held_level_bound(reach, params, rules.counts, own, first, held[1], target,
                                                    first_target, garbage, garbage, deadline=None)
        assert bound is not None and _ok(bound, optimum), (scale, bound, optimum)
        # the Lagrangian itself from such a start (negative and far above each point's value) on level 2 alone
        alone = lagrange_module.lagrange_bound(level_bound_module.scaled(reach, own.astype(float)), params,
                                               rules.counts, target=target, max_iterations=3, start=list(garbage))
        assert _ok(alone.bound, level_optimum(built, level)), (scale, alone.bound)
        assert len(alone.multipliers) == len(reach.services)
        assert all((u >= 0).all() for u in alone.multipliers)


def test_a_passed_deadline_still_runs_one_sigma_and_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    params, rules, built, reach = _setup("phased_floors_existing_level_one", 0)
    x, held, level, optimum, own, first = _level_two(params, built, reach)
    calls = _recording(monkeypatch, reach, built.levels[0].services[0])
    bound = level_bound_module.held_level_bound(reach, params, rules.counts, own, first, held[1], 0.0, 0.0, (), (),
                                                deadline=time.perf_counter() - 1.0)
    assert bound is not None and math.isfinite(bound) and _ok(bound, optimum)
    assert [c[0] for c in calls] == [level_bound_module.SIGMA_START] and calls[0][2] >= 1
    # through level_bounds: a passed deadline gives no level at all; a short one only bounds
    assert level_bound_module.level_bounds(built, reach, params, rules.counts, x,
                                           deadline=time.perf_counter() - 1.0) == {}
    found = level_bound_module.level_bounds(built, reach, params, rules.counts, x,
                                            deadline=time.perf_counter() + 0.05)
    for i, lev in enumerate(built.levels):
        if lev.number in found:
            opt = level_optimum(built, lev, None if i == 0 else held[1])
            assert opt is not None and _ok(found[lev.number], opt), (lev.number, found, opt)


# --- 3. the walk on any dual -----------------------------------------------------------------------------------------

_DUALS = {
    "falling": lambda s: -math.log2(s),
    "rising": lambda s: math.log2(s),
    "flat": lambda s: 1.0,
    "zigzag": lambda s: float(int(round(4 * math.log2(s))) % 3),
    "convex_far_right": lambda s: (math.log2(s) - 12.0) ** 2,
}


@pytest.mark.parametrize("tries", [4, 1000])
@pytest.mark.parametrize("dual", sorted(_DUALS))
def test_the_walk_ends_never_repeats_and_stays_in_range(dual: str, tries: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    params, rules, built, reach = _setup("level_three_max_sites", 2)
    own, first = _masks(built, reach, built.levels[1])
    monkeypatch.setattr(level_bound_module, "SIGMA_TRIES", tries)
    held = 0.3
    tried = _fake_bounds(reach, "elderly_care", held, _DUALS[dual], monkeypatch)
    value = level_bound_module.held_level_bound(reach, params, rules.counts, own, first, held, 0.0, 0.0, (), (),
                                                deadline=None)
    low, high = level_bound_module.SIGMA_RANGE
    assert tried and tried[0] == pytest.approx(level_bound_module.SIGMA_START)
    assert len(tried) <= min(tries, 40)
    rounded = [round(math.log2(s), 6) for s in tried]
    assert len(set(rounded)) == len(rounded), tried
    assert all(low * (1 - 1e-12) <= s <= high * (1 + 1e-12) for s in tried), tried
    assert value is not None and value == pytest.approx(min(_DUALS[dual](s) for s in tried), abs=1e-9)

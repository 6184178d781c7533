"""The first priority level's own Lagrangian bound (``level_bounds``, the model's ``level_bound`` hook).

At city size a level's stage gets seconds and no root LP, so its gap read "no bound"; the level's own relaxation
(only its services counted) must bound whatever any plan reaches for it, the exact level optimum included, stay
within what the level's services could cover at all (the other services are not counted), reach the level's row
and the unproven-level warning (later levels keep their stage's bound), and a bound below a reached value must
stop the solve.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from siting.backends import get_backend
from siting.errors import VerificationError
from siting.models import levels as levels_module
from siting.models import multiservice_heuristic as heuristic
from siting.models.driver import solve_model
from siting.models.multiservice import MODEL
from siting.models.multiservice_params import MultiserviceParams
from siting.models.multiservice_reach import reach_of
from siting.options import SolveOptions
from siting.program import Sense
from siting.rules import SiteRules

sys.path.insert(0, str(Path(__file__).parent))
from _instances import catalog_of, multiservice_instance  # noqa: E402
from test_review_levels_first import _Stopped  # noqa: E402

_CASES = {
    "one_level": lambda: {"budget": 2.5e6, "catalog": catalog_of(elderly_care={"priority": 1})},
    "floors": lambda: {"budget": 4e6, "catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.3},
                                                            childcare={"priority": 2, "min_share": 0.2})},
    "phased": lambda: {"catalog": catalog_of(elderly_care={"priority": 1, "min_share": 0.2},
                                             childcare={"priority": 2, "min_share": 0.1}),
                       "phases": [{"year": 2026, "budget": 1e6}, {"year": 2027, "budget": 1.5e6}],
                       "carry_over": True},
}


def _level_optimum(built, level) -> float:
    """The level's own optimum over the program (no earlier level held), proven by HiGHS."""
    stage = replace(built.program, sense=Sense.MAXIMIZE, objective=level.objective, objective_offset=level.offset)
    sol = get_backend("highs").solve(stage, SolveOptions(mip_gap=0.0, secondary="none"))
    assert sol.termination.value == "optimal" and sol.objective is not None
    return float(sol.objective)


@pytest.mark.parametrize(("case", "seed"), [("one_level", 0), ("one_level", 1), ("one_level", 2), ("floors", 0),
                                           ("floors", 1), ("phased", 0), ("phased", 2)])
def test_the_first_level_bound_covers_its_optimum_and_counts_only_its_services(
        case: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    inst = multiservice_instance(seed, 40, 12)
    params = MultiserviceParams.from_kwargs(_CASES[case]())
    rules = SiteRules.of(inst)
    built = MODEL.build(inst, params, rules)
    monkeypatch.setattr(heuristic, "MIN_COLUMNS", 0)
    x = heuristic.warm_start(inst, params, rules, built, None)
    if x is None:
        pytest.skip("no feasible start on this instance")
    found = heuristic.last_run()["level_bounds"]
    assert sorted(found) == [built.levels[0].number]
    reach = reach_of(inst, params, rules)
    n_years = len(params.phases) if params.phases else 1
    for level in built.levels[:1]:
        bound = found[level.number]
        optimum = _level_optimum(built, level)
        assert bound >= optimum - 1e-9 * max(1.0, abs(optimum)), (level.number, bound, optimum)
        # every point of the level's services covered in every year: the other services are not in it
        ceiling = n_years * sum(float(s.value.sum()) + s.offset for s in reach.services if s.key in level.services)
        assert bound <= ceiling + 1e-9, (level.number, bound, ceiling)
        # the hook answers for this solve only
        assert heuristic.level_bound(inst, params, rules, level.number) == bound
        assert heuristic.level_bound(inst, replace(params), rules, level.number) is None


def test_the_level_bound_reaches_the_rows_and_the_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    inst = multiservice_instance(0, 40, 12)
    params = MultiserviceParams.from_kwargs(_CASES["floors"]())
    monkeypatch.setattr(heuristic, "MIN_COLUMNS", 0)
    # each stage stopped by its limit with no bound of its own (as at city size)
    monkeypatch.setattr(levels_module, "get_backend", lambda name: _Stopped(None))
    result = solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(time_limit_s=20, secondary="none"))
    found = heuristic.last_run()["level_bounds"]
    first, second = result.stats["priority_levels"]
    assert first["model_bound"] == found[1] and "model_bound" not in second
    assert first["bound"] == max(found[1], first["value"]) and first["gap"] is not None
    assert f"priority level 1 (elderly_care) not proven (time_limit): held at {first['value']:.6g}, its bound is " \
           f"{first['bound']:.6g}" in result.message
    assert "priority level 2 (childcare) not proven (time_limit)" in result.message and second["bound"] is None


def test_a_level_bound_below_the_reached_value_stops_the_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    inst = multiservice_instance(0, 40, 12)
    params = MultiserviceParams.from_kwargs(_CASES["one_level"]())
    monkeypatch.setattr(heuristic, "MIN_COLUMNS", 0)
    monkeypatch.setattr(heuristic, "level_bounds", lambda *args, **kwargs: {1: 1e-6})
    with pytest.raises(VerificationError, match="bound .* of priority level 1 is below"):
        solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(time_limit_s=20, secondary="none"))


def test_a_tighter_stage_bound_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    inst = multiservice_instance(1, 40, 12)
    params = MultiserviceParams.from_kwargs(_CASES["one_level"]())
    monkeypatch.setattr(heuristic, "MIN_COLUMNS", 0)
    monkeypatch.setattr(levels_module, "get_backend", lambda name: _Stopped(0.0))   # stage bound = its value
    result = solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(time_limit_s=20, secondary="none"))
    row = result.stats["priority_levels"][0]
    assert row["model_bound"] >= row["value"] and row["bound"] == pytest.approx(row["value"], abs=1e-12)
    assert np.isfinite(row["gap"]) and row["gap"] <= 1e-9

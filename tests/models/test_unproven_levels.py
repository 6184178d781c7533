"""A priority level its stage did not prove is said in the result, with its own bound and gap.

At city size the warm start takes most of the time and each level's stage gets seconds: the level keeps the warm
start's value (8,000 x 800 generated city, elderly care first: 0.172 where the level alone reaches 0.397), while the
result's gap is that of the later levels. The planner who said "elderly first" must see it.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from siting.backends import get_backend
from siting.backends.base import BackendSolution
from siting.models import levels as levels_module
from siting.models.base import Built, SolveContext
from siting.models.driver import solve_model
from siting.models.levels import unproven_levels
from siting.models.multiservice import MODEL
from siting.models.multiservice_params import MultiserviceParams
from siting.options import SolveOptions
from siting.program import LinearProgram
from siting.rules import SiteRules
from siting.services.catalog import Catalog, Service
from siting.status import Termination
from siting.testing import random_instance


def _case(seed: int = 4):
    inst = random_instance(15, 6, seed=seed, groups=True)
    cat = Catalog((Service("elderly_care", 10.0, "elderly", fitout_cost=1.0, priority=1),
                   Service("health_station", 8.0, "population", fitout_cost=1.0)))
    params = MultiserviceParams(budget=12.0, catalog=cat)
    rules = SiteRules.of(inst)
    return inst, params, rules, MODEL.build(inst, params, rules)


class _StoppedBackend:
    """HiGHS, but each solve reported as stopped by its limit with the start (or nothing) and a loose bound."""

    name = "highs"

    def __init__(self, slack: float | None) -> None:
        self.slack = slack

    def solve(self, program: LinearProgram, options: SolveOptions,
              warm_start: np.ndarray | None = None) -> BackendSolution:
        real = get_backend("highs").solve(program, options, warm_start=warm_start)
        assert real.objective is not None
        bound = None if self.slack is None else real.objective + self.slack
        return BackendSolution(Termination.TIME_LIMIT, real.x, real.objective, bound, real.seconds, "highs", "stopped")


def _zero_start(built: Built) -> np.ndarray:
    program = built.program
    return np.clip(np.zeros(program.n_cols), program.col_lower, program.col_upper)


@pytest.mark.parametrize("slack", [None, 0.0, 3.0])
def test_a_stopped_stage_records_its_bound_and_gap(monkeypatch: pytest.MonkeyPatch, slack: float | None) -> None:
    _, _, _, built = _case()
    monkeypatch.setattr(levels_module, "get_backend", lambda name: _StoppedBackend(slack))
    ctx = SolveContext("highs", "auto", SolveOptions(time_limit_s=10.0), time.perf_counter() + 10.0)
    _, _, termination, info, _ = levels_module.solve_levels(built.program, built.levels, ctx, tolerance=0.0,
                                                            start=_zero_start(built))
    assert termination is Termination.TIME_LIMIT and len(info) == len(built.levels) >= 1
    row = info[0]
    if slack is None:
        assert row["bound"] is None and row["gap"] is None
    else:
        assert row["bound"] >= row["value"]
        assert row["bound"] == pytest.approx(row["value"] + slack)
        assert row["gap"] == pytest.approx(slack / max(abs(row["value"]), 1e-9))
    lines = unproven_levels(info)
    assert len(lines) == len(info)
    assert lines[0].startswith("priority level 1 (elderly_care) not proven (time_limit): held at ")
    assert ("no bound" in lines[0]) == (slack is None)


def test_proven_levels_say_nothing_and_carry_their_bound() -> None:
    inst, params, _, _ = _case()
    result = solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(time_limit_s=30))
    rows = result.stats["priority_levels"]
    assert rows and all(r["termination"] == "optimal" for r in rows)
    assert all(r["bound"] is not None and r["bound"] >= r["value"] for r in rows)
    assert unproven_levels(rows) == []
    assert "not proven" not in result.message


def test_the_result_says_which_level_was_not_proven(monkeypatch: pytest.MonkeyPatch) -> None:
    inst, params, _, _ = _case()
    monkeypatch.setattr(levels_module, "get_backend", lambda name: _StoppedBackend(2.0))
    result = solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(time_limit_s=30))
    assert result.termination is not Termination.OPTIMAL
    assert "warning: priority level 1 (elderly_care) not proven (time_limit)" in result.message
    assert "the result's gap is that of the levels after it" in result.message


def test_unproven_levels_text() -> None:
    rows = [{"level": 1, "services": ["elderly_care", "canteen"], "value": 0.5, "termination": "time_limit",
             "bound": 0.75, "gap": 0.5},
            {"level": 2, "services": ["childcare"], "value": 0.2, "termination": "optimal", "bound": 0.2, "gap": 0.0},
            {"level": 3, "services": ["health_station"], "value": 0.1, "termination": "error", "bound": None,
             "gap": None}]
    lines = unproven_levels(rows)
    assert lines == [
        "priority level 1 (elderly_care, canteen) not proven (time_limit): held at 0.5, its bound is 0.75 "
        "(gap 50.0 %); the result's gap is that of the levels after it",
        "priority level 3 (health_station) not proven (error): held at 0.1, no bound; the result's gap is that of "
        "the levels after it"]

"""Re-plans in seconds: the redundancy check keeps the deadline, multi-service's ``marginal_floor`` pre-filter is
exact, and priority levels start from the model's warm start."""
from __future__ import annotations

import dataclasses
import re
import time
from typing import Any

import numpy as np
import pytest

from siting.backends.base import BackendSolution
from siting.data.instance import Instance
from siting.errors import VerificationError
from siting.models import levels as levels_module
from siting.models import secondary
from siting.models.base import Built, Evaluation, Model, Plan, SolveContext
from siting.models.driver import solve_model
from siting.models.multiservice import MODEL
from siting.models.multiservice_floor import marginal_floor
from siting.models.multiservice_inputs import inputs_of
from siting.models.multiservice_params import MultiserviceParams
from siting.options import SolveOptions
from siting.program import LinearProgram
from siting.rules import SiteRules
from siting.services.catalog import Catalog, Service
from siting.status import Termination
from siting.testing import random_instance

NO_FLOOR = dataclasses.replace(MODEL, marginal_floor=None)


def _catalog(rng: np.random.Generator) -> Catalog:
    """Two uncapacitated services (one possibly weightless) and one capacitated."""
    return Catalog((Service("health_station", float(rng.integers(5, 12)), "population", fitout_cost=1.0),
                    Service("elderly_care", float(rng.integers(5, 12)), "elderly",
                            weight=float(rng.choice([0.0, 1.0, 2.5])), fitout_cost=1.0),
                    Service("childcare", 10.0, "population", fitout_cost=1.0, capacity=60.0)))


def _case(seed: int, *, phased: bool) -> tuple[Instance, MultiserviceParams, SiteRules, Plan]:
    """A random instance and a random plan that places random allowed services in random buildings."""
    rng = np.random.default_rng(seed)
    inst = random_instance(int(rng.integers(8, 25)), int(rng.integers(5, 10)), seed=seed, density=0.5,
                           statuses=True, groups=True)
    rules = SiteRules.of(inst)
    cat = _catalog(rng)
    kwargs: dict = {"catalog": cat, "objective": str(rng.choice(["share", "weighted"])),
                    "existing_services": {"health_station": rules.existing.copy()}}
    if phased:
        kwargs["phases"] = [{"year": 2025, "budget": 1e9}, {"year": 2026, "budget": 1e9}]
    else:
        kwargs["budget"] = 1e9
    params = MultiserviceParams.from_kwargs(kwargs)
    data = inputs_of(inst, params, rules).services
    convert = rng.random(inst.n_sites) < 0.6
    placements = {d.service.key: convert & d.allowed & (rng.random(inst.n_sites) < 0.6) for d in data}
    hosting = np.logical_or.reduce(list(placements.values()))
    open_sites = (hosting & ~rules.existing) | (rules.lower > 0)
    phase = {k: np.where(v, rng.integers(0, 2, inst.n_sites), -1) for k, v in placements.items()} if phased else None
    return inst, params, rules, Plan(open_sites, placements, None, phase)


@pytest.mark.parametrize("phased", [False, True])
def test_floor_never_calls_a_redundant_site_essential(phased: bool) -> None:
    """The pre-filter's losses are lower bounds of the re-evaluated ones and its weights are exact."""
    essential_seen = other_seen = 0
    for seed in range(16):
        inst, params, rules, plan = _case(seed, phased=phased)
        try:
            figures = MODEL.evaluate(inst, params, rules, plan)
        except VerificationError:      # a random plan may break a rule (e.g. a required site hosting nothing)
            continue
        removable = plan.open_sites & (rules.lower == 0)
        floor = marginal_floor(inst, params, rules, plan)
        generic = secondary._generic_marginal(NO_FLOOR, inst, params, rules, plan, figures, np.flatnonzero(removable))
        essential = secondary._essential(floor, plan, rules, figures)
        redundant = secondary._redundant(generic, plan, rules, figures)
        assert not (essential & redundant).any(), f"seed {seed}: a redundant site called essential"
        kept = removable & ~generic.breaks
        assert np.all(floor.loss[kept] <= generic.loss[kept] + 1e-9), f"seed {seed}: the floor is not a lower bound"
        known = kept & ~np.isnan(floor.weight)
        np.testing.assert_allclose(floor.weight[known], generic.weight[known], atol=1e-9, err_msg=f"seed {seed}")
        essential_seen += int(essential.sum())
        other_seen += int((removable & ~essential).sum())
    assert essential_seen >= 10 and other_seen >= 10, (essential_seen, other_seen)


def _evaluable_case() -> tuple[Instance, MultiserviceParams, SiteRules, Plan]:
    for seed in range(100):
        inst, params, rules, plan = _case(seed, phased=False)
        try:
            MODEL.evaluate(inst, params, rules, plan)
        except VerificationError:
            continue
        floor = marginal_floor(inst, params, rules, plan)
        figures = MODEL.evaluate(inst, params, rules, plan)
        essential = secondary._essential(floor, plan, rules, figures)
        removable = plan.open_sites & (rules.lower == 0)
        if removable.sum() >= 4 and 0 < essential.sum() < removable.sum():
            return inst, params, rules, plan
    raise AssertionError("no random plan with both essential and other removable sites")


def _past_deadline() -> SolveContext:
    return SolveContext("highs", "auto", SolveOptions(), deadline=time.perf_counter() - 1.0)


@pytest.mark.parametrize("model", [MODEL, NO_FLOOR], ids=["floor", "no floor"])
def test_no_time_left_skips_the_check_and_says_so(model: Model) -> None:
    inst, params, rules, plan = _evaluable_case()
    figures = model.evaluate(inst, params, rules, plan)
    removable = int((plan.open_sites & (rules.lower == 0)).sum())
    essential = int(secondary._essential(marginal_floor(inst, params, rules, plan), plan, rules, figures).sum())
    got_plan, got_figures, marg, info = secondary.prune_and_check(model, inst, params, rules, plan, figures,
                                                                  _past_deadline(), 0.01)
    checked = essential if model.marginal_floor is not None else 0
    assert info["checked"] is False and info["re_evaluations"] == 0
    assert info["reason"] == f"time limit: {checked} of {removable} removable sites checked"
    assert np.array_equal(got_plan.open_sites, plan.open_sites) and got_figures.objective == figures.objective
    assert marg is not None and np.isnan(marg.weight[plan.open_sites & (rules.lower == 0)]).sum() >= removable - checked


def test_re_evaluation_stops_at_the_deadline() -> None:
    """A slow evaluation: the check evaluates while one more fits, then stops (at most one evaluation late,
    should one take longer than every one before it)."""
    inst, params, rules, plan = _evaluable_case()
    slow_s = 0.1

    def slow(*args: Any) -> Evaluation:
        time.sleep(slow_s)
        return MODEL.evaluate(*args)

    model = dataclasses.replace(NO_FLOOR, evaluate=slow)
    figures = MODEL.evaluate(inst, params, rules, plan)
    removable = int((plan.open_sites & (rules.lower == 0)).sum())
    limit_s = 2.5 * slow_s
    ctx = SolveContext("highs", "auto", SolveOptions(), deadline=time.perf_counter() + limit_s)
    began = time.perf_counter()
    _, _, _, info = secondary.prune_and_check(model, inst, params, rules, plan, figures, ctx, slow_s)
    assert 1 <= info["re_evaluations"] <= 2 < removable and info["checked"] is False
    assert re.fullmatch(rf"time limit: \d of {removable} removable sites checked", info["reason"])
    assert time.perf_counter() - began <= limit_s + slow_s


def test_floor_spares_re_evaluations_and_the_check_still_closes_what_adds_nothing() -> None:
    inst, params, rules, plan = _evaluable_case()
    # one more building hosting a service nobody needs within its threshold: redundant
    extra = np.flatnonzero(~plan.open_sites & rules.usable & ~rules.existing)
    data = {d.service.key: d for d in inputs_of(inst, params, rules).services}
    useless = [j for j in extra if data["health_station"].allowed[j]]
    if useless:
        j = int(useless[0])
        far = dataclasses.replace(params.catalog, services=tuple(
            dataclasses.replace(s, threshold_minutes=0.0) if s.key == "elderly_care" else s
            for s in params.catalog.services))
        params = dataclasses.replace(params, catalog=far)
        plan = Plan(plan.open_sites | (np.arange(inst.n_sites) == j),
                    {k: v.copy() for k, v in plan.placements.items()}, None, None)
        plan.placements["health_station"][j] = True
    figures = MODEL.evaluate(inst, params, rules, plan)
    full = secondary.prune_and_check(NO_FLOOR, inst, params, rules, plan, figures)
    fast = secondary.prune_and_check(MODEL, inst, params, rules, plan, figures)
    assert fast[3]["checked"] and full[3]["checked"]
    assert fast[3]["closed"] == full[3]["closed"] and fast[1].objective == pytest.approx(full[1].objective)
    assert fast[3]["re_evaluations"] < full[3]["re_evaluations"]
    assert fast[3]["essential"] > 0 and full[3]["essential"] == 0
    known = ~np.isnan(fast[2].weight) & fast[0].open_sites & (rules.lower == 0)
    np.testing.assert_allclose(fast[2].weight[known], full[2].weight[known], atol=1e-9)


class _NoPointBackend:
    """A backend stopped by its limit before it found a point of its own."""

    name = "none"

    def solve(self, program: LinearProgram, options: SolveOptions,
              warm_start: np.ndarray | None = None) -> BackendSolution:
        return BackendSolution(Termination.TIME_LIMIT, None, None, None, 0.0, "none", "stopped")


def _levels_case() -> tuple[Instance, MultiserviceParams, SiteRules, Built]:
    inst = random_instance(15, 6, seed=4, groups=True)
    cat = Catalog((Service("elderly_care", 10.0, "elderly", fitout_cost=1.0, priority=1),
                   Service("health_station", 8.0, "population", fitout_cost=1.0)))
    params = MultiserviceParams(budget=12.0, catalog=cat)
    rules = SiteRules.of(inst)
    return inst, params, rules, MODEL.build(inst, params, rules)


def _zero_start(program: LinearProgram) -> np.ndarray:
    start = np.clip(np.zeros(program.n_cols), program.col_lower, program.col_upper)
    assert program.max_violation(start, relative=True) <= 1e-7
    return start


def test_levels_keep_the_start_when_a_stage_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, _, built = _levels_case()
    assert built.levels
    monkeypatch.setattr(levels_module, "get_backend", lambda name: _NoPointBackend())
    ctx = SolveContext("highs", "auto", SolveOptions(time_limit_s=1.0), time.perf_counter() + 1.0)
    cold = levels_module.solve_levels(built.program, built.levels, ctx, tolerance=0.0)
    assert cold[1] is None and cold[4].startswith("priority level 1")
    start = _zero_start(built.program)
    held, x, termination, info, message = levels_module.solve_levels(built.program, built.levels, ctx,
                                                                      tolerance=0.0, start=start)
    assert message == "" and termination is Termination.TIME_LIMIT and np.array_equal(x, start)
    assert held.max_violation(x, relative=True) <= 1e-7 and len(info) == len(built.levels)


def test_driver_warm_starts_priority_levels() -> None:
    inst, params, rules, built = _levels_case()
    calls: list[float | None] = []

    def warm(instance: Instance, p: MultiserviceParams, r: SiteRules, b: Built,
             deadline: float | None) -> np.ndarray:
        calls.append(deadline)
        return _zero_start(b.program)

    model = dataclasses.replace(MODEL, warm_start=warm)
    result = solve_model(model, inst, params, backend="highs", options=SolveOptions(time_limit_s=30))
    assert calls and calls[0] is not None
    assert result.stats["levels_warm_started"] is True and result.stats["priority_levels"]
    cold = solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(time_limit_s=30))
    assert cold.stats["levels_warm_started"] is False
    assert result.objective == pytest.approx(cold.objective, rel=1e-6)

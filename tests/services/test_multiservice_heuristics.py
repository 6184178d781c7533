"""Greedy plan and Lagrangian bound of the multi-service model, against the exact MIP on small random instances.

The bound must never be below the proven optimum; the greedy plan must satisfy the program itself, pass the
independent evaluation, meet every floor it claims, and never beat the optimum; through the driver (the
size threshold lowered) the warm start and the bound reach the result.
"""
from __future__ import annotations

import time
from dataclasses import replace

import pytest

from siting.models import multiservice_heuristic as heuristic
from siting.models.driver import solve_model
from siting.models.multiservice import MODEL, MultiserviceParams
from siting.models.multiservice_evaluate import evaluate_multiservice
from siting.models.multiservice_lagrange import lagrange_bound
from siting.models.multiservice_local import improved_plan
from siting.models.multiservice_program import build_multiservice
from siting.models.multiservice_reach import reach_of
from siting.options import SolveOptions
from siting.rules import SiteRules
from siting.services import load_catalog

from ._instances import KEYS, multiservice_instance, towns

_instance = multiservice_instance


def _catalog(**policy):
    cat = load_catalog().select(KEYS)
    services = tuple(replace(s, threshold_minutes=t, **policy.get(s.key, {}))
                     for s, t in zip(cat.services, [8.0] * len(cat.services), strict=True))
    return replace(cat, services=services)


CASES = {
    "budget": lambda: {"budget": 4e6},
    "max_sites": lambda: {"budget": 9e6, "max_sites": 2},
    "phases": lambda: {"phases": [{"year": 2026, "budget": 2e6}, {"year": 2027, "budget": 2.5e6}]},
    "carry_over": lambda: {"phases": [{"year": 2026, "budget": 1.5e6}, {"year": 2027, "budget": 2e6}],
                           "carry_over": True},
    "floors": lambda: {"budget": 5e6, "catalog": _catalog(elderly_care={"min_share": 0.3},
                                                          childcare={"min_share_per_community": 0.2})},
    "providers": lambda: {"budget": 8e6, "catalog": _catalog(health_station={"min_providers_per_community": 1})},
}


def _exact(inst, params):
    return solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(mip_gap=0.0, secondary="none"))


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1])
def test_bound_above_optimum_and_greedy_feasible(case, seed):
    # phased programs are slow to prove optimal even when tiny: a smaller instance for them
    inst = _instance(seed, *((24, 8) if case in ("phases", "carry_over") else (40, 12)))
    kwargs = {"catalog": _catalog(), **CASES[case]()}
    params = MultiserviceParams.from_kwargs(kwargs)
    rules = SiteRules.of(inst)
    exact = _exact(inst, params)
    reach = reach_of(inst, params, rules)
    plan = improved_plan(reach, params, rules)
    bound = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=30)
    if exact.status.value == "infeasible":
        assert not plan.floors_met
        return
    assert exact.status.value == "optimal"
    assert bound.bound >= exact.objective - 1e-9 * max(1.0, abs(exact.objective))
    if not plan.floors_met:          # the greedy may miss a floor the MIP meets: then no start, never a wrong one
        return
    built = build_multiservice(inst, params, rules)
    n_phases = len(params.phases) if params.phases else 1
    x = heuristic.encode(plan, reach, rules, built, n_phases)
    assert built.program.max_violation(x, relative=True) <= 1e-7
    figures = evaluate_multiservice(inst, params, rules, built.plan_of(x))     # raises on a broken plan
    assert figures.objective == pytest.approx(built.program.objective_value(x), rel=1e-9, abs=1e-12)
    assert figures.objective <= exact.objective + 1e-9 * max(1.0, abs(exact.objective))
    services = figures.stats["services"]
    for s in params.catalog:
        if s.min_share is not None:
            assert services[s.key]["share"] >= s.min_share - 1e-9


def test_bound_is_tight_enough_to_mean_something():
    """On a mid-size instance the bound sits within a few per cent of the optimum (a loose bound is no use)."""
    inst = _instance(5, n_demand=60, n_sites=12)
    params = MultiserviceParams.from_kwargs({"catalog": _catalog(), "budget": 5e6})
    rules = SiteRules.of(inst)
    exact = _exact(inst, params)
    reach = reach_of(inst, params, rules)
    plan = improved_plan(reach, params, rules)
    built = build_multiservice(inst, params, rules)
    greedy_value = built.program.objective_value(heuristic.encode(plan, reach, rules, built, 1))
    bound = lagrange_bound(reach, params, rules.counts, target=greedy_value - reach.offset).bound
    assert exact.objective <= bound <= 1.1 * exact.objective
    assert greedy_value >= 0.9 * exact.objective


def test_driver_uses_the_warm_start_and_the_bound(monkeypatch):
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    inst = _instance(3, n_demand=30, n_sites=8)
    params = MultiserviceParams.from_kwargs({"catalog": _catalog(elderly_care={"min_share": 0.2}),
                                             "phases": [{"year": 2026, "budget": 2e6},
                                                        {"year": 2027, "budget": 2e6}]})
    result = solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(mip_gap=0.0, secondary="none"))
    run = heuristic.last_run()
    assert run["no_start"] is None
    assert result.stats["warm_start_objective"] == pytest.approx(run["greedy_objective"])
    assert result.status.value == "optimal"
    assert run["bound"] >= result.objective - 1e-9
    assert result.objective >= run["greedy_objective"] - 1e-9


def test_small_programs_skip_the_heuristics():
    inst = _instance(0)
    params = MultiserviceParams.from_kwargs({"catalog": _catalog(), "budget": 4e6})
    rules = SiteRules.of(inst)
    built = build_multiservice(inst, params, rules)
    assert heuristic.warm_start(inst, params, rules, built, None) is None
    assert heuristic.bound(inst, params, rules) is None


def test_greedy_adds_nothing_past_its_deadline():
    # a passed deadline stops the greedy at once: the plan is partial (or empty), never over the money
    inst = _instance(5, n_demand=60, n_sites=12)
    params = MultiserviceParams.from_kwargs({"catalog": _catalog(), "budget": 5e6})
    rules = SiteRules.of(inst)
    reach = reach_of(inst, params, rules)
    full = improved_plan(reach, params, rules)
    cut = improved_plan(reach, params, rules, deadline=time.perf_counter() - 1.0)
    placed = lambda plan: int((plan.year >= 0).sum())   # noqa: E731
    assert placed(full) > 0
    assert placed(cut) <= int((rules.required & reach.buildable).sum())   # only the required buildings' service


@pytest.mark.parametrize("case", ["budget", "floors", "carry_over"])
def test_with_a_time_limit_the_bound_runs_beside_the_search(monkeypatch, case):
    # without priority levels the bound starts from the first greedy start's value in a thread of its own; with a
    # time limit through the driver it still lies above the optimum the whole program proves
    import threading

    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    seen = []
    real = heuristic.lagrange_bound

    def watched(*args, **kwargs):
        seen.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(heuristic, "lagrange_bound", watched)
    inst = _instance(2, *((24, 8) if case == "carry_over" else (40, 12)))
    params = MultiserviceParams.from_kwargs({"catalog": _catalog(), **CASES[case]()})
    options = SolveOptions(mip_gap=0.0, secondary="none", time_limit_s=60.0)
    # below the size where it pays (small arrays share the GIL), the caller's thread
    solve_model(MODEL, inst, params, backend="highs", options=options)
    assert seen == [threading.main_thread().name] and not heuristic.last_run()["bound_beside"]
    seen.clear()
    monkeypatch.setattr(heuristic, "BOUND_BESIDE_MIN_ENTRIES", 0)
    result = solve_model(MODEL, inst, params, backend="highs", options=options)
    run = heuristic.last_run()
    assert seen == ["siting-bound"] and run["bound_beside"] and run["bound_s"] > 0
    assert result.status.value == "optimal"
    assert run["bound"] >= result.objective - 1e-9 * max(1.0, abs(result.objective))


def test_with_priority_levels_the_bound_waits_for_the_plan(monkeypatch):
    # a held level needs the plan's value: the bound runs after the search, in the caller's thread
    import threading

    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    monkeypatch.setattr(heuristic, "BOUND_BESIDE_MIN_ENTRIES", 0)
    seen = []
    real = heuristic.lagrange_bound
    monkeypatch.setattr(heuristic, "lagrange_bound",
                        lambda *a, **k: seen.append(threading.current_thread().name) or real(*a, **k))
    inst = _instance(2)
    params = MultiserviceParams.from_kwargs({"catalog": _catalog(elderly_care={"priority": 1}), "budget": 4e6})
    solve_model(MODEL, inst, params, backend="highs",
                options=SolveOptions(mip_gap=0.0, secondary="none", time_limit_s=60.0))
    assert seen and set(seen) == {threading.main_thread().name}


def test_a_stop_event_ends_the_warm_starts_searches_at_once(monkeypatch):
    # a serve job's cancel sets its stop event: the greedy, the local search, the bound and the core MIPs end as
    # at their deadline, and what comes back is still a plan of the program (or none)
    import threading

    from siting.backends import stopping

    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    inst, params, rules = towns(0)
    built = build_multiservice(inst, params, rules)
    # unset, the searches run: greedy starts, their local search, the bound, core MIPs
    t0 = time.perf_counter()
    with stopping(threading.Event()):
        heuristic.warm_start(inst, params, rules, built, time.perf_counter() + 60.0)
    searched_s = time.perf_counter() - t0
    assert heuristic.last_run()["core_solves"] >= 1
    stop = threading.Event()
    stop.set()
    t0 = time.perf_counter()
    with stopping(stop):
        x = heuristic.warm_start(inst, params, rules, built, time.perf_counter() + 60.0)
    stopped_s = time.perf_counter() - t0
    run = heuristic.last_run()
    assert run.get("core_solves", 0) == 0 and stopped_s < 0.5 * searched_s
    assert x is None or built.program.max_violation(x, relative=True) <= 1e-7

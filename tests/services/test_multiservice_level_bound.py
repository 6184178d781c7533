"""Each priority level's own Lagrangian bound (``level_bounds``, the model's ``level_bound`` hook).

At city size a level's stage gets seconds and no root LP, so its gap read "no bound"; the level's own relaxation
(only its services counted; a later level with the first one held) must bound whatever any plan reaches for it
(the exact optimum of the level, with the first level held at the warm start's value for later levels), stay
within what the level's services could cover at all (the other services are not counted), reach the levels' rows
and the unproven-level warning, and a bound below a reached value must stop the solve.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from siting.backends import get_backend
from siting.errors import VerificationError
from siting.models import levels as levels_module
from siting.models import multiservice_heuristic as heuristic
from siting.models import multiservice_level_bound as level_bound_module
from siting.models.driver import solve_model
from siting.models.multiservice import MODEL
from siting.models.multiservice_lagrange import LagrangeBound, lagrange_bound
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


def level_optimum(built, level, first_at: float | None = None) -> float | None:
    """The level's own optimum over the program, proven by HiGHS; with ``first_at``, the first level held there.

    None when the first level cannot be held there (then no plan exists to bound).
    """
    program = built.program
    if first_at is not None:
        first = built.levels[0]
        program = replace(program, constraints=sp.vstack([program.constraints, sp.csr_matrix(first.objective)],
                                                         format="csr"),
                          row_lower=np.append(program.row_lower, first_at - first.offset),
                          row_upper=np.append(program.row_upper, np.inf))
    stage = replace(program, sense=Sense.MAXIMIZE, objective=level.objective, objective_offset=level.offset)
    sol = get_backend("highs").solve(stage, SolveOptions(mip_gap=0.0, secondary="none"))
    if first_at is not None and sol.termination.value == "infeasible":
        return None
    assert sol.termination.value == "optimal" and sol.objective is not None
    return float(sol.objective)


def check_level_bounds(built, reach, params, x: np.ndarray, found: dict[int, float]) -> None:
    """Every level's bound: at least its exact optimum (later levels: the first held at the warm start's value),
    at most what its services could cover at all."""
    assert sorted(found) == [level.number for level in built.levels]
    n_years = len(params.phases) if params.phases else 1
    held = heuristic.held_level(built, x, params.priority_tolerance)
    for i, level in enumerate(built.levels):
        bound = found[level.number]
        optimum = level_optimum(built, level, None if i == 0 or held is None else held[1])
        assert optimum is None or bound >= optimum - 1e-9 * max(1.0, abs(optimum)), (level.number, bound, optimum)
        # every point of the level's services covered in every year: the other services are not in it
        ceiling = n_years * sum(float(s.value.sum()) + s.offset for s in reach.services if s.key in level.services)
        assert bound <= ceiling + 1e-9, (level.number, bound, ceiling)


def _warm_start(case: str, seed: int, monkeypatch: pytest.MonkeyPatch):
    """(instance, params, rules, built, the warm start's plan) of a case; skipped when the greedy gives none."""
    inst = multiservice_instance(seed, 40, 12)
    params = MultiserviceParams.from_kwargs(_CASES[case]())
    rules = SiteRules.of(inst)
    built = MODEL.build(inst, params, rules)
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    x = heuristic.warm_start(inst, params, rules, built, None)
    if x is None:
        pytest.skip("no feasible start on this instance")
    return inst, params, rules, built, x


@pytest.mark.parametrize(("case", "seed"), [("one_level", 0), ("one_level", 1), ("one_level", 2), ("floors", 0),
                                           ("floors", 1), ("phased", 0), ("phased", 2)])
def test_each_level_bound_covers_its_optimum_and_counts_only_its_services(
        case: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    inst, params, rules, built, x = _warm_start(case, seed, monkeypatch)
    found = heuristic.last_run()["level_bounds"]
    check_level_bounds(built, reach_of(inst, params, rules), params, x, found)
    for level in built.levels:
        bound = found[level.number]
        # the hook answers for this solve only
        assert heuristic.level_bound(inst, params, rules, level.number) == bound
        assert heuristic.level_bound(inst, replace(params), rules, level.number) is None


def test_the_level_bound_reaches_the_rows_and_the_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    inst = multiservice_instance(0, 40, 12)
    params = MultiserviceParams.from_kwargs(_CASES["floors"]())
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    # each stage stopped by its limit with no bound of its own (as at city size)
    monkeypatch.setattr(levels_module, "get_backend", lambda name: _Stopped(None))
    result = solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(time_limit_s=20, secondary="none"))
    found = heuristic.last_run()["level_bounds"]
    for row in result.stats["priority_levels"]:
        assert row["model_bound"] == found[row["level"]]
        assert row["bound"] == max(found[row["level"]], row["value"]) and row["gap"] is not None
        services = ", ".join(row["services"])
        assert f"priority level {row['level']} ({services}) not proven (time_limit): held at {row['value']:.6g}, " \
               f"its bound is {row['bound']:.6g}" in result.message
    assert "no bound" not in result.message


def test_a_level_bound_below_the_reached_value_stops_the_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    inst = multiservice_instance(0, 40, 12)
    params = MultiserviceParams.from_kwargs(_CASES["one_level"]())
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    monkeypatch.setattr(heuristic, "held_bounds",
                        lambda *args, **kwargs: level_bound_module.HeldBounds({1: 1e-6}, None))
    with pytest.raises(VerificationError, match="bound .* of priority level 1 is below"):
        solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(time_limit_s=20, secondary="none"))


def test_a_tighter_stage_bound_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    inst = multiservice_instance(1, 40, 12)
    params = MultiserviceParams.from_kwargs(_CASES["one_level"]())
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    monkeypatch.setattr(levels_module, "get_backend", lambda name: _Stopped(0.0))   # stage bound = its value
    result = solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(time_limit_s=20, secondary="none"))
    row = result.stats["priority_levels"][0]
    assert row["model_bound"] >= row["value"] and row["bound"] == pytest.approx(row["value"], abs=1e-12)
    assert np.isfinite(row["gap"]) and row["gap"] <= 1e-9


@pytest.mark.parametrize(("case", "seed"), [("floors", 0), ("floors", 1), ("phased", 0), ("phased", 2)])
def test_holding_level_one_tightens_the_later_level_bound(case: str, seed: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Level 2's bound with level 1 held (the sigma walk) is at most its bound alone (sigma = 0), and it is
    still above the level's exact optimum with level 1 held."""
    inst, params, rules, built, x = _warm_start(case, seed, monkeypatch)
    reach = reach_of(inst, params, rules)
    found = level_bound_module.level_bounds(built, reach, params, rules.counts, x, deadline=None)
    second = built.levels[1]
    own = np.array([s.key in second.services for s in reach.services], float)
    n_years = len(params.phases) if params.phases else 1
    start, stop = built.program.blocks["year"]
    last = start + (n_years - 1) * ((stop - start) // n_years)
    alone = lagrange_bound(level_bound_module.scaled(reach, own), params, rules.counts,
                           target=float(second.objective[last:stop] @ x[last:stop])).bound
    assert found[second.number] <= alone + 1e-9
    held = heuristic.held_level(built, x, params.priority_tolerance)
    optimum = level_optimum(built, second, held[1] if held else None)
    assert optimum is None or found[second.number] >= optimum - 1e-9 * max(1.0, abs(optimum))


def _fake_bounds(reach0, first_key: str, held: float, dual, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace the Lagrangian by ``dual(sigma) + sigma * held`` (sigma read off level 1's scaled values)."""
    base = next(float(s.value.sum()) for s in reach0.services if s.key == first_key)
    tried: list[float] = []

    def fake(reach, params, counts, *, target, deadline=None, max_iterations=1000, held_=None, start=None, **kw):
        sigma = next(float(s.value.sum()) for s in reach.services if s.key == first_key) / base
        tried.append(sigma)
        return LagrangeBound(dual(sigma) + sigma * held, 1, (0.0,),
                             multipliers=tuple(np.zeros_like(s.value) for s in reach.services))

    monkeypatch.setattr(level_bound_module, "lagrange_bound", fake)
    return tried


def _walk_case():
    """(params, rules, reach, childcare's mask, elderly care's mask) of the "floors" case, for the fake walks."""
    inst = multiservice_instance(0, 40, 12)
    params = MultiserviceParams.from_kwargs(_CASES["floors"]())
    rules = SiteRules.of(inst)
    reach = reach_of(inst, params, rules)
    own = np.array([s.key == "childcare" for s in reach.services])
    first = np.array([s.key == "elderly_care" for s in reach.services])
    return params, rules, reach, own, first


@pytest.mark.parametrize("best", [0.1, 0.7, 2.0, 5.0, 11.0, 40.0])
def test_the_sigma_walk_finds_the_least_of_a_convex_dual(best: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a convex dual function the walk ends within a factor sqrt(2) of its minimum, and returns the least value
    it tried (each tried sigma is a bound)."""
    params, rules, reach, own, first = _walk_case()
    monkeypatch.setattr(level_bound_module, "SIGMA_TRIES", 8)

    def dual(sigma: float) -> float:
        return 1.0 + (np.log2(sigma) - np.log2(best)) ** 2

    tried = _fake_bounds(reach, "elderly_care", 0.25, dual, monkeypatch)
    value = level_bound_module.held_level_bound(reach, params, rules.counts, own, first, 0.25, 0.0, 0.0, (), (),
                                                deadline=None)
    assert value == pytest.approx(min(dual(s) for s in tried))
    assert tried[0] == level_bound_module.SIGMA_START
    assert abs(np.log2(tried[int(np.argmin([dual(s) for s in tried]))]) - np.log2(best)) <= 0.5 + 1e-9


def test_a_non_finite_try_is_no_bound_and_does_not_steer_the_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    params, rules, reach, own, first = _walk_case()
    walk = level_bound_module.held_level_bound

    tried = _fake_bounds(reach, "elderly_care", 0.25, lambda s: float("nan") if s == 2.0 else 1.0 + s, monkeypatch)
    value = walk(reach, params, rules.counts, own, first, 0.25, 0.0, 0.0, (), (), deadline=None)
    assert len(tried) > 1 and value == pytest.approx(min(1.0 + s for s in tried if s != 2.0))
    _fake_bounds(reach, "elderly_care", 0.25, lambda s: float("nan"), monkeypatch)
    assert walk(reach, params, rules.counts, own, first, 0.25, 0.0, 0.0, (), (), deadline=None) is None


def test_kept_bounds_answer_only_for_their_own_solve_and_the_oldest_go() -> None:
    class Obj:
        pass

    kept = heuristic._Kept()
    solves = [(Obj(), Obj(), Obj()) for _ in range(kept.SIZE + 1)]
    for n, objs in enumerate(solves):
        kept.put(objs, "bound", float(n))
    # the oldest is dropped, every other answers with its own value; another combination of the same objects
    # (other rules) is another solve
    assert kept.get(solves[0], "bound") is None
    assert [kept.get(objs, "bound") for objs in solves[1:]] == [float(n) for n in range(1, kept.SIZE + 1)]
    assert kept.get((solves[1][0], solves[1][1], solves[2][2]), "bound") is None
    kept.forget(*solves[1])
    assert kept.get(solves[1], "bound") is None and kept.get(solves[2], "bound") == 2.0
    # a solve whose objects are gone is dropped on the next forget
    del solves[3]
    kept.forget(Obj(), Obj(), Obj())
    assert len(kept._entries) == kept.SIZE - 2


def objective_optimum(built, first_at: float) -> float | None:
    """The program's own objective's optimum with the first level held at ``first_at`` (None: no such plan)."""
    first = built.levels[0]
    program = replace(built.program,
                      constraints=sp.vstack([built.program.constraints, sp.csr_matrix(first.objective)], format="csr"),
                      row_lower=np.append(built.program.row_lower, first_at - first.offset),
                      row_upper=np.append(built.program.row_upper, np.inf))
    sol = get_backend("highs").solve(program, SolveOptions(mip_gap=0.0, secondary="none"))
    if sol.termination.value == "infeasible":
        return None
    assert sol.termination.value == "optimal" and sol.objective is not None
    return float(sol.objective)


@pytest.mark.parametrize(("case", "seed"), [("one_level", 0), ("one_level", 1), ("floors", 0), ("floors", 1),
                                           ("phased", 0), ("phased", 2)])
def test_the_objectives_bound_with_level_one_held_covers_its_optimum(case: str, seed: int,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The objective's bound with level 1 held (every service searched, level 1's weighted 1 + sigma) is at least
    the objective's exact optimum with level 1 held where the driver holds it, at most every point covered every
    year; the warm start keeps the least of it and the program's own bound."""
    inst, params, rules, built, x = _warm_start(case, seed, monkeypatch)
    reach = reach_of(inst, params, rules)
    run = heuristic.last_run()
    assert run["held_objective_bound"] is not None
    assert heuristic.bound(inst, params, rules) == pytest.approx(min(run["bound"], run["held_objective_bound"]))
    value = level_bound_module.held_objective_bound(built, reach, params, rules.counts, x, deadline=None)
    held = heuristic.held_level(built, x, params.priority_tolerance)
    optimum = objective_optimum(built, held[1])
    assert value is not None and (optimum is None or value >= optimum - 1e-9 * max(1.0, abs(optimum))), \
        (value, optimum)
    n_years = len(params.phases) if params.phases else 1
    assert value <= n_years * sum(float(s.value.sum()) + s.offset for s in reach.services) + 1e-9


def test_holding_level_one_tightens_the_objectives_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Elderly care first, held near its best: the objective's bound with it held is well below the program's bound
    without the hold (which spends the money where the objective gains most), and still above the optimum."""
    inst = multiservice_instance(0, 60, 16)
    params = MultiserviceParams.from_kwargs({"budget": 2.5e6, "catalog": catalog_of(elderly_care={"priority": 1})})
    rules = SiteRules.of(inst)
    built = MODEL.build(inst, params, rules)
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    x = heuristic.warm_start(inst, params, rules, built, None)
    assert x is not None
    run = heuristic.last_run()
    held = heuristic.held_level(built, x, params.priority_tolerance)
    optimum = objective_optimum(built, held[1])
    assert optimum is not None and optimum - 1e-9 <= run["held_objective_bound"] < run["bound"]
    assert heuristic.bound(inst, params, rules) == run["held_objective_bound"]


def test_a_walk_on_every_service_starts_from_the_sum_of_the_multipliers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service both searched and held weighs 1 + sigma: its first multipliers are the objective's plus sigma times
    level 1's (L(u + sigma u1) <= L(u) + sigma L_1(u1)), a later sigma's the best search's plus level 1's times the
    change of sigma; a service only searched starts from the objective's, then the best search's."""
    params, rules, reach, _, first = _walk_case()
    every = np.ones(len(reach.services), bool)
    given = tuple(0.25 * s.value for s in reach.services)
    given_first = tuple(0.1 * s.value for s in reach.services)
    starts: list[tuple[float, list[np.ndarray]]] = []
    base = next(float(s.value.sum()) for s in reach.services if s.key == "childcare")
    first_base = next(float(s.value.sum()) for s in reach.services if s.key == "elderly_care")

    def fake(scaled_reach, params, counts, *, target, deadline=None, max_iterations=1000, start=None, **kw):
        sigma = next(float(s.value.sum()) for s in scaled_reach.services if s.key == "elderly_care") / first_base - 1.0
        assert next(float(s.value.sum()) for s in scaled_reach.services if s.key == "childcare") == \
            pytest.approx(base)
        starts.append((sigma, [np.asarray(v).copy() for v in start]))
        # the multipliers found: half of each scaled value; the bound falls as sigma grows
        return LagrangeBound(10.0 - sigma, 1, (0.0,), multipliers=tuple(0.5 * s.value for s in scaled_reach.services))

    monkeypatch.setattr(level_bound_module, "lagrange_bound", fake)
    level_bound_module.held_level_bound(reach, params, rules.counts, every, first, 0.0, 0.0, 0.0, given, given_first,
                                        deadline=None, sigma_start=8.0)
    (sigma0, u0), (sigma1, u1) = starts[0], starts[1]
    assert sigma0 == pytest.approx(8.0) and sigma1 == pytest.approx(16.0)
    k_first = int(np.flatnonzero(first)[0])
    k_other = next(k for k in range(len(reach.services)) if not first[k])
    value_first, value_other = reach.services[k_first].value, reach.services[k_other].value
    assert np.allclose(u0[k_first], (0.25 + 8.0 * 0.1) * value_first) and np.allclose(u0[k_other], 0.25 * value_other)
    # half the value weighted 9 at sigma 8, plus level 1's for the 8 more
    assert np.allclose(u1[k_first], (0.5 * 9.0 + 8.0 * 0.1) * value_first)
    assert np.allclose(u1[k_other], 0.5 * value_other)


def test_with_a_deadline_the_best_try_goes_on_from_its_multipliers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tries take PROBE_SHARE of the time; the rest continues the best sigma's search from the multipliers it
    ended with (every year's), and its value is kept when lower. Without a deadline no search is continued."""
    params, rules, reach, own, first = _walk_case()
    first_base = next(float(s.value.sum()) for s in reach.services if s.key == "elderly_care")
    calls: list[tuple[float, float | None, list[np.ndarray]]] = []
    year_starts: list[tuple] = []

    def fake(scaled_reach, params, counts, *, target, deadline=None, max_iterations=1000, start=None, **kw):
        sigma = next(float(s.value.sum()) for s in scaled_reach.services if s.key == "elderly_care") / first_base
        again = sum(1 for s, _, _ in calls if s == sigma)
        calls.append((sigma, deadline, [np.asarray(v).copy() for v in start]))
        year_starts.append(kw.get("year_starts", ()))
        # a convex dual with its least at sigma = 4, each search of the same sigma 0.1 lower than the last
        return LagrangeBound(1.0 + (np.log2(sigma) - 2.0) ** 2 - 0.1 * again, 1, (0.0,),
                             multipliers=tuple(np.full_like(s.value, sigma + len(calls))
                                               for s in scaled_reach.services),
                             year_multipliers=((np.full(3, float(len(calls))),),))

    monkeypatch.setattr(level_bound_module, "lagrange_bound", fake)
    walk = level_bound_module.held_level_bound
    began = time.perf_counter()
    value = walk(reach, params, rules.counts, own, first, 0.0, 0.0, 0.0, (), (), deadline=began + 100.0)
    tries, last = calls[:-1], calls[-1]
    assert last[0] == 4.0 and value == pytest.approx(0.9)
    # every try ends by the tries' share of the time, the continued search at the deadline
    assert all(d <= began + level_bound_module.PROBE_SHARE * 100.0 + 0.1 for _, d, _ in tries)
    assert last[1] == pytest.approx(began + 100.0)
    best_try = next(n for n, (s, _, _) in enumerate(tries) if s == 4.0)
    k = int(np.flatnonzero(own)[0])
    assert np.allclose(last[2][k], 4.0 + best_try + 1)
    # every year's multipliers go on too: the tries start theirs afresh
    assert all(not y for y in year_starts[:-1]) and np.allclose(year_starts[-1][0][0], best_try + 1)
    calls.clear()
    assert walk(reach, params, rules.counts, own, first, 0.0, 0.0, 0.0, (), (), deadline=None) == pytest.approx(1.0)
    assert len({s for s, _, _ in calls}) == len(calls)

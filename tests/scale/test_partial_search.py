"""Partial covering: the LP bound at its row duals and the budget search through the MCLP, against brute force.

The LP bound must equal the LP (solved here by another algorithm on another formulation) and stay below every
optimum; any multipliers give a bound; the budget search returns plans that cover the target within the budget
and site limit, a bound no optimum breaks, and on small problems (where each MCLP step is solved exactly) the
optimum itself, proven.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from siting.heuristics import CoverArrays
from siting.heuristics.greedy import greedy_cover
from siting.heuristics.partial_lp import lp_partial_dual, partial_lagrangian_value
from siting.options import SolveOptions
from siting.problem import CoverageProblem, ModelType
from siting.strategy import partial as partial_phase
from siting.strategy import solve_coverage
from siting.strategy.best import _Best

from .helpers import brute_force, check_against_brute_force, feasible, value


def _partial(seed: int, *, n_demand: int = 26, n_sites: int = 10, density: float = 0.25, target: float = 0.7,
             unit: bool = False, budget_share: float | None = None, fixed: bool = False) -> CoverageProblem:
    rng = np.random.default_rng(seed)
    a = rng.random((n_demand, n_sites)) < density
    w = rng.integers(1, 30, n_demand).astype(float)
    cost = np.ones(n_sites) if unit else rng.integers(1, 40, n_sites).astype(float)
    fixed_open = np.zeros(n_sites, bool)
    fixed_closed = np.zeros(n_sites, bool)
    if fixed:
        fixed_open[0] = True
        fixed_closed[1] = True
    budget = None if budget_share is None else float(np.round(cost.sum() * budget_share))
    return CoverageProblem(ModelType.PARTIAL, sp.csr_matrix(a), w, cost, fixed_open, fixed_closed,
                           np.ones(n_sites, bool), budget=budget, target_coverage=target, total_weight=float(w.sum()))


def _lp_value(p: CoverageProblem) -> float:
    """The LP on the aggregated form min c x s.t. sum_i w_i min(1, (A x)_i) >= t, by interior point.

    ``min(1, .)`` is written with z_i <= 1 and z_i <= (A x)_i, as the module does, but the columns come in the
    other order and the target row is an equality with a slack (another formulation of the same LP).
    """
    n, m = p.coverage.shape
    a = p.coverage.toarray().astype(float)
    c = np.concatenate([np.zeros(n), p.site_cost, [0.0]])
    rows = np.hstack([np.eye(n), -a, np.zeros((n, 1))])
    eq = np.concatenate([p.demand_weight, np.zeros(m), [-1.0]])[None, :]
    lo = np.concatenate([np.zeros(n), p.fixed_open.astype(float), [0.0]])
    hi = np.concatenate([np.ones(n), (~p.fixed_closed).astype(float), [None]])
    out = linprog(c, A_ub=rows, b_ub=np.zeros(n), A_eq=eq, b_eq=[p.target_weight - p.base_covered_weight],
                  bounds=list(zip(lo, hi, strict=True)), method="highs-ipm")
    assert out.status == 0
    return float(out.fun)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 100_000), st.booleans(), st.floats(0.15, 0.4), st.floats(0.3, 0.95), st.booleans())
def test_lp_bound_is_the_lp_and_below_the_optimum(seed, unit, density, target, fixed):
    p = _partial(seed, unit=unit, density=density, target=target, fixed=fixed)
    best, _ = brute_force(p)
    d = lp_partial_dual(p)
    if best is None:    # the target is out of reach: no LP either
        assert d is None
        return
    assert d is not None
    assert d.raw_bound == pytest.approx(_lp_value(p), rel=1e-6, abs=1e-6)
    assert d.bound <= best + 1e-9
    assert d.bound == np.ceil(d.raw_bound - 1e-6)     # integer costs: rounded up, still valid


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 100_000), st.floats(0.0, 4.0))
def test_any_multipliers_give_a_bound(seed, scale):
    p = _partial(seed + 3, fixed=seed % 2 == 0)
    best, _ = brute_force(p)
    if best is None:
        return
    u = np.random.default_rng(seed).random(p.n_demand) * scale * p.site_cost.mean() / p.demand_weight.mean()
    assert partial_lagrangian_value(p, u, CoverArrays.of(p)) <= best + 1e-9


def test_a_budget_row_is_left_out_of_the_lp_and_the_bound_still_holds():
    for seed in range(12):
        p = _partial(seed, budget_share=0.3)
        best, _ = brute_force(p)
        d = lp_partial_dual(p)
        if best is not None:
            assert d is not None and d.bound <= best + 1e-9


def _search(p: CoverageProblem, plan: np.ndarray, bound: float, time_s: float = 20.0):
    stats: dict = {}
    best = _Best(plan, p.value_of(plan), bound)
    out = partial_phase._budget_search(p, best, CoverArrays.of(p), SolveOptions(seed=0), time_s, stats,
                                       lambda mclp, options: solve_coverage(mclp, options=options))
    return out, stats


@pytest.mark.parametrize("seed", range(12))
def test_the_search_from_a_poor_plan_reaches_the_optimum_and_proves_it(seed):
    """Every site open (the dearest plan) and a zero bound: each MCLP step is exact here, so the bisection closes."""
    p = _partial(seed, n_sites=11, budget_share=0.8 if seed % 3 == 0 else None, fixed=seed % 2 == 1)
    best, _ = brute_force(p)
    start = ~p.fixed_closed
    if best is None or not feasible(p, start):
        return
    out, stats = _search(p, start, 0.0)
    assert out.plan is not None and feasible(p, out.plan)
    assert out.value == pytest.approx(value(p, out.plan))
    assert out.value == pytest.approx(best)
    assert out.bound is not None and out.bound <= best + 1e-9
    assert out.bound == pytest.approx(best)              # integer costs: the last step proves it
    assert any("bound" in s.get("gave", "") for s in stats["budget_search"])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 100_000), st.booleans())
def test_the_whole_heuristic_solve_finds_the_brute_force_optimum(seed, unit):
    p = _partial(seed, n_sites=10, unit=unit, target=0.8, budget_share=0.5 if seed % 4 == 0 else None,
                 fixed=seed % 3 == 0)
    check_against_brute_force(p, "heuristic")


def test_the_search_never_returns_a_dearer_plan_and_stops_at_its_time():
    """A generated town with a short search: whatever the steps find, never worse than the start, on time."""
    import time

    rng = np.random.default_rng(4)
    pts = rng.random((3000, 2)) * 6000.0
    sites = rng.random((300, 2)) * 6000.0
    d = np.hypot(pts[:, None, 0] - sites[None, :, 0], pts[:, None, 1] - sites[None, :, 1])
    a = sp.csr_matrix(d <= 600.0)
    w = rng.integers(1, 40, 3000).astype(float)
    cost = np.round(rng.lognormal(np.log(1e6), 0.5, 300), -3)
    p = CoverageProblem(ModelType.PARTIAL, a, w, cost, np.zeros(300, bool), np.zeros(300, bool), np.ones(300, bool),
                        target_coverage=0.85, total_weight=float(w.sum()))
    start = greedy_cover(p)
    assert start is not None
    dual = lp_partial_dual(p)
    assert dual is not None
    t0 = time.perf_counter()
    out, stats = _search(p, start, dual.bound, time_s=6.0)
    assert time.perf_counter() - t0 < 6.0 + 3.0
    assert stats["budget_search"], "no step ran"
    assert out.plan is not None and feasible(p, out.plan)
    assert out.value <= p.value_of(start) and out.bound >= dual.bound
    assert out.value == pytest.approx(value(p, out.plan)) and out.bound <= out.value


def test_a_budget_too_small_for_the_target_is_proven_infeasible_by_the_search():
    """The greedy breaks the budget, so there is no start: the LP bound above the budget proves it, or else the
    search asks the MCLP at the whole budget, whose bound falls short of the target (both kinds must occur)."""
    kinds = set()
    for seed in range(30):
        p = _partial(seed, n_sites=10, target=0.8, budget_share=0.25)
        best, _ = brute_force(p)
        if best is not None or lp_partial_dual(p) is None:   # wanted: infeasible only through the budget row
            continue
        out = solve_coverage(p, strategy="heuristic", options=SolveOptions(time_limit_s=20))
        assert not out.has_solution and out.termination == "infeasible", seed
        assert "budget" in out.stats["message"]
        kinds.add("mclp" if out.stats["budget_search"] else "lp")
    assert kinds == {"lp", "mclp"}


def test_without_a_start_the_whole_budget_is_tried_even_when_the_bound_reaches_it():
    """The greedy breaks the budget and the LP bound equals it: the one plan costing exactly the budget is found.

    (Hypothesis found this: the search ran no step when the bound left no room below the budget, and the solve
    returned no plan for a feasible problem.)
    """
    p = _partial(20, n_sites=10, unit=True, target=0.8, budget_share=0.5)
    best, _ = brute_force(p)
    assert best == p.budget
    out = solve_coverage(p, strategy="heuristic", options=SolveOptions(time_limit_s=20))
    assert out.stats["greedy_value"] is None and out.stats["lagrangian_bound"] == p.budget
    assert out.has_solution and feasible(p, out.open_sites) and out.objective == best
    assert out.termination == "optimal"

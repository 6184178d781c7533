"""Set covering (LSCP): dominated rows, costly sites, the Lagrangian dual and reduced-cost fixing.

Every rule is checked against brute force (all 2^n plans) or the LP optimum on small random instances.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from siting.heuristics import CoverArrays
from siting.heuristics.setcover import cover_dual, fixable_sites, lagrangian_cover, restrict_to_better
from siting.options import SolveOptions
from siting.presolve import contained_rows, drop_costly_sites, presolve
from siting.problem import CoverageProblem, ModelType
from siting.strategy import solve_coverage

from .helpers import brute_force, feasible, random_problem, value


def _lscp(a: np.ndarray, cost: np.ndarray) -> CoverageProblem:
    a = sp.csr_matrix(np.asarray(a, dtype=bool))
    m, n = a.shape
    return CoverageProblem(ModelType.LSCP, a, np.ones(m), np.asarray(cost, float), np.zeros(n, bool),
                           np.zeros(n, bool), np.ones(n, bool), total_weight=float(m))


def _coverable_problem(seed: int, *, n_demand: int = 30, n_sites: int = 12, unit: bool = False) -> CoverageProblem:
    """A random LSCP instance in which every row has at least one site (so it is feasible)."""
    rng = np.random.default_rng(seed)
    a = rng.random((n_demand, n_sites)) < 0.2
    a[np.arange(n_demand), rng.integers(0, n_sites, n_demand)] = True
    cost = np.ones(n_sites) if unit else rng.integers(1, 30, n_sites).astype(float)
    return _lscp(a, cost)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 25), st.integers(1, 12), st.floats(0.05, 0.6))
def test_contained_rows_matches_the_dense_rule(seed, m, n, density):
    a = np.random.default_rng(seed).random((m, n)) < density
    a[: m // 3] = a[m // 3: 2 * (m // 3)]          # some equal rows
    got = contained_rows(sp.csr_matrix(a))
    inter = a.astype(int) @ a.T.astype(int)
    deg = a.sum(axis=1)
    want = np.zeros(m, bool)
    for i in range(m):
        for k in range(m):
            # k's set inside i's set: strictly smaller, or equal with the smaller index kept
            if k != i and deg[k] > 0 and inter[i, k] == deg[k] and (deg[i] > deg[k] or i > k):
                want[i] = True
    assert (got == want).all(), np.flatnonzero(got != want)


@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_lscp_presolve_keeps_the_optimum(seed, unit):
    p = random_problem(seed, model=ModelType.LSCP, n_demand=40, n_sites=12, density=0.18 + 0.02 * (seed % 4),
                       unit_cost=unit)
    best, _ = brute_force(p)
    res = presolve(p)
    if best is None:
        assert res.infeasible is not None or brute_force(res.problem)[0] is None
        return
    rbest, rx = brute_force(res.problem)
    assert rbest is not None
    assert rbest + res.cost_offset == pytest.approx(best)
    x = res.expand(rx)
    assert feasible(p, x) and value(p, x) == pytest.approx(best)


def test_costly_site_is_dropped_only_when_others_cover_it_as_cheaply():
    # site 2 covers rows 0 and 1 for 5; sites 0 and 1 cover them for 2 + 2 -> site 2 goes
    p = _lscp([[1, 0, 1], [0, 1, 1]], [2.0, 2.0, 5.0])
    q, inv = drop_costly_sites(p)
    assert q.n_sites == 2 and inv.kept.tolist() == [0, 1]
    # at 3 it is the cheaper way: kept
    q, _ = drop_costly_sites(_lscp([[1, 0, 1], [0, 1, 1]], [2.0, 2.0, 3.0]))
    assert q.n_sites == 3


@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_dual_bound_is_valid_and_its_cover_feasible(seed, unit):
    p = _coverable_problem(seed, unit=unit)
    best, _ = brute_force(p)
    lp = linprog(p.site_cost, A_ub=-p.coverage.astype(float), b_ub=-np.ones(p.n_demand), bounds=(0, 1),
                 method="highs").fun
    out = cover_dual(p, iterations=800)
    assert out.raw_bound <= lp + 1e-6                 # a Lagrangian bound never beats the LP
    assert out.bound <= best + 1e-9
    assert out.raw_bound >= 0.9 * lp or out.bound >= out.value - 1e-9   # close to it, or the cover is proven
    assert out.plan is not None and feasible(p, out.plan)
    assert out.value == pytest.approx(value(p, out.plan)) and out.value >= best - 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_reduced_cost_fixing_keeps_every_better_cover(seed):
    p = _coverable_problem(seed + 100, n_sites=11)
    best, _ = brute_force(p)
    out = cover_dual(p, iterations=400)
    for upper in (out.value, best + 1.0, best):
        restricted, _ = restrict_to_better(p, out, upper)
        if best < upper - 1e-9:   # a cheaper cover exists: the restricted problem keeps the optimum
            assert restricted is not None
            assert brute_force(restricted)[0] == pytest.approx(best)
        elif restricted is not None:   # none exists: whatever it finds costs at least upper
            rbest = brute_force(restricted)[0]
            assert rbest is None or rbest >= upper - 1e-9
    closed, opened = fixable_sites(p, out, best)
    assert not (closed & opened).any()


def test_lagrangian_cover_covers_every_row_without_redundant_sites():
    p = _coverable_problem(7, n_demand=60, n_sites=20)
    arr = CoverArrays.of(p)
    x = lagrangian_cover(p, np.zeros(p.n_demand), arr)
    assert x is not None and feasible(p, x)
    counts = arr.counts(x)
    for j in np.flatnonzero(x):   # every open site is the only cover of some row
        assert (counts[arr.site_rows(j)] == 1).any()


@pytest.mark.parametrize("strategy", ["auto", "hybrid", "heuristic"])
@pytest.mark.parametrize("seed", range(4))
def test_solve_coverage_lscp_matches_brute_force(seed, strategy):
    p = random_problem(seed, model=ModelType.LSCP, n_demand=35, n_sites=11, density=0.25, unit_cost=seed % 2 == 0)
    best, _ = brute_force(p)
    out = solve_coverage(p, strategy=strategy, options=SolveOptions(time_limit_s=20))
    if best is None:
        assert not out.has_solution
        return
    assert out.has_solution and feasible(p, out.open_sites)
    assert out.bound is not None and out.bound <= best + 1e-6
    if strategy != "heuristic":
        assert out.objective == pytest.approx(best)
    else:
        assert out.objective >= best - 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_lscp_with_a_site_limit_and_budget_matches_brute_force(seed):
    p = random_problem(seed, model=ModelType.LSCP, n_demand=30, n_sites=11, density=0.3, unit_cost=False)
    p = p.with_(max_sites=4 + seed % 2, budget=float(np.round(p.site_cost.sum() * 0.5)))
    best, _ = brute_force(p)
    out = solve_coverage(p, options=SolveOptions(time_limit_s=20))
    if best is None:
        assert not out.has_solution or out.termination == "infeasible"
        return
    assert out.has_solution and feasible(p, out.open_sites)
    assert out.objective == pytest.approx(best) and out.bound <= best + 1e-6


def test_a_site_limit_keeps_the_site_that_covers_alone():
    # site 0 covers both rows for 10; sites 1 and 2 one each for 4 + 4. Cheaper to swap, but max_sites = 1
    # allows only site 0: the costly-site rule must not drop it (it did, and the answer was "infeasible")
    p = _lscp([[1, 1, 0], [1, 0, 1]], [10.0, 4.0, 4.0]).with_(max_sites=1)
    q, _ = drop_costly_sites(p)
    assert q.n_sites == 3
    out = solve_coverage(p, options=SolveOptions(time_limit_s=10))
    assert out.has_solution and out.open_sites.tolist() == [True, False, False]
    assert out.objective == pytest.approx(10.0)

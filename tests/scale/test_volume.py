"""The volume bound and reduced-cost fixing for MCLP: valid against brute force, near the LP value, never
removing an optimal plan (budget and site-limit cases)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from siting.heuristics import knapsack_upper_bound
from siting.heuristics.volume import fixable_mclp, knapsack_dual, volume_mclp
from siting.options import SolveOptions
from siting.problem import CoverageProblem, ModelType
from siting.strategy import solve_coverage

from .helpers import feasible, random_problem, value

SEEDS = range(12)
#: (budget_share, max_sites): budget only, site limit only, both
LIMITS = [(0.35, None), (None, 3), (0.45, 4)]


def _all_plans(p: CoverageProblem) -> list[tuple[np.ndarray, float]]:
    """Every feasible plan and its covered weight, enumerated as one 0/1 matrix (2^n rows)."""
    grid = np.array(list(itertools.product((False, True), repeat=p.n_sites)), bool)
    ok = ~(grid & p.fixed_closed).any(axis=1) & ~(p.fixed_open & ~grid).any(axis=1)
    if p.budget is not None:
        ok &= grid @ p.site_cost <= p.budget + 1e-9
    if p.max_sites is not None:
        ok &= (grid & p.counts_toward_limit).sum(axis=1) <= p.max_sites
    grid = grid[ok]
    hit = (p.coverage.astype(np.int64) @ grid.T.astype(np.int64)) > 0
    values = p.demand_weight @ hit + p.base_covered_weight
    return list(zip(grid, values.tolist(), strict=True))


def _problem(seed: int, budget_share: float | None, max_sites: int | None, **kw) -> CoverageProblem:
    return random_problem(seed, n_demand=30, n_sites=10, budget_share=budget_share, max_sites=max_sites, **kw)


@pytest.mark.parametrize(("budget_share", "max_sites"), LIMITS)
@pytest.mark.parametrize("seed", SEEDS)
def test_volume_bound_valid_and_plan_feasible(seed, budget_share, max_sites):
    p = _problem(seed, budget_share, max_sites)
    plans = _all_plans(p)
    best = max(v for _, v in plans)
    d = volume_mclp(p, iterations=400, repairs=True, seed=seed)
    assert d.bound >= best - 1e-6
    assert d.raw_bound >= d.bound - 1e-6
    assert feasible(p, d.plan)
    assert value(p, d.plan) == pytest.approx(d.value)
    assert d.value <= best + 1e-9
    assert np.all((d.primal >= -1e-12) & (d.primal <= 1 + 1e-12))


@pytest.mark.parametrize(("budget_share", "max_sites"), LIMITS)
@pytest.mark.parametrize("seed", SEEDS)
def test_fixing_keeps_every_plan_at_least_as_good(seed, budget_share, max_sites):
    p = _problem(seed, budget_share, max_sites)
    plans = _all_plans(p)
    best = max(v for _, v in plans)
    d = volume_mclp(p, iterations=400, seed=seed)
    rng = np.random.default_rng(seed)
    # the converged multipliers, and arbitrary ones: fixing must be valid for every (u, lambda)
    trials = [(d.multipliers, d.knapsack_price), (rng.random(p.n_demand) * p.demand_weight, rng.random() * 3)]
    fixed_any = 0
    for u, price in trials:
        for level in {best, sorted(v for _, v in plans)[len(plans) // 2]}:
            closed, opened = fixable_mclp(p, u, price, level)
            assert not (closed & opened).any()
            assert not (closed & (p.fixed_open | p.fixed_closed)).any()
            fixed_any += int(closed.sum() + opened.sum())
            for x, v in plans:
                if v >= level - 1e-9:
                    assert not (x & closed).any(), (level, v)
                    assert (x[opened]).all(), (level, v)
    if seed == 0:
        assert fixed_any > 0   # the test can fail: fixing does something on these instances


def test_fixing_with_the_optimum_leaves_the_optimal_plans():
    """Site limit 1 and the LP bound tight: only the optimal site stays free to open."""
    a = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool))
    p = CoverageProblem(ModelType.MCLP, a, np.array([5.0, 1.0, 1.0, 4.0]), np.ones(3), np.zeros(3, bool),
                        np.zeros(3, bool), np.ones(3, bool), max_sites=1, total_weight=11.0)
    closed, opened = fixable_mclp(p, p.demand_weight, 0.0, 6.0)
    assert closed.tolist() == [False, True, True] and opened.tolist() == [True, False, False]
    closed, opened = fixable_mclp(p, p.demand_weight, 0.0, 5.0)   # site 2 also covers 5: it must stay free
    assert not closed[2] and not opened.any()


@pytest.mark.parametrize("seed", range(25))
def test_knapsack_dual_valid_and_as_tight_as_bisection(seed):
    rng = np.random.default_rng(seed)
    n = 10
    v = rng.random(n) * 10 - (seed % 3)       # some negative values too
    c = rng.integers(0, 5, n).astype(float)
    counts = rng.random(n) < 0.8
    budget = float(rng.integers(1, 14))
    slots = int(rng.integers(0, 6)) if seed % 4 else None
    best = 0.0
    for bits in itertools.product((0, 1), repeat=n):
        x = np.array(bits, bool)
        if c[x].sum() <= budget and (slots is None or counts[x].sum() <= slots):
            best = max(best, v[x].sum())
    exact_lp, _ = knapsack_upper_bound(v, c, counts, budget, slots, steps=200)
    for price in (0.0, rng.random() * 5, 50.0):
        k = knapsack_dual(v, c, counts, budget, slots, price=price)
        assert k.value >= best - 1e-9
        assert k.value <= exact_lp + 1e-6 * max(1.0, exact_lp)


@pytest.mark.parametrize("seed", range(3))
def test_volume_bound_reaches_the_lp_value(seed):
    """Every Lagrangian value is at least the LP optimum; the volume search ends within 0.5 % of it."""
    highspy = pytest.importorskip("highspy")
    rng = np.random.default_rng(seed)
    m, n = 400, 60
    a = sp.random(m, n, density=0.06, random_state=rng, format="csr").astype(bool)
    w = rng.integers(1, 30, m).astype(float)
    cost = rng.integers(1, 9, n).astype(float)
    counts = np.ones(n, bool)
    p = CoverageProblem(ModelType.MCLP, a, w, cost, np.zeros(n, bool), np.zeros(n, bool), counts,
                        budget=float(cost.sum() * 0.15), max_sites=8 if seed == 1 else None,
                        total_weight=float(w.sum()))
    lp = _lp_value(p, highspy)
    d = volume_mclp(p, iterations=3000, seed=seed)
    assert d.raw_bound >= lp - 1e-6 * lp
    assert d.raw_bound <= lp * 1.005


def _lp_value(p: CoverageProblem, highspy) -> float:
    from siting.formulations.coverage import build_program
    prog = build_program(p)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    lp = highspy.HighsLp()
    a = prog.constraints.tocsc()
    lp.num_col_, lp.num_row_ = prog.n_cols, prog.n_rows
    lp.col_cost_ = -prog.objective
    lp.col_lower_, lp.col_upper_ = prog.col_lower, prog.col_upper
    lp.row_lower_ = np.where(np.isfinite(prog.row_lower), prog.row_lower, -highspy.kHighsInf)
    lp.row_upper_ = np.where(np.isfinite(prog.row_upper), prog.row_upper, highspy.kHighsInf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    h.passModel(lp)
    h.run()
    return -h.getInfo().objective_function_value + prog.objective_offset


@pytest.mark.parametrize(("budget_share", "max_sites"), LIMITS)
@pytest.mark.parametrize("seed", range(6))
def test_heuristic_strategy_bound_is_true(seed, budget_share, max_sites):
    p = _problem(seed, budget_share, max_sites)
    best = max(v for _, v in _all_plans(p))
    out = solve_coverage(p, strategy="heuristic", options=SolveOptions(seed=seed))
    assert out.stats["bound_method"] == "volume"
    assert out.bound >= best - 1e-6
    assert out.objective <= best + 1e-9
    assert feasible(p, out.open_sites)


@pytest.mark.parametrize(("budget_share", "max_sites"), LIMITS)
@pytest.mark.parametrize("seed", range(4))
def test_mip_on_the_fixed_problem_finds_the_optimum(seed, budget_share, max_sites):
    """hybrid: volume, core MIP, reduced-cost fixing, then the MIP of the fixed problem — the exact optimum."""
    p = _problem(seed, budget_share, max_sites)
    best = max(v for _, v in _all_plans(p))
    out = solve_coverage(p, strategy="hybrid", options=SolveOptions(seed=seed, time_limit_s=20, mip_gap=0.0))
    assert out.objective == pytest.approx(best)
    assert out.bound >= best - 1e-6
    # the MIP runs only when the heuristics left a gap, and then on the fixed problem
    assert "mip" not in out.stats or "reduced_cost_fixed" in out.stats


@pytest.mark.parametrize("seed", range(12))
def test_fixing_without_a_budget_ignores_the_price(seed):
    # no budget: nothing adds price * B back, so a positive price would fix sites an optimal plan needs
    p = _problem(seed, None, 4)
    rng = np.random.default_rng(seed)
    u = rng.random(p.n_demand) * p.demand_weight
    plans = _all_plans(p)
    level = max(v for _, v in plans)
    at_zero = fixable_mclp(p, u, 0.0, level)
    for price in (0.5, 2.25, 7.0):
        closed, opened = fixable_mclp(p, u, price, level)
        assert np.array_equal(closed, at_zero[0]) and np.array_equal(opened, at_zero[1])
        for x, v in plans:
            if v >= level - 1e-9:
                assert not (x & closed).any() and x[opened].all()

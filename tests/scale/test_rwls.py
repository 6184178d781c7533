"""The row-weighting local search for equal-cost covers against brute force, and its place in the LSCP phase."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.sparse as sp

from siting.heuristics import CoverArrays
from siting.heuristics import rwls as rwls_mod
from siting.heuristics.rwls import row_weighting_search
from siting.options import SolveOptions
from siting.problem import CoverageProblem, ModelType
from siting.strategy import solve_coverage

from .helpers import brute_force, feasible, random_incidence

pytest.importorskip("numba")


def _cover(a: np.ndarray, unit: float = 1.0, *, fixed_open=None, fixed_closed=None, max_sites=None,
           budget=None) -> CoverageProblem:
    n_d, n_s = a.shape
    return CoverageProblem(ModelType.LSCP, sp.csr_matrix(a), np.ones(n_d), np.full(n_s, unit),
                           np.zeros(n_s, bool) if fixed_open is None else fixed_open,
                           np.zeros(n_s, bool) if fixed_closed is None else fixed_closed, np.ones(n_s, bool),
                           budget=budget, max_sites=max_sites, total_weight=float(n_d))


def _random_case(seed: int) -> tuple[CoverageProblem, np.ndarray]:
    """A random equal-cost cover with required and excluded sites; the start opens every usable site."""
    rng = np.random.default_rng(seed)
    a = random_incidence(rng, (8, 40), (6, 11))
    n_s = a.shape[1]
    fixed_open = np.zeros(n_s, bool)
    fixed_closed = np.zeros(n_s, bool)
    if seed % 3 == 0:
        fixed_open[rng.integers(n_s)] = True
    if seed % 2 == 0:
        fixed_closed[rng.integers(n_s)] = True
        fixed_closed &= ~fixed_open
    a = a[a[:, ~fixed_closed].any(axis=1)]            # rows the usable sites cannot cover are not a cover's job
    p = _cover(a, [1.0, 2.5, 7 / 3][seed % 3], fixed_open=fixed_open, fixed_closed=fixed_closed)
    return p, ~fixed_closed


@pytest.mark.parametrize("seed", range(60))
def test_the_search_returns_a_cover_no_better_than_brute_force_and_finds_it(seed):
    p, start = _random_case(seed)
    best, _ = brute_force(p)
    out = row_weighting_search(p, start, CoverArrays.of(p), seed=seed)
    assert out.plan is not None and feasible(p, out.plan)
    assert out.value == pytest.approx(float(p.site_cost[out.plan].sum()))
    assert out.value >= best - 1e-9                    # never below the optimum
    assert out.value == pytest.approx(best)            # and on covers this small it finds it


def test_the_same_seed_gives_the_same_cover_however_the_steps_are_cut(monkeypatch):
    rng = np.random.default_rng(7)
    a = rng.random((400, 90)) < 0.05
    a[~a.any(axis=1), 0] = True
    p = _cover(a)
    arrays, start = CoverArrays.of(p), np.ones(90, bool)
    whole = row_weighting_search(p, start, arrays, seed=3, max_steps=30_000, stall_steps=10**9)
    monkeypatch.setattr(rwls_mod, "CHUNK_STEPS", 777)
    cut = row_weighting_search(p, start, arrays, seed=3, max_steps=30_000, stall_steps=10**9)
    assert whole.steps == cut.steps == 30_000
    assert np.array_equal(whole.plan, cut.plan)
    other = row_weighting_search(p, start, arrays, seed=4, max_steps=30_000, stall_steps=10**9)
    assert feasible(p, other.plan)


def test_it_stops_at_the_target_and_keeps_the_limits():
    a = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 1]], bool)   # optimum: 2 sites
    p = _cover(a)
    arrays = CoverArrays.of(p)
    out = row_weighting_search(p, np.ones(4, bool), arrays, target=2, max_steps=10**6, stall_steps=10**6)
    assert out.value == 2.0 and out.steps == 0        # dropping redundant sites reached the target at once
    # no cover of one site exists: the search runs to its step limit and returns its best (2)
    out = row_weighting_search(p, np.ones(4, bool), arrays, target=1, max_steps=5_000, stall_steps=10**6)
    assert out.value == 2.0 and out.steps == 5_000
    # the best cover breaks the site limit / the budget: no plan
    for limited in (_cover(a, max_sites=1), _cover(a, 3.0, budget=5.0)):
        assert row_weighting_search(limited, np.ones(4, bool), CoverArrays.of(limited)).plan is None


def test_no_start_cover_no_search(monkeypatch):
    a = np.array([[1, 0], [0, 1]], bool)
    p = _cover(a)
    arrays = CoverArrays.of(p)
    assert row_weighting_search(p, None, arrays).plan is None
    assert row_weighting_search(p, np.array([True, False]), arrays).plan is None      # row 1 uncovered
    # every row covered by a required site: nothing to search
    q = _cover(a, fixed_open=np.array([True, True]))
    assert row_weighting_search(q, np.ones(2, bool), CoverArrays.of(q)).plan is None
    # a short phase does not load numba or the kernels: no search when this process has not run them yet
    monkeypatch.delitem(sys.modules, "numba")
    monkeypatch.delitem(sys.modules, "siting.heuristics._rwls_kernels", raising=False)
    assert row_weighting_search(p, np.ones(2, bool), arrays, compile_ok=False).plan is None


def _geometric_cover(n_demand: int, n_sites: int, density: float, seed: int) -> sp.csr_matrix:
    """Sites within distance 1 of each point; ``density`` sites' discs per point on average."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    side = np.sqrt(np.pi / density)
    d, s = rng.uniform(0, side, (n_demand, 2)), rng.uniform(0, side, (n_sites, 2))
    pairs = cKDTree(d).sparse_distance_matrix(cKDTree(s), 1.0, output_type="coo_matrix")
    a = sp.csr_matrix((np.ones(pairs.nnz, bool), (pairs.row, pairs.col)), shape=(n_demand, n_sites))
    return a[np.diff(a.indptr) > 0]


def test_the_lscp_phase_runs_it_on_larger_equal_cost_covers_and_keeps_a_verified_plan():
    a = _geometric_cover(8_000, 800, 0.01, 1)           # presolved: 916 x 574, 5,767 nonzeros
    p = _cover(a.toarray(), 4.0)
    out = solve_coverage(p, backend="highs", strategy="heuristic", options=SolveOptions(time_limit_s=8))
    stats = out.stats
    assert stats["rwls_steps"] > 0 and stats["rwls_value"] is not None
    # the search beat the Lagrangian covers here, and the plan reported is a cover at least that good
    assert stats["rwls_value"] < stats["lagrangian_value"] and "rwls" in out.method
    assert feasible(p, out.open_sites) and out.objective <= stats["rwls_value"] + stats["cost_offset"] + 1e-9
    assert out.objective >= out.bound - 1e-9
    # unequal costs: not run
    q = p.with_(site_cost=np.where(np.arange(p.n_sites) % 2 == 0, 4.0, 5.0))
    assert "rwls_steps" not in solve_coverage(q, backend="highs", strategy="heuristic",
                                              options=SolveOptions(time_limit_s=8)).stats

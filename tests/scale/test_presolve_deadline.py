"""Presolve under a deadline: stopping anywhere keeps the optimum, no deadline changes nothing, and
``solve_coverage`` keeps its time limit on a dense cover whose row-dominance search alone takes ~12 s."""
from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp

from siting.options import SolveOptions
from siting.presolve import contained_rows, dominated_sites, presolve, take_rows, take_sites
from siting.problem import CoverageProblem, ModelType
from siting.strategy import solve_coverage

from .helpers import brute_force, feasible, random_problem, value


def _stops_after(n_checks: int):
    """A stand-in for ``expired``: the deadline counts as passed from the ``n_checks + 1``-th look on."""
    seen = [0]

    def expired(deadline):
        seen[0] += 1
        return deadline is not None and seen[0] > n_checks
    return expired


def _lscp(a: np.ndarray, cost: np.ndarray | None = None) -> CoverageProblem:
    a = a[a.any(axis=1)]
    m, n = a.shape
    cost = np.ones(n) if cost is None else cost
    return CoverageProblem(ModelType.LSCP, sp.csr_matrix(a), np.ones(m), cost, np.zeros(n, bool),
                           np.zeros(n, bool), np.ones(n, bool), total_weight=float(m))


def _nested_cover(seed: int, m: int = 40, n: int = 10) -> np.ndarray:
    """A random cover with many nested rows and columns, so both dominance searches have work to cut."""
    rng = np.random.default_rng(seed)
    a = rng.random((m, n)) < 0.3
    a[m // 2:] |= a[: m - m // 2]                  # the lower rows contain the upper ones
    a[:, : n // 3] = a[:, n // 3: 2 * (n // 3)] & (rng.random((m, n // 3)) < 0.7)  # nested columns
    return a


def _assert_keeps_optimum(p: CoverageProblem, res, best: float | None = None) -> None:
    best = brute_force(p)[0] if best is None else best
    assert res.infeasible is None
    rbest, rx = brute_force(res.problem)
    assert rbest is not None
    x = res.expand(rx)
    assert feasible(p, x)
    assert value(p, x) == pytest.approx(best)


@pytest.mark.parametrize("model", list(ModelType))
@pytest.mark.parametrize("seed", range(4))
def test_a_passed_deadline_still_gives_a_valid_reduction(model, seed):
    p = random_problem(seed, model=model, n_demand=30, n_sites=10, density=0.25)
    res = presolve(p, deadline=time.perf_counter() - 1.0)
    _assert_keeps_optimum(p, res)
    # the first pass ran (closed and fixed-open sites are gone), then the chain stopped
    q = res.problem
    assert not q.fixed_closed.any() and not q.fixed_open.any()
    assert all(entry.get("cut_short") == 1.0 for entry in res.stats.values())
    if model == ModelType.LSCP:
        # the rows no site covers are the ones the LSCP report drops: all found in the first pass
        assert (np.diff(q.coverage.indptr) > 0).all()
        assert res.uncoverable_rows == presolve(p).uncoverable_rows > 0
        assert res.stats["drop_dominated_rows"]["rows_removed"] == 0


def test_the_row_search_stops_at_a_passed_deadline():
    a = _nested_cover(0)
    full = contained_rows(sp.csr_matrix(a))
    assert full.any()
    assert not contained_rows(sp.csr_matrix(a), deadline=time.perf_counter()).any()
    assert not dominated_sites(_lscp(a), deadline=time.perf_counter()).any()


@pytest.mark.parametrize("seed", range(3))
def test_a_row_search_cut_after_any_batch_keeps_the_optimum(seed, monkeypatch):
    p = _lscp(_nested_cover(seed))
    best, _ = brute_force(p)
    full = contained_rows(p.coverage)
    sizes: list[int] = []
    for n_checks in range(0, 40):
        monkeypatch.setattr("siting.presolve.covering.expired", _stops_after(n_checks))
        part = contained_rows(p.coverage, chunk_pairs=8, deadline=0.0)
        assert not (part & ~full).any()            # only rows the full search drops
        if not sizes or part.sum() != sizes[-1]:
            assert brute_force(take_rows(p, ~part))[0] == pytest.approx(best)
        sizes.append(int(part.sum()))
        if part.sum() == full.sum():
            break
    assert sizes[0] == 0 and sizes[-1] == int(full.sum()) and len(set(sizes)) > 2  # the cut fell mid-search


@pytest.mark.parametrize("seed", range(3))
def test_a_site_search_cut_after_any_batch_keeps_the_optimum(seed, monkeypatch):
    p = _lscp(_nested_cover(seed, m=30))
    best, _ = brute_force(p)
    full = dominated_sites(p)
    sizes: list[int] = []
    for n_checks in range(0, 40):
        monkeypatch.setattr("siting.presolve.dominance.expired", _stops_after(n_checks))
        part = dominated_sites(p, chunk_pairs=2, deadline=0.0)
        assert not (part & ~full).any()            # only sites the full search drops
        if not sizes or part.sum() != sizes[-1]:
            assert brute_force(take_sites(p, ~part)[0])[0] == pytest.approx(best)
        sizes.append(int(part.sum()))
        if part.sum() == full.sum():
            break
    assert sizes[0] == 0 and sizes[-1] == int(full.sum()) and len(set(sizes)) > 2


@pytest.mark.parametrize("model", [ModelType.LSCP, ModelType.MCLP])
def test_the_chain_stopped_between_any_two_reductions_keeps_the_optimum(model, monkeypatch):
    p = random_problem(5, model=model, n_demand=30, n_sites=10, density=0.3)
    best, _ = brute_force(p)
    full = presolve(p)
    far = time.perf_counter() + 1e6              # the searches never stop: only the chain is cut
    seen = set()
    for n_checks in range(0, 400):
        monkeypatch.setattr("siting.presolve.chain.expired", _stops_after(n_checks))
        res = presolve(p, deadline=far)
        key = (res.problem.n_demand, res.problem.n_sites, int(res.problem.fixed_open.sum()), len(res.inverses))
        if key not in seen:
            seen.add(key)
            _assert_keeps_optimum(p, res, best)
        cut = any(entry.get("cut_short") for entry in res.stats.values())
        if not cut:                                # ran to the fixed point: the same reduced problem
            assert res.problem.n_demand == full.problem.n_demand and res.problem.n_sites == full.problem.n_sites
            break
        assert res.problem.n_sites >= full.problem.n_sites
    else:
        pytest.fail("the chain never reached its fixed point")


def _same_problem(a: CoverageProblem, b: CoverageProblem) -> bool:
    ca, cb = a.coverage, b.coverage
    return (ca.shape == cb.shape and np.array_equal(ca.indptr, cb.indptr) and np.array_equal(ca.indices, cb.indices)
            and np.array_equal(a.demand_weight, b.demand_weight) and np.array_equal(a.site_cost, b.site_cost)
            and np.array_equal(a.site_origin, b.site_origin) and np.array_equal(a.fixed_open, b.fixed_open)
            and a.budget == b.budget and a.max_sites == b.max_sites
            and a.base_covered_weight == b.base_covered_weight)


@pytest.mark.parametrize("model", list(ModelType))
@pytest.mark.parametrize("seed", range(4))
def test_without_a_deadline_nothing_changes(model, seed):
    rng = np.random.default_rng(seed)
    p = random_problem(seed, model=model, n_demand=300, n_sites=60, density=float(rng.uniform(0.02, 0.1)))
    plain = presolve(p)
    far = presolve(p, deadline=time.perf_counter() + 1e6)  # smaller batches, never cut
    assert _same_problem(plain.problem, far.problem)
    assert plain.cost_offset == far.cost_offset
    assert not any("cut_short" in entry for entry in plain.stats.values())
    assert not any("cut_short" in entry for entry in far.stats.values())
    assert np.array_equal(plain.forced_open, far.forced_open)


@pytest.mark.parametrize("seed", range(3))
def test_row_search_matches_the_dense_rule_with_and_without_deadline(seed):
    rng = np.random.default_rng(seed)
    a = rng.random((120, 12)) < 0.3
    a[60:] = a[:60] | (rng.random((60, 12)) < 0.1)
    a = a[a.any(axis=1)]
    inter = a.astype(int) @ a.T.astype(int)
    size = a.sum(axis=1)
    sub = inter == size[None, :]                     # sub[i, k]: row k's set lies inside row i's
    idx = np.arange(a.shape[0])
    strict = sub & ((size[:, None] > size[None, :]) | (idx[:, None] > idx[None, :]))
    want = strict.any(axis=1)
    assert want.any()
    assert np.array_equal(contained_rows(sp.csr_matrix(a)), want)
    assert np.array_equal(contained_rows(sp.csr_matrix(a), deadline=time.perf_counter() + 1e6), want)


def test_solve_coverage_keeps_its_time_limit_on_a_dense_cover():
    # 20,000 x 200 at 10 %: the row-dominance search alone took ~12 s (finding nothing) before the deadline
    rng = np.random.default_rng(0)
    a = sp.random(20_000, 200, density=0.1, format="csr", random_state=rng, data_rvs=np.ones) != 0
    a = sp.csr_matrix(a[np.diff(a.indptr) > 0])
    n_d, n_s = a.shape
    p = CoverageProblem(ModelType.LSCP, a, np.ones(n_d), np.full(n_s, 3.0), np.zeros(n_s, bool),
                        np.zeros(n_s, bool), np.ones(n_s, bool), total_weight=float(n_d))
    limit_s = 1.0
    t0 = time.perf_counter()
    out = solve_coverage(p, strategy="heuristic", options=SolveOptions(time_limit_s=limit_s))
    wall_s = time.perf_counter() - t0
    assert out.stats["presolve_cut_short"] is True
    assert out.stats["presolve"]["drop_dominated_rows"].get("cut_short") == 1.0
    assert out.stats["presolve_seconds"] < 0.2 * limit_s + 0.5
    assert wall_s < limit_s + 1.0, wall_s             # 12.4 s before (load: the suite runs on 2 shared cores)
    assert out.open_sites is not None and p.covered_mask(out.open_sites).all()


def test_no_time_limit_means_no_deadline():
    p = random_problem(1, model=ModelType.LSCP, n_demand=40, n_sites=10)
    out = solve_coverage(p, strategy="heuristic")
    assert out.stats["presolve_cut_short"] is False

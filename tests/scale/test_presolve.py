"""Presolve reductions: each keeps the optimum (checked by brute force) and reports its counts."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from siting.presolve import dominated_sites, drop_uncoverable_demand, fix_forced_sites, merge_identical_rows, presolve
from siting.problem import CoverageProblem, ModelType

from .helpers import brute_force, feasible, random_problem, value


def _problem(a, w=None, cost=None, model=ModelType.MCLP, **kw):
    a = sp.csr_matrix(np.asarray(a, dtype=bool))
    m, n = a.shape
    w = np.ones(m) if w is None else np.asarray(w, float)
    cost = np.ones(n) if cost is None else np.asarray(cost, float)
    return CoverageProblem(model, a, w, cost, np.zeros(n, bool), np.zeros(n, bool), np.ones(n, bool),
                           total_weight=float(w.sum()), **kw)


def test_merge_identical_rows_sums_weights_and_keeps_distinct_rows():
    p = _problem([[1, 0, 1], [0, 1, 0], [1, 0, 1], [1, 0, 0], [0, 1, 0]], w=[1, 2, 3, 4, 5])
    q, inv = merge_identical_rows(p)
    assert q.n_demand == 3
    assert sorted(q.demand_weight.tolist()) == [4.0, 4.0, 7.0]
    # group maps each original row to a reduced row with the same coverage set
    for i in range(5):
        assert (p.coverage[i].toarray() == q.coverage[inv.group[i]].toarray()).all()


def test_drop_uncoverable_and_forced():
    p = _problem([[1, 0, 0], [0, 0, 0], [1, 1, 0], [0, 1, 1]], model=ModelType.LSCP)
    q, _ = drop_uncoverable_demand(p)
    assert q.n_demand == 3
    r, _ = fix_forced_sites(q)
    assert r.fixed_open.tolist() == [True, False, False]


def test_dominated_rule_costs_and_ties():
    # col0 subset of col1 (cheaper) -> dominated; col2 == col3, same cost -> exactly one removed;
    # col4 subset of col1 but cheaper -> kept
    a = [[1, 1, 0, 0, 1], [0, 1, 1, 1, 0], [1, 1, 0, 0, 0], [0, 0, 1, 1, 0]]
    p = _problem(a, cost=[3, 2, 1, 1, 1])
    d = dominated_sites(p)
    assert d.tolist() == [True, False, False, True, False]
    # different limit flags: no domination
    p2 = p.with_(counts_toward_limit=np.array([False, True, True, True, True]))
    assert not dominated_sites(p2)[0]


@pytest.mark.parametrize("model", list(ModelType))
@pytest.mark.parametrize("seed", range(12))
def test_presolve_keeps_optimum(model, seed):
    p = random_problem(seed, model=model, n_demand=30, n_sites=10, density=0.2 + 0.02 * (seed % 5))
    best, _ = brute_force(p)
    res = presolve(p)
    if best is None:
        assert res.infeasible is not None or brute_force(res.problem)[0] is None
        return
    assert res.infeasible is None
    q = res.problem
    assert q.n_sites <= p.n_sites and q.n_demand <= p.n_demand
    rbest, rx = brute_force(q)
    assert rbest is not None
    x = res.expand(rx)
    assert x.shape == (p.n_sites,)
    assert feasible(p, x)
    assert value(p, x) == pytest.approx(best)
    if model == ModelType.MCLP:
        assert rbest == pytest.approx(best)            # base_covered_weight carried in the reduced problem
    else:
        assert rbest + res.cost_offset == pytest.approx(best)
    for entry in res.stats.values():
        assert set(entry) >= {"rows_removed", "cols_removed", "seconds"}


def test_presolve_reports_counts():
    p = random_problem(3, model=ModelType.MCLP, n_demand=40, n_sites=10)
    res = presolve(p)
    st = res.stats
    assert st["drop_closed_sites"]["cols_removed"] >= 1
    assert st["drop_uncoverable_demand"]["rows_removed"] >= 1
    assert st["merge_identical_rows"]["rows_removed"] >= 1
    assert st["absorb_fixed_open"]["cols_removed"] >= 1


@pytest.mark.parametrize("seed", range(4))
def test_dominated_sites_matches_dense_rule(seed):
    rng = np.random.default_rng(seed)
    m, n = 60, 40
    a = rng.random((m, n)) < 0.08
    # plant subsets and duplicates
    for j in range(0, 10):
        a[:, j] = a[:, j + 10] & (rng.random(m) < 0.7)
    a[:, 30] = a[:, 31]
    cost = rng.integers(1, 4, n).astype(float)
    limit = rng.random(n) < 0.9
    p = _problem(a, cost=cost).with_(counts_toward_limit=limit)
    got = dominated_sites(p)
    inter = a.T.astype(int) @ a.astype(int)
    deg = a.sum(axis=0)
    want = np.zeros(n, bool)
    for j in range(n):
        if deg[j] == 0:
            continue
        for k in range(n):
            if k == j or limit[k] != limit[j] or cost[k] > cost[j] or inter[j, k] != deg[j]:
                continue
            if deg[k] > deg[j] or cost[k] < cost[j] or k < j:
                want[j] = True
    assert (got == want).all(), (np.flatnonzero(got != want))

"""The best assignment of a plan (siting.models.assignment) against independent dense LPs on tiny instances."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from siting.backends import available_backends
from siting.data.instance import SiteStatus
from siting.errors import VerificationError
from siting.models.assignment import best_assignment
from siting.models.base import Plan
from siting.models.capacitated import MODEL, CapacitatedParams, coverage_pairs, site_capacity, solve_capacitated
from siting.rules import SiteRules
from siting.testing import random_instance


def tiny_pairs(rng, n_demand, n_sites):
    d, s = np.nonzero(rng.random((n_demand, n_sites)) < 0.7)
    return d, s, rng.integers(0, 12, d.shape[0]).astype(float)


def dense_lp(pairs, weight, cap, open_sites, *, serve_all=False, cost=None, floor=None):
    """An independent dense LP over the open pairs (None without any); ``floor`` = least assigned weight."""
    d, s, t = pairs
    on = open_sites[s] & (True if serve_all else weight[d] > 0)
    d, s, t = d[on], s[on], t[on]
    k, n_d, n_s = d.shape[0], weight.shape[0], cap.shape[0]
    if k == 0:
        return None
    cols = np.arange(k)
    rows_d = np.zeros((n_d, k))
    rows_d[d, cols] = 1.0
    rows_c = np.zeros((n_s, k))
    rows_c[s, cols] = weight[d]
    a_ub, b_ub = [rows_c], [np.where(np.isfinite(cap), cap, 1e12)]
    if not serve_all:
        a_ub.append(rows_d)
        b_ub.append(np.ones(n_d))
    if floor is not None:
        a_ub.append(-weight[d][None, :])
        b_ub.append(np.array([-floor]))
    c = -weight[d] if cost is None else cost[on]
    used = rows_d.any(axis=1)
    res = linprog(c, A_ub=np.vstack(a_ub), b_ub=np.concatenate(b_ub),
                  A_eq=rows_d[used] if serve_all else None, b_eq=np.ones(int(used.sum())) if serve_all else None,
                  bounds=(0, 1), method="highs")
    return res


@pytest.mark.parametrize("seed", range(60))
def test_coverage_is_the_largest_and_then_the_nearest(seed):
    rng = np.random.default_rng(seed)
    n_d, n_s = int(rng.integers(1, 9)), int(rng.integers(1, 6))
    pairs = tiny_pairs(rng, n_d, n_s)
    weight = rng.integers(0, 50, n_d).astype(float)
    cap = rng.choice([10.0, 30.0, 60.0, np.inf], n_s)
    open_sites = rng.random(n_s) < 0.7
    got = best_assignment(pairs, weight, cap, open_sites)
    most = dense_lp(pairs, weight, cap, open_sites)
    top = 0.0 if most is None else -most.fun
    assert got.assigned_weight == pytest.approx(top, rel=1e-9, abs=1e-9)
    # among the largest assignments, the fewest weighted minutes (the reference keeps a 1e-7 slack)
    if top > 0:
        d, s, t = pairs
        nearest = dense_lp(pairs, weight, cap, open_sites, cost=weight[d] * t, floor=top * (1 - 1e-7))
        assert got.cost == pytest.approx(nearest.fun, rel=1e-5, abs=1e-5)
    assert np.all(got.load <= cap * (1 + 1e-9))
    assert np.all(got.share[~open_sites[pairs[1]]] == 0)
    assert np.all((got.covered > 0) == (got.site >= 0))
    assert np.all(np.isfinite(got.minutes) == (got.site >= 0))
    # the main site is a pair of largest share
    for i in np.flatnonzero(got.site >= 0):
        mine = pairs[0] == i
        assert got.share[mine & (pairs[1] == got.site[i])].max() == got.share[mine].max()


@pytest.mark.parametrize("seed", range(30))
def test_serve_all_is_the_cheapest(seed):
    rng = np.random.default_rng(100 + seed)
    n_d, n_s = int(rng.integers(1, 8)), int(rng.integers(2, 6))
    d, s = np.nonzero(np.ones((n_d, n_s), bool))
    pairs = (d, s, rng.integers(1, 12, d.shape[0]).astype(float))
    weight = rng.integers(1, 50, n_d).astype(float)
    cap = rng.choice([20.0, 60.0, 150.0, np.inf], n_s)
    open_sites = rng.random(n_s) < 0.8
    cost = rng.random(d.shape[0]) * 100
    ref = dense_lp(pairs, weight, cap, open_sites, serve_all=True, cost=cost)
    if ref is None or ref.status != 0:
        with pytest.raises(VerificationError, match="cannot serve every demand point"):
            best_assignment(pairs, weight, cap, open_sites, serve_all=True, pair_cost=cost, model="cflp")
        return
    got = best_assignment(pairs, weight, cap, open_sites, serve_all=True, pair_cost=cost)
    assert got.cost == pytest.approx(ref.fun, rel=1e-9, abs=1e-9)
    assert np.allclose(got.covered, 1.0) and np.all(got.site >= 0)


def test_without_binding_capacity_every_point_goes_to_its_nearest_open_site():
    pairs = (np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 1, 1]), np.array([4.0, 2.0, 1.0, 1.0, 9.0]))
    got = best_assignment(pairs, np.array([5.0, 5.0, 5.0]), np.array([np.inf, 100.0]), np.array([True, True]))
    assert got.method == "nearest"
    assert got.site.tolist() == [1, 0, 1]              # ties to the lower site index
    assert got.minutes.tolist() == [2.0, 1.0, 9.0] and got.assigned_weight == 15.0


def test_a_full_site_sends_the_farther_point_elsewhere():
    # both points prefer site 0 (capacity for one); point 1 has a second choice, point 0 has none
    pairs = (np.array([0, 1, 1]), np.array([0, 0, 1]), np.array([3.0, 1.0, 8.0]))
    got = best_assignment(pairs, np.array([10.0, 10.0]), np.array([10.0, np.inf]), np.array([True, True]))
    assert got.method == "lp" and got.assigned_weight == 20.0
    assert got.site.tolist() == [0, 1] and got.share.tolist() == [1.0, 0.0, 1.0]


def test_repeated_calls_give_identical_shares():
    rng = np.random.default_rng(7)
    pairs = tiny_pairs(rng, 40, 8)
    weight = rng.integers(1, 40, 40).astype(float)
    cap = np.full(8, 60.0)
    first = best_assignment(pairs, weight, cap, np.ones(8, bool))
    again = best_assignment(pairs, weight, cap, np.ones(8, bool))
    assert first.method == "lp" and np.array_equal(first.share, again.share)


# ------------------------------------------------------------------ the capacitated model reports the plan
def forced(inst, open_mask):
    """The instance with ``open_mask`` required and every other site excluded: one plan for every backend."""
    status = np.where(open_mask, SiteStatus.REQUIRED, SiteStatus.EXCLUDED).astype(object)
    return replace(inst, sites=replace(inst.sites, status=status))


@pytest.mark.parametrize("seed", range(4))
def test_every_backend_reports_the_same_figures_for_the_same_plan(seed):
    base = random_instance(30, 8, seed=seed, capacity=True, groups=True)
    inst = forced(base, np.isin(np.arange(8), [0, 3, 5, 6]))
    cap = site_capacity(inst) / 3                      # capacities bind
    results = {b: solve_capacitated(inst, threshold_min=12, max_sites=4, capacity=cap, backend=b)
               for b in available_backends()}
    # the weight-0 case: a weight column with zeros (those points are never assigned)
    zeros = {b: solve_capacitated(inst, threshold_min=12, max_sites=4, capacity=cap, backend=b,
                                  weight_column="children") for b in available_backends()}
    for runs in (results, zeros):
        first = next(iter(runs.values()))
        assert first.has_solution
        for backend, r in runs.items():
            assert r.covered_weight == first.covered_weight, backend
            pd.testing.assert_frame_equal(r.coverage, first.coverage)
            pd.testing.assert_frame_equal(r.sites.drop(columns="marginal_weight", errors="ignore"),
                                          first.sites.drop(columns="marginal_weight", errors="ignore"))
    assert (zeros["highs"].coverage.loc[lambda c: c.weight == 0, "covered"] == False).all()  # noqa: E712


def test_figures_do_not_depend_on_the_solver_assignment():
    inst = random_instance(25, 6, seed=3, capacity=True)
    params, rules = CapacitatedParams(threshold_min=12, max_sites=3, capacity=40.0), SiteRules.of(inst)
    open_sites = np.isin(np.arange(6), [1, 2, 4])
    pairs = coverage_pairs(inst, inst.demand.population, rules, 12)
    plain = MODEL.evaluate(inst, params, rules, Plan(open_sites))
    idle = MODEL.evaluate(inst, params, rules, Plan(open_sites, assignment=np.zeros(pairs[0].shape[0])))
    assert plain.covered_weight > 0 and idle.covered_weight == plain.covered_weight
    pd.testing.assert_frame_equal(plain.coverage, idle.coverage)
    # the solver's assignment is still checked: demand on a closed site is refused
    on_closed = (~open_sites[pairs[1]]).astype(float)
    with pytest.raises(VerificationError, match="closed site"):
        MODEL.evaluate(inst, params, rules, Plan(open_sites, assignment=on_closed))

"""The credit Lagrangian bound (gradual coverage): valid against brute force, never above the trivial bound."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from siting.heuristics.credit_lagrangian import credit_bound
from siting.models.gradual import GradualParams, solve_gradual
from siting.testing import random_instance


def random_pairs(rng, n_demand, n_sites):
    d, s = np.nonzero(rng.random((n_demand, n_sites)) < 0.5)
    return d, s, rng.random(d.shape[0]) * rng.integers(1, 20, d.shape[0])


def brute(d, s, v, n_demand, n_sites, cost, fixed_open, free, counts, budget, max_sites):
    best = 0.0
    options = np.flatnonzero(free)
    for k in range(options.size + 1):
        for chosen in combinations(options, k):
            plan = fixed_open.copy()
            plan[list(chosen)] = True
            if budget is not None and cost[plan].sum() > budget + 1e-9:
                continue
            if max_sites is not None and int((plan & counts).sum()) > max_sites:
                continue
            earned = np.zeros(n_demand)
            on = plan[s]
            np.maximum.at(earned, d[on], v[on])
            best = max(best, float(earned.sum()))
    return best


@pytest.mark.parametrize("seed", range(40))
def test_the_bound_is_valid_and_never_above_every_point_at_its_best(seed):
    rng = np.random.default_rng(seed)
    n_demand, n_sites = 9, 7
    d, s, v = random_pairs(rng, n_demand, n_sites)
    cost = rng.integers(1, 6, n_sites).astype(float)
    fixed_open = rng.random(n_sites) < (0.15 if seed % 2 else 0.0)
    closed = ~fixed_open & (rng.random(n_sites) < 0.15)
    free = ~fixed_open & ~closed
    counts = rng.random(n_sites) < 0.8
    budget = float(cost[fixed_open].sum() + rng.integers(2, 9)) if seed % 3 != 1 else None
    max_sites = int((fixed_open & counts).sum()) + int(rng.integers(1, 4)) if seed % 3 != 0 else None
    optimum = brute(d, s, v, n_demand, n_sites, cost, fixed_open, free, counts, budget, max_sites)
    trivial = np.zeros(n_demand)
    usable = (fixed_open | free)[s]
    np.maximum.at(trivial, d[usable], v[usable])
    out = credit_bound(d[usable], s[usable], v[usable], n_demand, n_sites, cost=cost, fixed_open=fixed_open,
                       free=free, counts=counts, budget=budget, max_sites=max_sites, target=0.9 * optimum)
    assert out.bound >= optimum - 1e-7 * max(1.0, optimum)
    assert out.bound <= trivial.sum() + 1e-9
    assert out.steps >= 1


def test_it_closes_most_of_the_trivial_gap_on_a_city():
    """Tight budget: the trivial bound counts every point at its best site; the Lagrangian sees the budget."""
    rng = np.random.default_rng(7)
    n_demand, n_sites = 400, 60
    d, s, v = random_pairs(rng, n_demand, n_sites)
    cost = np.ones(n_sites)
    out = credit_bound(d, s, v, n_demand, n_sites, cost=cost, fixed_open=np.zeros(n_sites, bool),
                       free=np.ones(n_sites, bool), counts=np.ones(n_sites, bool), budget=3.0, max_sites=None,
                       target=0.0)
    trivial = np.zeros(n_demand)
    np.maximum.at(trivial, d, v)
    assert out.bound < 0.8 * trivial.sum()


def test_a_stop_before_any_step_still_gives_the_trivial_bound():
    rng = np.random.default_rng(3)
    d, s, v = random_pairs(rng, 20, 6)
    trivial = np.zeros(20)
    np.maximum.at(trivial, d, v)
    out = credit_bound(d, s, v, 20, 6, cost=np.ones(6), fixed_open=np.zeros(6, bool), free=np.ones(6, bool),
                       counts=np.ones(6, bool), budget=2.0, max_sites=None, target=1.0, deadline=0.0)
    assert out.steps == 1 and out.bound == pytest.approx(trivial.sum())


@pytest.mark.parametrize("seed", range(4))
def test_gradual_reports_it(seed):
    inst = random_instance(30, 10, seed=seed)
    r = solve_gradual(inst, threshold_min=5, outer_threshold_min=15, budget=float(inst.sites.cost.sum() / 4))
    params = GradualParams(threshold_min=5, outer_threshold_min=15, budget=float(inst.sites.cost.sum() / 4))
    assert params.budget is not None
    assert r.status.value == "optimal"
    assert r.stats["model_bound"] >= r.objective - 1e-7 * max(1.0, r.objective)

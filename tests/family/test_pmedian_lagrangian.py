"""p-median Lagrangian bound, reduced-cost fixing, branch and bound and fast swap against brute force.

Small random instances, weighted, with missing pairs (a missing pair is unreachable) and site statuses; every
claim is checked against the enumeration of all plans.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from siting.heuristics.pmedian_branch import lagrangian_branch_and_bound
from siting.heuristics.pmedian_lagrangian import PairWindows, lagrangian_fixing, pmedian_lagrangian, subgradient
from siting.heuristics.pmedian_swap import fast_swap
from siting.models.pmedian import solve_pmedian
from siting.models.reachable import reachable_pairs
from siting.rules import SiteRules
from siting.testing import random_instance, subsets


def setup(seed: int, *, n_demand: int = 10, n_sites: int = 9, density: float = 0.6, statuses: bool = True,
          fractional: bool = False):
    inst = random_instance(n_demand, n_sites, seed=seed, density=density, statuses=statuses)
    if fractional:
        rng = np.random.default_rng(seed)
        travel = replace(inst.travel, minutes=inst.travel.minutes + rng.random(inst.travel.minutes.shape[0]))
        inst = replace(inst, travel=travel, demand=replace(inst.demand, population=inst.demand.population * 0.37))
    rules = SiteRules.of(inst)
    weight = inst.demand.population.astype(float)
    d, s, t = reachable_pairs(inst, weight, rules, "pmedian", unreachable="drop")
    fixed = (rules.lower > 0.5) & (rules.upper > 0.5)
    free = (rules.lower < 0.5) & (rules.upper > 0.5)
    return inst, rules, weight, d, s, t, fixed, free


def plans(d, s, t, weight, fixed, free, m, n_sites):
    """Every plan (fixed open, exactly m free open) with its weighted minutes over the points with pairs."""
    active = np.zeros(weight.shape[0], bool)
    active[d] = True
    for mask in subsets(n_sites):
        if np.any(mask & ~fixed & ~free) or np.any(fixed & ~mask) or int((mask & free).sum()) != m:
            continue
        near = np.full(weight.shape[0], np.inf)
        on = mask[s]
        np.minimum.at(near, d[on], t[on])
        yield mask, float(np.sum(weight[active] * near[active]))


CASES = [(seed, fractional) for seed in range(10) for fractional in (False, True)]


@pytest.mark.parametrize(("seed", "fractional"), CASES)
def test_bound_fixing_and_branch_against_brute_force(seed, fractional):
    inst, rules, weight, d, s, t, fixed, free = setup(seed, fractional=fractional)
    m = max(1, min(2 + seed % 2, int(free.sum()) - 1))
    every = [(mask, cost) for mask, cost in plans(d, s, t, weight, fixed, free, m, inst.n_sites)]
    feasible = [(mask, cost) for mask, cost in every if np.isfinite(cost)]
    if not feasible:
        pytest.skip("no plan reaches every point with pairs")
    optimum = min(cost for _, cost in feasible)
    worst = max(cost for _, cost in feasible)
    integral = not fractional
    r = pmedian_lagrangian(d, s, t, weight, fixed, free, m, upper_bound=worst, integral=integral)
    assert r.bound <= optimum + 1e-7 * max(1.0, optimum)
    if r.best_plan is not None and np.isfinite(r.best_value):
        assert any(np.array_equal(r.best_plan, mask) and cost == pytest.approx(r.best_value) for mask, cost in every)
    # fixing against an incumbent: every strictly better plan (by 1 with integral data) keeps the fixed states
    for incumbent in sorted({cost for _, cost in feasible})[:4]:
        closed, opened = lagrangian_fixing(r, free, incumbent, integral)
        assert not np.any(closed & opened)
        limit = incumbent - 1.0 if integral else incumbent
        for mask, cost in feasible:
            if cost <= limit + 1e-9:
                assert not np.any(mask & closed) and np.all(mask[opened]), (incumbent, cost)
    # branch and bound from the worst plan: finds the optimum and says it finished
    pairs = PairWindows(d, s, weight[d] * t, weight.shape[0], inst.n_sites)
    start = max(feasible, key=lambda x: x[1])[0]
    b = lagrangian_branch_and_bound(pairs, fixed, free, m, incumbent=start, incumbent_value=worst,
                                    multipliers=r.multipliers, integral=integral)
    assert b.finished and b.best_value == pytest.approx(optimum)
    assert pairs.plan_cost(b.best_plan) == pytest.approx(optimum)


@pytest.mark.parametrize("seed", range(6))
def test_windows_are_exactly_the_cheaper_pairs(seed):
    inst, rules, weight, d, s, t, fixed, free = setup(seed, fractional=seed % 2 == 1)
    pairs = PairWindows(d, s, weight[d] * t, weight.shape[0], inst.n_sites)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        # multipliers on and between the costs (ties must not count: c < u strictly)
        u = rng.choice(pairs.cost, weight.shape[0]) + rng.choice([0.0, 0.5, -0.25], weight.shape[0])
        got = np.zeros(pairs.d.shape[0], bool)
        got[pairs.below(u)] = True
        assert np.array_equal(got, pairs.cost < u[pairs.d])


@pytest.mark.parametrize("seed", range(6))
def test_fast_swap_reaches_a_swap_local_optimum(seed):
    inst, rules, weight, d, s, t, fixed, free = setup(seed, density=0.8)
    pairs = PairWindows(d, s, weight[d] * t, weight.shape[0], inst.n_sites)
    m = min(2, int(free.sum()) - 1)
    feasible = [(mask, cost) for mask, cost in plans(d, s, t, weight, fixed, free, m, inst.n_sites)
                if np.isfinite(cost)]
    if not feasible:
        pytest.skip("no plan reaches every point with pairs")
    start, start_cost = max(feasible, key=lambda x: x[1])
    plan = fast_swap(pairs, start, free)
    cost = pairs.plan_cost(plan)
    assert cost <= start_cost and np.array_equal(plan & ~free, start & ~free)
    assert int((plan & free).sum()) == m
    # no single swap improves it
    for a in np.flatnonzero(plan & free):
        for b in np.flatnonzero(~plan & free):
            other = plan.copy()
            other[a], other[b] = False, True
            assert pairs.plan_cost(other) >= cost - 1e-9


def test_subgradient_proves_an_integral_optimum_and_stops():
    inst, rules, weight, d, s, t, fixed, free = setup(3, statuses=False, density=0.9)
    m = 3
    optimum = min(cost for _, cost in plans(d, s, t, weight, fixed, free, m, inst.n_sites))
    pairs = PairWindows(d, s, weight[d] * t, weight.shape[0], inst.n_sites)
    r = subgradient(pairs, fixed, free, m, upper_bound=optimum, multipliers=pairs.assignment_costs(free),
                    integral=True, max_iterations=5000)
    assert r.bound <= optimum + 1e-9 and r.iterations <= 5000


@pytest.mark.parametrize("seed", range(6))
def test_solve_with_lagrangian_equals_brute_force_weighted_sparse_dropped(seed):
    inst, rules, weight, d, s, t, fixed, free = setup(20 + seed, n_demand=12, n_sites=10, density=0.45,
                                                      fractional=seed % 3 == 2)
    p = 3
    m = p - int((fixed & rules.counts).sum())
    feasible = [cost for _, cost in plans(d, s, t, weight, fixed, free, m, inst.n_sites) if np.isfinite(cost)]
    if not feasible:
        pytest.skip("no plan reaches every point with pairs")
    r = solve_pmedian(inst, p=p, formulation="iterative", unreachable="drop")
    assert r.status == "optimal" and r.objective == pytest.approx(min(feasible), rel=1e-9)
    assert r.best_bound <= r.objective + 1e-9 * max(1.0, r.objective)
    assert "lagrangian" in r.stats or r.stats.get("greedy_objective") is not None


@pytest.mark.parametrize("seed", range(4))
def test_cheapest_among_equal_optima_survives_the_fixing(seed):
    """Each site has a twin with the same times and another cost: the cheapest optimal plan must be reported."""
    from siting.data.orlib import instance_from_pairs

    base = random_instance(9, 5, seed=40 + seed, density=0.9)
    tr = base.travel
    d = np.concatenate([tr.demand_index, tr.demand_index])
    s = np.concatenate([tr.site_index, tr.site_index + base.n_sites])
    t = np.concatenate([tr.minutes, tr.minutes])
    rng = np.random.default_rng(seed)
    cost = np.concatenate([base.sites.cost, base.sites.cost + rng.choice([-0.5, 0.5], base.n_sites)])
    inst = instance_from_pairs(d, s, t, population=base.demand.population, cost=cost)
    weight = inst.demand.population.astype(float)
    rules = SiteRules.of(inst)
    free = np.ones(inst.n_sites, bool)
    every = [(mask, c) for mask, c in plans(d, s, t, weight, ~free, free, 2, inst.n_sites) if np.isfinite(c)]
    if not every:
        pytest.skip("no plan reaches every point")
    optimum = min(c for _, c in every)
    cheapest = min(float(rules.cost[mask].sum()) for mask, c in every if c == optimum)
    r = solve_pmedian(inst, p=2, formulation="iterative")
    assert r.status == "optimal" and r.objective == pytest.approx(optimum)
    assert r.total_cost == pytest.approx(cheapest)


@pytest.mark.parametrize("seed", range(4))
def test_compiled_and_numpy_windows_agree(seed):
    inst, rules, weight, d, s, t, fixed, free = setup(seed, fractional=seed % 2 == 1)
    compiled = PairWindows(d, s, weight[d] * t, weight.shape[0], inst.n_sites)
    plain = PairWindows(d, s, weight[d] * t, weight.shape[0], inst.n_sites)
    plain.compiled = None
    rng = np.random.default_rng(seed)
    for _ in range(5):
        u = rng.choice(compiled.cost, weight.shape[0]) + rng.choice([0.0, 0.5, -0.25], weight.shape[0])
        open_mask = rng.random(inst.n_sites) < 0.5
        expected_rho = np.bincount(compiled.s, weights=np.minimum(compiled.cost - u[compiled.d], 0.0),
                                   minlength=inst.n_sites)
        for pairs in (compiled, plain):
            assert np.allclose(pairs.rho(u), expected_rho)
            hit = (pairs.cost < u[pairs.d]) & open_mask[pairs.s]
            assert np.array_equal(pairs.served(u, open_mask), np.bincount(pairs.d[hit], minlength=weight.shape[0]))
        assert compiled.plan_cost(open_mask) == pytest.approx(plain.plan_cost(open_mask))


def test_fast_swap_never_leaves_a_point_unserved():
    # point 0 (weight 100) reaches only site 0; eleven points reach site 0 at 10 min and site 1 at 0 min: moving
    # to site 1 would save 110 but leave point 0 without a site, so the greedy plan must stay
    k = 11
    d = np.concatenate([[0], np.repeat(np.arange(1, k + 1), 2)])
    s = np.concatenate([[0], np.tile([0, 1], k)])
    t = np.concatenate([[0.0], np.tile([10.0, 0.0], k)])
    w = np.array([100.0] + [1.0] * k)
    pairs = PairWindows(d, s, w[d] * t, w.shape[0], 2)
    plan = fast_swap(pairs, np.array([True, False]), np.ones(2, bool))
    assert plan.tolist() == [True, False]
    assert pairs.plan_cost(plan) == 110.0

"""p-median by iterative radius tightening: the truncated programs, the fixing, and plans equal to brute force."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siting.data.orlib import read_pmed
from siting.formulations.radius import (
    beyond,
    levels_needed,
    levels_of,
    lp_reduced_costs,
    plan_vector,
    reduced_cost_fixing,
    truncated_program,
)
from siting.models.pmedian import PMedianParams, solve_pmedian
from siting.models.pmedian_radius import resolve_formulation
from siting.models.reachable import reachable_pairs
from siting.rules import Limits, SiteRules
from siting.testing import random_instance, subsets

PMED = Path(__file__).resolve().parents[3] / "shared" / "instances" / "orlib-pmed"


def dense_minutes(inst):
    """Tiny instances only: the full matrix with inf for missing pairs (brute-force reference)."""
    t = np.full((inst.n_demand, inst.n_sites), np.inf)
    t[inst.travel.demand_index, inst.travel.site_index] = inst.travel.minutes
    return t


def plan_costs(inst, p, weight, budget=None):
    """Every plan with exactly p counted sites (statuses and budget respected) and its true weighted minutes."""
    rules = SiteRules.of(inst)
    t = dense_minutes(inst)
    for mask in subsets(inst.n_sites):
        if np.any(mask & (rules.upper < 0.5)) or np.any(~mask & (rules.lower > 0.5)):
            continue
        if int((mask & rules.counts).sum()) != p:
            continue
        if budget is not None and rules.cost[mask].sum() > budget + 1e-9:
            continue
        near = t[:, mask].min(axis=1) if mask.any() else np.full(inst.n_demand, np.inf)
        positive = weight > 0
        yield mask, float(weight[positive] @ near[positive])


def brute(inst, p, weight, budget=None):
    return min((cost for _, cost in plan_costs(inst, p, weight, budget)), default=np.inf)


def fractional(inst, seed):
    """The instance with non-integer weights and minutes (the proof may not round the bound)."""
    rng = np.random.default_rng(seed)
    travel = replace(inst.travel, minutes=inst.travel.minutes + rng.random(inst.travel.minutes.shape[0]))
    demand = replace(inst.demand, population=inst.demand.population * 0.37)
    return replace(inst, travel=travel, demand=demand)


@pytest.mark.parametrize("seed", range(8))
def test_iterative_equals_brute_force_and_assignment(seed):
    inst = random_instance(9, 8, seed=seed, statuses=seed % 2 == 0, density=0.85)
    if seed % 3 == 1:
        inst = fractional(inst, seed)
    p = 2 + seed % 2
    ref = brute(inst, p, inst.demand.population)
    if not np.isfinite(ref):
        pytest.skip("no plan reaches every demand point")
    mine = solve_pmedian(inst, p=p, formulation="iterative")
    assert mine.status == "optimal" and mine.stats["formulation"] == "iterative"
    assert mine.objective == pytest.approx(ref, rel=1e-9)
    assert mine.best_bound <= mine.objective + 1e-6 * max(1.0, ref)
    other = solve_pmedian(inst, p=p, formulation="assignment")
    assert other.objective == pytest.approx(mine.objective, rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_iterative_with_a_budget_row(seed):
    inst = random_instance(8, 7, seed=10 + seed, density=0.9)
    budget = float(np.sort(inst.sites.cost)[:3].sum()) + 4.0
    ref = brute(inst, 2, inst.demand.population, budget)
    if not np.isfinite(ref):
        pytest.skip("no plan within the budget")
    r = solve_pmedian(inst, p=2, budget=budget, formulation="iterative")
    assert r.status == "optimal" and r.objective == pytest.approx(ref)
    assert r.total_cost <= budget + 1e-9


def test_auto_rule():
    assert resolve_formulation(PMedianParams(p=2)) == "iterative"
    assert resolve_formulation(PMedianParams(p=2, budget=10.0)) == "assignment"
    assert resolve_formulation(PMedianParams(p=2, formulation="radius")) == "radius"


def _levels(inst):
    rules = SiteRules.of(inst)
    weight = inst.demand.population.astype(float)
    d, s, t = reachable_pairs(inst, weight, rules, "pmedian", unreachable="drop")
    return levels_of(d, s, t, weight), rules


@pytest.mark.parametrize("seed", range(4))
def test_truncated_cost_is_a_lower_bound_and_exact_inside(seed):
    inst = random_instance(9, 8, seed=seed, density=0.9)
    lv, rules = _levels(inst)
    rng = np.random.default_rng(seed)
    keep_small = np.where(lv.n_levels_of > 0, np.minimum(rng.integers(1, 4, lv.weight.shape[0]), lv.n_levels_of), 0)
    limits = Limits(None, 3, exact_sites=True)
    small, z_small = truncated_program(lv, keep_small, rules, limits)
    full, z_full = truncated_program(lv, lv.n_levels_of.copy(), rules, limits)
    for mask, cost in plan_costs(inst, 3, lv.weight):
        if not np.isfinite(cost):
            continue
        x_small = plan_vector(small, z_small, lv, mask)
        x_full = plan_vector(full, z_full, lv, mask)
        assert small.max_violation(x_small) <= 1e-9 and full.max_violation(x_full) <= 1e-9
        assert small.objective_value(x_small) <= cost + 1e-9          # truncation: a lower bound
        assert full.objective_value(x_full) == pytest.approx(cost)    # all levels: the exact cost
        inside = ~beyond(x_small, z_small, lv, keep_small, inst.n_sites)
        needed = levels_needed(lv, mask)
        # a point is "beyond" exactly when its plan time lies past its kept levels
        assert np.array_equal(inside[lv.n_levels_of > 0], (needed <= keep_small)[lv.n_levels_of > 0])


def test_reduced_cost_fixing_keeps_every_optimal_plan():
    inst = random_instance(10, 9, seed=3, density=0.9)
    lv, rules = _levels(inst)
    costs = list(plan_costs(inst, 2, lv.weight))
    best = min(c for _, c in costs)
    program, _ = truncated_program(lv, np.minimum(2, lv.n_levels_of), rules, Limits(None, 2, exact_sites=True))
    lp_value, x, reduced = lp_reduced_costs(program)
    assert lp_value <= best + 1e-9
    n = inst.n_sites
    closed, opened = reduced_cost_fixing(lp_value, reduced[:n], x[:n], best, np.ones(n, bool))
    for mask, cost in costs:
        if cost <= best + 1e-9:
            assert not np.any(mask & closed) and np.all(mask[opened])


@pytest.mark.skipif(not PMED.exists(), reason="shared OR-Library instances not found")
@pytest.mark.parametrize("k", [1, 5, 10])
def test_orlib_iterative(k):
    inst, p = read_pmed(PMED / f"pmed{k}.txt")
    r = solve_pmedian(inst, p=p)
    optimum = pd.read_csv(PMED / "known_optima.csv").set_index("instance")["optimum"][f"pmed{k}"]
    assert r.stats["formulation"] == "iterative"
    assert r.status == "optimal" and r.objective == optimum and r.best_bound == optimum

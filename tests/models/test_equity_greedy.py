"""Equity's greedy start for stage 1 (max-min share).

Without it, HiGHS alone kept the existing sites' plan after its 12 s of a 20-s solve at 20,000 x 2,000: 0 new
sites, smallest share 0.104; with it 212 sites and 0.807.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from siting.models.equity import EquityParams, _groups, greedy_equity, group_shares, solve_equity
from siting.models.parts import demand_weight
from siting.options import SolveOptions
from siting.rules import SiteRules
from siting.testing import random_instance


def smallest_share(inst, params, groups, plan):
    return float(group_shares(inst, params.threshold_min, groups, plan)[0].min(initial=1.0))


def test_the_greedy_keeps_the_rules_and_gets_near_the_best_smallest_share():
    """No approximation guarantee for a max-min greedy: measured over 200 small cities, 86 % at the optimum,
    mean 0.97 of it, one at 0.41; asserted over 60 of them: rules kept, never below the start, mean >= 0.9."""
    ratios = []
    for seed in range(60):
        inst = random_instance(12, 7, seed=seed, groups=True, statuses=seed % 2 == 0)
        rules = SiteRules.of(inst)
        fixed_cost = float(rules.cost[rules.lower > 0.5].sum())   # required sites spend their cost too
        params = EquityParams(threshold_min=10, budget=fixed_cost + float(np.sort(inst.sites.cost)[:3].sum()),
                              equity_column="district")
        groups = _groups(inst, params, demand_weight(inst, params.weight_column))[0]
        plan = greedy_equity(inst, params, rules, groups)
        assert not np.any(plan & ~rules.usable) and np.all(plan[rules.lower > 0.5])
        assert rules.cost[plan].sum() <= params.budget + 1e-9
        start = rules.lower > 0.5
        got = smallest_share(inst, params, groups, plan)
        assert got >= smallest_share(inst, params, groups, start) - 1e-12
        free = np.flatnonzero(rules.usable & (rules.lower < 0.5))
        best = max(smallest_share(inst, params, groups, np.where(np.isin(np.arange(inst.n_sites), c), True, start))
                   for k in range(free.size + 1) for c in combinations(free, k)
                   if fixed_cost + rules.cost[list(c)].sum() <= params.budget + 1e-9)
        assert got <= best + 1e-12
        if best > 0:
            ratios.append(got / best)
    assert len(ratios) >= 50 and float(np.mean(ratios)) >= 0.9


@pytest.mark.parametrize("seed", range(4))
def test_the_solve_is_never_below_the_greedy(seed):
    inst = random_instance(40, 12, seed=seed, groups=True)
    r = solve_equity(inst, threshold_min=8, budget=float(inst.sites.cost.sum() / 3), equity_column="district",
                     options=SolveOptions(time_limit_s=5))
    assert r.stats["greedy_min_share"] is not None
    assert r.objective >= r.stats["greedy_min_share"] - 1e-9


@pytest.mark.parametrize("seed", range(40))
def test_the_smallest_share_bound_is_valid(seed):
    from siting.models.equity import smallest_share_bound

    inst = random_instance(12, 7, seed=300 + seed, groups=True, statuses=seed % 2 == 0)
    rules = SiteRules.of(inst)
    fixed_cost = float(rules.cost[rules.lower > 0.5].sum())
    params = EquityParams(threshold_min=10, budget=fixed_cost + float(np.sort(inst.sites.cost)[:3].sum()),
                          equity_column="district")
    groups = _groups(inst, params, demand_weight(inst, params.weight_column))[0]
    start = rules.lower > 0.5
    free = np.flatnonzero(rules.usable & (rules.lower < 0.5))
    best = max(smallest_share(inst, params, groups, np.where(np.isin(np.arange(inst.n_sites), c), True, start))
               for k in range(free.size + 1) for c in combinations(free, k)
               if fixed_cost + rules.cost[list(c)].sum() <= params.budget + 1e-9)
    plan = greedy_equity(inst, params, rules, groups)
    known = group_shares(inst, params.threshold_min, groups, plan)[0]
    bound = smallest_share_bound(inst, params, rules, groups, known)
    assert best - 1e-9 <= bound <= 1.0 + 1e-12

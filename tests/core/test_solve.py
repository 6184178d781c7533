"""Pipeline behaviour beyond optimality: statuses, infeasibility from data, existing sites, pruning."""
import numpy as np
import pytest

from siting import solve
from siting.data.instance import SiteStatus

from .instances import make_instance


def test_budget_below_required_cost_is_infeasible_with_reason():
    inst = make_instance(np.random.default_rng(0), 10, 5, statuses=False)
    inst.sites.status[:2] = SiteStatus.REQUIRED
    need = float(inst.sites.cost[:2].sum())
    res = solve(inst, model="mclp", threshold_min=10, budget=need - 0.5)
    assert res.status == "infeasible" and not res.has_solution
    assert "below the cost of the 2 required sites" in res.message


def test_unreachable_partial_target_is_infeasible():
    inst = make_instance(np.random.default_rng(1), 10, 3, density=0.1, statuses=False)
    res = solve(inst, model="partial", threshold_min=5, target_coverage=1.0)
    assert res.status == "infeasible"
    assert "unreachable" in res.message


def test_existing_sites_are_free_open_and_not_counted():
    inst = make_instance(np.random.default_rng(2), 15, 6, density=0.6, statuses=False)
    inst.sites.status[0] = SiteStatus.EXISTING
    inst.sites.cost[0] = 0.0
    res = solve(inst, model="mclp", threshold_min=15, budget=0.0, max_sites=0)
    assert res.status == "optimal"
    assert res.selected == ()
    assert bool(res.sites.loc[0, "open"])
    # what the existing site reaches is counted as covered
    t = inst.travel
    reach = np.unique(t.demand_index[(t.site_index == 0) & (t.minutes <= 15)])
    assert res.covered_population == pytest.approx(inst.demand.population[reach].sum())


def test_unlimited_budget_mclp_has_no_redundant_sites():
    inst = make_instance(np.random.default_rng(3), 25, 8, density=0.7, statuses=False)
    res = solve(inst, model="mclp", threshold_min=12, budget=1e9)
    cov = res.coverage
    assert res.covered_population == pytest.approx(cov.loc[cov["coverable"], "population"].sum())
    # each selected site is the only cover of some covered point
    served = res.sites.set_index("site_id")["served_population"]
    assert all(served[s] > 0 for s in res.selected)

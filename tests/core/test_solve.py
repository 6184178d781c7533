"""Coverage models beyond optimality: statuses, infeasibility from data, existing sites, pruning, parameters."""
import numpy as np
import pytest

from siting import solve
from siting.data.instance import SiteStatus
from siting.errors import InputError
from siting.models import ParamError

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
    # every candidate costs at least 1: the budget affords none of them
    res = solve(inst, model="mclp", threshold_min=15, budget=0.5, max_sites=1)
    assert res.status == "optimal"
    assert res.selected == ()
    assert bool(res.sites.loc[0, "open"]) and not bool(res.sites.loc[0, "selected"])
    # what the existing site reaches is counted as covered
    t = inst.travel
    reach = np.unique(t.demand_index[(t.site_index == 0) & (t.minutes <= 15)])
    assert res.covered_weight == pytest.approx(inst.demand.population[reach].sum())


def test_unlimited_budget_mclp_has_no_redundant_sites():
    inst = make_instance(np.random.default_rng(3), 25, 8, density=0.7, statuses=False)
    res = solve(inst, model="mclp", threshold_min=12, budget=1e9)
    cov = res.coverage
    assert res.covered_weight == pytest.approx(cov.loc[cov["coverable"], "population"].sum())
    # each selected site is the nearest open site of some covered point
    served = res.sites.set_index("site_id")["served_weight"]
    assert all(served[s] > 0 for s in res.selected)


def test_mclp_needs_a_limit():
    inst = make_instance(np.random.default_rng(4), 5, 3)
    with pytest.raises(ParamError, match="parameter 'budget'.*needs a limit"):
        solve(inst, model="mclp", threshold_min=10)


@pytest.mark.parametrize("model,params,name", [
    ("mclp", {"threshold_min": 0, "budget": 5}, "threshold_min"),
    ("mclp", {"threshold_min": 10, "budget": -1}, "budget"),
    ("partial", {"threshold_min": 10}, "target_coverage"),
    ("partial", {"threshold_min": 10, "target_coverage": 1.5}, "target_coverage"),
    ("lscp", {"threshold_min": 10, "weight_colum": "elderly"}, "weight_colum"),
])
def test_bad_parameters_name_the_parameter(model, params, name):
    inst = make_instance(np.random.default_rng(5), 5, 3)
    with pytest.raises(ParamError, match=f"parameter '{name}'"):
        solve(inst, model=model, **params)


def test_unknown_weight_column_is_one_line():
    inst = make_instance(np.random.default_rng(6), 5, 3)
    with pytest.raises(InputError, match="unknown weight column 'elderly'") as err:
        solve(inst, model="lscp", threshold_min=10, weight_column="elderly")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("model,params", [("mclp", {"budget": 12.0}), ("lscp", {}), ("pmedian", {"p": 2})])
def test_a_weight_column_that_totals_zero_is_one_line(model, params):
    """Every plan would score 0 and be called optimal (MCLP opened nothing, p-median any two sites)."""
    from dataclasses import replace

    inst = make_instance(np.random.default_rng(6), 8, 4)
    inst = replace(inst, demand=replace(inst.demand, groups={"children": np.zeros(inst.n_demand)}))
    threshold = {} if model == "pmedian" else {"threshold_min": 10}
    with pytest.raises(InputError, match="column 'children'.*weight column 'children' totals 0 over the 8") as err:
        solve(inst, model=model, weight_column="children", **threshold, **params)
    assert "\n" not in str(err.value)
    assert "totals 0" not in solve(inst, model=model, **threshold, **params).message     # population: no error


@pytest.mark.parametrize("model,params", [("mclp", {"budget": 12.0}), ("lscp", {}),
                                          ("partial", {"target_coverage": 0.6})])
@pytest.mark.parametrize("strategy", ["exact", "hybrid", "heuristic"])
def test_result_gap_and_stats_gap_agree(model, params, strategy):
    inst = make_instance(np.random.default_rng(7), 40, 12, density=0.3, statuses=False)
    res = solve(inst, model=model, threshold_min=10, strategy=strategy, **params)
    assert res.has_solution
    assert res.stats["strategy"] == strategy
    assert res.gap == res.stats["gap"]
    assert res.gap == pytest.approx(abs(res.best_bound - res.objective) / max(abs(res.objective), 1e-9))


def test_tables_have_the_common_columns():
    inst = make_instance(np.random.default_rng(8), 12, 5)
    res = solve(inst, model="lscp", threshold_min=10)
    assert list(res.sites.columns[:7]) == ["site_id", "status", "cost", "selected", "open", "x", "y"]
    assert {"served_weight"} <= set(res.sites.columns)
    assert {"demand_id", "weight", "covered", "site_id", "minutes", "coverable"} <= set(res.coverage.columns)
    assert res.stats["uncoverable_count"] == int((~res.coverage["coverable"]).sum())


def test_lscp_names_the_points_it_leaves_out_of_the_cover():
    """LSCP covers every *coverable* point; the points no usable site reaches are left out by construction, and
    the result says so beside the plan (it read "optimal, 0.0 % covered" with no word when none was coverable)."""
    inst = make_instance(np.random.default_rng(3), 60, 12, density=0.3)
    r = solve(inst, model="lscp", threshold_min=0.01)
    left = r.stats["uncoverable_count"]
    assert left > 0
    assert f"warning: {left} demand point(s) (" in r.message and "left out of the cover" in r.message
    full = solve(inst, model="lscp", threshold_min=1e3)                   # only points with no pair at all
    assert full.stats["uncoverable_count"] < left
    assert (full.stats["uncoverable_count"] > 0) == ("left out of the cover" in full.message)
    dense = solve(make_instance(np.random.default_rng(3), 30, 8, density=1.0), model="lscp", threshold_min=1e3)
    assert dense.stats["uncoverable_count"] == 0 and "left out of the cover" not in dense.message


def test_backup_cover_all_names_the_points_it_leaves_out_and_capacity_zero_is_refused():
    inst = make_instance(np.random.default_rng(3), 60, 12, density=0.3)
    r = solve(inst, model="backup", threshold_min=0.01, max_sites=3, cover_all=True)
    assert r.stats["uncoverable_count"] > 0 and len(r.stats["uncoverable"]) == r.stats["uncoverable_count"]
    assert f"warning: {r.stats['uncoverable_count']} demand point(s) (" in r.message
    plain = solve(inst, model="backup", threshold_min=0.01, max_sites=3)            # no promise to cover all
    assert "left out of the cover" not in plain.message and "uncoverable_count" not in plain.stats
    with pytest.raises(ParamError, match="capacity.*greater than 0"):
        solve(inst, model="capacitated", threshold_min=10, capacity=0, max_sites=2)   # every plan would serve no one

"""Errors, statuses and the dispatch table of the model family."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siting.data.instance import SiteStatus
from siting.data.load import load_instance
from siting.data.orlib import instance_from_pairs
from siting.errors import InputError
from siting.models.backup import solve_backup
from siting.models.capacitated import solve_capacitated
from siting.models.cflp import solve_cflp
from siting.models.equity import solve_equity
from siting.models.gradual import solve_gradual
from siting.models.params import ParamError
from siting.models.pcenter import solve_pcenter
from siting.models.pmedian import solve_pmedian
from siting.models.registry import MODELS
from siting.options import SolveOptions
from siting.run import solve_scenario
from siting.scenario import scenario_from_dict
from siting.testing import random_instance


def line():
    # d0 reaches s0 (1 min) and s1 (4); d1 reaches s1 (2); d2 reaches nothing
    return instance_from_pairs(np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([1.0, 4.0, 2.0]),
                               population=np.array([10.0, 20.0, 5.0]), cost=np.array([3.0, 4.0]))


def test_dispatch_table():
    assert set(MODELS) >= {"pmedian", "pcenter", "backup", "capacitated", "cflp", "gradual", "equity",
                           "multiservice"}


def test_pmedian_unreachable_demand_is_a_clear_infeasible_result():
    r = solve_pmedian(line(), p=1)
    assert r.status == "infeasible" and not r.has_solution and "d2 reach no usable site" in r.message


def test_zero_weight_demand_is_ignored_by_pmedian():
    inst = line()
    inst = instance_from_pairs(inst.travel.demand_index, inst.travel.site_index, inst.travel.minutes,
                               population=np.array([10.0, 20.0, 0.0]), cost=inst.sites.cost)
    r = solve_pmedian(inst, p=1)
    assert r.selected == ("s1",) and r.objective == pytest.approx(10 * 4 + 20 * 2)
    assert pd.isna(r.coverage.set_index("demand_id").loc["d2", "site_id"])


def test_budget_below_required_cost():
    inst = random_instance(5, 4, seed=0)
    status = inst.sites.status.copy()
    status[:] = SiteStatus.REQUIRED
    from dataclasses import replace

    inst = replace(inst, sites=replace(inst.sites, status=status))
    r = solve_backup(inst, threshold_min=10, budget=0.5)
    assert r.status == "infeasible" and not r.has_solution and "budget" in r.message


def test_statuses_are_honoured():
    inst = random_instance(12, 8, seed=5, statuses=True)
    st = inst.sites.status.astype(str)
    for solve, params in [(solve_gradual, dict(threshold_min=5, outer_threshold_min=12, max_sites=2)),
                          (solve_backup, dict(threshold_min=10, max_sites=2)),
                          (solve_capacitated, dict(threshold_min=10, max_sites=2, capacity=40.0)),
                          (solve_equity, dict(threshold_min=10, max_sites=2, equity_groups=["population"]))]:
        r = solve(inst, **params)
        name = r.model
        sel = set(r.selected)  # the sites to convert: existing ones stay open but are not "selected"
        opened = set(r.sites.loc[r.sites["open"], "site_id"])
        assert set(inst.sites.ids[st == "existing"]) <= opened - sel, name
        assert not set(inst.sites.ids[st == "excluded"]) & opened, name
        assert set(inst.sites.ids[st == "required"]) <= sel, name
        assert sel == set(r.sites.loc[r.sites["selected"], "site_id"]), name


def test_bad_arguments():
    inst = random_instance(5, 4, seed=1, groups=True)
    with pytest.raises(ParamError, match="exactly one"):
        solve_equity(inst, threshold_min=5, budget=5)
    with pytest.raises(ParamError, match="outer_threshold_min"):
        solve_gradual(inst, threshold_min=5, outer_threshold_min=3, budget=5)
    with pytest.raises(InputError, match="unknown weight column"):
        solve_pmedian(inst, p=1, weight_column="teenagers")


def test_result_frames():
    inst = random_instance(10, 6, seed=3)
    r = solve_pmedian(inst, p=2)
    assert list(r.coverage.columns[:6]) == ["demand_id", "population", "weight", "covered", "site_id", "minutes"]
    assert r.sites["open"].sum() == 2 and r.gap is not None and r.gap < 1e-6
    assert r.summary()["selected"] == list(r.selected)


def test_pmedian_greedy_start_is_feasible_and_not_better_than_optimum():
    inst = random_instance(15, 9, seed=8, statuses=True, density=0.9)
    for formulation in ("assignment", "radius"):
        r = solve_pmedian(inst, p=3, formulation=formulation)
        if not r.has_solution:
            pytest.skip("random instance has an unreachable point")
        assert r.stats["warm_start_objective"] >= r.objective - 1e-9
        off = solve_pmedian(inst, p=3, formulation=formulation, warm_start=False)
        assert off.objective == pytest.approx(r.objective) and "warm_start_objective" not in off.stats


# ------------------------------------------------------------- backup, gradual, capacitated, cflp, equity
EXAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "example"


@pytest.mark.parametrize("solve, params", [
    (solve_backup, dict(threshold_min=10)),
    (solve_gradual, dict(threshold_min=5, outer_threshold_min=12)),
    (solve_capacitated, dict(threshold_min=10)),
    (solve_equity, dict(threshold_min=10, equity_column="district")),
])
def test_maximisation_models_need_a_limit(solve, params):
    inst = random_instance(5, 4, seed=1, groups=True)
    with pytest.raises(ParamError, match="needs a limit") as err:
        solve(inst, **params)
    assert err.value.param == "budget"
    assert solve(inst, max_sites=1, **params).has_solution


def test_gradual_outer_threshold_must_exceed_threshold():
    with pytest.raises(ParamError, match="greater than threshold_min") as err:
        solve_gradual(random_instance(5, 4, seed=1), threshold_min=5, outer_threshold_min=5, max_sites=1)
    assert err.value.param == "outer_threshold_min"


def test_capacity_override_is_checked_against_the_sites():
    inst = random_instance(6, 4, seed=2, capacity=True)
    with pytest.raises(ParamError, match=r"parameter 'capacity': expected one value per site \(4\), got 3"):
        solve_capacitated(inst, threshold_min=10, max_sites=2, capacity=[10.0, 20.0, 30.0])
    with pytest.raises(ParamError, match="parameter 'capacity'"):
        solve_cflp(inst, capacity=-1)
    r = solve_capacitated(inst, threshold_min=10, max_sites=2, capacity=np.array([15.0, np.nan, 15.0, 15.0]))
    assert r.sites["capacity"].tolist() == [15.0, np.inf, 15.0, 15.0]
    assert (r.sites["load"] <= r.sites["capacity"] + 1e-6).all()
    assert r.params["capacity"] == "per-site values (4)"


def test_equity_group_errors_are_one_line():
    inst = random_instance(5, 4, seed=1, groups=True)
    with pytest.raises(InputError, match=r"column 'ward': no such demand column for equity; extra columns: "
                                         r"elderly, children, district"):
        solve_equity(inst, threshold_min=5, budget=5, equity_column="ward")
    blank = np.array(["a", "b", " ", "a", "b"], dtype=object)
    with pytest.raises(InputError, match=r"id d2, column 'quarter': no group label"):
        solve_equity(replace(inst, demand=replace(inst.demand, labels={"quarter": blank})), threshold_min=5,
                     budget=5, equity_column="quarter")
    with pytest.raises(ParamError, match=r"one label per demand point \(5\)") as err:
        solve_equity(inst, threshold_min=5, budget=5, labels=["a", "b"])
    assert err.value.param == "labels"


def test_equity_skips_stage_two_when_the_deadline_has_passed():
    import time

    from siting.models.base import SolveContext
    from siting.models.equity import MODEL as EQUITY
    from siting.models.equity import EquityParams
    from siting.rules import SiteRules
    from siting.status import Termination

    inst = random_instance(12, 6, seed=3, groups=True)
    params = EquityParams(threshold_min=8, max_sites=2, equity_column="district")
    ctx = SolveContext("highs", "auto", SolveOptions(time_limit_s=0.01), deadline=time.perf_counter() + 0.01)
    outcome = EQUITY.search(inst, params, SiteRules.of(inst), ctx)
    assert outcome.termination is Termination.TIME_LIMIT  # never "optimal" without the second stage
    if outcome.plan is not None:
        assert outcome.stats["stage2_termination"].startswith("skipped")
        figures = EQUITY.evaluate(inst, params, SiteRules.of(inst), outcome.plan)
        assert outcome.bound is None or outcome.bound >= figures.objective - 1e-9


@pytest.mark.parametrize("model, solve, params", [
    ({"type": "cflp", "per_person": False, "rate": 2.0, "capacity": 9000, "max_sites": 3},
     solve_cflp, dict(per_person=False, rate=2.0, capacity=9000, max_sites=3)),
    ({"type": "equity", "threshold_minutes": 10, "budget": 2.5e6, "equity_column": "district"},
     solve_equity, dict(threshold_min=10, budget=2.5e6, equity_column="district")),
    ({"type": "gradual", "threshold_minutes": 5, "outer_threshold_minutes": 15, "budget": 2e6},
     solve_gradual, dict(threshold_min=5, outer_threshold_min=15, budget=2e6)),
    ({"type": "backup", "threshold_minutes": 15, "max_sites": 2, "single_weight": 0.25},
     solve_backup, dict(threshold_min=15, max_sites=2, single_weight=0.25)),
    ({"type": "capacitated", "threshold_minutes": 10, "budget": 2.5e6, "capacity": 6000},
     solve_capacitated, dict(threshold_min=10, budget=2.5e6, capacity=6000)),
])
def test_family_model_from_toml_matches_python(model, solve, params):
    scenario = scenario_from_dict({"data": {"demand": "demand.csv", "candidates": "candidates.csv",
                                            "travel_times": "travel_times.csv"},
                                   "model": model, "solver": {"name": "highs"}}, base=EXAMPLE)
    from_toml = solve_scenario(scenario)
    inst = load_instance(EXAMPLE / "demand.csv", EXAMPLE / "candidates.csv", EXAMPLE / "travel_times.csv")
    from_python = solve(inst, backend="highs", **params)
    assert from_toml.status == from_python.status == "optimal"
    assert from_toml.objective == pytest.approx(from_python.objective)
    assert from_toml.selected == from_python.selected
    assert from_toml.params == from_python.params


def test_pcenter_unreachable_demand_and_bad_method():
    r = solve_pcenter(line(), p=1)
    assert r.status == "infeasible" and not r.has_solution and "d2" in r.message
    with pytest.raises(ParamError, match="parameter 'method'.*magic"):
        solve_pcenter(random_instance(5, 4, seed=1), p=1, method="magic")

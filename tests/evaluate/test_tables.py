"""accessibility / groups / supply recomputed from the raw CSV tables with pandas, for a single-service model
and the multi-service model; the served group's coverage equals the solve's own figure."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siting.evaluate import evaluate, evaluation_tables
from siting.run import solve_scenario
from siting.scenario import load_scenario
from siting.services import load_catalog

from .conftest import write_scenario

GROUPS = ("population", "elderly", "children")


def _raw(folder):
    demand = pd.read_csv(folder / "demand.csv", dtype={"id": str, "community": str}, keep_default_na=False,
                         na_values={"population": [""]})
    sites = pd.read_csv(folder / "candidates.csv", dtype={"id": str, "community": str, "services": str},
                        keep_default_na=False, na_values={"capacity": [""], "floor_area": [""]})
    travel = pd.read_csv(folder / "travel_times.csv", dtype={"demand_id": str, "candidate_id": str, "group": str},
                         keep_default_na=False)
    demand["community"] = demand["community"].replace("", "(blank)")
    return demand, sites, travel


def _expected(demand, sites, travel, *, threshold, column, group, providers, supply):
    """Per demand point: covered, and 2SFCA, from the raw rows (pandas merge / groupby)."""
    rows = travel[(travel["group"] == group) & (travel["minutes"] <= threshold)]
    rows = rows[rows["candidate_id"].isin(providers)]
    covered = demand["id"].isin(rows["demand_id"])
    weight = demand.set_index("id")[column]
    load = rows["demand_id"].map(weight).astype(float).groupby(rows["candidate_id"]).sum()
    ratio = supply.reindex(load.index) / load
    access = rows["candidate_id"].map(ratio).astype(float).groupby(rows["demand_id"]).sum()
    return covered.to_numpy(), access.reindex(demand["id"]).fillna(0.0).to_numpy()


def _check_groups(groups, demand, service, covered_before, covered_after):
    for by in ("all", "community"):
        part = groups[(groups["service"] == service) & (groups["by"] == by)]
        keys = demand["community"] if by == "community" else pd.Series("all", index=demand.index)
        for g in GROUPS:
            target = demand[g].groupby(keys).sum()
            before = demand[g].where(covered_before, 0).groupby(keys).sum()
            after = demand[g].where(covered_after, 0).groupby(keys).sum()
            got = part[part["group"] == g].set_index("community")
            pd.testing.assert_series_equal(got["target"], target, check_names=False, check_index_type=False)
            np.testing.assert_allclose(got["covered_before"], before.reindex(got.index))
            np.testing.assert_allclose(got["covered_after"], after.reindex(got.index))
            np.testing.assert_allclose(got["share_after"], (after / target).reindex(got.index))


def test_single_model_tables_from_the_raw_rows(tables, tmp_path) -> None:
    path = write_scenario(tables, "mclp", {"threshold_minutes": 10, "budget": 2e6},
                          extra='[report]\nby = ["community"]')
    plan = {"model": "mclp", "has_solution": True, "selected": ["s04", "s07", "s09"]}
    ev = evaluate(load_scenario(path), plan=plan, out_dir=tmp_path)
    demand, sites, travel = _raw(tables)
    existing = sites.loc[sites["status"] == "existing", "id"].tolist()
    supply = sites.set_index("id")["capacity"].fillna(1.0)
    cov_b, acc_b = _expected(demand, sites, travel, threshold=10, column="population", group="", providers=existing,
                             supply=supply)
    cov_a, acc_a = _expected(demand, sites, travel, threshold=10, column="population", group="",
                             providers=existing + plan["selected"], supply=supply)
    acc = ev.accessibility
    assert list(acc["demand_id"]) == list(demand["id"])
    np.testing.assert_allclose(acc["access_before"], acc_b, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(acc["access_after"], acc_a, rtol=1e-9, atol=1e-15)
    assert (acc["access_after"] > acc["access_before"]).any()
    _check_groups(ev.groups, demand, "mclp", cov_b, cov_a)
    # supply: providers and their floor area per community, per 1,000 residents
    sup = ev.supply[ev.supply["by"] == "community"].set_index("community")
    after = sites[sites["id"].isin(existing + plan["selected"])]
    count = after.groupby("community").size().reindex(sup.index).fillna(0)
    area = after["floor_area"].fillna(0).groupby(after["community"]).sum().reindex(sup.index).fillna(0)
    people = demand.groupby("community")["population"].sum().reindex(sup.index)
    np.testing.assert_array_equal(sup["facilities_after"], count)
    np.testing.assert_allclose(sup["floor_area_m2_after"], area)
    np.testing.assert_allclose(sup["floor_area_per_1000_after"], area / people * 1000)
    assert sup["facilities_no_area_after"].sum() == after["floor_area"].isna().sum() == 1
    # the files hold the same numbers
    for name, table in ev.tables().items():
        back = pd.read_csv(ev.paths[name], keep_default_na=False, na_values=[""])
        assert len(back) == len(table), name
    back = pd.read_csv(ev.paths["accessibility"])
    np.testing.assert_allclose(back["access_after"], acc["access_after"], rtol=1e-12)


def test_multiservice_tables_from_the_raw_rows_and_the_solve(tables) -> None:
    path = write_scenario(tables, "multiservice", {"budget": 4e6, "community_column": "community"})
    scenario = load_scenario(path)
    result = solve_scenario(scenario)
    assert result.has_solution and result.selected
    ev = evaluate(scenario, plan=result)
    assert ev.by == ("community",)      # the model's community column, without [report] by
    demand, sites, travel = _raw(tables)
    catalog = load_catalog()
    hosted = {k: set() for k in catalog.keys}
    for sid, services in ev.plan.items():
        for k in services:
            hosted[k].add(sid)
    assert sum(len(v) for v in hosted.values()) > 0
    for s in catalog:
        existing = [i for i, v in zip(sites["id"], sites["services"], strict=True) if s.key in v.split(";")]
        supply = pd.Series(1.0, index=sites["id"])
        group = "elderly" if s.speed_group == "elderly" else ""
        kw = dict(threshold=s.threshold_minutes, column=s.demand_column, group=group, supply=supply)
        cov_b, acc_b = _expected(demand, sites, travel, providers=existing, **kw)
        cov_a, acc_a = _expected(demand, sites, travel, providers=existing + sorted(hosted[s.key]), **kw)
        acc = ev.accessibility[ev.accessibility["service"] == s.key]
        np.testing.assert_allclose(acc["access_before"], acc_b, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(acc["access_after"], acc_a, rtol=1e-9, atol=1e-15)
        _check_groups(ev.groups, demand, s.key, cov_b, cov_a)
        # no capacities: the served group's covered weight is the solve's own
        mine = ev.groups[(ev.groups["service"] == s.key) & (ev.groups["by"] == "all") & ev.groups["served_group"]]
        assert mine["covered_after"].item() == pytest.approx(result.stats["services"][s.key]["covered"], rel=1e-12)
    # a building's floor area is shared equally by the services it provides
    sup = ev.supply[ev.supply["by"] == "all"].set_index("service")
    assert sup.loc["elderly_care", "floor_area_m2_before"] == pytest.approx(sites.loc[0, "floor_area"] / 2)
    assert sup.loc["elderly_care", "area_norm_m2_low"] == 350.0
    # the report's entry point gives the same tables
    again = evaluation_tables(result, scenario)
    pd.testing.assert_frame_equal(again["groups"], ev.groups)
    pd.testing.assert_frame_equal(again["accessibility"], ev.accessibility)

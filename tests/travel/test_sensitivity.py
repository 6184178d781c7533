"""`siting travel --sensitivity stairs`: a plan's coverage under a range of stair parameters."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString

from siting.cli import main
from siting.errors import InputError
from siting.travel.graph import WalkGraph
from siting.travel.sensitivity import plan_providers, stair_parameter_sets, stair_sensitivity
from siting.travel.speed import ELDERLY_STAIRS


def _hill():
    """Flat 100 m at 0 m, then 30 m of steps rising 18 m (60 %), then flat 50 m at 18 m."""
    return WalkGraph.from_segments([0, 100, 130, 180], [0, 0, 0, 0], [0, 0, 18, 18], [0, 1, 2], [1, 2, 3],
                                   stairs=[False, True, False], crs="EPSG:32648")


def test_elderly_reach_down_a_stairway_flat_scaled_vs_stair_model():
    demand = pd.DataFrame({"id": ["top"], "x": [180.0], "y": [0.0], "population": [10.0], "elderly": [3.0]})
    sites = pd.DataFrame({"id": ["s"], "x": [0.0], "y": [0.0]})
    providers = pd.DataFrame({"site_id": ["s"], "service": ["elderly_care"]})
    sets = stair_parameter_sets({"adult": 1.0, "elderly": 0.76}, scales=(1.0,))
    # elderly, top -> bottom: flat-scaled (50 + 2 * 30 + 100) / 0.76 = 276.3 s = 4.61 min;
    # stair model 180 / 0.76 + 18 / descent = 236.8 + 58.3 = 295.1 s = 4.92 min
    stair_s = 180 / 0.76 + 18 / ELDERLY_STAIRS.descent_m_per_s
    t = stair_sensitivity(_hill(), demand, sites, providers, sets, minutes=(4.7, 5.0))
    share = t.set_index(["parameter_set", "group", "minutes"])["share"]
    assert 276.3 / 60 < 4.7 < stair_s / 60 < 5.0
    assert share[("flat-scaled", "elderly", 4.7)] == 1.0 and share[("stairs x1", "elderly", 4.7)] == 0.0
    assert share[("stairs x1", "elderly", 5.0)] == 1.0
    assert set(t.loc[t["group"] == "elderly", "weight_column"]) == {"elderly"}
    assert set(t.loc[t["group"] == "adult", "weight_column"]) == {"population"}
    assert (t["total"] == t["weight_column"].map({"elderly": 3.0, "population": 10.0})).all()


def test_plan_providers_from_a_solve_or_the_existing_facilities(tmp_path):
    sites = pd.DataFrame({"id": ["a", "b", "c"], "status": ["existing", "candidate", "existing"],
                          "services": ["canteen;elderly_care", "", "childcare"]})
    got = plan_providers(sites)
    assert sorted(map(tuple, got.to_numpy().tolist())) == [("a", "canteen"), ("a", "elderly_care"),
                                                          ("c", "childcare")]
    pd.DataFrame({"site_id": ["a", "b"], "open": [True, False]}).to_csv(tmp_path / "sites.csv", index=False)
    assert plan_providers(sites, tmp_path).to_dict("list") == {"site_id": ["a"], "service": ["all"]}
    with pytest.raises(InputError, match="plan not found"):
        plan_providers(sites, tmp_path / "nowhere")
    with pytest.raises(InputError, match="not among the candidates: zz"):
        stair_sensitivity(_hill(), pd.DataFrame({"id": ["d"], "x": [0.0], "y": [0.0], "population": [1.0]}),
                          sites.assign(x=0.0, y=0.0), pd.DataFrame({"site_id": ["zz"], "service": ["all"]}),
                          stair_parameter_sets({"adult": 1.0}, scales=(1.0,)))


def test_cli_writes_the_table_and_prints_the_shares(tmp_path, capsys):
    lines = [LineString([(0, 0, 0), (100, 0, 0)]), LineString([(100, 0, 0), (130, 0, 18)]),
             LineString([(130, 0, 18), (180, 0, 18)])]
    gpd.GeoDataFrame({"highway": ["footway", "steps", "footway"]}, geometry=lines,
                     crs="EPSG:32648").to_file(tmp_path / "streets.gpkg", driver="GPKG")
    pd.DataFrame({"id": ["top", "low"], "population": [10, 5], "elderly": [3, 1], "x": [180.0, 50.0],
                  "y": [0.0, 0.0], "district": ["old_town", "riverside"]}).to_csv(tmp_path / "demand.csv",
                                                                                  index=False)
    pd.DataFrame({"id": ["s1", "s2"], "cost": [0.0, 5.0], "x": [0.0, 150.0], "y": [0.0, 0.0],
                  "status": ["existing", "candidate"], "services": ["elderly_care", ""]}).to_csv(
        tmp_path / "sites.csv", index=False)
    (tmp_path / "s.toml").write_text(
        '[data]\ndemand = "demand.csv"\ncandidates = "sites.csv"\n'
        '[model]\ntype = "mclp"\nthreshold_minutes = 5\nbudget = 5\n'
        '[network]\npath = "streets.gpkg"\n[network.speeds]\nadult = 1.0\nelderly = 0.76\n')
    out = tmp_path / "stairs.csv"
    code = main(["travel", str(tmp_path / "s.toml"), "--sensitivity", "stairs", "--minutes", "4.7", "5",
                 "--by", "district=old_town", "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out)
    assert set(table["parameter_set"]) == {"flat-scaled", "stairs x0.7", "stairs x1", "stairs x1.3",
                                           "stairs, Tobler for all"}
    assert set(table["district"]) == {"old_town", "riverside"} and set(table["service"]) == {"elderly_care"}
    old = table[(table["district"] == "old_town") & (table["group"] == "elderly") & (table["minutes"] == 4.7)]
    shares = dict(zip(old["parameter_set"], old["share"], strict=True))
    assert shares["flat-scaled"] == 1.0 and shares["stairs x1"] == 0.0
    text = capsys.readouterr().out
    assert "in district = old_town" in text and "flat-scaled" in text and "elderly 4.7 min" in text
    # a plan's sites.csv (siting solve) replaces the existing facilities
    plan = tmp_path / "plan"
    plan.mkdir()
    pd.DataFrame({"site_id": ["s2"], "service": ["elderly_care"]}).to_csv(plan / "sites.csv", index=False)
    assert main(["travel", str(tmp_path / "s.toml"), "--sensitivity", "stairs", "--plan", str(plan),
                 "--minutes", "1", "--out", str(out), "--quiet"]) == 0
    near = pd.read_csv(out)
    assert near.loc[(near["group"] == "adult") & (near["parameter_set"] == "stairs x1"), "share"].item() == \
        pytest.approx(10 / 15)  # only the top block is within a minute of s2

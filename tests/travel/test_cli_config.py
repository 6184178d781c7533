"""`siting travel`, the [network] section, and the written table."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString

from siting.cli import main
from siting.errors import InputError, ScenarioError
from siting.travel import compute_travel_times, load_network, parse_network_section, write_travel_table
from siting.travel.scenario import scenario_travel_times


@pytest.fixture
def inputs(tmp_path):
    lines = [LineString([(0, 0, 0), (400, 0, 0)]), LineString([(400, 0, 0), (400, 300, 40)]),
             LineString([(400, 300, 40), (900, 300, 40)]), LineString([(0, 0, 0), (0, 600, 0)])]
    gpd.GeoDataFrame({"highway": ["footway", "steps", "residential", "path"]}, geometry=lines,
                     crs="EPSG:32648").to_file(tmp_path / "streets.gpkg", driver="GPKG")
    pd.DataFrame({"id": ["d1", "d2", "d3", "far"], "population": [10, 20, 30, 5],
                  "x": [10.0, 390.0, 0.0, 5000.0], "y": [5.0, 150.0, 590.0, 5000.0]}).to_csv(tmp_path / "demand.csv",
                                                                                            index=False)
    pd.DataFrame({"id": ["s1", "s2"], "cost": [1.0, 2.0], "x": [400.0, 800.0], "y": [0.0, 310.0]}).to_csv(
        tmp_path / "candidates.csv", index=False)
    return tmp_path


def _expected(tmp_path, **kw):
    g = load_network(tmp_path / "streets.gpkg")
    d = pd.read_csv(tmp_path / "demand.csv")[["id", "x", "y"]]
    s = pd.read_csv(tmp_path / "candidates.csv")[["id", "x", "y"]]
    return compute_travel_times(g, d, s, **kw)


def test_cli_with_explicit_paths_writes_csv(inputs, capsys):
    out = inputs / "t.csv"
    code = main(["travel", "--network", str(inputs / "streets.gpkg"), "--demand", str(inputs / "demand.csv"),
                 "--candidates", str(inputs / "candidates.csv"), "--out", str(out), "--cutoff", "20"])
    assert code == 0
    got = pd.read_csv(out, dtype={"demand_id": str, "candidate_id": str})
    exp = _expected(inputs, cutoff_min=20)
    assert list(got.columns) == ["demand_id", "candidate_id", "minutes"]
    pd.testing.assert_frame_equal(got, exp.reset_index(drop=True), check_dtype=False)
    text = capsys.readouterr().out
    assert "demand far" in text and "pairs within 20 min" in text
    assert not [p for p in inputs.iterdir() if p.name.endswith(".tmp")]


def test_cli_scenario_groups_parquet(inputs):
    (inputs / "s.toml").write_text(
        '[data]\ndemand = "demand.csv"\ncandidates = "candidates.csv"\n'
        '[model]\ntype = "mclp"\nthreshold_minutes = 15\nbudget = 5\n'
        '[network]\npath = "streets.gpkg"\nstairs_factor = 0.4\n[network.speeds]\nadult = 1.0\nelderly = 0.76\n')
    out = inputs / "t.parquet"
    assert main(["travel", str(inputs / "s.toml"), "--out", str(out), "--quiet"]) == 0
    got = pd.read_parquet(out)
    assert set(got["group"]) == {"", "elderly"}
    from siting.travel import SpeedProfile

    exp = _expected(inputs, cutoff_min=15, profile=SpeedProfile({"adult": 1.0, "elderly": 0.76}, stairs_factor=0.4))
    pd.testing.assert_frame_equal(got, exp.reset_index(drop=True), check_dtype=False)
    # the scenario hook used by `siting solve` gives the same table
    from siting.scenario import load_scenario

    again = scenario_travel_times(load_scenario(inputs / "s.toml"), progress=False)
    pd.testing.assert_frame_equal(again.reset_index(drop=True), got, check_dtype=False)


def test_cli_errors_are_one_line(inputs, capsys):
    (inputs / "bad.toml").write_text(
        '[data]\ndemand = "demand.csv"\ncandidates = "candidates.csv"\n'
        '[model]\ntype = "mclp"\nthreshold_minutes = 15\nbudget = 5\n'
        '[network]\npath = "streets.gpkg"\nslpoe = false\n')
    assert main(["travel", str(inputs / "bad.toml"), "--out", str(inputs / "t.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "key 'network.slpoe': unknown key (did you mean 'slope'?)" in err
    assert main(["travel", "--demand", "x.csv", "--candidates", "y.csv", "--out", str(inputs / "t.csv")]) == 2
    assert "no street network" in capsys.readouterr().err


@pytest.mark.parametrize("table,match", [
    ({"path": "streets.gpkg", "cutoff_minutes": "15"}, "key 'network.cutoff_minutes': expected a number"),
    ({"path": "streets.gpkg", "speeds": {"elderly": -1}}, "key 'network.speeds.elderly'"),
    ({"path": "streets.gpkg", "engine": "fast"}, "key 'network.engine': expected one of auto, numba, scipy"),
    ({"path": "nope.gpkg"}, "key 'network.path': file not found"),
    ({"layer": "x"}, "key 'network.path': missing"),
])
def test_network_section_errors(inputs, table, match):
    with pytest.raises(ScenarioError, match=match):
        parse_network_section(table, file=inputs / "s.toml")


def test_network_section_factors(inputs):
    cfg = parse_network_section({"path": "streets.gpkg", "speeds": {"adult": 1.2}, "factors": {"elderly": 0.5}},
                                file=inputs / "s.toml")
    assert cfg.profile().groups == {"adult": 1.2, "elderly": 0.6}
    assert cfg.path == inputs / "streets.gpkg"


def test_write_travel_table_formats(tmp_path):
    df = pd.DataFrame({"demand_id": ["a"], "candidate_id": ["b"], "minutes": [1.5]})
    assert pd.read_parquet(write_travel_table(df, tmp_path / "t.parquet")).equals(df)
    with pytest.raises(InputError, match="must end in .parquet or .csv"):
        write_travel_table(df, tmp_path / "t.xlsx")
    with pytest.raises(InputError, match="lacks columns"):
        write_travel_table(df.drop(columns="minutes"), tmp_path / "t.csv")


def test_elevation_samples_make_flat_streets_hilly(inputs):
    import math

    import numpy as np

    from siting.travel.elevation import read_elevation_points, with_node_elevation

    flat = load_network(inputs / "streets.gpkg")
    pd.DataFrame({"x": [-100, 1000, -100, 1000], "y": [-100, -100, 700, 700],
                  "z": [0.0, 0.0, 160.0, 160.0]}).to_csv(inputs / "dem.csv", index=False)   # z = 0.2 * (y + 100)
    hilly = with_node_elevation(flat, *read_elevation_points(inputs / "dem.csv", flat))
    assert np.allclose(hilly.node_z, 0.2 * (hilly.node_y + 100))
    up = hilly.segment_costs()[0]
    # the path segment (0,0)->(0,600) climbs 120 m: 20 % grade
    k = int(np.flatnonzero((hilly.node_x[hilly.seg_v] == 0) & (hilly.node_y[hilly.seg_v] == 600))[0])
    assert up[k] == pytest.approx(600 / (math.exp(-3.5 * 0.25) / math.exp(-3.5 * 0.05)))
    out = inputs / "t.csv"
    (inputs / "s.toml").write_text(
        '[data]\ndemand = "demand.csv"\ncandidates = "candidates.csv"\n'
        '[model]\ntype = "mclp"\nthreshold_minutes = 15\nbudget = 5\n'
        '[network]\npath = "streets.gpkg"\nelevation = "dem.csv"\ncutoff_minutes = 30\n')
    assert main(["travel", str(inputs / "s.toml"), "--out", str(out), "--quiet"]) == 0
    flat_t = _expected(inputs, cutoff_min=30)
    hilly_t = pd.read_csv(out, dtype={"demand_id": str, "candidate_id": str})
    merged = flat_t.merge(hilly_t, on=["demand_id", "candidate_id"], suffixes=("_flat", "_hilly"))
    assert len(merged) and (merged["minutes_hilly"] >= merged["minutes_flat"] - 1e-9).all()
    assert (merged["minutes_hilly"] > merged["minutes_flat"] + 1e-6).any()


def test_instance_from_network_for_solve(inputs):
    from siting.scenario import load_scenario
    from siting.travel.scenario import instance_from_network

    (inputs / "s.toml").write_text(
        '[data]\ndemand = "demand.csv"\ncandidates = "candidates.csv"\n'
        '[model]\ntype = "mclp"\nthreshold_minutes = 15\nbudget = 5\n'
        '[network]\npath = "streets.gpkg"\n[network.speeds]\nadult = 1.0\nelderly = 0.76\n')
    sc = load_scenario(inputs / "s.toml")
    inst = instance_from_network(sc)
    old = instance_from_network(sc, group="elderly")
    exp = _expected(inputs, cutoff_min=15)
    assert len(inst.travel) == len(exp)
    assert len(old.travel) <= len(inst.travel)
    assert old.travel.minutes.min() > inst.travel.minutes.min()  # older walkers are slower on every path
    assert inst.travel.within(15).sum() == len(exp)

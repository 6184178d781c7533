"""Travel tables that know their limits (cutoff, speeds) and demand points that reach no site (issue 13)."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

import siting
from siting.cli import main
from siting.data import read_demand, read_sites
from siting.data.load import instance_from_frames
from siting.data.travel_table import check_thresholds, read_travel
from siting.errors import InputError
from siting.io import sidecar_path
from siting.travel import write_travel_table


@pytest.fixture
def net(tmp_path) -> Path:
    """Four streets, four demand points (``far`` is 6 km from every street) and two candidate sites."""
    lines = [LineString([(0, 0, 0), (400, 0, 0)]), LineString([(400, 0, 0), (400, 300, 40)]),
             LineString([(400, 300, 40), (900, 300, 40)]), LineString([(0, 0, 0), (0, 600, 0)])]
    gpd.GeoDataFrame({"highway": ["footway", "steps", "residential", "path"]}, geometry=lines,
                     crs="EPSG:32648").to_file(tmp_path / "streets.gpkg", driver="GPKG")
    pd.DataFrame({"id": ["d1", "d2", "d3", "far"], "population": [10, 20, 30, 5],
                  "x": [10.0, 390.0, 0.0, 5000.0], "y": [5.0, 150.0, 590.0, 5000.0]}).to_csv(
        tmp_path / "demand.csv", index=False)
    pd.DataFrame({"id": ["s1", "s2"], "cost": [1.0, 2.0], "x": [400.0, 800.0], "y": [0.0, 310.0]}).to_csv(
        tmp_path / "candidates.csv", index=False)
    return tmp_path


def _travel(net: Path, out: str, *flags: str) -> Path:
    path = net / out
    assert main(["travel", "--network", str(net / "streets.gpkg"), "--demand", str(net / "demand.csv"),
                 "--candidates", str(net / "candidates.csv"), "--out", str(path), "--quiet", *flags]) == 0
    return path


def _scenario(net: Path, table: Path, model: str) -> Path:
    toml = net / "s.toml"
    toml.write_text(f'[data]\ndemand = "demand.csv"\ncandidates = "candidates.csv"\n'
                    f'travel_times = "{table.name}"\n[model]\n{model}\n')
    return toml


def _read(net: Path, table: Path, group: str | None = None):
    return read_travel(table, read_demand(net / "demand.csv"), read_sites(net / "candidates.csv"), group=group)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_computed_table_records_its_cutoff_and_speeds(net, suffix):
    table = _travel(net, f"t{suffix}", "--cutoff", "12", "--group", "elderly=0.76")
    for group in (None, "elderly"):
        travel = _read(net, table, group)
        assert travel.cutoff_min == 12.0
        assert travel.speeds_m_s == (("adult", 1.0), ("elderly", 0.76))
        assert travel.minutes.max() <= 12.0
    assert sidecar_path(table).is_file() == (suffix == ".csv")


def test_a_threshold_above_the_cutoff_is_one_line_naming_both_numbers_and_the_file(net, capsys):
    table = _travel(net, "t.parquet", "--cutoff", "12")
    bad = _scenario(net, table, 'type = "mclp"\nthreshold_minutes = 15\nbudget = 3')
    assert main(["solve", str(bad), "--out", str(net / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "model.threshold_minutes = 15 min" in err and "12 min cutoff" in err and str(table) in err
    assert not (net / "out" / "solution.json").exists()
    ok = _scenario(net, table, 'type = "mclp"\nthreshold_minutes = 12\nbudget = 3')
    assert main(["solve", str(ok), "--out", str(net / "out"), "--quiet"]) == 0


def test_a_service_threshold_above_the_cutoff_names_the_service(net):
    from siting.models.registry import get_model

    travel = _read(net, _travel(net, "t.parquet", "--cutoff", "10"))
    thresholds = get_model("multiservice").params(budget=5e6).thresholds_min()
    assert thresholds and max(thresholds.values()) > 10
    with pytest.raises(InputError, match=r"services\.\w+\.threshold_minutes = [\d.]+ min is above the 10 min cutoff"):
        check_thresholds([travel], thresholds)


def test_a_table_without_metadata_or_edited_since_is_read_as_before(net):
    computed = pd.read_parquet(_travel(net, "t.parquet", "--cutoff", "12"))
    plain = write_travel_table(computed, net / "plain.csv")            # another tool's table: no sidecar
    assert _read(net, plain).cutoff_min is None
    check_thresholds([_read(net, plain)], {"threshold_minutes": 60})
    edited = _travel(net, "edited.csv", "--cutoff", "12")
    pd.read_csv(edited).iloc[:-1].to_csv(edited, index=False)            # one row removed by hand
    assert _read(net, edited).cutoff_min is None


def _instance(net: Path, table: Path, drop: tuple[str, ...] = ()):
    demand = pd.read_csv(net / "demand.csv")
    demand = demand[~demand["id"].isin(drop)]
    times = pd.read_parquet(table)
    return instance_from_frames(demand, pd.read_csv(net / "candidates.csv"),
                                times[~times["demand_id"].isin(drop)])


@pytest.mark.parametrize("model", ["pmedian", "pcenter"])
def test_unreachable_demand_stops_pmedian_and_pcenter_by_default_naming_count_and_ids(net, model):
    inst = _instance(net, _travel(net, "t.parquet", "--cutoff", "60"))
    res = siting.solve(inst, model=model, p=1)
    assert res.status == "infeasible"
    assert "1 demand point(s): far reach no usable site" in res.message and 'unreachable = "drop"' in res.message


@pytest.mark.parametrize("model", ["pmedian", "pcenter"])
def test_drop_solves_as_the_instance_without_the_unreachable_points(net, model):
    table = _travel(net, "t.parquet", "--cutoff", "60")
    dropped = siting.solve(_instance(net, table), model=model, p=1, unreachable="drop")
    without = siting.solve(_instance(net, table, drop=("far",)), model=model, p=1)
    assert dropped.status == without.status == "optimal"
    assert dropped.selected == without.selected
    assert dropped.objective == pytest.approx(without.objective)
    assert dropped.covered_weight == pytest.approx(without.covered_weight)
    assert dropped.total_weight == pytest.approx(without.total_weight + 5)     # still counted as demand
    assert dropped.stats["unreachable_demand"] == {"count": 1, "weight": 5.0, "first_ids": ["far"]}


def _unreachable(folder: Path) -> dict:
    sol = json.loads((folder / "solution.json").read_text())
    return sol.get("unreachable_demand") or sol["stats"]["unreachable_demand"]


@pytest.mark.parametrize("model", ['type = "mclp"\nthreshold_minutes = 8\nbudget = 3',
                                   'type = "lscp"\nthreshold_minutes = 8',
                                   'type = "pmedian"\np = 1\nunreachable = "drop"'])
def test_solve_lists_unreachable_demand_in_solution_json_and_a_csv(net, model):
    table = _travel(net, "t.parquet", "--cutoff", "8")
    # which points reach no site within 8 minutes, from the table itself
    reached = set(pd.read_parquet(table)["demand_id"])
    lost = sorted(set(pd.read_csv(net / "demand.csv")["id"]) - reached)
    assert "far" in lost and len(lost) < 4
    out = net / "out"
    assert main(["solve", str(_scenario(net, table, model)), "--out", str(out), "--quiet"]) == 0
    info = _unreachable(out)
    assert info["count"] == len(lost) and sorted(info["first_ids"]) == lost
    listed = pd.read_csv(out / "unreachable.csv", dtype={"demand_id": str})
    assert sorted(listed["demand_id"]) == lost
    population = pd.read_csv(net / "demand.csv").set_index("id")["population"]
    assert info["weight"] == pytest.approx(float(population[lost].sum()))
    assert np.allclose(listed.set_index("demand_id")["population"], population[listed["demand_id"]])


def test_a_solve_without_unreachable_demand_removes_an_old_csv(net):
    table = _travel(net, "t.parquet", "--cutoff", "60")
    keep = pd.read_csv(net / "demand.csv")
    keep[keep["id"] != "far"].to_csv(net / "demand.csv", index=False)
    pd.read_parquet(table).to_parquet(table)       # same rows: "far" had none
    out = net / "out"
    out.mkdir()
    (out / "unreachable.csv").write_text("demand_id\nold\n")
    assert main(["solve", str(_scenario(net, table, 'type = "pmedian"\np = 1')), "--out", str(out), "--quiet"]) == 0
    assert _unreachable(out)["count"] == 0 and not (out / "unreachable.csv").exists()


def test_the_network_cache_of_a_scenario_records_its_cutoff(net):
    from siting.io import read_table_metadata

    toml = net / "n.toml"
    toml.write_text('[data]\ndemand = "demand.csv"\ncandidates = "candidates.csv"\n'
                    '[model]\ntype = "mclp"\nthreshold_minutes = 9\nbudget = 3\n'
                    '[network]\npath = "streets.gpkg"\n[network.speeds]\nadult = 1.1\nelderly = 0.8\n')
    assert main(["solve", str(toml), "--out", str(net / "out"), "--quiet"]) == 0
    (cached,) = (net / "out" / "travel").glob("travel_*.parquet")
    meta = read_table_metadata(cached)
    assert meta["cutoff_min"] == 9.0 and meta["speeds_m_s"] == {"adult": 1.1, "elderly": 0.8}
    assert _read(net, cached).cutoff_min == 9.0


def test_the_inputs_doc_lists_every_network_key():
    from siting.travel.config import NETWORK_KEYS

    text = (Path(__file__).resolve().parents[2] / "docs" / "INPUTS.md").read_text(encoding="utf-8")
    start = text.index("### `[network]` (optional)")
    section = text[start:text.index("\n### ", start + 1)]
    missing = [k for k in NETWORK_KEYS if f"| `{k}` |" not in section and f"| `[network.{k}" not in section]
    assert not missing, f"docs/INPUTS.md [network] lacks {missing}"

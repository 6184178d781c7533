"""Inputs as people have them: building footprints, lon/lat, their own column names; results as geodata.

The "done when" of issue 13: a lon/lat polygon GeoPackage of buildings solves the same plan as its projected
point equivalent (walking times computed over a street network, so the positions decide the plan).
"""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, box

from siting.data import instance_from_frames, load_instance, move_to_streets, read_demand
from siting.errors import InputError, ScenarioError
from siting.run import solve_scenario, write_outputs
from siting.scenario import load_scenario

UTM = "EPSG:32648"  # UTM 48N: Chongqing
X0, Y0 = 650_000.0, 3_270_000.0
SPACING_M = 120.0


def _streets() -> gpd.GeoDataFrame:
    """A 6 x 6 grid of streets, 120 m apart."""
    ends = np.arange(6) * SPACING_M
    lines = [LineString([(X0 + a, Y0), (X0 + a, Y0 + ends[-1])]) for a in ends]
    lines += [LineString([(X0, Y0 + a), (X0 + ends[-1], Y0 + a)]) for a in ends]
    return gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs=UTM)


def _buildings() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Homes (one per block) and eight idle buildings as footprints in metres."""
    homes = []
    for bx in range(5):
        for by in range(5):
            cx, cy = X0 + bx * SPACING_M + 40 + 5 * by, Y0 + by * SPACING_M + 30 + 3 * bx
            homes.append({"id": f"h{bx}{by}", "population": 10 + (bx * 7 + by * 3) % 20,
                          "geometry": box(cx - 10, cy - 6, cx + 10, cy + 6)})
    idle = []
    for k in range(8):
        cx, cy = X0 + 20 + k * 70.0, Y0 + 90 + (k % 3) * SPACING_M
        idle.append({"id": f"s{k}", "cost": 1.0 + k % 2, "name": f"old depot {k}", "owner": "district",
                     "geometry": box(cx - 8, cy - 8, cx + 8, cy + 8)})
    return gpd.GeoDataFrame(homes, crs=UTM), gpd.GeoDataFrame(idle, crs=UTM)


def _times(homes: pd.DataFrame, idle: pd.DataFrame) -> pd.DataFrame:
    """A travel table without a network: each home reaches one idle building in 1-4 minutes."""
    return pd.DataFrame({"demand_id": homes["id"].to_numpy(), "candidate_id": np.resize(idle["id"], len(homes)),
                         "minutes": 1.0 + np.arange(len(homes)) % 4})


MODEL = '[model]\ntype = "mclp"\nthreshold_minutes = 2.5\nbudget = 3\n'


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> dict[str, Path]:
    """The same town twice: projected points in CSV, and lon/lat footprints in GeoPackages (read-only)."""
    tmp_path = tmp_path_factory.mktemp("city")
    _streets().to_file(tmp_path / "streets.gpkg", driver="GPKG")
    homes, idle = _buildings()
    for gdf, name in ((homes, "demand"), (idle, "candidates")):
        points = gdf.geometry.representative_point()
        pd.DataFrame(gdf.drop(columns="geometry")).assign(x=points.x, y=points.y).to_csv(
            tmp_path / f"{name}_points.csv", index=False)
        gdf.to_crs("EPSG:4326").to_file(tmp_path / f"{name}_lonlat.gpkg", driver="GPKG")
    net = '[network]\npath = "streets.gpkg"\n'
    (tmp_path / "points.toml").write_text(
        f'[data]\ndemand = "demand_points.csv"\ncandidates = "candidates_points.csv"\ncrs = "{UTM}"\n'
        + MODEL + net)
    (tmp_path / "lonlat.toml").write_text(
        '[data]\ndemand = "demand_lonlat.gpkg"\ncandidates = "candidates_lonlat.gpkg"\n' + MODEL + net)
    return {"points": tmp_path / "points.toml", "lonlat": tmp_path / "lonlat.toml", "dir": tmp_path}


def test_lon_lat_footprints_solve_as_their_projected_points(city):
    by_points = solve_scenario(load_scenario(city["points"]))
    by_footprints = solve_scenario(load_scenario(city["lonlat"]))
    assert by_points.has_solution and by_footprints.has_solution
    # the positions decide the plan here: not every home is within reach of the plan
    assert 0 < by_points.covered_weight < by_points.total_weight
    assert by_footprints.selected == by_points.selected
    assert by_footprints.covered_weight == pytest.approx(by_points.covered_weight)
    a = by_points.coverage.set_index("demand_id")
    b = by_footprints.coverage.set_index("demand_id").loc[a.index]
    assert (a["covered"] == b["covered"]).all() and (a["site_id"].fillna("") == b["site_id"].fillna("")).all()
    assert np.allclose(a["minutes"], b["minutes"], atol=0.01, equal_nan=True)
    # computed in the local UTM zone, which the outputs state; the footprints come back as drawn
    summary = by_footprints.summary()
    assert summary["crs"] == UTM and summary["input_crs"] == "EPSG:4326" and by_points.summary()["crs"] == UTM
    gdf = by_footprints.to_geodataframe(geometry="footprint")
    assert gdf.crs.to_string() == UTM and set(gdf.geom_type) == {"Polygon"}
    _, idle = _buildings()
    drawn = idle.set_index("id").loc[gdf["site_id"], "geometry"].to_numpy()
    assert np.all(shapely.hausdorff_distance(gdf.geometry.to_numpy(), drawn) < 0.01)  # metres
    assert sorted(gdf["name"]) == sorted(f"old depot {s[1:]}" for s in gdf["site_id"])


def test_polygons_are_placed_inside_and_kept():
    homes, _ = _buildings()
    d = instance_from_frames(homes, _buildings()[1], pd.DataFrame({"demand_id": ["h00"], "candidate_id": ["s0"],
                                                                   "minutes": [1.0]})).demand
    inside = shapely.contains_xy(homes.geometry.to_numpy(), d.x, d.y)
    assert inside.all() and d.footprints is not None and d.crs == UTM and d.input_crs is None
    assert np.all(shapely.equals(d.footprints, homes.geometry.to_numpy()))


def test_a_line_geometry_is_one_line_naming_the_feature(tmp_path):
    homes, _ = _buildings()
    homes.loc[3, "geometry"] = LineString([(X0, Y0), (X0 + 5, Y0)])
    homes.to_file(tmp_path / "homes.gpkg", driver="GPKG")
    with pytest.raises(InputError) as exc:
        read_demand(tmp_path / "homes.gpkg")
    text = str(exc.value)
    assert "\n" not in text and "feature 4" in text and "LineString" in text and "Polygon" in text


def test_street_placement_puts_each_footprint_on_its_nearest_street():
    homes, _ = _buildings()
    times = pd.DataFrame({"demand_id": ["h00"], "candidate_id": ["s0"], "minutes": [1.0]})
    demand = instance_from_frames(homes, _buildings()[1], times).demand
    segments = _streets().geometry.to_numpy()
    moved = move_to_streets(demand, segments)
    on_street = shapely.points(moved.x, moved.y)
    streets = shapely.union_all(segments)
    assert np.all(shapely.distance(on_street, streets) < 1e-6)
    # on the street nearest to the footprint, and no farther from the footprint than that street is
    gap = shapely.distance(demand.footprints, on_street)
    nearest = np.array([shapely.distance(f, segments).min() for f in demand.footprints])
    assert np.allclose(gap, nearest, atol=1e-6) and not np.allclose(moved.x, demand.x)


def test_street_placement_needs_a_network(tmp_path, city):
    pd.DataFrame({"demand_id": ["h00"], "candidate_id": ["s0"], "minutes": [1.0]}).to_csv(tmp_path / "t.csv")
    text = city["points"].read_text().replace('[data]\n', '[data]\ngeometry = "street"\ntravel_times = "t.csv"\n')
    text = text.replace('"demand_points.csv"', f'"{city["dir"] / "demand_points.csv"}"').replace(
        '"candidates_points.csv"', f'"{city["dir"] / "candidates_points.csv"}"')
    (tmp_path / "street.toml").write_text(text.split("[network]")[0])
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path / "street.toml")
    assert "data.geometry" in str(exc.value) and "[network]" in str(exc.value)


def test_lon_lat_columns_and_their_own_names(tmp_path):
    homes, idle = _buildings()
    ll_homes, ll_idle = homes.to_crs("EPSG:4326"), idle.to_crs("EPSG:4326")
    pts = ll_homes.geometry.representative_point()
    pd.DataFrame({"gid": homes["id"], "pop": homes["population"], "lon": pts.x, "lat": pts.y}).to_csv(
        tmp_path / "homes.csv", index=False)
    sp = ll_idle.geometry.representative_point()
    pd.DataFrame({"bldg_id": idle["id"], "yuan": idle["cost"], "name": idle["name"], "lon": sp.x,
                  "lat": sp.y}).to_csv(tmp_path / "idle.csv", index=False)
    _times(homes, idle).to_csv(tmp_path / "t.csv", index=False)
    columns = {"id": "gid", "population": "pop", "cost": "yuan", "candidates": {"id": "bldg_id"}}
    inst = load_instance(tmp_path / "homes.csv", tmp_path / "idle.csv", tmp_path / "t.csv", columns=columns)
    assert inst.demand.crs == inst.sites.crs == UTM and inst.demand.input_crs == "EPSG:4326"
    assert inst.demand.population.sum() == homes["population"].sum() and inst.sites.cost.sum() == idle["cost"].sum()
    want = homes.geometry.representative_point()
    assert np.allclose(inst.demand.x, want.x, atol=0.01) and np.allclose(inst.demand.y, want.y, atol=0.01)
    # the same through a scenario, with [data.columns]; a projected [data] crs is where degrees go
    toml = tmp_path / "s.toml"
    toml.write_text('[data]\ndemand = "homes.csv"\ncandidates = "idle.csv"\ntravel_times = "t.csv"\n'
                    'crs = "EPSG:4547"\n[data.columns]\nid = "gid"\npopulation = "pop"\ncost = "yuan"\n'
                    '[data.columns.candidates]\nid = "bldg_id"\n' + MODEL)
    from_toml = load_scenario(toml).load_instance()
    assert from_toml.demand.crs == "EPSG:4547" and from_toml.demand.input_crs == "EPSG:4326"
    assert list(from_toml.demand.ids) == list(inst.demand.ids)


def test_a_mapped_column_that_is_absent_is_one_line(tmp_path):
    homes, idle = _buildings()
    times = pd.DataFrame({"demand_id": ["h00"], "candidate_id": ["s0"], "minutes": [1.0]})
    with pytest.raises(InputError) as exc:
        instance_from_frames(homes, idle, times, columns={"population": "popn"})
    text = str(exc.value)
    assert "\n" not in text and "'popn'" in text and "[data.columns] population" in text
    with pytest.raises(InputError) as exc:
        instance_from_frames(homes, idle, times, columns={"elderly": "age65"})
    assert "'age65'" in str(exc.value) and "[data.columns] elderly" in str(exc.value)
    with pytest.raises(InputError) as exc:  # both the mapped column and the name it maps to: which one?
        instance_from_frames(homes.assign(pop=1), idle, times, columns={"population": "pop"})
    assert "also has a column 'population'" in str(exc.value)


def test_a_bad_columns_table_is_a_scenario_error(city):
    text = city["points"].read_text().replace(f'crs = "{UTM}"\n', f'crs = "{UTM}"\ncolumns = {{ id = 3 }}\n')
    (city["dir"] / "bad.toml").write_text(text)  # an extra file beside the shared ones
    with pytest.raises(ScenarioError) as exc:
        load_scenario(city["dir"] / "bad.toml")
    assert "data.columns.id" in str(exc.value) and "\n" not in str(exc.value)


def test_lon_lat_and_plain_xy_without_a_crs_do_not_mix():
    homes, idle = _buildings()
    pts = homes.to_crs("EPSG:4326").geometry.representative_point()
    demand = pd.DataFrame({"id": homes["id"], "population": homes["population"], "lon": pts.x, "lat": pts.y})
    sites = pd.DataFrame({"id": ["s0"], "cost": [1.0], "x": [X0], "y": [Y0]})
    times = pd.DataFrame({"demand_id": ["h00"], "candidate_id": ["s0"], "minutes": [1.0]})
    with pytest.raises(InputError) as exc:
        instance_from_frames(demand, sites, times)
    assert "[data] crs" in str(exc.value) and "degrees" in str(exc.value)
    inst = instance_from_frames(demand, sites, times, crs=UTM)  # stating the x/y's CRS settles it
    assert inst.demand.crs == inst.sites.crs == UTM


def test_site_labels_reach_sites_csv_and_the_geodataframes(tmp_path):
    homes, idle = _buildings()
    times = _times(homes, idle)
    inst = instance_from_frames(homes.assign(district=np.where(np.arange(25) < 12, "A", "B")),
                                idle.assign(status=["existing"] + [""] * 7), times)
    import siting

    res = siting.solve(inst, model="mclp", threshold_min=2.5, budget=3)
    write_outputs(res, tmp_path)
    sites_csv = pd.read_csv(tmp_path / "sites.csv")
    assert {"name", "owner"} <= set(sites_csv.columns)
    assert (sites_csv.set_index("site_id")["name"] == idle.set_index("id")["name"]).all()
    assert json.loads((tmp_path / "solution.json").read_text())["crs"] == UTM
    gdf = res.to_geodataframe()
    assert set(gdf["site_id"]) == set(res.selected) | {"s0"}  # the selected and the existing one
    assert gdf.crs.to_string() == UTM and set(gdf.geom_type) == {"Point"} and "name" in gdf.columns
    assert np.allclose(gdf.geometry.x, inst.sites.x[pd.Index(inst.sites.ids).get_indexer(gdf["site_id"])])
    cov = res.coverage_geodataframe()
    assert len(cov) == inst.n_demand and {"covered", "minutes", "site_id", "district"} <= set(cov.columns)
    assert cov.loc[cov["covered"], "weight"].sum() == pytest.approx(res.covered_weight)
    assert set(res.coverage_geodataframe(geometry="footprint").geom_type) == {"Polygon"}
    # the tables hold no reference to the layers: they write anywhere (Parquet stores attrs as JSON)
    res.sites.to_parquet(tmp_path / "sites.parquet")
    res.coverage.to_parquet(tmp_path / "coverage.parquet")
    assert pd.read_parquet(tmp_path / "sites.parquet")["name"].tolist() == sites_csv["name"].tolist()


@pytest.fixture(scope="module")
def reach(city):
    from siting.workflow.evaluation import model_inputs
    from siting.workflow.reach import PlanReach

    return PlanReach(model_inputs(load_scenario(city["lonlat"])))


def test_the_geopackage_has_the_names_and_the_footprints(reach, tmp_path):
    import pyogrio

    from siting.workflow.reporting.gpkg import FOOTPRINT_LAYERS, write_geopackage

    plan = {"s1": {"mclp"}, "s4": {"mclp"}}
    before, after = reach.providers(None), reach.providers(plan)
    covered = {k: c > 0 for k, c in reach.counts(after).items()}
    path = write_geopackage(tmp_path / "r.gpkg", reach, {k: c > 0 for k, c in reach.counts(before).items()},
                            covered, after, plan)
    layers = dict(pyogrio.list_layers(path))
    assert set(FOOTPRINT_LAYERS) <= set(layers) and layers["site_footprints"] in ("Polygon", "MultiPolygon")
    for name in (*FOOTPRINT_LAYERS, "selected_sites", "candidates"):
        assert pyogrio.read_info(path, layer=name)["crs"] == UTM, name
    chosen = gpd.read_file(path, layer="selected_sites")
    assert sorted(chosen["site_id"]) == ["s1", "s4"] and list(chosen["name"]) == [
        f"old depot {s[1:]}" for s in chosen["site_id"]]
    shapes = gpd.read_file(path, layer="site_footprints").set_index("site_id")
    _, idle = _buildings()
    drawn = idle.set_index("id").loc[shapes.index, "geometry"].to_numpy()
    assert np.all(shapely.hausdorff_distance(shapes.geometry.to_numpy(), drawn) < 0.01)
    assert set(shapes.index[shapes["selected"]]) == {"s1", "s4"} and (shapes["owner"] == "district").all()
    homes = gpd.read_file(path, layer="demand_footprints")
    assert len(homes) == 25 and homes["covered_all_services"].sum() == covered["mclp"].sum()


def test_rank_table_carries_the_names(reach):
    from siting.workflow.ranking import rank_table

    records = {3.0: {"has_solution": True, "selected": ["s1", "s4"]}}
    table = rank_table(reach, {"s1": {"mclp"}, "s4": {"mclp"}}, records)
    assert list(table.columns[:5]) == ["rank", "site_id", "name", "owner", "status"]
    assert (table["name"] == "old depot " + table["site_id"].str[1:]).all()


def test_solve_crs_flag_overrides_data_crs(city, tmp_path):
    from siting.cli import main

    homes, idle = _buildings()
    _times(homes, idle).to_csv(city["dir"] / "t.csv", index=False)
    text = city["lonlat"].read_text().replace('[data]\n', f'[data]\ntravel_times = "t.csv"\ncrs = "{UTM}"\n')
    (city["dir"] / "table.toml").write_text(text.split("[network]")[0])
    crs = "EPSG:4547"  # CGCS2000 3-degree Gauss-Kruger zone 35, instead of the file's UTM 48N
    assert main(["solve", str(city["dir"] / "table.toml"), "--out", str(tmp_path), "--quiet", "--crs", crs]) == 0
    solution = json.loads((tmp_path / "solution.json").read_text())
    assert solution["crs"] == crs and solution["input_crs"] == "EPSG:4326"
    sites = pd.read_csv(tmp_path / "sites.csv").set_index("site_id")
    want = idle.set_index("id").to_crs(crs).geometry.representative_point()
    assert np.allclose(sites["x"], want.x.loc[sites.index], atol=0.5)  # the footprint's point, in metres
    assert sites.loc["s3", "name"] == "old depot 3"


def test_a_multiservice_plan_as_geodata(tmp_path):
    """One row per site with its services; coverage per service as columns of one row per demand point."""
    from siting.testing import random_instance

    inst = random_instance(7, 5, seed=3, density=0.8, groups=True, capacity=True, floor_area=True)
    rng = np.random.default_rng(3)
    pd.DataFrame({"id": inst.demand.ids, "population": inst.demand.population, "elderly": inst.demand.groups["elderly"],
                  "children": inst.demand.groups["children"], "lon": 106.5 + rng.random(7) / 100,
                  "lat": 29.5 + rng.random(7) / 100}).to_csv(tmp_path / "demand.csv", index=False)
    pd.DataFrame({"id": inst.sites.ids, "cost": inst.sites.cost * 1e5, "name": [f"hall {k}" for k in range(5)],
                  "floor_area": inst.sites.floor_area, "lon": 106.5 + rng.random(5) / 100,
                  "lat": 29.5 + rng.random(5) / 100}).to_csv(tmp_path / "candidates.csv", index=False)
    tr = inst.travel
    travel = pd.DataFrame({"demand_id": inst.demand.ids[tr.demand_index], "candidate_id": inst.sites.ids[tr.site_index],
                           "minutes": tr.minutes})
    pd.concat([travel.assign(group=""), travel.assign(minutes=travel["minutes"] * 1.3, group="elderly")]).to_csv(
        tmp_path / "travel_times.csv", index=False)
    (tmp_path / "s.toml").write_text('[data]\ndemand = "demand.csv"\ncandidates = "candidates.csv"\n'
                                     'travel_times = "travel_times.csv"\n[model]\ntype = "multiservice"\n'
                                     'budget = 2500000.0\n')
    res = solve_scenario(load_scenario(tmp_path / "s.toml"))
    assert res.has_solution and res.selected
    gdf = res.to_geodataframe()
    assert sorted(gdf["site_id"]) == sorted(res.selected) and gdf["site_id"].is_unique
    placed = res.sites.groupby("site_id")["service"].agg(lambda s: ";".join(sorted(s)))
    assert (gdf.set_index("site_id")["services"] == placed.loc[gdf["site_id"]]).all()
    assert gdf.crs.to_string() == "EPSG:32648" and (gdf["name"] == "hall " + gdf["site_id"].str[1:]).all()
    cov = res.coverage_geodataframe()
    services = sorted(res.coverage["service"].unique())
    assert len(cov) == inst.n_demand and {f"covered_{k}" for k in services} <= set(cov.columns)
    assert "service" in res.coverage.columns  # the result's own table is unchanged


def test_a_demand_elevation_column_is_a_height_not_a_group(tmp_path):
    """``elevation_m`` may be negative or blank (a height, for the access leg); it is never a group count."""
    import numpy as np
    import pandas as pd

    from siting.data.load import read_demand

    path = tmp_path / "demand.csv"
    pd.DataFrame({"id": ["a", "b", "c"], "population": [5, 7, 9], "x": [0.0, 1.0, 2.0], "y": [0.0, 0.0, 0.0],
                  "elevation_m": [-3.5, None, 250.0], "elderly": [1, 2, 3]}).to_csv(path, index=False)
    d = read_demand(path, crs="EPSG:32648")
    assert set(d.groups) == {"elderly"}
    assert np.allclose(d.elevation_m, [-3.5, np.nan, 250.0], equal_nan=True)

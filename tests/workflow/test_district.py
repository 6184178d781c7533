"""The seeded demo-district generator."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from siting.demo.district import CRS, SERVICES, X0, Y0, DistrictSpec, generate, river_y


def _streets(folder):
    import geopandas as gpd

    return gpd.read_file(folder / "streets.gpkg", layer="streets")


def test_files_and_layers(small_district):
    for name in ("streets.gpkg", "context.gpkg", "demand.csv", "sites.csv", "demo.toml", "demo_equal_weights.toml"):
        assert (small_district / name).is_file(), name
    g = _streets(small_district)
    assert g.crs.to_string() == CRS
    assert g.has_z.all()
    assert set(g.geom_type) == {"LineString"}
    hw = set(g["highway"])
    assert {"steps", "residential", "primary"} <= hw
    z = shapely.get_coordinates(g.geometry.values, include_z=True)[:, 2]
    assert 150 < z.min() < z.max() < 700


def test_river_has_exactly_three_crossings_and_network_is_connected(small_district):
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    g = _streets(small_district)
    xy = shapely.get_coordinates(g.geometry.values)
    a, b = xy[0::2], xy[1::2]  # every street line is one 2-point segment
    side_a = np.sign(a[:, 1] - Y0 - river_y(a[:, 0] - X0))
    side_b = np.sign(b[:, 1] - Y0 - river_y(b[:, 0] - X0))
    crossing = side_a != side_b
    assert crossing.sum() == 3
    assert set(g.loc[crossing, "bridge"]) == {"yes"}
    nodes, inv = np.unique(np.round(xy, 1), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    m = sp.coo_matrix((np.ones(len(a)), (inv[0::2], inv[1::2])), shape=(len(nodes),) * 2)
    assert connected_components(m, directed=False)[0] == 1


def test_stairs_are_short_and_steep(small_district):
    g = _streets(small_district)
    xyz = shapely.get_coordinates(g.geometry.values, include_z=True)
    a, b = xyz[0::2], xyz[1::2]
    length = np.hypot(*(a[:, :2] - b[:, :2]).T)
    grade = np.abs(a[:, 2] - b[:, 2]) / np.maximum(length, 1)
    steps = (g["highway"] == "steps").to_numpy()
    assert steps.sum() > 10
    assert length[steps].max() < 120 and grade[steps].min() > 0.095  # 0.10 before rounding z to 0.1 m
    assert np.median(grade[steps]) > 3 * np.median(grade[~steps])


def test_demand_and_sites_tables(small_district):
    d = pd.read_csv(small_district / "demand.csv", dtype={"id": str})
    assert len(d) == 240 and d["population"].sum() == 48_000 and d["id"].is_unique
    assert (d["elderly"] + d["children"] <= d["population"]).all()
    share = d.groupby(d["district"].str.replace(r"_\d$", "", regex=True))[["elderly", "children", "population"]].sum()
    el = share["elderly"] / share["population"]
    ch = share["children"] / share["population"]
    assert el["old_town"] > el["new_town"] + 0.05 and 0.18 < el["old_town"] < 0.30
    assert ch["new_town"] > ch["old_town"] and 0.06 < ch.min() and ch.max() < 0.14
    assert set(share.index) == {"old_town", "new_town", "town_centre", "fringe"}
    s = pd.read_csv(small_district / "sites.csv", dtype={"id": str}, keep_default_na=False)
    idle, ex = s[s["status"] == "candidate"], s[s["status"] == "existing"]
    assert len(idle) == 70 and len(ex) == 30 and s["id"].is_unique
    assert idle["floor_area"].between(100, 2000).all() and (idle["cost"] > 100_000).all()
    assert (ex["cost"] == 0).all() and (idle["services"] == "").all()
    provided = {k for v in ex["services"] for k in v.split(";")}
    assert provided <= set(SERVICES) and len(provided) >= 4
    # cost grows with floor area (location moves it +-)
    assert np.corrcoef(idle["floor_area"], idle["cost"])[0, 1] > 0.7


def test_same_seed_same_tables_other_seed_differs(tmp_path, small_district, small_spec):
    SMALL = small_spec
    generate(tmp_path / "a", seed=7, spec=DistrictSpec(**SMALL))
    for name in ("demand.csv", "sites.csv", "demo.toml"):
        assert (tmp_path / "a" / name).read_bytes() == (small_district / name).read_bytes()
    generate(tmp_path / "b", seed=8, spec=DistrictSpec(**SMALL))
    assert (tmp_path / "b" / "demand.csv").read_bytes() != (small_district / "demand.csv").read_bytes()


def test_demo_scenario_loads(small_district):
    from siting.scenario import load_scenario

    sc = load_scenario(small_district / "demo.toml")
    assert sc.model.type == "multiservice" and sc.model.budget == 60e6
    assert sc.network["path"] == "streets.gpkg" and sc.data.travel_times is None
    assert sc.services["elderly_care"]["weight"] == 6.0
    eq = load_scenario(small_district / "demo_equal_weights.toml")
    assert eq.name == "demo-equal-weights" and not eq.services


@pytest.mark.slow
def test_full_size_district_meets_the_brief(tmp_path):
    generate(tmp_path, seed=2026)
    g = _streets(tmp_path)
    nodes = np.unique(np.round(shapely.get_coordinates(g.geometry.values), 1), axis=0)
    assert 20_000 <= len(nodes) <= 40_000
    d = pd.read_csv(tmp_path / "demand.csv")
    assert len(d) == 1500 and d["population"].sum() == 300_000
    s = pd.read_csv(tmp_path / "sites.csv")
    assert (s["status"] == "candidate").sum() == 400 and (s["status"] == "existing").sum() == 150
    total_mb = sum(p.stat().st_size for p in tmp_path.iterdir()) / 1e6
    assert total_mb < 10

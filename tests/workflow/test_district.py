"""The seeded demo-district generator."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import shapely

from siting.demo.district import CRS, SERVICES, X0, Y0, DistrictSpec, generate, river_y


def _streets(folder):
    import geopandas as gpd

    return gpd.read_file(folder / "streets.gpkg", layer="streets")


def test_files_and_layers(small_district):
    for name in ("streets.gpkg", "context.gpkg", "demand.csv", "sites.csv", "demo.toml", "demo_unphased.toml",
                 "demo_equal_weights.toml"):
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


def _tables(folder):
    d = pd.read_csv(folder / "demand.csv", dtype={"id": str})
    s = pd.read_csv(folder / "sites.csv", dtype={"id": str}, keep_default_na=False)
    return d, s


def test_demand_and_sites_tables(small_district, small_spec):
    d, s = _tables(small_district)
    assert list(d.columns) == ["id", "population", "elderly", "children", "x", "y", "district", "community"]
    assert len(d) == small_spec["n_buildings"] and d["population"].sum() == small_spec["residents"]
    assert d["id"].is_unique and (d["population"] >= 1).all()
    assert (d["elderly"] + d["children"] <= d["population"]).all()
    share = d.groupby(d["district"].str.replace(r"_\d$", "", regex=True))[["elderly", "children", "population"]].sum()
    el = share["elderly"] / share["population"]
    ch = share["children"] / share["population"]
    assert el["old_town"] > el["new_town"] + 0.05 and 0.18 < el["old_town"] < 0.30
    assert ch["new_town"] > ch["old_town"] and 0.06 < ch.min() and ch.max() < 0.14
    assert set(share.index) == {"old_town", "new_town", "town_centre", "fringe"}
    idle, ex = s[s["status"] == "candidate"], s[s["status"] == "existing"]
    assert len(idle) == small_spec["n_idle"] and len(ex) == small_spec["n_existing"] and s["id"].is_unique
    assert idle["floor_area"].between(100, 2000).all() and (idle["cost"] > 100_000).all()
    assert (ex["cost"] == 0).all() and (idle["services"] == "").all()
    provided = {k for v in ex["services"] for k in v.split(";")}
    assert provided <= set(SERVICES) and len(provided) >= 5
    # cost grows with floor area (location moves it +-)
    assert np.corrcoef(idle["floor_area"], idle["cost"])[0, 1] > 0.7


def test_buildings_stand_beside_the_streets(small_district):
    from scipy.spatial import cKDTree

    d, s = _tables(small_district)
    nodes = np.unique(np.round(shapely.get_coordinates(_streets(small_district).geometry.values), 1), axis=0)
    tree = cKDTree(nodes)
    assert tree.query(d[["x", "y"]].to_numpy())[0].max() < 150.0   # within reach of a street (snap limit 300 m)
    assert tree.query(s[["x", "y"]].to_numpy())[0].max() < 200.0
    # buildings, not blocks: several per street node in the old town, so a 300 m walk reaches dozens of them
    old = d[d["district"] == "old_town"]
    near = cKDTree(old[["x", "y"]].to_numpy()).query_ball_point(old[["x", "y"]].to_numpy()[:200], r=300.0)
    assert np.median([len(n) for n in near]) >= 20


def test_communities_are_text_labels_and_contiguous(small_district, small_spec):
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    from siting.demo.district import _streets as street_network
    from siting.demo.population import Communities, buildings

    d, s = _tables(small_district)
    labels = sorted(d["community"].unique())
    assert all(re.fullmatch(r"C\d{2}", c) for c in labels)
    assert abs(len(labels) - small_spec["n_communities"]) <= 2
    assert set(s["community"]) <= set(labels)
    people = d.groupby("community")["population"].sum()
    assert people.min() > 0.2 * people.mean() and people.max() < 3 * people.mean()
    # rebuild the partition as the generator does and check that each community is one piece of the streets
    spec = DistrictSpec(**small_spec)
    rng = np.random.default_rng(7)
    _, nx, ny, links, bridge = street_network(rng, spec)
    bld = buildings(rng, spec.n_buildings, spec.residents, nx, ny, spacing_scale=spec.spacing_scale)
    com = Communities.build(rng, spec.n_communities, nx, ny, links, bridge, bld["x"].to_numpy(), bld["y"].to_numpy(),
                            bld["population"].to_numpy().astype(float))
    assert sorted(com.labels) == labels
    assert sorted(com.of(d["x"].to_numpy() - X0, d["y"].to_numpy() - Y0)) == sorted(d["community"])
    a, b = links[~bridge, 0], links[~bridge, 1]
    same = com.node_community[a] == com.node_community[b]
    for k in range(len(com.labels)):
        mine = np.flatnonzero(com.node_community == k)
        inside = same & (com.node_community[a] == k)
        index = np.full(len(nx), -1)
        index[mine] = np.arange(mine.size)
        g = sp.coo_matrix((np.ones(inside.sum()), (index[a[inside]], index[b[inside]])), shape=(mine.size,) * 2)
        assert connected_components(g, directed=False)[0] == 1, com.labels[k]
    # the loader reads the column as a label, never as a group count
    from siting.data.load import read_demand

    demand = read_demand(small_district / "demand.csv")
    assert "community" in demand.labels and "community" not in demand.groups


def test_existing_facilities_follow_the_district(small_district):
    d, s = _tables(small_district)
    ex = s[s["status"] == "existing"]
    kind = ex["district"].str.replace(r"_\d$", "", regex=True)
    people = d.groupby(d["district"].str.replace(r"_\d$", "", regex=True))["population"].sum()
    per_10k = kind.value_counts().reindex(people.index, fill_value=0) / people * 1e4
    # services cluster in the town centres and the old town, not in the new town
    assert per_10k["town_centre"] > 2 * per_10k["new_town"] and per_10k["old_town"] > per_10k["new_town"]
    elderly = ex[ex["services"].str.contains("elderly_care")]
    assert (elderly["district"] == "new_town").sum() < 0.2 * len(elderly)
    assert (ex["services"].str.count(";") > 0).any()            # some buildings host several services
    centres = ex[ex["services"].str.contains("service_centre")]
    assert 1 <= len(centres) <= 0.2 * ex["community"].nunique() + 1 and centres["community"].is_unique
    # an elderly-care station in every community is within reach: an existing one, or an idle building of 350 m2
    idle = s[(s["status"] == "candidate") & (s["floor_area"] >= 350)]
    assert set(d["community"]) <= set(elderly["community"]) | set(idle["community"])


def test_same_seed_same_tables_other_seed_differs(tmp_path, small_district, small_spec):
    SMALL = small_spec
    generate(tmp_path / "a", seed=7, spec=DistrictSpec(**SMALL))
    for name in ("demand.csv", "sites.csv", "demo.toml", "demo_unphased.toml", "demo_equal_weights.toml"):
        assert (tmp_path / "a" / name).read_bytes() == (small_district / name).read_bytes()
    generate(tmp_path / "b", seed=8, spec=DistrictSpec(**SMALL))
    assert (tmp_path / "b" / "demand.csv").read_bytes() != (small_district / "demand.csv").read_bytes()


def test_demo_scenarios_say_the_policy(small_district):
    from siting.scenario import load_scenario
    from siting.services.catalog import load_catalog

    sc = load_scenario(small_district / "demo.toml")
    assert sc.model.type == "multiservice" and sc.model.budget == 60e6
    assert sc.network["path"] == "streets.gpkg" and sc.data.travel_times is None
    raw = sc.raw
    assert [p["year"] for p in raw["phases"]] == [2025, 2026, 2027]
    assert sum(p["budget"] for p in raw["phases"]) == sc.model.budget
    assert raw["model"]["objective"] == "share" and raw["model"]["community_column"] == "community"
    catalog = load_catalog(overrides=sc.services)
    assert catalog.priority_levels()[:2] == [("elderly_care",), ("canteen", "childcare")]
    assert sc.services["elderly_care"]["min_providers_per_community"] == 1
    flat = load_scenario(small_district / "demo_unphased.toml")
    assert "phases" not in flat.raw and flat.services == sc.services and flat.sweep["budgets"]
    assert {k: v for k, v in flat.raw["model"].items()} == raw["model"]
    eq = load_scenario(small_district / "demo_equal_weights.toml")
    assert eq.name == "demo-equal-weights" and not eq.services and "phases" not in eq.raw
    assert eq.model.budget == sc.model.budget


@pytest.mark.slow
def test_full_size_district_meets_the_brief(tmp_path):
    generate(tmp_path, seed=2026)
    g = _streets(tmp_path)
    nodes = np.unique(np.round(shapely.get_coordinates(g.geometry.values), 1), axis=0)
    assert 20_000 <= len(nodes) <= 40_000
    d = pd.read_csv(tmp_path / "demand.csv")
    assert len(d) == 30_000 and d["population"].sum() == 300_000 and 25 <= d["community"].nunique() <= 40
    s = pd.read_csv(tmp_path / "sites.csv")
    assert (s["status"] == "candidate").sum() == 400 and (s["status"] == "existing").sum() == 150
    total_mb = sum(p.stat().st_size for p in tmp_path.iterdir()) / 1e6
    assert total_mb < 10

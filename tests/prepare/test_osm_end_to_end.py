"""docs/FROM-OSM.md, run as written: from pyrosm's sample extract alone, ``siting prepare osm`` -> ``siting solve``
-> ``siting report`` (offline), then ``siting prepare poi``; the outputs are checked here."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

import siting.cli

pyrosm = pytest.importorskip("pyrosm")

DOC = Path(__file__).resolve().parents[2] / "docs" / "FROM-OSM.md"
BLOCK = re.compile(r"^```(\w+)[ \t]*([^\n]*)\n(.*?)^```", re.S | re.M)


def walkthrough(doc: str) -> list[tuple[str, str, str]]:
    """The doc's fenced blocks in order: ``(language, info, body)``."""
    return [(m.group(1), m.group(2).strip(), m.group(3)) for m in BLOCK.finditer(doc)]


def run_walkthrough(workdir: Path) -> list[str]:
    """Write the ``csv NAME`` blocks and run the ``siting`` lines of the ``bash walkthrough`` blocks in ``workdir``."""
    env = {"PBF": pyrosm.get_data("test_pbf")}
    ran = []
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)
        for lang, info, body in walkthrough(DOC.read_text(encoding="utf-8")):
            if lang == "csv" and info:
                (workdir / info).write_text(body, encoding="utf-8")
            if lang != "bash" or info != "walkthrough":
                continue
            for line in body.splitlines():
                if line.startswith("PBF="):
                    continue  # the doc's way of finding the sample; env["PBF"] is the same path
                argv = shlex.split(line.replace("$PBF", shlex.quote(env["PBF"])))
                assert argv[0] == "siting", line
                code = siting.cli.main([*argv[1:], "--quiet"])
                assert code == 0, line
                ran.append(argv[1] if argv[1] != "prepare" else f"prepare {argv[2]}")
    return ran


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("from_osm")
    ran = run_walkthrough(workdir)
    assert ran == ["prepare osm", "solve", "report", "prepare poi"]
    return workdir


def layers_with_crs(gpkg: Path) -> dict[str, str]:
    """Every geometry layer of ``gpkg`` and its CRS (attribute tables have none and are skipped)."""
    out = {}
    for layer, geometry_type in pyogrio.list_layers(gpkg):
        if geometry_type is not None:
            crs = gpd.read_file(gpkg, layer=layer).crs
            out[str(layer)] = crs.to_string() if crs is not None else "none"
    return out


@pytest.mark.slow
def test_from_osm_walkthrough_end_to_end(walked: Path) -> None:
    osm = walked / "osm"
    summary = json.loads((osm / "prepare.json").read_text())
    crs = summary["crs"]
    assert crs == "EPSG:32635"  # UTM 35N for south-east Finland, as the doc says
    for name in ("streets", "candidates", "demand", "footprints"):
        got = layers_with_crs(osm / f"{name}.gpkg")
        assert got and set(got.values()) == {crs}, (name, got)

    cand = gpd.read_file(osm / "candidates.gpkg")
    assert set(cand.geom_type) == {"Point"} and summary["candidates"] == len(cand)
    assert {"Otsolan Koulu", "Liikuntasali"} <= set(cand["name"].dropna())
    assert np.allclose(cand["cost"], cand["floor_area"] * 2000.0, rtol=1e-9)

    demand = gpd.read_file(osm / "demand.gpkg")
    feet = gpd.read_file(osm / "footprints.gpkg", layer="demand")
    assert list(feet["id"]) == list(demand["id"])
    # the sample's houses carry no building:levels: one storey, 40 m2 a person
    assert np.allclose(demand["population"], (feet.area * 0.025).round(2), atol=0.02)
    assert np.allclose(demand["elderly"], (demand["population"] * 0.187).round(2), atol=0.01)

    streets = gpd.read_file(osm / "streets.gpkg")
    assert {"highway", "steps", "length_m"} <= set(streets.columns) and not streets.has_z.any()

    solution = json.loads((osm / "plan" / "solution.json").read_text())
    assert solution["status"] in ("optimal", "feasible") and solution["selected"]
    assert set(solution["selected"]) <= set(cand["id"])
    sites = pd.read_csv(osm / "plan" / "sites.csv", dtype=str)
    assert len(sites) == len(cand)
    # the buildings' names reach the plan (sites.csv carries the candidates' text columns)
    assert {"Otsolan Koulu", "Liikuntasali"} <= set(sites["name"].dropna())

    report = osm / "report"
    assert next(report.rglob("report.html"), None) is not None
    gpkgs = list(report.rglob("*.gpkg"))
    assert gpkgs
    for gpkg in gpkgs:
        got = layers_with_crs(gpkg)
        assert got and set(got.values()) == {crs}, (gpkg.name, got)


@pytest.mark.slow
def test_from_osm_walkthrough_pois(walked: Path) -> None:
    existing = gpd.read_file(walked / "poi" / "existing.gpkg")
    assert existing.crs.to_epsg() == 32648
    assert dict(zip(existing["name"], existing["services"], strict=True)) == {
        "解放碑社区养老服务站": "elderly_care", "七星岗社区老年食堂": "canteen",
        "较场口社区卫生服务中心": "health_centre", "渝中区零工驿站": "employment_station",
        "菜鸟驿站(和平路店)": "convenience_parcel"}
    assert pd.read_csv(walked / "poi" / "unclassified.csv")["name"].tolist() == ["重庆火锅"]


def test_doc_blocks_are_found() -> None:
    """The walkthrough is not silently empty (a renamed fence would skip every command)."""
    blocks = walkthrough(DOC.read_text(encoding="utf-8"))
    commands = [line for lang, info, body in blocks if (lang, info) == ("bash", "walkthrough")
                for line in body.splitlines() if line.startswith("siting ")]
    assert [c.split()[1] for c in commands] == ["prepare", "solve", "report", "prepare"]
    assert any((lang, info) == ("csv", "pois.csv") for lang, info, _ in blocks)

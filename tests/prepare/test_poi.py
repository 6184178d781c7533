"""``siting prepare poi``: the class table covers the catalog; POIs are converted, classified and written."""
from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from siting.commands import prepare as prepare_cmd
from siting.errors import InputError, ScenarioError
from siting.prepare.coords import wgs84_to_bd09, wgs84_to_gcj02
from siting.prepare.poi import classify, load_classes, prepare_poi
from siting.services.catalog import CATEGORIES, load_catalog

# Chongqing, Yuzhong: WGS-84 positions the test converts to GCJ-02 / BD-09 itself, so the expected answer
# comes from the forward formulas (checked against published points in test_coords.py)
POIS = [
    ("解放碑社区养老服务站", "", 106.5770, 29.5580, "elderly_care"),
    ("七星岗社区老年食堂", "050100", 106.5690, 29.5570, "canteen"),
    ("较场口社区卫生服务中心", "090100", 106.5740, 29.5530, "health_centre"),
    ("某某诊所", "090300", 106.5710, 29.5540, "health_station"),
    ("菜鸟驿站(和平路店)", "070500", 106.5720, 29.5550, "convenience_parcel"),
    ("渝中区零工驿站", "", 106.5730, 29.5560, "employment_station"),
    ("大坪人才中心", "070800", 106.5400, 29.5450, "employment_station"),
    ("重庆火锅", "050117", 106.5750, 29.5590, ""),
]


def write_pois(path: Path, system: str) -> Path:
    lon = np.array([p[2] for p in POIS])
    lat = np.array([p[3] for p in POIS])
    if system == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    elif system == "bd09":
        lon, lat = wgs84_to_bd09(lon, lat)
    frame = pd.DataFrame({"name": [p[0] for p in POIS], "typecode": [p[1] for p in POIS], "lng": lon, "lat": lat})
    frame.to_csv(path, index=False, encoding="utf-8")
    return path


def _shipped_catalog() -> dict:
    import tomllib
    from importlib import resources

    return tomllib.loads(resources.files("siting.services").joinpath("default_catalog.toml").read_text("utf-8"))


def test_every_catalog_service_and_category_has_a_class() -> None:
    services = _shipped_catalog()["services"]  # every service, enabled or not
    classes = load_classes()
    assert len(services) >= 10
    assert set(services) <= set(classes.services), f"no POI class: {sorted(set(services) - set(classes.services))}"
    assert set(classes.keywords) <= set(services), "the table names only catalog services"
    covered = {services[k]["category"] for k in classes.services}
    assert set(CATEGORIES) - {"other"} <= covered


def test_classify_prefers_longer_keywords_then_codes() -> None:
    classes = load_classes()
    names = pd.Series([p[0] for p in POIS])
    codes = pd.Series([p[1] for p in POIS])
    assert classify(names, codes, classes).tolist() == [p[4] for p in POIS]


def test_a_poi_can_provide_several_services() -> None:
    got = classify(pd.Series(["幸福里养老服务中心(助餐点)"]), pd.Series([""]), load_classes())
    assert got.tolist() == ["canteen;elderly_care"]


@pytest.mark.parametrize("system", ["wgs84", "gcj02", "bd09"])
def test_prepare_poi_writes_existing_layer_in_wgs84_truth(tmp_path: Path, system: str) -> None:
    src = write_pois(tmp_path / f"pois_{system}.csv", system)
    done = prepare_poi(src, tmp_path / system, coords=system)
    layer = gpd.read_file(done.paths["existing"])
    assert layer.crs.to_epsg() == 32648  # UTM 48N for Chongqing
    assert (layer["status"] == "existing").all() and (layer["cost"] == 0).all()
    expected = [p for p in POIS if p[4]]
    assert layer["services"].tolist() == [p[4] for p in expected]
    dist = Geod(ellps="WGS84").inv(layer["lon"], layer["lat"], [p[2] for p in expected], [p[3] for p in expected])[2]
    assert np.max(dist) < 0.01
    unclassified = pd.read_csv(done.paths["unclassified"])
    assert unclassified["name"].tolist() == ["重庆火锅"]
    assert done.counts["employment_station"] == 2


def test_merged_candidates_feed_the_multiservice_masks(tmp_path: Path) -> None:
    from siting.data import read_sites
    from siting.services.catalog import service_masks
    
    cand = gpd.GeoDataFrame({"id": ["b1", "b2"], "cost": [1e6, 2e6]},
                            geometry=gpd.points_from_xy([106.575, 106.570], [29.556, 29.554]), crs="EPSG:4326")
    cand = cand.to_crs("EPSG:32648")
    cand.to_file(tmp_path / "cand.gpkg", engine="pyogrio")
    done = prepare_poi(write_pois(tmp_path / "p.csv", "gcj02"), tmp_path / "o", coords="gcj02",
                       candidates=str(tmp_path / "cand.gpkg"))
    sites = read_sites(done.paths["candidates"])
    assert sites.crs == "EPSG:32648"
    assert list(sites.ids[:2]) == ["b1", "b2"] and len(sites.ids) == 2 + sum(1 for p in POIS if p[4])
    frame = gpd.read_file(done.paths["candidates"])
    catalog = load_catalog().select(["elderly_care", "canteen"])
    inst = SimpleNamespace(n_sites=len(sites.ids), sites=sites)  # what service_masks reads of an instance
    existing, _ = service_masks(frame, inst, catalog)
    by_id = dict(zip(sites.ids, existing["elderly_care"], strict=True))
    assert by_id["poi1"] and not by_id["poi2"] and not by_id["b1"]
    assert dict(zip(sites.ids, existing["canteen"], strict=True))["poi2"]


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name,lon,lat\nA,106.5,29.5\nB,106.5,abc\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 3 .*'lat'"):
        prepare_poi(bad, tmp_path / "o", coords="gcj02")
    nolon = tmp_path / "nolon.csv"
    nolon.write_text("name,x\nA,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="lon"):
        prepare_poi(nolon, tmp_path / "o", coords="gcj02")
    with pytest.raises(ScenarioError, match="--coords"):
        prepare_poi(nolon, tmp_path / "o", coords="gcj")
    table = tmp_path / "classes.toml"
    table.write_text('[services.canteen]\nkeyword = ["x"]\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="keyword"):
        load_classes(table)


def test_amap_location_column_and_gbk(tmp_path: Path) -> None:
    lon, lat = wgs84_to_gcj02(106.5770, 29.5580)
    path = tmp_path / "amap.csv"
    pd.DataFrame({"名称": ["解放碑社区养老服务站"], "location": [f"{lon:.6f},{lat:.6f}"]}).to_csv(
        path, index=False, encoding="gb18030")
    done = prepare_poi(path, tmp_path / "o", coords="gcj02")
    assert done.counts == {"elderly_care": 1}


def test_command_runs_through_a_parser(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    prepare_cmd.register(parser.add_subparsers(dest="command"))
    src = write_pois(tmp_path / "p.csv", "bd09")
    args = parser.parse_args(["prepare", "poi", str(src), "--coords", "bd09", "--out", str(tmp_path / "o")])
    assert args.func(args) == 0
    assert "employment_station 2" in capsys.readouterr().out
    taken = tmp_path / "taken.csv"
    taken.write_text("x\n")
    for argv in (["prepare", "poi", str(src), "--coords", "bd09"], ["prepare", "osm", "x.osm.pbf"]):
        args = parser.parse_args([*argv, "--out", str(taken)])
        with pytest.raises(ScenarioError, match="--out.*is a file, not a folder"):
            args.func(args)

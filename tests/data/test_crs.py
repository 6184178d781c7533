"""``[data] crs``: plain x/y layers get the stated CRS, a layer's own CRS must agree with it."""
from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from siting.data import load_instance, read_demand, read_sites
from siting.data.load import demand_from_frame, instance_from_frames
from siting.errors import InputError
from siting.scenario import load_scenario

EXAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "example"


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_plain_xy_layers_get_the_stated_crs():
    d = read_demand(EXAMPLE / "demand.csv", crs="epsg:32648")
    s = read_sites(EXAMPLE / "candidates.csv", crs="EPSG:32648")
    assert d.crs == s.crs == "EPSG:32648"  # normalised text, as a GeoPackage layer's CRS reads
    assert read_demand(EXAMPLE / "demand.csv").crs is None  # nothing stated: nothing invented


def test_a_layers_own_crs_wins_when_it_agrees_and_is_an_error_when_it_does_not(tmp_path):
    assert read_demand(EXAMPLE / "demand.geojson", crs="EPSG:32648").crs == "EPSG:32648"
    with pytest.raises(InputError) as exc:
        read_demand(EXAMPLE / "demand.geojson", crs="EPSG:3857")
    text = _one_line(exc)
    assert str(EXAMPLE / "demand.geojson") in text and "EPSG:32648" in text and "[data] crs is EPSG:3857" in text


@pytest.mark.filterwarnings("ignore:'crs' was not provided")  # the layer written without a CRS on purpose
def test_a_vector_layer_without_a_crs_gets_the_stated_one(tmp_path):
    df = pd.read_csv(EXAMPLE / "candidates.csv")
    path = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame(df.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(df.x, df.y)).to_file(path)
    assert read_sites(path).crs is None
    assert read_sites(path, crs="EPSG:32648").crs == "EPSG:32648"


def test_metres_declared_as_degrees_name_the_row_and_column():
    with pytest.raises(InputError) as exc:
        read_demand(EXAMPLE / "demand.csv", crs="EPSG:4326")
    text = _one_line(exc)
    assert "row 2 (id D01)" in text and "column 'x'" in text and "not a longitude" in text


def test_lon_lat_declared_as_degrees_are_projected_to_the_local_utm_zone():
    frame = pd.DataFrame({"id": ["a", "b"], "population": [5, 6], "x": [106.55, 106.56], "y": [29.56, 29.57]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no GeographicCRSWarning: nothing is computed in degrees any more
        d = demand_from_frame(frame, crs="EPSG:4326")
    assert d.crs == "EPSG:32648" and d.input_crs == "EPSG:4326"  # Chongqing: UTM 48N
    metres = float(np.hypot(d.x[1] - d.x[0], d.y[1] - d.y[0]))
    ground = Geod(ellps="WGS84").inv(106.55, 29.56, 106.56, 29.57)[2]
    assert abs(metres - ground) < 1e-3 * ground  # a UTM grid distance: within 0.1 % of the geodesic


def test_an_unknown_crs_is_one_line():
    with pytest.raises(InputError) as exc:
        read_demand(EXAMPLE / "demand.csv", crs="EPSG:999999")
    assert "unknown CRS 'EPSG:999999'" in _one_line(exc)


def test_frames_and_file_loaders_agree():
    demand, sites = pd.read_csv(EXAMPLE / "demand.csv"), pd.read_csv(EXAMPLE / "candidates.csv")
    travel = pd.read_csv(EXAMPLE / "travel_times.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a projected CRS: no warning
        mem = instance_from_frames(demand, sites, travel, crs="EPSG:32648")
    disk = load_instance(EXAMPLE / "demand.csv", EXAMPLE / "candidates.csv", EXAMPLE / "travel_times.csv",
                         crs="EPSG:32648")
    assert mem.demand.crs == mem.sites.crs == disk.demand.crs == disk.sites.crs == "EPSG:32648"


def _scenario(tmp_path: Path, crs: str | None, demand: str = "demand.csv") -> Path:
    for name in ("demand.csv", "demand.geojson", "candidates.csv", "travel_times.csv"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    text = (EXAMPLE / "mclp.toml").read_text(encoding="utf-8").replace('demand = "demand.csv"',
                                                                       f'demand = "{demand}"')
    text = re.sub(r"(?m)^crs = .*\n", "", text)          # the example states its CRS; each test sets its own
    if crs is not None:
        text = text.replace("[data]\n", f'[data]\ncrs = "{crs}"\n')
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_scenario_data_crs_reaches_the_instance(tmp_path):
    inst = load_scenario(_scenario(tmp_path, "EPSG:32648")).load_instance()
    assert inst.demand.crs == inst.sites.crs == "EPSG:32648"
    assert load_scenario(_scenario(tmp_path, None)).load_instance().demand.crs is None


def test_scenario_data_crs_against_a_geojson_in_another_crs_names_the_file(tmp_path):
    sc = load_scenario(_scenario(tmp_path, "EPSG:4326", demand="demand.geojson"))
    with pytest.raises(InputError) as exc:
        sc.load_instance()
    text = _one_line(exc)
    assert "demand.geojson" in text and "EPSG:32648" in text and "EPSG:4326" in text

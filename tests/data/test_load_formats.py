"""Round trips through CSV, Parquet, GeoPackage and GeoJSON; geometry and CRS checks."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line
from shapely.geometry import LineString

from siting.data import load_instance, read_demand, read_sites
from siting.errors import InputError

DEMAND = pd.DataFrame({"id": ["007", "d2", "d3"], "population": [100.0, 250.0, 75.0],
                       "elderly": [10, 40, 5], "district": ["A", "B", "B"],
                       "x": [652000.0, 652500.0, 653000.0], "y": [3267000.0, 3267100.0, 3267200.0]})
SITES = pd.DataFrame({"id": ["s1", "s2"], "cost": [5.0, 0.0], "status": ["candidate", "existing"],
                      "floor_area": [300.0, 800.0], "x": [652100.0, 652900.0], "y": [3267050.0, 3267150.0]})


def _geo(df, crs="EPSG:32648"):
    return gpd.GeoDataFrame(df.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(df.x, df.y), crs=crs)


def _write(df, path):
    suffix = path.suffix
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        _geo(df).to_file(path, driver="GPKG" if suffix == ".gpkg" else "GeoJSON")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".gpkg", ".geojson"])
def test_demand_round_trip(tmp_path, suffix):
    d = read_demand(_write(DEMAND, tmp_path / f"demand{suffix}"))
    assert d.ids.tolist() == ["007", "d2", "d3"]
    np.testing.assert_allclose(d.population, DEMAND.population)
    np.testing.assert_allclose(d.groups["elderly"], DEMAND.elderly)
    np.testing.assert_allclose(d.x, DEMAND.x)
    np.testing.assert_allclose(d.y, DEMAND.y)
    assert d.labels["district"].tolist() == ["A", "B", "B"]
    assert d.crs == ("EPSG:32648" if suffix in (".gpkg", ".geojson") else None)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".gpkg", ".geojson"])
def test_sites_round_trip(tmp_path, suffix):
    s = read_sites(_write(SITES, tmp_path / f"sites{suffix}"))
    assert s.ids.tolist() == ["s1", "s2"]
    assert [str(v) for v in s.status] == ["candidate", "existing"]
    np.testing.assert_allclose(s.floor_area, [300, 800])
    np.testing.assert_allclose(s.x, SITES.x)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_instance_from_mixed_formats(tmp_path, suffix):
    travel = pd.DataFrame({"demand_id": ["007", "d3"], "candidate_id": ["s1", "s2"], "minutes": [4.0, 8.0]})
    t = _write(travel, tmp_path / f"travel{suffix}")
    inst = load_instance(_write(DEMAND, tmp_path / "d.gpkg"), _write(SITES, tmp_path / "s.geojson"), t)
    assert inst.travel.demand_index.tolist() == [0, 2]
    assert inst.travel.site_index.tolist() == [0, 1]


def test_geoparquet_is_read_with_its_geometry(tmp_path):
    p = tmp_path / "demand.parquet"
    _geo(DEMAND).to_parquet(p)
    d = read_demand(p)
    assert d.crs == "EPSG:32648"
    np.testing.assert_allclose(d.y, DEMAND.y)


def test_crs_mismatch_names_both(tmp_path):
    d = _write(DEMAND, tmp_path / "d.gpkg")
    sites = _geo(SITES).to_crs("EPSG:3857")
    sites.to_file(tmp_path / "s.gpkg", driver="GPKG")
    t = tmp_path / "t.csv"
    t.write_text("demand_id,candidate_id,minutes\n007,s1,3\n")
    with pytest.raises(InputError) as info:
        load_instance(d, tmp_path / "s.gpkg", t)
    assert_one_line(info.value, str(tmp_path / "s.gpkg"), "EPSG:3857", "EPSG:32648", str(d), "CRS mismatch")


def test_non_point_geometry(tmp_path):
    g = _geo(DEMAND)
    g.loc[1, "geometry"] = LineString([(0, 0), (1, 1)])
    g.to_file(tmp_path / "d.gpkg", driver="GPKG")
    with pytest.raises(InputError) as info:
        read_demand(tmp_path / "d.gpkg")
    assert_one_line(info.value, str(tmp_path / "d.gpkg"), "feature 2", "id d2", "column 'geometry'",
                    "LineString")


def test_missing_geometry(tmp_path):
    g = _geo(DEMAND)
    g.loc[2, "geometry"] = None
    g.to_file(tmp_path / "d.geojson", driver="GeoJSON")
    with pytest.raises(InputError) as info:
        read_demand(tmp_path / "d.geojson")
    assert_one_line(info.value, "feature 3", "id d3", "column 'geometry'", "missing")


def test_a_geographic_layer_is_projected_back_to_metres(tmp_path):
    g = _geo(DEMAND)
    g.to_crs("EPSG:4326").to_file(tmp_path / "d.geojson", driver="GeoJSON")
    d = read_demand(tmp_path / "d.geojson", crs=g.crs.to_string())  # a projected [data] crs: degrees go there
    assert d.crs == g.crs.to_string() and d.input_crs == "EPSG:4326"
    assert np.allclose(d.x, g.geometry.x, atol=0.01) and np.allclose(d.y, g.geometry.y, atol=0.01)


def test_parquet_numeric_ids_and_missing_values(tmp_path):
    df = DEMAND.assign(id=[1, 2, 3], population=[1.0, np.nan, 2.0])
    p = _write(df, tmp_path / "d.parquet")
    with pytest.raises(InputError) as info:
        read_demand(p)
    assert_one_line(info.value, str(p), "feature 2", "id 2", "column 'population'", "missing")

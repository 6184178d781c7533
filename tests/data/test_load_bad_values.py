"""Bad values that used to load silently (or crash with a pandas traceback): each is now one line.

Duplicate column names, booleans where numbers belong, totals that overflow to inf, CSV rows with
more fields than the header, thousands separators and decimal commas. Every format that can carry the
defect is checked (CSV, Parquet, GeoPackage, GeoJSON and in-memory frames).
"""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import DEMAND, SITES, TRAVEL, assert_one_line, write_csv

from siting.data import (
    Demand,
    demand_from_frame,
    instance_from_frames,
    read_demand,
    read_sites,
    read_travel,
    sites_from_frame,
    travel_from_frame,
)
from siting.errors import InputError


def _demand_frame(**columns) -> pd.DataFrame:
    base = {"id": ["d1", "d2", "d3"], "population": [100.0, 200.0, 300.0], "x": 0.0, "y": 0.0}
    return pd.DataFrame({**base, **columns})


def _sites_frame(**columns) -> pd.DataFrame:
    base = {"id": ["s1", "s2"], "cost": [10.0, 20.0], "x": 0.0, "y": 0.0}
    return pd.DataFrame({**base, **columns})


def _travel_frame(**columns) -> pd.DataFrame:
    base = {"demand_id": ["d1", "d2"], "candidate_id": ["s1", "s2"], "minutes": [3.0, 4.0]}
    return pd.DataFrame({**base, **columns})


def _raises(call, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    return info.value


@pytest.fixture
def layers():
    return demand_from_frame(_demand_frame()), sites_from_frame(_sites_frame())


# --------------------------------------------------------------------------- duplicate columns
@pytest.mark.parametrize("header", ["id,population,x,y,population", "id,population,x,y, population "])
def test_csv_demand_header_with_a_repeated_column(tmp_path, header):
    p = write_csv(tmp_path / "demand.csv", f"{header}\nd1,1,0,0,5")
    err = _raises(read_demand, p)
    assert_one_line(err, str(p), "column 'population'", "twice", "columns 2 and 5")


def test_csv_candidates_header_with_a_repeated_column(tmp_path):
    p = write_csv(tmp_path / "candidates.csv", "id,cost,x,y,cost\ns1,1,0,0,9")
    assert_one_line(_raises(read_sites, p), str(p), "column 'cost'", "twice")


def test_csv_travel_header_with_a_repeated_minutes_column(tmp_path, layers):
    # pandas renamed the second one 'minutes.1' and the loader silently used the first
    p = write_csv(tmp_path / "travel.csv", "demand_id,candidate_id,minutes,minutes\nd1,s1,3,9")
    assert_one_line(_raises(read_travel, p, *layers), str(p), "column 'minutes'", "twice", "columns 3 and 4")


@pytest.mark.parametrize("which", ["demand", "candidates", "travel_times"])
def test_frame_with_a_repeated_column(which):
    frames = {"demand": _demand_frame(), "candidates": _sites_frame(), "travel_times": _travel_frame()}
    column = {"demand": "population", "candidates": "cost", "travel_times": "minutes"}[which]
    frame = frames[which]
    frame.insert(len(frame.columns), column, frame[column], allow_duplicates=True)
    frames[which] = frame
    err = _raises(instance_from_frames, frames["demand"], frames["candidates"], frames["travel_times"])
    assert_one_line(err, which, f"column '{column}'", "twice")


def test_frame_names_equal_after_conversion_to_text():
    frame = _demand_frame()
    frame[1] = [1, 2, 3]
    frame["1"] = [4, 5, 6]
    assert_one_line(_raises(demand_from_frame, frame, "memory"), "memory", "column '1'", "twice")


def test_parquet_with_a_repeated_column(tmp_path):
    p = tmp_path / "demand.parquet"
    table = pa.table([pa.array(["d1"]), pa.array([1.0]), pa.array([0.0]), pa.array([0.0]), pa.array([5.0])],
                     names=["id", "population", "x", "y", "population"])
    pq.write_table(table, p)
    assert_one_line(_raises(read_demand, p), str(p), "column 'population'", "twice")


def test_geopackage_columns_equal_after_stripping_blanks(tmp_path):
    p = tmp_path / "demand.gpkg"
    gpd.GeoDataFrame({"id": ["d1"], "population ": [1], "population": [2]},
                     geometry=gpd.points_from_xy([0], [0]), crs="EPSG:32648").to_file(p, driver="GPKG")
    assert_one_line(_raises(read_demand, p), str(p), "column 'population'", "twice")


def test_geojson_feature_repeating_a_property(tmp_path):
    # GDAL keeps the last of two equal keys without a word
    feature = '{"type": "Feature", "properties": {"id": "%s", "population": 1, "population": 7}, ' \
              '"geometry": {"type": "Point", "coordinates": [0, 0]}}'
    good = '{"type": "Feature", "properties": {"id": "d1", "population": 1}, ' \
           '"geometry": {"type": "Point", "coordinates": [0, 0]}}'
    p = tmp_path / "demand.geojson"
    p.write_text('{"type": "FeatureCollection", "features": [' + good + ", " + feature.replace("%s", "d2") + "]}")
    assert_one_line(_raises(read_demand, p), str(p), "feature 2", "column 'population'", "twice")


def test_geojson_without_repeats_still_loads(tmp_path):
    p = tmp_path / "demand.geojson"
    gpd.GeoDataFrame(_demand_frame().drop(columns=["x", "y"]), geometry=gpd.points_from_xy([0, 1, 2], [0, 0, 0]),
                     crs="EPSG:32648").to_file(p, driver="GeoJSON")
    assert json.loads(p.read_text())["features"][2]["properties"]["id"] == "d3"
    assert read_demand(p).population.tolist() == [100.0, 200.0, 300.0]


# --------------------------------------------------------------------------- booleans
def _bool_demand_file(tmp_path, suffix):
    frame = _demand_frame(population=[True, False, True])
    path = tmp_path / f"demand{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        gpd.GeoDataFrame(frame.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(frame.x, frame.y),
                         crs="EPSG:32648").to_file(path, driver="GPKG" if suffix == ".gpkg" else "GeoJSON")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".gpkg", ".geojson"])
def test_boolean_population_is_not_one_and_zero(tmp_path, suffix):
    p = _bool_demand_file(tmp_path, suffix)
    err = _raises(read_demand, p)
    assert_one_line(err, str(p), "column 'population'", "True")


@pytest.mark.parametrize("dtype", [bool, "boolean"])
def test_boolean_population_in_a_frame(dtype):
    frame = _demand_frame(population=pd.array([True, False, True], dtype=dtype))
    assert_one_line(_raises(demand_from_frame, frame), "demand", "column 'population'", "boolean")


@pytest.mark.parametrize("column", ["cost", "x", "capacity", "floor_area"])
def test_boolean_site_numbers(column):
    frame = _sites_frame(**{column: [True, False]})
    assert_one_line(_raises(sites_from_frame, frame), "candidates", f"column '{column}'", "boolean")


def test_boolean_minutes(layers):
    frame = _travel_frame(minutes=[True, False])
    assert_one_line(_raises(travel_from_frame, frame, *layers), "travel_times", "column 'minutes'", "boolean")


def test_boolean_extra_column_is_a_label_not_a_group_count():
    d = demand_from_frame(_demand_frame(elderly=[1, 2, 3], old_town=[True, False, True]))
    assert list(d.groups) == ["elderly"]
    assert d.labels["old_town"].tolist() == ["True", "False", "True"]
    with pytest.raises(KeyError):
        d.weight("old_town")
    s = sites_from_frame(_sites_frame(rent=[3.5, 4.0], has_lift=[True, False]))
    assert list(s.extra) == ["rent"] and s.labels["has_lift"].tolist() == ["True", "False"]


def test_weight_refuses_a_boolean_group_built_by_hand():
    d = Demand(ids=np.array(["a", "b"]), population=np.array([1.0, 2.0]), x=np.zeros(2), y=np.zeros(2),
               groups={"flag": np.array([True, False])}, source="memory")
    assert_one_line(_raises(d.weight, "flag"), "memory", "column 'flag'", "boolean")


# --------------------------------------------------------------------------- totals that overflow
def test_population_total_overflows(tmp_path):
    p = write_csv(tmp_path / "demand.csv", "id,population,x,y\nd1,1e308,0,0\nd2,1e308,0,0\nd3,1,0,0")
    err = _raises(read_demand, p)
    assert_one_line(err, str(p), "row 3", "id d2", "column 'population'", "overflows")


@pytest.mark.parametrize("column", ["cost", "capacity", "floor_area"])
def test_site_total_overflows(column):
    frame = _sites_frame(**{column: [1e308, 1e308]})
    err = _raises(sites_from_frame, frame)
    assert_one_line(err, "candidates", "feature 2", "id s2", f"column '{column}'", "overflows")


def test_group_total_overflows():
    err = _raises(demand_from_frame, _demand_frame(elderly=[1.0, 1.7e308, 1.7e308]))
    assert_one_line(err, "feature 3", "id d3", "column 'elderly'", "overflows")


def test_large_but_finite_totals_load():
    d = demand_from_frame(_demand_frame(population=[5e307, 5e307, 5e307]))
    assert np.isfinite(d.population.sum())


# --------------------------------------------------------------------------- text that is almost a number
def test_thousands_separator_in_population_gets_a_hint(tmp_path):
    p = write_csv(tmp_path / "demand.csv", 'id,population,x,y\nd1,"1,200",0,0')
    assert_one_line(_raises(read_demand, p), str(p), "row 2", "'1,200'", "thousands separator")


def test_group_column_with_thousands_separators_is_not_a_silent_label(tmp_path):
    p = write_csv(tmp_path / "demand.csv", 'id,population,elderly,x,y\nd1,5000,"1,200",0,0\nd2,9000,"2,300",0,0')
    assert_one_line(_raises(read_demand, p), str(p), "row 2", "column 'elderly'", "thousands separator")


def test_decimal_comma_gets_a_hint():
    frame = _travel_frame(minutes=["3", "4,5"])
    d, s = demand_from_frame(_demand_frame()), sites_from_frame(_sites_frame())
    assert_one_line(_raises(travel_from_frame, frame, d, s), "feature 2", "'4,5'", "decimal point")


# --------------------------------------------------------------------------- CSV rows longer than the header
def test_every_row_one_field_longer_than_the_header(tmp_path):
    # pandas used to take the first field as the index, shifting every column one to the left
    p = write_csv(tmp_path / "demand.csv", "id,population,x,y\nd1,100,0,0,5\nd2,200,0,0,6")
    assert_one_line(_raises(read_demand, p), str(p), "row 2", "5 fields", "header has 4")


def test_one_later_row_longer_than_the_header(tmp_path):
    p = write_csv(tmp_path / "demand.csv", "id,population,x,y\nd1,100,0,0\nd2,1,200,0,0")
    assert_one_line(_raises(read_demand, p), str(p), "row 3", "5 fields", "header has 4")


@pytest.mark.parametrize("line", ["d1,s2,9,5", "d1,s2,9,"])
def test_travel_row_longer_than_the_header(tmp_path, layers, line):
    # an unquoted decimal comma ('9,5' minutes) used to be read as 9
    d, s = read_demand(write_csv(tmp_path / "d.csv", DEMAND)), read_sites(write_csv(tmp_path / "s.csv", SITES))
    p = write_csv(tmp_path / "travel.csv", TRAVEL.replace("d1,s2,9", line))
    assert_one_line(_raises(read_travel, p, d, s), str(p), "row 5", "4 fields", "header has 3")


def test_blank_first_line_is_named(tmp_path):
    # the real header used to become a data row ("non-numeric population 'population'")
    p = tmp_path / "demand.csv"
    p.write_text("\nid,population,x,y\nd1,100,0,0\n")
    assert_one_line(_raises(read_demand, p), str(p), "line 1 is empty")


def test_trailing_comma_in_header_and_rows_still_loads(tmp_path):
    p = write_csv(tmp_path / "demand.csv", "id ,population,x,y,\n007,100,0,0,\n")
    d = read_demand(p)
    assert d.ids.tolist() == ["007"] and d.population.tolist() == [100.0]


def test_semicolon_separated_file_is_named(tmp_path):
    p = write_csv(tmp_path / "demand.csv", "id;population;x;y\nd1;100;0;0")
    assert_one_line(_raises(read_demand, p), str(p), "';'", "comma")


# --------------------------------------------------------------------------- ids
@pytest.mark.parametrize("blank", [np.nan, None, pd.NA, "  "])
def test_missing_ids_in_frames(blank, layers):
    err = _raises(demand_from_frame, _demand_frame(id=["d1", blank, "d3"]))
    assert_one_line(err, "demand", "feature 2", "column 'id'", "missing id")
    err = _raises(travel_from_frame, _travel_frame(candidate_id=["s1", blank]), *layers)
    assert_one_line(err, "travel_times", "feature 2", "column 'candidate_id'", "missing id")


def test_ids_differing_only_by_blanks_are_the_same_id(layers):
    err = _raises(demand_from_frame, _demand_frame(id=["d1", "d1 ", "d3"]))
    assert_one_line(err, "feature 2", "id d1", "duplicate id")
    t = travel_from_frame(_travel_frame(demand_id=[" d1", "d2\u3000"]), *layers)
    assert t.demand_index.tolist() == [0, 1]


def test_group_column_with_only_blank_values(tmp_path, layers):
    frame = _travel_frame(group=["", ""])
    assert travel_from_frame(frame, *layers).minutes.tolist() == [3.0, 4.0]
    err = _raises(travel_from_frame, frame, *layers, group="elderly")
    assert_one_line(err, "column 'group'", "'elderly'", "groups present: none")


def test_boolean_group_column_cannot_weight_a_solve():
    import siting

    inst = instance_from_frames(_demand_frame(old_town=[True, False, True]), _sites_frame(),
                                _travel_frame())
    err = _raises(siting.solve, inst, model="mclp", threshold_min=10, budget=100, weight_column="old_town")
    assert_one_line(err, "demand", "column 'old_town'")
